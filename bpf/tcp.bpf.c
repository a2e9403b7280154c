/* TCP connections' end: when a socket sentinel saw connect or accept reaches TCP_CLOSE, report it
 * with the kernel's own per-connection counters (bytes and segments each way): the per-packet view
 * without a per-packet event. */
#include "include/sockets.bpf.h"

#define TCP_CLOSE 7

/* inet_sock_set_state(const struct sock *sk, int oldstate, int newstate) */
SEC("raw_tracepoint/inet_sock_set_state")
int on_tcp_state(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[2] != TCP_CLOSE)
		return 0;
	struct sock *sk = (struct sock *)ctx->args[0];
	__u64 key = (__u64)sk;
	struct sentinel_socket *opened = bpf_map_lookup_elem(&tcp_connections, &key);
	if (!opened)
		return 0;
	struct sentinel_socket *record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	count_record(SENTINEL_RECORD_TCP_CLOSE, record == 0);
	if (!record) {
		bpf_map_delete_elem(&tcp_connections, &key);
		return 0;
	}
	*record = *opened;
	record->header.kind = SENTINEL_RECORD_TCP_CLOSE;
	record->header.flags = 0;
	record->header.boot_ns = bpf_ktime_get_boot_ns();
	record->result = 0;
	struct tcp_sock *tcp = (struct tcp_sock *)sk;
	record->bytes_in = BPF_CORE_READ(tcp, bytes_received);
	record->bytes_out = BPF_CORE_READ(tcp, bytes_sent);
	record->segments_in = BPF_CORE_READ(tcp, segs_in);
	record->segments_out = BPF_CORE_READ(tcp, segs_out);
	bpf_map_delete_elem(&tcp_connections, &key);
	submit_record(record);
	return 0;
}
