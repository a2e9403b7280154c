/// x86_64 system-call names and numbers, both ways: for strace logs, which name calls, and for
/// alerts, which should too.
public enum SystemCallNames {
    private static let numbersByName: [String: Int] = Dictionary(
        systemCallNameTable.enumerated().filter { !$0.element.isEmpty }.map { ($0.element, $0.offset) },
        uniquingKeysWith: { first, _ in first })

    /// The call's name, or `syscall_N` for a number this table does not know (a newer kernel's).
    public static func name(of number: Int) -> String {
        if number >= 0, number < systemCallNameTable.count, !systemCallNameTable[number].isEmpty {
            return systemCallNameTable[number]
        }
        return "syscall_\(number)"
    }

    /// The number of a named call; `syscall_N` (as `name(of:)` writes) and strace's `syscall_0x1c6`
    /// for calls it cannot name are read back too.
    public static func number(named name: String) -> Int? {
        if let number = numbersByName[name] { return number }
        guard name.hasPrefix("syscall_") else { return nil }
        let digits = name.dropFirst("syscall_".count)
        let number = digits.hasPrefix("0x") ? Int(digits.dropFirst(2), radix: 16) : Int(digits)
        guard let number, number >= 0, number < SystemCallNumbers.bound else { return nil }
        return number
    }
}
