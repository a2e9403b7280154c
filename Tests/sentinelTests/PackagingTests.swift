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
}
