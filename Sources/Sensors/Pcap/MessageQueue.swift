import Engine
import Packets

/// Messages waiting before they reach the rules. Each waits until it is due (its capture time plus
/// the sensor's attribution delay), so that the eBPF sensor's connect and accept for its connection
/// come first and name its process. Traffic
/// between two containers crosses both their veths, so the same message is read twice: the second
/// sighting, from another capture while the first still waits, is paired with it, and the message
/// goes to the rules once, as the client's end's event with the server's container as its peer.
public struct MessageQueue {
    /// What makes two sightings one message: the frame's flow (its direction included) and what
    /// was said. The same request sent twice on a connection is two messages, paired in order.
    public struct Sighting: Equatable {
        public var flow: FlowKey
        public var message: ApplicationMessage

        public init(flow: FlowKey, message: ApplicationMessage) {
            self.flow = flow
            self.message = message
        }
    }

    private struct Entry {
        var due: UInt64
        var event: Event
        var sighting: Sighting
        /// Which capture read it.
        var capture: Int
        var isPaired = false
    }

    public let limit: Int
    private var entries: [Entry] = []
    private var start = 0
    /// The sequence number of `entries[start]`: entries are numbered as they come.
    private var firstSequence: UInt64 = 0
    /// The waiting entries no second capture has read yet, by flow, oldest first. Keyed by the
    /// flow alone, which hashes in a few words: few messages of one flow wait at once, and only
    /// those are compared whole.
    private var unpaired: [FlowKey: [UInt64]] = [:]
    /// Messages lost because the queue was full.
    public private(set) var dropped: UInt64 = 0
    /// Second sightings folded into their first.
    public private(set) var pairs: UInt64 = 0

    public init(limit: Int) {
        self.limit = limit
    }

    public var count: Int { entries.count - start }

    /// A message read by `capture`, to go at `due`; a second sighting of a waiting one is folded into it.
    public mutating func add(_ event: Event, sighting: Sighting, capture: Int, due: UInt64) {
        if var waiting = unpaired[sighting.flow], let position = waiting.firstIndex(where: { sequence in
            let entry = entries[index(of: sequence)]
            return entry.capture != capture && entry.sighting == sighting
        }) {
            let first = index(of: waiting.remove(at: position))
            unpaired[sighting.flow] = waiting.isEmpty ? nil : waiting
            entries[first].event = Self.pair(entries[first].event, event)
            entries[first].isPaired = true
            pairs += 1
            return
        }
        guard count < limit else {
            dropped += 1
            return
        }
        unpaired[sighting.flow, default: []].append(firstSequence + UInt64(count))
        entries.append(Entry(due: due, event: event, sighting: sighting, capture: capture))
    }

    /// Hands over the messages due before `time`, in the order they came; how many.
    public mutating func deliver(before time: UInt64, _ deliver: (Event) -> Void) -> UInt64 {
        var delivered: UInt64 = 0
        while start < entries.count, entries[start].due <= time {
            let entry = entries[start]
            if !entry.isPaired { forget(firstSequence, of: entry.sighting) }
            deliver(entry.event)
            start += 1
            firstSequence += 1
            delivered += 1
        }
        if start == entries.count {
            entries.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 {
            entries.removeFirst(start)
            start = 0
        }
        return delivered
    }

    private func index(of sequence: UInt64) -> Int { start + Int(sequence - firstSequence) }

    private mutating func forget(_ sequence: UInt64, of sighting: Sighting) {
        guard var waiting = unpaired[sighting.flow], let position = waiting.firstIndex(of: sequence) else { return }
        waiting.remove(at: position)
        unpaired[sighting.flow] = waiting.isEmpty ? nil : waiting
    }

    /// One event for two sightings: the client's end's (`fd.direction` outbound), or the first's
    /// when neither or both are, with the other's container as its peer.
    public static func pair(_ first: Event, _ second: Event) -> Event {
        guard case .message(let firstConnection, _) = first.payload, case .message(let secondConnection, _) = second.payload,
              first.containerID != second.containerID else { return first }
        let secondIsClient = secondConnection.direction == .outbound && firstConnection.direction != .outbound
        var event = secondIsClient ? second : first
        guard case .message(var connection, let message) = event.payload else { return first }
        connection.peerContainerID = secondIsClient ? first.containerID : second.containerID
        event.payload = .message(connection, message)
        return event
    }
}
