import BoSC
import CLibbpf
import Engine

#if canImport(Glibc)
import Glibc
#endif

/// The sensor's side of BoSC in the kernel (bpf/syscalls.bpf.c): carries out what `bosc` rules ask
/// (`KernelRequests`) by writing each container's mode and profile (or training) into the maps,
/// and turns the kernel's unknown-bag, epoch and training-epoch records into `boscepoch` events.
final class KernelJudge {
    private let containersFD: Int32
    private let callValuesFD: Int32
    private let knownFD: Int32
    private let trainings: KernelTrainings?
    private let onWarning: (String) -> Void
    /// Whether the host's calls reach the rules; if not, its cgroups must never have an entry (the
    /// program takes an entry for a watched cgroup).
    private let includeHost: Bool

    /// A profile loaded into the maps: its index there, its bags, and how many containers use it.
    private struct LoadedProfile {
        var index: UInt32
        var hashes: Set<UInt64>
        var users: Int
    }

    private var loaded: [String: LoadedProfile] = [:]
    private var freeIndexes = Array((0..<UInt32(SENTINEL_BOSC_PROFILES)).reversed())
    /// What each container should be, kept to apply to cgroups learnt later.
    private(set) var wanted: [String: KernelRequests.Request] = [:]
    private var cgroupsOfContainer: [String: [UInt64]] = [:]
    private var generation: UInt32 = 0
    /// Unknown bags of each cgroup's current epoch, until its verdict.
    private var unknownBags: [UInt64: (epoch: UInt32, bags: [[UInt16]])] = [:]

    init(containersFD: Int32, callValuesFD: Int32, knownFD: Int32, trainings: KernelTrainings?, includeHost: Bool,
         onWarning: @escaping (String) -> Void) {
        self.trainings = trainings
        self.includeHost = includeHost
        self.containersFD = containersFD
        self.callValuesFD = callValuesFD
        self.knownFD = knownFD
        self.onWarning = onWarning
    }

    // MARK: - Requests

    func apply(_ request: KernelRequests.Request) {
        switch request {
        case .stream(let container), .ignore(let container):
            release(container)
            want(request, for: container)
        case .judge(let container, let profile, _):
            // First, so that the profile it was judged by may make room for this one.
            release(container)
            guard load(profile) else {
                onWarning("bosc: container \(container.prefix(12)) cannot be judged in the kernel: \(SENTINEL_BOSC_PROFILES) profiles are in use; its calls are streamed")
                want(.stream(container: container), for: container)
                return
            }
            want(request, for: container)
            loaded[profile.name]?.users += 1
        case .train(let container, let profile, _, let epoch, _):
            release(container)
            guard startTraining(profile, epoch: epoch) else {
                onWarning("bosc: container \(container.prefix(12)) cannot train in the kernel: \(SENTINEL_BOSC_PROFILES) profiles are in use; its calls are streamed")
                want(.stream(container: container), for: container)
                return
            }
            want(request, for: container)
        case .endTraining(let profile):
            if let index = trainings?.end(profile) { freeIndexes.append(index) }
        case .learn(let name, let hashes):
            guard var profile = loaded[name] else { return }
            let new = hashes.filter { profile.hashes.insert($0).inserted }
            loaded[name] = profile
            insertKnown(new, index: profile.index)
        }
    }

    /// A cgroup's container (or the host, whose cgroups are many) became known: it takes what was
    /// asked for the container. The host's cgroups matter only with --include-host, when the
    /// host's calls reach the rules and a `bosc` rule that does not watch them asks to stop them.
    func learnt(cgroup: UInt64, container: String) {
        guard includeHost || container != ContainerRecord.hostID else { return }
        cgroupsOfContainer[container, default: []].append(cgroup)
        if let request = wanted[container] { write(request, cgroup: cgroup) }
    }

