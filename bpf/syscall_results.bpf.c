/* What open, openat, openat2, connect, accept, accept4 and listen returned, read at sys_exit: one
 * program for every system call whose result a rule reads. The arguments are still in the saved
 * registers at exit, and reading the path there sees what the kernel used, not what a racing
 * thread wrote before the call. */
#include "include/sockets.bpf.h"
#include "include/paths.bpf.h"

#define NR_OPEN 2
#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_LISTEN 50
#define NR_OPENAT 257
#define NR_ACCEPT4 288
#define NR_OPENAT2 437

#define EINPROGRESS 115

struct open_how {
	__u64 flags;
} CORE;

static __always_inline void report_open(struct pt_regs *regs, long nr, long result, __u64 cgroup_id, __u32 flags)
{
	struct sentinel_open *record = reserve_record(SENTINEL_RECORD_OPEN, sizeof(*record), cgroup_id, flags);
	if (!record)
		return;
	const char *path;
	if (nr == NR_OPEN) {
		path = (const char *)BPF_CORE_READ(regs, di);
		record->open_flags = BPF_CORE_READ(regs, si);
		record->dirfd = -100; /* AT_FDCWD */
	} else {
		record->dirfd = BPF_CORE_READ(regs, di);
		path = (const char *)BPF_CORE_READ(regs, si);
		if (nr == NR_OPENAT2) {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)BPF_CORE_READ(regs, dx));
			record->open_flags = how.flags;
		} else {
			record->open_flags = BPF_CORE_READ(regs, dx);
		}
	}
	record->syscall_nr = nr;
	record->result = result;
	record->reserved = 0;
	long path_len = bpf_probe_read_user_str(record->path, sizeof(record->path), path);
	record->path_len = path_len > 0 ? path_len - 1 : 0;
	if (path_len == sizeof(record->path))
		record->header.flags |= SENTINEL_FLAG_PATH_TRUNCATED;
	/* `cd /etc && cat shadow` opens "shadow": the directory it starts from makes it /etc/shadow. */
	record->base_len = path_len > 1 && record->path[0] != '/' ? write_base_directory(record->dirfd, record->base) : -1;
	submit_record(record);
}

static __always_inline struct sock *socket_of(int fd)
{
	struct file *file = file_of(fd);
	if (!file)
		return 0;
	struct socket *socket = BPF_CORE_READ(file, private_data);
	return socket ? BPF_CORE_READ(socket, sk) : 0;
}

static __always_inline void report_socket(struct pt_regs *regs, long nr, long result, __u64 cgroup_id, __u32 flags)
{
	int fd = nr == NR_ACCEPT || nr == NR_ACCEPT4 ? result : BPF_CORE_READ(regs, di);
	if ((nr == NR_ACCEPT || nr == NR_ACCEPT4) && result < 0)
		return; /* nothing was accepted: a non-blocking accept with no connection waiting */
	struct sock *sk = socket_of(fd);
	if (!sk)
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return; /* unix sockets and netlink are not connections to anywhere */
	__u32 kind = nr == NR_CONNECT ? SENTINEL_RECORD_CONNECT : nr == NR_LISTEN ? SENTINEL_RECORD_LISTEN : SENTINEL_RECORD_ACCEPT;
	struct sentinel_socket *record = reserve_record(kind, sizeof(*record), cgroup_id, flags);
	if (!record)
		return;
	record->result = result;
	read_endpoints(record, sk);
	record->outbound = kind == SENTINEL_RECORD_CONNECT;
	int tracked = record->protocol == IPPROTO_TCP && kind != SENTINEL_RECORD_LISTEN && (result == 0 || result == -EINPROGRESS || kind == SENTINEL_RECORD_ACCEPT);
	if (tracked) {
		__u64 key = (__u64)sk;
		bpf_map_update_elem(&tcp_connections, &key, record, BPF_ANY);
	}
	submit_record(record);
}

/* sys_exit(struct pt_regs *regs, long ret) */
SEC("raw_tracepoint/sys_exit")
int on_syscall_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = BPF_CORE_READ(regs, orig_ax);
	int is_open = nr == NR_OPEN || nr == NR_OPENAT || nr == NR_OPENAT2;
	int is_socket = nr == NR_CONNECT || nr == NR_ACCEPT || nr == NR_ACCEPT4 || nr == NR_LISTEN;
	if (!(is_open && sentinel_config.want_opens) && !(is_socket && sentinel_config.want_sockets))
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	long result = ctx->args[1];
	if (is_open)
		report_open(regs, nr, result, cgroup_id, flags);
	else
		report_socket(regs, nr, result, cgroup_id, flags);
	return 0;
}
