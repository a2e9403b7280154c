/// Protocol messages written byte by byte, to go inside FrameBuilder's frames: for tests, fuzzing
/// and benchmarks, as a client or a server would send them.
public enum SamplePayloads {
    /// A DNS query for `name`, or its answer with `rcode` (an answer that found it holds one A
    /// record, 192.0.2.1).
    public static func dns(_ name: String, type: UInt16 = 1, response: Bool = false, rcode: UInt8 = 0) -> [UInt8] {
        let answered = response && rcode == 0
        var bytes: [UInt8] = [0x12, 0x34, response ? 0x81 : 0x01, response ? 0x80 | rcode : 0, 0, 1, 0, answered ? 1 : 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        if answered { bytes += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1] }
        return bytes
    }

    /// A MySQL packet: 3-byte little-endian length, sequence number, payload.
    public static func mysqlPacket(sequence: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [UInt8(payload.count & 0xFF), UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count >> 16), sequence] + payload
    }

    /// A MariaDB server's greeting (protocol 10), as far as the dissector looks.
    public static let mysqlGreeting = mysqlPacket(sequence: 0, [10] + Array("10.11.6-MariaDB\0".utf8) + [UInt8](repeating: 7, count: 40))

    /// A client's login as `user` with `capabilities`.
    public static func mysqlLogin(user: String, capabilities: UInt32 = 0x000A_A285) -> [UInt8] {
        let flags = (0..<4).map { UInt8(truncatingIfNeeded: capabilities >> (8 * $0)) }
        return mysqlPacket(sequence: 1, flags + [0, 0, 0, 1, 33] + [UInt8](repeating: 0, count: 23) + Array(user.utf8) + [0, 20] + [UInt8](repeating: 9, count: 20))
    }

    /// COM_QUERY.
    public static func mysqlQuery(_ text: String) -> [UInt8] {
        mysqlPacket(sequence: 0, [0x03] + Array(text.utf8))
    }

    /// A TLS ClientHello record naming `serverName`.
    public static func clientHello(serverName: String?) -> [UInt8] {
        var extensions: [UInt8] = []
        if let serverName {
            let name = Array(serverName.utf8)
            let entry: [UInt8] = [0, UInt8(name.count >> 8), UInt8(name.count & 0xFF)] + name
            let list: [UInt8] = [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
            extensions += [0, 0, UInt8(list.count >> 8), UInt8(list.count & 0xFF)] + list
        }
        extensions += [0, 0x2B, 0, 3, 2, 3, 4]  // supported_versions: TLS 1.3
        var hello: [UInt8] = [3, 3] + [UInt8](repeating: 0xAB, count: 32) + [0] + [0, 2, 0x13, 0x01] + [1, 0]
        hello += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions
        let handshake: [UInt8] = [1, 0, UInt8(hello.count >> 8), UInt8(hello.count & 0xFF)] + hello
        return [0x16, 3, 1, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
    }
}
