import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Alerts on standard output, a line each, as text or JSON.
public final class StdoutSink: AlertSink {
    public static let typeName = "stdout"
    public static let configKeys = ["format"]

    public let format: AlertFormat
    public var label: String { "stdout" }

    public init(format: AlertFormat) {
        self.format = format
    }

    public static func make(config: JSONObjectCursor, diagnostics: Diagnostics) -> AlertSink? {
        AlertFormat.read(config, default: .text, diagnostics).map { StdoutSink(format: $0) }
    }

    public func write(_ alert: Alert) throws {
        try writeAll(STDOUT_FILENO, Array((AlertRendering.line(alert, format) + "\n").utf8), operation: "write to stdout")
    }

    public func reopen() throws {}
    public func flush() {}
}
