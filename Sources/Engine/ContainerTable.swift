/// One container, shared by every process record in it, so that metadata arriving after the
/// container's first process (the runtime answers later than the kernel) reaches them all.
public final class ContainerRecord: @unchecked Sendable {
    public static let hostID = "host"
    /// The host's processes. Never mutated: the host has no metadata to learn.
    public static let host = ContainerRecord(id: hostID)

    /// The full id as the source gave it (64 hex digits from the kernel), or "host".
    public private(set) var fullID: String
    /// The first 12 hex digits, as `docker ps` shows and Falco's `container.id` is.
    public let id: String
    public var name: String
    public var image: String
    /// The image's full id ("sha256:..."), or empty.
    public var imageID = ""
    public var labels: [String: String] = [:]
    public var privileged = false
    public var startTime: UInt64?
    public var mounts: [ContainerFacts.Mount] = []

    public var isHost: Bool { id == Self.hostID }

    init(id fullID: String) {
        self.fullID = fullID
        id = ContainerRecord.shortID(fullID)
        name = fullID == Self.hostID ? Self.hostID : ""
        image = ""
    }

    static func shortID(_ id: String) -> String {
        id == hostID ? id : String(id.prefix(12))
    }

    fileprivate func learnFullID(_ candidate: String) {
        if candidate.count > fullID.count { fullID = candidate }
    }
}

/// Containers by short id. Events name containers by full or short id; both find the same record.
public final class ContainerTable {
    public let capacity: Int
    public private(set) var evictedCount: UInt64 = 0
    private var byID: [String: ContainerRecord] = [:]
    /// The last id asked for and its record: a container's events come in runs (a batch of its
    /// system calls), and cutting and hashing the id for each cost more than the rest of the event.
    private var lastID = ""
    private var lastRecord: ContainerRecord?

    public init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    public var count: Int { byID.count }

    public subscript(id: String) -> ContainerRecord? {
        id == ContainerRecord.hostID ? .host : byID[ContainerRecord.shortID(id)]
    }

    /// The record for `id`, created empty on first sight.
    public func record(for id: String) -> ContainerRecord {
        if id == lastID, let lastRecord { return lastRecord }
        let record = lookUp(id)
        lastID = id
        lastRecord = record
        return record
    }

    private func lookUp(_ id: String) -> ContainerRecord {
        if id == ContainerRecord.hostID || id.isEmpty { return .host }
        let key = ContainerRecord.shortID(id)
        if let existing = byID[key] {
            existing.learnFullID(id)
            return existing
        }
        if byID.count >= capacity, let victim = byID.keys.first {
            // Processes still holding the record keep it alive; only lookups by id forget it.
            byID.removeValue(forKey: victim)
            evictedCount += 1
        }
        let record = ContainerRecord(id: id)
        byID[key] = record
        return record
    }

    /// Forgets a container that is gone. Processes still holding its record keep it (their last
    /// events still name it); a later event with the id makes a new, empty one.
    public func remove(id: String) {
        guard id != ContainerRecord.hostID else { return }
        byID.removeValue(forKey: ContainerRecord.shortID(id))
        if ContainerRecord.shortID(lastID) == ContainerRecord.shortID(id) {
            lastID = ""
            lastRecord = nil
        }
    }

    public func update(id: String, with facts: ContainerFacts) {
        let record = record(for: id)
        guard !record.isHost else { return }
        record.name = facts.name
        record.image = facts.image
        record.imageID = facts.imageID
        record.labels = facts.labels
        record.privileged = facts.privileged
        record.startTime = facts.startTime
        record.mounts = facts.mounts
    }
}
