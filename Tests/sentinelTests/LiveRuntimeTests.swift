import Foundation
import Testing

extension LiveTests {
    /// Podman, through its Docker-compatible socket: the same probes see its containers (their
    /// cgroups are `libpod-<id>`), and the socket gives their names and images.
    @Suite(.serialized) struct Podman {
        static let socket = "/run/sentinel-test-podman.sock"
        static let name = "sentinel-podman-victim"

        @Test func aPodmanContainersAlertCarriesItsNameAndImage() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            guard let podman = tool("podman") else { return }
            // The busybox test image, handed from Docker to Podman's own store.
            let loaded = try shell("docker save \(LiveEnvironment.image) | \(podman) load")
            try #require(loaded.status == 0, "podman load: \(loaded.output)")
            let service = Process()
            service.executableURL = URL(fileURLWithPath: podman)
            service.arguments = ["system", "service", "--time=0", "unix://\(Self.socket)"]
            service.standardError = FileHandle.nullDevice
            try service.run()
            defer { service.terminate(); service.waitUntilExit() }
            try #require(waitUntil(seconds: 20) { FileManager.default.fileExists(atPath: Self.socket) }, "podman's service did not open \(Self.socket)")

            let sentinel = try LiveSentinel(["--docker-socket", Self.socket])
            _ = try shell("\(podman) rm -f \(Self.name)")
            // Limits podman's defaults would raise: a host without CAP_SYS_RESOURCE (a CI sandbox)
            // refuses that, and a victim needs no more.
            let run = try shell("\(podman) run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --name \(Self.name) "
                                + "\(LiveEnvironment.image) /bin/sh -c 'sleep 1; /bin/cat /etc/shadow >/dev/null; sleep 5'")
            defer { _ = try? shell("\(podman) rm -f \(Self.name)") }
            try #require(run.status == 0, "podman run: \(run.output)")
            let id = String(run.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(64).prefix(12))
            let fields = try #require(sentinel.alert("Sensitive file read in container", container: id, within: 15),
                                      "no alert for podman's container \(id): \(sentinel.alerts.map { $0["output"] ?? "" })")
            #expect(fields["container.name"] as? String == Self.name)
            #expect((fields["container.image"] as? String)?.contains("sentinel/busybox") == true, "image: \(fields["container.image"] ?? "none")")
            #expect(sentinel.stop() == 0)
        }
    }
}

/// Runs a shell command line; its status and its output and errors together.
func shell(_ line: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", line]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

extension LiveTests {
    /// A container that ended leaves the engine's table and the kernel's verdicts map at the next
    /// sweep (every statistics interval: 1 s here), as `/metrics` and the map itself show.
    @Suite struct Churn {
        @Test func aContainerThatEndedLeavesTheTablesAtTheNextSweep() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let port = freePort()
            let config = try temporaryFile("sentinel.json", #"{"rules": ["rules/"], "web": {"listen": "127.0.0.1:\#(port)"}}"#)
            let sentinel = try LiveSentinel(["--config", config])
            func containersInTable() -> Int? { metricValue(#"sentinel_table_entries{table="containers"}"#, port: port) }
            let name = "sentinel-live-churn"
            try command(["docker", "rm", "-f", name])
            let started = try command(["docker", "run", "-d", "--network", "none", "--name", name, LiveEnvironment.image,
                                       "/bin/sh", "-c", "/bin/cat /etc/hostname; sleep 3"])
            defer { _ = try? command(["docker", "rm", "-f", name]) }
            try #require(started.status == 0, "docker run failed")
            let cgroup = try #require(unifiedCgroupID(named: started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
                                      "the container's cgroup is not below \(unifiedCgroupMount)")
            // Counted by cgroup id (the key of the kernel's map), not by the map's size: other
            // cgroups come and go on a shared host.
            #expect(waitUntil(seconds: 10) { (try? VerdictsMaps.contain(cgroup)) == true }, "the kernel's map learns the container's cgroup")
            #expect(waitUntil(seconds: 10) { (containersInTable() ?? 0) >= 1 }, "the container is in the table")
            try command(["docker", "wait", name])
            #expect(waitUntil(seconds: 10) { containersInTable() == 0 }, "and leaves it once its cgroup is gone")
            #expect(waitUntil(seconds: 10) { (try? VerdictsMaps.contain(cgroup)) == false }, "its cgroup leaves the kernel's map")
            #expect(sentinel.stop() == 0)
        }
    }
}

let unifiedCgroupMount = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup"

/// The id (inode) of the cgroup v2 directory whose name contains `containerID`: docker/<id> with
/// the cgroupfs driver, system.slice/docker-<id>.scope with systemd's.
func unifiedCgroupID(named containerID: String) -> UInt64? {
    let enumerator = FileManager.default.enumerator(atPath: unifiedCgroupMount)
    while let relative = enumerator?.nextObject() as? String {
        guard relative.split(separator: "/").last?.contains(containerID) == true else { continue }
        var status = stat()
        if stat("\(unifiedCgroupMount)/\(relative)", &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { return UInt64(status.st_ino) }
    }
    return nil
}
