import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Alerts on standard output (or the descriptor it is given), a line each, as text or JSON.
public final class StdoutSink: AlertSink, SinkType {
    public static let typeName = "stdout"
    public static let configKeys = ["format"]

    public struct Spec: SinkSpec, Equatable {
        public var format: AlertFormat
        /// Standard output unless a test hands it a pipe.
        public var descriptor: Int32

        public init(format: AlertFormat = .text, descriptor: Int32 = STDOUT_FILENO) {
            self.format = format
            self.descriptor = descriptor
        }

        public var label: String { descriptor == STDOUT_FILENO ? "stdout" : "stdout (descriptor \(descriptor))" }
        public func open() throws -> AlertSink { StdoutSink(self) }
    }

    public let spec: Spec
    public var label: String { spec.label }

    public init(_ spec: Spec) {
        self.spec = spec
    }

    public static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec? {
        AlertFormat.read(config, default: .text, diagnostics).map { Spec(format: $0) }
    }

    public func write(_ alert: Alert) throws {
        try writeAll(spec.descriptor, Array((AlertRendering.line(alert, spec.format) + "\n").utf8), operation: "write to \(label)")
    }

    public func reopen() throws {}
    public func flush() {}
}