    /// Forgets the cgroups that no longer exist (their containers are gone): their map entries,
    /// and the profiles' use by their containers. A request for a container with no cgroup known
    /// goes too: a container's cgroup is learnt before its first event reaches a rule, so its
    /// cgroups were forgotten before the request came.
    func forgetCgroups(notIn existing: Set<UInt64>) {
        for container in wanted.keys where cgroupsOfContainer[container] == nil {
            release(container)
            wanted[container] = nil
        }
        for (container, cgroups) in cgroupsOfContainer {
            let gone = cgroups.filter { !existing.contains($0) }
            guard !gone.isEmpty else { continue }
            for cgroup in gone {
                var key = cgroup
                bpf_map_delete_elem(containersFD, &key)
                unknownBags[cgroup] = nil
            }
            let remaining = cgroups.filter { existing.contains($0) }
            if remaining.isEmpty {
                release(container)
                wanted[container] = nil
                cgroupsOfContainer[container] = nil
            } else {
                cgroupsOfContainer[container] = remaining
            }
        }
    }

    /// Makes `request` the container's, for its cgroups known now and learnt later.
    private func want(_ request: KernelRequests.Request, for container: String) {
        wanted[container] = request
        for cgroup in cgroupsOfContainer[container] ?? [] { write(request, cgroup: cgroup) }
    }

    /// The container no longer uses the profile it was judged by.
    private func release(_ container: String) {
        guard case .judge(_, let profile, _)? = wanted[container] else { return }
        loaded[profile.name]?.users -= 1
    }

    private func write(_ request: KernelRequests.Request, cgroup: UInt64) {
        var key = cgroup
        var value = sentinel_bosc_container()
        switch request {
        case .stream: value.mode = SENTINEL_BOSC_STREAM.rawValue
        case .ignore: value.mode = 0
        case .judge(_, let profile, let streamAll):
            guard let index = loaded[profile.name]?.index else { return }
            generation &+= 1
            value.mode = SENTINEL_BOSC_JUDGE.rawValue | (streamAll ? SENTINEL_BOSC_STREAM.rawValue : 0)
            value.profile = index
            value.generation = generation
            value.window = UInt32(profile.window)
            value.epoch_length = UInt32(clamping: profile.epoch)
            value.threshold = UInt32(clamping: profile.threshold)
            value.new_call_threshold = profile.newCallThreshold.map { UInt32(clamping: $0) } ?? UInt32.max
        case .train(_, let profile, let window, _, let streamAll):
            guard let index = trainings?.index(of: profile) else { return }
            generation &+= 1
            value.mode = SENTINEL_BOSC_TRAIN.rawValue | (streamAll ? SENTINEL_BOSC_STREAM.rawValue : 0)
            value.profile = index
            value.generation = generation
            value.window = UInt32(window)
        case .learn, .endTraining: return
        }
        unknownBags[cgroup] = nil
        if bpf_map_update_elem(containersFD, &key, &value, UInt64(BPF_ANY)) != 0 {
            onWarning("bosc: cannot set the kernel's mode for cgroup \(cgroup): \(String(cString: strerror(errno)))")
        }
    }

    /// Loads a profile's call values and bags, unless it is loaded already; false when every
    /// index is taken by a profile in use.
    private func load(_ profile: KernelProfile) -> Bool {
        if loaded[profile.name] != nil { return true }
        guard let index = takeIndex() else { return false }
        writeCallValues(profile.callValues, unseen: profile.unseenCalls, index: index)
        loaded[profile.name] = LoadedProfile(index: index, hashes: Set(profile.knownHashes), users: 0)
        insertKnown(profile.knownHashes, index: index)
        return true
    }

    /// Starts counting a training profile in the kernel, unless it counts already; false when every
    /// index is taken. A training keeps its index until the rule ends it, its containers gone or
    /// not: its counts are the rule's until it has read them.
    private func startTraining(_ profile: String, epoch: Int) -> Bool {
        guard let trainings else { return false }
        if trainings.index(of: profile) != nil { return true }
        guard let index = takeIndex() else { return false }
        // While training, every call is its own slot: bags are counted by call number.
        writeCallValues(BagHash.values, unseen: [], index: index)
        trainings.start(profile, index: index, epoch: epoch)
        return true
    }

    /// A free index for a profile, taken from an unused loaded profile if need be.
    private func takeIndex() -> UInt32? {
        if freeIndexes.isEmpty, let unused = loaded.first(where: { $0.value.users <= 0 }) {
            unload(unused.key)
        }
        return freeIndexes.popLast()
    }

