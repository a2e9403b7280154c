import Engine

/// How the end of a message's body is found.
enum HTTPBody: Equatable, Sendable {
    case length(Int)
    case chunked
    /// A response without a length ends with its connection.
    case untilClose
}

/// HTTP/1.x heads: the request line or status line and the headers, up to the empty line.
public enum HTTP {
    /// A head longer than this is not read (a request's is usually under a kilobyte).
    public static let headLimit = 8192

    private static let methods: [[UInt8]] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"].map { Array($0.utf8) + [0x20] }

    /// Whether a stream that begins with these bytes is an HTTP client's: a method and a space.
    public static func looksLikeRequest(_ bytes: UnsafeRawBufferPointer) -> Bool {
        methods.contains { method in bytes.count >= method.count && method.indices.allSatisfy { bytes[$0] == method[$0] } }
    }

    /// Whether a stream that begins with these bytes is an HTTP server's.
    public static func looksLikeResponse(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let prefix = Array("HTTP/1.".utf8)
        return bytes.count >= prefix.count && prefix.indices.allSatisfy { bytes[$0] == prefix[$0] }
    }

    static func parseRequest(_ bytes: UnsafeRawBufferPointer) -> StreamParse<(head: HTTPRequestHead, body: HTTPBody)> {
        parseHead(bytes) { first, headers in
            let parts = first.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].starts(with: "HTTP/1.".utf8), !parts[0].isEmpty, !parts[1].isEmpty else {
                return .failure(PacketProblem("not an HTTP/1.x request line"))
            }
            let head = HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self), uri: String(decoding: parts[1], as: UTF8.self),
                                       host: headers.value("host"), userAgent: headers.value("user-agent"))
            return headers.body().map { (head, $0 ?? .length(0)) }
        }
    }

    static func parseResponse(_ bytes: UnsafeRawBufferPointer) -> StreamParse<(head: HTTPResponseHead, body: HTTPBody)> {
        parseHead(bytes) { first, headers in
            let parts = first.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].starts(with: "HTTP/1.".utf8), parts[1].count == 3,
                  let status = Int(String(decoding: parts[1], as: UTF8.self)), (100...999).contains(status) else {
                return .failure(PacketProblem("not an HTTP/1.x status line"))
            }
            let head = HTTPResponseHead(status: status, contentType: headers.value("content-type"))
            // 1xx, 204 and 304 have no body whatever the headers say.
            let bodiless = (100..<200).contains(status) || status == 204 || status == 304
            return headers.body().map { (head, bodiless ? .length(0) : $0 ?? .untilClose) }
        }
    }

    /// Finds the head's end and hands its first line and headers to `build`.
    private static func parseHead<Value>(_ bytes: UnsafeRawBufferPointer,
                                         _ build: (ArraySlice<UInt8>, Headers) -> Result<Value, PacketProblem>) -> StreamParse<Value> {
        guard let end = headEnd(bytes) else {
            return bytes.count >= headLimit ? .failure(PacketProblem("HTTP head longer than \(headLimit) bytes")) : .needMore
        }
        let head = Array(bytes[..<end.headLength])
        var lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { $0.last == 0x0D ? $0.dropLast() : $0 }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { return .failure(PacketProblem("empty HTTP head")) }
        switch build(first, Headers(lines: lines.dropFirst())) {
        case .success(let value): return .complete(value, consumed: end.consumed)
        case .failure(let problem): return .failure(problem)
        }
    }

    /// Where the empty line ending the head is (CRLF CRLF, or bare LFs), within the head limit.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> (headLength: Int, consumed: Int)? {
        let limit = min(bytes.count, headLimit)
        var index = 0
        while index < limit {
            if bytes[index] == 0x0A {
                if index + 1 < limit, bytes[index + 1] == 0x0A { return (index + 1, index + 2) }
                if index + 2 < limit, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A { return (index + 1, index + 3) }
            }
            index += 1
        }
        return nil
    }

    /// Header lines, looked up by name without regard to case.
    struct Headers {
        let lines: ArraySlice<ArraySlice<UInt8>>

        func value(_ lowercasedName: String) -> String? {
            let name = Array(lowercasedName.utf8)
            for line in lines {
                guard line.count > name.count, line[line.startIndex + name.count] == UInt8(ascii: ":") else { continue }
                guard zip(line, name).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 }) else { continue }
                let value = line.dropFirst(name.count + 1).drop { $0 == 0x20 || $0 == 0x09 }
                return String(decoding: value.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed(), as: UTF8.self)
            }
            return nil
        }

        /// How the body's end is found, if the headers say.
        func body() -> Result<HTTPBody?, PacketProblem> {
            if let encoding = value("transfer-encoding"), encoding.lowercased().contains("chunked") { return .success(.chunked) }
            guard let text = value("content-length") else { return .success(nil) }
            guard let length = Int(text), length >= 0 else { return .failure(PacketProblem("Content-Length \"\(text.prefix(40))\" is not a length")) }
            return .success(.length(length))
        }
    }
}
