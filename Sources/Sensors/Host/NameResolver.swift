import Dispatch
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Looks up the names the rules compare fd.sip.name and its kin with, now and then every
/// `interval`, through the host's resolver (/etc/hosts, then DNS), and keeps ResolvedNames up to
/// date, as Falco's DNS manager does. It runs on its own queue: a resolver that hangs delays the
/// names, never the events.
public final class NameResolver: Sendable {
    private let names: [String]
    private let interval: Double
    private let stopped = Atomic<Bool>(false)

    public init(names: Set<String>, interval: Double = 60) {
        self.names = names.sorted()
        self.interval = interval
    }

    public func start(into table: ResolvedNames = .shared) {
        guard !names.isEmpty else { return }
        DispatchQueue(label: "sentinel.names").async { [self] in
            while !stopped.load(ordering: .relaxed) {
                for name in names { table.update(name, to: Self.addresses(of: name)) }
                var waited = 0.0
                while waited < interval, !stopped.load(ordering: .relaxed) {
                    usleep(100_000)
                    waited += 0.1
                }
            }
        }
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Every IPv4 and IPv6 address `name` resolves to; none when it does not resolve.
    static func addresses(of name: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor?.pointee {
            if let socketAddress = entry.ai_addr {
                switch Int32(entry.ai_family) {
                case AF_INET:
                    socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        addresses.append(IPAddress(ipv4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr)))
                    }
                case AF_INET6:
                    socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        addresses.append(IPAddress(networkBytes: withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }))
                    }
                default: break
                }
            }
            cursor = entry.ai_next
        }
        return Array(Set(addresses))
    }
}
