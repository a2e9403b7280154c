import Engine
import SentinelJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Events from a recording (JSON lines, the format `EventCodec` describes), read as a stream.
/// A malformed line is reported with its line and column, counted as dropped, and skipped, so one
/// bad line does not hide the rest of an incident.
public final class ReplaySensor: Sensor {
    public let path: String
    public private(set) var statistics = SensorStatistics()
    private let reportError: (Diagnostic) -> Void
    private let stopped = Atomic<Bool>(false)

    public var label: String { "replay \(path)" }

    public init(path: String, reportError: @escaping (Diagnostic) -> Void) {
        self.path = path
        self.reportError = reportError
    }

    public func run(deliver: (Event) -> Void) throws {
        let file: UnsafeMutablePointer<FILE>?
        if path == "-" {
            file = fdopen(dup(STDIN_FILENO), "r")
        } else {
            file = fopen(path, "r")
        }
        guard let file else {
            throw DiagnosticsError([Diagnostic(file: path, location: nil, path: "", message: "cannot open the recording: \(String(cString: strerror(errno)))")])
        }
        defer { fclose(file) }
        var lineBuffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(lineBuffer) }
        var lineNumber = 0
        while !stopped.load(ordering: .relaxed) {
            let length = getline(&lineBuffer, &capacity, file)
            guard length >= 0, let lineBuffer else { break }
            lineNumber += 1
            let bytes = Array(UnsafeRawBufferPointer(start: lineBuffer, count: length))
            let diagnostics = Diagnostics()
            if let event = EventCodec.decodeLine(bytes, file: path, line: lineNumber, diagnostics: diagnostics) {
                statistics.delivered += 1
                deliver(event)
            } else if !EventCodec.isBlank(bytes) {
                statistics.dropped += 1
                diagnostics.all.forEach(reportError)
            }
        }
        if ferror(file) != 0 {
            throw DiagnosticsError([Diagnostic(file: path, location: SourceLocation(line: lineNumber + 1, column: 1), path: "", message: "read failed: \(String(cString: strerror(errno)))")])
        }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }
}
