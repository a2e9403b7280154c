import Engine
import SentinelJSON

/// A profile as saved in the state directory: still training, or learnt and judging.
public enum StoredProfile {
    case training(key: BoSCParameters.ProfileKey, value: String, image: String, trainer: BoSCTrainer)
    case detecting(BoSCProfile)

    public var key: BoSCParameters.ProfileKey {
        switch self {
        case .training(let key, _, _, _): return key
        case .detecting(let profile): return profile.key
        }
    }

    public var value: String {
        switch self {
        case .training(_, let value, _, _): return value
        case .detecting(let profile): return profile.value
        }
    }

    /// The image's name, for people (empty when not known).
    public var image: String {
        switch self {
        case .training(_, _, let image, _): return image
        case .detecting(let profile): return profile.image
        }
    }
}

/// Profiles as JSON, readable by people: calls by name, each bag as counts of its calls. A
/// training profile's bags count call numbers; a finished one's count slots, "other" among them.
public enum ProfileFile {
    public static let formatKey = "sentinel_bosc_profile"
    public static let formatVersion: Int64 = 1

    public static func encode(_ stored: StoredProfile) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key(formatKey); writer.integer(formatVersion)
        writer.key("key"); writer.string(stored.key.rawValue)
        writer.key("value"); writer.string(stored.value)
        if !stored.image.isEmpty { writer.key("image"); writer.string(stored.image) }
        switch stored {
        case .training(_, _, _, let trainer):
            writer.key("phase"); writer.string("training")
            writeShape(&writer, window: trainer.parameters.window, windows: trainer.parameters.windows)
            writeTraining(&writer, trainer.progress)
            writeCallCounts(&writer, trainer.callCounts.enumerated().lazy.filter { $0.element > 0 }.map { (UInt16($0.offset), $0.element) })
            writer.key("bags")
            writer.beginArray()
            for bag in trainer.bags.values.sorted(by: { $0.frequency > $1.frequency }) {
                writeBag(&writer, names: bag.calls.map { SystemCallNames.name(of: Int($0)) }, frequency: bag.frequency)
            }
            writer.endArray()
        case .detecting(let profile):
            writer.key("phase"); writer.string("detecting")
            writeShape(&writer, window: profile.window, windows: profile.windows)
            writeTraining(&writer, profile.training)
            writeCallCounts(&writer, profile.trainingCalls.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            writer.key("slots")
            writer.beginArray()
            for call in profile.slotCalls { writer.string(SystemCallNames.name(of: Int(call))) }
            writer.endArray()
            writer.key("bags")
            writer.beginArray()
            for bag in profile.bags.values.sorted(by: { $0.frequency > $1.frequency }) {
                writeBag(&writer, names: bag.slots.map(profile.slotName), frequency: bag.frequency)
            }
            writer.endArray()
        }
        writer.endObject()
        return writer.bytes + [UInt8(ascii: "\n")]
    }

    private static func writeShape(_ writer: inout JSONWriter, window: Int, windows: BoSCParameters.Windows) {
        writer.key("window"); writer.integer(window)
        writer.key("windows"); writer.string(windows.rawValue)
    }

    private static func writeTraining(_ writer: inout JSONWriter, _ progress: TrainingProgress) {
        writer.key("training")
        writer.beginObject()
        writer.key("calls"); writer.integer(progress.calls)
        writer.key("epochs"); writer.integer(progress.epochs)
        writer.key("similarity")
        if let similarity = progress.similarity { writer.double(similarity) } else { writer.null() }
        writer.key("stable_epochs_in_row"); writer.integer(progress.stableEpochsInRow)
        if let endedBy = progress.endedBy { writer.key("ended_by"); writer.string(endedBy.rawValue) }
        writer.key("started_ns"); writer.integer(progress.started)
        writer.key("last_call_ns"); writer.integer(progress.lastCall)
        writer.endObject()
    }

    private static func writeCallCounts<Counts: Sequence<(UInt16, UInt64)>>(_ writer: inout JSONWriter, _ counts: Counts) {
        writer.key("calls")
        writer.beginObject()
        for (call, count) in counts {
            writer.key(SystemCallNames.name(of: Int(call))); writer.integer(count)
        }
        writer.endObject()
    }

    private static func writeBag(_ writer: inout JSONWriter, names: [String], frequency: UInt64) {
        writer.beginObject()
        writer.key("calls")
        writer.beginObject()
        var index = 0
        while index < names.count {
            var end = index + 1
            while end < names.count, names[end] == names[index] { end += 1 }
            writer.key(names[index]); writer.integer(end - index)
            index = end
        }
        writer.endObject()
        writer.key("frequency"); writer.integer(frequency)
        writer.endObject()
    }

