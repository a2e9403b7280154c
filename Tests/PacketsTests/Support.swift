import Engine
@testable import Packets

/// Runs frames through a dissector; the messages it read.
func dissect(_ frames: [[UInt8]], with dissector: TrafficDissector = TrafficDissector()) -> [PacketMessage] {
    var messages: [PacketMessage] = []
    for (index, frame) in frames.enumerated() {
        frame.withUnsafeBytes { bytes in
            dissector.frame(bytes, linkType: .ethernet, time: 1_700_000_000_000_000_000 + UInt64(index) * 1000) { messages.append($0) }
        }
    }
    return messages
}
