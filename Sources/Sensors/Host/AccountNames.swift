import Engine

#if canImport(Glibc)
import Glibc
#endif

/// User and group names as each container's own /etc/passwd and /etc/group give them: uid 33 is
/// www-data in a Debian image and something else in another, so the host's files cannot say.
/// Read through one of the container's processes (/proc/PID/root) when its first exec is met, and
/// again when a uid or gid is not found there, at most every `rereadInterval` seconds (an image
/// that adds users as it starts); the host's own, for processes outside containers.
struct AccountNames {
    static let rereadInterval: Double = 10

    struct Table {
        var users: [Int64: String] = [:]
        var groups: [Int64: String] = [:]
        var readAt: Double = 0
    }

    /// One table per container met, as small as its files: kept for the run, as the sensor keeps
    /// the containers it announced.
    private var byContainer: [String: Table] = [:]

    /// The names of `uid` and `gid` in the container `containerID` (`ContainerRecord.hostID`: the
    /// host), whose process `pid` is alive; `now` in seconds, on any monotonic clock.
    mutating func names(uid: Int64, gid: Int64, containerID: String, pid: Int32, now: Double) -> (user: String?, group: String?) {
        var table = byContainer[containerID] ?? Table()
        let missing = table.users[uid] == nil || table.groups[gid] == nil
        if missing, table.readAt == 0 || now - table.readAt >= Self.rereadInterval {
            // A process gone before its files could be read (a short `id`) leaves what was read
            // before, and the next process of the container reads them: only files read whole,
            // or a process that outlived the reading, settle the table until the reread interval.
            let passwd = file("etc/passwd", of: containerID, pid: pid)
            let group = file("etc/group", of: containerID, pid: pid)
            if let passwd { table.users = Self.parse(passwd) }
            if let group { table.groups = Self.parse(group) }
            if (passwd != nil && group != nil) || processExists(pid) { table.readAt = now }
            byContainer[containerID] = table
        }
        return (table.users[uid], table.groups[gid])
    }

    private func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    private func file(_ path: String, of containerID: String, pid: Int32) -> String? {
        containerID == ContainerRecord.hostID ? readTextFile("/" + path) : readContainerFile(pid: pid, path: path)
    }

    /// name:password:id:... lines (passwd and group alike) as id → name; the first name of an id wins.
    static func parse(_ text: String) -> [Int64: String] {
        var names: [Int64: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, let id = Int64(fields[2]), names[id] == nil else { continue }
            names[id] = String(fields[0])
        }
        return names
    }
}
