// libpcap, for the pcap sensor: capture on container veths, and read pcap files for tests and
// the replay benchmark.
//
// The kernel's headers, which libbpf brings, define struct bpf_insn and libbpf struct
// bpf_program, each unlike libpcap's; Swift sees every C module of a Swift module at once, so
// libpcap's two take other names here. Only pointers to them cross into libpcap: its ABI is
// unchanged.
#define bpf_insn pcap_bpf_insn
#define bpf_program pcap_bpf_program
#include <pcap/pcap.h>
#undef bpf_insn
#undef bpf_program
