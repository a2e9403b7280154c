import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Alerts appended to a file, JSON lines by default. `reopen` (on SIGHUP) opens the path anew, so
/// that logrotate's move-then-HUP gives a fresh file and nothing is written into the rotated one.
public final class FileSink: AlertSink, SinkType {
    public static let typeName = "file"
    public static let configKeys = ["path", "format"]

    public struct Spec: SinkSpec, Equatable {
        public var path: String
        public var format: AlertFormat

        public init(path: String, format: AlertFormat = .json) {
            self.path = path
            self.format = format
        }

        public var label: String { "file \(path)" }
        public func open() throws -> AlertSink { try FileSink(self) }
    }

    public let spec: Spec
    public var path: String { spec.path }
    public var format: AlertFormat { spec.format }
    private var descriptor: Int32 = -1
    public var label: String { spec.label }

    public init(_ spec: Spec) throws {
        self.spec = spec
        try reopen()
    }

    public convenience init(path: String, format: AlertFormat = .json) throws {
        try self.init(Spec(path: path, format: format))
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    public static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec? {
        guard let path = config.required("path", diagnostics)?.string(diagnostics),
              let format = AlertFormat.read(config, default: .json, diagnostics) else { return nil }
        return Spec(path: path, format: format)
    }

    /// A line goes in whole or not at all: a write cut short (a full disk) is taken back, so that
    /// the file never holds half an alert and the retry writes it once.
    public func write(_ alert: Alert) throws {
        if descriptor < 0 { try reopen() }
        let end = lseek(descriptor, 0, SEEK_END)
        do {
            try writeAll(descriptor, Array((AlertRendering.line(alert, format) + "\n").utf8), operation: "write to \(path)")
        } catch {
            if end >= 0 { _ = ftruncate(descriptor, end) }
            throw error
        }
    }

    public func reopen() throws {
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard opened >= 0 else { throw SystemError("open \(path)") }
        if descriptor >= 0 { close(descriptor) }
        descriptor = opened
    }

    public func flush() {
        if descriptor >= 0 { fsync(descriptor) }
    }
}
