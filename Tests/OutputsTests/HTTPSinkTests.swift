import Foundation
import Testing
import Engine
import Outputs
import SentinelJSON

/// The http output against a real HTTP server on loopback (Fixtures/http-receiver.py, Python's
/// http.server), over plain HTTP and TLS with certificates openssl makes for the test.
@Suite(.serialized) struct HTTPSinkTests {
    @Test func eachAlertIsOnePostOfFalcosJSONOnOneConnection() throws {
        let receiver = try HTTPReceiver()
        var spec = HTTPSink.Spec(url: "http://127.0.0.1:\(receiver.port)/")
        spec.headers = ["Authorization": "Bearer s3cret"]
        let dispatcher = AlertDispatcher(sinks: [(try spec.open(), AlertFilter())])
        for pid in 1...50 { dispatcher.dispatch(numbered(pid)) }
        #expect(dispatcher.drain(timeout: 20))
        let requests = receiver.requests
        #expect(requests.count == 50)
        #expect(requests.allSatisfy { $0.header("Content-Type") == "application/json" && $0.header("Authorization") == "Bearer s3cret" })
        #expect(requests.map { try! pid(inAlert: $0.body) } == Array(1...50), "one alert per request, in order")
        #expect(Set(requests.map(\.clientPort)).count == 1, "the connection is kept open between requests")
        #expect(dispatcher.statistics[0].delivered == 50)
    }

    @Test func batchesAreJSONLinesAndGzipped() throws {
        let receiver = try HTTPReceiver()
        var spec = HTTPSink.Spec(url: "http://127.0.0.1:\(receiver.port)/alerts")
        spec.batchSize = 100
        spec.compress = true
        let dispatcher = AlertDispatcher(sinks: [(try spec.open(), AlertFilter())])
        for pid in 1...2_000 { dispatcher.dispatch(numbered(pid)) }
        #expect(dispatcher.drain(timeout: 30))
        let requests = receiver.requests
        #expect(requests.allSatisfy { $0.header("Content-Encoding") == "gzip" && $0.header("Content-Type") == "application/x-ndjson" })
        let pids = try requests.flatMap { request in try request.body.split(separator: "\n").map { try pid(inAlert: String($0)) } }
        #expect(pids == Array(1...2_000), "every alert once, in order")
        #expect(requests.count < 2_000 && requests.allSatisfy { $0.body.split(separator: "\n").count <= 100 })
    }

    @Test func serverErrorsAreRetriedAndRefusalsCountedAtOnce() throws {
        let receiver = try HTTPReceiver(answers: [500, 503, 429, 200, 400])
        let spec = HTTPSink.Spec(url: "http://127.0.0.1:\(receiver.port)/")
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(try spec.open(), AlertFilter())], retryDelays: [0.01, 0.01, 0.01]) { reports.append($0) }
        dispatcher.dispatch(numbered(1))
        dispatcher.dispatch(numbered(2))
        #expect(dispatcher.drain(timeout: 20))
        #expect(receiver.requests.map(\.status) == [500, 503, 429, 200, 400])
        #expect(dispatcher.statistics[0].delivered == 1 && dispatcher.statistics[0].failed == 1)
        #expect(reports.lines == [#"output http http://127.0.0.1:\#(receiver.port)/: alert "rule 2" not delivered after 1 attempt: POST to http://127.0.0.1:\#(receiver.port)/: HTTP 400, the server refused the alerts"#])
    }

    /// 10,000 alerts to a receiver that answers, then stalls, then fails with 500s, then recovers:
    /// every alert arrives once, or is counted (what arrived plus what was counted is 10,000, and
    /// nothing arrived twice).
    @Test func aReceiverThatStallsThenFailsThenRecoversGetsEveryAlertOnce() throws {
        let receiver = try HTTPReceiver()
        var spec = HTTPSink.Spec(url: "http://127.0.0.1:\(receiver.port)/")
        spec.batchSize = 100
        spec.timeoutSeconds = 1
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(try spec.open(), AlertFilter())], retryDelays: [0.05, 0.1, 0.2]) { reports.append($0) }
        let total = 10_000
        // Each phase lasts longer than a request's timeout and the backoff.
        for (range, then) in [(1...2_000, "stall"), (2_001...5_000, "fail 500"), (5_001...total, "ok")] {
            for pid in range { dispatcher.dispatch(numbered(pid)) }
            usleep(2_000_000)
            receiver.answer(then)
        }
        #expect(dispatcher.drain(timeout: 60))
        let statistics = dispatcher.statistics[0]
        let arrived = try receiver.requests.filter { $0.status == 200 }.flatMap { request in
            try request.body.split(separator: "\n").map { try pid(inAlert: String($0)) }
        }
        #expect(Set(arrived).count == arrived.count, "nothing arrived twice")
        #expect(UInt64(arrived.count) == statistics.delivered)
        #expect(UInt64(arrived.count) + statistics.dropped + statistics.failed == UInt64(total),
                "arrived \(arrived.count), dropped \(statistics.dropped), failed \(statistics.failed)")
        #expect(receiver.requests.contains { $0.status == 0 } && receiver.requests.contains { $0.status == 500 }, "it stalled and it failed")
        #expect(reports.lines.count == 2 && reports.lines.last?.contains("recovered after") == true, "failing once, recovered once: \(reports.lines)")
    }

    @Test func aServerThatNeverAnswersTimesOutAndIsCounted() throws {
        let receiver = try HTTPReceiver(stall: true)
        var spec = HTTPSink.Spec(url: "http://127.0.0.1:\(receiver.port)/")
        spec.timeoutSeconds = 1
        let dispatcher = AlertDispatcher(sinks: [(try spec.open(), AlertFilter())], retryDelays: [0.01])
        let start = Date()
        dispatcher.dispatch(numbered(1))
        #expect(Date().timeIntervalSince(start) < 0.5, "dispatch does not wait for the server")
        #expect(waitUntil(10) { receiver.requests.count >= 2 }, "tried again after the timeout")
        #expect(dispatcher.drain(timeout: 20))
        #expect(dispatcher.statistics[0].failed == 1 && dispatcher.statistics[0].delivered == 0)
    }

    @Test func tlsIsCheckedBothWays() throws {
        let certificates = try TestCertificates()
        let receiver = try HTTPReceiver(tls: certificates)
        var trusted = HTTPSink.Spec(url: "https://127.0.0.1:\(receiver.port)/")
        trusted.caCertificate = certificates.ca
        trusted.clientCertificate = certificates.clientCertificate
        trusted.clientKey = certificates.clientKey
        var withoutClientCertificate = trusted
        withoutClientCertificate.clientCertificate = nil
        withoutClientCertificate.clientKey = nil
        var withoutCA = trusted
        withoutCA.caCertificate = nil
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(try trusted.open(), AlertFilter()), (try withoutClientCertificate.open(), AlertFilter()),
                                                 (try withoutCA.open(), AlertFilter())], retryDelays: []) { reports.append($0) }
        dispatcher.dispatch(numbered(1))
        #expect(dispatcher.drain(timeout: 20))
        #expect(dispatcher.statistics.map(\.delivered) == [1, 0, 0])
        #expect(dispatcher.statistics.map(\.failed) == [0, 1, 1])
        #expect(receiver.requests.count == 1)
        #expect(reports.lines.contains { $0.contains("certificate") }, "the server's certificate is not trusted without the CA: \(reports.lines)")
    }

    @Test func configMistakesAreLocated() {
        let diagnostics = Diagnostics()
        let spec = parseOutput(#"{"type": "http", "url": "ftp://x/", "batch_size": 10, "headers": {"X-A": "1\nX-B: 2"}, "client_key": "k.pem"}"#, diagnostics: diagnostics)
        #expect(spec == nil)
        #expect(diagnostics.errors.map(\.message) == [
            "url must start with http:// or https://",
            "batch_size needs \"batch\": true",
            "a header's value cannot hold a line break",
            "client_key needs client_cert",
        ])
    }
}

