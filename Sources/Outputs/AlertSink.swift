import Engine
import SentinelJSON

/// Where alerts go. Each sink runs on its own queue behind `AlertDispatcher`, so `write` may block
/// (a TCP connection, a full disk) without stalling the sensors; a write that throws is retried.
public protocol AlertSink: AnyObject {
    /// A short description for messages: "file /var/log/sentinel.jsonl".
    var label: String { get }
    /// Most alerts one `write(batch:)` takes: 1 (the default) for a sink that writes each alone.
    var batchLimit: Int { get }
    func write(_ alert: Alert) throws
    /// Writes the alerts together (an http output's one request); all count delivered or none.
    func write(batch: [Alert]) throws
    /// Reopens files (after logrotate moved them, on SIGUSR1 or SIGHUP) and reconnects.
    func reopen() throws
    func flush()
}

extension AlertSink {
    public var batchLimit: Int { 1 }

    public func write(batch: [Alert]) throws {
        for alert in batch { try write(alert) }
    }
}

/// A write the peer refused for good (an HTTP 400 or 403): trying again would not help, so the
/// dispatcher counts the alerts failed at once instead of retrying.
public struct RefusedByPeer: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A sink as its config describes it: parsed and checked, not yet opened. Outputs open when the
/// run starts (or a reload brings a new one), so reading a config never touches a file or a peer.
public protocol SinkSpec: Sendable {
    /// The same text as the sink's label.
    var label: String { get }
    func open() throws -> AlertSink
    /// Whether `other` describes the same sink: a reload keeps an output whose spec did not change.
    func isSame(as other: any SinkSpec) -> Bool
}

extension SinkSpec where Self: Equatable {
    public func isSame(as other: any SinkSpec) -> Bool { (other as? Self) == self }
}

/// A kind of output a config may name, registered in `SinkRegistry.types`.
public protocol SinkType {
    /// The name a config file uses: `{"type": "syslog", ...}`.
    static var typeName: String { get }
    /// The keys its config may hold besides the ones every output takes (`OutputSpec.commonKeys`).
    static var configKeys: [String] { get }
    static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec?
}

/// The sink types a config may name.
public enum SinkRegistry {
    // Never changed: the metatypes are only read.
    nonisolated(unsafe) public static let types: [SinkType.Type] = [StdoutSink.self, FileSink.self, SyslogSink.self, HTTPSink.self, ProgramSink.self]

    public static func type(named name: String) -> SinkType.Type? { types.first { $0.typeName == name } }
}

/// How a sink writes each alert.
public enum AlertFormat: String, Sendable {
    /// `2026-11-22T14:04:24.123456789Z: Warning Shell in container (...)`, as Falco's text output.
    case text
    /// One JSON object per line with Falco's keys.
    case json

    static func read(_ object: JSONObjectCursor, default defaultFormat: AlertFormat, _ diagnostics: Diagnostics) -> AlertFormat? {
        guard let cursor = object.optional("format") else { return defaultFormat }
        guard let text = cursor.string(diagnostics) else { return nil }
        guard let format = AlertFormat(rawValue: text) else {
            diagnostics.add(cursor.diagnostic("unknown format \"\(text)\" (expected text or json)"))
            return nil
        }
        return format
    }
}
