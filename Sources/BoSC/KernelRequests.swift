import Synchronization

/// What `bosc` rules ask of a sensor that judges in the kernel, per container: count its bags in
/// the kernel into a training profile, judge its calls there against a learnt profile, stream
/// them to user space (windows per container are judged there), or none of these. Rules post on
/// the engine's thread; the sensor takes the requests on its own.
public final class KernelRequests: Sendable {
    public enum Request: Sendable, Equatable {
        /// Every call of the container, to user space.
        case stream(container: String)
        /// Count the container's bags in the kernel into the training of `profile` (containers
        /// that share it share one count), in epochs of `epoch` calls; stream every call too, or
        /// only what signature rules name.
        case train(container: String, profile: String, window: Int, epoch: Int, streamAll: Bool = false)
        /// The training of `profile` is over (its counts were read): free what it holds.
        case endTraining(profile: String)
        /// Judge the container's calls in the kernel; stream every call too, or only what
        /// signature rules name.
        case judge(container: String, profile: KernelProfile, streamAll: Bool = false)
        /// No BoSC rule watches the container: stream only what signature rules name.
        case ignore(container: String)
        /// Bags a profile learnt since it was loaded (`learn`), to add where it is loaded.
        case learn(profile: String, hashes: [UInt64])
    }

    private let pending = Mutex<[Request]>([])
    private let trainingReader = Mutex<(@Sendable (String) -> KernelTrainingCounts?)?>(nil)

    public init() {}

    public func post(_ request: Request) {
        pending.withLock { $0.append(request) }
    }

    /// The sensor tells how to read a training's counts (called from the rules' thread).
    public func setTrainingReader(_ reader: @escaping @Sendable (String) -> KernelTrainingCounts?) {
        trainingReader.withLock { $0 = reader }
    }

    /// What the kernel has counted so far for the training of `profile`; nil if it counts none.
    public func trainingCounts(profile: String) -> KernelTrainingCounts? {
        trainingReader.withLock { $0 }?(profile)
    }

    /// Whether every request posted has been taken (the sensor applies what it takes at once).
    public var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    /// The requests posted since the last take, oldest first.
    public func take() -> [Request] {
        pending.withLock { requests in
            defer { requests.removeAll() }
            return requests
        }
    }
}

/// A learnt profile as the kernel judges with it: what each call number adds to the bag hash,
/// and the hashes of the known bags.
public struct KernelProfile: Sendable, Equatable {
    /// The profile's value (an image name): containers that share it share one loaded copy.
    public var name: String
    /// By call number (up to `BagHash.slotCount`): the value of the call's slot.
    public var callValues: [UInt64]
    /// By call number: whether training never saw it.
    public var unseenCalls: [Bool]
    public var knownHashes: [UInt64]
    public var window: Int
    public var epoch: Int
    public var threshold: Int
    public var newCallThreshold: Int?

    public init(profile: BoSCProfile, parameters: BoSCParameters) {
        name = profile.value
        callValues = profile.slots.map { BagHash.values[Int($0)] }
        unseenCalls = profile.unseenCalls
        knownHashes = Array(profile.bags.keys)
        window = profile.window
        epoch = parameters.epoch
        threshold = parameters.threshold
        newCallThreshold = parameters.newCallThreshold
    }
}

/// What the kernel counted for one training: calls by number, and bags by their calls.
public struct KernelTrainingCounts: Sendable {
    public var callCounts: [UInt64]
    public var bags: [(calls: [UInt16], frequency: UInt64)]
    /// New bags the kernel's map had no room for.
    public var droppedBags: UInt64

    public init(callCounts: [UInt64], bags: [(calls: [UInt16], frequency: UInt64)], droppedBags: UInt64) {
        self.callCounts = callCounts
        self.bags = bags
        self.droppedBags = droppedBags
    }
}
