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
    /// Whether each direction is inside a chunked HTTP body (client's, server's).
    private var inChunkedBody = (toServer: false, toClient: false)
    /// Known once the client logged in (or assumed when the login was not seen).
    var mysqlCapabilities: MySQL.Capabilities?
    private var mysqlUser: String?

    init(key: FlowKey) {
        self.key = key
    }

    /// The next message at the start of a direction's unread bytes.
    func next(_ bytes: UnsafeRawBufferPointer, fromClient: Bool) -> Step {
        switch (application, fromClient) {
        case (.http, true): inChunkedBody.toServer ? chunk(bytes, fromClient: true) : httpRequest(bytes)
        case (.http, false): inChunkedBody.toClient ? chunk(bytes, fromClient: false) : httpResponse(bytes)
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
            if request.body == .chunked { inChunkedBody.toServer = true }
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
            if response.body == .chunked { inChunkedBody.toClient = true }
            return .message(.httpResponse(response.head, request: request), consumed: consumed, skip: Self.skip(response.body))
        case .needMore: return .needMore
        case .failure(let problem): return .malformed(problem)
        }
    }

    /// What follows a head to pass over: its body by length; a chunked body is read chunk by
    /// chunk (`chunk`); a body that ends with the connection, the rest of the stream.
    private static func skip(_ body: HTTPBody) -> Int {
        switch body {
        case .length(let length): length
        case .chunked: 0
        case .untilClose: Int.max
        }
    }

    /// The next piece of a chunked body: a chunk's size line (its data and CRLF are passed over),
    /// or the last chunk and its trailers, after which the next message's head comes.
    private func chunk(_ bytes: UnsafeRawBufferPointer, fromClient: Bool) -> Step {
        let lineLimit = 1024
        guard let lineEnd = bytes.prefix(lineLimit).firstIndex(of: 0x0A) else {
            return bytes.count >= lineLimit ? .malformed(PacketProblem("chunk size line longer than \(lineLimit) bytes")) : .needMore
        }
        var size = 0
        var digits = 0
        for byte in bytes[..<lineEnd] {
            let value: Int
            switch byte {
            case 0x30...0x39: value = Int(byte - 0x30)
            case 0x41...0x46: value = Int(byte - 0x41 + 10)
            case 0x61...0x66: value = Int(byte - 0x61 + 10)
            default: value = -1
            }
            guard value >= 0 else { break }
            digits += 1
            guard digits <= 12 else { return .malformed(PacketProblem("chunk size of more than 12 hex digits")) }
            size = size << 4 | value
        }
        guard digits > 0 else { return .malformed(PacketProblem("chunk size line without a size")) }
        if size > 0 { return .message(nil, consumed: lineEnd + 1, skip: size + 2) }
        // The last chunk: trailer lines up to an empty one.
        var lineStart = lineEnd + 1
        while true {
            guard let end = bytes[lineStart..<min(bytes.count, lineStart + lineLimit)].firstIndex(of: 0x0A) else {
                return bytes.count - lineStart >= lineLimit ? .malformed(PacketProblem("chunked trailer line longer than \(lineLimit) bytes")) : .needMore
            }
            let empty = end == lineStart || (end == lineStart + 1 && bytes[lineStart] == 0x0D)
            lineStart = end + 1
            if empty { break }
        }
        if fromClient { inChunkedBody.toServer = false } else { inChunkedBody.toClient = false }
        return .message(nil, consumed: lineStart, skip: 0)
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
