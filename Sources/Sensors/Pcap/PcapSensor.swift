import Dispatch
import Engine
import Packets
import SentinelJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Captures containers' traffic with libpcap on the host side of their veths, reads the
/// application protocols in it (Packets) and delivers each message as an event of the container
/// whose veth it crossed. Messages wait `attributionDelay` before they go (a `MessageQueue`), so
/// that the eBPF sensor's connect and accept for their connection reach the engine first and name
/// the process, and so that a message between two containers, read on both veths, goes once.
public final class PcapSensor: Sensor {
    public struct Options: Sendable {
        /// Interfaces to capture on by name; nil for every container's veth, found as containers
        /// start (Docker's events) and every few seconds.
        public var interfaces: [String]?
        public var snapLength: Int32 = 65_535
        /// A libpcap filter: what to capture at all.
        public var filter: String? = "tcp or (udp and port 53)"
        /// Frames read per interface and second at most; the rest are counted and not read.
        public var packetsPerSecond = 200_000
        public var bufferBytes: Int32 = 16 << 20
        public var attributionDelayNanoseconds: UInt64 = 50_000_000
        public var flows = TrafficDissector.Limits()
        public var dockerSocket: String? = "/var/run/docker.sock"
        public var statisticsInterval: Double = 60

        public init() {}

        public static let keys = ["interfaces", "snap_length", "filter", "packets_per_second", "buffer_kib", "attribution_delay_ms",
                                  "max_flows", "flow_idle_seconds"]

        /// The config file's `"pcap"` object; every problem is reported.
        public static func parse(_ cursor: JSONCursor, diagnostics: Diagnostics) -> Options? {
            guard let object = cursor.object(diagnostics, allowedKeys: keys) else { return nil }
            let errorsBefore = diagnostics.errors.count
            var options = Options()
            if let names = object.optional("interfaces")?.stringArray(diagnostics) { options.interfaces = names }
            if let value = object.optional("snap_length")?.integer(diagnostics, in: 128...262_144) { options.snapLength = Int32(value) }
            if let cursor = object.optional("filter") {
                if case .null = cursor.node.value { options.filter = nil } else if let text = cursor.string(diagnostics) { options.filter = text }
            }
            if let value = object.optional("packets_per_second")?.integer(diagnostics, in: 1...100_000_000) { options.packetsPerSecond = Int(value) }
            if let value = object.optional("buffer_kib")?.integer(diagnostics, in: 256...1_048_576) { options.bufferBytes = Int32(value * 1024) }
            if let value = object.optional("attribution_delay_ms")?.integer(diagnostics, in: 0...10_000) {
                options.attributionDelayNanoseconds = UInt64(value) * 1_000_000
            }
            if let value = object.optional("max_flows")?.integer(diagnostics, in: 1...10_000_000) { options.flows.flows = Int(value) }
            if let value = object.optional("flow_idle_seconds")?.integer(diagnostics, in: 1...86_400) { options.flows.idleSeconds = Int(value) }
            return diagnostics.errors.count == errorsBefore ? options : nil
        }
    }

    /// One interface being captured, and what it has counted.
    private final class Capture {
        /// Tells captures apart in the message queue.
        let number: Int
        let handle: PcapHandle
        let containerID: String
        let containerAddress: UInt64
        let dissector: TrafficDissector
        var windowStart: UInt64 = 0
        var framesInWindow = 0
        var overBudget: UInt64 = 0

        init(number: Int, handle: PcapHandle, containerID: String, containerAddress: UInt64, limits: TrafficDissector.Limits) {
            self.number = number
            self.handle = handle
            self.containerID = containerID
            self.containerAddress = containerAddress
            self.dissector = TrafficDissector(limits: limits)
        }
    }

    /// What captures counted, summed.
    private struct Totals: Sendable {
        var kernelReceived: UInt64 = 0
        var kernelDropped: UInt64 = 0
        var overBudget: UInt64 = 0
        var dissected = TrafficDissector.Counters()
    }

    public let options: Options
    public let label = "pcap"
    private let onStatistics: (SensorStatistics, String) -> Void
    private let onWarning: (String) -> Void
    private let stopped = StopFlag()
    private let rescanRequested = RescanRequest()
    private let clock = BootClock()
    private let counts = Mutex(SensorStatistics())
    /// The totals as of the last second, for `metrics` (the captures belong to the capture loop).
    private let published = Mutex((totals: Totals(), lostWaiting: UInt64(0), interfaces: 0))
    private var captures: [String: Capture] = [:]
    private var closed = Totals()
    private var waiting = MessageQueue(limit: 100_000)
    private var capturesOpened = 0
    private var warnedInterfaces: Set<String> = []

