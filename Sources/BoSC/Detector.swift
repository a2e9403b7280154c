/// The verdict on an epoch of one stream (a container's calls): when it ends, and as soon as its
/// unknown bags pass the threshold, since they can only grow.
public struct EpochResult: Sendable, Equatable {
    public var stream: Int
    /// 1 for a stream's first epoch.
    public var epoch: Int
    public var calls: Int
    /// The whole windows judged: one per call once a thread's (or stream's) window is full.
    public var windows: Int
    /// Bags not in the profile's database.
    public var mismatches: Int
    /// Of those, the bags that held a call training never saw.
    public var unseenMismatches = 0
    public var anomalous: Bool
    /// False for the early verdict, the moment an epoch's mismatches pass the threshold: an
    /// attack in a quiet container may take long to fill its epoch, or never do.
    public var complete: Bool
    /// What the first unknown bags held (up to `BoSCParameters.unknownBagsKept`), each its call
    /// numbers, sorted.
    public var unknownBags: [[UInt16]]
    /// The stream ended before the epoch was whole (`finish`): fewer calls than an epoch's.
    public var partial = false

    public init(stream: Int, epoch: Int, calls: Int, windows: Int = 0, mismatches: Int, anomalous: Bool, complete: Bool, unknownBags: [[UInt16]]) {
        self.stream = stream
        self.epoch = epoch
        self.calls = calls
        self.windows = windows
        self.mismatches = mismatches
        self.anomalous = anomalous
        self.complete = complete
        self.unknownBags = unknownBags
    }
}

/// Judges streams of calls against one profile: windows slide per thread (or per stream), each
/// whole window's bag is looked up in the database, and each stream's epoch ends with a verdict.
/// Nothing is allocated per call.
public final class BoSCDetector {
    public private(set) var profile: BoSCProfile
    public let parameters: BoSCParameters
    /// Whether `learn` taught the profile since this was last cleared.
    public var profileChanged = false
    /// What changes per call, in memory of its own: a class's stored properties are checked for
    /// exclusive access at run time on every use, which cost 3x the whole detector here.
    private let state: UnsafeMutablePointer<DetectionState>

    public init(profile: BoSCProfile, parameters: BoSCParameters) {
        self.profile = profile
        self.parameters = parameters
        state = .allocate(capacity: 1)
        state.initialize(to: DetectionState(profile: profile, parameters: parameters))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Judges one call; returns the epoch's verdict when the epoch ends, and also when the call made
    /// it anomalous.
    @inline(__always)
    public func observe(stream: Int, thread: Int64, call number: Int) -> EpochResult? {
        switch state.pointee.observe(stream: stream, thread: thread, call: storedCall(number)) {
        case .nothing:
            return nil
        case .passedThreshold:
            return state.pointee.verdict(stream: stream, complete: false)
        case .ended:
            let result = state.pointee.verdict(stream: stream, complete: true)
            state.pointee.startEpoch(stream: stream)
            if parameters.learn, !result.anomalous { learn(result.unknownBags) }
            return result
        }
    }

    /// Adds the unknown bags of an epoch under the threshold to the profile (`learn`); returns the
    /// hashes that are new.
    @discardableResult
    public func learn(_ bags: [[UInt16]]) -> [UInt64] {
        let before = Set(profile.bags.keys)
        for bag in bags { profile.add(calls: bag, frequency: 1) }
        let added = profile.bags.keys.filter { !before.contains($0) }
        guard !added.isEmpty || !bags.isEmpty else { return [] }
        state.pointee.known = profile.known
        profileChanged = true
        return added
    }

    /// The stream ended: the verdict on its last, partial epoch, if it has calls. Offline, a
    /// trace shorter than an epoch gets a verdict this way, as the live rule would alert on it.
    public func finish(stream: Int) -> EpochResult? {
        guard stream < state.pointee.epochs.count, state.pointee.epochs[stream].calls > 0 else { return nil }
        var result = state.pointee.verdict(stream: stream, complete: true)
        result.partial = true
        state.pointee.startEpoch(stream: stream)
        return result
    }

    /// A thread exited: its window goes with it.
    public func forget(thread: Int64) {
        state.pointee.windows.forget(thread)
    }

    /// The stream begins again at its first epoch (a new container takes an ended one's number).
    public func restart(stream: Int) {
        guard stream < state.pointee.epochs.count else { return }
        state.pointee.epochs[stream] = DetectionState.StreamEpoch()
    }

    /// The unknown bags of the stream's epoch so far, and of those the ones holding a call
    /// training never saw: an evaluation watches them rise to learn when each threshold would have
    /// been passed.
    public func mismatchesSoFar(stream: Int) -> (all: Int, unseen: Int) {
        guard stream < state.pointee.epochs.count else { return (0, 0) }
        let epoch = state.pointee.epochs[stream]
        return (epoch.mismatches, epoch.unseenMismatches)
    }
}

struct DetectionState {
    enum Outcome {
        case nothing
        /// This call's bag made the epoch's mismatches pass the threshold.
        case passedThreshold
        case ended
    }

