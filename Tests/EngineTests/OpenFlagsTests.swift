import Engine
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What `evt.is_open_write` and `evt.is_open_read` say of the flag combinations programs use, with
/// the C library's own values, so that a multi-bit flag tested bit by bit shows here.
struct OpenFlagsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let flags: Int32
        let text: String
        let isWrite: Bool
        let isRead: Bool
        var testDescription: String { text }
    }

    /// glibc spells O_TMPFILE as `__O_TMPFILE | O_DIRECTORY`, and defines O_PATH only with
    /// _GNU_SOURCE: Swift imports neither, so they are written as <bits/fcntl-linux.h> has them.
    static let temporaryFile: Int32 = 0o20000000 | O_DIRECTORY
    static let O_PATH: Int32 = 0o10000000

    static let cases = [
        // Python's os.scandir and every directory listing: the case that raised "Write below
        // binary directories" at each Python start.
        Case(flags: O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC, text: "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC", isWrite: false, isRead: true),
        Case(flags: O_RDONLY | O_DIRECTORY, text: "O_RDONLY|O_DIRECTORY", isWrite: false, isRead: true),
        Case(flags: O_WRONLY | temporaryFile, text: "O_WRONLY|O_DIRECTORY|O_TMPFILE", isWrite: true, isRead: false),
        Case(flags: O_RDWR | temporaryFile, text: "O_RDWR|O_DIRECTORY|O_TMPFILE", isWrite: true, isRead: true),
        Case(flags: O_PATH, text: "O_RDONLY|O_PATH", isWrite: false, isRead: false),
        // O_PATH ignores every flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
        Case(flags: O_PATH | O_DIRECTORY | O_CREAT | O_WRONLY, text: "O_WRONLY|O_CREAT|O_DIRECTORY|O_PATH", isWrite: false, isRead: false),
        // Creating a file writes a directory even without write access to the file.
        Case(flags: O_RDONLY | O_CREAT, text: "O_RDONLY|O_CREAT", isWrite: true, isRead: true),
        // Linux truncates on O_TRUNC whatever the access mode (and asks for write permission).
        Case(flags: O_RDONLY | O_TRUNC, text: "O_RDONLY|O_TRUNC", isWrite: true, isRead: true),
        // Appending through a read-only descriptor writes nothing.
        Case(flags: O_RDONLY | O_APPEND, text: "O_RDONLY|O_APPEND", isWrite: false, isRead: true),
        Case(flags: O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, text: "O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC", isWrite: true, isRead: false),
        Case(flags: O_RDWR, text: "O_RDWR", isWrite: true, isRead: true),
        Case(flags: O_RDONLY | O_CLOEXEC, text: "O_RDONLY|O_CLOEXEC", isWrite: false, isRead: true),
    ]

    @Test(arguments: cases)
    func writeAndReadFollowTheKernel(_ test: Case) {
        let flags = OpenFlags(rawValue: UInt32(bitPattern: test.flags))
        #expect(flags.isWrite == test.isWrite)
        #expect(flags.isRead == test.isRead)
        #expect(flags.description == test.text)
        #expect(OpenFlags(names: test.text)?.rawValue == flags.rawValue)
    }
}
