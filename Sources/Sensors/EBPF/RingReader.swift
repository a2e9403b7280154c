import CLibbpf

#if canImport(Glibc)
import Glibc
#endif

/// Reads the ring buffer all probes write, record by record, until told to stop; between passes
/// it hands control back (`between`) for what must not wait for a quiet ring: requests, statistics.
final class RingReader {
    /// The longest a record waits in the ring before it is read.
    static let pollMilliseconds: Int32 = 20
    /// The most records read before the loop looks up: libbpf reads on for as long as new records
    /// come, so a container that never stops calling would keep the reader from its requests,
    /// statistics and stop flag (a sentinel that did not stop on SIGINT under such a flood).
    static let recordsPerPass = 16_384
    /// What the record callback returns to end a pass early; libbpf hands it back from the read.
    private static let passFull = -ECANCELED

    private let ring: OpaquePointer
    /// Where libbpf's callback finds this reader: set once the reader exists.
    private let context: UnsafeMutablePointer<Unmanaged<RingReader>?>
    private let onRecord: (UnsafeRawPointer, Int) -> Void
    private var recordsThisPass = 0

    init(ringFD: Int32, onRecord: @escaping (UnsafeRawPointer, Int) -> Void) throws(ProbeError) {
        self.onRecord = onRecord
        let context = UnsafeMutablePointer<Unmanaged<RingReader>?>.allocate(capacity: 1)
        context.initialize(to: nil)
        guard let ring = ring_buffer__new(ringFD, { context, data, size in
            guard let context, let data,
                  let reader = context.assumingMemoryBound(to: Unmanaged<RingReader>?.self).pointee?.takeUnretainedValue() else { return 0 }
            reader.onRecord(UnsafeRawPointer(data), size)
            reader.recordsThisPass += 1
            return reader.recordsThisPass >= RingReader.recordsPerPass ? RingReader.passFull : 0
        }, context, nil) else {
            context.deallocate()
            throw ProbeError(description: "cannot open the events ring buffer: \(String(cString: strerror(errno)))")
        }
        self.ring = ring
        self.context = context
        context.pointee = Unmanaged.passUnretained(self)
    }

    deinit {
        ring_buffer__free(ring)
        context.deallocate()
    }

    /// Reads until `isStopped`, calling `between` after every pass.
    func run(isStopped: () -> Bool, between: () -> Void) throws(ProbeError) {
        while !isStopped() {
            // The kernel wakes us only when the ring is filling up (see wakeup_flag in
            // common.bpf.h); otherwise records wait here at most this long.
            recordsThisPass = 0
            let status = ring_buffer__poll(ring, Self.pollMilliseconds)
            if status < 0 && status != -EINTR && status != Self.passFull {
                throw ProbeError(description: "reading the events ring buffer failed: \(String(cString: strerror(-status)))")
            }
            if status != Self.passFull {
                recordsThisPass = 0
                ring_buffer__consume(ring)
            }
            between()
        }
    }

    /// Reads whatever the ring holds now, to its end (after the producers stopped).
    func drain() {
        repeat { recordsThisPass = 0 } while ring_buffer__consume(ring) == Self.passFull
    }
}
