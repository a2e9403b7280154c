import CMicroHTTPD

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP server for sentinel's own pages (`/healthz`, `/metrics`, `/versions`), on GNU
/// libmicrohttpd's polling thread. Each page is a function called for every GET or HEAD of its
/// path; any other path is 404, any other method 405. Requests are parsed by libmicrohttpd, and
/// bounded by it: at most 16 connections, each closed after 10 s idle.
public final class WebServer: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Page = @Sendable () -> Response

    public let address: ListenAddress
    /// The port it listens on: the address's, or the one the kernel chose for port 0.
    public private(set) var port: UInt16 = 0
    private let pages: [String: Page]
    private var daemon: OpaquePointer?

    public init(address: ListenAddress, pages: [String: Page]) throws {
        self.address = address
        self.pages = pages
        let context = Unmanaged.passUnretained(self).toOpaque()
        daemon = address.withSocketAddress { socketAddress in
            sentinel_mhd_start(socketAddress, { context, connection, url, method, _, _, _, _ in
                let server = Unmanaged<WebServer>.fromOpaque(context!).takeUnretainedValue()
                return server.answer(connection, path: url.map { String(cString: $0) } ?? "/", method: method.map { String(cString: $0) } ?? "")
            }, context, 10, 16)
        } ?? nil
        guard let daemon else { throw WebServerError(message: "cannot listen on \(address) (in use, or not this machine's)") }
        port = sentinel_mhd_port(daemon)
    }

    deinit {
        stop()
    }

    /// Closes the socket and ends the polling thread; pages are not called after it returns.
    public func stop() {
        guard let daemon else { return }
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    private func answer(_ connection: OpaquePointer?, path: String, method: String) -> MHD_Result {
        let response: Response
        if method != "GET" && method != "HEAD" {
            response = Response(status: 405, body: "only GET and HEAD\n")
        } else if let page = pages[path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path] {
            response = page()
        } else {
            response = Response(status: 404, body: "not found; try \(pages.keys.sorted().joined(separator: ", "))\n")
        }
        var body = Array(response.body.utf8)
        guard let reply = body.withUnsafeMutableBytes({ MHD_create_response_from_buffer($0.count, $0.baseAddress, .RESPMEM_MUST_COPY) }) else { return .NO }
        defer { MHD_destroy_response(reply) }
        MHD_add_response_header(reply, "Content-Type", response.contentType)
        if response.status == 405 { MHD_add_response_header(reply, "Allow", "GET, HEAD") }
        return MHD_queue_response(connection, UInt32(response.status), reply)
    }
}

public struct WebServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A numeric address and port: "127.0.0.1:8765", "[::1]:8765", "0.0.0.0:8765".
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    private let isIPv6: Bool

    public init?(_ text: String) {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            isIPv6 = true
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            isIPv6 = false
        }
        guard let port = UInt16(portText) else { return nil }
        self.host = String(host)
        self.port = port
        guard withSocketAddress({ _ in true }) == true else { return nil }
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this machine can reach it (127.0.0.0/8 or ::1).
    public var isLoopback: Bool { isIPv6 ? host == "::1" : host.hasPrefix("127.") }

    /// Calls `body` with the address as a sockaddr; nil if the host is not a numeric address.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>) -> Result) -> Result? {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }
}
