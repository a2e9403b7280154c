/// What an application protocol said in a container's traffic, as the pcap sensor reads it: the
/// parts that attacks travel in.
public enum ApplicationMessage: Sendable, Equatable {
    case httpRequest(HTTPRequestHead)
    /// A response head, with the request it answers when that was seen.
    case httpResponse(HTTPResponseHead, request: HTTPRequestHead?)
    case dns(DNSQuestion)
    case tlsClientHello(serverName: String?)
    /// A COM_QUERY's SQL text (cut at the sensor's bound when `truncated`), and the user the
    /// connection logged in as when the login was seen.
    case mysqlQuery(String, truncated: Bool, user: String?)

    public var eventType: EventType {
        switch self {
        case .httpRequest: .http
        case .httpResponse: .httpresponse
        case .dns: .dns
        case .tlsClientHello: .tls
        case .mysqlQuery: .mysql
        }
    }
}

public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent: a path and query, or an absolute URI through a proxy.
    public var uri: String
    public var host: String?
    public var userAgent: String?

    public init(method: String, uri: String, host: String? = nil, userAgent: String? = nil) {
        self.method = method
        self.uri = uri
        self.host = host
        self.userAgent = userAgent
    }
}

public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var contentType: String?

    public init(status: Int, contentType: String? = nil) {
        self.status = status
        self.contentType = contentType
    }
}

/// A DNS message's first question and, in an answer, how it went.
public struct DNSQuestion: Sendable, Equatable {
    public var isResponse: Bool
    /// Without the final dot, as sent.
    public var name: String
    /// A mnemonic (A, AAAA, TXT...) or TYPE<N>.
    public var type: String
    /// NOERROR, NXDOMAIN, SERVFAIL...; NOERROR in a query.
    public var rcode: String

    public init(isResponse: Bool, name: String, type: String, rcode: String) {
        self.isResponse = isResponse
        self.name = name
        self.type = type
        self.rcode = rcode
    }
}

extension DNSQuestion {
    /// The name's longest label (the first of equal ones): where a tunnel carries its data.
    var longestLabel: Substring {
        name.split(separator: ".").max { $0.utf8.count < $1.utf8.count } ?? ""
    }
}
