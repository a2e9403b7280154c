import Foundation
import Testing
import Engine
@testable import Outputs

/// A real rsyslogd (Debian's), started on its own unix socket and loopback ports, writing what it
/// parsed of each message to a file the test reads.
final class Rsyslog {
    static let binary = "/usr/sbin/rsyslogd"
    let directory: String
    let socketPath: String
    let udpPort: UInt16
    let tcpPort: UInt16
    let outputPath: String
    private let process = Process()

    /// `maxMessageSize` nil leaves rsyslog's default (8k). With `relpPort` it also takes RELP there
    /// (imrelp, Debian's rsyslog-relp), its main queue direct: a message is written to the file
    /// before imrelp acknowledges it.
    init(tcpPort fixedTCPPort: UInt16? = nil, maxMessageSize: String? = "64k", relpPort: UInt16? = nil) throws {
        directory = try temporaryDirectory()
        socketPath = directory + "/log.sock"
        outputPath = directory + "/received.log"
        udpPort = freeLoopbackPort(type: Int32(SOCK_DGRAM.rawValue))
        tcpPort = fixedTCPPort ?? freeLoopbackPort(type: Int32(SOCK_STREAM.rawValue))
        // One line per message: what rsyslog parsed from it, fields separated by '|'.
        let config = """
        global(workDirectory="\(directory)"\(maxMessageSize.map { " maxMessageSize=\"\($0)\"" } ?? ""))
        module(load="imuxsock" SysSock.Use="off")
        input(type="imuxsock" Socket="\(socketPath)" UseSpecialParser="off" ParseHostname="on")
        module(load="imudp")
        input(type="imudp" address="127.0.0.1" port="\(udpPort)")
        module(load="imtcp")
        input(type="imtcp" address="127.0.0.1" port="\(tcpPort)")
        \(relpPort.map { "main_queue(queue.type=\"Direct\")\nmodule(load=\"imrelp\")\ninput(type=\"imrelp\" address=\"127.0.0.1\" port=\"\($0)\")" } ?? "")
        template(name="parsed" type="string" string="%syslogfacility-text%|%syslogseverity-text%|%protocol-version%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
        *.* action(type="omfile" file="\(outputPath)" template="parsed")
        """
        try config.write(toFile: directory + "/rsyslog.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-n", "-f", directory + "/rsyslog.conf", "-i", directory + "/rsyslog.pid"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard waitUntil(10, { FileManager.default.fileExists(atPath: socketPath) && self.acceptsTCP() }) else {
            stop()
            throw SystemError("rsyslogd did not start", code: ETIMEDOUT)
        }
    }

    private func acceptsTCP() -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = tcpPort.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The parsed lines, once at least `count` arrived (or after 10 s).
    func received(atLeast count: Int) -> [String] {
        var lines: [String] = []
        _ = waitUntil(10) {
            lines = ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return lines.count >= count
        }
        return lines
    }

    /// SIGKILL, as a crash: what it wrote stays for `received`.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        // SIGKILL: the child may inherit a mask that blocks SIGTERM from the test runner's thread.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = waitUntil(5) { !process.isRunning }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite(.serialized, .enabled(if: toolExists(Rsyslog.binary) || isCI, "rsyslogd is not installed (script/test installs it)"))
struct SyslogSinkTests {
    @Test(arguments: ["unix", "udp", "tcp"])
    func rfc5424ReachesRsyslogParsedField(transport: String) throws {
        let rsyslog = try Rsyslog()
        defer { rsyslog.stop() }
        let sink: SyslogSink
        switch transport {
        case "unix": sink = SyslogSink(transport: .unix(path: rsyslog.socketPath), facility: 16)
        case "udp": sink = SyslogSink(transport: .udp(host: "127.0.0.1", port: rsyslog.udpPort), facility: 16)
        default: sink = SyslogSink(transport: .tcp(host: "127.0.0.1", port: rsyslog.tcpPort), facility: 16)
        }
        try sink.write(sampleAlert())
        try sink.write(sampleAlert(rule: "Second", priority: .critical))
        let lines = rsyslog.received(atLeast: 2)
        try #require(lines.count == 2, "rsyslog received \(lines)")
        let fields = lines[0].split(separator: "|", maxSplits: 7, omittingEmptySubsequences: false).map(String.init)
        #expect(fields[0] == "local0")
        #expect(fields[1] == "warning")
        #expect(fields[2] == "1", "parsed as RFC 5424")
        #expect(fields[3] == "sentinel")
        #expect(fields[4] == String(getpid()))
        #expect(fields[5] == "alert")
        #expect(fields[6] == #"[sentinel@32473 rule="Shell spawned in container" priority="Warning" source="syscall" tags="container,shell" proc.cmdline="sh -c id" proc.pid="42" proc.is_exe_written="false" container.name="<NA>"]"#)
        #expect(fields[7] == "Shell spawned (cmdline=sh -c id)")
        #expect(lines[1].hasPrefix("local0|crit|1|sentinel|"))
    }

    @Test func rfc3164ReachesRsyslog() throws {
        let rsyslog = try Rsyslog()
        defer { rsyslog.stop() }
        let sink = SyslogSink(format: .rfc3164, transport: .unix(path: rsyslog.socketPath), facility: 10)
        try sink.write(sampleAlert(priority: .error))
        let lines = rsyslog.received(atLeast: 1)
        try #require(lines.count == 1, "rsyslog received \(lines)")
        #expect(lines[0].hasPrefix("authpriv|err|0|sentinel|\(getpid())|-|-|"))
        #expect(lines[0].hasSuffix("Shell spawned (cmdline=sh -c id)"))
    }

    /// `"message": "json"`: the message part is the alert's JSON, one line, for a SIEM's parser.
    @Test func aJSONMessageArrivesWhole() throws {
        let rsyslog = try Rsyslog()
        defer { rsyslog.stop() }
        let sink = SyslogSink(transport: .tcp(host: "127.0.0.1", port: rsyslog.tcpPort), message: .json)
        try sink.write(sampleAlert(output: "evil\nforged", rule: "json rule"))
        let lines = rsyslog.received(atLeast: 1)
        try #require(lines.count == 1, "rsyslog received \(lines)")
        let message = try #require(lines[0].split(separator: "|", maxSplits: 7, omittingEmptySubsequences: false).last.map(String.init))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any])
        #expect(object["rule"] as? String == "json rule")
        #expect((object["output"] as? String)?.hasSuffix(#"evil\nforged"#) == true)
    }

    /// A message longer than rsyslog takes (its default 8k, over UDP) is cut to the limit, never
    /// dropped: rsyslog still parses its structured data (or its JSON), which says it was cut.
    @Test(arguments: [AlertFormat.text, .json])
    func aLongMessageIsCutToFitAndSaysSo(message: AlertFormat) throws {
        let rsyslog = try Rsyslog(maxMessageSize: nil)
        defer { rsyslog.stop() }
        let sink = SyslogSink(transport: .udp(host: "127.0.0.1", port: rsyslog.udpPort), message: message)
        let long = "sh -c " + String(repeating: "A", count: 20_000)
        let alert = sampleAlert(output: "Shell spawned (cmdline=\(long))", fields: [Alert.Field(name: "proc.cmdline", value: .string(long))])
        let length = sink.message(for: alert).utf8.count
        #expect(length <= SyslogSink.defaultMaxMessageBytes && length > SyslogSink.defaultMaxMessageBytes / 2, "cut to fit, not to nothing: \(length)")
        try sink.write(alert)
        try sink.write(sampleAlert(rule: "after"))
        let lines = rsyslog.received(atLeast: 2)
        try #require(lines.count == 2, "both arrived: \(lines.map { $0.prefix(200) })")
        let fields = lines[0].split(separator: "|", maxSplits: 7, omittingEmptySubsequences: false).map(String.init)
        switch message {
        case .text:
            #expect(fields[6].hasPrefix("[sentinel@32473 rule=") && fields[6].contains(#"proc.cmdline="sh -c AAA"#), "structured data parsed: \(fields[6].prefix(200))")
            let before = fields[6].split(separator: "sentinel.truncated=\"").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
            #expect(fields[6].contains(#"[...\]""#) && before > 40_000, "the value cut (its ] escaped), and the length before: \(fields[6].suffix(200))")
            #expect(fields[7].hasSuffix("[...]"), "the text says it was cut: \(fields[7].suffix(40))")
        case .json:
            let object = try #require(try JSONSerialization.jsonObject(with: Data(fields[7].utf8)) as? [String: Any], "the JSON stays whole: \(fields[7].suffix(100))")
            let outputFields = object["output_fields"] as? [String: Any]
            #expect((outputFields?["proc.cmdline"] as? String)?.hasSuffix("[...]") == true)
            #expect((outputFields?["sentinel.truncated"] as? Int ?? 0) > 40_000, "the length before: \(outputFields?["sentinel.truncated"] ?? "none")")
        }
        #expect(lines[1].contains("after"))
    }

    @Test func attackerControlledValuesCannotForgeLinesOrParameters() throws {
        let rsyslog = try Rsyslog()
        defer { rsyslog.stop() }
        let sink = SyslogSink(transport: .tcp(host: "127.0.0.1", port: rsyslog.tcpPort))
        let hostile = "x\n<11>1 2026-01-01T00:00:00Z evil forged - - - owned\"] [x y=\"z"
        try sink.write(sampleAlert(output: "cmdline=\(hostile)", fields: [Alert.Field(name: "proc.cmdline", value: .string(hostile))]))
        try sink.write(sampleAlert(rule: "after"))
        let lines = rsyslog.received(atLeast: 2)
        #expect(lines.count == 2, "exactly two messages arrived: \(lines)")
        #expect(!lines.contains { $0.contains("forged") && $0.hasPrefix("user|err") }, "no message was forged")
        #expect(lines[0].contains(#"proc.cmdline="x\\n<11>1 2026-01-01T00:00:00Z evil forged - - - owned\"\] [x y=\"z""#))
        #expect(lines[0].hasSuffix(#"cmdline=x\n<11>1 2026-01-01T00:00:00Z evil forged - - - owned"] [x y="z"#))
    }

    @Test func aRestartedServerIsReachedAgain() throws {
        let first = try Rsyslog()
        let sink = SyslogSink(transport: .tcp(host: "127.0.0.1", port: first.tcpPort))
        try sink.write(sampleAlert(rule: "before"))
        #expect(first.received(atLeast: 1).count == 1)
        first.stop()
        // The first writes after the peer closed may still be buffered; one fails soon.
        #expect(waitUntil(5) { (try? sink.write(sampleAlert(rule: "lost"))) == nil }, "writes fail while the server is down")
        let second = try Rsyslog(tcpPort: first.tcpPort)
        defer { second.stop() }
        try sink.write(sampleAlert(rule: "after"))
        let lines = second.received(atLeast: 1)
        #expect(lines.count == 1 && lines[0].contains(#"rule="after""#), "the sink reconnected: \(lines)")
    }

    /// 10,000 alerts over RELP to an rsyslogd that is killed (SIGKILL) mid-stream and started
    /// again 5 s later on the same port: every alert arrives, or is counted; at most the one in
    /// flight at the kill arrives twice (RELP sends again what was not acknowledged).
    @Test func aKilledAndRestartedServerGetsEveryAlertOverRELP() throws {
        let port = freeLoopbackPort(type: Int32(SOCK_STREAM.rawValue))
        let first = try Rsyslog(relpPort: port)
        defer { first.stop() }
        let reports = ReportLog()
        let dispatcher = AlertDispatcher(sinks: [(SyslogSink(transport: .relp(host: "127.0.0.1", port: port)), AlertFilter())],
                                         retryDelays: [0.05, 0.1, 0.2, 0.5]) { reports.append($0) }
        let total = 10_000
        for pid in 1...total { dispatcher.dispatch(sampleAlert(fields: [Alert.Field(name: "proc.pid", value: .number(Int64(pid)))])) }
        let beforeKill = first.received(atLeast: 3_000).count
        first.crash()
        #expect(beforeKill < total, "killed mid-stream")
        usleep(5_000_000)
        let second = try Rsyslog(relpPort: port)
        defer { second.stop() }
        #expect(dispatcher.drain(timeout: 120))
        let firstLines = first.received(atLeast: 0)
        let lines = firstLines + second.received(atLeast: total - firstLines.count)
        let pids = lines.compactMap { line in line.split(separator: #"proc.pid=""#).last.flatMap { Int($0.prefix { $0.isNumber }) } }
        let arrived = Set(pids)
        let statistics = dispatcher.statistics[0]
        #expect(UInt64(arrived.count) + statistics.dropped + statistics.failed == UInt64(total),
                "arrived \(arrived.count), dropped \(statistics.dropped), failed \(statistics.failed)")
        #expect(arrived.count == total, "nothing lost: \(total - arrived.count) missing")
        #expect(pids.count - arrived.count <= 1, "at most the message in flight at the kill twice: \(pids.count - arrived.count)")
        #expect(reports.lines.contains { $0.contains("is failing") } && reports.lines.last?.contains("recovered after") == true, "\(reports.lines)")
    }
}
