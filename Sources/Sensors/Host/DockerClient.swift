import Engine
import SentinelJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What sentinel asks of the Docker Engine API, over its unix socket: a container's name, image and
/// labels, the running containers, and the events stream that tells of new and dead ones. Requests
/// are HTTP/1.0, so every response ends when the connection closes (no chunked bodies to undo).
public struct DockerClient: Sendable {
    let socketPath: String

    public init(socketPath: String = "/var/run/docker.sock") {
        self.socketPath = socketPath
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Name, image and labels of container `id`, or nil when Docker does not know it.
    func inspect(id: String) throws(Failure) -> ContainerFacts? {
        let (status, body) = try request("/containers/\(id)/json", timeoutSeconds: 2)
        if status == 404 { return nil }
        guard status == 200, let root = try? JSONParser.parse(body) else {
            throw Failure(description: "GET /containers/\(id)/json answered \(status)")
        }
        return Self.facts(fromInspect: root)
    }

    /// The full ids of the running containers.
    /// The engine's name and version, as `GET /version` gives them ("Docker Engine - Community
    /// 28.2.2"; Podman's compatible socket names itself too).
    public func version() throws(Failure) -> String {
        let (status, body) = try request("/version", timeoutSeconds: 2)
        guard status == 200, let root = try? JSONParser.parse(body), case .object(let members) = root.value else {
            throw Failure(description: "\(socketPath) answered /version with status \(status)")
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = members.first(where: { $0.key == key })?.value.value { return value }
            return nil
        }
        let product = members.first { $0.key == "Components" }.flatMap { component -> String? in
            guard case .array(let items) = component.value.value, case .object(let first)? = items.first?.value else { return nil }
            if case .string(let name)? = first.first(where: { $0.key == "Name" })?.value.value { return name }
            return nil
        }
        // Docker calls its own component "Engine"; Podman's says "Podman Engine".
        let name = product.map { $0 == "Engine" ? "Docker Engine" : $0 } ?? "Docker"
        return "\(name) \(text("Version") ?? "(no version)")"
    }

    func runningContainerIDs() throws(Failure) -> [String] {
        let (status, body) = try request("/containers/json", timeoutSeconds: 2)
        guard status == 200, let root = try? JSONParser.parse(body), case .array(let items) = root.value else {
            throw Failure(description: "GET /containers/json answered \(status)")
        }
        return items.compactMap { item in
            if case .string(let id)? = item["Id"]?.value { return id }
            return nil
        }
    }

    /// A container's facts from the body of `/containers/ID/json` (public for the fuzzer, which
    /// feeds it what a hostile or broken socket could answer).
    public static func facts(fromInspect root: JSONNode) -> ContainerFacts? {
        guard case .string(var name)? = root["Name"]?.value else { return nil }
        if name.hasPrefix("/") { name.removeFirst() }
        var image = ""
        if case .string(let configured)? = root["Config"]?["Image"]?.value { image = configured }
        var imageID = ""
        if case .string(let id)? = root["Image"]?.value { imageID = id }
        var labels: [String: String] = [:]
        if case .object(let members)? = root["Config"]?["Labels"]?.value {
            for member in members { if case .string(let value) = member.value.value { labels[member.key] = value } }
        }
        var privileged = false
        if case .bool(let value)? = root["HostConfig"]?["Privileged"]?.value { privileged = value }
        var startTime: UInt64?
        if case .string(let started)? = root["State"]?["StartedAt"]?.value { startTime = parseISO8601(started) }
        var mounts: [ContainerFacts.Mount] = []
        if case .array(let items)? = root["Mounts"]?.value {
            for item in items {
                func text(_ key: String) -> String {
                    if case .string(let value)? = item[key]?.value { return value }
                    return ""
                }
                var writable = true
                if case .bool(let value)? = item["RW"]?.value { writable = value }
                mounts.append(ContainerFacts.Mount(source: text("Source"), destination: text("Destination"), mode: text("Mode"),
                                                   isWritable: writable, propagation: text("Propagation")))
            }
        }
        return ContainerFacts(name: name, image: image, imageID: imageID, labels: labels, privileged: privileged, startTime: startTime, mounts: mounts)
    }

    /// A container's life, as the events stream tells it.
    public enum Change: Equatable {
        case created(id: String)
        case destroyed(id: String)
    }

    /// Follows `/events` for containers until the connection ends or `shouldStop` says so; calls
    /// `onChange` for creation and destruction.
    public func followEvents(shouldStop: () -> Bool, onChange: (Change) -> Void) throws(Failure) {
        let filter = "%7B%22type%22%3A%5B%22container%22%5D%7D" // {"type":["container"]}
        let socket = try connect(timeoutSeconds: 1)
        defer { close(socket) }
        try send("GET /events?filters=\(filter) HTTP/1.0\r\nHost: docker\r\n\r\n", to: socket)
        var pending: [UInt8] = []
        var headerDone = false
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while !shouldStop() {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count == 0 { return }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure(description: "reading Docker's events: \(String(cString: strerror(errno)))")
            }
            pending.append(contentsOf: chunk[0..<count])
            if !headerDone {
                guard let end = Self.headerEnd(pending) else { continue }
                pending.removeFirst(end)
                headerDone = true
            }
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if let change = Self.change(fromEventLine: line) { onChange(change) }
            }
        }
    }

    public static func change(fromEventLine line: [UInt8]) -> Change? {
        guard let event = try? JSONParser.parse(line),
              case .string(let action)? = event["Action"]?.value,
              case .string(let id)? = event["Actor"]?["ID"]?.value else { return nil }
        switch action {
        case "create", "start": return .created(id: id)
        case "destroy": return .destroyed(id: id)
        default: return nil
        }
    }

    // MARK: - HTTP over the unix socket

    private func request(_ path: String, timeoutSeconds: Int) throws(Failure) -> (status: Int, body: [UInt8]) {
        let socket = try connect(timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        try send("GET \(path) HTTP/1.0\r\nHost: docker\r\n\r\n", to: socket)
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "reading from \(socketPath): \(String(cString: strerror(errno)))")
            }
            response.append(contentsOf: chunk[0..<count])
        }
        guard let parsed = Self.parseResponse(response) else { throw Failure(description: "\(socketPath) answered something that is not HTTP") }
        return parsed
    }

    /// An HTTP/1.0 answer's status and body ("HTTP/1.0 200 OK", headers, a blank line, the body);
    /// nil for anything else.
    public static func parseResponse(_ response: [UInt8]) -> (status: Int, body: [UInt8])? {
        guard let end = headerEnd(response), response.count > 12, response.starts(with: Array("HTTP/".utf8)),
              let status = Int(String(decoding: response[9..<12], as: UTF8.self)) else { return nil }
        return (status, Array(response[end...]))
    }

    private func connect(timeoutSeconds: Int) throws(Failure) -> Int32 {
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(socket)
            throw Failure(description: "the socket path \(socketPath) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw Failure(description: "cannot reach Docker at \(socketPath): \(reason)")
        }
        return socket
    }

    private func send(_ text: String, to socket: Int32) throws(Failure) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "writing to \(socketPath): \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    /// The offset just after "\r\n\r\n", where the body begins.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}
