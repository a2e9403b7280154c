/* Every system call of every watched cgroup, as compact (cgroup, tid, number) records, for the
 * anomaly detector. One ring-buffer record per call would cost more than the call itself, so calls
 * gather in a per-CPU batch that is sent when full (or when it has waited too long), without
 * waking the reader: user space polls on a timer. Attached only when a rule needs system calls. */
#include "include/common.bpf.h"

/* A batch waits at most this long for the next call before it is sent. */
#define BATCH_MAX_AGE_NS (50 * 1000 * 1000ULL)

/* Written and read only here: the batch each CPU is filling. The program can be preempted on
 * PREEMPT kernels, and another task on the same CPU may then add to the same batch; the count is
 * clamped so that this can reorder or overwrite a call, never overflow. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_syscalls);
} syscall_batches SEC(".maps");

/* sys_enter(struct pt_regs *regs, long id) */
SEC("raw_tracepoint/sys_enter")
int on_syscall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	__u32 zero = 0;
	struct sentinel_syscalls *batch = bpf_map_lookup_elem(&syscall_batches, &zero);
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

	batch->header.kind = SENTINEL_RECORD_SYSCALLS;
	batch->header.cgroup_id = cgroup_id;
	long status = bpf_ringbuf_output(&events, batch, sizeof(*batch), BPF_RB_NO_WAKEUP);
	__u32 kind = SENTINEL_RECORD_SYSCALLS;
	struct sentinel_counter *counter = bpf_map_lookup_elem(&record_counters, &kind);
	if (counter) {
		/* Counted in calls, not batches, so that the figures speak of system calls. */
		counter->produced += batch->count;
		if (status != 0)
			counter->dropped += batch->count;
	}
	batch->count = 0;
	batch->header.flags = 0;
	return 0;
}
