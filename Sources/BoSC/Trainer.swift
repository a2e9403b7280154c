import Engine

/// Learns a profile from a stream of calls, epoch by epoch, until it is stable: until the bags of
/// each epoch, counted, are as similar to the previous epoch's as `similarity` (cosine) for
/// `stableEpochs` epochs in a row.
///
/// Bags are counted by system-call number while training: which calls are rare enough to share the
/// "other" slot is known only once training ends. Each distinct bag keeps its calls, so that the
/// profile can fold them into slots then; the stability test compares these unfolded bags.
public final class BoSCTrainer {
    public enum Completion: String, Sendable {
        case stable, calls, duration
        /// The log or recording ended (offline training).
        case endOfInput = "end_of_input"
    }

    struct TrainingBag {
        var frequency: UInt64 = 0
        /// Occurrences in the epoch it was last seen in, and in the epoch before that one.
        var inEpoch: UInt64 = 0
        var inPreviousEpoch: UInt64 = 0
        var epochLastSeen = -1
        let calls: [UInt16]
    }

    public let parameters: BoSCParameters
    private(set) var callCounts = [UInt64](repeating: 0, count: BagHash.slotCount)
    private(set) var bags: [UInt64: TrainingBag] = [:]
    private var windows = WindowTable()
    private let identitySlots = (0..<BagHash.slotCount).map { UInt16($0) }

    public private(set) var calls: UInt64 = 0
    /// Whole epochs so far.
    public private(set) var epochs = 0
    private var callsInEpoch = 0
    /// Σ count² of this epoch's bags and of the previous epoch's, and Σ this·previous: their cosine
    /// similarity, kept up to date in O(1) per bag.
    private var normSquared: Double = 0
    private var previousNormSquared: Double = 0
    private var dotWithPrevious: Double = 0
    /// The similarity of the last whole epoch's bags with the epoch's before; nil after one epoch.
    public private(set) var similarity: Double?
    public private(set) var stableEpochsInRow = 0
    public private(set) var completion: Completion?
    public private(set) var started: UInt64?
    public private(set) var lastCallTime: UInt64 = 0

    public init(parameters: BoSCParameters) {
        self.parameters = parameters
    }

    /// Training as it was saved: the epoch in progress starts again, windows start empty, and the
    /// first whole epoch has no previous one to be compared with.
    init(parameters: BoSCParameters, restoring progress: TrainingProgress, callCounts: [UInt64], bags: [(calls: [UInt16], frequency: UInt64)]) {
        self.parameters = parameters
        self.callCounts = callCounts
        calls = progress.calls
        epochs = progress.epochs
        similarity = progress.similarity
        stableEpochsInRow = progress.stableEpochsInRow
        started = progress.started == 0 ? nil : progress.started
        lastCallTime = progress.lastCall
        for bag in bags {
            let hash = BagHash.of(slots: bag.calls)
            self.bags[hash, default: TrainingBag(calls: bag.calls)].frequency += bag.frequency
        }
    }

    public var progress: TrainingProgress {
        TrainingProgress(calls: calls, epochs: epochs, similarity: similarity, stableEpochsInRow: stableEpochsInRow,
                         started: started ?? 0, lastCall: lastCallTime, endedBy: completion)
    }

    /// Adds one call; true when it completed the training.
    @discardableResult
    public func observe(thread: Int64, call number: Int, time: UInt64 = 0) -> Bool {
        guard completion == nil else { return false }
        let call = storedCall(number)
        calls += 1
        callCounts[Int(call)] += 1
        if started == nil { started = time }
        lastCallTime = time
        let key = parameters.windows == .thread ? thread : 0
        let index = windows.index(of: key)
        let full = identitySlots.withUnsafeBufferPointer { slots in
            BagHash.values.withUnsafeBufferPointer { values in
                windows.windows[index].slide(call, size: parameters.window, slots: slots, values: values)
            }
        }
        if full { count(bag: windows.windows[index].hash, index: index) }
        callsInEpoch += 1
        if callsInEpoch == parameters.epoch { endEpoch() }
        endIfPastLimits(time: time)
        return completion != nil
    }

    /// Training ends after `training_calls` or `training_seconds`, stable or not.
    private func endIfPastLimits(time: UInt64) {
        if completion == nil, let limit = parameters.trainingCalls, calls >= limit { completion = .calls }
        if completion == nil, let limit = parameters.trainingSeconds, let started, time &- started >= UInt64(limit) * 1_000_000_000 {
            completion = .duration
        }
    }

    /// A thread exited: its window goes with it.
    public func forget(thread: Int64) {
        windows.forget(thread)
    }