    // MARK: - Reading

    /// Reads a profile; every problem is reported with its file, line and JSON path. A training
    /// profile goes on training with `parameters` (the rule's), its window's shape excepted.
    public static func decode(_ source: JSONSource, parameters: BoSCParameters = BoSCParameters(), diagnostics: Diagnostics) -> StoredProfile? {
        let errorsBefore = diagnostics.errors.count
        guard let root = diagnostics.take(source.parse()),
              let object = root.object(diagnostics, allowedKeys: [formatKey, "key", "value", "image", "phase", "window", "windows", "training", "calls", "slots", "bags"])
        else { return nil }
        if let version = object.required(formatKey, diagnostics), let number = version.integer(diagnostics), number != formatVersion {
            diagnostics.add(version.diagnostic("profile format \(number) is not one this sentinel reads (\(formatVersion))"))
        }
        let key = object.required("key", diagnostics).flatMap { cursor in
            cursor.string(diagnostics).flatMap { text in
                BoSCParameters.ProfileKey(rawValue: text)
                    ?? report(cursor, "key must be container.image.id, container.image or container.id, not \"\(text)\"", diagnostics)
            }
        }
        let value = object.required("value", diagnostics)?.string(diagnostics)
        let image = object.optional("image")?.string(diagnostics) ?? ""
        let phaseCursor = object.required("phase", diagnostics)
        let phase = phaseCursor?.string(diagnostics)
        let window = object.required("window", diagnostics)?.integer(diagnostics, in: 2...Int64(BoSCParameters.largestWindow)).map { Int($0) }
        let windows = object.required("windows", diagnostics).flatMap { cursor in
            cursor.string(diagnostics).flatMap { text in
                BoSCParameters.Windows(rawValue: text) ?? report(cursor, "windows must be thread or container, not \"\(text)\"", diagnostics)
            }
        }
        let training = object.required("training", diagnostics).flatMap { readTraining($0, diagnostics) }
        let callCounts = object.required("calls", diagnostics).flatMap { readCallCounts($0, diagnostics) }

        switch phase {
        case "training":
            let bags = object.required("bags", diagnostics).flatMap { readBags($0, window: window, names: callNumber, diagnostics) }
            guard diagnostics.errors.count == errorsBefore, let key, let value, let window, let windows, let training, let callCounts, let bags
            else { return nil }
            var parameters = parameters
            parameters.window = window
            parameters.windows = windows
            var counts = [UInt64](repeating: 0, count: BagHash.slotCount)
            for (call, count) in callCounts { counts[Int(call)] = count }
            let trainer = BoSCTrainer(parameters: parameters, restoring: training, callCounts: counts, bags: bags)
            return .training(key: key, value: value, image: image, trainer: trainer)
        case "detecting":
            let slotCalls = object.required("slots", diagnostics).flatMap { cursor in
                cursor.array(diagnostics)?.compactMap { element in
                    element.string(diagnostics).flatMap { name in callNumber(name).map { $0 } ?? report(element, "unknown system call \"\(name)\"", diagnostics) }
                }
            }
            var slotByName: [String: UInt16] = [BoSCProfile.otherName: UInt16(slotCalls?.count ?? 0)]
            for (slot, call) in (slotCalls ?? []).enumerated() { slotByName[SystemCallNames.name(of: Int(call))] = UInt16(slot) }
            let bags = object.required("bags", diagnostics).flatMap { readBags($0, window: window, names: { slotByName[$0] }, diagnostics) }
            guard diagnostics.errors.count == errorsBefore, let key, let value, let window, let windows, let training, let callCounts,
                  let slotCalls, let bags else { return nil }
            guard training.endedBy != nil else {
                diagnostics.add(object.cursor.diagnostic("a detecting profile needs training.ended_by"))
                return nil
            }
            var profile = BoSCProfile(key: key, value: value, image: image, window: window, windows: windows, slotCalls: slotCalls,
                                      trainingCalls: Dictionary(callCounts, uniquingKeysWith: +), bags: [:], training: training)
            for bag in bags { profile.addFolded(slots: bag.calls, frequency: bag.frequency) }
            return .detecting(profile)
        case nil:
            return nil
        case let other?:
            diagnostics.add(phaseCursor!.diagnostic("phase must be training or detecting, not \"\(other)\""))
            return nil
        }
    }

