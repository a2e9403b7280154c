import Foundation

/// A Kubernetes pod spec (the DaemonSet's template) as `docker run` runs it: each field becomes
/// the option that does what the kubelet would, and a field this does not know is an error, so
/// that the manifest holds nothing the live test did not run. What only schedules the pod
/// (tolerations, priority, requests) changes nothing on the node and is passed over.
struct PodAsDockerRun {
    struct Unknown: Error, CustomStringConvertible {
        let description: String
    }

    /// `docker run`'s options, before the image.
    private(set) var options: [String] = []
    /// The container's arguments, after the image.
    private(set) var arguments: [String] = []
    /// The kubelet's liveness probe: an HTTP GET of this path and port.
    private(set) var liveness: (path: String, port: Int)?
    private(set) var stopSeconds = 30

    /// `hostPaths` moves a hostPath volume elsewhere (a test's own state directory).
    init(pod: [String: Any], hostPaths: [String: String] = [:]) throws {
        let known: Set = ["hostPID", "hostNetwork", "dnsPolicy", "tolerations", "priorityClassName", "terminationGracePeriodSeconds",
                          "containers", "volumes"]
        try Self.onlyKnown(pod, known, at: "spec")
        if pod["hostPID"] as? Bool == true { options.append("--pid=host") }
        // A pod on the host's network shares the node's network and its name.
        if pod["hostNetwork"] as? Bool == true { options += ["--network=host", "--uts=host"] } else { options.append("--network=none") }
        stopSeconds = pod["terminationGracePeriodSeconds"] as? Int ?? stopSeconds
        guard let containers = pod["containers"] as? [[String: Any]], containers.count == 1 else {
            throw Unknown(description: "spec.containers: one container is what the test runs")
        }
        var volumes: [String: [String: Any]] = [:]
        for volume in pod["volumes"] as? [[String: Any]] ?? [] {
            try Self.onlyKnown(volume, ["name", "hostPath", "emptyDir"], at: "spec.volumes")
            volumes[volume["name"] as? String ?? ""] = volume
        }
        try add(container: containers[0], volumes: volumes, hostPaths: hostPaths)
    }

    private mutating func add(container: [String: Any], volumes: [String: [String: Any]], hostPaths: [String: String]) throws {
        let at = "spec.containers[0]"
        try Self.onlyKnown(container, ["name", "image", "args", "securityContext", "ports", "livenessProbe", "resources", "volumeMounts"], at: at)
        arguments = container["args"] as? [String] ?? []
        if let security = container["securityContext"] as? [String: Any] {
            try Self.onlyKnown(security, ["capabilities", "seccompProfile", "appArmorProfile", "readOnlyRootFilesystem", "privileged"], at: at + ".securityContext")
            let capabilities = security["capabilities"] as? [String: [String]] ?? [:]
            options += (capabilities["drop"] ?? []).map { "--cap-drop=\($0)" } + (capabilities["add"] ?? []).map { "--cap-add=\($0)" }
            for (field, option) in [("seccompProfile", "seccomp"), ("appArmorProfile", "apparmor")] {
                guard let profile = security[field] as? [String: Any] else { continue }
                guard profile["type"] as? String == "Unconfined" else { throw Unknown(description: "\(at).securityContext.\(field): only Unconfined is run here") }
                options += ["--security-opt", "\(option)=unconfined"]
            }
            if security["readOnlyRootFilesystem"] as? Bool == true { options.append("--read-only") }
            if security["privileged"] as? Bool == true { options.append("--privileged") }
        }
        if let probe = (container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any] {
            liveness = (probe["path"] as? String ?? "/", probe["port"] as? Int ?? 0)
        }
        if let limit = (container["resources"] as? [String: Any]).flatMap({ $0["limits"] as? [String: Any] })?["memory"] as? String {
            options.append("--memory=" + limit.replacingOccurrences(of: "Gi", with: "g").replacingOccurrences(of: "Mi", with: "m"))
        }
        for mount in container["volumeMounts"] as? [[String: Any]] ?? [] {
            let path = mount["mountPath"] as? String ?? ""
            guard let volume = volumes[mount["name"] as? String ?? ""] else { throw Unknown(description: "\(at).volumeMounts: \(mount) names no volume") }
            if let hostPath = (volume["hostPath"] as? [String: Any])?["path"] as? String {
                options += ["-v", "\(hostPaths[hostPath] ?? hostPath):\(path)" + (mount["readOnly"] as? Bool == true ? ":ro" : "")]
            } else {
                options += ["--tmpfs", path]
            }
        }
    }

    private static func onlyKnown(_ object: [String: Any], _ known: Set<String>, at path: String) throws {
        if let field = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw Unknown(description: "\(path).\(field): the test does not know how to run this field; teach PodAsDockerRun")
        }
    }
}

/// The documents of a YAML file, as JSON objects (PyYAML, from the tools script/test installs).
func yamlDocuments(_ path: String) throws -> [[String: Any]] {
    let python = packageRoot + "/.build/tools/bin/python3"
    let result = try runProgram(python, ["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", path])
    guard result.status == 0, let documents = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
        throw PodAsDockerRun.Unknown(description: "\(path) could not be read as YAML: \(result.stderr)")
    }
    return documents
}
