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

    /// The run's switches, fixed once the objects are loaded (each object's .rodata).
    var config: sentinel_config {
        var config = sentinel_config()
        config.include_host = includeHost ? 1 : 0
        return config
    }

    /// The switches the rules make, which every family's programs read (map settings): written
    /// at the start and again at each reload.
    var settings: sentinel_settings {
        var settings = sentinel_settings()
        settings.stream_undecided = streamUndecided ? 1 : 0
        settings.read_environment = readEnvironment ? 1 : 0
        withUnsafeMutableBytes(of: &settings.stream_numbers) { words in
            for (index, word) in streamedSystemCalls.words.prefix(words.count / 8).enumerated() {
                words.storeBytes(of: word, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        for family in families { family.configure(eventTypes, &settings) }
        return settings
    }

    /// The families the event types need, in the order of `ProbeFamily.all`.
    var families: [ProbeFamily] { ProbeFamily.needed(for: eventTypes) }
}

/// eBPF objects loaded into the kernel for a reload, not attached yet: `Probes.apply` takes them;
/// those never taken (the run ended first) are closed with this.
public final class LoadedFamilies: @unchecked Sendable {
    fileprivate struct Loaded {
        let name: String
        let object: OpaquePointer
        /// The object's ELF, kept for as long as libbpf may read it.
        let image: [UInt8]
    }

    fileprivate var families: [Loaded] = []
    /// The shared maps these objects created (the first to define one creates it).
    fileprivate var sharedMapFDs: [String: Int32] = [:]

    deinit {
        for family in families { bpf_object__close(family.object) }
    }
}

/// The eBPF objects built from bpf/ and embedded in the binary, loaded into the kernel and
/// attached: the families `ProbeFamily` lists for the selection's event types. A reload attaches
/// the families its rules need and detaches the others; a family once loaded stays loaded until
/// `detach`, its programs detached while no rule needs it, so that its maps keep what they hold
/// (BoSC's profiles, open TCP connections) and attaching it again costs no verifier's pass.
final class Probes {
    /// The maps every family defines and that must be one map in the kernel (see common.bpf.h).
    private static let sharedMaps = ["events", "record_counters", "cgroup_verdicts", "settings", "tcp_connections", "syscall_batches"]

    private struct Family {
        let object: OpaquePointer
        let image: [UInt8]
        /// Empty while detached.
        var links: [OpaquePointer] = []
    }

    /// Changed on the sensor's thread (the start, a reload's swap) and read by a reload's
    /// preparation on its own queue and by `/metrics`; libbpf's objects are only used under the lock.
    private struct State: @unchecked Sendable {
        var families: [String: Family] = [:]
        var sharedMapFDs: [String: Int32] = [:]
    }

    private let state = Mutex(State())
    private let config: sentinel_config
    private let ringBufferBytes: UInt32
    private let verifierLogDirectory: String
    /// Where cgroup_skb programs attach: the cgroup v2 root, or nil if none is mounted.
    private let cgroupRoot = CgroupPaths.cgroup2MountPoint(readTextFile("/proc/self/mountinfo") ?? "")

    var eventsFD: Int32 { sharedMapFD("events") }
    var countersFD: Int32 { sharedMapFD("record_counters") }
    var verdictsFD: Int32 { sharedMapFD("cgroup_verdicts") }

    private func sharedMapFD(_ name: String) -> Int32 { state.withLock { $0.sharedMapFDs[name] } ?? -1 }

    /// A map of a loaded family by name (-1 when no family that defines it is loaded).
    func mapFD(_ name: String) -> Int32 {
        state.withLock { state in
            for family in ProbeFamily.all {
                if let object = state.families[family.name]?.object, let map = bpf_object__find_map_by_name(object, name) { return bpf_map__fd(map) }
            }
            return -1
        }
    }

    /// The families attached, in the order of `ProbeFamily.all`.
    var attached: [String] {
        state.withLock { state in ProbeFamily.all.map(\.name).filter { state.families[$0]?.links.isEmpty == false } }
    }

    /// `ringBufferBytes`: the size of the ring buffer all records share, a power of two of at
    /// least a page; a burst bigger than it is dropped (and counted).
    init(selection: ProbeSelection, ringBufferBytes: UInt32, verifierLogDirectory: String) throws {
        try Self.checkPrerequisites()
        LibbpfLog.install()
        config = selection.config
        self.ringBufferBytes = ringBufferBytes
        self.verifierLogDirectory = verifierLogDirectory
        do {
            let problems = apply(selection, adding: try load(for: selection))
            if let first = problems.first { throw ProbeError(description: first) }
        } catch {
            detach()
            throw error
        }
    }

    deinit { detach() }

    /// Loads, without attaching, the families `selection` needs that are not loaded yet: the
    /// verifier's work, done off the sensor's thread for a reload.
    func load(for selection: ProbeSelection) throws -> LoadedFamilies {
        let loaded = LoadedFamilies()
        var (present, shared) = state.withLock { (Set($0.families.keys), $0.sharedMapFDs) }
        for family in selection.families where !present.contains(family.name) {
            if family.attachesToCgroupRoot && cgroupRoot == nil {
                throw ProbeError(description: "the \(family.name) probes need cgroup v2 mounted (at /sys/fs/cgroup or /sys/fs/cgroup/unified): none is in /proc/self/mountinfo")
            }
            let (object, image) = try loadObject(family: family.name, sharing: shared)
            loaded.families.append(.init(name: family.name, object: object, image: image))
            for name in Self.sharedMaps where shared[name] == nil {
                if let map = bpf_object__find_map_by_name(object, name) {
                    shared[name] = bpf_map__fd(map)
                    loaded.sharedMapFDs[name] = shared[name]
                }
            }
            present.insert(family.name)
        }
        return loaded
    }

    /// From here on the probes gather what `selection` says: the families `loaded` holds join
    /// those loaded, the settings and the families' maps are written, the families needed are
    /// attached and the others detached. On the sensor's thread, between two records. Returns
    /// what could not be attached (its events stay away), said for a person.
    @discardableResult
    func apply(_ selection: ProbeSelection, adding loaded: LoadedFamilies) -> [String] {
        state.withLock { state in
            for family in loaded.families { state.families[family.name] = Family(object: family.object, image: family.image) }
            state.sharedMapFDs.merge(loaded.sharedMapFDs) { current, _ in current }
        }
        loaded.families.removeAll()
        writeSettings(selection.settings)
        let needed = selection.families
        // Filled before the programs attach, so that their first call finds what the rules want.
        for family in needed { family.fill(selection, mapFD) }
        var problems: [String] = []
        state.withLock { state in
            for family in needed {
                guard let loaded = state.families[family.name], loaded.links.isEmpty else { continue }
                do { state.families[family.name]?.links = try attach(family.name, loaded.object) } catch { problems.append("\(error)") }
            }
            let neededNames = Set(needed.map(\.name))
            for name in state.families.keys where !neededNames.contains(name) {
                for link in state.families[name]!.links { bpf_link__destroy(link) }
                state.families[name]!.links.removeAll()
            }
        }
        return problems
    }

    /// Detaches every program: the kernel stops producing records; the maps stay readable.
    func detachPrograms() {
        state.withLock { state in
            for name in state.families.keys {
                for link in state.families[name]!.links { bpf_link__destroy(link) }
                state.families[name]!.links.removeAll()
            }
        }
    }

    /// Detaches every program and frees the objects and their maps.
    func detach() {
        detachPrograms()
        state.withLock { state in
            for family in state.families.values { bpf_object__close(family.object) }
            state = State()
        }
    }

    private func writeSettings(_ settings: sentinel_settings) {
        var key: UInt32 = 0
        var value = settings
        bpf_map_update_elem(sharedMapFD("settings"), &key, &value, UInt64(BPF_ANY))
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

    /// Opens a family's object, with the run's config and the shared maps that exist, and loads it
    /// into the kernel.
    private func loadObject(family: String, sharing shared: [String: Int32]) throws -> (OpaquePointer, [UInt8]) {
        guard let hex = EmbeddedBPFObjects.hex[family] else {
            throw ProbeError(description: "internal: the eBPF object \(family) was not embedded at build time")
        }
        let image = decodeHex(hex)
        var options = bpf_object_open_opts()
        options.sz = MemoryLayout<bpf_object_open_opts>.size
        let object: OpaquePointer? = family.withCString { name in
            options.object_name = name
            return image.withUnsafeBytes { bytes in bpf_object__open_mem(bytes.baseAddress, bytes.count, &options) }
        }
        guard let object, libbpf_get_error(UnsafeRawPointer(object)) == 0 else {
            throw ProbeError(description: "cannot open the eBPF object \(family): \(String(cString: strerror(errno)))")
        }
        do {
            try configure(object, family: family, sharing: shared)
            if shared["events"] == nil, let events = bpf_object__find_map_by_name(object, "events") {
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
        } catch {
            bpf_object__close(object)
            throw error
        }
        return (object, image)
    }

    /// Attaches every program of a loaded family: all of them, or none.
    private func attach(_ family: String, _ object: OpaquePointer) throws -> [OpaquePointer] {
        var links: [OpaquePointer] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            guard let link = attach(current), libbpf_get_error(UnsafeRawPointer(link)) == 0 else {
                let problem = "cannot attach \(String(cString: bpf_program__name(current))) (\(String(cString: bpf_program__section_name(current)))) from \(family).bpf.c: \(String(cString: strerror(errno)))"
                for link in links { bpf_link__destroy(link) }
                throw ProbeError(description: problem)
            }
            links.append(link)
            program = bpf_object__next_program(object, current)
        }
        return links
    }

    /// Tracepoint programs attach where their section says; cgroup_skb programs to the cgroup root.
    private func attach(_ program: OpaquePointer) -> OpaquePointer? {
        guard bpf_program__type(program) == BPF_PROG_TYPE_CGROUP_SKB else { return bpf_program__attach(program) }
        guard let cgroupRoot else { return nil }
        let root = open(cgroupRoot, O_RDONLY | O_DIRECTORY)
        guard root >= 0 else { return nil }
        defer { close(root) }
        return bpf_program__attach_cgroup(program, root)
    }

    /// Writes the run's configuration into the object's .rodata and makes its shared maps the
    /// ones an earlier family created.
    private func configure(_ object: OpaquePointer, family: String, sharing shared: [String: Int32]) throws {
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
            } else if let fd = shared[name] {
                let status = bpf_map__reuse_fd(current, fd)
                if status != 0 { throw ProbeError(description: "cannot share the map \(name) with \(family).bpf.c: \(String(cString: strerror(-status)))") }
            }
            map = bpf_object__next_map(object, current)
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
