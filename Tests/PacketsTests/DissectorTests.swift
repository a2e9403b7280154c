import Engine
import Testing
@testable import Packets

/// The dissectors on traffic built frame by frame, as a capture on a container's veth gives it.
@Suite struct DissectorTests {
    @Test func anHTTPRequestSpanningSegmentsAndItsResponse() throws {
        var frames = FrameBuilder()
        let request = Array("GET /cgi-bin/run?cmd=cat%20/etc/passwd HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\n\u{7F}ELF".utf8)
        let messages = dissect(frames.open() + [frames.segment(fromClient: true, Array(request[..<30])),
                                                frames.segment(fromClient: true, Array(request[30...])),
                                                frames.segment(fromClient: false, response)])
        try #require(messages.count == 2)
        guard case .httpRequest(let head) = messages[0].message else { Issue.record("\(messages[0])"); return }
        #expect(head.method == "GET" && head.uri == "/cgi-bin/run?cmd=cat%20/etc/passwd")
        #expect(head.host == "shop.example" && head.userAgent == "curl/7.88.1")
        #expect(messages[0].fromClient && messages[0].flow.destinationPort == 80)
        guard case .httpResponse(let answer, let answered) = messages[1].message else { Issue.record("\(messages[1])"); return }
        #expect(answer.status == 200 && answer.contentType == "application/octet-stream" && answered == head)
        #expect(!messages[1].fromClient && messages[1].flow.sourcePort == 80)
        #expect(messages.map(\.senderLink) == [FrameBuilder.clientLink, FrameBuilder.serverLink])
    }

