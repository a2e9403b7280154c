import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Alerts to a syslog daemon: RFC 5424 (or RFC 3164 on request) over the local unix socket, UDP,
/// TCP (octet-counted framing, RFC 6587) or RELP (each message acknowledged: `RELPSession`).
/// Attacker-controlled values are escaped so that no alert can forge a second log line or break
/// out of a structured-data parameter.
///
/// A message longer than `max_message_bytes` (8,192 by default: rsyslog's own limit, beyond which
/// it cuts or drops) is shortened, never dropped: its longest values are cut, each ending in
/// `[...]`, until it fits, and it carries `sentinel.truncated` (its length before) among its
/// fields, so that the receiver sees it was cut; the message stays well-formed (its structured
/// data, its JSON).
public final class SyslogSink: AlertSink, SinkType {
    public static let typeName = "syslog"
    public static let configKeys = ["format", "message", "transport", "path", "host", "port", "facility", "app_name", "max_message_bytes"]

    /// rsyslog's default maxMessageSize.
    public static let defaultMaxMessageBytes = 8192
    /// What ends a value cut to fit.
    static let cutMarker = "[...]"

    public enum Format: String, Sendable { case rfc5424, rfc3164 }

    public enum Transport: Sendable, Equatable {
        case unix(path: String)
        case udp(host: String, port: UInt16)
        case tcp(host: String, port: UInt16)
        case relp(host: String, port: UInt16)
    }

    public static let facilities: [String: Int] = [
        "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7, "uucp": 8, "cron": 9,
        "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21,
        "local6": 22, "local7": 23,
    ]

    public struct Spec: SinkSpec, Equatable {
        public var format: Format
        public var transport: Transport
        public var facility: Int
        public var appName: String
        /// The message part: the alert's text line (the default) or its JSON, for a SIEM that
        /// parses JSON out of syslog.
        public var message: AlertFormat = .text
        /// The longest message sent, its syslog header included (not the TCP framing).
        public var maxMessageBytes = SyslogSink.defaultMaxMessageBytes

        public var label: String {
            switch transport {
            case .unix(let path): return "syslog unix:\(path)"
            case .udp(let host, let port): return "syslog udp:\(host):\(port)"
            case .tcp(let host, let port): return "syslog tcp:\(host):\(port)"
            case .relp(let host, let port): return "syslog relp:\(host):\(port)"
            }
        }

        public func open() throws -> AlertSink { SyslogSink(self) }
    }

    public let spec: Spec
    public var format: Format { spec.format }
    public var transport: Transport { spec.transport }
    public var facility: Int { spec.facility }
    public var appName: String { spec.appName }
    public var messageFormat: AlertFormat { spec.message }
    private let processID = getpid()
    private var socketDescriptor: Int32 = -1
    /// The session on `socketDescriptor`, for the relp transport.
    private var relp: RELPSession?

    public var label: String { spec.label }

    /// Connects at the first alert: a syslog daemon that is not up yet costs retries, not the start.
    public init(_ spec: Spec) {
        self.spec = spec
    }

    public convenience init(format: Format = .rfc5424, transport: Transport = .unix(path: "/dev/log"), facility: Int = 1, appName: String = "sentinel",
                            message: AlertFormat = .text) {
        self.init(Spec(format: format, transport: transport, facility: facility, appName: appName, message: message))
    }

    deinit {
        if socketDescriptor >= 0 { close(socketDescriptor) }
    }

