import Engine

/// A message and the flow it travelled in: `flow` runs from its sender to its receiver.
public struct PacketMessage: Sendable {
    public var flow: FlowKey
    /// Whether the sender is the end that opened the connection (for UDP, the one that asked).
    public var fromClient: Bool
    /// The Ethernet address that sent the frame completing the message (0 on other links).
    public var senderLink: UInt64
    public var message: ApplicationMessage
}

/// The application protocols a flow may carry.
enum ApplicationProtocol {
    case http
    case tls
    case mysql
    case dns
    /// None the dissectors read: the flow is passed over.
    case unknown
}
