import ArgumentParser
import SentinelJSON
import Sensors

/// sentinel's own version: raised by hand at each release, following semantic versioning (before
/// 1.0 a minor step may change the rule or config format; the README's changes say how).
let sentinelVersion = "0.9.0"

/// `sentinel version [--json]`: what a bug report needs, as `/versions` serves it.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the versions of sentinel, the libraries it runs on and the kernel.")

    @Flag(name: .long, help: "As a JSON object.")
    var json = false

    /// Name and version, in the order printed.
    static var components: [(name: String, version: String)] {
        [("sentinel", sentinelVersion), ("libbpf", ComponentVersions.libbpf), ("libpcap", ComponentVersions.libpcap),
         ("kernel", ComponentVersions.kernel)]
    }

    static var jsonText: String {
        var writer = JSONWriter()
        writer.beginObject()
        for component in components {
            writer.key(component.name)
            writer.string(component.version)
        }
        writer.endObject()
        return writer.text
    }

    func run() throws {
        if json {
            printLine(Self.jsonText)
        } else {
            for component in Self.components { printLine("\(component.name) \(component.version)") }
        }
    }
}