    public static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec? {
        let before = diagnostics.errors.count
        func choice<T>(_ key: String, _ options: [String: T], default value: T) -> T? {
            guard let cursor = config.optional(key) else { return value }
            guard let text = cursor.string(diagnostics) else { return nil }
            if let chosen = options[text] { return chosen }
            diagnostics.add(cursor.diagnostic("unknown \(key) \"\(text)\" (expected one of: \(options.keys.sorted().joined(separator: ", ")))"))
            return nil
        }
        let format = choice("format", ["rfc5424": Format.rfc5424, "rfc3164": .rfc3164], default: .rfc5424)
        let facility = choice("facility", facilities, default: 1)
        let transportName = choice("transport", ["unix": "unix", "udp": "udp", "tcp": "tcp", "relp": "relp"], default: "unix")
        let appName = config.optional("app_name")?.string(diagnostics) ?? "sentinel"
        let message = choice("message", ["text": AlertFormat.text, "json": .json], default: .text)
        // RFC 5424 6.1: every receiver takes 480 bytes; a UDP datagram holds at most 65,507.
        let maxMessageBytes = config.optional("max_message_bytes").map { $0.integer(diagnostics, in: 480...65_507).map(Int.init) } ?? defaultMaxMessageBytes
        var transport: Transport?
        switch transportName {
        case "unix":
            transport = .unix(path: config.optional("path")?.string(diagnostics) ?? "/dev/log")
        case "udp", "tcp", "relp":
            let host = config.required("host", diagnostics)?.string(diagnostics)
            // RELP has no port of its own; 2514 is the usual choice.
            let port = config.optional("port").map { $0.integer(diagnostics, in: 1...65535) } ?? (transportName == "relp" ? 2514 : 514)
            if let host, let port {
                switch transportName {
                case "udp": transport = .udp(host: host, port: UInt16(port))
                case "tcp": transport = .tcp(host: host, port: UInt16(port))
                default: transport = .relp(host: host, port: UInt16(port))
                }
            }
        default:
            break
        }
        guard diagnostics.errors.count == before, let format, let facility, let transport, let message, let maxMessageBytes else { return nil }
        return Spec(format: format, transport: transport, facility: facility, appName: appName, message: message, maxMessageBytes: maxMessageBytes)
    }