    struct StreamEpoch {
        var index = 0
        var calls = 0
        var windows = 0
        var mismatches = 0
        var unseenMismatches = 0
        var kept = 0
    }

    let window: Int
    let epochLength: Int
    let parameters: BoSCParameters
    let threshold: Int
    /// Past the threshold of unseen bags: `Int.max` when there is none.
    let newCallThreshold: Int
    let perThread: Bool
    let slots: [UInt16]
    let unseen: [Bool]
    let values = BagHash.values
    var known: BagHashSet
    var windows = WindowTable()
    var epochs: [StreamEpoch] = []
    /// The kept unknown bags' calls, `unknownBagsKept × window` per stream.
    var keptCalls: [UInt16] = []
    let keptStride: Int

    init(profile: BoSCProfile, parameters: BoSCParameters) {
        window = profile.window
        epochLength = parameters.epoch
        self.parameters = parameters
        threshold = parameters.threshold
        newCallThreshold = parameters.newCallThreshold ?? Int.max
        perThread = parameters.windows == .thread
        slots = profile.slots
        unseen = profile.unseenCalls
        known = profile.known
        keptStride = BoSCParameters.unknownBagsKept * profile.window
    }

    @inline(__always)
    mutating func observe(stream: Int, thread: Int64, call: UInt16) -> Outcome {
        if stream >= epochs.count { addStreams(upTo: stream) }
        let index = windows.index(of: perThread ? thread : Int64(stream))
        let full = slots.withUnsafeBufferPointer { slots in
            values.withUnsafeBufferPointer { values in
                windows.windows[index].slide(call, size: window, slots: slots, values: values)
            }
        }
        let since = unseen[Int(call)] ? 0 : min(windows.windows[index].sinceUnseen + 1, Int(Int16.max))
        windows.windows[index].sinceUnseen = since
        var outcome = Outcome.nothing
        if full { epochs[stream].windows += 1 }
        if full, !known.contains(windows.windows[index].hash) {
            let holdsUnseen = since < window
            recordMismatch(stream: stream, window: index, holdsUnseen: holdsUnseen)
            // The first of the two thresholds passed, once.
            let epoch = epochs[stream]
            if (epoch.mismatches == threshold + 1 && epoch.unseenMismatches <= newCallThreshold)
                || (holdsUnseen && epoch.unseenMismatches == newCallThreshold &+ 1 && epoch.mismatches <= threshold) {
                outcome = .passedThreshold
            }
        }
        epochs[stream].calls += 1
        return epochs[stream].calls == epochLength ? .ended : outcome
    }

    private mutating func recordMismatch(stream: Int, window index: Int, holdsUnseen: Bool) {
        epochs[stream].mismatches += 1
        if holdsUnseen { epochs[stream].unseenMismatches += 1 }
        let kept = epochs[stream].kept
        guard kept < BoSCParameters.unknownBagsKept else { return }
        let start = stream * keptStride + kept * window
        for offset in 0..<window { keptCalls[start + offset] = windows.windows[index].calls[offset] }
        epochs[stream].kept += 1
    }

    func verdict(stream: Int, complete: Bool) -> EpochResult {
        let epoch = epochs[stream]
        let start = stream * keptStride
        let unknownBags = (0..<epoch.kept).map { bag in
            keptCalls[(start + bag * window)..<(start + (bag + 1) * window)].sorted()
        }
        var result = EpochResult(stream: stream, epoch: epoch.index + 1, calls: epoch.calls, windows: epoch.windows, mismatches: epoch.mismatches,
                                 anomalous: parameters.isAnomalous(mismatches: epoch.mismatches, unseen: epoch.unseenMismatches),
                                 complete: complete, unknownBags: unknownBags)
        result.unseenMismatches = epoch.unseenMismatches
        return result
    }

    mutating func startEpoch(stream: Int) {
        epochs[stream] = StreamEpoch(index: epochs[stream].index + 1)
    }

    private mutating func addStreams(upTo stream: Int) {
        epochs.append(contentsOf: repeatElement(StreamEpoch(), count: stream + 1 - epochs.count))
        keptCalls.append(contentsOf: repeatElement(0, count: epochs.count * keptStride - keptCalls.count))
    }
}
