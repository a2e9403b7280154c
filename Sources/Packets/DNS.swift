import Engine

/// DNS messages (RFC 1035), as far as their first question and their outcome.
public enum DNS {
    /// The longest name DNS allows (RFC 1035: 255 octets on the wire).
    static let longestName = 255

    /// Reads a whole message (one UDP datagram, or one TCP frame without its length prefix).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<DNSQuestion, PacketProblem> {
        var reader = ByteReader(bytes)
        guard reader.skip(2), let flags = reader.u16(), let questions = reader.u16(), reader.skip(6) else {
            return .failure(PacketProblem("DNS header cut short"))
        }
        guard flags >> 11 & 0xF == 0 else { return .failure(PacketProblem("DNS opcode \(flags >> 11 & 0xF) is not a query")) }
        guard questions >= 1 else { return .failure(PacketProblem("DNS message without a question")) }
        let name: String
        switch readName(bytes, at: &reader) {
        case .success(let read): name = read
        case .failure(let problem): return .failure(problem)
        }
        guard let type = reader.u16(), reader.skip(2) else { return .failure(PacketProblem("DNS question cut short")) }
        return .success(DNSQuestion(isResponse: flags & 0x8000 != 0, name: name, type: typeName(type), rcode: rcodeName(Int(flags & 0xF))))
    }

    /// A name at the reader: labels, or a pointer to labels earlier in the message (compression).
    /// It ends: each step reads a label, which the name's length bound limits, or jumps strictly
    /// backwards (a pointer must point before itself).
    static func readName(_ message: UnsafeRawBufferPointer, at reader: inout ByteReader) -> Result<String, PacketProblem> {
        var name: [UInt8] = []
        var cursor = ByteReader(message)
        _ = cursor.seek(to: reader.offset)
        var jumped = false
        while true {
            guard let length = cursor.u8() else { return .failure(PacketProblem("DNS name cut short")) }
            if length == 0 { break }
            if length & 0xC0 == 0xC0 {
                guard let low = cursor.u8() else { return .failure(PacketProblem("DNS name pointer cut short")) }
                let target = Int(length & 0x3F) << 8 | Int(low)
                guard target < cursor.offset - 2 else { return .failure(PacketProblem("DNS name pointer does not point backwards")) }
                if !jumped { _ = reader.seek(to: cursor.offset) }
                jumped = true
                _ = cursor.seek(to: target)
                continue
            }
            guard length & 0xC0 == 0 else { return .failure(PacketProblem("DNS label type \(length >> 6) is not supported")) }
            guard let label = cursor.take(Int(length)) else { return .failure(PacketProblem("DNS label cut short")) }
            if !name.isEmpty { name.append(UInt8(ascii: ".")) }
            name.append(contentsOf: label)
            guard name.count <= longestName else { return .failure(PacketProblem("DNS name longer than \(longestName) bytes")) }
        }
        if !jumped { _ = reader.seek(to: cursor.offset) }
        return .success(String(decoding: name, as: UTF8.self))
    }

    static func typeName(_ type: UInt16) -> String {
        switch type {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 6: "SOA"
        case 12: "PTR"
        case 15: "MX"
        case 16: "TXT"
        case 28: "AAAA"
        case 33: "SRV"
        case 64: "SVCB"
        case 65: "HTTPS"
        case 255: "ANY"
        default: "TYPE\(type)"
        }
    }

    private static let rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]

    static func rcodeName(_ rcode: Int) -> String {
        rcodeNames.indices.contains(rcode) ? rcodeNames[rcode] : "RCODE\(rcode)"
    }
}

/// Why bytes could not be read as what they claimed to be.
public struct PacketProblem: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
