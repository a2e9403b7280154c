/// Runs events through the rules: keeps the process and container tables up to date and evaluates
/// each event against only the rules indexed under its type. One engine serves one event stream,
/// on one thread; live and replayed events take this same path.
public final class Engine {
    public struct Statistics: Sendable {
        public var events: UInt64 = 0
        public var alerts: UInt64 = 0
        public var eventsByType = [UInt64](repeating: 0, count: EventType.allCases.count)
    }

    public let processes: ProcessTable
    public let containers: ContainerTable
    public let rules: [CompiledRule]
    public private(set) var statistics = Statistics()
    private var writtenFiles = WrittenFiles()
    private var socketOwners = SocketOwners()
    private var socketPeers = SocketPeers()
    private let judgesPeerChanges: Bool
    /// The shared subconditions' answers (SharedSubconditions), this engine's own.
    private let memo: UnsafeMutablePointer<MemoSlot>
    private let memoCount: Int
    private let rulesByType: [[CompiledRule]]
    /// Whether some rule judges captured messages: only then is it worth learning who holds each
    /// connection (a busy host makes hundreds of thousands a second).
    private let judgesMessages: Bool

    public init(rules: [CompiledRule], processes: ProcessTable = ProcessTable(), containers: ContainerTable = ContainerTable()) {
        self.rules = rules
        self.processes = processes
        self.containers = containers
        let rulesByType = EventType.allCases.map { type in rules.filter { $0.condition.eventTypes.contains(type) } }
        self.rulesByType = rulesByType
        judgesMessages = EventType.messages.contains { !rulesByType[Int($0.rawValue)].isEmpty }
        memoCount = max(1, rules.map(\.condition.memoSlots).max() ?? 0)
        memo = .allocate(capacity: memoCount)
        memo.initialize(repeating: MemoSlot(), count: memoCount)
        judgesPeerChanges = rules.contains { $0.condition.fieldNames.contains("fd.name_changed") || $0.output.fieldNames.contains("fd.name_changed") }
    }

    deinit {
        memo.deinitialize(count: memoCount)
        memo.deallocate()
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

    /// The event is consumed: it moves into the context the rules read, uncopied.
    public func process(_ event: consuming Event, emit: (Alert) -> Void) {
        statistics.events += 1
        statistics.eventsByType[Int(event.type.rawValue)] += 1

        var context: EventContext
        if case .message(let connection, _) = event.payload {
            let owner = event.pid != 0 ? event.pid : socketOwners.owner(of: connection)
            let peer = connection.peerContainerID.map { containers.record(for: $0) }
            let peerOwner = peer == nil ? nil : socketOwners.owner(of: connection.reversed)
            let container = containers.record(for: event.containerID ?? ContainerRecord.hostID)
            context = EventContext(event: consume event, process: owner.flatMap { processes[$0] }, container: container,
                                   peerContainer: peer, peerProcess: peerOwner.flatMap { processes[$0] }, number: statistics.events)
        } else if !event.type.hasProcess {
            let id = event.containerID ?? ContainerRecord.hostID
            if case .container(let facts) = event.payload { containers.update(id: id, with: facts) }
            context = EventContext(event: consume event, process: nil, container: containers.record(for: id), number: statistics.events)
        } else {
            let container = event.containerID.map { containers.record(for: $0) }
            let process = processes.apply(event, container: container)
            if event.type.isExec {
                process.isExeWritten = writtenFiles.contains(container: process.container, path: process.exePath)
            } else if case .open(let path, let flags, let result, _, _) = event.payload, flags.isWrite, result >= 0 {
                writtenFiles.insert(container: process.container, path: path)
            } else if judgesMessages, event.type == .connect || event.type == .accept {
                socketOwners.update(with: event)
            }
            context = EventContext(event: consume event, process: process, container: process.container, number: statistics.events)
            if judgesPeerChanges, let descriptor = context.descriptor, descriptor.kind?.isSocket == true, !descriptor.isConnected,
               case .call(let arguments) = context.event.payload, let peer = arguments.address {
                context.nameChanged = socketPeers.changes(socket: descriptor.inode, to: peer)
            }
        }

        context.memo = memo
        for rule in rulesByType[Int(context.event.type.rawValue)] {
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
            rule.alertCount += 1
            statistics.alerts += 1
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
