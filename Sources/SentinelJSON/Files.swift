#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole contents of a file, or nil with errno set.
public func readWholeFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
        if count < chunk.count {
            if ferror(file) != 0 { return nil }
            return bytes
        }
    }
}

extension JSONSource {
    /// The file at `path`, or a diagnostic saying why it cannot be read.
    public static func load(path: String) -> Result<JSONSource, Diagnostic> {
        guard let bytes = readWholeFile(path) else {
            return .failure(Diagnostic(file: path, location: nil, path: "", message: "cannot read the file: \(String(cString: strerror(errno)))"))
        }
        return .success(JSONSource(name: path, bytes: bytes))
    }
}

/// Replaces the file at `path` with `bytes` atomically: written beside it, synced, renamed over
/// it, so that a crash leaves the old contents or the new, never half of them. Returns what failed.
public func replaceFileAtomically(_ path: String, with bytes: [UInt8]) -> FileError? {
    let temporary = "\(path).tmp-\(getpid())"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return FileError(path: temporary, operation: "create", code: errno) }
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
        if result < 0, errno == EINTR { continue }
        guard result > 0 else {
            let code = errno
            close(descriptor)
            unlink(temporary)
            return FileError(path: temporary, operation: "write", code: code)
        }
        written += result
    }
    let synced = fsync(descriptor) == 0
    let code = errno
    close(descriptor)
    guard synced else {
        unlink(temporary)
        return FileError(path: temporary, operation: "sync", code: code)
    }
    guard rename(temporary, path) == 0 else {
        let code = errno
        unlink(temporary)
        return FileError(path: path, operation: "replace", code: code)
    }
    // The rename itself lasts only once the directory is synced.
    let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
        fsync(directoryDescriptor)
        close(directoryDescriptor)
    }
    return nil
}

/// Creates a directory and its parents, as `mkdir -p`.
public func createDirectories(_ path: String, mode: mode_t = 0o700) -> FileError? {
    var built = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        built += "/" + component
        if mkdir(built, mode) != 0, errno != EEXIST { return FileError(path: built, operation: "create the directory", code: errno) }
    }
    return nil
}

/// The names in a directory, sorted, without "." and ".."; none if it cannot be read.
public func listDirectory(_ path: String) -> [String] {
    guard let handle = opendir(path) else { return [] }
    defer { closedir(handle) }
    var names: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != ".", name != ".." { names.append(name) }
    }
    return names.sorted()
}

public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(path): cannot \(operation): \(String(cString: strerror(code)))" }
}

/// `text` as part of a file name: ASCII letters, digits, '.', '-' and '_' are kept, anything else
/// becomes '_'.
public func fileNameSafe(_ text: String) -> String {
    String(text.unicodeScalars.map { scalar -> Character in
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
    })
}
