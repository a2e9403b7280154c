/// Which process holds each end of a TCP connection, from connect and accept events: a message
/// read from captured traffic has no process of its own, and takes its connection's.
///
/// A close does not forget its connection: captured messages reach the engine later than the
/// probes' events (the pcap sensor holds them briefly for this), so a short connection's close
/// comes before its messages. A new connection with the same addresses and ports replaces the
/// entry, and the oldest entries make room for new ones.
struct SocketOwners {
    static let capacity = 65_536

    private struct Key: Hashable {
        var client: Endpoint
        var server: Endpoint
        /// The client's end (connect) or the server's (accept).
        var isClient: Bool
    }

    private var owners: [Key: Int64] = [:]
    /// Keys in the order they came, oldest at `oldest`: what to forget when full.
    private var arrivals: [Key] = []
    private var oldest = 0

    /// Learns from a connect or an accept that succeeded.
    mutating func update(with event: Event) {
        guard event.type == .connect || event.type == .accept, case .socket(let connection) = event.payload,
              connection.l4proto == "tcp", connection.result >= 0, let client = connection.source else { return }
        let key = Key(client: client, server: connection.destination, isClient: connection.direction == .outbound)
        if owners.updateValue(event.pid, forKey: key) == nil { remember(key) }
    }

    /// The process at the container's end of a message's connection.
    func owner(of connection: Connection) -> Int64? {
        guard let client = connection.source else { return nil }
        return owners[Key(client: client, server: connection.destination, isClient: connection.direction == .outbound)]
    }

    private mutating func remember(_ key: Key) {
        if arrivals.count - oldest >= Self.capacity {
            owners[arrivals[oldest]] = nil
            oldest += 1
            // Compact now and then rather than shift on every arrival.
            if oldest >= Self.capacity {
                arrivals.removeFirst(oldest)
                oldest = 0
            }
        }
        arrivals.append(key)
    }
}
