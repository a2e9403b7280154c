/// Which process holds each end of a TCP connection, from connect and accept events: a message
/// read from captured traffic has no process of its own, and takes its connection's.
///
/// A close does not forget its connection: captured messages reach the engine later than the
/// probes' events (the pcap sensor holds them briefly for this), so a short connection's close
/// comes before its messages. A new connection with the same addresses and ports replaces the
/// entry.
///
/// The table is a fixed-size, two-way set-associative cache rather than a growing dictionary: a
/// connection hashes to a pair of slots and takes the older one when neither is its own. A busy
/// host opens hundreds of thousands of connections a second, and this costs one hash and one
/// cache line per connect, never a resize or a second look-up to forget the oldest. What it
/// forgets first is the older of two, not the oldest of all: a long-lived connection outlives
/// about `capacity` later ones on average, as it did with strict arrival order.
struct SocketOwners {
    /// Connections remembered at most; a power of two.
    let capacity: Int

    private struct Key: Hashable {
        var client: Endpoint
        var server: Endpoint
        /// The client's end (connect) or the server's (accept).
        var isClient: Bool
    }

    private struct Entry {
        var key: Key
        var owner: Int64
        /// When the entry was written, in updates: the older of a pair makes room.
        var arrival: UInt64
    }

    /// Empty until the first connection: an engine whose rules judge no messages never pays for it.
    private var slots: [Entry?] = []
    private var arrivals: UInt64 = 0

    init(capacity: Int = 65_536) {
        precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        self.capacity = capacity
    }

    /// Learns from a connect or an accept that succeeded.
    mutating func update(with event: Event) {
        guard event.type == .connect || event.type == .accept, case .socket(let connection) = event.payload,
              connection.l4proto == "tcp", connection.result >= 0, let client = connection.source else { return }
        if slots.isEmpty { slots = Array(repeating: nil, count: capacity) }
        let key = Key(client: client, server: connection.destination, isClient: connection.direction == .outbound)
        arrivals += 1
        slots[slot(for: key)] = Entry(key: key, owner: event.pid, arrival: arrivals)
    }

    /// The connection's own slot if it has one, else an empty one of its pair, else the older.
    private func slot(for key: Key) -> Int {
        let first = firstSlot(of: key), second = first + 1
        if slots[first]?.key == key { return first }
        if slots[second]?.key == key { return second }
        guard let firstEntry = slots[first] else { return first }
        guard let secondEntry = slots[second] else { return second }
        return firstEntry.arrival <= secondEntry.arrival ? first : second
    }

    /// The process at the container's end of a message's connection.
    func owner(of connection: Connection) -> Int64? {
        guard !slots.isEmpty, let client = connection.source else { return nil }
        let key = Key(client: client, server: connection.destination, isClient: connection.direction == .outbound)
        let first = firstSlot(of: key)
        for slot in first...first + 1 where slots[slot]?.key == key { return slots[slot]!.owner }
        return nil
    }

    private func firstSlot(of key: Key) -> Int {
        (key.hashValue & (capacity / 2 - 1)) * 2
    }
}
