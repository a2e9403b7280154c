import CLibbpf
import Engine

/// The probe families of bpf/: each is one object built from bpf/<name>.bpf.c, listed with the
/// event types its records become. What the rules need decides which families are attached, and
/// which of the `sentinel_settings` switches their programs read are on; a rule set that names no
/// file event attaches no open probe. A new kind of kernel event is a row here, beside its record in records.h,
/// its program in bpf/ and its case in `RecordDecoder`.
struct ProbeFamily: Sendable {
    let name: String
    /// The event types its records become; it loads when the rules need one of them.
    let eventTypes: Set<EventType>
    /// Loaded whatever the rules need: the process table depends on it.
    var always = false
    /// Families whose maps it reads, loaded with it.
    var needs: [String] = []
    /// Its programs attach to the cgroup v2 root (cgroup_skb), not to a tracepoint.
    var attachesToCgroupRoot = false
    /// Turns on the switches its programs read for the wanted types among its own.
    var configure: @Sendable (_ wanted: Set<EventType>, _ settings: inout sentinel_settings) -> Void = { _, _ in }
    /// Fills its maps for what the rules want, once it is loaded and at each reload (so it also
    /// clears what is no longer wanted); `mapFD` finds a map by name.
    var fill: @Sendable (_ wanted: ProbeSelection, _ mapFD: (String) -> Int32) -> Void = { _, _ in }

    static let all: [ProbeFamily] = [
        ProbeFamily(name: "process", eventTypes: [.execve, .execveat, .clone, .procexit], always: true),
        ProbeFamily(name: "syscall_results", eventTypes: EventType.opens.union([.connect, .accept, .listen]).union(EventType.capturedCalls),
                    configure: readExits, fill: writeCallSpecs),
        // A close's counters come from the connection syscall_results saw open.
        ProbeFamily(name: "tcp", eventTypes: [.close], needs: ["syscall_results"]) { _, settings in
            readExits(of: socketNumbers, into: &settings)
            settings.track_connections = 1
        },
        ProbeFamily(name: "syscalls", eventTypes: [.syscall, .boscepoch]),
        ProbeFamily(name: "segments", eventTypes: [.segment], attachesToCgroupRoot: true),
    ]

    /// open, openat, openat2; connect, accept, accept4, listen (x86_64).
    static let openNumbers = [2, 257, 437], socketNumbers = [42, 43, 288, 50]

    /// Marks the calls whose exits syscall_results.bpf.c reads.
    static func readExits(of numbers: [Int], into settings: inout sentinel_settings) {
        withUnsafeMutableBytes(of: &settings.exit_numbers) { words in
            for number in numbers {
                let offset = number / 64 * 8
                words.storeBytes(of: words.load(fromByteOffset: offset, as: UInt64.self) | 1 << UInt64(number % 64), toByteOffset: offset, as: UInt64.self)
            }
        }
    }

    /// The opens, sockets and captured calls the wanted types need.
    static func readExits(wanted: Set<EventType>, settings: inout sentinel_settings) {
        var numbers: [Int] = []
        if !wanted.isDisjoint(with: EventType.opens) { numbers += openNumbers }
        if !wanted.isDisjoint(with: EventType.sockets) { numbers += socketNumbers }
        numbers += CapturedCall.all.filter { wanted.contains($0.eventType) }.map(\.number)
        readExits(of: numbers, into: &settings)
    }

    /// What the capture program reads of each wanted call (map call_specs); the calls not wanted
    /// get an empty spec (not captured).
    static func writeCallSpecs(wanted: ProbeSelection, mapFD: (String) -> Int32) {
        let specs = mapFD("call_specs")
        for call in CapturedCall.all {
            var key = UInt32(call.number)
            var spec = sentinel_call_spec()
            guard wanted.eventTypes.contains(call.eventType) else {
                bpf_map_update_elem(specs, &key, &spec, UInt64(BPF_ANY))
                continue
            }
            spec.captured = 1
            spec.strings = call.stringArguments
            spec.descriptor = call.descriptorIndex.map { Int8($0) } ?? Int8(SENTINEL_CALL_NO_FD)
            spec.address = call.addressIndex.map { Int8($0) } ?? Int8(SENTINEL_CALL_NO_FD)
            spec.credentials = call.changesCredentials ? 1 : 0
            spec.address_in_header = call.addressInMessageHeader ? 1 : 0
            withUnsafeMutableBytes(of: &spec.base) { bases in
                for index in 0..<bases.count {
                    bases[index] = UInt8(bitPattern: index < call.arguments.count ? call.base(of: index) : CapturedCall.notAPath)
                }
            }
            narrow(&spec, of: call, by: wanted.callFilters[call.eventType])
            bpf_map_update_elem(specs, &key, &spec, UInt64(BPF_ANY))
        }
    }

    /// The spec's filter: the slot, the width the call reads it at, the values.
    static func narrow(_ spec: inout sentinel_call_spec, of call: CapturedCall, by filter: CallFilter?) {
        guard let filter, filter.values.count <= Int(SENTINEL_CALL_FILTER_VALUES) else {
            spec.filter_slot = Int8(SENTINEL_CALL_NO_FILTER)
            return
        }
        switch filter.slot {
        case .result:
            spec.filter_slot = Int8(SENTINEL_CALL_FILTER_RESULT)
            spec.filter_width = UInt8(SENTINEL_CALL_WIDTH_LONG.rawValue)
        case .argument(let index):
            spec.filter_slot = Int8(index)
            switch call.arguments[index].kind.width {
            case .int: spec.filter_width = UInt8(SENTINEL_CALL_WIDTH_INT.rawValue)
            case .unsignedInt: spec.filter_width = UInt8(SENTINEL_CALL_WIDTH_UINT.rawValue)
            case .long: spec.filter_width = UInt8(SENTINEL_CALL_WIDTH_LONG.rawValue)
            }
        }
        spec.filter_count = UInt8(filter.values.count)
        withUnsafeMutableBytes(of: &spec.filter_values) { slots in
            for (index, value) in filter.values.sorted().enumerated() {
                slots.storeBytes(of: value, toByteOffset: index * 8, as: Int64.self)
            }
        }
    }

    /// The families events of `types` need, in the order of `all` (the process family first).
    static func needed(for types: Set<EventType>) -> [ProbeFamily] {
        var names = Set(all.filter { $0.always || !$0.eventTypes.isDisjoint(with: types) }.map(\.name))
        for family in all where names.contains(family.name) { names.formUnion(family.needs) }
        return all.filter { names.contains($0.name) }
    }
}
