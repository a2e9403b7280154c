/// The MySQL and MariaDB client/server protocol, as far as reading what a client asks: each
/// packet is a 3-byte little-endian length, a sequence number, and the payload.
public enum MySQL {
    /// Queries longer than this are cut here (and marked so): an injection shows in its start.
    public static let queryLimit = 16_384

    /// The client's capabilities that change how its packets read.
    struct Capabilities: OptionSet {
        let rawValue: UInt32
        static let compress = Capabilities(rawValue: 0x20)
        static let ssl = Capabilities(rawValue: 0x800)
        static let queryAttributes = Capabilities(rawValue: 0x0800_0000)
    }

    /// Whether a stream that begins with these bytes is a server's greeting: packet 0 holding
    /// protocol version 10 and a version string.
    public static func looksLikeGreeting(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 6 else { return false }
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        return bytes[3] == 0 && bytes[4] == 10 && (20...1024).contains(length) && (0x30...0x39).contains(bytes[5])
    }

    /// What one client packet said.
    enum ClientPacket: Equatable {
        /// The handshake response: who logs in, and how the rest of the stream reads.
        case login(user: String, capabilities: Capabilities)
        /// COM_QUERY, or COM_STMT_PREPARE (a prepared statement's text): the SQL text, cut at
        /// `queryLimit` when longer.
        case query(String, truncated: Bool)
        /// Anything else: pings, prepared statements' ids, quitting...
        case other
    }

    /// The next client packet at the start of `bytes`; `skip` is how much of it lies beyond the
    /// bytes read (a long query's rest), to pass over without buffering.
    static func nextClientPacket(_ bytes: UnsafeRawBufferPointer, capabilities: Capabilities?) -> StreamParse<(packet: ClientPacket, skip: Int)> {
        var reader = ByteReader(bytes)
        guard let length = reader.u24LittleEndian(), let sequence = reader.u8() else { return .needMore }
        guard let capabilities else {
            // The handshake response is whole or nothing: it is short.
            guard let payload = reader.take(length) else {
                return length > 8192 ? .failure(PacketProblem("a handshake response of \(length) bytes")) : .needMore
            }
            guard sequence == 1 else { return .failure(PacketProblem("the client's first packet is number \(sequence), not 1")) }
            guard let login = login(payload) else { return .failure(PacketProblem("handshake response cut short")) }
            return .complete((login, 0), consumed: reader.offset)
        }
        /// The packet, unread: what of it is here is consumed, the rest skipped.
        func passOver() -> StreamParse<(packet: ClientPacket, skip: Int)> {
            let here = min(length, bytes.count - 4)
            return .complete((.other, length - here), consumed: 4 + here)
        }
        guard length > 0 else { return passOver() }
        guard let command = reader.u8() else { return .needMore }
        let (query, prepare): (UInt8, UInt8) = (0x03, 0x16)
        guard command == query || command == prepare, sequence == 0 else { return passOver() }
        var textLength = length - 1
        if command == query, capabilities.contains(.queryAttributes) {
            // A parameter count and a parameter set count, length-encoded: only queries without
            // parameters (0 and 1, one byte each) are read.
            guard let count = reader.u8(), reader.skip(1) else { return .needMore }
            guard count == 0 else { return passOver() }
            textLength -= 2
        }
        guard textLength >= 0 else { return .failure(PacketProblem("a COM_QUERY of \(length) bytes")) }
        let kept = min(textLength, queryLimit)
        guard let text = reader.take(kept) else { return .needMore }
        return .complete((.query(text.text, truncated: kept < textLength), textLength - kept), consumed: reader.offset)
    }

    /// HandshakeResponse41: capabilities, max packet size, character set, 23 reserved bytes, then
    /// the user name (NUL-terminated). A short one with the SSL flag asks for TLS first.
    private static func login(_ payload: UnsafeRawBufferPointer) -> ClientPacket? {
        var reader = ByteReader(payload)
        guard let raw = reader.u32LittleEndian() else { return nil }
        let capabilities = Capabilities(rawValue: raw)
        if capabilities.contains(.ssl) && payload.count <= 32 { return .login(user: "", capabilities: capabilities) }
        guard reader.skip(4 + 1 + 23) else { return nil }
        let rest = reader.rest()
        guard let end = rest.firstIndex(of: 0) else { return nil }
        return .login(user: UnsafeRawBufferPointer(rebasing: rest[..<end]).text, capabilities: capabilities)
    }
}
