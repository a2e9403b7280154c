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
