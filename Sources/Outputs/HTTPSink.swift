import CCurl
import CZlib
import Engine
import SentinelJSON

/// Alerts POSTed to a URL: falcosidekick's `/`, a webhook, a SIEM's HTTP collector. Each request
/// carries one alert as Falco's JSON (what falcosidekick takes), or with `batch` up to
/// `batch_size` alerts as JSON lines (NDJSON). libcurl does the HTTP: the connection is kept open
/// between requests, TLS is checked against `ca_cert` (or the system's CAs), a client certificate
/// is sent when given. A 2xx answer delivers the request's alerts; 408, 429, 5xx and network errors
/// are retried by the dispatcher; any other answer is the peer refusing them, counted failed at once.
///
/// libcurl rather than a Swift HTTP client: it is the client Falco's own http output uses, every
/// distribution ships it, it adds nothing to the build, and its blocking calls fit the sink's own
/// queue; async-http-client would bring SwiftNIO and BoringSSL into every clean build.
public final class HTTPSink: AlertSink, SinkType {
    public static let typeName = "http"
    public static let configKeys = ["url", "format", "batch", "batch_size", "headers", "compress", "ca_cert", "client_cert",
                                    "client_key", "insecure", "keep_alive", "timeout_seconds", "connect_timeout_seconds", "user_agent"]

    public struct Spec: SinkSpec, Equatable {
        public var url: String
        public var format: AlertFormat = .json
        /// Most alerts in one request; 1 sends each alone, as one JSON object.
        public var batchSize = 1
        public var headers: [String: String] = [:]
        /// gzip the body (`Content-Encoding: gzip`).
        public var compress = false
        public var caCertificate: String?
        public var clientCertificate: String?
        public var clientKey: String?
        /// Skip checking the server's certificate: for a test rig, never for production.
        public var insecure = false
        public var keepAlive = true
        public var timeoutSeconds = 10
        public var connectTimeoutSeconds = 5
        public var userAgent = "sentinel"

        public init(url: String) {
            self.url = url
        }

        public var label: String { "http \(url)" }
        public func open() throws -> AlertSink { try HTTPSink(self) }
    }

