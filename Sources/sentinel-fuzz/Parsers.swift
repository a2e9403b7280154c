// sentinel's own parsers' targets: what a user, a rule author, a recording or a container runtime
// hands sentinel, and an attacker may write. Each must report bad input, never crash; where a
// parser promises more, the target checks it (what the Falco importer writes always loads).

import BoSC
import Engine
import FalcoImport
import Rules
import SentinelJSON

/// A rule file: read, merged, macros expanded, conditions compiled, as `--rules` does.
func loadRules(_ input: [UInt8]) {
    _ = try? RuleLoader.load(sources: [JSONSource(name: "fuzz.json", bytes: input)])
}

/// A Falco YAML rule file, imported; what the importer writes must load.
func importFalco(_ input: [UInt8]) {
    let result = FalcoImporter.convert([FalcoImporter.Input(name: "fuzz.yaml", text: String(decoding: input, as: UTF8.self))],
                                       outputDirectory: "/nonexistent")
    guard !result.hasErrors else { return }
    let written = result.outputs.map { JSONSource(name: $0.path, bytes: $0.bytes) }
    do {
        _ = try RuleLoader.load(sources: written)
    } catch {
        fatalError("the importer wrote rules that do not load: \(error.diagnostics.map(\.description).joined(separator: "; "))")
    }
}

/// Recorded events, a line each, as `--replay` reads them.
func decodeReplay(_ input: [UInt8]) {
    let diagnostics = Diagnostics()
    for (index, line) in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        _ = EventCodec.decodeLine(Array(line), file: "fuzz.jsonl", line: index + 1, diagnostics: diagnostics)
    }
}

/// An strace -f log's lines, as `bosc eval --strace` reads them.
func parseStrace(_ input: [UInt8]) {
    var i386Threads: Set<Int64> = []
    for line in input.split(separator: UInt8(ascii: "\n")) {
        let result = Array(line).withUnsafeBufferPointer { StraceLog.parse($0, i386Threads: i386Threads) }
        if case .success(.mode(let thread, let i386)) = result {
            if i386 { i386Threads.insert(thread) } else { i386Threads.remove(thread) }
        }
    }
}
