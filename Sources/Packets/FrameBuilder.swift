import Engine

/// Frames as a capture on a veth delivers them (Ethernet, IPv4, then TCP or UDP), built for
/// tests, fuzzing and benchmarks: a conversation written as the payloads each side sends.
public struct FrameBuilder {
    public var client = (address: IPAddress("172.30.0.2")!, port: UInt16(40_000))
    public var server = (address: IPAddress("172.30.0.1")!, port: UInt16(80))
    /// The next sequence number of each side.
    public var clientSequence: UInt32 = 1000
    public var serverSequence: UInt32 = 5000

    /// Each side's Ethernet address: 02:00:00:00:00:01 for the client, :02 for the server.
    public static let clientLink: UInt64 = 0x0200_0000_0001
    public static let serverLink: UInt64 = 0x0200_0000_0002

    public init() {}

    public static func ethernet(_ ip: [UInt8], from source: UInt64, to destination: UInt64) -> [UInt8] {
        let address = { (value: UInt64) in (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * $0)) } }
        return address(destination) + address(source) + [0x08, 0x00] + ip
    }

    public static func ipv4(source: IPAddress, destination: IPAddress, proto: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        var header: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, proto, 0, 0]
        for address in [source, destination] {
            let value = UInt32(truncatingIfNeeded: address.low)
            header += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return header + payload
    }

    public static func tcp(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, flags: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
         UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xFF), UInt8(sequence >> 8 & 0xFF), UInt8(sequence & 0xFF),
         0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0] + payload
    }

    public static func udp(sourcePort: UInt16, destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let length = 8 + payload.count
        return [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
                UInt8(length >> 8), UInt8(length & 0xFF), 0, 0] + payload
    }

    /// The three-way handshake's SYN and SYN-ACK.
    public mutating func open() -> [[UInt8]] {
        defer {
            clientSequence += 1
            serverSequence += 1
        }
        return [segment(fromClient: true, flags: 0x02, [], advance: false), segment(fromClient: false, flags: 0x12, [], advance: false)]
    }

    /// A segment carrying `payload`, its sequence number following the side's last.
    public mutating func segment(fromClient: Bool, flags: UInt8 = 0x18, _ payload: [UInt8], advance: Bool = true) -> [UInt8] {
        let (from, to) = fromClient ? (client, server) : (server, client)
        let sequence = fromClient ? clientSequence : serverSequence
        if advance {
            if fromClient { clientSequence &+= UInt32(payload.count) } else { serverSequence &+= UInt32(payload.count) }
        }
        return Self.ethernet(Self.ipv4(source: from.address, destination: to.address, proto: 6,
                                       Self.tcp(sourcePort: from.port, destinationPort: to.port, sequence: sequence, flags: flags, payload)),
                             from: fromClient ? Self.clientLink : Self.serverLink, to: fromClient ? Self.serverLink : Self.clientLink)
    }

    public func datagram(fromClient: Bool, _ payload: [UInt8]) -> [UInt8] {
        let (from, to) = fromClient ? (client, server) : (server, client)
        return Self.ethernet(Self.ipv4(source: from.address, destination: to.address, proto: 17,
                                       Self.udp(sourcePort: from.port, destinationPort: to.port, payload)),
                             from: fromClient ? Self.clientLink : Self.serverLink, to: fromClient ? Self.serverLink : Self.clientLink)
    }
}
