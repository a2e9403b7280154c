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
        /// The descriptor whose open file the call acts on (a C int): the kernel describes that
        /// file, which the fd.* fields read (`Descriptor`). At most one per call.
        case descriptor
        /// A pointer to a socket address the kernel copies at the call's exit (sendto's
        /// destination, recvfrom's source): an unconnected socket's peer. At most one per call.
        case address
        /// A pointer to a struct msghdr (sendmsg, recvmsg): the kernel copies the socket address
        /// its msg_name points at, as for `address`. At most one per call, `address` included.
        case messageHeader
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

        /// How much of the register the call reads for an argument of this kind.
        public enum Width: Sendable { case long, int, unsignedInt }

        public var width: Width {
            switch self {
            case .int, .fd, .descriptor, .choice: .int
            case .id, .flags: .unsignedInt
            case .number, .path, .relativePath, .text, .address, .messageHeader: .long
            }
        }

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

    /// Whether the call changes its caller's credentials: the kernel then reads them at its exit,
    /// and the process's user, group and capabilities follow (`user.uid`, `thread.cap_effective`).
    public var changesCredentials: Bool { Self.credentialCalls.contains(name) }

    private static let credentialCalls: Set<String> = ["setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "capset"]

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

    /// The place of the argument whose open file the kernel describes, if the call has one.
    public var descriptorIndex: Int? { arguments.firstIndex { $0.kind == .descriptor } }
    /// The place of the socket-address argument the kernel copies, if the call has one.
    public var addressIndex: Int? { arguments.firstIndex { $0.kind == .address || $0.kind == .messageHeader } }
    /// Whether that argument is a msghdr, whose first member (msg_name) points at the address.
    public var addressInMessageHeader: Bool { addressIndex.map { arguments[$0].kind == .messageHeader } ?? false }

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
        case .number, .int, .id, .fd, .descriptor: return String(number(of: index, in: values))
        case .address, .messageHeader: return values.address?.text ?? (values.values[index] == 0 ? "NULL" : String(values.values[index]))
        }
    }

    /// The argument at `index` as the C type the call takes reads it.
    public func number(of index: Int, in values: CallArguments) -> Int64 {
        let value = values.values[index]
        switch arguments[index].kind.width {
        case .int: return Int64(Int32(truncatingIfNeeded: value))
        case .unsignedInt: return Int64(UInt32(truncatingIfNeeded: value))
        case .long: return Int64(bitPattern: value)
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
        ("fchmod", [("fd", .descriptor), ("mode", .flags(.mode))]),
        ("fchmodat", [("dirfd", .fd), ("filename", .relativePath(dirfd: 0)), ("mode", .flags(.mode))]),
        ("chown", [("path", .path), ("uid", .id), ("gid", .id)]),
        ("lchown", [("path", .path), ("uid", .id), ("gid", .id)]),
        ("fchown", [("fd", .descriptor), ("uid", .id), ("gid", .id)]),
        ("fchownat", [("dirfd", .fd), ("pathname", .relativePath(dirfd: 0)), ("uid", .id), ("gid", .id), ("flags", .flags(.atFlags))]),
        ("truncate", [("path", .path), ("length", .number)]),
        ("ftruncate", [("fd", .descriptor), ("length", .number)]),
        ("creat", [("name", .path), ("mode", .flags(.mode))]),
        ("chdir", [("path", .path)]),
        ("fchdir", [("fd", .descriptor)]),
        // Users and groups.
        ("setuid", [("uid", .id)]),
        ("setgid", [("gid", .id)]),
        ("setreuid", [("ruid", .id), ("euid", .id)]),
        ("setregid", [("rgid", .id), ("egid", .id)]),
        ("setresuid", [("ruid", .id), ("euid", .id), ("suid", .id)]),
        ("setresgid", [("rgid", .id), ("egid", .id), ("sgid", .id)]),
        // The new capabilities are read from the caller's credentials at exit (thread.cap_*).
        ("capset", [("hdrp", .number), ("datap", .number)]),
        // Processes: tracing others, code in memory files, their own settings.
        ("ptrace", [("request", .choice(.ptraceRequests)), ("pid", .int), ("addr", .number), ("data", .number)]),
        ("memfd_create", [("name", .text), ("flags", .flags(.memfd))]),
        ("prctl", [("option", .choice(.prctlOptions)), ("arg2", .number), ("arg3", .number), ("arg4", .number), ("arg5", .number)]),
        // Namespaces, mounts and the kernel: what escapes are made of.
        ("unshare", [("flags", .flags(.cloneFlags))]),
        ("setns", [("fd", .descriptor), ("nstype", .flags(.cloneFlags))]),
        ("mount", [("dev", .text), ("dir", .path), ("type", .text), ("flags", .flags(.mountFlags)), ("data", .number)]),
        ("umount2", [("name", .path), ("flags", .flags(.umountFlags))]),
        ("chroot", [("path", .path)]),
        ("pivot_root", [("new_root", .path), ("put_old", .path)]),
        ("init_module", [("img", .number), ("length", .number), ("uargs", .text)]),
        ("finit_module", [("fd", .descriptor), ("uargs", .text), ("flags", .number)]),
        ("delete_module", [("name", .text), ("flags", .number)]),
        ("bpf", [("cmd", .choice(.bpfCommands)), ("attr", .number), ("size", .number)]),
        ("userfaultfd", [("flags", .number)]),
        // Sockets and descriptors.
        ("socket", [("domain", .choice(.socketDomains)), ("type", .flags(.socketTypes)), ("proto", .int)]),
        ("dup", [("fd", .descriptor)]),
        ("dup2", [("oldfd", .descriptor), ("newfd", .fd)]),
        ("dup3", [("oldfd", .descriptor), ("newfd", .fd), ("flags", .number)]),
        ("fcntl", [("fd", .descriptor), ("cmd", .choice(.fcntlCommands)), ("arg", .number)]),
        // The socket's ends are read from the descriptor: a connected socket's peer, the address a
        // bind gave it; an unconnected socket's peer from sendto's and recvfrom's address, and
        // from the one sendmsg's and recvmsg's msghdr names.
        ("bind", [("fd", .descriptor), ("addr", .number), ("addrlen", .int)]),
        ("sendto", [("fd", .descriptor), ("buf", .number), ("size", .number), ("flags", .number), ("addr", .address), ("addrlen", .int)]),
        ("recvfrom", [("fd", .descriptor), ("buf", .number), ("size", .number), ("flags", .number), ("addr", .address), ("addrlen", .number)]),
        ("sendmsg", [("fd", .descriptor), ("msg", .messageHeader), ("flags", .number)]),
        ("recvmsg", [("fd", .descriptor), ("msg", .messageHeader), ("flags", .number)]),
    ]
}

