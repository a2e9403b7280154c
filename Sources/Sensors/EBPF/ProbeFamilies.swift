import CLibbpf
import Engine

/// The probe families of bpf/: each is one object built from bpf/<name>.bpf.c, listed with the
/// event types its records become. What the rules need decides which families load, and which of
/// the `sentinel_config` switches their programs read are on; a rule set that names no file event
/// loads no open probe. A new kind of kernel event is a row here, beside its record in records.h,
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
    var configure: @Sendable (_ wanted: Set<EventType>, _ config: inout sentinel_config) -> Void = { _, _ in }
    /// Fills its maps for the wanted types, once it is loaded; `mapFD` finds a map by name.
    var fill: @Sendable (_ wanted: Set<EventType>, _ mapFD: (String) -> Int32) -> Void = { _, _ in }

    static let all: [ProbeFamily] = [
        ProbeFamily(name: "process", eventTypes: [.execve, .clone, .procexit], always: true),
        ProbeFamily(name: "syscall_results", eventTypes: EventType.opens.union([.connect, .accept, .listen])) { wanted, config in
            if !wanted.isDisjoint(with: EventType.opens) { config.want_opens = 1 }
            if !wanted.isDisjoint(with: EventType.sockets) { config.want_sockets = 1 }
        },
        // A close's counters come from the connection syscall_results saw open.
        ProbeFamily(name: "tcp", eventTypes: [.close], needs: ["syscall_results"]) { _, config in config.want_sockets = 1 },
        ProbeFamily(name: "syscalls", eventTypes: [.syscall, .boscepoch]),
        ProbeFamily(name: "segments", eventTypes: [.segment], attachesToCgroupRoot: true),
        ProbeFamily(name: "calls", eventTypes: EventType.capturedCalls, fill: { wanted, mapFD in
            let specs = mapFD("call_specs")
            for call in CapturedCall.all where wanted.contains(call.eventType) {
                var key = UInt32(call.number)
                var spec = sentinel_call_spec()
                spec.captured = 1
                spec.strings = call.stringArguments
                withUnsafeMutableBytes(of: &spec.base) { bases in
                    for index in 0..<bases.count {
                        bases[index] = UInt8(bitPattern: index < call.arguments.count ? call.base(of: index) : CapturedCall.notAPath)
                    }
                }
                bpf_map_update_elem(specs, &key, &spec, UInt64(BPF_ANY))
            }
        }),
    ]

    /// The families events of `types` need, in the order of `all` (the process family first).
    static func needed(for types: Set<EventType>) -> [ProbeFamily] {
        var names = Set(all.filter { $0.always || !$0.eventTypes.isDisjoint(with: types) }.map(\.name))
        for family in all where names.contains(family.name) { names.formUnion(family.needs) }
        return all.filter { names.contains($0.name) }
    }
}
