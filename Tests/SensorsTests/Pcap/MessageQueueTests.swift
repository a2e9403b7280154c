import Engine
import Packets
import Testing
@testable import Sensors

/// Messages read on both containers' veths go to the rules once, as the client's end's event with
/// the server's container as its peer; everything else goes as it came, in order.
@Suite struct MessageQueueTests {
    static let client = Endpoint(address: IPAddress("169.254.79.20")!, port: 41000)
    static let server = Endpoint(address: IPAddress("169.254.79.11")!, port: 3306)
    static let toServer = FlowKey(source: client.address, destination: server.address, sourcePort: client.port, destinationPort: server.port, isTCP: true)

    /// A query as the veth of `container` shows it: outbound when that container is the client.
    func query(_ text: String, on container: String, isClient: Bool, time: UInt64) -> (Event, MessageQueue.Sighting) {
        let message = ApplicationMessage.mysqlQuery(text, truncated: false, user: "shop")
        let connection = Connection(direction: isClient ? .outbound : .inbound, source: Self.client, destination: Self.server)
        return (Event(type: .mysql, time: time, pid: 0, containerID: container, payload: .message(connection, message)),
                MessageQueue.Sighting(flow: Self.toServer, message: message))
    }

    func delivered(_ queue: inout MessageQueue) -> [(container: String?, peer: String?, query: String)] {
        var events: [Event] = []
        _ = queue.deliver(before: .max) { events.append($0) }
        return events.map { event in
            guard case .message(let connection, .mysqlQuery(let text, _, _)) = event.payload else { return (nil, nil, "") }
            return (event.containerID, connection.peerContainerID, text)
        }
    }

    @Test func aMessageReadOnBothEndsGoesOnceAsTheClientsWithTheServerAsPeer() {
        var queue = MessageQueue(limit: 10)
        // The server's veth is read first: the client's end still becomes the event's own.
        let (atServer, sighting) = query("SELECT 1", on: "db", isClient: false, time: 1)
        let (atClient, _) = query("SELECT 1", on: "web", isClient: true, time: 2)
        queue.add(atServer, sighting: sighting, capture: 2, due: 10)
        queue.add(atClient, sighting: sighting, capture: 1, due: 11)
        let events = delivered(&queue)
        #expect(events.count == 1)
        #expect(events.first?.container == "web" && events.first?.peer == "db")
        #expect(queue.pairs == 1)
    }

    @Test func theSameQueryTwiceIsTwoMessagesEachPairedOnce() {
        var queue = MessageQueue(limit: 10)
        let (first, sighting) = query("SELECT 1", on: "web", isClient: true, time: 1)
        // Both sightings of the first, then of the second, read by captures in any order.
        for (capture, container) in [(1, "web"), (1, "web"), (2, "db"), (2, "db")] {
            var event = first
            event.containerID = container
            if container == "db", case .message(let connection, let message) = event.payload { event.payload = .message(connection.reversed, message) }
            queue.add(event, sighting: sighting, capture: capture, due: 10)
        }
        let events = delivered(&queue)
        #expect(events.map(\.container) == ["web", "web"] && events.map(\.peer) == ["db", "db"])
    }

    @Test func oneCapturesMessagesAreNeverPairedWithEachOther() {
        var queue = MessageQueue(limit: 10)
        let (event, sighting) = query("SELECT 1", on: "web", isClient: true, time: 1)
        queue.add(event, sighting: sighting, capture: 1, due: 10)
        queue.add(event, sighting: sighting, capture: 1, due: 11)
        #expect(delivered(&queue).map(\.peer) == [nil, nil])
    }

    @Test func aSightingAfterTheFirstWasDeliveredIsAMessageOfItsOwn() {
        var queue = MessageQueue(limit: 10)
        let (atClient, sighting) = query("SELECT 1", on: "web", isClient: true, time: 1)
        let (atServer, _) = query("SELECT 1", on: "db", isClient: false, time: 2)
        queue.add(atClient, sighting: sighting, capture: 1, due: 10)
        #expect(delivered(&queue).count == 1)
        queue.add(atServer, sighting: sighting, capture: 2, due: 20)
        #expect(delivered(&queue).map(\.container) == ["db"])
    }

    @Test func aFullQueueCountsWhatItDrops() {
        var queue = MessageQueue(limit: 2)
        for index in 0..<3 {
            let (event, sighting) = query("SELECT \(index)", on: "web", isClient: true, time: 1)
            queue.add(event, sighting: sighting, capture: 1, due: 10)
        }
        #expect(queue.dropped == 1)
        var order: [String] = []
        _ = queue.deliver(before: 9) { _ in order.append("early") }
        #expect(order.isEmpty, "nothing goes before it is due")
        #expect(delivered(&queue).map(\.query) == ["SELECT 0", "SELECT 1"])
    }
}
