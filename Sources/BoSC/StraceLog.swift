import Engine
import SentinelJSON

/// Reads the system calls of an `strace -f` log, as the original BoSC work traced containers:
/// `strace -f -o FILE`, `-tt`/`-ttt` times and `[pid N]` prefixes are all understood. A call
/// counts once, where it starts (`<unfinished ...>`); its `<... resumed>` line is passed over.
///
/// A 32-bit program's calls are i386 calls, numbered apart (SystemCallNames.i386Base): strace
/// says so (`[ Process PID=N runs in 32 bit mode. ]`), and from then on that thread's `read` is
/// i386's; a name only i386 has (`stat64`, `mmap2`, `socketcall`) is i386's wherever it appears.
public struct StraceLog {
    public enum Line: Equatable {
        case call(thread: Int64, number: Int)
        case exit(thread: Int64)
        /// strace's note that a thread runs 32-bit (i386) code, or 64-bit again.
        case mode(thread: Int64, i386: Bool)
        /// Signals, resumptions, strace's own messages.
        case other
    }

    /// Calls every line's meaning in order; stops at the first line it cannot read and returns
    /// why, with the file, line and column. With `skipping`, a line it cannot read is handed to it
    /// instead and the reading goes on: one bad line does not lose the rest of a log.
    public static func read(path: String, skipping: ((Diagnostic) -> Void)? = nil, _ body: (Line) -> Void) -> Diagnostic? {
        guard let bytes = readWholeFile(path) else {
            return Diagnostic(file: path, location: nil, path: "", message: "cannot read the file: \(String(cString: strerror(errno)))")
        }
        var lineNumber = 0
        var start = 0
        var i386Threads: Set<Int64> = []
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let result = bytes.withUnsafeBufferPointer { parse(UnsafeBufferPointer(rebasing: $0[start..<end]), i386Threads: i386Threads) }
            switch result {
            case .success(let line):
                if case .mode(let thread, let i386) = line {
                    if i386 { i386Threads.insert(thread) } else { i386Threads.remove(thread) }
                }
                body(line)
            case .failure(let problem):
                let text = String(decoding: bytes[start..<min(end, start + 120)], as: UTF8.self)
                let diagnostic = Diagnostic(file: path, location: SourceLocation(line: lineNumber, column: problem.column + 1), path: "",
                                            message: problem.message, excerpt: [text, String(repeating: " ", count: problem.column) + "^"])
                guard let skipping else { return diagnostic }
                skipping(diagnostic)
            }
            start = end + 1
        }
        return nil
    }

    public struct Problem: Error, Equatable {
        public let column: Int
        public let message: String
    }

    /// One line of strace output; `i386Threads` are the threads strace said run 32-bit code.
    public static func parse(_ line: UnsafeBufferPointer<UInt8>, i386Threads: Set<Int64> = []) -> Result<Line, Problem> {
        var index = 0
        func skipSpaces() { while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 } }
        func digits() -> Int64? {
            let begin = index
            var value: Int64 = 0
            while index < line.count, line[index] >= 0x30, line[index] <= 0x39, index - begin < 18 {
                value = value * 10 + Int64(line[index] - 0x30)
                index += 1
            }
            return index > begin ? value : nil
        }
        func startsWith(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= line.count else { return false }
            return (0..<count).allSatisfy { line[index + $0] == text.utf8Start[$0] }
        }

        skipSpaces()
        if index == line.count || startsWith("strace: ") { return .success(.other) }
        var thread: Int64 = 0
        if startsWith("[pid ") {
            index += 5
            skipSpaces()
            guard let pid = digits(), index < line.count, line[index] == UInt8(ascii: "]") else {
                return .failure(Problem(column: index, message: "expected the thread id of \"[pid N]\""))
            }
            index += 1
            thread = pid
        } else if line[index] >= 0x30, line[index] <= 0x39 {
            // A pid, or a time when there is none (strace without -f): a time goes on with ':' or '.'.
            let begin = index
            let number = digits()!
            if index < line.count, line[index] == 0x20 || line[index] == 0x09 { thread = number } else { index = begin }
        }
        skipSpaces()
        // -t, -tt, -ttt: "12:34:56", "12:34:56.123456", "1700000000.123456".
        if index < line.count, line[index] >= 0x30, line[index] <= 0x39 {
            while index < line.count, (line[index] >= 0x30 && line[index] <= 0x39) || line[index] == UInt8(ascii: ":") || line[index] == UInt8(ascii: ".") {
                index += 1
            }
            skipSpaces()
        }
        if startsWith("+++ exited") || startsWith("+++ killed") { return .success(.exit(thread: thread)) }
        if startsWith("[ Process PID=") {
            index += 14
            guard let pid = digits() else { return .failure(Problem(column: index, message: "expected the pid of \"[ Process PID=N\"")) }
            if startsWith(" runs in 32 bit mode") { return .success(.mode(thread: pid, i386: true)) }
            if startsWith(" runs in 64 bit mode") { return .success(.mode(thread: pid, i386: false)) }
            return .success(.other)
        }
        if startsWith("<...") || startsWith("---") || startsWith("+++") { return .success(.other) }
        let nameStart = index
        while index < line.count, (line[index] >= 0x61 && line[index] <= 0x7A) || (line[index] >= 0x30 && line[index] <= 0x39) || line[index] == UInt8(ascii: "_") {
            index += 1
        }
        guard index > nameStart, index < line.count, line[index] == UInt8(ascii: "(") else {
            return .failure(Problem(column: nameStart, message: "not a line of strace output: expected a system call's name and \"(\""))
        }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<index]), as: UTF8.self)
        let resolved = i386Threads.contains(thread) ? SystemCallNames.i386Number(named: name)
            : SystemCallNames.number(named: name) ?? SystemCallNames.i386Number(named: name)
        guard let number = resolved else {
            return .failure(Problem(column: nameStart, message: "unknown system call \"\(name)\""))
        }
        return .success(.call(thread: thread, number: number))
    }
}

#if canImport(Glibc)
import Glibc
#endif
