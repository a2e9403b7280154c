/* Every system call of every watched cgroup, as compact (cgroup, tid, number) records, for the
 * anomaly detector. One ring-buffer record per call would cost more than the call itself, so calls
 * gather in a per-CPU batch that is sent when full (or when it has waited too long, or when a
 * process exits: see process.bpf.c), without waking the reader: user space polls on a timer.
 * Attached only when a rule needs system calls. */
#include "include/syscall_batch.bpf.h"

/* A batch waits at most this long for the next call before it is sent. */
#define BATCH_MAX_AGE_NS (50 * 1000 * 1000ULL)

/* sys_enter(struct pt_regs *regs, long id) */
SEC("raw_tracepoint/sys_enter")
int on_syscall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	struct sentinel_syscalls *batch = current_syscall_batch();
	if (!batch)
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 index = batch->count;
	if (index >= SENTINEL_SYSCALL_BATCH)
		index = 0;
	if (index == 0)
		batch->header.boot_ns = now;
	batch->calls[index].cgroup_id = cgroup_id;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	batch->calls[index].pid = pid_tgid >> 32;
	batch->calls[index].tid = (__u32)pid_tgid;
	batch->calls[index].nr = ctx->args[1];
	batch->count = index + 1;
	batch->header.flags |= flags;
	if (batch->count < SENTINEL_SYSCALL_BATCH && now - batch->header.boot_ns < BATCH_MAX_AGE_NS)
		return 0;

	send_syscall_batch(batch, cgroup_id);
	return 0;
}
