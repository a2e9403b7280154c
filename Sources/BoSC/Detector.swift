/// The verdict on an epoch of one stream (a container's calls): when it ends, and as soon as its
/// unknown bags pass the threshold, since they can only grow.
public struct EpochResult: Sendable, Equatable {
    public var stream: Int
    /// 1 for a stream's first epoch.
    public var epoch: Int
    public var calls: Int
    /// Bags not in the profile's database.
    public var mismatches: Int
    public var anomalous: Bool
    /// False for the early verdict, the moment an epoch's mismatches pass the threshold: an
    /// attack in a quiet container may take long to fill its epoch, or never do.
    public var complete: Bool
    /// What the first unknown bags held (up to `BoSCParameters.unknownBagsKept`), each its call
    /// numbers, sorted.
    public var unknownBags: [[UInt16]]
}

/// Judges streams of calls against one profile: windows slide per thread (or per stream), each
/// whole window's bag is looked up in the database, and each stream's epoch ends with a verdict.
/// Nothing is allocated per call.
public final class BoSCDetector {
    public private(set) var profile: BoSCProfile
    public let parameters: BoSCParameters
    /// Whether `learn` taught the profile since this was last cleared.
    public var profileChanged = false
    private var windows = WindowTable()
    private var epochs: [StreamEpoch] = []
    /// The kept unknown bags' calls, `unknownBagsKept × window` per stream.
    private var keptCalls: [UInt16] = []
    private let keptStride: Int

    struct StreamEpoch {
        var index = 0
        var calls = 0
        var mismatches = 0
        var kept = 0
    }

    public init(profile: BoSCProfile, parameters: BoSCParameters) {
        self.profile = profile
        self.parameters = parameters
        keptStride = BoSCParameters.unknownBagsKept * profile.window
    }

    /// Judges one call; returns the epoch's verdict when the epoch ends, and also when the call made
    /// it anomalous.
    @inline(__always)
    public func observe(stream: Int, thread: Int64, call number: Int) -> EpochResult? {
        if stream >= epochs.count { addStreams(upTo: stream) }
        let call = storedCall(number)
        let key = parameters.windows == .thread ? thread : Int64(stream)
        let index = windows.index(of: key)
        let full = profile.slots.withUnsafeBufferPointer { slots in
            BagHash.values.withUnsafeBufferPointer { values in
                windows.windows[index].slide(call, size: profile.window, slots: slots, values: values)
            }
        }
        var crossedThreshold = false
        if full, !profile.known.contains(windows.windows[index].hash) {
            recordMismatch(stream: stream, window: index)
            crossedThreshold = epochs[stream].mismatches == parameters.threshold + 1
        }
        epochs[stream].calls += 1
        if epochs[stream].calls == parameters.epoch { return endEpoch(stream: stream) }
        return crossedThreshold ? verdict(stream: stream, epoch: epochs[stream], complete: false) : nil
    }

    /// A thread exited: its window goes with it.
    public func forget(thread: Int64) {
        windows.forget(thread)
    }

    private func recordMismatch(stream: Int, window index: Int) {
        epochs[stream].mismatches += 1
        let kept = epochs[stream].kept
        guard kept < BoSCParameters.unknownBagsKept else { return }
        let window = windows.windows[index]
        let start = stream * keptStride + kept * profile.window
        for offset in 0..<profile.window { keptCalls[start + offset] = window.calls[offset] }
        epochs[stream].kept += 1
    }

    private func endEpoch(stream: Int) -> EpochResult {
        let result = verdict(stream: stream, epoch: epochs[stream], complete: true)
        epochs[stream] = StreamEpoch(index: epochs[stream].index + 1)
        if parameters.learn, !result.anomalous, !result.unknownBags.isEmpty {
            for bag in result.unknownBags { profile.add(calls: bag, frequency: 1) }
            profileChanged = true
        }
        return result
    }

    private func verdict(stream: Int, epoch: StreamEpoch, complete: Bool) -> EpochResult {
        let start = stream * keptStride
        let unknownBags = (0..<epoch.kept).map { bag in
            keptCalls[(start + bag * profile.window)..<(start + (bag + 1) * profile.window)].sorted()
        }
        return EpochResult(stream: stream, epoch: epoch.index + 1, calls: epoch.calls, mismatches: epoch.mismatches,
                           anomalous: epoch.mismatches > parameters.threshold, complete: complete, unknownBags: unknownBags)
    }

    private func addStreams(upTo stream: Int) {
        epochs.append(contentsOf: repeatElement(StreamEpoch(), count: stream + 1 - epochs.count))
        keptCalls.append(contentsOf: repeatElement(0, count: epochs.count * keptStride - keptCalls.count))
    }
}
