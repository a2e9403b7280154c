import Foundation
import Engine
import Outputs
import SentinelJSON

/// Whether this run is CI's: there, a missing tool fails the test instead of skipping it.
let isCI = ProcessInfo.processInfo.environment["CI"] != nil

func toolExists(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

func sampleAlert(output: String = "Shell spawned (cmdline=sh -c id)", rule: String = "Shell spawned in container",
                 priority: Priority = .warning, tags: [String] = ["container", "shell"], fields: [Alert.Field]? = nil) -> Alert {
    Alert(time: 1_795_341_600_123_456_789, rule: rule, priority: priority, output: output,
          outputFields: fields ?? [Alert.Field(name: "proc.cmdline", value: .string("sh -c id")),
                                   Alert.Field(name: "proc.pid", value: .number(42)),
                                   Alert.Field(name: "proc.is_exe_written", value: .bool(false)),
                                   Alert.Field(name: "container.name", value: .missing)],
          tags: tags, source: "syscall")
}

/// One output's config as the first entry of a config file's `outputs`, read as Config reads it.
func parseOutput(_ text: String, diagnostics: Diagnostics = Diagnostics()) -> OutputSpec? {
    let source = JSONSource(name: "c.json", bytes: Array(text.utf8))
    guard let root = diagnostics.take(source.parse()) else { return nil }
    return OutputSpec.parse(JSONCursor(node: root.node, path: "outputs[0]", source: source), diagnostics: diagnostics)
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "sentinel-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` every 20 ms for at most `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A free TCP/UDP port on loopback, found by binding port 0.
func freeLoopbackPort(type: Int32) -> UInt16 {
    let descriptor = socket(AF_INET, type, 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            _ = bind(descriptor, raw, length)
            _ = getsockname(descriptor, raw, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}
