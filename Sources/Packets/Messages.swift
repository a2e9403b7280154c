/// What the dissectors read from a flow: the parts of application protocols that attacks travel in.
public enum ApplicationMessage: Equatable, Sendable {
    case httpRequest(HTTPRequest)
    /// A response head, with the request it answers when that was seen.
    case httpResponse(HTTPResponse, request: HTTPRequest?)
    case dns(DNSMessage)
    case tlsClientHello(serverName: String?)
    /// A COM_QUERY's SQL text, and the user the connection logged in as when that was seen.
    case mysqlQuery(String, truncated: Bool, user: String?)
}

/// A message and the flow it travelled in: `flow` runs from its sender to its receiver.
public struct PacketMessage: Sendable {
    public var flow: FlowKey
    /// Whether the sender is the end that opened the connection (for UDP, the one that asked).
    public var fromClient: Bool
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
