import Engine
import SentinelJSON
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Sensors

@Suite struct ContainerIdentityTests {
    static let id = "3f2a9c1b7d4e8f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718"

    @Test(arguments: [
        "/docker/\(id)",
        "/system.slice/docker-\(id).scope",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-\(id).scope",
        "/kubepods/besteffort/pod0a1b/\(id)",
        "/machine.slice/crio-\(id).scope",
        "/machine.slice/libpod-\(id).scope/container",
    ])
    func theRuntimesPathsNameTheContainer(path: String) {
        #expect(ContainerCgroup.containerID(path: path) == Self.id)
    }

    @Test(arguments: ["/", "/system.slice/docker.service", "/user.slice/user-0.slice/session-1.scope", "/docker", "/docker/\(String(id.prefix(63)))", "/docker/\(id.uppercased())"])
    func hostPathsNameNoContainer(path: String) {
        #expect(ContainerCgroup.containerID(path: path) == nil)
    }

    @Test func aSubCgroupNamedLikeAnotherContainerDoesNotPassForIt() {
        let other = String(repeating: "ab", count: 32)
        #expect(ContainerCgroup.containerID(path: "/docker/\(Self.id)/docker-\(other).scope") == Self.id)
    }

    @Test func theCgroup2MountIsFoundBesideVersion1() {
        let hybrid = """
        30 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        35 30 0:31 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw
        36 30 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        """
        #expect(CgroupPaths.cgroup2MountPoint(hybrid) == "/sys/fs/cgroup/unified")
        #expect(CgroupPaths.cgroup2MountPoint("29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate") == "/sys/fs/cgroup")
        #expect(CgroupPaths.cgroup2MountPoint("36 30 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory") == nil)
    }
}

@Suite struct ProcFSTests {
    @Test func statNamesMayHoldSpacesAndParentheses() {
        let parsed = ProcFS.parseStat("4242 (my (odd) name) S 17 4242 4242 0 -1")
        #expect(parsed?.name == "my (odd) name")
        #expect(parsed?.ppid == 17)
        #expect(ProcFS.parseStat("4242 no parentheses") == nil)
    }

    @Test func theVersion2CgroupLineWins() {
        #expect(ProcFS.cgroupPath("12:pids:/docker/abc\n0::/docker/def\n") == "/docker/def")
        #expect(ProcFS.cgroupPath("12:pids:/docker/abc\n11:memory:/docker/abc\n") == "/docker/abc")
        #expect(ProcFS.cgroupPath("") == "")
    }

    @Test func thisTestProcessReadsBackFromProc() throws {
        let me = try #require(ProcFS.snapshot(pid: getpid()))
        #expect(me.ppid == getppid())
        #expect(me.uid == Int64(getuid()))
        #expect(me.exePath.hasSuffix(me.args.first.map { String($0.split(separator: "/").last ?? "") } ?? ""))
        #expect(ProcFS.allPIDs().contains(getpid()))
        #expect(ProcFS.snapshot(pid: Int32.max) == nil, "no such process")
    }
}

@Suite struct DockerClientTests {
    @Test func inspectGivesNameImageAndLabels() throws {
        let inspect = try JSONParser.parse(#"""
            {"Id": "3f2a", "Name": "/shop-web", "Image": "sha256:499e08a25df4b15f5e787912e8034a7fdc0fe2f17965e2240b641b1aafddaecf",
             "Config": {"Image": "shop/web:1.4", "Labels": {"team": "shop", "tier": "front"}}}
            """#)
        let facts = try #require(DockerClient.facts(fromInspect: inspect))
        #expect(facts.name == "shop-web")
        #expect(facts.image == "shop/web:1.4")
        #expect(facts.imageID == "sha256:499e08a25df4b15f5e787912e8034a7fdc0fe2f17965e2240b641b1aafddaecf")
        #expect(facts.labels == ["team": "shop", "tier": "front"])
        #expect(DockerClient.facts(fromInspect: try JSONParser.parse(#"{"message": "No such container"}"#)) == nil)
        #expect(facts.privileged == false && facts.startTime == nil && facts.mounts.isEmpty)
    }

    /// What Falco's container.privileged, container.start_ts and container.mounts read.
    @Test func inspectGivesPrivilegeStartAndMounts() throws {
        let inspect = try JSONParser.parse(#"""
            {"Name": "/ops", "Config": {"Image": "debian:12"}, "HostConfig": {"Privileged": true},
             "State": {"StartedAt": "2026-12-02T05:00:49.990199855Z"},
             "Mounts": [{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "Mode": "", "RW": true, "Propagation": "rprivate"},
                        {"Type": "bind", "Source": "/etc", "Destination": "/host/etc", "Mode": "ro", "RW": false, "Propagation": "rprivate"}]}
            """#)
        let facts = try #require(DockerClient.facts(fromInspect: inspect))
        #expect(facts.privileged)
        #expect(facts.startTime.map(iso8601(nanoseconds:)) == "2026-12-02T05:00:49.990199855Z")
        #expect(facts.mounts.map(\.text) == ["/var/run/docker.sock:/var/run/docker.sock::true:rprivate", "/etc:/host/etc:ro:false:rprivate"])
    }

    @Test func theEventsStreamTellsOfBirthsAndDeaths() {
        func change(_ line: String) -> DockerClient.Change? { DockerClient.change(fromEventLine: Array(line.utf8)) }
        #expect(change(#"{"Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{}}}"#) == .created(id: "abc"))
        #expect(change(#"{"Type":"container","Action":"destroy","Actor":{"ID":"abc"}}"#) == .destroyed(id: "abc"))
        #expect(change(#"{"Type":"container","Action":"exec_start: sh","Actor":{"ID":"abc"}}"#) == nil)
        #expect(change("not json") == nil)
    }
}
