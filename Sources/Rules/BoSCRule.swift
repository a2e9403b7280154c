import BoSC
import Engine
import Synchronization
import SentinelJSON

/// `"type": "bosc"`: the Bag of System Calls anomaly detector as a rule. Each profile (an image's,
/// by default) trains on its containers' calls until it is stable, then judges them epoch by
/// epoch; an epoch with more unknown bags than the threshold is the rule's alert. Profiles live in
/// the state directory when one is opened, and are in memory only otherwise.
///
/// Live, with `kernel` set, the kernel counts a training profile's bags and reports each epoch's
/// figures (`boscepoch` events with `training`), from which the trainer here tells when the
/// profile is stable; its bags are read from the kernel then. A learnt profile is handed to the
/// kernel, which judges every call and reports only epochs. Replayed calls, and windows per
/// container, are trained on and judged here.
public final class BoSCRule: BuiltinRule, RuleType, StatefulRule {
    public static let name = "bosc"
    public static let parameterNames = BoSCParameters.names
    public static let observedEventTypes: Set<EventType>? = [.syscall, .procexit, .boscepoch]
    public static let defaultOutput = "System calls unlike the profile of %bosc.profile: more than %bosc.threshold unknown bags in epoch "
        + "%bosc.epoch (%bosc.mismatches in its first %bosc.calls calls); calls in them: %bosc.syscalls; never seen in training: "
        + "%bosc.new_syscalls (container=%container.name image=%container.image)"
    /// Training progress is saved this often (event time), besides when training ends and at exit.
    static let saveInterval: UInt64 = 60 * 1_000_000_000
    /// The most calls named in `bosc.syscalls`.
    static let namesShown = 12

    public static let findingFields = ["bosc.profile", "bosc.epoch", "bosc.calls", "bosc.mismatches", "bosc.threshold",
                                "bosc.syscalls", "bosc.new_syscalls"]
    public var findingFields: [String] { Self.findingFields }
    public let parameters: BoSCParameters
    /// Told when a profile is loaded, starts training or finishes it; the command line prints these.
    public var notice: (String) -> Void = { _ in }
    /// Where to ask for containers' calls to be streamed or judged in the kernel; nil to judge
    /// every call here (replays).
    public private(set) var kernel: KernelRequests?
    /// Calls of containers whose profile key (the image) was not known yet: passed over.
    public private(set) var unattributedCalls: UInt64 = 0
    /// Epochs judged against a profile, here or in the kernel.
    private var epochsJudged: UInt64 = 0
    private let published = Mutex<[MetricReading]>([])

    private var profiles: [String: ProfileSlot] = [:]
    private var store: ProfileStore?
    private var lastSave: UInt64 = 0
    /// The last container seen, to find its profile without a lookup by string per call.
    private var lastContainer: ObjectIdentifier?
    private var lastSlot: ProfileSlot?
    /// Containers this rule's condition does not select, told to the kernel once.
    private var passedOverContainers: Set<ObjectIdentifier> = []

    /// One profile's phase, and its containers.
    final class ProfileSlot {
        enum Phase {
            case training(BoSCTrainer)
            case detecting(BoSCDetector)
        }

        /// A container of the profile: its stream number, and whether the kernel trains or judges it.
        struct Member {
            let stream: Int
            let id: String
            var inKernel = false
            /// The last epoch an alert was raised for (the kernel sends an early and a final verdict).
            var alertedEpoch = 0
        }

        let value: String
        /// The image's name when the profile was made (with profiles by image id, `value` is a digest).
        let image: String
        var phase: Phase
        var members: [ObjectIdentifier: Member] = [:]
        /// Stream numbers of containers that ended, for the next ones: a host runs many
        /// containers over time, and each stream holds an epoch's state.
        var freeStreams: [Int] = []
        var streamCount = 0
        /// Training progress not saved yet.
        var unsaved = false

        init(value: String, image: String, phase: Phase) {
            self.value = value
            self.image = image
            self.phase = phase
        }

