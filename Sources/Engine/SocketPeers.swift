/// The peer each unconnected socket last sent to or received from, so that a call naming another
/// one is known to change it: Falco's `fd.name_changed`, which its `outbound` and `inbound`
/// macros use to take a UDP socket's first datagram to each peer, not every datagram.
///
/// Keyed by the socket's inode, which names one socket host-wide for as long as it is open.
/// Direct-mapped and fixed in size, as SocketOwners is: a forgotten socket's next datagram counts
/// as a change, which errs towards judging a datagram once more, never towards missing one.
struct SocketPeers {
    private struct Entry {
        var inode: UInt64
        var peer: Endpoint
    }

    private let mask: Int
    /// Empty until a rule asks: an engine that never reads fd.name_changed never pays for it.
    private var slots: [Entry?] = []

    init(capacity: Int = 16_384) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        mask = capacity - 1
    }

    /// Whether `peer` is not the one the socket last had, which it now becomes.
    mutating func changes(socket inode: UInt64, to peer: Endpoint) -> Bool {
        if slots.isEmpty { slots = Array(repeating: nil, count: mask + 1) }
        let slot = Int(truncatingIfNeeded: inode &* 0x9E37_79B9_7F4A_7C15 >> 32) & mask
        if let entry = slots[slot], entry.inode == inode, entry.peer == peer { return false }
        slots[slot] = Entry(inode: inode, peer: peer)
        return true
    }
}
