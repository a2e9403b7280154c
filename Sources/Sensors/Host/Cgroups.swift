#if canImport(Glibc)
import Glibc
#endif

/// Container ids from cgroup paths, as the runtimes name them: Docker with cgroupfs
/// (`/docker/<id>`) or systemd (`/system.slice/docker-<id>.scope`), containerd
/// (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`), CRI-O (`crio-<id>.scope`), podman
/// (`libpod-<id>.scope`, `/machine.slice/libpod-<id>.scope/container`).
enum ContainerCgroup {
    private static let prefixes = ["docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"]

    /// The container id in `path`, or nil for a host cgroup. The outermost component that names a
    /// container wins: a process inside a container that may write to its cgroup tree could make a
    /// sub-cgroup named like another container, and must not pass for it.
    static func containerID(path: String) -> String? {
        for component in path.split(separator: "/") {
            var name = Substring(component)
            if name.hasSuffix(".scope") { name = name.dropLast(".scope".count) }
            if let prefix = prefixes.first(where: { name.hasPrefix($0) }) { name = name.dropFirst(prefix.count) }
            if name.utf8.count == 64, name.utf8.allSatisfy(isLowercaseHexDigit) { return String(name) }
        }
        return nil
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// The kernel names a cgroup by id (`bpf_get_current_cgroup_id`): the inode number of its
/// directory in the cgroup v2 hierarchy. This finds the directory, and so the path, by walking that
/// hierarchy; it walks again when an id is new (a container just started).
final class CgroupPaths {
    /// Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1), or nil.
    let mountPoint: String?
    /// Every cgroup seen in the last walk, by id.
    private(set) var pathsByID: [UInt64: String] = [:]

    init(mountInfo: String = readTextFile("/proc/self/mountinfo") ?? "") {
        mountPoint = Self.cgroup2MountPoint(mountInfo)
        rescan()
    }

    /// The path below the mount point ("/docker/<id>"), or nil if no such cgroup exists any more.
    func path(of id: UInt64) -> String? {
        if let path = pathsByID[id] { return path }
        rescan()
        return pathsByID[id]
    }

    /// The ids of the cgroups that exist now.
    func existingIDs() -> Set<UInt64> {
        rescan()
        return Set(pathsByID.keys)
    }

    private func rescan() {
        guard let mountPoint else { return }
        var found: [UInt64: String] = [:]
        walk(mountPoint, relative: "", depth: 0, into: &found)
        pathsByID = found
    }

    private func walk(_ directory: String, relative: String, depth: Int, into found: inout [UInt64: String]) {
        var status = stat()
        guard depth < 32, stat(directory, &status) == 0 else { return }
        found[UInt64(status.st_ino)] = relative.isEmpty ? "/" : relative
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            walk("\(directory)/\(name)", relative: "\(relative)/\(name)", depth: depth + 1, into: &found)
        }
    }

    static func cgroup2MountPoint(_ mountInfo: String) -> String? {
        // "36 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw"
        for line in mountInfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash > 4, dash + 1 < fields.count, fields[dash + 1] == "cgroup2" else { continue }
            return String(fields[4])
        }
        return nil
    }
}
