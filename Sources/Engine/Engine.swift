import Synchronization

/// Runs events through the rules: keeps the process and container tables up to date and evaluates
/// each event against only the rules indexed under its type. One engine serves one event stream,
/// on one thread; live and replayed events take this same path.
public final class Engine {
    /// What the engine counted, readable from any thread while it runs (each rule counts its own
    /// alerts: `CompiledRule.alerts`).
    public final class Statistics: Sendable {
        /// Events per type, by `EventType.rawValue`.
        public let eventsByType = SingleWriterCounters(count: EventType.allCases.count)
        /// The process and container tables: entries now, and entries evicted to keep them bounded,
        /// as of the last `publishTableSizes`.
        public let tables = SingleWriterCounters(count: 4)
        public static let processes = 0, containers = 1, processesEvicted = 2, containersEvicted = 3

        public var events: UInt64 { (0..<eventsByType.count).reduce(0) { $0 + eventsByType[$1] } }
    }

    public let processes: ProcessTable
    public let containers: ContainerTable
    /// The rules judging now; `replaceRules` changes them between two events. The engine's thread
    /// only: another reads `currentRules`.
    public var rules: [CompiledRule] { index.rules }
    /// The rules judging now, for any thread (`/metrics`).
    public var currentRules: [CompiledRule] { publishedRules.withLock { $0 } }
    private let publishedRules: Mutex<[CompiledRule]>
    public let statistics = Statistics()
    /// The events seen so far: each event's `evt.num`.
    private var eventNumber: UInt64 = 0
    private var writtenFiles = WrittenFiles()
    private var socketOwners = SocketOwners()
    private var socketPeers = SocketPeers()
    private var index: RuleIndex
    /// The shared subconditions' answers (SharedSubconditions), this engine's own.
    private var memo: UnsafeMutablePointer<MemoSlot>
    private var memoCount: Int

    public init(rules: [CompiledRule], processes: ProcessTable = ProcessTable(), containers: ContainerTable = ContainerTable()) {
        self.processes = processes
        self.containers = containers
        index = RuleIndex(rules: rules)
        publishedRules = Mutex(rules)
        memoCount = index.memoSlots
        memo = .allocate(capacity: memoCount)
        memo.initialize(repeating: MemoSlot(), count: memoCount)
    }

    deinit {
        memo.deinitialize(count: memoCount)
        memo.deallocate()
    }

    /// Judges with `index`'s rules from the next event on. What the engine knows of the host (its
    /// processes, containers, written files, sockets) stays: it does not depend on the rules. Call
    /// it where `process` is called, between two events.
    public func replaceRules(with index: RuleIndex) {
        self.index = index
        publishedRules.withLock { $0 = index.rules }
        if index.memoSlots > memoCount {
            memo.deinitialize(count: memoCount)
            memo.deallocate()
            memoCount = index.memoSlots
            memo = .allocate(capacity: memoCount)
            memo.initialize(repeating: MemoSlot(), count: memoCount)
        }
    }

    public var ruleIndex: RuleIndex { index }

    /// Copies the tables' sizes where another thread can read them; the engine's thread, between
    /// events (the tables are the engine's alone).
    public func publishTableSizes() {
        statistics.tables.set(Statistics.processes, UInt64(processes.count))
        statistics.tables.set(Statistics.containers, UInt64(containers.count))
        statistics.tables.set(Statistics.processesEvicted, processes.evictedCount)
        statistics.tables.set(Statistics.containersEvicted, containers.evictedCount)
    }
    // What the rules need, as `RuleIndex` says.
    public var neededEventTypes: Set<EventType> { index.neededEventTypes }
    public var fieldNames: Set<String> { index.fieldNames }
    public var namesToResolve: Set<String> { index.namesToResolve }
    public var callFilters: [EventType: CallFilter] { index.callFilters }
    public var neededSystemCalls: SystemCallNumbers { index.neededSystemCalls }
    /// The event is consumed: it moves into the context the rules read, uncopied.
    public func process(_ event: consuming Event, emit: (Alert) -> Void) {
        eventNumber += 1
        statistics.eventsByType.add(Int(event.type.rawValue))

        var context: EventContext
        if case .message(let connection, _) = event.payload {
            let owner = event.pid != 0 ? event.pid : socketOwners.owner(of: connection)
            let peer = connection.peerContainerID.map { containers.record(for: $0) }
            let peerOwner = peer == nil ? nil : socketOwners.owner(of: connection.reversed)
            let container = containers.record(for: event.containerID ?? ContainerRecord.hostID)
            context = EventContext(event: consume event, process: owner.flatMap { processes[$0] }, container: container,
                                   peerContainer: peer, peerProcess: peerOwner.flatMap { processes[$0] }, number: eventNumber)
        } else if !event.type.hasProcess {
            let id = event.containerID ?? ContainerRecord.hostID
            let container = containers.record(for: id)
            if case .container(let facts) = event.payload {
                // A removal still shows the container as the rules knew it; the table forgets it.
                if facts.removed { containers.remove(id: id) } else { containers.update(id: id, with: facts) }
            }
            context = EventContext(event: consume event, process: nil, container: container, number: eventNumber)
        } else {
            let container = event.containerID.map { containers.record(for: $0) }
            let process = processes.apply(event, container: container)
            if event.type.isExec {
                process.isExeWritten = writtenFiles.contains(container: process.container, path: process.exePath)
            } else if case .open(let path, let flags, let result, _, _) = event.payload, flags.isWrite, result >= 0 {
                writtenFiles.insert(container: process.container, path: path)
            } else if index.judgesMessages, event.type == .connect || event.type == .accept {
                socketOwners.update(with: event)
            }
            context = EventContext(event: consume event, process: process, container: process.container, number: eventNumber)
            if index.judgesPeerChanges, let descriptor = context.descriptor, descriptor.kind?.isSocket == true, !descriptor.isConnected,
               case .call(let arguments) = context.event.payload, let peer = arguments.address {
                context.nameChanged = socketPeers.changes(socket: descriptor.inode, to: peer)
            }
        }

        context.memo = memo
        for rule in index.rulesByType[Int(context.event.type.rawValue)] {
            guard rule.condition.matches(context) else {
                rule.builtin?.passedOver(context)
                continue
            }
            var finding: [String: FieldValue] = [:]
            if let builtin = rule.builtin {
                guard let found = builtin.observe(context) else { continue }
                finding = found
            }
            let (text, fields) = rule.output.render(context, finding: finding)
            rule.countAlert()
            emit(Alert(time: context.event.time, rule: rule.name, priority: rule.priority, output: text,
                       outputFields: fields, tags: rule.tags, source: rule.source))
        }

        if let credentials = context.event.process.credentialsAfter, let process = context.process {
            processes.change(process, to: credentials)
        }
        if context.event.type == .procexit, context.event.tid == context.event.pid {
            processes.exited(pid: context.event.pid, at: context.event.time)
        }
        processes.forgetExited(before: context.event.time)
    }
}

