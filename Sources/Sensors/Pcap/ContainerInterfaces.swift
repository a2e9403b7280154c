import SentinelJSON

/// The host side of a container's veth: where the container's traffic can be captured.
public struct ContainerInterface: Hashable, Sendable {
    /// The interface's name on the host (veth1a2b3c4).
    public var hostName: String
    public var containerID: String
    /// The container side's Ethernet address: frames from it were sent by the container.
    public var containerAddress: UInt64
}

/// Finds containers' veths from inside each container: its /sys (through /proc/<pid>/root) shows
/// its own network namespace, where each interface's iflink is its peer's index on the host.
enum ContainerInterfaces {
    static func find(containers: [String: Int32]) -> [ContainerInterface] {
        let host = hostInterfaces()
        var found: [ContainerInterface] = []
        for (id, pid) in containers {
            let directory = "/proc/\(pid)/root/sys/class/net"
            for name in listDirectory(directory) where name != "lo" {
                guard let index = number(directory + "/\(name)/ifindex"), let peer = number(directory + "/\(name)/iflink"), peer != index,
                      let hostSide = host[peer], hostSide.peer == index,
                      let address = macAddress(directory + "/\(name)/address") else { continue }
                found.append(ContainerInterface(hostName: hostSide.name, containerID: id, containerAddress: address))
            }
        }
        return found
    }

    /// The host's interfaces by index, each with its peer's index (iflink).
    static func hostInterfaces() -> [Int: (name: String, peer: Int)] {
        var interfaces: [Int: (name: String, peer: Int)] = [:]
        for name in listDirectory("/sys/class/net") {
            guard let index = number("/sys/class/net/\(name)/ifindex"), let peer = number("/sys/class/net/\(name)/iflink") else { continue }
            interfaces[index] = (name, peer)
        }
        return interfaces
    }

    private static func number(_ path: String) -> Int? {
        text(path).flatMap { Int($0) }
    }

    /// "02:42:ac:11:00:02" as a number.
    static func macAddress(_ path: String) -> UInt64? {
        guard let text = text(path) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard let byte = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    /// A sysfs attribute: one line.
    private static func text(_ path: String) -> String? {
        readTextFile(path)?.split(separator: "\n").first.map(String.init)
    }
}
