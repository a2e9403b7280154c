/// x86_64 system-call names and numbers, both ways: for strace logs, which name calls, and for
/// alerts, which should too. A 32-bit program's calls have numbers of their own (i386's: its
/// `read` is 3, x86_64's `write` is 1...): they are kept from `i386Base` up, so that a profile or
/// a bag never mixes the two, and named `i386:stat64`.
public enum SystemCallNames {
    /// Where i386 numbers start: above every x86_64 number (467 is the highest), below the
    /// bound the tables and bags keep (1024).
    public static let i386Base = 512
    public static let i386Prefix = "i386:"

    private static let numbersByName = numbers(of: systemCallNameTable)
    private static let i386NumbersByName = numbers(of: i386SystemCallNameTable)

    /// A table's numbers by name (a name twice: its first number).
    private static func numbers(of table: [String]) -> [String: Int] {
        Dictionary(table.enumerated().filter { !$0.element.isEmpty }.map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    /// The call's name, or `syscall_N` for a number this table does not know (a newer kernel's).
    public static func name(of number: Int) -> String {
        if number >= 0, number < systemCallNameTable.count, !systemCallNameTable[number].isEmpty {
            return systemCallNameTable[number]
        }
        let i386 = number - i386Base
        if i386 >= 0, i386 < i386SystemCallNameTable.count, !i386SystemCallNameTable[i386].isEmpty {
            return i386Prefix + i386SystemCallNameTable[i386]
        }
        return "syscall_\(number)"
    }

    /// The stored number of an i386 call by its name, as strace names a 32-bit program's calls.
    public static func i386Number(named name: String) -> Int? {
        i386NumbersByName[name].map { i386Base + $0 }
    }

    /// The number of a named call; `i386:NAME`, `syscall_N` (as `name(of:)` writes) and strace's
    /// `syscall_0x1c6` for calls it cannot name are read back too.
    public static func number(named name: String) -> Int? {
        if let number = numbersByName[name] { return number }
        if name.hasPrefix(i386Prefix) { return i386Number(named: String(name.dropFirst(i386Prefix.count))) }
        guard name.hasPrefix("syscall_") else { return nil }
        let digits = name.dropFirst("syscall_".count)
        let number = digits.hasPrefix("0x") ? Int(digits.dropFirst(2), radix: 16) : Int(digits)
        guard let number, number >= 0, number < SystemCallNumbers.bound else { return nil }
        return number
    }
}
