// sentinel under libFuzzer: the packet dissectors (Packets.swift) and sentinel's own parsers
// (Parsers.swift), one target per run (FUZZ_TARGET). Built with fuzz/run (-sanitize=fuzzer,address
// and -D FUZZING); built plainly, it replays corpus files given as arguments, which is how the
// tests keep every input ever found.

import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String, CaseIterable {
    case frames, http, dns, tls, mysql
    case rules, falco, replay, strace

    static var current: FuzzTarget {
        getenv("FUZZ_TARGET").flatMap { FuzzTarget(rawValue: String(cString: $0)) } ?? .frames
    }

    /// Runs one input; how many messages a dissector read of it (only crashes matter to the fuzzer;
    /// the count shows that a replayed corpus reaches the dissector), 0 for the parsers.
    @discardableResult
    func run(_ input: UnsafeRawBufferPointer) -> Int {
        switch self {
        case .frames: return dissect(input, as: .frames)
        case .http: return dissect(input, as: .http)
        case .dns: return dissect(input, as: .dns)
        case .tls: return dissect(input, as: .tls)
        case .mysql: return dissect(input, as: .mysql)
        case .rules: loadRules(Array(input))
        case .falco: importFalco(Array(input))
        case .replay: decodeReplay(Array(input))
        case .strace: parseStrace(Array(input))
        }
        return 0
    }
}

#if FUZZING
/// libFuzzer's driver, for programs with a main of their own (SwiftPM names the executable's).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.current.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_cdecl("sentinel_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOne)
}
#else
@main
struct CorpusReplay {
    /// `sentinel-fuzz TARGET FILE...`: each file through the target.
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: sentinel-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            exit(2)
        }
        var messages = 0
        for path in arguments.dropFirst() {
            guard let input = readWholeFile(path) else {
                print("sentinel-fuzz: cannot read \(path)")
                exit(2)
            }
            messages += input.withUnsafeBytes { target.run($0) }
        }
        print("sentinel-fuzz: \(arguments.count - 1) inputs through \(target.rawValue), no crash, \(messages) messages read")
    }
}
#endif
