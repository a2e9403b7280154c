@testable import BoSC
import Engine

/// The package's root, found from this file's path, for the fixtures.
let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

let fixtures = packageRoot + "/Tests/BoSCTests/Fixtures"

/// One call of a test stream.
struct Call {
    var thread: Int64
    var number: Int
}

/// A stream like a program's: each of `threads` threads loops over its own short pattern of
/// calls from `alphabet`, with a random call now and then; threads interleave at random.
func programLikeStream(calls count: Int, threads: Int = 3, alphabet: [Int] = [0, 1, 3, 9, 10, 11, 12, 39, 56, 61, 202, 232],
                       noise: Int = 50, seed: UInt64) -> [Call] {
    var random = SplitMix64(seed: seed)
    let patterns = (0..<threads).map { _ in (0..<(5 + random.below(8))).map { _ in alphabet[random.below(alphabet.count)] } }
    var positions = [Int](repeating: 0, count: threads)
    return (0..<count).map { _ in
        let thread = random.below(threads)
        defer { positions[thread] += 1 }
        if random.below(1000) < noise { return Call(thread: Int64(100 + thread), number: alphabet[random.below(alphabet.count)]) }
        let pattern = patterns[thread]
        return Call(thread: Int64(100 + thread), number: pattern[positions[thread] % pattern.count])
    }
}

/// The algorithm written the plain way, as the paper describes it, to check the fast one against:
/// bags are count vectors, the database a dictionary of them.
struct ReferenceBoSC {
    let window: Int
    let perThread: Bool

    /// Whole windows of the stream, each as the sorted calls it held, in stream order.
    func windows(_ calls: [Call]) -> [(index: Int, calls: [Int])] {
        var recent: [Int64: [Int]] = [:]
        var result: [(Int, [Int])] = []
        for (index, call) in calls.enumerated() {
            let key = perThread ? call.thread : 0
            var calls = recent[key, default: []]
            calls.append(call.number)
            if calls.count > window { calls.removeFirst() }
            recent[key] = calls
            if calls.count == window { result.append((index, calls.sorted())) }
        }
        return result
    }

    /// The index map: calls seen fewer times than there are distinct calls share "other".
    func slotCalls(_ calls: [Call]) -> [Int] {
        var counts: [Int: Int] = [:]
        for call in calls { counts[call.number, default: 0] += 1 }
        return counts.filter { $0.value >= counts.count }.keys.sorted()
    }

    func fold(_ bag: [Int], slotCalls: [Int]) -> [Int] {
        bag.map { slotCalls.firstIndex(of: $0) ?? slotCalls.count }.sorted()
    }

    func database(_ calls: [Call], slotCalls: [Int]) -> [[Int]: UInt64] {
        windows(calls).reduce(into: [:]) { database, window in database[fold(window.calls, slotCalls: slotCalls), default: 0] += 1 }
    }

    /// Mismatches per whole epoch of `epoch` calls.
    func mismatches(_ calls: [Call], database: [[Int]: UInt64], slotCalls: [Int], epoch: Int) -> [Int] {
        var perEpoch = [Int](repeating: 0, count: calls.count / epoch)
        for window in windows(calls) where database[fold(window.calls, slotCalls: slotCalls)] == nil && window.index / epoch < perEpoch.count {
            perEpoch[window.index / epoch] += 1
        }
        return perEpoch
    }

    /// The cosine similarity of each whole epoch's (unfolded) bag counts with the epoch's before.
    func similarities(_ calls: [Call], epoch: Int) -> [Double?] {
        var counts: [[Int]: Double] = [:]
        var previous: [[Int]: Double] = [:]
        var result: [Double?] = []
        let windowsByIndex = Dictionary(grouping: windows(calls), by: \.index)
        for index in calls.indices {
            for window in windowsByIndex[index] ?? [] { counts[window.calls, default: 0] += 1 }
            guard (index + 1) % epoch == 0 else { continue }
            let dot = counts.reduce(0.0) { $0 + $1.value * (previous[$1.key] ?? 0) }
            let norms = counts.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot() * previous.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            result.append(norms > 0 ? dot / norms : nil)
            previous = counts
            counts = [:]
        }
        return result
    }
}

func train(_ calls: [Call], _ parameters: BoSCParameters) -> BoSCTrainer {
    let trainer = BoSCTrainer(parameters: parameters)
    for call in calls { trainer.observe(thread: call.thread, call: call.number) }
    return trainer
}

func parameters(window: Int = 10, epoch: Int = 1000, threshold: Int = 10, windows: BoSCParameters.Windows = .thread,
                stableEpochs: Int = 3, learn: Bool = false) -> BoSCParameters {
    var parameters = BoSCParameters()
    parameters.window = window
    parameters.epoch = epoch
    parameters.threshold = threshold
    parameters.windows = windows
    parameters.stableEpochs = stableEpochs
    parameters.learn = learn
    parameters.minimumTrainingSeconds = 0  // the published algorithm: the calls here have no time
    return parameters
}

/// The verdicts on every whole epoch of `calls`, in one stream.
func judge(_ calls: [Call], with detector: BoSCDetector) -> [EpochResult] {
    calls.compactMap { detector.observe(stream: 0, thread: $0.thread, call: $0.number) }.filter(\.complete)
}
