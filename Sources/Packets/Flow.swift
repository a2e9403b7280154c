import Engine

/// A TCP flow the dissectors follow: its two streams and what its protocol needs remembered.
final class Flow {
    /// The longest message held while its rest comes: a TLS record of 16 KiB and its header, a
    /// query up to `MySQL.queryLimit`, an HTTP head up to `HTTP.headLimit`.
    static let messageLimit = 20_480
    /// Requests awaiting their responses, kept at most (pipelining is rare).
    static let pendingRequests = 16
    /// DNS over TCP: the question is at the start, so a long message is read this far.
    static let dnsReadLimit = 4096

    enum Step {
        /// A message (or nil for a part of the protocol that says nothing), the bytes it took,
        /// and how many follow it to pass over (Int.max: the rest of the stream).
        case message(ApplicationMessage?, consumed: Int, skip: Int)
        case needMore
        /// Nothing more to read in this direction.
        case end
        case malformed(PacketProblem)
    }

    /// The client-to-server direction.
    let key: FlowKey
    var lastSeen: UInt64 = 0
    var application: ApplicationProtocol?
    var toServer = Stream()
    var toClient = Stream()
    private var requests: [HTTPRequestHead] = []
    /// Known once the client logged in (or assumed when the login was not seen).
    var mysqlCapabilities: MySQL.Capabilities?
    private var mysqlUser: String?

    init(key: FlowKey) {
        self.key = key
    }

    /// The next message at the start of a direction's unread bytes.
    func next(_ bytes: UnsafeRawBufferPointer, fromClient: Bool) -> Step {
        switch (application, fromClient) {
        case (.http, true): httpRequest(bytes)
        case (.http, false): httpResponse(bytes)
        case (.tls, true): clientHello(bytes)
        case (.mysql, true): mysqlClient(bytes)
        case (.dns, _): dns(bytes)
        // The server's side of TLS and MySQL says nothing the rules read.
        default: .end
        }
    }

    private func httpRequest(_ bytes: UnsafeRawBufferPointer) -> Step {
        switch HTTP.parseRequest(bytes) {
        case .complete(let request, let consumed):
            if requests.count == Self.pendingRequests { requests.removeFirst() }
            requests.append(request.head)
            return .message(.httpRequest(request.head), consumed: consumed, skip: Self.skip(request.body))
        case .needMore: return .needMore
        case .failure(let problem): return .malformed(problem)
        }
    }

    private func httpResponse(_ bytes: UnsafeRawBufferPointer) -> Step {
        switch HTTP.parseResponse(bytes) {
        case .complete(let response, let consumed):
            let request = requests.isEmpty ? nil : requests.removeFirst()
            // An interim 1xx response comes before the real one for the same request.
            if (100..<200).contains(response.head.status), let request { requests.insert(request, at: 0) }
            return .message(.httpResponse(response.head, request: request), consumed: consumed, skip: Self.skip(response.body))
        case .needMore: return .needMore
        case .failure(let problem): return .malformed(problem)
        }
    }

    /// Chunked bodies are not followed: the stream's later messages are passed over.
    private static func skip(_ body: HTTPBody) -> Int {
        switch body {
        case .length(let length): length
        case .chunked, .untilClose: Int.max
        }
    }

    private func clientHello(_ bytes: UnsafeRawBufferPointer) -> Step {
        switch TLSClientHello.serverName(bytes) {
        case .complete(let name, let consumed): .message(.tlsClientHello(serverName: name), consumed: consumed, skip: Int.max)
        case .needMore: .needMore
        case .failure(let problem): .malformed(problem)
        }
    }

    private func mysqlClient(_ bytes: UnsafeRawBufferPointer) -> Step {
        switch MySQL.nextClientPacket(bytes, capabilities: mysqlCapabilities) {
        case .complete((.login(let user, let capabilities), _), let consumed):
            mysqlCapabilities = capabilities
            mysqlUser = user
            // TLS or compression from here on: nothing more to read in clear.
            let readable = capabilities.isDisjoint(with: [.ssl, .compress])
            return .message(nil, consumed: consumed, skip: readable ? 0 : Int.max)
        case .complete((.query(let text, let truncated), let skip), let consumed):
            return .message(.mysqlQuery(text, truncated: truncated, user: mysqlUser), consumed: consumed, skip: skip)
        case .complete((.other, let skip), let consumed):
            return .message(nil, consumed: consumed, skip: skip)
        case .needMore: return .needMore
        case .failure(let problem): return .malformed(problem)
        }
    }

    /// DNS over TCP: each message after its 2-byte length.
    private func dns(_ bytes: UnsafeRawBufferPointer) -> Step {
        var reader = ByteReader(bytes)
        guard let length = reader.u16() else { return .needMore }
        let readable = min(Int(length), Self.dnsReadLimit)
        guard let message = reader.take(readable) else { return .needMore }
        switch DNS.parse(message) {
        case .success(let dns): return .message(.dns(dns), consumed: reader.offset, skip: Int(length) - readable)
        case .failure(let problem): return .malformed(problem)
        }
    }
}
