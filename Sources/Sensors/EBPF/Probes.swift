import CLibbpf
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why the probes could not start, in words a user can act on.
public struct ProbeError: Error, CustomStringConvertible {
    public let description: String
}

/// What the probes are to send, from what the enabled rules need: the event types decide the
/// families (`ProbeFamily.needed`).
public struct ProbeSelection: Sendable, Equatable {
    /// The event types the rules need.
    public var eventTypes: Set<EventType>
    /// The calls streamed from every watched container: those signature rules name. BoSC asks for
    /// more, container by container.
    public var streamedSystemCalls: SystemCallNumbers
    /// Stream every call of a container until a BoSC rule has decided what it needs of it.
    public var streamUndecided: Bool
    /// Send the host's events too, not only containers'.
    public var includeHost: Bool
    /// The captured calls the rules narrow to a few values: the kernel sends only those.
    public var callFilters: [EventType: CallFilter] = [:]
    /// Execs carry their environment (`proc.env`): only when a rule reads it.
    public var readEnvironment = false

    public init(eventTypes: Set<EventType>, streamedSystemCalls: SystemCallNumbers = .all, streamUndecided: Bool = false, includeHost: Bool) {
        self.eventTypes = eventTypes
        self.streamedSystemCalls = streamedSystemCalls
        self.streamUndecided = streamUndecided
        self.includeHost = includeHost
    }

    /// What the probes must gather for the engine's rules: the event types and system calls they
    /// need, the calls they narrow, and the environment if one reads it. The command line adds
    /// what is its own to decide (the host, BoSC's streaming).
    public init(for rules: RuleIndex) {
        self.init(eventTypes: rules.neededEventTypes, streamedSystemCalls: rules.neededSystemCalls, includeHost: false)
        callFilters = rules.callFilters
        readEnvironment = rules.fieldNames.contains("proc.env")
    }

