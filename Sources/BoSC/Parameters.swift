import SentinelJSON

/// The numbers of the Bag of System Calls algorithm, each with the published default, and
/// sentinel's own limits on training.
public struct BoSCParameters: Sendable, Equatable {
    /// How the calls are cut into sliding windows.
    public enum Windows: String, Sendable {
        /// One window per thread: interleaved threads would otherwise make bags of noise.
        case thread
        /// One window over all the calls of a container, in the order they arrive.
        case container
    }

    /// Which container field names the profile a container is judged by.
    public enum ProfileKey: String, Sendable, CaseIterable {
        /// Every container of an image shares one profile, the image known by its id (the digest
        /// the runtime gives): a new container of a known image is in detection from its first
        /// call, and a new build under the same tag (`:latest` next week) trains a profile of its
        /// own. Where the runtime gives no id, the image's name keys it.
        case imageID = "container.image.id"
        /// By the image's name (repository:tag): a rebuild under the same tag keeps the profile.
        case image = "container.image"
        /// Each container learns its own.
        case id = "container.id"
    }

    /// The kernel keeps windows in a fixed array of this many calls.
    public static let largestWindow = 16
    /// Unknown bags kept per epoch to show what they held (and to learn from, with `learn`).
    public static let unknownBagsKept = 64

    public var window = 10
    /// Calls per epoch: training measures stability and detection counts mismatches per epoch.
    public var epoch = 1000
    /// An epoch with more mismatches than this is anomalous. The published algorithm's is 10; on
    /// a MariaDB container under a mixed load that raised 96 false alerts an hour (46 with the
    /// runtime's calls passed over), 50 none in the hour measured, with sqlmap still caught in 0.35 s
    /// (BENCHMARKS.md, "BoSC you can leave on").
    public var threshold = 50
    /// An epoch is anomalous too with more mismatches than this whose bags hold a call training
    /// never saw: a new call is what an attack brings, where a rare mix of known calls is what a
    /// healthy service does now and then. Nil: such bags count as any other (the published
    /// algorithm).
    public var newCallThreshold: Int?
    /// Training ends once consecutive epochs' bag counts are at least this similar (cosine) ...
    public var similarity = 0.99
    /// ... this many epochs in a row.
    public var stableEpochs = 3
    /// Training also ends after this many seconds or calls, stable or not; nil for no limit.
    public var trainingSeconds: Int?
    public var trainingCalls: Int?
    /// Training does not end as stable before this many seconds of the calls' time: a workload's
    /// rarer moments (a checkpoint, a reconnect) take longer to show than its steady loop takes to
    /// look stable. Not in the published algorithm, whose stability alone ended MariaDB's training
    /// after 3 to 10 s with 4% of normal epochs flagged after it (BENCHMARKS.md); 0 is the published
    /// behaviour.
    public static let defaultMinimumTrainingSeconds = 600
    public var minimumTrainingSeconds = defaultMinimumTrainingSeconds
    public var windows = Windows.thread
    /// Whether the unknown bags of an epoch under the threshold join the database, as the
    /// authors' code does. Off: an attacker who stays under the threshold would teach the profile.
    public var learn = false
    public var profile = ProfileKey.imageID

    public init() {}

    /// Whether an epoch with these unknown bags, `unseen` of them holding a call training never
    /// saw, is anomalous.
    public func isAnomalous(mismatches: Int, unseen: Int) -> Bool {
        mismatches > threshold || newCallThreshold.map { unseen > $0 } ?? false
    }

    public static let names = ["window", "epoch", "threshold", "new_call_threshold", "similarity", "stable_epochs", "training_seconds",
                               "training_calls", "min_training_seconds", "windows", "learn", "profile"]

    /// Reads `params`; every problem is reported, and nil returned if there was one.
    public static func parse(_ params: JSONObjectCursor, diagnostics: Diagnostics) -> BoSCParameters? {
        let errorsBefore = diagnostics.errors.count
        var parameters = BoSCParameters()
        func integer(_ key: String, _ range: ClosedRange<Int64>) -> Int? {
            params.optional(key)?.integer(diagnostics, in: range).map { Int($0) }
        }
        if let window = integer("window", 2...Int64(largestWindow)) { parameters.window = window }
        if let epoch = integer("epoch", 10...100_000_000) { parameters.epoch = epoch }
        if let threshold = integer("threshold", 0...100_000_000) { parameters.threshold = threshold }
        if let cursor = params.optional("new_call_threshold") {
            if case .null = cursor.node.value { parameters.newCallThreshold = nil }
            else if let value = cursor.integer(diagnostics, in: 0...100_000_000) { parameters.newCallThreshold = Int(value) }
        }
        if let similarity = params.optional("similarity")?.number(diagnostics, in: 0...1) { parameters.similarity = similarity }
        if let stableEpochs = integer("stable_epochs", 1...1_000_000) { parameters.stableEpochs = stableEpochs }
        parameters.trainingSeconds = integer("training_seconds", 1...31_536_000)
        parameters.trainingCalls = integer("training_calls", 1...Int64.max)
        if let minimum = integer("min_training_seconds", 0...31_536_000) { parameters.minimumTrainingSeconds = minimum }
        if let cursor = params.optional("windows"), let text = cursor.string(diagnostics) {
            if let windows = Windows(rawValue: text) { parameters.windows = windows }
            else { diagnostics.add(cursor.diagnostic("windows must be \"thread\" or \"container\", not \"\(text)\"")) }
        }
        if let learn = params.optional("learn")?.bool(diagnostics) { parameters.learn = learn }
        if let cursor = params.optional("profile"), let text = cursor.string(diagnostics) {
            if let key = ProfileKey(rawValue: text) { parameters.profile = key }
            else { diagnostics.add(cursor.diagnostic("profile must be \"container.image.id\", \"container.image\" or \"container.id\", not \"\(text)\"")) }
        }
        if parameters.learn, parameters.threshold >= unknownBagsKept, let cursor = params.optional("learn") {
            diagnostics.add(cursor.diagnostic("learn needs a threshold below \(unknownBagsKept): the unknown bags of an epoch are kept up to that many"))
        }
        return diagnostics.errors.count == errorsBefore ? parameters : nil
    }
}
