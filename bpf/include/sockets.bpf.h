/* What syscall_results.bpf.c and tcp.bpf.c share about sockets. */
#ifndef SENTINEL_SOCKETS_BPF_H
#define SENTINEL_SOCKETS_BPF_H

#include "common.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Written by syscall_results.bpf.c at connect and accept (the socket's owner, with flags holding
 * `outbound`); read and deleted by tcp.bpf.c when the connection closes, which often happens in
 * softirq context where the owner is not the current task. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sentinel_header);
} tcp_owners SEC(".maps");

/* The socket's family, protocol, ports and addresses, local and remote. */
static __always_inline void read_endpoints(struct sentinel_socket *record, struct sock *sk)
{
	record->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	record->protocol = BPF_CORE_READ(sk, sk_protocol);
	record->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	record->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (record->family == AF_INET) {
		BPF_CORE_READ_INTO(record->local_addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(record->remote_addr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(record->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(record->remote_addr, sk, __sk_common.skc_v6_daddr);
	}
}

#endif