    public let spec: Spec
    public var label: String { spec.label }
    public var batchLimit: Int { spec.batchSize }
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// Where curl writes what went wrong with a request; it must outlive the handle.
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(_ spec: Spec) throws {
        Self.globalInit
        guard let handle = curl_easy_init() else { throw SystemError("start libcurl for \(spec.label)", code: 12) }
        self.spec = spec
        self.handle = handle
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try configure()
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    public static func parse(config: JSONObjectCursor, diagnostics: Diagnostics) -> SinkSpec? {
        let before = diagnostics.errors.count
        guard let urlCursor = config.required("url", diagnostics), let url = urlCursor.string(diagnostics) else { return nil }
        var spec = Spec(url: url)
        let lowered = url.lowercased()
        if !lowered.hasPrefix("http://") && !lowered.hasPrefix("https://") {
            diagnostics.add(urlCursor.diagnostic("url must start with http:// or https://"))
        }
        spec.format = AlertFormat.read(config, default: .json, diagnostics) ?? .json
        if let batch = config.optional("batch")?.bool(diagnostics), batch { spec.batchSize = 100 }
        if let cursor = config.optional("batch_size"), let size = cursor.integer(diagnostics, in: 1...10_000) {
            if spec.batchSize == 1 && size > 1 { diagnostics.add(cursor.diagnostic("batch_size needs \"batch\": true")) }
            if spec.batchSize > 1 { spec.batchSize = Int(size) }
        }
        if let cursor = config.optional("headers") {
            // Any name may be a header's: the object's keys are not checked against a list.
            guard case .object(let members) = cursor.node.value else {
                diagnostics.add(cursor.diagnostic("headers is an object of names and values: {\"Authorization\": \"Bearer ...\"}"))
                return nil
            }
            let object = JSONObjectCursor(cursor: cursor, members: members)
            for key in object.keys {
                guard let valueCursor = object.optional(key), let value = valueCursor.string(diagnostics) else { continue }
                // A line break would let a header's value forge further headers.
                if key.isEmpty || key.contains(where: { $0 == ":" || $0.isWhitespace || $0.isNewline }) {
                    diagnostics.add(valueCursor.diagnostic("\"\(key)\" is not a header name"))
                } else if value.contains(where: \.isNewline) {
                    diagnostics.add(valueCursor.diagnostic("a header's value cannot hold a line break"))
                } else {
                    spec.headers[key] = value
                }
            }
        }
        spec.compress = config.optional("compress")?.bool(diagnostics) ?? false
        spec.caCertificate = config.optional("ca_cert")?.string(diagnostics)
        spec.clientCertificate = config.optional("client_cert")?.string(diagnostics)
        spec.clientKey = config.optional("client_key")?.string(diagnostics)
        if spec.clientKey != nil && spec.clientCertificate == nil {
            diagnostics.add(config.optional("client_key")!.diagnostic("client_key needs client_cert"))
        }
        spec.insecure = config.optional("insecure")?.bool(diagnostics) ?? false
        spec.keepAlive = config.optional("keep_alive")?.bool(diagnostics) ?? true
        spec.timeoutSeconds = config.optional("timeout_seconds")?.integer(diagnostics, in: 1...600).map(Int.init) ?? 10
        spec.connectTimeoutSeconds = config.optional("connect_timeout_seconds")?.integer(diagnostics, in: 1...600).map(Int.init) ?? 5
        spec.userAgent = config.optional("user_agent")?.string(diagnostics) ?? "sentinel"
        return diagnostics.errors.count == before ? spec : nil
    }

    // MARK: - Requests

    public func write(_ alert: Alert) throws {
        try write(batch: [alert])
    }

    public func write(batch: [Alert]) throws {
        let lines = batch.map { AlertRendering.line($0, spec.format) }
        var body = Array((batch.count == 1 && spec.batchSize == 1 ? lines[0] : lines.joined(separator: "\n") + "\n").utf8)
        if spec.compress { body = try gzip(body) }
        errorBuffer[0] = 0
        let status = body.withUnsafeBytes { bytes -> CURLcode in
            _ = sentinel_curl_set_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress)
            _ = sentinel_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            return curl_easy_perform(handle)
        }
        guard status == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw SystemError("POST to \(spec.url): \(detail.isEmpty ? String(cString: curl_easy_strerror(status)) : detail)", code: 5)
        }
        var code = 0
        _ = sentinel_curl_response_code(handle, &code)
        switch code {
        case 200..<300: return
        case 408, 429, 500..<600: throw SystemError("POST to \(spec.url): HTTP \(code)", code: 5)
        default: throw RefusedByPeer("POST to \(spec.url): HTTP \(code), the server refused the alerts")
        }
    }

    /// Closes the connection: the next request opens a new one (and reads the certificates anew).
    public func reopen() throws {
        curl_easy_reset(handle)
        try configure()
    }

    public func flush() {}

    private func configure() throws {
        func set(_ option: CURLoption, _ value: Int) { _ = sentinel_curl_set_long(handle, option, value) }
        func set(_ option: CURLoption, _ text: String) {
            _ = text.withCString { sentinel_curl_set_pointer(handle, option, $0) }
        }
        // curl copies the strings it is given (since 7.17), but not the header list.
        set(CURLOPT_URL, spec.url)
        set(CURLOPT_POST, 1)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_TIMEOUT, spec.timeoutSeconds)
        set(CURLOPT_CONNECTTIMEOUT, spec.connectTimeoutSeconds)
        set(CURLOPT_FORBID_REUSE, spec.keepAlive ? 0 : 1)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_USERAGENT, spec.userAgent)
        // Only the protocols the url may name: a redirect never leads elsewhere (none is followed).
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        if let caCertificate = spec.caCertificate { set(CURLOPT_CAINFO, caCertificate) }
        if let clientCertificate = spec.clientCertificate { set(CURLOPT_SSLCERT, clientCertificate) }
        if let clientKey = spec.clientKey { set(CURLOPT_SSLKEY, clientKey) }
        if spec.insecure {
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        curl_slist_free_all(headerList)
        headerList = nil
        var headers = ["Content-Type: " + (spec.format == .text ? "text/plain; charset=utf-8" : spec.batchSize > 1 ? "application/x-ndjson" : "application/json"),
                       // curl would otherwise send "Expect: 100-continue" for large bodies and wait for an answer.
                       "Expect:"]
        if spec.compress { headers.append("Content-Encoding: gzip") }
        headers += spec.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        for header in headers { headerList = curl_slist_append(headerList, header) }
        _ = sentinel_curl_set_pointer(handle, CURLOPT_HTTPHEADER, headerList)
        _ = sentinel_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        // The answer's body is not needed; without a function curl would print it on stdout.
        _ = sentinel_curl_set_write_function(handle) { _, size, count, _ in size * count }
    }

    private func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard sentinel_gzip_init(&stream, Z_DEFAULT_COMPRESSION) == Z_OK else { throw SystemError("gzip for \(label)", code: 12) }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let result = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer -> Int32 in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END else { throw SystemError("gzip for \(label)", code: 5) }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
