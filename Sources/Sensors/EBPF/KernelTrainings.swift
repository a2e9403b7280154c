import BoSC
import CLibbpf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// BoSC trainings counted in the kernel (bpf/syscalls.bpf.c, `train`): which profile index each
/// training has, and the maps that hold their counts. The sensor starts and ends trainings on its
/// thread; a `bosc` rule reads the counts on the engine's (`KernelRequests.trainingCounts`), so
/// the index of each training is kept under a lock.
final class KernelTrainings: Sendable {
    private let trainingsFD: Int32
    private let bagsFD: Int32
    private let callsFD: Int32
    private let indexes = Mutex<[String: UInt32]>([:])

    init?(trainingsFD: Int32, bagsFD: Int32, callsFD: Int32) {
        guard trainingsFD >= 0, bagsFD >= 0, callsFD >= 0 else { return nil }
        self.trainingsFD = trainingsFD
        self.bagsFD = bagsFD
        self.callsFD = callsFD
    }

    func index(of profile: String) -> UInt32? { indexes.withLock { $0[profile] } }

    /// Starts counting `profile` at `index`, from zero, in epochs of `epoch` calls.
    func start(_ profile: String, index: UInt32, epoch: Int) {
        clear(index)
        var key = index
        var training = sentinel_bosc_training()
        training.epoch_length = UInt32(clamping: epoch)
        bpf_map_update_elem(trainingsFD, &key, &training, UInt64(BPF_ANY))
        indexes.withLock { $0[profile] = index }
    }

    /// Stops counting `profile` and empties what it counted; returns the index it had.
    func end(_ profile: String) -> UInt32? {
        guard let index = indexes.withLock({ $0.removeValue(forKey: profile) }) else { return nil }
        clear(index)
        return index
    }

    /// What the kernel counted for `profile` so far.
    func counts(of profile: String) -> KernelTrainingCounts? {
        guard let index = index(of: profile) else { return nil }
        var callCounts = [UInt64](repeating: 0, count: Int(SENTINEL_BOSC_CALLS))
        for call in 0..<UInt32(SENTINEL_BOSC_CALLS) {
            var key = index * UInt32(SENTINEL_BOSC_CALLS) + call
            var count: UInt64 = 0
            if bpf_map_lookup_elem(callsFD, &key, &count) == 0 { callCounts[Int(call)] = count }
        }
        var bags: [(calls: [UInt16], frequency: UInt64)] = []
        for key in bagKeys(of: index) {
            var key = key
            var bag = sentinel_bosc_training_bag()
            guard bpf_map_lookup_elem(bagsFD, &key, &bag) == 0 else { continue }
            let window = Int(min(bag.window, UInt32(SENTINEL_BOSC_WINDOW_MAX)))
            let calls = withUnsafeBytes(of: bag.calls) { Array($0.bindMemory(to: UInt16.self).prefix(window)) }.sorted()
            bags.append((calls, bag.frequency))
        }
        var key = index
        var training = sentinel_bosc_training()
        bpf_map_lookup_elem(trainingsFD, &key, &training)
        return KernelTrainingCounts(callCounts: callCounts, bags: bags, droppedBags: UInt64(training.dropped_bags))
    }

    /// The keys of the bags counted at `index`: the map holds every training's.
    private func bagKeys(of index: UInt32) -> [sentinel_bosc_bag] {
        var keys: [sentinel_bosc_bag] = []
        var current = sentinel_bosc_bag()
        var next = sentinel_bosc_bag()
        var status = bpf_map_get_next_key(bagsFD, nil, &next)
        while status == 0 {
            if next.profile == index { keys.append(next) }
            current = next
            status = bpf_map_get_next_key(bagsFD, &current, &next)
        }
        return keys
    }

    /// Zeroes the training, its call counts and its bags at `index`.
    private func clear(_ index: UInt32) {
        var key = index
        var training = sentinel_bosc_training()
        bpf_map_update_elem(trainingsFD, &key, &training, UInt64(BPF_ANY))
        var zero: UInt64 = 0
        for call in 0..<UInt32(SENTINEL_BOSC_CALLS) {
            var key = index * UInt32(SENTINEL_BOSC_CALLS) + call
            bpf_map_update_elem(callsFD, &key, &zero, UInt64(BPF_ANY))
        }
        for key in bagKeys(of: index) {
            var key = key
            bpf_map_delete_elem(bagsFD, &key)
        }
    }
}
