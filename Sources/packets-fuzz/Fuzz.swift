// The dissectors under libFuzzer. Each input becomes traffic for one dissector (FUZZ_TARGET:
// frames, http, dns, tls, mysql): raw frames, or a TCP conversation whose first byte says where
// the rest is cut into segments and which side sends it. Built with fuzz/run (-sanitize=fuzzer,
// address and -D FUZZING); built plainly, it replays corpus files given as arguments, which is how
// the tests keep every input ever found.

import Engine
import Packets
import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String, CaseIterable {
    case frames, http, dns, tls, mysql

    static var current: FuzzTarget {
        getenv("FUZZ_TARGET").flatMap { FuzzTarget(rawValue: String(cString: $0)) } ?? .frames
    }

    var serverPort: UInt16 {
        switch self {
        case .frames, .http: 80
        case .dns: 53
        case .tls: 443
        case .mysql: 3306
        }
    }
}

/// One input through a fresh dissector; how many messages it read (only crashes matter to the
/// fuzzer; the count shows the replayed corpus reaches the dissector).
@discardableResult
func dissect(_ input: UnsafeRawBufferPointer, as target: FuzzTarget) -> Int {
    let dissector = TrafficDissector()
    var frames: [[UInt8]]
    if target == .frames {
        frames = [Array(input)]
    } else {
        guard let control = input.first else { return 0 }
        let body = Array(input.dropFirst())
        var builder = FrameBuilder()
        builder.server.port = target.serverPort
        frames = builder.open()
        if target == .mysql { frames.append(builder.segment(fromClient: false, SamplePayloads.mysqlGreeting)) }
        if target == .dns, control & 0x80 != 0 {
            frames = [builder.datagram(fromClient: control & 0x40 == 0, body)]
        } else {
            // Up to three segments, cut where the control byte says, from the side it says.
            let cut = body.isEmpty ? 0 : Int(control & 0x3F) % body.count
            let fromClient = control & 0x40 == 0
            for piece in [body[..<cut], body[cut...]] where !piece.isEmpty {
                frames.append(builder.segment(fromClient: fromClient, Array(piece)))
            }
        }
    }
    var messages = 0
    for (index, frame) in frames.enumerated() {
        frame.withUnsafeBytes { bytes in dissector.frame(bytes, linkType: .ethernet, time: UInt64(index) * 1000) { _ in messages += 1 } }
    }
    return messages
}

#if FUZZING
/// libFuzzer's driver, for programs with a main of their own (SwiftPM names the executable's).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    dissect(UnsafeRawBufferPointer(start: data, count: size), as: FuzzTarget.current)
    return 0
}

@_cdecl("packets_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOne)
}
#else
@main
struct CorpusReplay {
    /// `packets-fuzz TARGET FILE...`: each file through the target's dissector.
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: packets-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            exit(2)
        }
        var messages = 0
        for path in arguments.dropFirst() {
            guard let input = readWholeFile(path) else {
                print("packets-fuzz: cannot read \(path)")
                exit(2)
            }
            messages += input.withUnsafeBytes { dissect($0, as: target) }
        }
        print("packets-fuzz: \(arguments.count - 1) inputs through \(target.rawValue), no crash, \(messages) messages read")
    }
}
#endif
