/// The system calls sentinel captures with their arguments and result, each an event type of its
/// own named as the call (`evt.type = unlinkat`). A row names the call (its number comes from the
/// x86_64 table) and its arguments in the call's own order, with Falco's argument names, so that
/// `evt.arg.oldpath` means what it means in Falco. The kernel's one capture program reads what a
/// row asks of the registers: the value of each, and the text of the string arguments. A call no
/// loaded rule names is not captured.
public struct CapturedCall: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A number as the register holds it (a length, an offset).
        case number
        /// A C int: the register's low 32 bits, signed (a pid, a request).
        case int
        /// A user or group id: the low 32 bits, unsigned ((uid_t)-1 is 4294967295).
        case id
        /// A file descriptor, a C int; AT_FDCWD (-100) is the working directory.
        case fd
        /// A path, absolute or relative to the working directory.
        case path
        /// A path relative to the directory open at the argument `dirfd` (the *at calls).
        case relativePath(dirfd: Int)
        /// Text that is not a path to resolve (a symlink's target, a file system's type).
        case text
        /// Bits, shown by their names.
        case flags(FlagNames)
        /// One of several values, shown by its name.
        case choice(FlagNames)

        /// Whether the kernel copies the text the register points at.
        public var isString: Bool {
            switch self {
            case .path, .relativePath, .text: true
            default: false
            }
        }
    }

    public struct Argument: Sendable {
        public let name: String
        public let kind: Kind
    }

    public let name: String
    public let number: Int
    public let arguments: [Argument]
    /// Its event type, after sentinel's own.
    public let eventType: EventType

    /// The most arguments a call has, and the most string arguments the kernel copies of one.
    public static let maximumArguments = 6
    public static let maximumStrings = 3

    /// The captured calls, in event-type order.
    public static let all: [CapturedCall] = rows.enumerated().map { index, row in
        guard let number = SystemCallNames.number(named: row.name) else { fatalError("no x86_64 number for \(row.name)") }
        return CapturedCall(name: row.name, number: number, arguments: row.arguments.map { Argument(name: $0.0, kind: $0.1) },
                            eventType: EventType(capturedCall: index))
    }

    private static let byType = Dictionary(uniqueKeysWithValues: all.map { ($0.eventType, $0) })

    /// The call an event type captures, if it is one.
    public static func call(of type: EventType) -> CapturedCall? { byType[type] }

    /// The arguments whose text the kernel copies, as bits (bit i: argument i).
    public var stringArguments: UInt32 {
        arguments.enumerated().reduce(0) { $0 | ($1.element.kind.isString ? 1 << UInt32($1.offset) : 0) }
    }

    /// What a relative path at `index` is relative to: the index of its directory descriptor's
    /// argument, `relativeToWorkingDirectory`, or `notAPath`.
    public func base(of index: Int) -> Int8 {
        switch arguments[index].kind {
        case .path: Self.relativeToWorkingDirectory
        case .relativePath(let dirfd): Int8(dirfd)
        default: Self.notAPath
        }
    }

    /// As the kernel's spec holds them (records.h's SENTINEL_CALL_CWD and SENTINEL_CALL_NOT_PATH).
    public static let relativeToWorkingDirectory: Int8 = -1
    public static let notAPath: Int8 = -2

    /// The argument named `name`'s place, if the call has one.
    public func argumentIndex(named name: String) -> Int? { arguments.firstIndex { $0.name == name } }

    /// The argument at `index` as text: a string argument's text, flags and choices by name,
    /// numbers in decimal; nil when a string could not be read.
    public func text(of index: Int, in values: CallArguments) -> String? {
        switch arguments[index].kind {
        case .path, .relativePath: return values.paths[index] ?? values.texts[index]
        case .text: return values.texts[index]
        case .flags(let names): return names.flags(UInt64(UInt32(truncatingIfNeeded: values.values[index])))
        case .choice(let names): return names.choice(UInt64(bitPattern: number(of: index, in: values)))
        case .number, .int, .id, .fd: return String(number(of: index, in: values))
        }
    }

    /// The argument at `index` as the C type the call takes reads it.
    public func number(of index: Int, in values: CallArguments) -> Int64 {
        let value = values.values[index]
        switch arguments[index].kind {
        case .int, .fd, .choice: return Int64(Int32(truncatingIfNeeded: value))
        case .id, .flags: return Int64(UInt32(truncatingIfNeeded: value))
        case .number, .path, .relativePath, .text: return Int64(bitPattern: value)
        }
    }
}

extension CapturedCall {
    /// Their names, in event-type order.
    static let names = rows.map(\.name)