        /// How notices and alerts name the profile: `repository:tag (sha256:123456789abc)` by image
        /// id, the value itself otherwise.
        var name: String {
            guard value.hasPrefix("sha256:") else { return value }
            let digest = value.prefix(19)
            return image.isEmpty ? String(digest) : "\(image) (\(digest))"
        }
    }

    init(parameters: BoSCParameters) {
        self.parameters = parameters
    }

    public static func make(params: JSONObjectCursor, diagnostics: Diagnostics) -> BuiltinRule? {
        BoSCParameters.parse(params, diagnostics: diagnostics).map(BoSCRule.init)
    }

    public func fresh() -> BuiltinRule { BoSCRule(parameters: parameters) }

    // MARK: - State

    public func openState(directory: String, diagnostics: Diagnostics) throws(FileError) {
        let store = ProfileStore(directory: directory)
        try store.create()
        self.store = store
        for stored in store.loadAll(parameters: parameters, diagnostics: diagnostics) where stored.key == parameters.profile {
            if let problem = mismatch(stored) {
                notice("bosc: the saved profile of \(stored.value) \(problem); it trains again")
                continue
            }
            switch stored {
            case .training(_, let value, let image, let trainer):
                let slot = ProfileSlot(value: value, image: image, phase: .training(trainer))
                profiles[value] = slot
                notice("bosc: \(slot.name): training goes on after \(trainer.epochs) epochs")
            case .detecting(let profile):
                let slot = ProfileSlot(value: profile.value, image: profile.image, phase: .detecting(BoSCDetector(profile: profile, parameters: parameters)))
                profiles[profile.value] = slot
                notice("bosc: \(slot.name): profile loaded, \(profile.bags.count) bags; detecting")
            }
        }
    }

    /// Why a saved profile does not fit this rule's parameters, if it does not.
    private func mismatch(_ stored: StoredProfile) -> String? {
        let (window, windows): (Int, BoSCParameters.Windows)
        switch stored {
        case .training(_, _, _, let trainer): (window, windows) = (trainer.parameters.window, trainer.parameters.windows)
        case .detecting(let profile): (window, windows) = (profile.window, profile.windows)
        }
        if window != parameters.window { return "has windows of \(window) calls, the rule \(parameters.window)" }
        if windows != parameters.windows { return "has windows per \(windows.rawValue), the rule per \(parameters.windows.rawValue)" }
        return nil
    }

    public func attach(to kernel: KernelRequests) {
        self.kernel = kernel
    }

    public func publishMetrics() {
        var training = 0, detecting = 0
        for slot in profiles.values {
            if case .training = slot.phase { training += 1 } else { detecting += 1 }
        }
        let containers = profiles.values.reduce(0) { $0 + $1.members.count }
        published.withLock {
            $0 = [MetricReading("bosc_profiles", "Profiles of a BoSC rule, per phase.", kind: .gauge, labels: [("phase", "training")], UInt64(training)),
                  MetricReading("bosc_profiles", "", kind: .gauge, labels: [("phase", "detecting")], UInt64(detecting)),
                  MetricReading("bosc_containers", "Containers a BoSC rule trains on or judges now.", kind: .gauge, UInt64(containers)),
                  MetricReading("bosc_epochs_judged_total", "Epochs a BoSC rule judged against a profile.", epochsJudged),
                  MetricReading("bosc_unattributed_calls_total", "System calls not judged: their container's image was not known yet.", unattributedCalls)]
        }
    }

    public var metrics: [MetricReading] { published.withLock { $0 } }

    public var closingReport: [String] {
        unattributedCalls == 0 ? [] : ["\(unattributedCalls) system calls not judged: their container's image was not known yet"]
    }