    @Test func aBodyIsPassedOverAndTheNextRequestRead() {
        var frames = FrameBuilder()
        let body = String(repeating: "GET /not-a-request HTTP/1.1\r\n", count: 10)
        let first = Array("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        let second = Array("GET /second HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let messages = dissect(frames.open() + [frames.segment(fromClient: true, Array(first[..<100])),
                                                frames.segment(fromClient: true, Array(first[100...]) + second)])
        let uris = messages.compactMap { message -> String? in
            if case .httpRequest(let request) = message.message { return request.uri }
            return nil
        }
        #expect(uris == ["/upload", "/second"])
    }

    @Test func chunkedBodiesAreFollowedToTheNextMessage() {
        var frames = FrameBuilder()
        let requests = Array("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n".utf8)
        // A chunk of 26 bytes that looks like a status line: passed over, not read.
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\nHTTP/1.1 500 x............\r\n0\r\nX-Trailer: t\r\n\r\n"
        let responses = Array((chunked + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").utf8)
        let messages = dissect(frames.open() + [frames.segment(fromClient: true, Array(requests[..<60])), frames.segment(fromClient: true, Array(requests[60...])),
                                                frames.segment(fromClient: false, Array(responses[..<70])), frames.segment(fromClient: false, Array(responses[70...]))])
        let summary = messages.map { message -> String in
            switch message.message {
            case .httpRequest(let request): "\(request.method) \(request.uri)"
            case .httpResponse(let response, let request): "\(response.status) for \(request?.uri ?? "-")"
            default: "other"
            }
        }
        #expect(summary == ["POST /a", "GET /b", "200 for /a", "404 for /b"])
    }

    @Test func dnsQueriesAndAnswersOverUDP() throws {
        var frames = FrameBuilder()
        frames.server.port = 53
        let messages = dissect([frames.datagram(fromClient: true, SamplePayloads.dns("xmr.pool.minergate.com", type: 16)),
                                frames.datagram(fromClient: false, SamplePayloads.dns("xmr.pool.minergate.com", type: 16, response: true, rcode: 3))])
        try #require(messages.count == 2)
        #expect(messages[0].message == .dns(DNSQuestion(isResponse: false, name: "xmr.pool.minergate.com", type: "TXT", rcode: "NOERROR")))
        #expect(messages[1].message == .dns(DNSQuestion(isResponse: true, name: "xmr.pool.minergate.com", type: "TXT", rcode: "NXDOMAIN")))
        #expect(messages[0].fromClient && !messages[1].fromClient)
    }

    @Test func dnsOverTCPReadsEachFramedMessage() {
        var frames = FrameBuilder()
        frames.server.port = 53
        let query = SamplePayloads.dns("example.org", type: 28)
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        let messages = dissect(frames.open() + [frames.segment(fromClient: true, Array(framed[..<5])), frames.segment(fromClient: true, Array(framed[5...]) + framed)])
        #expect(messages.map(\.message) == Array(repeating: .dns(DNSQuestion(isResponse: false, name: "example.org", type: "AAAA", rcode: "NOERROR")), count: 2))
    }

    @Test func theServerNameOfATLSClientHello() {
        var frames = FrameBuilder()
        frames.server.port = 8443
        let hello = SamplePayloads.clientHello(serverName: "c2.attacker.example")
        let messages = dissect(frames.open() + [frames.segment(fromClient: true, Array(hello[..<20])), frames.segment(fromClient: true, Array(hello[20...]))])
        #expect(messages.map(\.message) == [.tlsClientHello(serverName: "c2.attacker.example")])
    }

    @Test func mysqlQueriesWithTheUserWhoSentThem() throws {
        var frames = FrameBuilder()
        frames.server.port = 13306  // found by the server's greeting, not the port
        let injection = "SELECT name FROM products WHERE id=1 UNION ALL SELECT CONCAT(user,0x3a,password) FROM mysql.user-- -"
        let long = "SELECT '" + String(repeating: "x", count: MySQL.queryLimit + 100) + "'"
        let packets = SamplePayloads.mysqlQuery(long) + SamplePayloads.mysqlQuery("SELECT SLEEP(5)")
        let messages = dissect(frames.open() + [frames.segment(fromClient: false, SamplePayloads.mysqlGreeting),
                                                frames.segment(fromClient: true, SamplePayloads.mysqlLogin(user: "shop")),
                                                frames.segment(fromClient: false, SamplePayloads.mysqlPacket(sequence: 2, [0, 0, 0, 2, 0, 0, 0])),
                                                frames.segment(fromClient: true, SamplePayloads.mysqlQuery(injection)),
                                                frames.segment(fromClient: true, Array(packets[..<9000])),
                                                frames.segment(fromClient: true, Array(packets[9000...]))])
        try #require(messages.count == 3, "\(messages.map(\.message))")
        #expect(messages[0].message == .mysqlQuery(injection, truncated: false, user: "shop"))
        #expect(messages[1].message == .mysqlQuery(String(long.prefix(MySQL.queryLimit)), truncated: true, user: "shop"))
        #expect(messages[2].message == .mysqlQuery("SELECT SLEEP(5)", truncated: false, user: "shop"))
        #expect(messages.allSatisfy { $0.fromClient && $0.flow.destinationPort == 13306 })
    }

    @Test func aPreparedStatementsTextIsReadToo() {
        var frames = FrameBuilder()
        frames.server.port = 3306
        let prepare = SamplePayloads.mysqlPacket(sequence: 0, [0x16] + Array("SELECT * FROM information_schema.tables WHERE table_schema = ?".utf8))
        let execute = SamplePayloads.mysqlPacket(sequence: 0, [0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0])
        let messages = dissect(frames.open() + [frames.segment(fromClient: false, SamplePayloads.mysqlGreeting),
                                                frames.segment(fromClient: true, SamplePayloads.mysqlLogin(user: "app")),
                                                frames.segment(fromClient: true, prepare + execute)])
        #expect(messages.map(\.message) == [.mysqlQuery("SELECT * FROM information_schema.tables WHERE table_schema = ?", truncated: false, user: "app")])
    }

    @Test func aLoginThatTurnsToTLSEndsTheReading() {
        var frames = FrameBuilder()
        frames.server.port = 3306
        let sslRequest = SamplePayloads.mysqlPacket(sequence: 1, [0x85, 0xAA, 0x0A, 0x00] + [0, 0, 0, 1, 33] + [UInt8](repeating: 0, count: 23))
        let messages = dissect(frames.open() + [frames.segment(fromClient: false, SamplePayloads.mysqlGreeting), frames.segment(fromClient: true, sslRequest),
                                                frames.segment(fromClient: true, SamplePayloads.mysqlQuery("SELECT 1"))])
        #expect(messages.isEmpty)
    }

    @Test func aMissingSegmentGivesUpTheStreamAndSaysSo() {
        var frames = FrameBuilder()
        let dissector = TrafficDissector()
        let request = Array("GET /a HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        var lost = frames.open() + [frames.segment(fromClient: true, Array(request[..<10]))]
        _ = frames.segment(fromClient: true, Array(request[10..<15]))
        lost.append(frames.segment(fromClient: true, Array(request[15...])))
        #expect(dissect(lost, with: dissector).isEmpty)
        #expect(dissector.counters.streamsAbandoned == 1)
    }

    @Test func aBodyCutByTheSnapLengthLosesNothingThatIsRead() {
        var frames = FrameBuilder()
        let dissector = TrafficDissector()
        var sent = frames.open() + [frames.segment(fromClient: true, Array("GET /a HTTP/1.1\r\n\r\n".utf8)),
                                    frames.segment(fromClient: false, Array("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n".utf8))]
        var cut = frames.segment(fromClient: false, [UInt8](repeating: 7, count: 2000))
        cut.removeLast(1500)  // captured with a snap length of a few hundred bytes
        sent += [cut, frames.segment(fromClient: false, [UInt8](repeating: 7, count: 1000)),
                 frames.segment(fromClient: true, Array("GET /b HTTP/1.1\r\n\r\n".utf8)),
                 frames.segment(fromClient: false, Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))]
        #expect(dissect(sent, with: dissector).count == 4)
        #expect(dissector.counters.streamsAbandoned == 0)
    }

    @Test func aRetransmissionIsReadOnce() {
        var frames = FrameBuilder()
        let request = Array("GET /once HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        var sent = frames.open()
        let first = frames.segment(fromClient: true, request)
        sent += [first, first]
        #expect(dissect(sent).count == 1)
    }

    @Test func flowsBeyondTheLimitAreCountedNotFollowed() {
        var limits = TrafficDissector.Limits()
        limits.flows = 2
        let dissector = TrafficDissector(limits: limits)
        var frames: [[UInt8]] = []
        for port in UInt16(40_000)..<40_003 {
            var builder = FrameBuilder()
            builder.client.port = port
            frames += builder.open() + [builder.segment(fromClient: true, Array("GET / HTTP/1.1\r\n\r\n".utf8))]
        }
        #expect(dissect(frames, with: dissector).count == 2)
        #expect(dissector.counters.segmentsUnfollowed == 2 && dissector.flowCount == 2, "the third flow's SYN and request")
    }

    @Test func idleFlowsAreForgotten() {
        let dissector = TrafficDissector()
        var builder = FrameBuilder()
        _ = dissect(builder.open() + [builder.segment(fromClient: true, Array("GET / HTTP/1.1\r\n".utf8))], with: dissector)
        #expect(dissector.flowCount == 1)
        dissector.expire(before: 1_800_000_000_000_000_000)
        #expect(dissector.flowCount == 0 && dissector.counters.flowsExpired == 1)
    }
}
