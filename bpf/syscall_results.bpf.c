/* What system calls returned, read at their exit by one program: opens (path and flags), connect,
 * accept and listen (the connection), and the calls of the capture table (their arguments). The
 * arguments are still in the saved registers at exit, and a path read there is the one the kernel
 * used, not what a racing thread wrote before the call. Every system call of the machine runs this
 * program, so a call no rule reads costs one bit test in .rodata and nothing more: one program,
 * not one per kind of call, and tp_btf to read the registers without a probe read. */
#include "include/sockets.bpf.h"
#include "include/paths.bpf.h"
#include <bpf/bpf_tracing.h>

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
	__u64 mode;
} CORE;

static __always_inline void report_open(struct pt_regs *regs, long nr, long result, __u64 cgroup_id, __u32 flags)
{
	struct sentinel_open *record = reserve_record(SENTINEL_RECORD_OPEN, sizeof(*record), cgroup_id, flags);
	if (!record)
		return;
	const char *path;
	if (nr == NR_OPEN) {
		path = (const char *)regs->di;
		record->open_flags = regs->si;
		record->mode = regs->dx;
		record->dirfd = -100; /* AT_FDCWD */
	} else {
		record->dirfd = regs->di;
		path = (const char *)regs->si;
		if (nr == NR_OPENAT2) {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)regs->dx);
			record->open_flags = how.flags;
			record->mode = how.mode;
		} else {
			record->open_flags = regs->dx;
			record->mode = regs->r10; /* the fourth argument, in the system call's convention */
		}
	}
	record->syscall_nr = nr;
	record->result = result;
	long path_len = bpf_probe_read_user_str(record->path, sizeof(record->path), path);
	record->path_len = path_len > 0 ? path_len - 1 : 0;
	if (path_len == sizeof(record->path))
		record->header.flags |= SENTINEL_FLAG_PATH_TRUNCATED;
	/* `cd /etc && cat shadow` opens "shadow": the directory it starts from makes it /etc/shadow. */
	record->base_len = path_len > 1 && record->path[0] != '/' ? write_base_directory(record->dirfd, record->base) : -1;
	submit_record(record);
}

#define S_IFMT 0170000
#define S_IFSOCK 0140000

static __always_inline struct sock *socket_in(struct file *file)
{
	struct socket *socket = BPF_CORE_READ(file, private_data);
	return socket ? BPF_CORE_READ(socket, sk) : 0;
}

static __always_inline struct sock *socket_of(int fd)
{
	struct file *file = file_of(fd);
	return file ? socket_in(file) : 0;
}

/* What is open at `fd`: the inode's mode and number, a socket's ends, a file's path (sockets and
 * pipes have none worth the walk). */
static __always_inline void describe_descriptor(int fd, struct sentinel_fd *out)
{
	out->num = fd;
	out->mode = 0;
	out->ino = 0;
	out->name_len = -1;
	__builtin_memset(&out->ends, 0, sizeof(out->ends));
	struct file *file = file_of(fd);
	if (!file)
		return;
	out->mode = BPF_CORE_READ(file, f_inode, i_mode);
	out->ino = BPF_CORE_READ(file, f_inode, i_ino);
	if ((out->mode & S_IFMT) == S_IFSOCK) {
		struct sock *sk = socket_in(file);
		if (sk)
			read_endpoints(&out->ends, sk);
		return;
	}
	out->name_len = write_task_path(&file->f_path, out->name);
}

static __always_inline void report_socket(struct pt_regs *regs, long nr, long result, __u64 cgroup_id, __u32 flags)
{
	int fd = nr == NR_ACCEPT || nr == NR_ACCEPT4 ? result : regs->di;
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
	read_endpoints(&record->ends, sk);
	record->outbound = kind == SENTINEL_RECORD_CONNECT;
	int tracked = record->ends.protocol == IPPROTO_TCP && kind != SENTINEL_RECORD_LISTEN && (result == 0 || result == -EINPROGRESS || kind == SENTINEL_RECORD_ACCEPT);
	const struct sentinel_settings *settings = current_settings();
	if (tracked && settings && settings->track_connections) {
		__u64 key = (__u64)sk;
		bpf_map_update_elem(&tcp_connections, &key, record, BPF_ANY);
	}
	submit_record(record);
}

/* Written by user space (Probes, from the CapturedCall rows the rules need) before the program
 * runs; read here at the exit of each captured call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_CALL_NUMBERS);
	__type(key, __u32);
	__type(value, struct sentinel_call_spec);
} call_specs SEC(".maps");

/* Whether a rule could want this call: its filtered value is one the rules ask for. */
static __always_inline int wanted_call(const struct sentinel_call_spec *spec, struct pt_regs *regs, long result)
{
	__s8 slot = spec->filter_slot;
	if (slot == SENTINEL_CALL_NO_FILTER)
		return 1;
	__s64 value;
	switch (slot) {
	case 0: value = regs->di; break;
	case 1: value = regs->si; break;
	case 2: value = regs->dx; break;
	case 3: value = regs->r10; break;
	case 4: value = regs->r8; break;
	case 5: value = regs->r9; break;
	default: value = result; break;
	}
	/* The kernel reads an int argument's low 32 bits: so must the filter, or set high bits would
	 * carry a call past it. */
	if (spec->filter_width == SENTINEL_CALL_WIDTH_INT)
		value = (__s32)value;
	else if (spec->filter_width == SENTINEL_CALL_WIDTH_UINT)
		value = (__u32)value;
	for (int i = 0; i < SENTINEL_CALL_FILTER_VALUES; i++)
		if (i < spec->filter_count && spec->filter_values[i] == value)
			return 1;
	return 0;
}

