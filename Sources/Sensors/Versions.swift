import CLibbpf
import CPcap

#if canImport(Glibc)
import Glibc
#endif

/// What the sensors run on, for `sentinel version` and a bug report: the C libraries sentinel was
/// linked against as they report themselves at run time, and the kernel.
public enum ComponentVersions {
    public static var libbpf: String { "\(libbpf_major_version()).\(libbpf_minor_version())" }

    /// "1.10.3 (with TPACKET_V3)", from libpcap's "libpcap version 1.10.3 (with TPACKET_V3)".
    public static var libpcap: String {
        let text = String(cString: pcap_lib_version())
        return text.hasPrefix("libpcap version ") ? String(text.dropFirst("libpcap version ".count)) : text
    }

    /// The running kernel's release and machine: "6.18.0 x86_64".
    public static var kernel: String {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(names.release)) \(text(names.machine))"
    }
}
