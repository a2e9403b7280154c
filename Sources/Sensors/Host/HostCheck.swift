import Engine

/// What `sentinel check` and `sentinel --dry-run` find on this host: each part a live run needs,
/// tried for real (the probes are loaded into the kernel and attached, then taken out again),
/// and what is wrong with it, if anything.
public enum HostCheck {
    public struct Finding: Sendable {
        public let part: String
        /// What was found when it works ("loaded and attached: process, files"), else nil.
        public let found: String?
        /// What is wrong, when it does not.
        public let problem: String?
        /// A part sentinel runs without, losing something (Docker's names): not a failure.
        public let optional: Bool

        public var line: String {
            if let problem { return "\(part): \(optional ? "warning" : "problem"): \(problem)" }
            return "\(part): ok\(found.map { ", \($0)" } ?? "")"
        }
    }

    /// Tries the probes `selection` needs, Docker's socket (nil: not asked), and capture on
    /// loopback when `capture` (the rules read application messages).
    public static func run(probes selection: ProbeSelection, dockerSocket: String?, capture: Bool) -> [Finding] {
        var findings: [Finding] = []
        do {
            let probes = try Probes(selection: selection, ringBufferBytes: 1 << 20, verifierLogDirectory: "/tmp")
            findings.append(Finding(part: "eBPF probes", found: "loaded and attached: \(probes.attached.joined(separator: ", ")); taken out again",
                                    problem: nil, optional: false))
        } catch {
            findings.append(Finding(part: "eBPF probes", found: nil, problem: "\(error)", optional: false))
        }
        if let dockerSocket {
            do {
                let version = try DockerClient(socketPath: dockerSocket).version()
                findings.append(Finding(part: "container runtime", found: "\(version) at \(dockerSocket)", problem: nil, optional: true))
            } catch {
                findings.append(Finding(part: "container runtime", found: nil,
                                        problem: "\(error); alerts will carry container ids but no names or images, and BoSC judges no container",
                                        optional: true))
            }
        }
        if capture {
            do {
                _ = try PcapHandle.live(interface: "lo", snapLength: 256, bufferBytes: 1 << 20, filter: nil)
                findings.append(Finding(part: "packet capture", found: "libpcap \(ComponentVersions.libpcap) captures", problem: nil, optional: false))
            } catch {
                findings.append(Finding(part: "packet capture", found: nil, problem: "\(error) (capture needs root or CAP_NET_RAW)", optional: false))
            }
        }
        return findings
    }
}
