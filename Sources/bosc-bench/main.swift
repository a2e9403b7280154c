// The user-space BoSC detector's speed on a recorded stream:
// `swift run -c release bosc-bench FILE [passes]`, FILE a recording (`sentinel record --syscalls`)
// or an `strace -f` log.
//
// The calls are read and decoded first; the timing covers the detector alone: each call's window
// slide, bag hash and database lookup, and the epoch verdicts. The first half of the stream trains
// the profile, the second half is judged `passes` times, and the median pass is reported. Run it
// under bench/count-allocations.so (LD_PRELOAD) to count the allocations of the judged passes.

import BoSC
import Engine
import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

struct Call {
    var stream: Int32
    var number: Int32
    var thread: Int64
}

func readCalls(_ path: String) -> [Call] {
    var calls: [Call] = []
    if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
        guard let bytes = readWholeFile(path) else { fatalError("cannot read \(path)") }
        var streams: [String: Int32] = [:]
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            let diagnostics = Diagnostics()
            guard let event = EventCodec.decodeLine(Array(line), file: path, line: lineNumber, diagnostics: diagnostics) else {
                fatalError("\(diagnostics.all.map(\.description).joined(separator: "\n"))")
            }
            guard case .syscall(let number) = event.payload else { continue }
            let id = event.containerID ?? "host"
            let stream = streams[id] ?? Int32(streams.count)
            streams[id] = stream
            calls.append(Call(stream: stream, number: Int32(number), thread: event.tid))
        }
    } else if let problem = StraceLog.read(path: path, { line in
        if case .call(let thread, let number) = line { calls.append(Call(stream: 0, number: Int32(number), thread: thread)) }
    }) {
        fatalError(problem.description)
    }
    return calls
}

func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The allocation counter of bench/count-allocations.so, when it is preloaded.
let allocationCount: (@convention(c) () -> UInt64)? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sentinel_allocation_count")
    .map { unsafeBitCast($0, to: (@convention(c) () -> UInt64).self) }

guard CommandLine.arguments.count > 1 else {
    print("usage: bosc-bench FILE [passes]   (FILE: a recording with system calls, or an strace -f log)")
    exit(2)
}
let path = CommandLine.arguments[1]
let passes = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 5 : 5
let calls = readCalls(path)
let half = calls.count / 2
guard half > 10_000 else {
    print("\(path): \(calls.count) system calls; at least 20,000 are needed")
    exit(2)
}

var parameters = BoSCParameters()
parameters.similarity = 2  // learn the whole first half
let trainer = BoSCTrainer(parameters: parameters)
let trainingStart = now()
for call in calls[..<half] { trainer.observe(thread: call.thread, call: Int(call.number)) }
let trainingRate = Double(half) / (Double(now() - trainingStart) / 1e9)
let profile = BoSCProfile(trainer: trainer, key: .image, value: path)
let judged = Array(calls[half...])
print("bosc-bench: \(path): \(calls.count) calls; trained on \(half) at \(Int(trainingRate / 1e6)).\(Int(trainingRate / 1e4) % 100) million calls/s: \(profile.bags.count) bags, \(profile.slotCalls.count) calls with slots")

var rates: [Double] = []
var epochs = 0
var flagged = 0
var allocations: UInt64 = 0
for _ in 0..<passes {
    let detector = BoSCDetector(profile: profile, parameters: parameters)
    epochs = 0
    flagged = 0
    // A first, untimed call creates the stream's state.
    _ = detector.observe(stream: Int(judged[0].stream), thread: judged[0].thread, call: Int(judged[0].number))
    let allocationsBefore = allocationCount?() ?? 0
    let start = now()
    judged.withUnsafeBufferPointer { calls in
        for call in calls[1...] {
            guard let result = detector.observe(stream: Int(call.stream), thread: call.thread, call: Int(call.number)), result.complete else { continue }
            epochs += 1
            if result.anomalous { flagged += 1 }
        }
    }
    let elapsed = now() - start
    allocations = (allocationCount?() ?? 0) - allocationsBefore
    rates.append(Double(judged.count - 1) / (Double(elapsed) / 1e9))
}
rates.sort()
let median = rates[rates.count / 2]
print("bosc-bench: judged \(judged.count - 1) calls in \(epochs) epochs (\(flagged) anomalous), \(passes) passes")
print("bosc-bench: median \(Int(median / 1e6)).\(Int(median / 1e4) % 100) million calls/s on one core (min \(Int(rates.first! / 1e6)), max \(Int(rates.last! / 1e6)))")
if allocationCount != nil {
    print("bosc-bench: allocations in the last pass: \(allocations) (\(epochs) epoch verdicts; \(judged.count - 1) calls)")
} else {
    print("bosc-bench: allocations not counted (run with LD_PRELOAD=.build/bench/count-allocations.so)")
}