/// Names for the bits or values of an argument, as Falco renders them.
public struct FlagNames: Sendable, Equatable {
    public let names: [(value: UInt64, name: String)]
    /// Shown when no bit is set (O_RDONLY's kind of zero), if anything.
    public let zero: String?
    /// The bits that hold one value rather than flags (a socket's type), named by `choices`.
    public let choiceMask: UInt64
    public let choices: [(value: UInt64, name: String)]

    public init(names: [(value: UInt64, name: String)], zero: String? = nil, choiceMask: UInt64 = 0, choices: [(value: UInt64, name: String)] = []) {
        self.names = names
        self.zero = zero
        self.choiceMask = choiceMask
        self.choices = choices
    }

    public static func == (lhs: FlagNames, rhs: FlagNames) -> Bool {
        let same = { (a: [(value: UInt64, name: String)], b: [(value: UInt64, name: String)]) in a.elementsEqual(b) { $0.value == $1.value && $0.name == $1.name } }
        return lhs.zero == rhs.zero && lhs.choiceMask == rhs.choiceMask && same(lhs.names, rhs.names) && same(lhs.choices, rhs.choices)
    }

    /// "AT_REMOVEDIR|0x8" for flags: the choice bits' name first where there are any, every named
    /// bit set, then what no name covers in hex.
    public func flags(_ value: UInt64) -> String {
        var parts: [String] = []
        if choiceMask != 0 {
            let choice = value & choiceMask
            parts.append(choices.first { $0.value == choice }?.name ?? String(choice))
        }
        var rest = value & ~choiceMask
        for (bits, name) in names where bits != 0 && rest & bits == bits {
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
            if let bits = (names + choices).first(where: { $0.name == name })?.value {
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

    public static let unlinkat = FlagNames(names: [(0x200, "AT_REMOVEDIR")])
    public static let renameat2 = FlagNames(names: [(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")])
    public static let linkat = FlagNames(names: [(0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH")])
    public static let atFlags = FlagNames(names: [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")])
    public static let memfd = FlagNames(names: [(1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB"), (8, "MFD_NOEXEC_SEAL"), (0x10, "MFD_EXEC")])
    /// unshare's and setns' namespaces (and clone's other sharing flags).
    public static let cloneFlags = FlagNames(names: [
        (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"), (0x10000, "CLONE_THREAD"),
        (0x40000, "CLONE_SYSVSEM"), (0x80, "CLONE_NEWTIME"), (0x20000, "CLONE_NEWNS"), (0x0200_0000, "CLONE_NEWCGROUP"),
        (0x0400_0000, "CLONE_NEWUTS"), (0x0800_0000, "CLONE_NEWIPC"), (0x1000_0000, "CLONE_NEWUSER"), (0x2000_0000, "CLONE_NEWPID"),
        (0x4000_0000, "CLONE_NEWNET"),
    ])
    public static let mountFlags = FlagNames(names: [
        (1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"), (16, "MS_SYNCHRONOUS"), (32, "MS_REMOUNT"),
        (64, "MS_MANDLOCK"), (128, "MS_DIRSYNC"), (1024, "MS_NOATIME"), (2048, "MS_NODIRATIME"), (4096, "MS_BIND"), (8192, "MS_MOVE"),
        (16384, "MS_REC"), (32768, "MS_SILENT"), (1 << 16, "MS_POSIXACL"), (1 << 17, "MS_UNBINDABLE"), (1 << 18, "MS_PRIVATE"),
        (1 << 19, "MS_SLAVE"), (1 << 20, "MS_SHARED"), (1 << 21, "MS_RELATIME"), (1 << 24, "MS_STRICTATIME"), (1 << 25, "MS_LAZYTIME"),
    ])
    public static let umountFlags = FlagNames(names: [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")])
    public static let ptraceRequests = FlagNames(names: [
        (0, "PTRACE_TRACEME"), (1, "PTRACE_PEEKTEXT"), (2, "PTRACE_PEEKDATA"), (3, "PTRACE_PEEKUSR"), (4, "PTRACE_POKETEXT"),
        (5, "PTRACE_POKEDATA"), (6, "PTRACE_POKEUSR"), (7, "PTRACE_CONT"), (8, "PTRACE_KILL"), (9, "PTRACE_SINGLESTEP"),
        (12, "PTRACE_GETREGS"), (13, "PTRACE_SETREGS"), (14, "PTRACE_GETFPREGS"), (15, "PTRACE_SETFPREGS"), (16, "PTRACE_ATTACH"),
        (17, "PTRACE_DETACH"), (24, "PTRACE_SYSCALL"), (0x4200, "PTRACE_SETOPTIONS"), (0x4201, "PTRACE_GETEVENTMSG"),
        (0x4202, "PTRACE_GETSIGINFO"), (0x4203, "PTRACE_SETSIGINFO"), (0x4204, "PTRACE_GETREGSET"), (0x4205, "PTRACE_SETREGSET"),
        (0x4206, "PTRACE_SEIZE"), (0x4207, "PTRACE_INTERRUPT"), (0x4208, "PTRACE_LISTEN"),
    ])
    public static let prctlOptions = FlagNames(names: [
        (1, "PR_SET_PDEATHSIG"), (2, "PR_GET_PDEATHSIG"), (3, "PR_GET_DUMPABLE"), (4, "PR_SET_DUMPABLE"), (8, "PR_SET_KEEPCAPS"),
        (15, "PR_SET_NAME"), (16, "PR_GET_NAME"), (22, "PR_SET_SECCOMP"), (23, "PR_CAPBSET_READ"), (24, "PR_CAPBSET_DROP"),
        (36, "PR_SET_CHILD_SUBREAPER"), (38, "PR_SET_NO_NEW_PRIVS"), (0x5961_6D61, "PR_SET_PTRACER"),
    ])
    public static let bpfCommands = FlagNames(names: [
        (0, "BPF_MAP_CREATE"), (1, "BPF_MAP_LOOKUP_ELEM"), (2, "BPF_MAP_UPDATE_ELEM"), (3, "BPF_MAP_DELETE_ELEM"),
        (4, "BPF_MAP_GET_NEXT_KEY"), (5, "BPF_PROG_LOAD"), (6, "BPF_OBJ_PIN"), (7, "BPF_OBJ_GET"), (8, "BPF_PROG_ATTACH"),
        (9, "BPF_PROG_DETACH"), (10, "BPF_PROG_TEST_RUN"), (11, "BPF_PROG_GET_NEXT_ID"), (12, "BPF_MAP_GET_NEXT_ID"),
        (13, "BPF_PROG_GET_FD_BY_ID"), (14, "BPF_MAP_GET_FD_BY_ID"), (15, "BPF_OBJ_GET_INFO_BY_FD"), (16, "BPF_PROG_QUERY"),
        (17, "BPF_RAW_TRACEPOINT_OPEN"), (18, "BPF_BTF_LOAD"), (28, "BPF_LINK_CREATE"), (29, "BPF_LINK_UPDATE"),
    ])
    public static let fcntlCommands = FlagNames(names: [
        (0, "F_DUPFD"), (1, "F_GETFD"), (2, "F_SETFD"), (3, "F_GETFL"), (4, "F_SETFL"), (5, "F_GETLK"), (6, "F_SETLK"),
        (7, "F_SETLKW"), (8, "F_SETOWN"), (9, "F_GETOWN"), (1024, "F_SETLEASE"), (1025, "F_GETLEASE"), (1030, "F_DUPFD_CLOEXEC"),
        (1031, "F_SETPIPE_SZ"), (1032, "F_GETPIPE_SZ"), (1033, "F_ADD_SEALS"), (1034, "F_GET_SEALS"),
    ])
    public static let socketDomains = FlagNames(names: [
        (1, "AF_UNIX"), (2, "AF_INET"), (3, "AF_AX25"), (4, "AF_IPX"), (5, "AF_APPLETALK"), (7, "AF_BRIDGE"), (10, "AF_INET6"),
        (15, "AF_KEY"), (16, "AF_NETLINK"), (17, "AF_PACKET"), (29, "AF_CAN"), (31, "AF_BLUETOOTH"), (38, "AF_ALG"), (40, "AF_VSOCK"),
        (44, "AF_XDP"),
    ])
    /// A socket's type in its low four bits, with two flags above them.
    public static let socketTypes = FlagNames(names: [(0x800, "SOCK_NONBLOCK"), (0x80000, "SOCK_CLOEXEC")], choiceMask: 0xF, choices: [
        (1, "SOCK_STREAM"), (2, "SOCK_DGRAM"), (3, "SOCK_RAW"), (4, "SOCK_RDM"), (5, "SOCK_SEQPACKET"), (10, "SOCK_PACKET"),
    ])
    /// A file mode's bits: Falco's chmod_mode names.
    public static let mode = FlagNames(names: [
        (0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX"),
        (0o400, "S_IRUSR"), (0o200, "S_IWUSR"), (0o100, "S_IXUSR"),
        (0o40, "S_IRGRP"), (0o20, "S_IWGRP"), (0o10, "S_IXGRP"),
        (0o4, "S_IROTH"), (0o2, "S_IWOTH"), (0o1, "S_IXOTH"),
    ])
}