static __always_inline void report_call(struct pt_regs *regs, __u32 nr, long result, __u64 cgroup_id, __u32 flags)
{
	struct sentinel_call_spec *spec = bpf_map_lookup_elem(&call_specs, &nr);
	if (!spec || !spec->captured || !wanted_call(spec, regs, result))
		return;
	struct sentinel_call *record = reserve_record(SENTINEL_RECORD_CALL, sizeof(*record), cgroup_id, flags);
	if (!record)
		return;
	record->nr = nr;
	record->result = result;
	record->reserved = 0;
	bpf_get_current_comm(record->comm, sizeof(record->comm));
	record->args[0] = regs->di;
	record->args[1] = regs->si;
	record->args[2] = regs->dx;
	record->args[3] = regs->r10;
	record->args[4] = regs->r8;
	record->args[5] = regs->r9;
	__u32 strings = spec->strings;
	__u32 slot = 0;
	/* Per string slot that is a relative path: the directory descriptor it starts from. */
	int relative_to[SENTINEL_CALL_BASES] = {};
	int relative[SENTINEL_CALL_BASES] = {};
	for (int i = 0; i < SENTINEL_CALL_STRINGS; i++)
		record->string_lengths[i] = -1;
	for (int i = 0; i < SENTINEL_CALL_BASES; i++)
		record->base_lengths[i] = -1;
	for (int i = 0; i < SENTINEL_CALL_ARGS; i++) {
		if (!(strings & (1u << i)))
			continue;
		if (slot >= SENTINEL_CALL_STRINGS)
			break;
		long length = bpf_probe_read_user_str(record->strings[slot], SENTINEL_PATH_MAX, (const void *)record->args[i]);
		record->string_lengths[slot] = length > 0 ? length - 1 : -1;
		if (length == SENTINEL_PATH_MAX)
			record->header.flags |= SENTINEL_FLAG_PATH_TRUNCATED;
		__s8 base = spec->base[i];
		if (length > 1 && record->strings[slot][0] != '/' && base != SENTINEL_CALL_NOT_PATH && slot < SENTINEL_CALL_BASES) {
			relative[slot] = 1;
			relative_to[slot] = base == SENTINEL_CALL_CWD ? AT_FDCWD : (int)record->args[base & 7];
		}
		slot++;
	}
	/* A relative path: the directory it starts from, as the kernel resolves it. */
	if (relative[0])
		record->base_lengths[0] = write_base_directory(relative_to[0], record->bases[0]);
	if (relative[1])
		record->base_lengths[1] = write_base_directory(relative_to[1], record->bases[1]);
	record->address_len = 0;
	record->reserved_address = 0;
	__s8 address = spec->address;
	if (address >= 0) {
		const void *pointer = (const void *)record->args[address & 7];
		/* msg_name is the first member of a struct msghdr. */
		if (spec->address_in_header && (!pointer || bpf_probe_read_user(&pointer, sizeof(pointer), pointer) != 0))
			pointer = 0;
		/* A sockaddr_in6 is 28 bytes; a sockaddr_in of 16 may end a page. */
		if (pointer && bpf_probe_read_user(record->address, 28, pointer) == 0)
			record->address_len = 28;
		else if (pointer && bpf_probe_read_user(record->address, 16, pointer) == 0)
			record->address_len = 16;
	}
	__s8 descriptor = spec->descriptor;
	if (descriptor >= 0)
		describe_descriptor((int)record->args[descriptor & 7], &record->fd);
	else
		record->fd.num = -1;
	record->credentials.valid = spec->credentials;
	if (spec->credentials) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		/* Not const: BPF_CORE_READ's temporaries take the pointee's qualifiers. */
		struct cred *cred = (struct cred *)BPF_CORE_READ(task, cred);
		record->credentials.uid = BPF_CORE_READ(cred, uid.val);
		record->credentials.euid = BPF_CORE_READ(cred, euid.val);
		record->credentials.gid = BPF_CORE_READ(cred, gid.val);
		record->credentials.cap_effective = BPF_CORE_READ(cred, cap_effective.val);
		record->credentials.cap_permitted = BPF_CORE_READ(cred, cap_permitted.val);
	}
	submit_record(record);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_syscall_exit, struct pt_regs *regs, long result)
{
	__u32 nr = regs->orig_ax;
	/* The mask as well as the bound: the verifier must see the index stay inside the array. */
	const struct sentinel_settings *settings = current_settings();
	if (!settings || nr >= SENTINEL_CALL_NUMBERS || !((settings->exit_numbers[(nr / 64) & (SENTINEL_CALL_NUMBERS / 64 - 1)] >> (nr % 64)) & 1))
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	/* A 32-bit program's number is i386's and its arguments are in other registers: read as
	 * x86_64's it would be another call (i386's ptrace is x86_64's msync, its ioperm x86_64's
	 * ptrace). Not captured until the capture has an i386 table of its own (README, Limits). */
	if (in_compat_syscall())
		return 0;
	if (nr == NR_OPEN || nr == NR_OPENAT || nr == NR_OPENAT2)
		report_open(regs, nr, result, cgroup_id, flags);
	else if (nr == NR_CONNECT || nr == NR_ACCEPT || nr == NR_ACCEPT4 || nr == NR_LISTEN)
		report_socket(regs, nr, result, cgroup_id, flags);
	else
		report_call(regs, nr, result, cgroup_id, flags);
	return 0;
}
