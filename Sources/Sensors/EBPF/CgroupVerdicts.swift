import CLibbpf
import Engine

/// Whom each cgroup's records belong to: learnt once per cgroup from its path and told to the
/// kernel, which then drops the host's records itself (map cgroup_verdicts).
final class CgroupVerdicts {
    /// Whom a cgroup's records belong to.
    enum Owner {
        /// The host, which is not watched: the record goes no further.
        case unwatched
        /// A container's id, or `ContainerRecord.hostID` when the host is watched.
        case known(String)
        /// The cgroup and the process are both gone (a container that lived for milliseconds): the
        /// event still counts, and its process record, from its parent, names the container.
        case unresolved
    }

    let paths = CgroupPaths()
    private let includeHost: Bool
    private let tellKernel: (UInt64, sentinel_cgroup_verdict) -> Void
    private let forgetInKernel: (UInt64) -> Void
    /// Hears of every cgroup learnt (the BoSC judge keeps its profiles by them).
    var onLearnt: (UInt64, String) -> Void = { _, _ in }
    /// Cgroup id → its container id, or `ContainerRecord.hostID`.
    private var containerOfCgroup: [UInt64: String] = [:]
    /// Cgroups gone before their path was read. Looked for once: each look walks the whole cgroup
    /// tree, and a dead container's last batches of system calls would ask thousands of times.
    /// Cgroup ids are not reused.
    private var vanished: Set<UInt64> = []

    /// `tellKernel` writes a verdict where the probes read it.
    init(includeHost: Bool, tellKernel: @escaping (UInt64, sentinel_cgroup_verdict) -> Void, forgetInKernel: @escaping (UInt64) -> Void) {
        self.includeHost = includeHost
        self.tellKernel = tellKernel
        self.forgetInKernel = forgetInKernel
    }

    /// Every cgroup learnt and not forgotten, with its container id (or `ContainerRecord.hostID`).
    var learnt: [(cgroup: UInt64, container: String)] { containerOfCgroup.map { ($0.key, $0.value) } }

    /// The owner of a record of `cgroupID` from `pid` (whose /proc says its cgroup when the
    /// cgroup's path cannot be found any more).
    func owner(ofCgroup cgroupID: UInt64, pid: Int32) -> Owner {
        let containerID: String
        if let known = containerOfCgroup[cgroupID] {
            containerID = known
        } else {
            guard !vanished.contains(cgroupID),
                  let path = paths.path(of: cgroupID) ?? ProcFS.snapshot(pid: pid)?.cgroupPath else {
                if vanished.count >= 65_536 { vanished.removeAll() }
                vanished.insert(cgroupID)
                return .unresolved
            }
            containerID = learn(cgroupID: cgroupID, path: path)
        }
        return containerID == ContainerRecord.hostID && !includeHost ? .unwatched : .known(containerID)
    }

    /// Forgets the cgroups that no longer exist, here and in the kernel's map (which would fill up
    /// over a long run of short containers); returns the containers none of whose cgroups exist.
    func forget(notIn existing: Set<UInt64>) -> Set<String> {
        var gone: Set<String> = []
        var remaining: Set<String> = []
        for (cgroupID, containerID) in containerOfCgroup {
            if existing.contains(cgroupID) {
                remaining.insert(containerID)
            } else {
                containerOfCgroup[cgroupID] = nil
                forgetInKernel(cgroupID)
                gone.insert(containerID)
            }
        }
        gone.subtract(remaining)
        gone.remove(ContainerRecord.hostID)
        return gone
    }

    /// Tells the kernel at once about every cgroup that exists, so that the host's records stop
    /// in the kernel from the start rather than after each cgroup's first record.
    func classifyExisting() {
        for (cgroupID, path) in paths.pathsByID { learn(cgroupID: cgroupID, path: path) }
    }

    @discardableResult
    private func learn(cgroupID: UInt64, path: String) -> String {
        let containerID = ContainerCgroup.containerID(path: path) ?? ContainerRecord.hostID
        containerOfCgroup[cgroupID] = containerID
        onLearnt(cgroupID, containerID)
        tellKernel(cgroupID, containerID == ContainerRecord.hostID ? SENTINEL_CGROUP_IGNORE : SENTINEL_CGROUP_WATCH)
        return containerID
    }
}
