import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

/// A running process as /proc shows it: how processes that began before sentinel (or whose fork
/// the kernel filter did not send, such as a container's shim) enter the process table.
struct ProcessSnapshot: Equatable {
    var pid: Int32
    var ppid: Int32
    var name: String
    var exePath: String
    var args: [String]
    var uid: Int64
    var gid: Int64
    var euid: Int64
    var vpid: Int64?
    /// The process's cgroup v2 path ("/docker/<id>"), or a v1 path when there is no v2 line.
    var cgroupPath: String
}

enum ProcFS {
    /// Every pid in /proc.
    static func allPIDs(root: String = "/proc") -> [Int32] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// The process `pid`, or nil when it has gone (or is a kernel thread, which has no exe).
    static func snapshot(pid: Int32, root: String = "/proc") -> ProcessSnapshot? {
        let directory = "\(root)/\(pid)"
        guard let stat = readTextFile("\(directory)/stat"), let (name, ppid) = parseStat(stat) else { return nil }
        let status = readTextFile("\(directory)/status") ?? ""
        let uids = idsLine("Uid:", in: status)
        let gids = idsLine("Gid:", in: status)
        let args = (readWholeFile("\(directory)/cmdline") ?? []).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        return ProcessSnapshot(
            pid: pid, ppid: ppid, name: name,
            exePath: readLink("\(directory)/exe") ?? "",
            args: args.last == "" ? Array(args.dropLast()) : args,
            uid: uids.first ?? -1, gid: gids.first ?? -1, euid: uids.dropFirst().first ?? uids.first ?? -1,
            vpid: idsLine("NSpid:", in: status).last,
            cgroupPath: cgroupPath(readTextFile("\(directory)/cgroup") ?? "")
        )
    }

    /// "1234 (comm with spaces) S 1 ...": the name between the first '(' and the last ')', then the ppid.
    static func parseStat(_ stat: String) -> (name: String, ppid: Int32)? {
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") , open < close else { return nil }
        let name = String(stat[stat.index(after: open)..<close])
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        guard rest.count > 1, let ppid = Int32(rest[1]) else { return nil }
        return (name, ppid)
    }

    /// The v2 ("0::") path of /proc/PID/cgroup, or the first v1 path when there is none.
    static func cgroupPath(_ text: String) -> String {
        var firstPath: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { return String(fields[2]) }
            firstPath = firstPath ?? String(fields[2])
        }
        return firstPath ?? ""
    }

    private static func idsLine(_ prefix: String, in status: String) -> [Int64] {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return [] }
        return line.dropFirst(prefix.count).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { Int64($0) }
    }
}

/// A regular file of a container, `path` (relative, as "etc/passwd") taken from the root of its
/// process `pid` one name at a time without following a symlink: a symlink there would resolve
/// against the host's root, not the container's, and could name one of the host's files. A
/// container controls its files, so a FIFO, a device or a file beyond `limit` bytes is refused
/// too: none may stall or swamp the sensor. nil when it cannot be read so.
func readContainerFile(pid: Int32, path: String, limit: Int = 1 << 20) -> String? {
    var directory = open("/proc/\(pid)/root", openPathOnly | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { return nil }
    let names = path.split(separator: "/").map(String.init)
    for name in names.dropLast() {
        let next = openat(directory, name, openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        close(directory)
        guard next >= 0 else { return nil }
        directory = next
    }
    let file = openat(directory, names.last ?? "", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)
    close(directory)
    guard file >= 0 else { return nil }
    defer { close(file) }
    var status = stat()
    guard fstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size <= limit else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
    var filled = 0
    while filled < bytes.count {
        let count = bytes.withUnsafeMutableBytes { read(file, $0.baseAddress! + filled, $0.count - filled) }
        guard count > 0 else { break }
        filled += count
    }
    return String(decoding: bytes.prefix(filled), as: UTF8.self)
}

/// O_PATH, which Glibc's module does not export.
private let openPathOnly: Int32 = 0o10000000

func readTextFile(_ path: String) -> String? {
    readWholeFile(path).map { String(decoding: $0, as: UTF8.self) }
}

func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4097)
    let length = readlink(path, &buffer, buffer.count - 1)
    guard length >= 0 else { return nil }
    return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
