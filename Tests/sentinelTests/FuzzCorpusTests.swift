import Foundation
import Testing

/// Every input fuzz/run has kept (fuzz/corpus) goes through its dissector or parser again, built
/// plainly: an input that once crashed, or reached new code, stays a test.
@Suite struct FuzzCorpusTests {
    static let targets = ["frames", "http", "dns", "tls", "mysql", "rules", "falco", "replay", "strace"]

    @Test(arguments: targets)
    func theCorpusReplaysWithoutACrash(_ target: String) throws {
        let directory = packageRoot + "/fuzz/corpus/" + target
        let inputs = try FileManager.default.contentsOfDirectory(atPath: directory).map { directory + "/" + $0 }
        #expect(!inputs.isEmpty, "fuzz/corpus/\(target) is empty")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sentinelBinary).deletingLastPathComponent().appendingPathComponent("sentinel-fuzz")
        process.arguments = [target] + inputs
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && output.contains("\(inputs.count) inputs through \(target), no crash"), "\(output)")
        // The corpus reaches the dissector (raw frames may all be noise; the parsers count none).
        if ["http", "dns", "tls", "mysql"].contains(target) { #expect(!output.contains(" 0 messages read"), "\(output)") }
    }
}