    public func saveState() -> [String] {
        guard let store else { return [] }
        var problems: [String] = []
        for slot in profiles.values {
            do {
                switch slot.phase {
                case .training(let trainer) where slot.unsaved:
                    let counted = kernel?.trainingCounts(profile: slot.value).map { trainer.merged(with: $0) } ?? trainer
                    try store.save(.training(key: parameters.profile, value: slot.value, image: slot.image, trainer: counted))
                case .detecting(let detector) where detector.profileChanged:
                    try store.save(.detecting(detector.profile))
                    detector.profileChanged = false
                default:
                    break
                }
                slot.unsaved = false
            } catch {
                problems.append(error.description)
            }
        }
        return problems
    }

    // MARK: - Events

    public func observe(_ context: EventContext) -> [String: FieldValue]? {
        let event = context.event
        // The host is not an image: its calls are every process's outside containers, with no
        // normal to learn. With --include-host its calls reach the rule, which sends them back.
        guard !context.container.isHost else {
            passedOver(context)
            return nil
        }
        guard let slot = slot(for: context.container) else {
            if event.type == .syscall { unattributedCalls += 1 }
            return nil
        }
        let identifier = ObjectIdentifier(context.container)
        switch event.payload {
        case .syscall(let number):
            // Once the kernel trains or judges a container, the calls still streamed are those
            // signature rules name: a sparse sample that would make bags of noise here.
            guard slot.members[identifier]?.inKernel != true else { return nil }
            return judge(call: Int(number), thread: event.tid, time: event.time, slot: slot, member: identifier)
        case .boscEpoch(let epoch):
            saveIfDue(time: event.time)
            if let figures = epoch.training {
                kernelTrainingEpoch(figures, calls: epoch.calls, time: event.time, slot: slot)
                return nil
            }
            return kernelVerdict(epoch, slot: slot, member: identifier)
        default:
            guard event.type == .procexit else { return nil }
            slot.forget(thread: event.tid)
            // The entrypoint's exit is the container's end.
            if event.tid == event.pid, context.process?.vpid == 1 { release(identifier, from: slot) }
            return nil
        }
    }

    /// How many streams a profile has had at once, at most (for tests).
    func streamCount(ofProfile value: String) -> Int { profiles[value]?.streamCount ?? 0 }

    private func release(_ member: ObjectIdentifier, from slot: ProfileSlot) {
        guard let ended = slot.members.removeValue(forKey: member) else { return }
        slot.freeStreams.append(ended.stream)
        // The last container of a profile training in the kernel: its counts come here, and the
        // next container of the image starts a count of its own.
        if slot.members.isEmpty, case .training(let trainer) = slot.phase { takeKernelCounts(into: trainer, slot: slot) }
        if lastContainer == member {
            lastContainer = nil
            lastSlot = nil
        }
    }

    public func passedOver(_ context: EventContext) {
        guard let kernel else { return }
        if passedOverContainers.insert(ObjectIdentifier(context.container)).inserted {
            kernel.post(.ignore(container: context.container.fullID))
        }
    }

    private func saveIfDue(time: UInt64) {
        guard time &- lastSave >= Self.saveInterval else { return }
        if lastSave != 0 { for problem in saveState() { notice("bosc: \(problem)") } }
        lastSave = time
    }

    private func judge(call number: Int, thread: Int64, time: UInt64, slot: ProfileSlot, member: ObjectIdentifier) -> [String: FieldValue]? {
        saveIfDue(time: time)
        switch slot.phase {
        case .training(let trainer):
            slot.unsaved = true
            if trainer.observe(thread: thread, call: number, time: time) { finishTraining(slot, trainer) }
            return nil
        case .detecting(let detector):
            guard let result = detector.observe(stream: slot.members[member]!.stream, thread: thread, call: number) else { return nil }
            if result.complete { epochsJudged += 1 }
            return alert(result, slot: slot, member: member, profile: detector.profile)
        }
    }

    private func kernelTrainingEpoch(_ figures: BoSCEpoch.TrainingFigures, calls: Int64, time: UInt64, slot: ProfileSlot) {
        guard case .training(let trainer) = slot.phase else { return }
        slot.unsaved = true
        if trainer.observeKernelEpoch(figures, calls: calls, time: time) { finishTraining(slot, trainer) }
    }

