// The packet dissectors' targets: raw frames, or a TCP conversation whose first byte says where
// the rest is cut into segments and which side sends it.

import Engine
import Packets

/// The dissector a packet target feeds, and the port its server listens on.
enum PacketProtocol {
    case frames, http, dns, tls, mysql

    var serverPort: UInt16 {
        switch self {
        case .frames, .http: 80
        case .dns: 53
        case .tls: 443
        case .mysql: 3306
        }
    }
}

/// One input through a fresh dissector; how many messages it read (only crashes matter to the
/// fuzzer; the count shows the replayed corpus reaches the dissector).
@discardableResult
func dissect(_ input: UnsafeRawBufferPointer, as target: PacketProtocol) -> Int {
    let dissector = TrafficDissector()
    var frames: [[UInt8]]
    if target == .frames {
        frames = [Array(input)]
    } else {
        guard let control = input.first else { return 0 }
        let body = Array(input.dropFirst())
        var builder = FrameBuilder()
        builder.server.port = target.serverPort
        frames = builder.open()
        if target == .mysql { frames.append(builder.segment(fromClient: false, SamplePayloads.mysqlGreeting)) }
        if target == .dns, control & 0x80 != 0 {
            frames = [builder.datagram(fromClient: control & 0x40 == 0, body)]
        } else {
            // Up to three segments, cut where the control byte says, from the side it says.
            let cut = body.isEmpty ? 0 : Int(control & 0x3F) % body.count
            let fromClient = control & 0x40 == 0
            for piece in [body[..<cut], body[cut...]] where !piece.isEmpty {
                frames.append(builder.segment(fromClient: fromClient, Array(piece)))
            }
        }
    }
    var messages = 0
    for (index, frame) in frames.enumerated() {
        frame.withUnsafeBytes { bytes in dissector.frame(bytes, linkType: .ethernet, time: UInt64(index) * 1000) { _ in messages += 1 } }
    }
    return messages
}