    private func count(bag hash: UInt64, index: Int) {
        let epoch = epochs
        let counts = bags[hash, default: TrainingBag(calls: windows.windows[index].bag())].record(inEpoch: epoch)
        dotWithPrevious += Double(counts.inPreviousEpoch)
        normSquared += Double(2 * counts.inEpoch + 1)
    }

    private func endEpoch() {
        callsInEpoch = 0
        judgeStability(dot: dotWithPrevious, normSquared: normSquared, previousNormSquared: previousNormSquared)
        previousNormSquared = normSquared
        normSquared = 0
        dotWithPrevious = 0
    }

    /// One more whole epoch: stable if its bags' counts are as similar (cosine) to the previous
    /// epoch's as asked, long enough.
    private func judgeStability(dot: Double, normSquared: Double, previousNormSquared: Double) {
        epochs += 1
        if previousNormSquared > 0, normSquared > 0 {
            similarity = dot / (previousNormSquared * normSquared).squareRoot()
        } else {
            similarity = nil
        }
        if let similarity, similarity >= parameters.similarity {
            stableEpochsInRow += 1
        } else {
            stableEpochsInRow = 0
        }
        let trainedFor = lastCallTime &- (started ?? lastCallTime)
        if stableEpochsInRow >= parameters.stableEpochs, trainedFor >= UInt64(parameters.minimumTrainingSeconds) * 1_000_000_000 {
            completion = .stable
        }
    }

    /// An epoch counted in the kernel ended (bpf/syscalls.bpf.c counts bags as `observe` does, and
    /// sends each epoch's figures): the training goes on from them, its bags staying in the kernel
    /// until `absorb`. True when it completed the training.
    @discardableResult
    public func observeKernelEpoch(_ figures: BoSCEpoch.TrainingFigures, calls epochCalls: Int64, time: UInt64) -> Bool {
        guard completion == nil else { return false }
        calls += UInt64(max(0, epochCalls))
        if started == nil { started = time }
        lastCallTime = time
        judgeStability(dot: Double(figures.dot), normSquared: Double(figures.normSquared), previousNormSquared: Double(figures.previousNormSquared))
        endIfPastLimits(time: time)
        return completion != nil
    }

    /// Adds what the kernel counted (call counts by number, and bags) to this training's.
    public func absorb(_ counts: KernelTrainingCounts) {
        for (call, count) in counts.callCounts.enumerated() where call < callCounts.count { callCounts[call] += count }
        for bag in counts.bags {
            let hash = BagHash.of(slots: bag.calls)
            bags[hash, default: TrainingBag(calls: bag.calls)].frequency += bag.frequency
        }
    }

    /// A copy with the kernel's counts added, to save or fold into a profile while the kernel
    /// goes on counting.
    public func merged(with counts: KernelTrainingCounts) -> BoSCTrainer {
        let copy = BoSCTrainer(parameters: parameters, restoring: progress, callCounts: callCounts,
                               bags: bags.values.map { ($0.calls, $0.frequency) })
        copy.completion = completion
        copy.absorb(counts)
        return copy
    }

    /// Ends the training now, stable or not (an operator's decision, or a restart's).
    public func finish(_ reason: Completion) {
        if completion == nil { completion = reason }
    }

    public var distinctBags: Int { bags.count }
}

extension BoSCTrainer.TrainingBag {
    /// Counts one more occurrence in `epoch`; returns the counts in this epoch before it and in
    /// the previous epoch.
    mutating func record(inEpoch epoch: Int) -> (inEpoch: UInt64, inPreviousEpoch: UInt64) {
        if epochLastSeen != epoch {
            inPreviousEpoch = epochLastSeen == epoch - 1 ? inEpoch : 0
            inEpoch = 0
            epochLastSeen = epoch
        }
        defer {
            inEpoch += 1
            frequency += 1
        }
        return (inEpoch, inPreviousEpoch)
    }
}

/// How far a training went: the trainer's state besides its counts, saved with a training profile
/// and kept by a learnt one.
public struct TrainingProgress: Sendable, Equatable {
    public var calls: UInt64
    public var epochs: Int
    /// The last whole epoch's similarity with the one before; nil after one epoch.
    public var similarity: Double?
    public var stableEpochsInRow: Int
    /// The first and last calls' times, in nanoseconds since the epoch (of the calls' own clock:
    /// 0 for strace logs without times).
    public var started: UInt64
    public var lastCall: UInt64
    /// Why training ended; nil while it goes on.
    public var endedBy: BoSCTrainer.Completion?
}
