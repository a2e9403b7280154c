#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address held in two words, so that comparing addresses on the hot path is two
/// integer comparisons and no string is built until an alert is written.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let isIPv4: Bool
    /// The address in network order as a 128-bit number (IPv4 in the low 32 bits).
    public let high: UInt64
    public let low: UInt64

    public init(ipv4 value: UInt32) {
        isIPv4 = true
        high = 0
        low = UInt64(value)
    }

    public init(ipv6 high: UInt64, _ low: UInt64) {
        isIPv4 = false
        self.high = high
        self.low = low
    }

    /// An address as the network carries it: 4 bytes for IPv4, 16 for IPv6, most significant first.
    public init(networkBytes bytes: [UInt8]) {
        if bytes.count == 4 {
            self.init(ipv4: bytes.reduce(0) { $0 << 8 | UInt32($1) })
        } else {
            self.init(ipv6: bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        }
    }

    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self.init(networkBytes: withUnsafeBytes(of: &v6) { Array($0) })
    }

    public var bitCount: Int { isIPv4 ? 32 : 128 }

    /// The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for: what a dual-stack
    /// socket (Java's, Node's on ::) reports for an IPv4 peer.
    public var mappedIPv4: IPAddress? {
        guard !isIPv4, high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPAddress(ipv4: UInt32(truncatingIfNeeded: low))
    }

    public var description: String {
        if isIPv4 {
            let value = UInt32(truncatingIfNeeded: low)
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        }
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { raw in
            for index in 0..<8 {
                raw[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                raw[index + 8] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
            }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address or a network in CIDR notation, as a rule writes it: `10.0.0.0/8`, `::1`.
public struct IPNetwork: Sendable, Hashable {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...address.bitCount).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = address.bitCount
        }
        self.address = address
    }

    /// Whether `candidate` is in the network; an IPv4 network holds the IPv4-mapped forms of its
    /// addresses too, so that `fd.sip in (10.0.0.0/8)` means the same whatever socket connected.
    public func contains(_ candidate: IPAddress) -> Bool {
        if address.isIPv4, let mapped = candidate.mappedIPv4 { return contains(mapped) }
        guard candidate.isIPv4 == address.isIPv4 else { return false }
        // Compare the top `prefixLength` bits of the 128-bit (high, low) pair.
        let offset = address.isIPv4 ? 96 : 0
        let bits = offset + prefixLength
        let highMask: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        let lowMask: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : .max << (128 - bits))
        return candidate.high & highMask == address.high & highMask && candidate.low & lowMask == address.low & lowMask
    }
}
