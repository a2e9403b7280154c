import Engine

/// The link layer a capture delivers, as libpcap names it (DLT_*).
public enum LinkType: Int32, Sendable {
    /// A veth's, and any Ethernet device's.
    case ethernet = 1
    case rawIP = 101
    /// The "any" device: Linux cooked capture, v1 and v2.
    case linuxCooked = 113
    case linuxCooked2 = 276
}

/// One direction of a flow: who sent the segment to whom.
public struct FlowKey: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var isTCP: Bool

    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16, isTCP: Bool) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.isTCP = isTCP
    }

    /// The other direction of the same flow.
    public var reversed: FlowKey {
        FlowKey(source: destination, destination: source, sourcePort: destinationPort, destinationPort: sourcePort, isTCP: isTCP)
    }
}

/// A TCP segment or a UDP datagram, from a captured frame.
public struct TransportSegment {
    public struct TCPFlags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = TCPFlags(rawValue: 0x01)
        public static let syn = TCPFlags(rawValue: 0x02)
        public static let rst = TCPFlags(rawValue: 0x04)
        public static let ack = TCPFlags(rawValue: 0x10)
    }

    public var flow: FlowKey
    /// The sender's Ethernet address (0 on other links): on a container's veth, whether the
    /// container sent the frame.
    public var linkSource: UInt64
    public var flags: TCPFlags
    public var sequence: UInt32
    /// The payload bytes captured: fewer than `payloadLength` when the snap length cut the frame.
    public var payload: UnsafeRawBufferPointer
    /// The payload's length as the headers give it.
    public var payloadLength: Int
}

/// What a captured frame holds, for the dissectors.
public enum FrameContent {
    case segment(TransportSegment)
    /// Not TCP or UDP over IP (ARP, ICMP...), or a fragment after the first: nothing to dissect.
    case ignored
    /// Headers that contradict themselves or the frame's length.
    case malformed(String)
}

public enum Frame {
    /// Decodes the link, IP and transport headers of `frame`; never reads past its end.
    public static func decode(_ frame: UnsafeRawBufferPointer, linkType: LinkType) -> FrameContent {
        var reader = ByteReader(frame)
        let etherType: UInt16
        var linkSource: UInt64 = 0
        switch linkType {
        case .ethernet:
            guard reader.skip(6), let high = reader.u16(), let low = reader.u32(), var type = reader.u16() else { return .malformed("Ethernet header cut short") }
            linkSource = UInt64(high) << 32 | UInt64(low)
            // 802.1Q and 802.1ad tags, stacked at most twice.
            for _ in 0..<2 where type == 0x8100 || type == 0x88A8 {
                guard reader.skip(2), let inner = reader.u16() else { return .malformed("VLAN tag cut short") }
                type = inner
            }
            etherType = type
        case .linuxCooked:
            guard reader.skip(14), let type = reader.u16() else { return .malformed("Linux cooked header cut short") }
            etherType = type
        case .linuxCooked2:
            guard let type = reader.u16(), reader.skip(18) else { return .malformed("Linux cooked v2 header cut short") }
            etherType = type
        case .rawIP:
            guard let first = reader.bytes.first else { return .malformed("empty frame") }
            etherType = first >> 4 == 6 ? 0x86DD : 0x0800
        }
        let content: FrameContent
        switch etherType {
        case 0x0800: content = ipv4(&reader)
        case 0x86DD: content = ipv6(&reader)
        default: return .ignored
        }
        guard case .segment(var segment) = content else { return content }
        segment.linkSource = linkSource
        return .segment(segment)
    }