    private static func callNumber(_ name: String) -> UInt16? {
        SystemCallNames.number(named: name).map { UInt16($0) }
    }

    private static func report<T>(_ cursor: JSONCursor, _ message: String, _ diagnostics: Diagnostics) -> T? {
        diagnostics.add(cursor.diagnostic(message))
        return nil
    }

    private static func readTraining(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> TrainingProgress? {
        guard let object = cursor.object(diagnostics, allowedKeys: ["calls", "epochs", "similarity", "stable_epochs_in_row", "ended_by", "started_ns", "last_call_ns"])
        else { return nil }
        let calls = object.required("calls", diagnostics)?.integer(diagnostics, in: 0...Int64.max)
        let epochs = object.required("epochs", diagnostics)?.integer(diagnostics, in: 0...Int64.max)
        var similarity: Double?
        if let similarityCursor = object.required("similarity", diagnostics), case .null = similarityCursor.node.value {
            similarity = nil
        } else {
            similarity = object.optional("similarity")?.number(diagnostics, in: -1...1)
        }
        let stable = object.required("stable_epochs_in_row", diagnostics)?.integer(diagnostics, in: 0...Int64.max)
        let endedBy = object.optional("ended_by").flatMap { cursor in
            cursor.string(diagnostics).flatMap { text in
                BoSCTrainer.Completion(rawValue: text) ?? report(cursor, "ended_by must be stable, calls, duration or end_of_input, not \"\(text)\"", diagnostics)
            }
        }
        let started = object.required("started_ns", diagnostics)?.integer(diagnostics, in: 0...Int64.max)
        let lastCall = object.required("last_call_ns", diagnostics)?.integer(diagnostics, in: 0...Int64.max)
        guard let calls, let epochs, let stable, let started, let lastCall else { return nil }
        return TrainingProgress(calls: UInt64(calls), epochs: Int(epochs), similarity: similarity, stableEpochsInRow: Int(stable),
                                started: UInt64(started), lastCall: UInt64(lastCall), endedBy: endedBy)
    }

    private static func readCallCounts(_ cursor: JSONCursor, _ diagnostics: Diagnostics) -> [(UInt16, UInt64)]? {
        guard case .object(let members) = cursor.node.value else {
            diagnostics.add(cursor.diagnostic("expected an object of call counts, found \(cursor.node.kindName)"))
            return nil
        }
        let object = JSONObjectCursor(cursor: cursor, members: members)
        return members.compactMap { member in
            let countCursor = object.optional(member.key)!
            guard let call = callNumber(member.key) else {
                diagnostics.add(countCursor.diagnostic("unknown system call \"\(member.key)\""))
                return nil
            }
            return countCursor.integer(diagnostics, in: 1...Int64.max).map { (call, UInt64($0)) }
        }
    }

    /// Bags as `{"calls": {"read": 3, ...}, "frequency": n}`, their calls turned into numbers (or
    /// slots) by `names`, one entry per occurrence, sorted.
    private static func readBags(_ cursor: JSONCursor, window: Int?, names: (String) -> UInt16?, _ diagnostics: Diagnostics) -> [(calls: [UInt16], frequency: UInt64)]? {
        guard let elements = cursor.array(diagnostics) else { return nil }
        return elements.compactMap { element in
            guard let object = element.object(diagnostics, allowedKeys: ["calls", "frequency"]),
                  let callsCursor = object.required("calls", diagnostics),
                  let frequency = object.required("frequency", diagnostics)?.integer(diagnostics, in: 1...Int64.max)
            else { return nil }
            guard case .object(let members) = callsCursor.node.value else {
                diagnostics.add(callsCursor.diagnostic("expected an object of call counts, found \(callsCursor.node.kindName)"))
                return nil
            }
            let calls = JSONObjectCursor(cursor: callsCursor, members: members)
            var slots: [UInt16] = []
            for member in members {
                let countCursor = calls.optional(member.key)!
                guard let slot = names(member.key) else {
                    diagnostics.add(countCursor.diagnostic("\"\(member.key)\" is not a call of this profile"))
                    return nil
                }
                guard let count = countCursor.integer(diagnostics, in: 1...Int64(BoSCParameters.largestWindow)) else { return nil }
                slots.append(contentsOf: repeatElement(slot, count: Int(count)))
            }
            if let window, slots.count != window {
                diagnostics.add(callsCursor.diagnostic("the bag holds \(slots.count) calls, the window is \(window)"))
                return nil
            }
            return (slots.sorted(), UInt64(frequency))
        }
    }
}
