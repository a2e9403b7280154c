import CLibbpf
import Foundation

/// The kernel's `cgroup_verdicts` maps, read with the bpf system call as bpftool would: what a
/// running sentinel has told its probes, seen from outside it.
enum VerdictsMaps {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Whether any loaded map of that name holds `cgroupID` (one per running sentinel).
    static func contain(_ cgroupID: UInt64) throws -> Bool {
        var found = false
        var mapID: UInt32 = 0
        var seen = 0
        while bpf_map_get_next_id(mapID, &mapID) == 0 {
            let descriptor = bpf_map_get_fd_by_id(mapID)
            guard descriptor >= 0 else { continue }  // gone since it was listed
            defer { close(descriptor) }
            var info = bpf_map_info()
            var length = UInt32(MemoryLayout<bpf_map_info>.size)
            guard bpf_obj_get_info_by_fd(descriptor, &info, &length) == 0 else { continue }
            let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name == "cgroup_verdicts" else { continue }
            seen += 1
            var key = cgroupID
            var verdict: UInt32 = 0
            if bpf_map_lookup_elem(descriptor, &key, &verdict) == 0 { found = true }
        }
        guard seen > 0 else { throw Unreadable(description: "no cgroup_verdicts map is loaded") }
        return found
    }
}