    private func writeCallValues(_ values: [UInt64], unseen: [Bool], index: UInt32) {
        for (call, value) in values.enumerated() {
            var key = index * UInt32(SENTINEL_BOSC_CALLS) + UInt32(call)
            var entry = sentinel_bosc_call(value: value, unseen: call < unseen.count && unseen[call] ? 1 : 0, reserved: 0)
            bpf_map_update_elem(callValuesFD, &key, &entry, UInt64(BPF_ANY))
        }
    }

    private func unload(_ name: String) {
        guard let profile = loaded.removeValue(forKey: name) else { return }
        for hash in profile.hashes {
            var key = sentinel_bosc_bag(profile: profile.index, reserved: 0, hash: hash)
            bpf_map_delete_elem(knownFD, &key)
        }
        freeIndexes.append(profile.index)
    }

    private func insertKnown<Hashes: Sequence<UInt64>>(_ hashes: Hashes, index: UInt32) {
        var one: UInt8 = 1
        var failed = 0
        for hash in hashes {
            var key = sentinel_bosc_bag(profile: index, reserved: 0, hash: hash)
            if bpf_map_update_elem(knownFD, &key, &one, UInt64(BPF_ANY)) != 0 { failed += 1 }
        }
        if failed > 0 {
            onWarning("bosc: \(failed) known bags could not be loaded into the kernel (\(String(cString: strerror(errno)))); their windows will count as unknown")
        }
    }

    // MARK: - Records

    /// An unknown bag: kept until its epoch's verdict.
    func unknownBag(_ record: UnsafeRawPointer, size: Int, cgroup: UInt64) -> Bool {
        guard size >= MemoryLayout<sentinel_bosc_unknown_bag>.size else { return false }
        let bag = record.loadUnaligned(as: sentinel_bosc_unknown_bag.self)
        let window = Int(min(bag.window, UInt32(SENTINEL_BOSC_WINDOW_MAX)))
        let calls = withUnsafeBytes(of: bag.calls) { Array($0.bindMemory(to: UInt16.self).prefix(window)) }.sorted()
        if unknownBags[cgroup]?.epoch != bag.epoch_index { unknownBags[cgroup] = (bag.epoch_index, []) }
        if unknownBags[cgroup]!.bags.count < BoSCParameters.unknownBagsKept { unknownBags[cgroup]!.bags.append(calls) }
        return true
    }

    /// A training epoch's end, with its figures.
    func trainingEpoch(_ record: UnsafeRawPointer, size: Int) -> BoSCEpoch? {
        guard size >= MemoryLayout<sentinel_bosc_training_epoch>.size else { return nil }
        let epoch = record.loadUnaligned(as: sentinel_bosc_training_epoch.self)
        let figures = BoSCEpoch.TrainingFigures(normSquared: epoch.norm_squared, previousNormSquared: epoch.previous_norm_squared,
                                                dot: epoch.dot, droppedBags: UInt64(epoch.dropped_bags))
        return BoSCEpoch(epoch: Int64(epoch.epoch_index) + 1, calls: Int64(epoch.calls), mismatches: 0, complete: true, unknownBags: [],
                         training: figures)
    }

    /// An epoch's verdict, with the unknown bags seen so far in it.
    func epoch(_ record: UnsafeRawPointer, size: Int, cgroup: UInt64) -> BoSCEpoch? {
        guard size >= MemoryLayout<sentinel_bosc_epoch>.size else { return nil }
        let verdict = record.loadUnaligned(as: sentinel_bosc_epoch.self)
        let bags = unknownBags[cgroup]?.epoch == verdict.epoch_index ? unknownBags[cgroup]!.bags : []
        if verdict.complete != 0 { unknownBags[cgroup] = nil }
        var epoch = BoSCEpoch(epoch: Int64(verdict.epoch_index) + 1, calls: Int64(verdict.calls), mismatches: Int64(verdict.mismatches),
                              complete: verdict.complete != 0, unknownBags: bags)
        epoch.unseenMismatches = Int64(verdict.unseen_mismatches)
        return epoch
    }
}
