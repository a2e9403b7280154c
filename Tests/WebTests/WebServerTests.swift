import Foundation
import Testing
@testable import Web

@Suite struct WebServerTests {
    private func server() throws -> WebServer {
        try WebServer(address: ListenAddress("127.0.0.1:0")!, pages: [
            "/healthz": { WebServer.Response(body: "ok\n") },
            "/metrics": { WebServer.Response(status: 503, contentType: PrometheusText.contentType, body: "# nothing yet\n") },
        ])
    }

    @Test func pagesAnswerGetAndHead() throws {
        let server = try server()
        #expect(server.port != 0)
        let health = try get(server.port, "/healthz")
        #expect(health.status == 200 && health.body == "ok\n" && health.headers["content-type"] == "text/plain; charset=utf-8")
        let metrics = try get(server.port, "/metrics?name[]=x")
        #expect(metrics.status == 503 && metrics.headers["content-type"] == PrometheusText.contentType)
        let head = try get(server.port, "/healthz", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty)
    }

    @Test func otherPathsAndMethodsAreRefused() throws {
        let server = try server()
        let missing = try get(server.port, "/admin")
        #expect(missing.status == 404 && missing.body == "not found; try /healthz, /metrics\n")
        let post = try get(server.port, "/healthz", method: "POST")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        let garbage = try exchange(server.port, "\u{1}\u{2} not http at all\r\n\r\n")
        #expect(garbage.hasPrefix("HTTP/1.1 400"), "libmicrohttpd answers a malformed request: \(garbage.prefix(40))")
        #expect(try get(server.port, "/healthz").status == 200, "and goes on serving")
    }

    @Test func aSilentClientDoesNotHoldOthersUp() throws {
        let server = try server()
        let silent = try connectLoopback(server.port)
        defer { close(silent) }
        let start = Date()
        #expect(try get(server.port, "/healthz").status == 200)
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func aBusyPortIsAnError() throws {
        let first = try server()
        #expect(throws: WebServerError.self) { try WebServer(address: ListenAddress("127.0.0.1:\(first.port)")!, pages: [:]) }
    }

    @Test func addressesAreNumericWithAPort() {
        #expect(ListenAddress("127.0.0.1:8765")?.isLoopback == true)
        #expect(ListenAddress("[::1]:8765")?.isLoopback == true)
        #expect(ListenAddress("[::1]:8765")?.description == "[::1]:8765")
        #expect(ListenAddress("0.0.0.0:8765")?.isLoopback == false)
        #expect(ListenAddress("localhost:8765") == nil)
        #expect(ListenAddress("127.0.0.1") == nil)
        #expect(ListenAddress("127.0.0.1:70000") == nil)
    }
}

@Suite struct PrometheusTextTests {
    @Test func familiesAndEscapedLabels() {
        var page = PrometheusText()
        page.family("sentinel_alerts_total", .counter, "Alerts raised.\nBy rule.")
        page.sample("sentinel_alerts_total", ["rule": #"Shell "sh" in C:\tmp"#, "priority": "Warning"], 3)
        page.single("sentinel_rules_loaded", .gauge, "Rules judging.", 55)
        page.family("sentinel_memory_ratio", .gauge, "A ratio.")
        page.sample("sentinel_memory_ratio", [:], 0.25)
        #expect(page.text == #"""
        # HELP sentinel_alerts_total Alerts raised.\nBy rule.
        # TYPE sentinel_alerts_total counter
        sentinel_alerts_total{rule="Shell \"sh\" in C:\\tmp",priority="Warning"} 3
        # HELP sentinel_rules_loaded Rules judging.
        # TYPE sentinel_rules_loaded gauge
        sentinel_rules_loaded 55
        # HELP sentinel_memory_ratio A ratio.
        # TYPE sentinel_memory_ratio gauge
        sentinel_memory_ratio 0.25

        """#)
    }
}

// MARK: - A client on a plain socket, to send exactly what a test means

struct Reply {
    let status: Int
    let headers: [String: String]
    let body: String
}

func get(_ port: UInt16, _ path: String, method: String = "GET") throws -> Reply {
    let text = try exchange(port, "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EPROTO) }
    let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let status = Int(head[0].split(separator: " ")[1]) ?? 0
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
}

func exchange(_ port: UInt16, _ request: String) throws -> String {
    let descriptor = try connectLoopback(port)
    defer { close(descriptor) }
    _ = Array(request.utf8).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { break }
        received += buffer[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}

func connectLoopback(_ port: UInt16) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard result == 0 else {
        close(descriptor)
        throw POSIXError(.ECONNREFUSED)
    }
    return descriptor
}
