import CLibbpf

/// What the sensor counted, per record kind, against what the kernel says it produced.
struct RecordCounters {
    var receivedByKind = [UInt64](repeating: 0, count: Int(SENTINEL_RECORD_KIND_COUNT.rawValue))
    var kernel: [sentinel_counter] = []
    var delivered: UInt64 = 0
    var malformed: UInt64 = 0
    /// Received, and not made events: their cgroup is the host's.
    var systemCallsPassedOver: UInt64 = 0

    /// `count` records of `kind` arrived (system calls are counted one by one, not by batch).
    mutating func received(kind: UInt32, count: UInt64 = 1) {
        if kind < receivedByKind.count { receivedByKind[Int(kind)] += count }
    }

    var kernelDropped: UInt64 { kernel.reduce(0) { $0 + $1.dropped } }

    var statistics: SensorStatistics {
        SensorStatistics(delivered: delivered, dropped: kernelDropped + malformed)
    }

    /// "exec 120/120/0 fork ..." as produced/received/dropped, for the kinds that saw any.
    var summary: String {
        var parts: [String] = []
        for kind in 1..<receivedByKind.count {
            let produced = kind < kernel.count ? kernel[kind].produced : 0
            let dropped = kind < kernel.count ? kernel[kind].dropped : 0
            guard produced > 0 || receivedByKind[kind] > 0 else { continue }
            parts.append("\(RecordDecoder.kindName(UInt32(kind))) \(produced)/\(receivedByKind[kind])/\(dropped)")
        }
        let perKind = parts.isEmpty ? "no records" : parts.joined(separator: ", ")
        let passedOver = systemCallsPassedOver > 0 ? ", \(systemCallsPassedOver) system calls passed over (the host's)" : ""
        return "records produced/received/dropped: \(perKind); \(delivered) events delivered\(passedOver), \(malformed) malformed"
    }
}
