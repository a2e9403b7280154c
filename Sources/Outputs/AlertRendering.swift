import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Renders alerts as text lines and as Falco-compatible JSON objects.
public enum AlertRendering {
    /// This machine's name, read once: Falco's JSON alerts carry it as `hostname`.
    public static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// "<time>: <Priority> <output>", escaped to one line whatever the alert holds.
    public static func text(_ alert: Alert) -> String {
        "\(iso8601(nanoseconds: alert.time)): \(alert.priority.displayName) \(escapeControlCharacters(alert.output))"
    }

    /// Falco's JSON alert: `output`, `priority`, `rule`, `time`, `output_fields`, `source`, `tags`,
    /// `hostname`. Field values keep their types.
    public static func json(_ alert: Alert) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("hostname"); writer.string(hostname)
        writer.key("output"); writer.string(text(alert))
        writer.key("output_fields")
        writer.beginObject()
        for field in alert.outputFields {
            writer.key(field.name)
            switch field.value {
            case .string(let value): writer.string(value)
            case .number(let value): writer.integer(value)
            case .bool(let value): writer.bool(value)
            case .missing: writer.null()
            }
        }
        writer.endObject()
        writer.key("priority"); writer.string(alert.priority.displayName)
        writer.key("rule"); writer.string(alert.rule)
        writer.key("source"); writer.string(alert.source)
        writer.key("tags")
        writer.beginArray()
        for tag in alert.tags { writer.string(tag) }
        writer.endArray()
        writer.key("time"); writer.string(iso8601(nanoseconds: alert.time))
        writer.endObject()
        return writer.text
    }

    static func line(_ alert: Alert, _ format: AlertFormat) -> String {
        format == .json ? json(alert) : text(alert)
    }
}

/// An error from a system call, with what was being done.
public struct SystemError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and interruptions.
func writeAll(_ descriptor: Int32, _ bytes: [UInt8], operation: String) throws {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            throw SystemError(operation)
        }
        offset += written
    }
}
