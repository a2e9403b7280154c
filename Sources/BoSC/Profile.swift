import Engine

/// A container image's (or container's) normal behaviour, learnt: which calls have slots of their
/// own, and every bag seen in training with its frequency.
public struct BoSCProfile: Sendable {
    /// One bag of the normal database: its slots, one per call of the window, sorted.
    public struct Bag: Sendable, Equatable {
        public var slots: [UInt16]
        public var frequency: UInt64
    }

    public let key: BoSCParameters.ProfileKey
    public let value: String
    /// The image's name (repository:tag) when the profile was made, for people: with profiles by
    /// image id, `value` is a digest.
    public let image: String
    public let window: Int
    public let windows: BoSCParameters.Windows
    /// The calls with a slot of their own, by slot; every other call shares the slot after them.
    public let slotCalls: [UInt16]
    /// How often training saw each call, by number: all of them, the rare ones included.
    public let trainingCalls: [UInt16: UInt64]
    public private(set) var bags: [UInt64: Bag]
    /// What training saw and why it ended.
    public let training: TrainingProgress
    /// Each call number's slot, for the windows.
    public let slots: [UInt16]
    /// By call number: whether training never saw the call (its windows count apart, in
    /// `unseenMismatches`).
    public let unseenCalls: [Bool]
    public private(set) var known: BagHashSet

    public var otherSlot: UInt16 { UInt16(slotCalls.count) }

    init(key: BoSCParameters.ProfileKey, value: String, image: String, window: Int, windows: BoSCParameters.Windows, slotCalls: [UInt16],
         trainingCalls: [UInt16: UInt64], bags: [UInt64: Bag], training: TrainingProgress) {
        self.key = key
        self.value = value
        self.image = image
        self.window = window
        self.windows = windows
        self.slotCalls = slotCalls
        self.trainingCalls = trainingCalls
        self.bags = bags
        self.training = training
        var slots = [UInt16](repeating: UInt16(slotCalls.count), count: BagHash.slotCount)
        for (slot, call) in slotCalls.enumerated() { slots[Int(call)] = UInt16(slot) }
        self.slots = slots
        unseenCalls = (0..<BagHash.slotCount).map { trainingCalls[UInt16($0)] == nil }
        known = BagHashSet(bags.keys)
    }

    /// Folds a finished training into a profile: a call seen fewer times than there are distinct
    /// calls shares the "other" slot, and bags that become equal once folded add up.
    public init(trainer: BoSCTrainer, key: BoSCParameters.ProfileKey, value: String, image: String = "") {
        let seen = trainer.callCounts.enumerated().filter { $0.element > 0 }
        let distinct = UInt64(seen.count)
        let slotCalls = seen.filter { $0.element >= distinct }.map { UInt16($0.offset) }
        var training = trainer.progress
        training.endedBy = trainer.completion ?? .calls
        self.init(key: key, value: value, image: image, window: trainer.parameters.window, windows: trainer.parameters.windows,
                  slotCalls: slotCalls, trainingCalls: Dictionary(uniqueKeysWithValues: seen.map { (UInt16($0.offset), $0.element) }),
                  bags: [:], training: training)
        for bag in trainer.bags.values {
            add(calls: bag.calls, frequency: bag.frequency)
        }
    }

    /// Adds a bag, given by its calls, to the database.
    mutating func add(calls: [UInt16], frequency: UInt64) {
        addFolded(slots: calls.map { slots[Int($0)] }.sorted(), frequency: frequency)
    }

    /// Adds a bag given by its slots, as a saved profile lists them.
    mutating func addFolded(slots: [UInt16], frequency: UInt64) {
        let hash = BagHash.of(slots: slots)
        bags[hash, default: Bag(slots: slots, frequency: 0)].frequency += frequency
        known.insert(hash)
    }

    /// The name of a slot: its call's, or "other".
    public func slotName(_ slot: UInt16) -> String {
        Int(slot) < slotCalls.count ? SystemCallNames.name(of: Int(slotCalls[Int(slot)])) : Self.otherName
    }

    public static let otherName = "other"
}

