import Engine
import Testing
@testable import Packets

/// Frames that lie about their lengths, cut short or made of noise: each is counted, none read
/// past its end (the address sanitizer and the fuzzers check the reading; these check the counting).
@Suite struct HostileInputTests {
    @Test func lengthsThatPointPastTheEndAreMalformed() {
        var frames = FrameBuilder()
        var claimsMore = frames.segment(fromClient: true, Array("GET / HTTP/1.1\r\n\r\n".utf8))
        claimsMore[14 + 2] = 0x40  // IPv4 total length 16 KiB in a frame of 70 bytes
        let dissector = TrafficDissector()
        _ = dissect([claimsMore, Array(claimsMore[..<30]), [0x00]], with: dissector)
        #expect(dissector.counters.malformed + dissector.counters.streamsAbandoned >= 2, "\(dissector.counters)")
    }

    @Test func dnsPointersThatLoopEnd() {
        // The question's name is a label, then a pointer back to that label: a loop.
        var message: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        message += [1, UInt8(ascii: "a"), 0xC0, 12]
        let result = message.withUnsafeBytes { DNS.parse($0) }
        guard case .failure(let problem) = result else { Issue.record("\(result)"); return }
        #expect(problem.message.contains("longer than 255"))
    }

    @Test func noiseNeverCrashesAndIsCounted() {
        var random = SplitMix64(seed: 42)
        var builder = FrameBuilder()
        let valid = builder.open() + [builder.segment(fromClient: true, Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)),
                                      builder.segment(fromClient: false, SamplePayloads.mysqlGreeting), builder.datagram(fromClient: true, SamplePayloads.dns("a.b"))]
        let dissector = TrafficDissector()
        var frames: [[UInt8]] = []
        for index in 0..<20_000 {
            var frame = valid[index % valid.count]
            // Flip a few bytes past the Ethernet header, or cut the frame anywhere.
            for _ in 0..<Int(random.next() % 4 + 1) {
                frame[14 + Int(random.next() % UInt64(frame.count - 14))] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.next() % 3 == 0 { frame = Array(frame.prefix(Int(random.next() % UInt64(frame.count)))) }
            frames.append(frame)
        }
        _ = dissect(frames, with: dissector)
        #expect(dissector.counters.frames == 20_000)
        #expect(dissector.counters.malformed > 1000, "\(dissector.counters)")
    }
}