    /// The switches every family's programs read.
    var config: sentinel_config {
        var config = sentinel_config()
        config.include_host = includeHost ? 1 : 0
        config.stream_undecided = streamUndecided ? 1 : 0
        config.read_environment = readEnvironment ? 1 : 0
        withUnsafeMutableBytes(of: &config.stream_numbers) { words in
            for (index, word) in streamedSystemCalls.words.prefix(words.count / 8).enumerated() {
                words.storeBytes(of: word, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        for family in ProbeFamily.needed(for: eventTypes) { family.configure(eventTypes, &config) }
        return config
    }
}

/// The eBPF objects built from bpf/ and embedded in the binary, loaded into the kernel and
/// attached: the families `ProbeFamily` lists for the selection's event types. `detach` undoes
/// everything.
final class Probes {
    /// The maps every family defines and that must be one map in the kernel (see common.bpf.h).
    private static let sharedMaps = ["events", "record_counters", "cgroup_verdicts", "tcp_connections", "syscall_batches"]

    private var objects: [OpaquePointer] = []
    private var links: [OpaquePointer] = []
    private var sharedMapFDs: [String: Int32] = [:]
    /// Each object's ELF, kept for as long as libbpf may read it.
    private var images: [[UInt8]] = []

    var eventsFD: Int32 { sharedMapFDs["events"] ?? -1 }
    var countersFD: Int32 { sharedMapFDs["record_counters"] ?? -1 }
    var verdictsFD: Int32 { sharedMapFDs["cgroup_verdicts"] ?? -1 }

    /// A map of a loaded family by name (-1 when that family is not loaded).
    func mapFD(_ name: String) -> Int32 {
        for object in objects {
            if let map = bpf_object__find_map_by_name(object, name) { return bpf_map__fd(map) }
        }
        return -1
    }
    /// The families attached, for the start-up message.
    private(set) var attached: [String] = []
    /// Where cgroup_skb programs attach: the cgroup v2 root.
    private var cgroupRoot = ""

    /// `ringBufferBytes`: the size of the ring buffer all records share, a power of two of at
    /// least a page; a burst bigger than it is dropped (and counted).
    init(selection: ProbeSelection, ringBufferBytes: UInt32, verifierLogDirectory: String) throws {
        try Self.checkPrerequisites()
        LibbpfLog.install()
        let families = ProbeFamily.needed(for: selection.eventTypes)
        if let family = families.first(where: \.attachesToCgroupRoot) {
            // cgroup_skb programs attach to a cgroup: the v2 root holds every container's.
            guard let root = CgroupPaths.cgroup2MountPoint(readTextFile("/proc/self/mountinfo") ?? "") else {
                throw ProbeError(description: "the \(family.name) probes need cgroup v2 mounted (at /sys/fs/cgroup or /sys/fs/cgroup/unified): none is in /proc/self/mountinfo")
            }
            cgroupRoot = root
        }
        let config = selection.config
        do {
            for family in families {
                try load(family: family.name, config: config, ringBufferBytes: ringBufferBytes, verifierLogDirectory: verifierLogDirectory)
                family.fill(selection, mapFD)
            }
        } catch {
            detach()
            throw error
        }
    }

    deinit { detach() }

    /// Detaches every program: the kernel stops producing records; the maps stay readable.
    func detachPrograms() {
        for link in links { bpf_link__destroy(link) }
        links.removeAll()
    }

    /// Detaches every program and frees the objects and their maps.
    func detach() {
        detachPrograms()
        for object in objects { bpf_object__close(object) }
        objects.removeAll()
        sharedMapFDs.removeAll()
    }

    private static func checkPrerequisites() throws {
        if access("/sys/kernel/btf/vmlinux", R_OK) != 0 {
            throw ProbeError(description: "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): sentinel's CO-RE probes need a kernel built with CONFIG_DEBUG_INFO_BTF=y")
        }
        let capBPF = 39, capPerfmon = 38, capSysAdmin = 21
        let capabilities = effectiveCapabilities()
        let has = { (bit: Int) in capabilities & (UInt64(1) << UInt64(bit)) != 0 }
        if !(has(capSysAdmin) || (has(capBPF) && has(capPerfmon))) {
            throw ProbeError(description: "loading eBPF probes needs root, or the capabilities CAP_BPF and CAP_PERFMON (this process has neither): run sentinel as root")
        }
    }

    /// CapEff from /proc/self/status.
    private static func effectiveCapabilities() -> UInt64 {
        guard let status = readTextFile("/proc/self/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(String(line.dropFirst("CapEff:".count).filter { $0 != "\t" && $0 != " " }), radix: 16) ?? 0
        }
        return 0
    }

    private func load(family: String, config: sentinel_config, ringBufferBytes: UInt32, verifierLogDirectory: String) throws {
        guard let hex = EmbeddedBPFObjects.hex[family] else {
            throw ProbeError(description: "internal: the eBPF object \(family) was not embedded at build time")
        }
        let image = decodeHex(hex)
        images.append(image)
        var options = bpf_object_open_opts()
        options.sz = MemoryLayout<bpf_object_open_opts>.size
        let object: OpaquePointer? = family.withCString { name in
            options.object_name = name
            return image.withUnsafeBytes { bytes in bpf_object__open_mem(bytes.baseAddress, bytes.count, &options) }
        }
        guard let object, libbpf_get_error(UnsafeRawPointer(object)) == 0 else {
            throw ProbeError(description: "cannot open the eBPF object \(family): \(String(cString: strerror(errno)))")
        }
        objects.append(object)
        try configure(object, family: family, config: config)
        if sharedMapFDs["events"] == nil, let events = bpf_object__find_map_by_name(object, "events") {
            let status = bpf_map__set_max_entries(events, ringBufferBytes)
            if status != 0 { throw ProbeError(description: "the ring buffer cannot have \(ringBufferBytes) bytes: \(String(cString: strerror(-status)))") }
        }

        LibbpfLog.reset()
        let status = bpf_object__load(object)
        if status != 0 {
            let logPath = "\(verifierLogDirectory)/sentinel-\(family)-verifier.log"
            let saved = LibbpfLog.save(to: logPath)
            throw ProbeError(description: "the kernel refused the eBPF programs of \(family).bpf.c (\(String(cString: strerror(-status))))"
                             + (saved ? "; the verifier's log is in \(logPath)" : "; its log could not be saved to \(logPath)"))
        }
        rememberSharedMaps(of: object)
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let name = String(cString: bpf_program__name(current))
            guard let link = attach(current), libbpf_get_error(UnsafeRawPointer(link)) == 0 else {
                throw ProbeError(description: "cannot attach \(name) (\(String(cString: bpf_program__section_name(current)))) from \(family).bpf.c: \(String(cString: strerror(errno)))")
            }
            links.append(link)
            program = bpf_object__next_program(object, current)
        }
        attached.append(family)
    }

    /// Tracepoint programs attach where their section says; cgroup_skb programs to the cgroup root.
    private func attach(_ program: OpaquePointer) -> OpaquePointer? {
        guard bpf_program__type(program) == BPF_PROG_TYPE_CGROUP_SKB else { return bpf_program__attach(program) }
        let root = open(cgroupRoot, O_RDONLY | O_DIRECTORY)
        guard root >= 0 else { return nil }
        defer { close(root) }
        return bpf_program__attach_cgroup(program, root)
    }

    /// Writes the configuration into the object's .rodata and makes its shared maps the ones
    /// already created by an earlier family.
    private func configure(_ object: OpaquePointer, family: String, config: sentinel_config) throws {
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            let name = String(cString: bpf_map__name(current))
            if name.hasSuffix(".rodata") {
                var size = 0
                guard let data = bpf_map__initial_value(current, &size), size == MemoryLayout<sentinel_config>.size else {
                    throw ProbeError(description: "internal: \(family).bpf.c's .rodata is not one struct sentinel_config")
                }
                // libbpf lets the initial value be changed until the object is loaded.
                UnsafeMutableRawPointer(mutating: data).storeBytes(of: config, as: sentinel_config.self)
            } else if let fd = sharedMapFDs[name] {
                let status = bpf_map__reuse_fd(current, fd)
                if status != 0 { throw ProbeError(description: "cannot share the map \(name) with \(family).bpf.c: \(String(cString: strerror(-status)))") }
            }
            map = bpf_object__next_map(object, current)
        }
    }

    private func rememberSharedMaps(of object: OpaquePointer) {
        for name in Self.sharedMaps where sharedMapFDs[name] == nil {
            if let map = bpf_object__find_map_by_name(object, name) {
                sharedMapFDs[name] = bpf_map__fd(map)
            }
        }
    }

    /// Produced and dropped records per kind, summed over CPUs.
    func readCounters() -> [sentinel_counter] {
        let cpus = Int(libbpf_num_possible_cpus())
        var perCPU = [sentinel_counter](repeating: sentinel_counter(), count: max(cpus, 1))
        var totals = [sentinel_counter](repeating: sentinel_counter(), count: Int(SENTINEL_RECORD_KIND_COUNT.rawValue))
        for kind in 0..<UInt32(totals.count) {
            var key = kind
            guard bpf_map_lookup_elem(countersFD, &key, &perCPU) == 0 else { continue }
            for value in perCPU {
                totals[Int(kind)].produced += value.produced
                totals[Int(kind)].dropped += value.dropped
            }
        }
        return totals
    }

    /// Tells the kernel whether to send a cgroup's events.
    func setVerdict(_ verdict: sentinel_cgroup_verdict, cgroupID: UInt64) {
        var key = cgroupID
        var value = verdict.rawValue
        bpf_map_update_elem(verdictsFD, &key, &value, UInt64(BPF_ANY))
    }

    /// How many cgroups the verdicts map holds (walked key by key: for `/metrics`, not per event).
    func verdictCount() -> Int {
        var count = 0
        var key: UInt64 = 0, next: UInt64 = 0
        var status = bpf_map_get_next_key(verdictsFD, nil, &next)
        while status == 0 {
            count += 1
            key = next
            status = bpf_map_get_next_key(verdictsFD, &key, &next)
        }
        return count
    }

    /// Takes a cgroup that is gone out of the verdicts map.
    func forgetVerdict(cgroupID: UInt64) {
        var key = cgroupID
        bpf_map_delete_elem(verdictsFD, &key)
    }
}

private func decodeHex(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.utf8.count / 2)
    var high: UInt8 = 0
    for (index, digit) in hex.utf8.enumerated() {
        let value = digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : digit - UInt8(ascii: "a") + 10
        if index % 2 == 0 { high = value } else { bytes.append(high << 4 | value) }
    }
    return bytes
}

/// libbpf's messages (the verifier's log among them), kept so a refused program's log can be saved.
enum LibbpfLog {
    private static let messages = Mutex<[String]>([])

    static func install() {
        libbpf_set_print { level, format, arguments in
            // A verifier's log arrives as one message; a megabyte holds any log worth reading.
            guard let format, let arguments else { return 0 }
            var text = [CChar](repeating: 0, count: 1 << 20)
            guard vsnprintf(&text, text.count, format, arguments) >= 0 else { return 0 }
            let message = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            LibbpfLog.messages.withLock { $0.append(message) }
            return 0
        }
    }

    static func reset() { messages.withLock { $0.removeAll() } }

    static func save(to path: String) -> Bool {
        let text = messages.withLock { $0.joined() }
        guard let file = fopen(path, "w") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}