    public init(options: Options, onStatistics: @escaping (SensorStatistics, String) -> Void, onWarning: @escaping (String) -> Void) {
        self.options = options
        self.onStatistics = onStatistics
        self.onWarning = onWarning
    }

    public var statistics: SensorStatistics { counts.withLock { $0 } }

    public func stop() { stopped.set() }

    public func run(deliver: (Event) -> Void, between: () -> Void) throws {
        followDockerEvents()
        var lastRescan = -Double.infinity
        var lastStatistics = clock.monotonicSeconds()
        var lastPublished = lastStatistics
        var descriptors: [pollfd] = []
        while !stopped.isSet {
            let now = clock.monotonicSeconds()
            if rescanRequested.take() || now - lastRescan >= 2 {
                refreshCaptures()
                lastRescan = now
                descriptors = captures.values.map { pollfd(fd: $0.handle.selectableDescriptor, events: Int16(POLLIN), revents: 0) }
            }
            // With nothing to capture, wake up only to look for new interfaces (and for `between`).
            _ = poll(&descriptors, nfds_t(descriptors.count), captures.isEmpty ? 100 : 10)
            for capture in Array(captures.values) { read(capture) }
            deliverDue(before: clock.now(), deliver)
            between()
            if now - lastStatistics >= options.statisticsInterval {
                lastStatistics = now
                reportStatistics()
            } else if now - lastPublished >= 1 {
                lastPublished = now
                publishTotals()
            }
        }
        for capture in Array(captures.values) { read(capture) }
        deliverDue(before: .max, deliver)
        reportStatistics()
    }

    // MARK: - Interfaces

    /// Opens captures on the interfaces wanted now, and closes those that are gone.
    private func refreshCaptures() {
        var wanted: [String: (container: String, address: UInt64)] = [:]
        let discovered = ContainerInterfaces.find(containers: RunningContainers.processes())
        if let names = options.interfaces {
            for name in names {
                let container = discovered.first { $0.hostName == name }
                wanted[name] = (container?.containerID ?? ContainerRecord.hostID, container?.containerAddress ?? 0)
            }
        } else {
            for interface in discovered { wanted[interface.hostName] = (interface.containerID, interface.containerAddress) }
        }
        for (name, capture) in captures where wanted[name]?.container != capture.containerID {
            close(name)
        }
        for (name, owner) in wanted where captures[name] == nil {
            do {
                let handle = try PcapHandle.live(interface: name, snapLength: options.snapLength, bufferBytes: options.bufferBytes, filter: options.filter)
                capturesOpened += 1
                let capture = Capture(number: capturesOpened, handle: handle, containerID: owner.container, containerAddress: owner.address,
                                      limits: options.flows)
                handle.setHandler { [unowned self, unowned capture] bytes, time, _ in frame(bytes, time: time, on: capture) }
                captures[name] = capture
                warnedInterfaces.remove(name)
            } catch {
                if warnedInterfaces.insert(name).inserted { onWarning("pcap: \(error)") }
            }
        }
    }

    private func close(_ name: String) {
        guard let capture = captures.removeValue(forKey: name) else { return }
        add(capture, to: &closed)
    }

    private func add(_ capture: Capture, to totals: inout Totals) {
        let kernel = capture.handle.kernelCounts()
        totals.kernelReceived += kernel?.received ?? 0
        totals.kernelDropped += kernel?.dropped ?? 0
        totals.overBudget += capture.overBudget
        totals.dissected.add(capture.dissector.counters)
    }

    /// Follows Docker's events to look for new veths as soon as a container starts.
    private func followDockerEvents() {
        guard options.interfaces == nil, let socket = options.dockerSocket else { return }
        let client = DockerClient(socketPath: socket)
        DispatchQueue(label: "sentinel.pcap-docker-events").async { [stopped, rescanRequested] in
            while !stopped.isSet {
                try? client.followEvents(shouldStop: { stopped.isSet }) { change in
                    if case .created = change { rescanRequested.set() }
                }
                if !stopped.isSet { sleep(1) }
            }
        }
    }

    // MARK: - Frames to events

    private func read(_ capture: Capture) {
        do {
            _ = try capture.handle.dispatch()
        } catch {
            // The interface went away with its container.
            onWarning("pcap: \(error)")
            close(capture.handle.label)
        }
    }

