import Engine

/// The dissectors' view of traffic: frames in, application messages out. TCP flows are put back
/// in order far enough to read request heads that span segments, in bounded state per flow.
public final class TrafficDissector {
    public struct Limits: Sendable {
        /// Flows followed at once; a new flow beyond this is counted and passed over.
        public var flows = 16_384
        /// A flow with no segment for this long is forgotten.
        public var idleSeconds = 120
        /// Bytes held for heads that span segments, over all flows; a stream that would take
        /// more is given up (and counted).
        public var bufferedBytes = 32 << 20

        public init() {}
    }

    public struct Counters: Sendable, Equatable {
        public var frames = 0
        /// Not TCP or UDP over IP, or later fragments.
        public var ignored = 0
        /// Frames whose headers, and messages whose contents, contradict their lengths or their protocol.
        public var malformed = 0
        public var messages = 0
        public var flows = 0
        /// Segments of new flows passed over because `flows` were already followed (per segment:
        /// a flow not followed has no state to count it once by).
        public var segmentsUnfollowed = 0
        public var flowsExpired = 0
        /// Streams given up before their end: a segment missing (lost, or cut by the snap
        /// length), or more bytes to hold than the buffer budget allows.
        public var streamsAbandoned = 0

        public init() {}

        /// Another dissector's counts added to these (a sensor's interfaces, in all).
        public mutating func add(_ other: Counters) {
            frames += other.frames
            ignored += other.ignored
            malformed += other.malformed
            messages += other.messages
            flows += other.flows
            segmentsUnfollowed += other.segmentsUnfollowed
            flowsExpired += other.flowsExpired
            streamsAbandoned += other.streamsAbandoned
        }
    }

    public let limits: Limits
    public private(set) var counters = Counters()
    /// By the client-to-server direction.
    private var flows: [FlowKey: Flow] = [:]
    private var bufferedBytes = 0
    private var lastExpiry: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public var flowCount: Int { flows.count }

    /// Reads one captured frame at `time` (nanoseconds); each message found goes to `emit`.
    public func frame(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, time: UInt64, emit: (PacketMessage) -> Void) {
        counters.frames += 1
        if time &- lastExpiry >= 1_000_000_000 {
            let idle = UInt64(limits.idleSeconds) * 1_000_000_000
            expire(before: time > idle ? time - idle : 0)
            lastExpiry = time
        }
        switch Frame.decode(bytes, linkType: linkType) {
        case .ignored: counters.ignored += 1
        case .malformed: counters.malformed += 1
        case .segment(let segment) where segment.flow.isTCP: tcp(segment, time: time, emit: emit)
        case .segment(let segment): udp(segment, emit: emit)
        }
    }

    /// Forgets flows last seen before `time`.
    public func expire(before time: UInt64) {
        let stale = flows.filter { $0.value.lastSeen < time }
        for (key, flow) in stale {
            release(flow)
            flows[key] = nil
        }
        counters.flowsExpired += stale.count
    }

    // MARK: - UDP

    private func udp(_ segment: TransportSegment, emit: (PacketMessage) -> Void) {
        guard segment.flow.sourcePort == 53 || segment.flow.destinationPort == 53 else { return }
        guard segment.payload.count == segment.payloadLength else {
            counters.malformed += 1
            return
        }
        switch DNS.parse(segment.payload) {
        case .success(let message):
            counters.messages += 1
            emit(PacketMessage(flow: segment.flow, fromClient: !message.isResponse, senderLink: segment.linkSource, message: .dns(message)))
        case .failure:
            counters.malformed += 1
        }
    }

    // MARK: - TCP

    private func tcp(_ segment: TransportSegment, time: UInt64, emit: (PacketMessage) -> Void) {
        let flow: Flow
        let fromClient: Bool
        if let known = flows[segment.flow] {
            (flow, fromClient) = (known, true)
        } else if let known = flows[segment.flow.reversed] {
            (flow, fromClient) = (known, false)
        } else {
            // A flow met mid-way has no SYN to say who opened it: the server's port is the lower.
            let opening = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
            guard opening || segment.payloadLength > 0 else { return }
            guard flows.count < limits.flows else {
                counters.segmentsUnfollowed += 1
                return
            }
            fromClient = opening || segment.flow.destinationPort < segment.flow.sourcePort
            let key = fromClient ? segment.flow : segment.flow.reversed
            flow = Flow(key: key)
            flows[key] = flow
            counters.flows += 1
        }
        flow.lastSeen = time
        if fromClient { read(segment, into: &flow.toServer, of: flow, fromClient: true, emit: emit) }
        else { read(segment, into: &flow.toClient, of: flow, fromClient: false, emit: emit) }
        if segment.flags.contains(.rst) || (flow.toServer.closed && flow.toClient.closed) {
            release(flow)
            flows[flow.key] = nil
        }
    }

