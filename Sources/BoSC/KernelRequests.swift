import Synchronization

/// What `bosc` rules ask of a sensor that judges in the kernel, per container: stream its calls
/// to user space (while its profile trains), judge them in the kernel against a learnt profile,
/// or neither. Rules post on the engine's thread; the sensor takes the requests on its own.
public final class KernelRequests: Sendable {
    public enum Request: Sendable, Equatable {
        /// Every call of the container, to user space.
        case stream(container: String)
        /// Judge the container's calls in the kernel; stream every call too, or only what
        /// signature rules name.
        case judge(container: String, profile: KernelProfile, streamAll: Bool = false)
        /// No BoSC rule watches the container: stream only what signature rules name.
        case ignore(container: String)
        /// Bags a profile learnt since it was loaded (`learn`), to add where it is loaded.
        case learn(profile: String, hashes: [UInt64])
    }

    private let pending = Mutex<[Request]>([])

    public init() {}

    public func post(_ request: Request) {
        pending.withLock { $0.append(request) }
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
    public var knownHashes: [UInt64]
    public var window: Int
    public var epoch: Int
    public var threshold: Int

    public init(profile: BoSCProfile, parameters: BoSCParameters) {
        name = profile.value
        callValues = profile.slots.map { BagHash.values[Int($0)] }
        knownHashes = Array(profile.bags.keys)
        window = profile.window
        epoch = parameters.epoch
        threshold = parameters.threshold
    }
}
