import CPcap
import Packets

#if canImport(Glibc)
import Glibc
#endif

public struct PcapError: Error, CustomStringConvertible {
    public let description: String
}

/// One libpcap capture, live on an interface or from a pcap file. Frames go to `onFrame`, set
/// once, so that reading allocates nothing per frame.
public final class PcapHandle {
    /// A frame's bytes as captured, its capture time in nanoseconds since the epoch, and its
    /// length on the wire (more than the bytes when the snap length cut it).
    public typealias FrameHandler = (UnsafeRawBufferPointer, UInt64, Int) -> Void

    private let handle: OpaquePointer
    public let linkType: LinkType
    public let label: String
    private var onFrame: FrameHandler = { _, _, _ in }

    private init(handle: OpaquePointer, label: String) throws(PcapError) {
        let link = pcap_datalink(handle)
        guard let linkType = LinkType(rawValue: link) else {
            pcap_close(handle)
            throw PcapError(description: "\(label): link type \(link) is not read (Ethernet, raw IP and Linux cooked captures are)")
        }
        self.handle = handle
        self.linkType = linkType
        self.label = label
    }

    deinit { pcap_close(handle) }

    /// Captures on `interface` without promiscuous mode (a veth sees only its container's
    /// traffic anyway), in blocks the kernel hands over every `timeoutMilliseconds` at most.
    public static func live(interface: String, snapLength: Int32, bufferBytes: Int32, filter: String?,
                            timeoutMilliseconds: Int32 = 10) throws(PcapError) -> PcapHandle {
        var error = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(interface, &error) else {
            throw PcapError(description: "cannot capture on \(interface): \(errorText(error))")
        }
        pcap_set_snaplen(handle, snapLength)
        pcap_set_promisc(handle, 0)
        pcap_set_timeout(handle, timeoutMilliseconds)
        pcap_set_buffer_size(handle, bufferBytes)
        let status = pcap_activate(handle)
        if status < 0 {
            let message = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw PcapError(description: "cannot capture on \(interface): \(message)")
        }
        let capture = try PcapHandle(handle: handle, label: interface)
        if let filter { try capture.apply(filter: filter) }
        guard pcap_setnonblock(handle, 1, &error) == 0 else {
            throw PcapError(description: "\(interface): cannot read without blocking: \(errorText(error))")
        }
        return capture
    }

    public static func file(path: String) throws(PcapError) -> PcapHandle {
        var error = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline(path, &error) else {
            throw PcapError(description: "cannot read \(path): \(errorText(error))")
        }
        return try PcapHandle(handle: handle, label: path)
    }

    private func apply(filter: String) throws(PcapError) {
        var program = pcap_bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError(description: "the capture filter \"\(filter)\" does not compile: \(String(cString: pcap_geterr(handle)))")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw PcapError(description: "\(label): cannot set the capture filter: \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// A descriptor to poll for frames (live captures).
    public var selectableDescriptor: Int32 { pcap_get_selectable_fd(handle) }

    public func setHandler(_ handler: @escaping FrameHandler) {
        onFrame = handler
    }

    /// Hands every frame buffered now to the handler; how many, or nil at the end of a file.
    public func dispatch() throws(PcapError) -> Int? {
        let context = Unmanaged.passUnretained(self).toOpaque()
        let count = pcap_dispatch(handle, -1, { user, header, bytes in
            guard let user, let header, let bytes else { return }
            let capture = Unmanaged<PcapHandle>.fromOpaque(user).takeUnretainedValue()
            let time = UInt64(header.pointee.ts.tv_sec) * 1_000_000_000 + UInt64(header.pointee.ts.tv_usec) * 1000
            capture.onFrame(UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen)), time, Int(header.pointee.len))
        }, context.assumingMemoryBound(to: UInt8.self))
        if count == PCAP_ERROR_BREAK || (count == 0 && isFile) { return nil }
        guard count >= 0 else { throw PcapError(description: "\(label): \(String(cString: pcap_geterr(handle)))") }
        return Int(count)
    }

    private var isFile: Bool { pcap_get_selectable_fd(handle) < 0 || pcap_file(handle) != nil }

    /// The kernel's counts: frames received by the filter, and dropped for want of buffer space.
    public func kernelCounts() -> (received: UInt64, dropped: UInt64)? {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return (UInt64(stats.ps_recv), UInt64(stats.ps_drop) + UInt64(stats.ps_ifdrop))
    }
}

/// libpcap's error buffer as text.
private func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