    private static func ipv4(_ reader: inout ByteReader) -> FrameContent {
        let start = reader.offset
        guard let versionAndLength = reader.u8(), versionAndLength >> 4 == 4 else { return .malformed("not an IPv4 header") }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= 20, reader.skip(1), let totalLength = reader.u16(), reader.skip(2),
              let fragment = reader.u16(), reader.skip(1), let proto = reader.u8(), reader.skip(2),
              let source = reader.u32(), let destination = reader.u32() else { return .malformed("IPv4 header cut short") }
        guard Int(totalLength) >= headerLength else { return .malformed("IPv4 total length \(totalLength) is less than its header") }
        guard reader.seek(to: start + headerLength) else { return .malformed("IPv4 options cut short") }
        // A later fragment has no transport header; a first one has only part of the payload.
        if fragment & 0x3FFF != 0 { return .ignored }
        return transport(&reader, proto: proto, length: Int(totalLength) - headerLength,
                         source: IPAddress(ipv4: source), destination: IPAddress(ipv4: destination))
    }

    private static func ipv6(_ reader: inout ByteReader) -> FrameContent {
        guard let first = reader.u32(), first >> 28 == 6, let payloadLength = reader.u16(), var next = reader.u8(), reader.skip(1),
              let sourceHigh = reader.u64(), let sourceLow = reader.u64(), let destinationHigh = reader.u64(), let destinationLow = reader.u64() else {
            return .malformed("IPv6 header cut short")
        }
        var length = Int(payloadLength)
        // Hop-by-hop, routing and destination options may come first; a fragment header means a
        // fragmented datagram, passed over as IPv4's are.
        for _ in 0..<8 where next == 0 || next == 43 || next == 60 || next == 44 {
            if next == 44 { return .ignored }
            guard let following = reader.u8(), let units = reader.u8(), reader.skip(6 + Int(units) * 8) else {
                return .malformed("IPv6 extension header cut short")
            }
            length -= 8 + Int(units) * 8
            next = following
        }
        guard length >= 0 else { return .malformed("IPv6 extension headers longer than the payload") }
        return transport(&reader, proto: next, length: length, source: IPAddress(ipv6: sourceHigh, sourceLow),
                         destination: IPAddress(ipv6: destinationHigh, destinationLow))
    }

    /// The transport header at the reader, in an IP payload of `length` bytes (as the IP header
    /// says; the capture may hold fewer).
    private static func transport(_ reader: inout ByteReader, proto: UInt8, length: Int, source: IPAddress, destination: IPAddress) -> FrameContent {
        let start = reader.offset
        switch proto {
        case 6:
            guard let sourcePort = reader.u16(), let destinationPort = reader.u16(), let sequence = reader.u32(), reader.skip(4),
                  let offsetByte = reader.u8(), let flags = reader.u8() else { return .malformed("TCP header cut short") }
            let headerLength = Int(offsetByte >> 4) * 4
            guard headerLength >= 20, headerLength <= length else { return .malformed("TCP data offset \(headerLength) out of bounds") }
            guard reader.seek(to: start + headerLength) else { return .malformed("TCP options cut short") }
            let payloadLength = length - headerLength
            let captured = reader.take(min(payloadLength, reader.remaining))!
            let flow = FlowKey(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, isTCP: true)
            return .segment(TransportSegment(flow: flow, linkSource: 0, flags: TransportSegment.TCPFlags(rawValue: flags), sequence: sequence,
                                             payload: captured, payloadLength: payloadLength))
        case 17:
            guard let sourcePort = reader.u16(), let destinationPort = reader.u16(), let udpLength = reader.u16(), reader.skip(2) else {
                return .malformed("UDP header cut short")
            }
            guard udpLength >= 8, Int(udpLength) <= length else { return .malformed("UDP length \(udpLength) out of bounds") }
            let payloadLength = Int(udpLength) - 8
            let captured = reader.take(min(payloadLength, reader.remaining))!
            let flow = FlowKey(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, isTCP: false)
            return .segment(TransportSegment(flow: flow, linkSource: 0, flags: [], sequence: 0, payload: captured, payloadLength: payloadLength))
        default:
            return .ignored
        }
    }
}
