/// The open file behind a captured call's descriptor argument (`fchmod`'s fd, `dup2`'s oldfd), as
/// the kernel found it in the process's own descriptor table at the call's exit.
///
/// Falco keeps a table of every process's descriptors in user space, seeded from /proc and kept
/// by the calls that open, duplicate and close them. sentinel asks the kernel instead, at the
/// call: the answer is exact (nothing to drift when an event is dropped, nothing to seed, nothing
/// to bound), and a call no rule names costs nothing. What it cannot give is a descriptor's past:
/// a `close` is not described, since at its exit nothing is open at its number any more.
public struct Descriptor: Sendable, Hashable {
    /// Falco's `fd.type` names, each with its `fd.typechar`.
    public enum Kind: String, Sendable, CaseIterable {
        case file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd
        case ioUring = "io_uring"
        case memfd
        /// A socket of another family (packet, vsock...), or a file of no kind above.
        case unknown

        public var character: String {
            switch self {
            case .file: "f"
            case .directory: "d"
            case .ipv4: "4"
            case .ipv6: "6"
            case .unix, .userfaultfd: "u"
            case .pipe: "p"
            case .event: "e"
            case .signalfd: "s"
            case .eventpoll: "l"
            case .inotify: "i"
            case .timerfd: "t"
            case .netlink: "n"
            case .bpf: "b"
            case .ioUring: "r"
            case .memfd: "m"
            case .unknown: "o"
            }
        }

        /// The kind of the file with inode mode `mode`, path or anonymous name `name` ("/[eventfd]",
        /// as the kernel's path walk writes an anonymous inode's) and, for a socket, `family`.
        public init(mode: UInt32, name: String?, family: UInt16) {
            switch mode & 0o170000 {
            case 0o140000:
                switch family {
                case 2: self = .ipv4
                case 10: self = .ipv6
                case 1: self = .unix
                case 16: self = .netlink
                default: self = .unknown
                }
            case 0o010000: self = .pipe
            case 0o040000: self = .directory
            default:
                let anonymous = name.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? ""
                if anonymous.hasPrefix("memfd:") { self = .memfd; return }
                switch anonymous {
                case "[eventfd]": self = .event
                case "[signalfd]": self = .signalfd
                case "[eventpoll]": self = .eventpoll
                case "inotify": self = .inotify
                case "[timerfd]": self = .timerfd
                case "[userfaultfd]": self = .userfaultfd
                case "[io_uring]": self = .ioUring
                default: self = anonymous.hasPrefix("bpf-") || anonymous.hasPrefix("bpf_") ? .bpf : .file
                }
            }
        }

        public var isSocket: Bool { [.ipv4, .ipv6, .unix, .netlink].contains(self) }
    }

    /// The descriptor's number, as the call was given it.
    public var number: Int64
    /// What is open there; nil when nothing was (the call failed with EBADF).
    public var kind: Kind?
    /// A file's or directory's absolute path; a memfd's "memfd:NAME"; nil for sockets and pipes.
    public var name: String?
    public var inode: UInt64
    /// A socket's ends as the socket holds them: the local one and, once connected, the peer's
    /// (0.0.0.0:0 before: an unconnected socket's peer is in its call's address instead).
    public var local: Endpoint?
    public var remote: Endpoint?
    /// "tcp" or "udp" for IP sockets.
    public var l4proto: String?

    public init(number: Int64, kind: Kind?, name: String? = nil, inode: UInt64 = 0, local: Endpoint? = nil, remote: Endpoint? = nil, l4proto: String? = nil) {
        self.number = number
        self.kind = kind
        self.name = name
        self.inode = inode
        self.local = local
        self.remote = remote
        self.l4proto = l4proto
    }

    /// Whether an IP socket has a peer (Falco's fd.connected).
    public var isConnected: Bool { remote.map { $0.port != 0 } ?? false }

    /// What Falco's fd.name shows: the path; for an IP socket "local:port->remote:port", the
    /// remote end being `peer` when given (an unconnected socket's, from its call). sentinel cannot
    /// tell from the descriptor alone which end connected, so this process's end comes first.
    public func displayName(peer: Endpoint? = nil) -> String? {
        if let name { return name }
        guard let local else { return nil }
        guard let remote = peer ?? remote, remote.port != 0 else { return local.text }
        return local.text + "->" + remote.text
    }
}
