/* The per-CPU batch of system calls (see syscalls.bpf.c), shared with process.bpf.c, which sends
 * the batch before a process's exit record so that the process's calls reach user space while it
 * is still in the process table. */
#ifndef SENTINEL_SYSCALL_BATCH_BPF_H
#define SENTINEL_SYSCALL_BATCH_BPF_H

#include "common.bpf.h"

/* Written by syscalls.bpf.c (each call) and by process.bpf.c (sent at exit); read by them only.
 * The program can be preempted on PREEMPT kernels, and another task on the same CPU may then add
 * to the same batch; the count is clamped so that this can reorder or overwrite a call, never
 * overflow. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_syscalls);
} syscall_batches SEC(".maps");

static __always_inline struct sentinel_syscalls *current_syscall_batch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&syscall_batches, &zero);
}

/* Sends the batch (if it holds any call), counted per call. */
static __always_inline void send_syscall_batch(struct sentinel_syscalls *batch, __u64 cgroup_id)
{
	if (batch->count == 0)
		return;
	batch->header.kind = SENTINEL_RECORD_SYSCALLS;
	batch->header.cgroup_id = cgroup_id;
	long status = bpf_ringbuf_output(&events, batch, sizeof(*batch), wakeup_flag());
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
}

#endif
