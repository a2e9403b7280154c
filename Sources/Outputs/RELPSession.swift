import Engine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A RELP session (rsyslog's Reliable Event Logging Protocol, as librelp's doc/relp.md specifies
/// it) on a connected TCP socket. Every message is a command the server answers once it took the
/// message, so a message is delivered when its answer comes; one whose answer never came (the
/// server died) is sent again on a new session. One command is in flight at a time: at most the
/// message in flight when a server dies can arrive twice.
struct RELPSession {
    /// The largest frame a server may send back: RELP version 1 caps a frame's data at 128 KiB.
    private static let maximumDataLength = 128 * 1024

    private let descriptor: Int32
    private let peer: String
    private var nextTransaction = 1
    private var received: [UInt8] = []

    /// Opens the session: offers protocol version 0 (what librelp speaks) and the syslog command.
    /// An answer slower than `timeoutSeconds` fails the command.
    init(descriptor: Int32, peer: String, timeoutSeconds: Int) throws {
        self.descriptor = descriptor
        self.peer = peer
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try command("open", Array("relp_version=0\nrelp_software=sentinel\ncommands=syslog".utf8))
    }

    /// Sends one syslog message and waits for the server to take it.
    mutating func send(syslog message: [UInt8]) throws {
        try command("syslog", message)
    }

    private mutating func command(_ name: String, _ data: [UInt8]) throws {
        let transaction = nextTransaction
        nextTransaction = transaction >= 999_999_999 ? 1 : transaction + 1
        var frame = Array("\(transaction) \(name) \(data.count)".utf8)
        if !data.isEmpty { frame += [0x20] + data }
        frame.append(0x0A)
        var offset = 0
        while offset < frame.count {
            let sent = frame[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw SystemError("send to \(peer)")
            }
            offset += sent
        }
        let answer = try readFrame()
        if answer.transaction == 0 && answer.command == "serverclose" {
            throw SystemError("\(peer) closed the RELP session", code: ECONNRESET)
        }
        guard answer.transaction == transaction, answer.command == "rsp" else {
            throw SystemError("\(peer) answered transaction \(transaction) with \(answer.transaction) \(answer.command)", code: EPROTO)
        }
        // RSP-HEADER: a status (200 is OK), a human message, then data.
        guard answer.data.starts(with: Array("200".utf8)) else {
            let line = String(decoding: answer.data.prefix { $0 != 0x0A }, as: UTF8.self)
            throw SystemError("\(peer) refused a RELP \(name): \(line)", code: EIO)
        }
    }

    /// The next frame the server sent: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`.
    private mutating func readFrame() throws -> (transaction: Int, command: String, data: [UInt8]) {
        while true {
            if let frame = try parseFrame() { return frame }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno == EAGAIN ? "no RELP answer from \(peer) in time" : "receive from \(peer)",
                                  code: errno == EAGAIN ? ETIMEDOUT : errno)
            }
            if count == 0 { throw SystemError("\(peer) closed the connection", code: ECONNRESET) }
            received += chunk.prefix(count)
        }
    }

    /// A whole frame taken from what was received, nil while it is incomplete.
    private mutating func parseFrame() throws -> (transaction: Int, command: String, data: [UInt8])? {
        let malformed = SystemError("\(peer) sent a malformed RELP frame", code: EPROTO)
        // A header is at most 9 digits, 32 letters and 9 digits with their spaces.
        let headerLimit = 64
        guard let firstSpace = received.firstIndex(of: 0x20),
              let secondSpace = received[(firstSpace + 1)...].firstIndex(of: 0x20),
              let lengthEnd = received[(secondSpace + 1)...].firstIndex(where: { $0 == 0x20 || $0 == 0x0A }) else {
            if received.count > headerLimit { throw malformed }
            return nil
        }
        guard let transaction = Int(String(decoding: received[..<firstSpace], as: UTF8.self)),
              let length = Int(String(decoding: received[(secondSpace + 1)..<lengthEnd], as: UTF8.self)),
              length <= Self.maximumDataLength else { throw malformed }
        let command = String(decoding: received[(firstSpace + 1)..<secondSpace], as: UTF8.self)
        // DATALEN 0 ends the frame with its LF; otherwise a space, the data, then the LF.
        let trailer: Int
        if received[lengthEnd] == 0x0A {
            guard length == 0 else { throw malformed }
            trailer = lengthEnd
        } else {
            trailer = lengthEnd + 1 + length
            guard received.count > trailer else { return nil }
            guard received[trailer] == 0x0A else { throw malformed }
        }
        let data = length == 0 ? [] : Array(received[(lengthEnd + 1)..<trailer])
        received.removeFirst(trailer + 1)
        return (transaction, command, data)
    }
}