/// A rule set indexed for judging: its rules by the event types they watch, and what the sensors
/// must gather for them. Made once per rule set (at start, at each reload, off the engine's
/// thread); the engine swaps it in whole.
public struct RuleIndex {
    public let rules: [CompiledRule]
    let rulesByType: [[CompiledRule]]
    /// Whether some rule judges captured messages: only then is it worth learning who holds each
    /// connection (a busy host makes hundreds of thousands a second).
    let judgesMessages: Bool
    let judgesPeerChanges: Bool
    let memoSlots: Int

    public init(rules: [CompiledRule]) {
        self.rules = rules
        let rulesByType = EventType.allCases.map { type in rules.filter { $0.condition.eventTypes.contains(type) } }
        self.rulesByType = rulesByType
        judgesMessages = EventType.messages.contains { !rulesByType[Int($0.rawValue)].isEmpty }
        memoSlots = max(1, rules.map(\.condition.memoSlots).max() ?? 0)
        judgesPeerChanges = rules.contains { $0.condition.fieldNames.contains("fd.name_changed") || $0.output.fieldNames.contains("fd.name_changed") }
    }

    /// The event types some rule needs: sensors attach only the probes these require.
    public var neededEventTypes: Set<EventType> {
        var types = Set(EventType.allCases.filter { !rulesByType[Int($0.rawValue)].isEmpty })
        // A message takes its process from its connection's connect or accept (SocketOwners).
        if judgesMessages { types.formUnion([.connect, .accept]) }
        for rule in rules { types.formUnion(rule.condition.learnsFrom.union(rule.output.learnsFrom)) }
        return types
    }

    /// The fields the rules read, in their conditions or their outputs: a sensor gathers what
    /// only some rules want (`proc.env`) when one of them does.
    public var fieldNames: Set<String> {
        rules.reduce(into: []) { names, rule in
            names.formUnion(rule.output.fieldNames)
            names.formUnion(rule.condition.fieldNames)
        }
    }

    /// The names the rules compare fd.sip.name and its kin with: what a resolver must look up.
    public var namesToResolve: Set<String> {
        rules.reduce(into: []) { names, rule in
            guard let expression = rule.condition.expression else { return }
            names.formUnion(ConditionCompiler.literals(comparedWith: ResolvedNames.fieldNames, in: expression))
        }
    }

    /// For each captured call the rules narrow to a few values, the filter the kernel can apply.
    public var callFilters: [EventType: CallFilter] {
        var filters: [EventType: CallFilter] = [:]
        for call in CapturedCall.all {
            let rules = rulesByType[Int(call.eventType.rawValue)]
            guard !rules.isEmpty, let filter = CallFilter.narrowing(call, for: rules.map(\.condition)) else { continue }
            filters[call.eventType] = filter
        }
        return filters
    }

    /// The system calls some rule could match: the others need not become events.
    public var neededSystemCalls: SystemCallNumbers {
        rulesByType[Int(EventType.syscall.rawValue)].reduce(.none) { $0.union($1.condition.systemCalls) }
    }
}
