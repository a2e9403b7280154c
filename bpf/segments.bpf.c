/* The opt-in per-segment view of TCP: every segment that a watched container's socket sends or
 * receives, with its 4-tuple, flags, sequence numbers and payload length. cgroup_skb programs on
 * the cgroup v2 root see each packet of every socket below it, in both directions, with the
 * socket's cgroup; they always let the packet through. Attached only when a rule names
 * `segment` events: a busy container sends hundreds of thousands a second. */
#include "include/common.bpf.h"
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PROTOCOL_TCP 6
#define FAMILY_INET 2
#define FAMILY_INET6 10

/* The wire headers, as far as they are read here. */
struct ipv4_header {
	__u8 version_and_length; /* header length in 32-bit words in the low nibble */
	__u8 type_of_service;
	__u16 total_length;
	__u16 id;
	__u16 fragment;
	__u8 ttl;
	__u8 protocol;
	__u16 checksum;
	__u8 source[4];
	__u8 destination[4];
};

struct ipv6_header {
	__u32 version_class_flow;
	__u16 payload_length;
	__u8 next_header; /* segments behind extension headers are not reported */
	__u8 hop_limit;
	__u8 source[16];
	__u8 destination[16];
};

struct tcp_header {
	__u16 source_port;
	__u16 destination_port;
	__u32 sequence;
	__u32 acknowledgement;
	__u8 data_offset; /* header length in 32-bit words in the high nibble */
	__u8 flags;
	__u16 window;
	__u16 checksum;
	__u16 urgent;
};

/* cgroup_skb programs see the packet from its network header on, in both directions. */
static __always_inline void report_segment(struct __sk_buff *skb, __u8 sent)
{
	__u64 cgroup_id = bpf_skb_cgroup_id(skb);
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return;
	struct sentinel_segment segment = { .sent = sent };
	__u32 tcp_offset, ip_payload;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct ipv4_header ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != PROTOCOL_TCP)
			return;
		tcp_offset = (ip.version_and_length & 0x0f) * 4;
		__u32 total = bpf_ntohs(ip.total_length);
		ip_payload = total > tcp_offset ? total - tcp_offset : 0;
		segment.family = FAMILY_INET;
		__builtin_memcpy(segment.source_addr, ip.source, 4);
		__builtin_memcpy(segment.destination_addr, ip.destination, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6_header ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.next_header != PROTOCOL_TCP)
			return;
		tcp_offset = sizeof(ip);
		ip_payload = bpf_ntohs(ip.payload_length);
		segment.family = FAMILY_INET6;
		__builtin_memcpy(segment.source_addr, ip.source, 16);
		__builtin_memcpy(segment.destination_addr, ip.destination, 16);
	} else {
		return;
	}
	struct tcp_header tcp;
	if (bpf_skb_load_bytes(skb, tcp_offset, &tcp, sizeof(tcp)))
		return;
	__u32 tcp_length = (tcp.data_offset >> 4) * 4;
	segment.tcp_flags = tcp.flags;
	segment.source_port = bpf_ntohs(tcp.source_port);
	segment.destination_port = bpf_ntohs(tcp.destination_port);
	segment.sequence = bpf_ntohl(tcp.sequence);
	segment.acknowledgement = bpf_ntohl(tcp.acknowledgement);
	segment.payload_len = ip_payload > tcp_length ? ip_payload - tcp_length : 0;

	struct sentinel_segment *record = reserve_record_of(SENTINEL_RECORD_TCP_SEGMENT, sizeof(*record), cgroup_id, flags, 0);
	if (!record)
		return;
	/* Everything after the header, which reserve_record_of filled. */
	__builtin_memcpy((char *)record + sizeof(record->header), (char *)&segment + sizeof(segment.header),
			 sizeof(segment) - sizeof(segment.header));
	submit_record(record);
}

SEC("cgroup_skb/egress")
int on_segment_sent(struct __sk_buff *skb)
{
	report_segment(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int on_segment_received(struct __sk_buff *skb)
{
	report_segment(skb, 0);
	return 1;
}