    private func frame(_ bytes: UnsafeRawBufferPointer, time: UInt64, on capture: Capture) {
        if time &- capture.windowStart >= 1_000_000_000 {
            capture.windowStart = time
            capture.framesInWindow = 0
        }
        capture.framesInWindow += 1
        guard capture.framesInWindow <= options.packetsPerSecond else {
            capture.overBudget += 1
            return
        }
        capture.dissector.frame(bytes, linkType: capture.handle.linkType, time: time) { message in
            waiting.add(Self.event(for: message, time: time, container: capture.containerID, containerAddress: capture.containerAddress),
                        sighting: MessageQueue.Sighting(flow: message.flow, message: message.message), capture: capture.number,
                        due: time &+ options.attributionDelayNanoseconds)
        }
    }

    /// The event of a message read on `container`'s veth, whose side has the Ethernet address
    /// `containerAddress`: its connection seen from the container.
    public static func event(for message: PacketMessage, time: UInt64, container: String, containerAddress: UInt64) -> Event {
        let sender = Endpoint(address: message.flow.source, port: message.flow.sourcePort)
        let receiver = Endpoint(address: message.flow.destination, port: message.flow.destinationPort)
        let (client, server) = message.fromClient ? (sender, receiver) : (receiver, sender)
        let containerSent = message.senderLink == containerAddress
        let containerIsClient = containerSent == message.fromClient
        let connection = Connection(l4proto: message.flow.isTCP ? "tcp" : "udp", direction: containerIsClient ? .outbound : .inbound,
                                    source: client, destination: server)
        return Event(type: message.message.eventType, time: time, pid: 0, containerID: container,
                     payload: .message(connection, message.message))
    }

    private func deliverDue(before time: UInt64, _ deliver: (Event) -> Void) {
        let delivered = waiting.deliver(before: time, deliver)
        if delivered > 0 { counts.withLock { $0.delivered += delivered } }
    }

    // MARK: - Statistics

    public var metrics: [MetricReading] {
        let (totals, lostWaiting, interfaces) = published.withLock { $0 }
        let dissected = totals.dissected
        return [
            MetricReading("pcap_interfaces", "Interfaces captured on.", kind: .gauge, UInt64(interfaces)),
            MetricReading("pcap_frames_received_total", "Frames the kernel passed to libpcap.", totals.kernelReceived),
            MetricReading("pcap_frames_dropped_total", "Frames dropped before libpcap read them: by the kernel, or over the packet budget.",
                         labels: [("reason", "kernel")], totals.kernelDropped),
            MetricReading("pcap_frames_dropped_total", "", labels: [("reason", "budget")], totals.overBudget),
            MetricReading("pcap_frames_read_total", "Frames read and dissected.", UInt64(dissected.frames)),
            MetricReading("pcap_messages_total", "Application messages read (HTTP, DNS, TLS, MySQL).", UInt64(dissected.messages)),
            MetricReading("pcap_messages_lost_total", "Messages dropped while waiting for their connection's process.", lostWaiting),
            MetricReading("pcap_malformed_total", "Frames and messages that contradict their own lengths or protocol.", UInt64(dissected.malformed)),
            MetricReading("pcap_streams_abandoned_total", "TCP streams given up before their end.", UInt64(dissected.streamsAbandoned)),
        ]
    }

    @discardableResult
    private func publishTotals() -> Totals {
        var totals = closed
        for capture in captures.values { add(capture, to: &totals) }
        published.withLock { $0 = (totals, waiting.dropped, captures.count) }
        return totals
    }

    private func reportStatistics() {
        let totals = publishTotals()
        let dropped = totals.kernelDropped + totals.overBudget + waiting.dropped
        let statistics = counts.withLock { counts in
            counts.dropped = dropped
            return counts
        }
        let dissected = totals.dissected
        onStatistics(statistics, "\(captures.count) interfaces; frames captured \(totals.kernelReceived), read \(dissected.frames), dropped by the kernel "
                     + "\(totals.kernelDropped), over budget \(totals.overBudget); \(dissected.messages) messages, \(waiting.pairs) of them read on both ends, "
                     + "\(waiting.dropped) lost waiting; "
                     + "\(dissected.malformed) malformed; \(dissected.streamsAbandoned) streams given up, \(dissected.segmentsUnfollowed) segments of flows not followed")
    }
}

/// Set by Docker's events thread when a container started; taken by the capture loop.
private final class RescanRequest: Sendable {
    private let flag = Atomic<Bool>(true)
    func set() { flag.store(true, ordering: .relaxed) }
    func take() -> Bool { flag.exchange(false, ordering: .relaxed) }
}