private func numbered(_ pid: Int) -> Alert {
    sampleAlert(rule: "rule \(pid)", fields: [Alert.Field(name: "proc.pid", value: .number(Int64(pid)))])
}

private func pid(inAlert text: String) throws -> Int {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    return try #require((object["output_fields"] as? [String: Any])?["proc.pid"] as? Int)
}

/// Fixtures/http-receiver.py, started on a free port of 127.0.0.1; stopped when released.
final class HTTPReceiver {
    struct Request {
        let headers: [String: String]
        let body: String
        let clientPort: Int
        let status: Int
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    let port: Int
    private let process = Process()
    private let input = Pipe()
    private let recordPath: String

    init(answers: [Int] = [], stall: Bool = false, tls: TestCertificates? = nil) throws {
        let directory = try temporaryDirectory()
        recordPath = directory + "/requests.jsonl"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        var arguments = [fixturesDirectory + "/http-receiver.py", recordPath]
        if !answers.isEmpty { arguments += ["--answers"] + answers.map(String.init) }
        if stall { arguments.append("--stall") }
        if let tls { arguments += ["--cert", tls.serverCertificate, "--key", tls.serverKey, "--client-ca", tls.ca] }
        process.arguments = arguments
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableLine(), as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SystemError("the receiver did not start: \(line)", code: 5)
        }
        self.port = port
    }

    /// How it answers from now on: "stall", "fail 500", "ok".
    func answer(_ mode: String) {
        input.fileHandleForWriting.write(Data((mode + "\n").utf8))
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    var requests: [Request] {
        let text = (try? String(contentsOfFile: recordPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                           clientPort: object["client_port"] as? Int ?? 0, status: object["status"] as? Int ?? 0)
        }
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
struct TestCertificates {
    let ca: String
    let serverCertificate: String
    let serverKey: String
    let clientCertificate: String
    let clientKey: String

    init() throws {
        let directory = try temporaryDirectory()
        ca = directory + "/ca.pem"
        serverCertificate = directory + "/server.pem"
        serverKey = directory + "/server.key"
        clientCertificate = directory + "/client.pem"
        clientKey = directory + "/client.key"
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sentinel test CA",
                          "-keyout", directory + "/ca.key", "-out", ca])
        for (name, subject, extensions) in [("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"), ("client", "/CN=sentinel", "extendedKeyUsage=clientAuth")] {
            try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", "\(directory)/\(name).key",
                              "-out", "\(directory)/\(name).csr"])
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try Self.openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", ca, "-CAkey", directory + "/ca.key",
                              "-CAcreateserial", "-days", "1", "-extfile", "\(directory)/\(name).ext", "-out", "\(directory)/\(name).pem"])
        }
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SystemError("openssl \(arguments.joined(separator: " "))", code: 5) }
    }
}

let fixturesDirectory: String = {
    let file = #filePath
    return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
}()

extension FileHandle {
    /// Reads up to the first newline (or the end).
    func availableLine() -> Data {
        var line = Data()
        while true {
            let byte = readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { return line }
            line.append(byte)
        }
    }
}