    /// Adds what the kernel counted for the profile to its trainer, and frees the kernel's count.
    private func takeKernelCounts(into trainer: BoSCTrainer, slot: ProfileSlot) {
        guard let kernel, let counts = kernel.trainingCounts(profile: slot.value) else { return }
        trainer.absorb(counts)
        kernel.post(.endTraining(profile: slot.value))
        slot.unsaved = true
        if counts.droppedBags > 0 {
            notice("bosc: \(slot.name): \(counts.droppedBags) new bags found no room in the kernel while training; they are not in the profile")
        }
    }

    private func kernelVerdict(_ epoch: BoSCEpoch, slot: ProfileSlot, member: ObjectIdentifier) -> [String: FieldValue]? {
        guard case .detecting(let detector) = slot.phase, let stream = slot.members[member]?.stream else { return nil }
        // The kernel may send an early verdict before an epoch's final one: the final one counts.
        if epoch.complete { epochsJudged += 1 }
        var result = EpochResult(stream: stream, epoch: Int(epoch.epoch), calls: Int(epoch.calls), mismatches: Int(epoch.mismatches),
                                 anomalous: parameters.isAnomalous(mismatches: Int(epoch.mismatches), unseen: Int(epoch.unseenMismatches)),
                                 complete: epoch.complete, unknownBags: epoch.unknownBags)
        result.unseenMismatches = Int(epoch.unseenMismatches)
        if parameters.learn, result.complete, !result.anomalous, !result.unknownBags.isEmpty {
            let learnt = detector.learn(result.unknownBags)
            if !learnt.isEmpty { kernel?.post(.learn(profile: slot.value, hashes: learnt)) }
        }
        return alert(result, slot: slot, member: member, profile: detector.profile)
    }

    /// The finding for an anomalous epoch, once per epoch: at its early verdict, or at its end
    /// when the threshold was passed by its last call.
    private func alert(_ result: EpochResult, slot: ProfileSlot, member: ObjectIdentifier, profile: BoSCProfile) -> [String: FieldValue]? {
        guard result.anomalous, slot.members[member]?.alertedEpoch != result.epoch else { return nil }
        slot.members[member]?.alertedEpoch = result.epoch
        return finding(result, profile: profile, name: slot.name)
    }

    /// The profile of a container's calls; nil while its key (the image name) is unknown. A
    /// container seen for the first time is told to the kernel: stream it, or judge it there.
    private func slot(for container: ContainerRecord) -> ProfileSlot? {
        let identifier = ObjectIdentifier(container)
        if identifier == lastContainer, let lastSlot { return lastSlot }
        let value = switch parameters.profile {
        case .imageID: container.imageID.isEmpty ? container.image : container.imageID
        case .image: container.image
        case .id: container.fullID
        }
        guard !value.isEmpty else { return nil }
        let slot = profiles[value] ?? {
            let created = ProfileSlot(value: value, image: container.image, phase: .training(BoSCTrainer(parameters: parameters)))
            // Saved from the start: `bosc status` shows what trains, however early.
            created.unsaved = true
            profiles[value] = created
            notice("bosc: \(created.name): no profile yet; training")
            return created
        }()
        if slot.members[identifier] == nil {
            let stream = slot.freeStreams.popLast() ?? slot.streamCount
            slot.streamCount = max(slot.streamCount, stream + 1)
            if case .detecting(let detector) = slot.phase { detector.restart(stream: stream) }
            slot.members[identifier] = ProfileSlot.Member(stream: stream, id: container.fullID)
            requestKernel(for: identifier, in: slot)
        }
        lastContainer = identifier
        lastSlot = slot
        return slot
    }