    public func write(_ alert: Alert) throws {
        if socketDescriptor < 0 { try connect() }
        let message = Array(self.message(for: alert).utf8)
        if relp != nil {
            do {
                try relp!.send(syslog: message)
            } catch {
                disconnect()
                throw error
            }
            return
        }
        let frame: [UInt8]
        if case .tcp = transport {
            frame = Array("\(message.count) ".utf8) + message
        } else {
            frame = message
        }
        var offset = 0
        while offset < frame.count {
            let sent = frame[offset...].withUnsafeBytes { send(socketDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                let failure = SystemError("send to \(label)")
                disconnect()
                throw failure
            }
            offset += sent
        }
    }

    public func reopen() throws {
        disconnect()
        try connect()
    }

    private func disconnect() {
        if socketDescriptor >= 0 { close(socketDescriptor) }
        socketDescriptor = -1
        relp = nil
    }

    public func flush() {}

    // MARK: - Messages

    /// The message text, without transport framing, at most `maxMessageBytes` long.
    public func message(for alert: Alert) -> String {
        let whole = render(alert)
        let length = whole.utf8.count
        guard length > spec.maxMessageBytes else { return whole }
        var valueBytes = spec.maxMessageBytes / 2
        var shortened = whole
        while valueBytes >= 16 {
            shortened = render(Self.cut(alert, valuesTo: valueBytes, length: length))
            if shortened.utf8.count <= spec.maxMessageBytes { return shortened }
            valueBytes /= 2
        }
        // More fields than the limit holds even cut short: the message itself is cut.
        return Self.cut(shortened, toBytes: spec.maxMessageBytes)
    }

    /// The alert with every string value (its output line, its fields) cut to `valuesTo` bytes,
    /// and `sentinel.truncated` saying the message's length before.
    static func cut(_ alert: Alert, valuesTo bytes: Int, length: Int) -> Alert {
        let fields = alert.outputFields.map { field -> Alert.Field in
            guard case .string(let value) = field.value else { return field }
            return Alert.Field(name: field.name, value: .string(cut(value, toBytes: bytes)))
        } + [Alert.Field(name: "sentinel.truncated", value: .number(Int64(length)))]
        return Alert(time: alert.time, rule: alert.rule, priority: alert.priority, output: cut(alert.output, toBytes: bytes),
                     outputFields: fields, tags: alert.tags, source: alert.source)
    }

    /// `text` itself if it has at most `bytes` bytes of UTF-8; else its longest prefix of whole
    /// characters that leaves room for the marker, then the marker.
    static func cut(_ text: String, toBytes bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var kept = ""
        var used = cutMarker.utf8.count
        for character in text {
            used += character.utf8.count
            if used > bytes { break }
            kept.append(character)
        }
        return kept + cutMarker
    }

    private func render(_ alert: Alert) -> String {
        let priority = facility * 8 + alert.priority.rawValue
        // JSON escapes every control character itself: the message stays one line either way.
        let text = messageFormat == .json ? AlertRendering.json(alert) : escapeControlCharacters(alert.output)
        switch format {
        case .rfc5424:
            // RFC 5424 allows at most six digits of fractional seconds.
            let time = String(iso8601(nanoseconds: alert.time).dropLast(4)) + "Z"
            return "<\(priority)>1 \(time) \(headerField(AlertRendering.hostname, limit: 255)) \(headerField(appName, limit: 48)) \(processID) alert \(structuredData(alert)) \(text)"
        case .rfc3164:
            return "<\(priority)>\(bsdTimestamp(alert.time)) \(headerField(AlertRendering.hostname, limit: 255)) \(headerField(appName, limit: 32))[\(processID)]: \(text)"
        }
    }

    /// `[sentinel@32473 rule="..." priority="..." ...]`: the rule, its priority and tags, and every
    /// output field. 32473 is the private enterprise number RFC 5612 sets aside for examples.
    private func structuredData(_ alert: Alert) -> String {
        var parameters = [("rule", alert.rule), ("priority", alert.priority.displayName), ("source", alert.source)]
        if !alert.tags.isEmpty { parameters.append(("tags", alert.tags.joined(separator: ","))) }
        for field in alert.outputFields { parameters.append((parameterName(field.name), field.value.description)) }
        return "[sentinel@32473" + parameters.map { " \($0.0)=\"\(parameterValue($0.1))\"" }.joined() + "]"
    }

    /// SD-NAME: printable ASCII but `=`, space, `]` and `"`, at most 32 characters.
    private func parameterName(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.value > 32 && scalar.value < 127 && !"= ]\"".unicodeScalars.contains(scalar) ? scalar : "_"
        }).prefix(32))
    }

    /// PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 6.3.3), control characters too.
    private func parameterValue(_ value: String) -> String {
        var escaped = ""
        for character in escapeControlCharacters(value) {
            if character == "\"" || character == "\\" || character == "]" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// Header fields are printable ASCII without spaces; anything else becomes `_`, empty becomes `-`.
    private func headerField(_ value: String, limit: Int) -> String {
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value > 32 && $0.value < 127 ? $0 : "_" }).prefix(limit))
        return cleaned.isEmpty ? "-" : cleaned
    }

    /// "Nov 22 14:04:24" in local time, as RFC 3164 has it.
    private func bsdTimestamp(_ nanoseconds: UInt64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        return "\(months[Int(parts.tm_mon)]) \(day) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    // MARK: - Connecting

    private func connect() throws {
        switch transport {
        case .unix(let path):
            socketDescriptor = try connectUnix(path: path)
        case .udp(let host, let port):
            socketDescriptor = try connectInternet(host: host, port: port, type: SOCK_DGRAM)
        case .tcp(let host, let port):
            socketDescriptor = try connectInternet(host: host, port: port, type: SOCK_STREAM)
        case .relp(let host, let port):
            let descriptor = try connectInternet(host: host, port: port, type: SOCK_STREAM)
            do {
                relp = try RELPSession(descriptor: descriptor, peer: label, timeoutSeconds: 10)
            } catch {
                close(descriptor)
                throw error
            }
            socketDescriptor = descriptor
        }
    }

    private func connectUnix(path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SystemError("syslog socket path too long", code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket for \(label)") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let failure = SystemError("connect to \(label)")
            close(descriptor)
            throw failure
        }
        return descriptor
    }

    private func connectInternet(host: String, port: UInt16, type: __socket_type) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(type.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw SystemError("resolve \(host): \(String(cString: gai_strerror(status)))", code: EINVAL)
        }
        defer { freeaddrinfo(results) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var lastError = SystemError("connect to \(label)", code: ECONNREFUSED)
        while let info = candidate {
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if descriptor >= 0 {
                if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return descriptor }
                lastError = SystemError("connect to \(label)")
                close(descriptor)
            }
            candidate = info.pointee.ai_next
        }
        throw lastError
    }
}
