// bench/packets' arithmetic: `packets-bench PCAP [PASSES]`. Writes PCAP (if it does not exist) with
// a mix of container traffic built frame by frame: HTTP pages and downloads (a few requests with
// SQL injection or commands in them), TLS connections with their data, MySQL sessions with result
// sets, DNS queries and answers. Then replays it PASSES times (default 5) through libpcap, the
// dissectors, the pcap sensor's message queue and the stock rules, as the sensor would, and prints the median pass's payload
// throughput (TCP and UDP payload bytes, in Gbit/s) on one core.

import Engine
import Packets
import Rules
import SentinelJSON
import Sensors

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    print("packets-bench: \(message)")
    exit(2)
}

func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The classic pcap file format: a global header, then each frame with its time and lengths.
struct PcapWriter {
    private(set) var bytes: [UInt8] = []
    private var time: UInt64 = 1_795_000_000_000_000_000

    init() {
        for value: UInt32 in [0xA1B2_C3D4] { append32(value) }
        append16(2); append16(4); append32(0); append32(0); append32(65_535); append32(1)
    }

    mutating func add(_ frame: [UInt8]) {
        time += 10_000
        append32(UInt32(time / 1_000_000_000)); append32(UInt32(time % 1_000_000_000 / 1000))
        append32(UInt32(frame.count)); append32(UInt32(frame.count))
        bytes += frame
    }

    private mutating func append16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private mutating func append32(_ value: UInt32) { bytes += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// Sends `payload` from one side in segments of at most 1460 bytes.
func send(_ payload: [UInt8], fromClient: Bool, on builder: inout FrameBuilder, into writer: inout PcapWriter) {
    var offset = 0
    while offset < payload.count {
        let end = min(offset + 1460, payload.count)
        writer.add(builder.segment(fromClient: fromClient, Array(payload[offset..<end])))
        offset = end
    }
}

/// The mixed traffic: about 50 MB of payload over 600 connections and 4,000 datagrams.
func generate() -> [UInt8] {
    var writer = PcapWriter()
    var random = SplitMix64(seed: 7)
    var port: UInt16 = 30_000
    func connection(serverPort: UInt16) -> FrameBuilder {
        var builder = FrameBuilder()
        port &+= 1
        builder.client.port = port
        builder.server.port = serverPort
        return builder
    }
    let body = (0..<65_536).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    for index in 0..<300 {
        var http = connection(serverPort: 80)
        for frame in http.open() { writer.add(frame) }
        let uri = index % 50 == 0 ? "/item?id=1%20UNION%20ALL%20SELECT%20NULL,user()--" : "/catalog/page/\(index)?sort=price"
        send(Array("GET \(uri) HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n".utf8), fromClient: true, on: &http, into: &writer)
        let size = 8192 + Int(random.next() % 57_344)
        send(Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(size)\r\n\r\n".utf8) + body[..<size], fromClient: false, on: &http, into: &writer)
    }
    for _ in 0..<100 {
        var tls = connection(serverPort: 443)
        for frame in tls.open() { writer.add(frame) }
        send(SamplePayloads.clientHello(serverName: "api.example.com"), fromClient: true, on: &tls, into: &writer)
        for _ in 0..<16 { send([0x17, 3, 3, 0x40, 0] + body[..<16_384], fromClient: false, on: &tls, into: &writer) }
    }
    for session in 0..<50 {
        var mysql = connection(serverPort: 3306)
        for frame in mysql.open() { writer.add(frame) }
        send(SamplePayloads.mysqlGreeting, fromClient: false, on: &mysql, into: &writer)
        send(SamplePayloads.mysqlLogin(user: "shop"), fromClient: true, on: &mysql, into: &writer)
        send(SamplePayloads.mysqlPacket(sequence: 2, [0, 0, 0, 2, 0, 0, 0]), fromClient: false, on: &mysql, into: &writer)
        for query in 0..<20 {
            let text = session == 0 && query == 0 ? "SELECT name FROM items WHERE id=1 AND SLEEP(5)" : "SELECT id, name, price FROM items WHERE category = \(query) LIMIT 50"
            send(SamplePayloads.mysqlQuery(text), fromClient: true, on: &mysql, into: &writer)
            for packet in 0..<8 { send(SamplePayloads.mysqlPacket(sequence: UInt8(packet + 1), Array(body[..<1020])), fromClient: false, on: &mysql, into: &writer) }
        }
    }
    for index in 0..<2000 {
        let dns = connection(serverPort: 53)
        let name = index % 100 == 0 ? "xmr.nanopool.org" : "service-\(index % 40).internal.example"
        writer.add(dns.datagram(fromClient: true, SamplePayloads.dns(name)))
        writer.add(dns.datagram(fromClient: false, SamplePayloads.dns(name, response: true)))
    }
    return writer.bytes
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: packets-bench PCAP [PASSES]") }
let path = arguments[1]
let passes = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
if access(path, F_OK) != 0 {
    let bytes = generate()
    if let error = replaceFileAtomically(path, with: bytes) { fail("\(error)") }
}
let ruleSet: RuleSet
do { ruleSet = try RuleLoader.load(paths: ["rules"]) } catch { fail("the stock rules do not load: \(error)") }

var rates: [Double] = []
var summary = ""
for _ in 0..<passes {
    let engine = Engine(rules: ruleSet.rules.map(\.freshCopy))
    let dissector = TrafficDissector()
    var waiting = MessageQueue(limit: 100_000)
    var lastDelivery: UInt64 = 0
    var payload = 0
    var messages = 0
    var alerts = 0
    let handle: PcapHandle
    do { handle = try PcapHandle.file(path: path) } catch { fail("\(error)") }
    let linkType = handle.linkType
    handle.setHandler { bytes, time, _ in
        if case .segment(let segment) = Frame.decode(bytes, linkType: linkType) { payload += segment.payloadLength }
        dissector.frame(bytes, linkType: linkType, time: time) { message in
            messages += 1
            let event = PcapSensor.event(for: message, time: time, container: "bench", containerAddress: FrameBuilder.serverLink)
            waiting.add(event, sighting: MessageQueue.Sighting(flow: message.flow, message: message.message), capture: 1, due: time &+ 50_000_000)
        }
        // The sensor hands over what is due at each wake-up, every 10 ms at most.
        if time &- lastDelivery >= 10_000_000 {
            lastDelivery = time
            _ = waiting.deliver(before: time) { engine.process($0) { _ in alerts += 1 } }
        }
    }
    let start = now()
    do { while try handle.dispatch() != nil {} } catch { fail("\(error)") }
    _ = waiting.deliver(before: .max) { engine.process($0) { _ in alerts += 1 } }
    let seconds = Double(now() - start) / 1e9
    rates.append(Double(payload) * 8 / seconds / 1e9)
    summary = "\(dissector.counters.frames) frames, \(payload) payload bytes, \(messages) messages, \(alerts) alerts, "
        + "\(dissector.counters.malformed) malformed, \(dissector.counters.streamsAbandoned) streams given up"
}
rates.sort()
print("packets-bench: \(path): \(summary)")
print("packets-bench: \(decimal(rates[rates.count / 2], digits: 2)) Gbit/s of payload (median of \(passes) passes; "
      + "slowest \(decimal(rates.first!, digits: 2)), fastest \(decimal(rates.last!, digits: 2)))")