    /// Asks the sensor to count a training profile's container in the kernel, or to judge a learnt
    /// one's there.
    private func requestKernel(for member: ObjectIdentifier, in slot: ProfileSlot) {
        guard let kernel, let id = slot.members[member]?.id else { return }
        // The kernel keeps one window per thread; windows per container are trained and judged here.
        guard parameters.windows == .thread else {
            kernel.post(.stream(container: id))
            return
        }
        switch slot.phase {
        case .training:
            kernel.post(.train(container: id, profile: slot.value, window: parameters.window, epoch: parameters.epoch))
        case .detecting(let detector):
            kernel.post(.judge(container: id, profile: KernelProfile(profile: detector.profile, parameters: parameters)))
        }
        slot.members[member]?.inKernel = true
    }

    private func finishTraining(_ slot: ProfileSlot, _ trainer: BoSCTrainer) {
        takeKernelCounts(into: trainer, slot: slot)
        let profile = BoSCProfile(trainer: trainer, key: parameters.profile, value: slot.value, image: slot.image)
        slot.phase = .detecting(BoSCDetector(profile: profile, parameters: parameters))
        notice("bosc: \(slot.name): trained on \(profile.training.calls) calls in \(profile.training.epochs) epochs "
               + "(ended by \(profile.training.endedBy?.rawValue ?? "-")), \(profile.bags.count) bags; detecting")
        for member in slot.members.keys { requestKernel(for: member, in: slot) }
        do {
            try store?.save(.detecting(profile))
            slot.unsaved = false
        } catch {
            notice("bosc: \(error.description)")
        }
    }

    private func finding(_ result: EpochResult, profile: BoSCProfile, name: String) -> [String: FieldValue] {
        var occurrences: [UInt16: Int] = [:]
        for bag in result.unknownBags { for call in bag { occurrences[call, default: 0] += 1 } }
        let ranked = occurrences.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let names = ranked.prefix(Self.namesShown).map { SystemCallNames.name(of: Int($0)) }
        let unseen = ranked.filter { profile.trainingCalls[$0] == nil }.map { SystemCallNames.name(of: Int($0)) }
        return ["bosc.profile": .string(name), "bosc.epoch": .number(Int64(result.epoch)),
                "bosc.calls": .number(Int64(result.calls)), "bosc.mismatches": .number(Int64(result.mismatches)),
                "bosc.threshold": .number(Int64(parameters.threshold)),
                "bosc.syscalls": .string(names.joined(separator: ",")),
                "bosc.new_syscalls": .string(unseen.isEmpty ? "none" : unseen.joined(separator: ","))]
    }
}

extension BoSCRule.ProfileSlot {
    func forget(thread: Int64) {
        switch phase {
        case .training(let trainer): trainer.forget(thread: thread)
        case .detecting(let detector): detector.forget(thread: thread)
        }
    }
}

/// A built-in rule with state beyond one event: what it learnt (BoSC's profiles), what it asks of
/// the kernel, what it has to say. The run calls these for every such rule alike, in this order:
/// `notice` is set, `openState`, `attach` (live only), then the events, then `saveState` and
/// `closingReport`.
public protocol StatefulRule: BuiltinRule {
    /// Where it tells what it decided (a profile trained, loaded): the run prints each line.
    var notice: (String) -> Void { get set }
    /// Loads what was saved in `directory`, creating it if need be. Files that cannot be read are
    /// reported in `diagnostics`.
    func openState(directory: String, diagnostics: Diagnostics) throws(FileError)
    /// Offered the kernel's side of the live sensor; a replay offers none.
    func attach(to kernel: KernelRequests)
    /// Saves what changed; returns what could not be saved.
    func saveState() -> [String]
    /// What it has to say when the run ends (events it could not judge), a line each.
    var closingReport: [String] { get }
    /// Copies what `metrics` reports where other threads read it: the engine's thread, between events.
    func publishMetrics()
    /// Its state for `/metrics` as last published; any thread.
    var metrics: [MetricReading] { get }
}

/// The rules of `rules` that keep state, with their names.
public func statefulRules(in rules: [CompiledRule]) -> [(name: String, rule: StatefulRule)] {
    rules.compactMap { rule in (rule.builtin as? StatefulRule).map { (name: rule.name, rule: $0) } }
}
