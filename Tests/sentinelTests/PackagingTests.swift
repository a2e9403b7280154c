import Foundation
import Testing

/// The files that install sentinel as the agents it replaces are installed.
@Suite struct PackagingTests {
    /// systemd's own analyser reads the unit as systemd would, with ExecStart pointed at the
    /// binary just built (verify checks that the program exists): any complaint fails the test.
    @Test func theSystemdUnitVerifies() throws {
        guard let analyser = tool("systemd-analyze") else { return }
        let unit = try String(contentsOfFile: packageRoot + "/packaging/sentinel.service", encoding: .utf8)
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID") && unit.contains("Restart=on-failure"))
        let path = try temporaryFile("sentinel.service", unit.replacingOccurrences(of: "/usr/local/bin/sentinel", with: sentinelBinary))
        let result = try runProgram(analyser, ["verify", path])
        #expect(result.status == 0 && (result.stdout + result.stderr).isEmpty, "systemd-analyze verify: \(result.stdout)\(result.stderr)")
    }

    /// The DaemonSet manifest, checked against Kubernetes' own schemas (kubernetes-validate, from
    /// PyPI: script/test installs it), strictly: a field Kubernetes does not know fails it, as a
    /// misspelt copy shows. The live tests run its pod (LiveTests.Image).
    @Test func theDaemonSetManifestIsValidKubernetes() throws {
        let validator = packageRoot + "/.build/tools/bin/kubernetes-validate"
        guard FileManager.default.isExecutableFile(atPath: validator) else {
            #expect(!LiveEnvironment.isCI, "\(validator) is missing: script/test installs it")
            return
        }
        let manifest = packageRoot + "/packaging/kubernetes/sentinel-daemonset.yaml"
        let result = try runProgram(validator, ["--strict", manifest])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("passed for resource daemonset/sentinel"), "\(result.stdout)\(result.stderr)")
        let misspelt = try temporaryFile("daemonset.yaml", String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: "hostPID:", with: "hostPid:"))
        #expect(try runProgram(validator, ["--strict", misspelt]).status != 0, "the validator refuses a field Kubernetes does not know")
    }
}
