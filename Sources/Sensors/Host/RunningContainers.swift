#if canImport(Glibc)
import Glibc
#endif

/// The containers running now, each with one of its processes, from the cgroup v2 tree whatever
/// the runtime: what another sensor needs to look inside a container (its network namespace).
public enum RunningContainers {
    /// Container id → the first process listed in one of its cgroups.
    public static func processes() -> [String: Int32] {
        let cgroups = CgroupPaths()
        guard let mountPoint = cgroups.mountPoint else { return [:] }
        var found: [String: Int32] = [:]
        for path in cgroups.pathsByID.values {
            guard let id = ContainerCgroup.containerID(path: path), found[id] == nil,
                  let procs = readTextFile(mountPoint + path + "/cgroup.procs"),
                  let first = procs.split(separator: "\n").first, let pid = Int32(first) else { continue }
            found[id] = pid
        }
        return found
    }
}