    /// Puts one direction's segment in its place in the stream and reads what it completes.
    private func read(_ segment: TransportSegment, into stream: inout Stream, of flow: Flow, fromClient: Bool, emit: (PacketMessage) -> Void) {
        if segment.flags.contains(.fin) { stream.closed = true }
        if segment.flags.contains(.syn) {
            stream.next = segment.sequence &+ 1
            return
        }
        guard segment.payloadLength > 0, !stream.finished else { return }
        let expected = stream.next ?? segment.sequence
        let offset = Int32(bitPattern: segment.sequence &- expected)
        guard offset <= 0 else {
            abandon(&stream)
            return
        }
        // A retransmission repeats bytes already read; only what follows them is new.
        let repeated = Int(-offset)
        guard segment.payloadLength > repeated else { return }
        stream.next = segment.sequence &+ UInt32(truncatingIfNeeded: segment.payloadLength)
        // Bytes of a body being passed over need not have been captured: a frame the snap length
        // cut inside a download loses nothing that is read.
        if stream.skip >= segment.payloadLength - repeated {
            stream.skip -= segment.payloadLength - repeated
            return
        }
        guard segment.payload.count >= segment.payloadLength, segment.payload.count > repeated else {
            abandon(&stream)
            return
        }
        let new = UnsafeRawBufferPointer(rebasing: segment.payload[repeated...])
        if flow.application == nil {
            flow.application = Self.recognise(new, fromClient: fromClient, key: flow.key)
            // A MySQL client heard before its server's greeting: its login was missed.
            if flow.application == .mysql, fromClient { flow.mysqlCapabilities = [] }
        }
        if flow.application == .unknown {
            stream.finished = true
            return
        }
        feed(new, into: &stream, of: flow, fromClient: fromClient, sender: segment.linkSource, emit: emit)
    }

    /// Which protocol a flow carries, from the first bytes either end sent, or its server's port.
    private static func recognise(_ bytes: UnsafeRawBufferPointer, fromClient: Bool, key: FlowKey) -> ApplicationProtocol {
        if fromClient {
            if HTTP.looksLikeRequest(bytes) { return .http }
            if TLSClientHello.looksLikeTLS(bytes) { return .tls }
        } else {
            if MySQL.looksLikeGreeting(bytes) { return .mysql }
            if HTTP.looksLikeResponse(bytes) { return .http }
        }
        switch key.destinationPort {
        case 53: return .dns
        case 3306: return .mysql
        default: return .unknown
        }
    }

    /// Reads messages from the stream's new bytes, holding an unfinished one until the rest comes.
    private func feed(_ bytes: UnsafeRawBufferPointer, into stream: inout Stream, of flow: Flow, fromClient: Bool, sender: UInt64,
                      emit: (PacketMessage) -> Void) {
        var input = bytes
        let skipped = min(stream.skip, input.count)
        stream.skip -= skipped
        input = UnsafeRawBufferPointer(rebasing: input[skipped...])
        guard !input.isEmpty else { return }
        if stream.buffer.isEmpty {
            let used = drain(input, stream: &stream, flow: flow, fromClient: fromClient, sender: sender, emit: emit)
            guard !stream.finished, used < input.count else { return }
            hold(UnsafeRawBufferPointer(rebasing: input[used...]), in: &stream)
        } else {
            hold(input, in: &stream)
            guard !stream.finished else { return }
            let buffer = stream.buffer
            let used = buffer.withUnsafeBytes { drain($0, stream: &stream, flow: flow, fromClient: fromClient, sender: sender, emit: emit) }
            let released = stream.finished ? buffer.count : used
            bufferedBytes -= released
            stream.buffer.removeFirst(released)
        }
    }

    /// Keeps bytes of an unfinished message, within the budget.
    private func hold(_ bytes: UnsafeRawBufferPointer, in stream: inout Stream) {
        guard bufferedBytes + bytes.count <= limits.bufferedBytes, stream.buffer.count + bytes.count <= Flow.messageLimit else {
            abandon(&stream)
            return
        }
        stream.buffer.append(contentsOf: bytes)
        bufferedBytes += bytes.count
    }

    /// Reads whole messages from the front of `bytes`; returns how many bytes they took (and
    /// the bodies after them that were there).
    private func drain(_ bytes: UnsafeRawBufferPointer, stream: inout Stream, flow: Flow, fromClient: Bool, sender: UInt64,
                       emit: (PacketMessage) -> Void) -> Int {
        var used = 0
        while used < bytes.count, !stream.finished {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            switch flow.next(rest, fromClient: fromClient) {
            case .message(let message, let consumed, let skip):
                if let message {
                    counters.messages += 1
                    emit(PacketMessage(flow: fromClient ? flow.key : flow.key.reversed, fromClient: fromClient, senderLink: sender, message: message))
                }
                used += consumed
                let skippedHere = min(skip, bytes.count - used)
                used += skippedHere
                stream.skip = skip - skippedHere
            case .needMore:
                return used
            case .end:
                stream.finished = true
            case .malformed:
                counters.malformed += 1
                stream.finished = true
            }
        }
        return used
    }

    private func abandon(_ stream: inout Stream) {
        if !stream.finished { counters.streamsAbandoned += 1 }
        stream.finished = true
        bufferedBytes -= stream.buffer.count
        stream.buffer = []
    }

    private func release(_ flow: Flow) {
        bufferedBytes -= flow.toServer.buffer.count + flow.toClient.buffer.count
    }
}

/// One direction of a TCP flow, as far as it has been read.
struct Stream {
    /// The sequence number of the next byte expected.
    var next: UInt32?
    /// The start of a message whose rest has not come yet.
    var buffer: [UInt8] = []
    /// Bytes still to pass over unread: a body, the rest of a long query.
    var skip = 0
    /// Nothing more is read: the protocol is unknown or encrypted, or the stream was given up.
    var finished = false
    var closed = false
}
