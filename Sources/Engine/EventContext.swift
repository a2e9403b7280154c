/// An event with the table records it belongs to: what compiled conditions, output templates and
/// built-in rules read.
public struct EventContext {
    public let event: Event
    /// nil only for events that have no process (container metadata).
    public let process: ProcessRecord?
    public let container: ContainerRecord
    /// A message's other end, when its veth carried the message too: the container, and the
    /// process holding that end when its connect or accept was seen.
    public let peerContainer: ContainerRecord?
    public let peerProcess: ProcessRecord?
    /// The event's number in the engine's stream, from 1 (`evt.num`).
    public let number: UInt64
    /// Whether the call gave its unconnected socket a peer other than the one it last had
    /// (fd.name_changed); the engine sets it when a rule reads it.
    var nameChanged = false
    /// The engine's answers to shared subconditions for this event (SharedSubconditions); none
    /// outside an engine.
    var memo: UnsafeMutablePointer<MemoSlot>?

    public init(event: Event, process: ProcessRecord?, container: ContainerRecord,
                peerContainer: ContainerRecord? = nil, peerProcess: ProcessRecord? = nil, number: UInt64 = 0) {
        self.event = event
        self.number = number
        self.process = process
        self.container = container
        self.peerContainer = peerContainer
        self.peerProcess = peerProcess
    }

    var connection: Connection? {
        switch event.payload {
        case .socket(let connection), .message(let connection, _): connection
        default: nil
        }
    }

    var message: ApplicationMessage? {
        if case .message(_, let message) = event.payload { return message }
        return nil
    }

    /// A request, or the request a response answers.
    var httpRequest: HTTPRequestHead? {
        switch message {
        case .httpRequest(let request)?: request
        case .httpResponse(_, let request)?: request
        default: nil
        }
    }

    var dnsQuestion: DNSQuestion? {
        if case .dns(let question)? = message { return question }
        return nil
    }

    /// A captured system call, and what it was given and returned.
    var call: (call: CapturedCall, arguments: CallArguments)? {
        guard case .call(let arguments) = event.payload, let call = CapturedCall.call(of: event.type) else { return nil }
        return (call, arguments)
    }

    /// The open file a captured call acted on, when the kernel described one.
    var descriptor: Descriptor? {
        guard case .call(let arguments) = event.payload else { return nil }
        return arguments.descriptor
    }

    /// A described socket's peer: its own once connected, otherwise the address the call named
    /// (sendto's destination, recvfrom's source).
    var descriptorPeer: Endpoint? {
        guard case .call(let arguments) = event.payload, let descriptor = arguments.descriptor else { return nil }
        return descriptor.isConnected ? descriptor.remote : arguments.address ?? descriptor.remote
    }

    var openedFile: (path: String, flags: OpenFlags, result: Int64)? {
        if case .open(let path, let flags, let result, _, _) = event.payload { return (path, flags, result) }
        return nil
    }
}

/// A field's value as an alert carries it: JSON alerts keep numbers as numbers.
public enum FieldValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Int64)
    case bool(Bool)
    /// The field does not apply to this event, or its value is unknown; Falco prints `<NA>`.
    case missing

    public var description: String {
        switch self {
        case .string(let value): return value
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .missing: return "<NA>"
        }
    }
}
