import Engine
import SentinelJSON
import Testing
@testable import Rules

/// A message captured on the wire has no process of its own: it takes the process that connected
/// or accepted its connection, on the container's side.
@Suite struct MessageAttributionTests {
    static let rules = """
    { "rules": [{ "rule": "Query", "desc": "d", "condition": "evt.type = mysql", "output": "%mysql.query by %proc.name (%proc.pid)", "priority": "NOTICE" }] }
    """

    func outputs(_ events: [Event]) throws -> [String] {
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "r.json", bytes: Array(Self.rules.utf8))])
        let engine = Engine(rules: ruleSet.rules)
        var texts: [String] = []
        for event in events { engine.process(event) { texts.append($0.output) } }
        return texts
    }

    let client = Endpoint(address: IPAddress("169.254.77.1")!, port: 41_000)
    let server = Endpoint(address: IPAddress("169.254.77.2")!, port: 3306)

    func query(direction: Connection.Direction) -> Event {
        Event(type: .mysql, time: 10, pid: 0, containerID: "dbdbdb000001",
              payload: .message(Connection(direction: direction, source: client, destination: server), .mysqlQuery("SELECT 1", truncated: false, user: "app")))
    }

    @Test func aQueryIntoTheContainerBelongsToTheServerThatAcceptedIt() throws {
        let server = Event(type: .execve, time: 1, pid: 200, ppid: 1, containerID: "dbdbdb000001",
                           process: ProcessFacts(exePath: "/usr/sbin/mariadbd", args: ["mariadbd"]))
        let accepted = Event(type: .accept, time: 2, pid: 200, payload: .socket(Connection(direction: .inbound, source: client, destination: self.server)))
        #expect(try outputs([server, accepted, query(direction: .inbound)]) == ["SELECT 1 by mariadbd (200)"])
    }

    @Test func aRuleOnMessagesAloneSaysItsSourceIsPcap() throws {
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "r.json", bytes: Array(Self.rules.utf8))])
        var sources: [String] = []
        Engine(rules: ruleSet.rules).process(query(direction: .inbound)) { sources.append($0.source) }
        #expect(sources == ["pcap"])
        let stock = try RuleLoader.load(paths: [packageRoot + "/rules"])
        #expect(stock.rules.first { $0.name == "Shell spawned in container" }?.source == "syscall")
    }

    @Test func withoutItsAcceptTheProcessIsUnknown() throws {
        #expect(try outputs([query(direction: .inbound)]) == ["SELECT 1 by <NA> (<NA>)"])
    }

    /// Between two watched containers the message is one event: the client's end, with the
    /// server's container and process as its peer.
    @Test func aMessageBetweenTwoContainersNamesBothEnds() throws {
        let rules = #"{ "rules": [{ "rule": "Query", "condition": "evt.type = mysql", "priority": "NOTICE", "output": "%container.name %proc.name -> %peer.container.name %peer.proc.name (%peer.proc.pid)" }] }"#
        let ruleSet = try RuleLoader.load(sources: [JSONSource(name: "r.json", bytes: Array(rules.utf8))])
        let engine = Engine(rules: ruleSet.rules)
        var texts: [String] = []
        let events = [
            Event(type: .container, time: 1, pid: 0, containerID: "dbdbdb000001", payload: .container(ContainerFacts(name: "db", image: "mariadb:10.11"))),
            Event(type: .container, time: 1, pid: 0, containerID: "c0ffee000001", payload: .container(ContainerFacts(name: "web", image: "shop:1"))),
            Event(type: .execve, time: 2, pid: 200, ppid: 1, containerID: "dbdbdb000001", process: ProcessFacts(exePath: "/usr/sbin/mariadbd", args: ["mariadbd"])),
            Event(type: .accept, time: 3, pid: 200, payload: .socket(Connection(direction: .inbound, source: client, destination: server))),
            Event(type: .execve, time: 2, pid: 300, ppid: 1, containerID: "c0ffee000001", process: ProcessFacts(exePath: "/usr/bin/python3", args: ["python3"])),
            Event(type: .connect, time: 3, pid: 300, payload: .socket(Connection(direction: .outbound, source: client, destination: server))),
            Event(type: .mysql, time: 10, pid: 0, containerID: "c0ffee000001",
                  payload: .message(Connection(direction: .outbound, source: client, destination: server, peerContainerID: "dbdbdb000001"),
                                    .mysqlQuery("SELECT 1", truncated: false, user: "app"))),
            query(direction: .inbound),
        ]
        for event in events { engine.process(event) { texts.append($0.output) } }
        #expect(texts == ["web python3 -> db mariadbd (200)", "db mariadbd -> <NA> <NA> (<NA>)"])
    }

    @Test func theClientsEndIsAnotherProcess() throws {
        let client = Event(type: .execve, time: 1, pid: 300, ppid: 1, containerID: "dbdbdb000001", process: ProcessFacts(exePath: "/usr/bin/mariadb", args: ["mariadb"]))
        let connected = Event(type: .connect, time: 2, pid: 300, payload: .socket(Connection(direction: .outbound, source: self.client, destination: server)))
        #expect(try outputs([client, connected, query(direction: .inbound)]) == ["SELECT 1 by <NA> (<NA>)"])
        #expect(try outputs([client, connected, query(direction: .outbound)]) == ["SELECT 1 by mariadb (300)"])
    }
}
