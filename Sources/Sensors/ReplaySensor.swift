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
    private let reportError: (Diagnostic) -> Void
    private let stopped = Atomic<Bool>(false)
    private let delivered = Atomic<UInt64>(0)
    private let dropped = Atomic<UInt64>(0)

    public var label: String { "replay \(path)" }
    public var statistics: SensorStatistics {
        SensorStatistics(delivered: delivered.load(ordering: .relaxed), dropped: dropped.load(ordering: .relaxed))
    }

    public init(path: String, reportError: @escaping (Diagnostic) -> Void) {
        self.path = path
        self.reportError = reportError
    }

    /// `between` comes every 1024 lines, and whenever a pipe (`-`) has had nothing for 100 ms.
    public func run(deliver: (Event) -> Void, between: () -> Void) throws {
        let descriptor = path == "-" ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DiagnosticsError([Diagnostic(file: path, location: nil, path: "", message: "cannot open the recording: \(String(cString: strerror(errno)))")])
        }
        defer { close(descriptor) }
        var reader = LineReader(descriptor: descriptor)
        var lineNumber = 0
        reading: while !stopped.load(ordering: .relaxed) {
            switch reader.nextLine(waitingAtMostMilliseconds: 100) {
            case .line(let bytes):
                lineNumber += 1
                let diagnostics = Diagnostics()
                if let event = EventCodec.decodeLine(bytes, file: path, line: lineNumber, diagnostics: diagnostics) {
                    delivered.add(1, ordering: .relaxed)
                    deliver(event)
                } else if !EventCodec.isBlank(bytes) {
                    dropped.add(1, ordering: .relaxed)
                    diagnostics.all.forEach(reportError)
                }
                if lineNumber % 1024 == 0 { between() }
            case .nothingYet:
                between()
            case .end:
                break reading
            case .failed(let code):
                throw DiagnosticsError([Diagnostic(file: path, location: SourceLocation(line: lineNumber + 1, column: 1), path: "", message: "read failed: \(String(cString: strerror(code)))")])
            }
        }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }
}

/// Lines from a file or a pipe, read in large blocks; a pipe that has nothing says so after a
/// wait instead of blocking, so that its reader can do other work meanwhile.
struct LineReader {
    enum Next {
        case line([UInt8])
        case nothingYet
        case end
        case failed(Int32)
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    mutating func nextLine(waitingAtMostMilliseconds timeout: Int32) -> Next {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return .line(line)
            }
            if atEnd {
                guard start < buffer.count else { return .end }
                let last = Array(buffer[start...])
                start = buffer.count
                return .line(last)
            }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, timeout)
            if ready == 0 { return .nothingYet }
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            let before = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: 65_536))
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + before, 65_536) }
            buffer.removeLast(65_536 - max(count, 0))
            if count < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if count == 0 { atEnd = true }
        }
    }
}
