import Engine
import SentinelJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Alerts written to a program's standard input, a line each (`jq`, `logger`, a shipper), run with
/// `/bin/sh -c` as Falco's program output runs it. With `keep_alive` one program reads every alert
/// and is started again if it dies; without (Falco's default) each alert starts the program, which
/// gets the one line and end of input, and must exit within `timeout_seconds`. A program that fails
/// (exits non-zero, or its pipe breaks) makes the write fail, so the dispatcher retries the alert
/// and counts it failed in the end. What a program had read but not acted on when it died is out of
/// sentinel's sight: a shipper that must not lose alerts acknowledges them some other way.
public final class ProgramSink: AlertSink, SinkType {
    public static let typeName = "program"
    public static let configKeys = ["command", "format", "keep_alive", "timeout_seconds"]

    public struct Spec: SinkSpec, Equatable {
        public var command: String
        public var format: AlertFormat
        public var keepAlive: Bool
        /// How long a program may take to exit once its input is closed, before it is killed.
        public var timeoutSeconds: Double

        public init(command: String, format: AlertFormat = .json, keepAlive: Bool = false, timeoutSeconds: Double = 10) {
            self.command = command
            self.format = format
            self.keepAlive = keepAlive
            self.timeoutSeconds = timeoutSeconds
        }

        public var label: String { "program \(command)" }
        public func open() throws -> AlertSink { ProgramSink(self) }
    }

    public let spec: Spec
    public var label: String { spec.label }
    /// The running program, with keep_alive.
    private var running: (pid: pid_t, input: Int32)?
    /// How many times the program was started: the first start and every restart.
    public private(set) var starts = 0

    public init(_ spec: Spec) {
        self.spec = spec
        // A program that died must fail the write (EPIPE), not kill the writer with SIGPIPE: the
        // whole process ignores it, as sentinel's command line does anyway.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        finish()
    }

    public static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec? {
        let before = diagnostics.errors.count
        let command = config.required("command", diagnostics)?.string(diagnostics)
        if let command, command.allSatisfy(\.isWhitespace) {
            diagnostics.add(config.optional("command")!.diagnostic("command is empty"))
        }
        let format = AlertFormat.read(config, default: .json, diagnostics)
        let keepAlive = config.optional("keep_alive").map { $0.bool(diagnostics) } ?? false
        let timeout = config.optional("timeout_seconds").map { $0.integer(diagnostics, in: 1...3600) } ?? 10
        guard diagnostics.errors.count == before, let command, let format, let keepAlive, let timeout else { return nil }
        return Spec(command: command, format: format, keepAlive: keepAlive, timeoutSeconds: Double(timeout))
    }

    public func write(_ alert: Alert) throws {
        let line = Array((AlertRendering.line(alert, spec.format) + "\n").utf8)
        if spec.keepAlive {
            let program = try running ?? start()
            do {
                try writeAll(program.input, line, operation: "write to \(label)")
            } catch {
                // Its pipe broke: it died or closed its input. The retry starts it again.
                finish()
                throw error
            }
        } else {
            let program = try start()
            let written = Result { try writeAll(program.input, line, operation: "write to \(label)") }
            let status = try stop(program)
            try written.get()
            if status != 0 { throw SystemError("\(label) exited with status \(status)", code: EIO) }
        }
    }

    /// Starts the program afresh (SIGUSR1 and SIGHUP), ending the running one as at exit.
    public func reopen() throws {
        finish()
    }

    /// Closes the program's input and waits for it to finish with what it has read.
    public func flush() {
        finish()
    }

    private func finish() {
        guard let program = running else { return }
        running = nil
        _ = try? stop(program)
    }

    // MARK: - Processes

    /// Held from a pipe's making to its program's start: the pipe is made close-on-exec after
    /// `pipe` (Swift's Glibc has no `pipe2`), and another output's program started in between
    /// would inherit its write end and keep this program from ever seeing the end of its input.
    private static let spawning = Mutex<Void>(())

    private func start() throws -> (pid: pid_t, input: Int32) {
        try Self.spawning.withLock { _ in try startLocked() }
    }

    private func startLocked() throws -> (pid: pid_t, input: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SystemError("pipe for \(label)") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 onto 0 clears close-on-exec for the program's end only.
        posix_spawn_file_actions_adddup2(&actions, ends[0], STDIN_FILENO)
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", spec.command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, environ)
        close(ends[0])
        guard status == 0 else {
            close(ends[1])
            throw SystemError("start \(label)", code: status)
        }
        starts += 1
        let program = (pid: pid, input: ends[1])
        if spec.keepAlive { running = program }
        return program
    }

    /// Closes the program's input and reaps it, killing it if it outlives the timeout; returns its
    /// exit status (128 + the signal when a signal ended it).
    @discardableResult
    private func stop(_ program: (pid: pid_t, input: Int32)) throws -> Int32 {
        close(program.input)
        var status: Int32 = 0
        var waited = 0.0
        // Most programs exit within a millisecond of their input closing: look soon, then less often.
        var pause = 0.0001
        while true {
            let reaped = waitpid(program.pid, &status, WNOHANG)
            if reaped == program.pid { break }
            if reaped < 0 && errno != EINTR { throw SystemError("wait for \(label)") }
            if waited >= spec.timeoutSeconds {
                kill(program.pid, SIGKILL)
                _ = waitpid(program.pid, &status, 0)
                throw SystemError("\(label) did not exit within \(Int(spec.timeoutSeconds)) s of its input closing; killed", code: ETIMEDOUT)
            }
            usleep(useconds_t(pause * 1_000_000))
            waited += pause
            pause = min(pause * 2, 0.01)
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
