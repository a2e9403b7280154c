import Testing
@testable import Engine

@Suite struct SocketOwnersTests {
    let server = Endpoint(address: IPAddress("169.254.77.2")!, port: 3306)

    func client(_ port: Int) -> Endpoint { Endpoint(address: IPAddress("169.254.77.1")!, port: UInt16(port)) }

    func connection(from port: Int, direction: Connection.Direction = .outbound) -> Connection {
        Connection(direction: direction, source: client(port), destination: server)
    }

    func connect(_ owners: inout SocketOwners, from port: Int, pid: Int64, result: Int64 = 0) {
        owners.update(with: Event(type: .connect, time: 1, pid: pid, payload: .socket(Connection(
            direction: .outbound, source: client(port), destination: server, result: result))))
    }

    @Test func aConnectionIsOwnedByWhoeverMadeItLast() {
        var owners = SocketOwners()
        connect(&owners, from: 40_000, pid: 7)
        #expect(owners.owner(of: connection(from: 40_000)) == 7)
        connect(&owners, from: 40_000, pid: 8)
        #expect(owners.owner(of: connection(from: 40_000)) == 8)
        // The other end of the same connection is another process's (the server's accept).
        #expect(owners.owner(of: connection(from: 40_000, direction: .inbound)) == nil)
        connect(&owners, from: 40_001, pid: 9, result: -111)
        #expect(owners.owner(of: connection(from: 40_001)) == nil)
    }

    /// Whatever the hashes, an entry is forgotten only once two later connections share its pair
    /// of slots: the newest two are always there, the first long gone after many more.
    @Test func theTableIsBoundedAndKeepsTheNewest() {
        var owners = SocketOwners(capacity: 64)
        for port in 1...2_000 { connect(&owners, from: port, pid: Int64(port)) }
        #expect(owners.owner(of: connection(from: 2_000)) == 2_000)
        #expect(owners.owner(of: connection(from: 1_999)) == 1_999)
        #expect(owners.owner(of: connection(from: 1)) == nil)
        #expect((1...2_000).filter { owners.owner(of: connection(from: $0)) != nil }.count <= 64)
    }
}