    /// The calls, one row each: the name, then the arguments in the call's order.
    private static let rows: [(name: String, arguments: [(String, Kind)])] = [
        // Files: removed, renamed, linked, created, their modes and owners changed, truncated.
        ("unlink", [("path", .path)]),
        ("unlinkat", [("dirfd", .fd), ("name", .relativePath(dirfd: 0)), ("flags", .flags(.unlinkat))]),
        ("rmdir", [("path", .path)]),
        ("mkdir", [("path", .path), ("mode", .flags(.mode))]),
        ("mkdirat", [("dirfd", .fd), ("path", .relativePath(dirfd: 0)), ("mode", .flags(.mode))]),
        ("rename", [("oldpath", .path), ("newpath", .path)]),
        ("renameat", [("olddirfd", .fd), ("oldpath", .relativePath(dirfd: 0)), ("newdirfd", .fd), ("newpath", .relativePath(dirfd: 2))]),
        ("renameat2", [("olddirfd", .fd), ("oldpath", .relativePath(dirfd: 0)), ("newdirfd", .fd), ("newpath", .relativePath(dirfd: 2)),
                       ("flags", .flags(.renameat2))]),
        ("link", [("oldpath", .path), ("newpath", .path)]),
        ("linkat", [("olddir", .fd), ("oldpath", .relativePath(dirfd: 0)), ("newdir", .fd), ("newpath", .relativePath(dirfd: 2)),
                    ("flags", .flags(.linkat))]),
        ("symlink", [("target", .text), ("linkpath", .path)]),
        ("symlinkat", [("target", .text), ("linkdirfd", .fd), ("linkpath", .relativePath(dirfd: 1))]),
        ("chmod", [("filename", .path), ("mode", .flags(.mode))]),
        ("fchmod", [("fd", .fd), ("mode", .flags(.mode))]),
        ("fchmodat", [("dirfd", .fd), ("filename", .relativePath(dirfd: 0)), ("mode", .flags(.mode))]),
        ("chown", [("path", .path), ("uid", .id), ("gid", .id)]),
        ("lchown", [("path", .path), ("uid", .id), ("gid", .id)]),
        ("fchown", [("fd", .fd), ("uid", .id), ("gid", .id)]),
        ("fchownat", [("dirfd", .fd), ("pathname", .relativePath(dirfd: 0)), ("uid", .id), ("gid", .id), ("flags", .flags(.atFlags))]),
        ("truncate", [("path", .path), ("length", .number)]),
        ("ftruncate", [("fd", .fd), ("length", .number)]),
        ("creat", [("name", .path), ("mode", .flags(.mode))]),
        ("chdir", [("path", .path)]),
        ("fchdir", [("fd", .fd)]),
        // Users and groups.
        ("setuid", [("uid", .id)]),
        ("setgid", [("gid", .id)]),
        ("setreuid", [("ruid", .id), ("euid", .id)]),
        ("setregid", [("rgid", .id), ("egid", .id)]),
        ("setresuid", [("ruid", .id), ("euid", .id), ("suid", .id)]),
        ("setresgid", [("rgid", .id), ("egid", .id), ("sgid", .id)]),
    ]
}

/// Names for the bits or values of an argument, as Falco renders them.
public struct FlagNames: Sendable, Equatable {
    public let names: [(value: UInt64, name: String)]
    /// Shown when no bit is set (O_RDONLY's kind of zero), if anything.
    public let zero: String?

    public static func == (lhs: FlagNames, rhs: FlagNames) -> Bool {
        lhs.zero == rhs.zero && lhs.names.elementsEqual(rhs.names) { $0.value == $1.value && $0.name == $1.name }
    }

    /// "AT_REMOVEDIR|0x8" for flags: every named bit set, then what no name covers in hex.
    public func flags(_ value: UInt64) -> String {
        var parts: [String] = []
        var rest = value
        for (bits, name) in names where bits != 0 && value & bits == bits {
            parts.append(name)
            rest &= ~bits
        }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? zero ?? "0" : parts.joined(separator: "|")
    }

    /// The name of one value, or the number.
    public func choice(_ value: UInt64) -> String {
        names.first { $0.value == value }?.name ?? String(Int64(bitPattern: value))
    }

    /// The value of "NAME|NAME|0x8" (flags) or "NAME" (a choice), as the two above write them.
    public func value(of text: String) -> UInt64? {
        var value: UInt64 = 0
        for part in text.split(separator: "|") {
            let name = part.trimmingSpaces
            if let bits = names.first(where: { $0.name == name })?.value {
                value |= bits
            } else if name.hasPrefix("0x"), let bits = UInt64(name.dropFirst(2), radix: 16) {
                value |= bits
            } else if let bits = UInt64(name) {
                value |= bits
            } else if name != zero {
                return nil
            }
        }
        return value
    }

    public static let unlinkat = FlagNames(names: [(0x200, "AT_REMOVEDIR")], zero: nil)
    public static let renameat2 = FlagNames(names: [(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")], zero: nil)
    public static let linkat = FlagNames(names: [(0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH")], zero: nil)
    public static let atFlags = FlagNames(names: [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")], zero: nil)
    /// A file mode's bits: Falco's chmod_mode names.
    public static let mode = FlagNames(names: [
        (0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX"),
        (0o400, "S_IRUSR"), (0o200, "S_IWUSR"), (0o100, "S_IXUSR"),
        (0o40, "S_IRGRP"), (0o20, "S_IWGRP"), (0o10, "S_IXGRP"),
        (0o4, "S_IROTH"), (0o2, "S_IWOTH"), (0o1, "S_IXOTH"),
    ], zero: nil)
}
