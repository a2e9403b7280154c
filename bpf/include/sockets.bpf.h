/* What syscall_results.bpf.c and tcp.bpf.c share about sockets. */
#ifndef SENTINEL_SOCKETS_BPF_H
#define SENTINEL_SOCKETS_BPF_H

#include "common.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Written by syscall_results.bpf.c at connect and accept, only when closes are wanted (the tcp
 * family is loaded: sentinel_settings.track_connections), as the record was sent: the owner and the
 * 4-tuple. Read and deleted by tcp.bpf.c when the connection closes, which often happens in
 * softirq context where the owner is not the current task, and after the kernel has cleared the
 * local port. LRU: a socket whose close was never seen is forgotten, not kept forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sentinel_socket);
} tcp_connections SEC(".maps");

/* The socket's family, protocol, ports and addresses, local and remote. */
static __always_inline void read_endpoints(struct sentinel_endpoints *record, struct sock *sk)
{
	record->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	record->protocol = BPF_CORE_READ(sk, sk_protocol);
	record->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	record->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* The addresses are arrays: say how many bytes to read (BPF_CORE_READ_INTO would read one). */
	__builtin_memset(record->local_addr, 0, sizeof(record->local_addr));
	__builtin_memset(record->remote_addr, 0, sizeof(record->remote_addr));
	if (record->family == AF_INET) {
		bpf_core_read(record->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(record->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(record->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(record->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

#endif
