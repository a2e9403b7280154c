/* What every sentinel probe family shares: the ring buffer, the counters, the cgroup verdicts
 * the run's configuration and the settings the rules make. Each family's object defines these maps; user space creates them once
 * (with the first object it loads) and hands the same map to the others (bpf_map__reuse_fd). */
#ifndef SENTINEL_COMMON_BPF_H
#define SENTINEL_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kernel.h"
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct sentinel_config sentinel_config = {};

/* Written by every program (one record per event), read by user space's ring-buffer poller. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Written by every program (produced and dropped per record kind, per CPU), read by user space
 * for the stats line and the drop events. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_RECORD_KIND_COUNT);
	__type(key, __u32);
	__type(value, struct sentinel_counter);
} record_counters SEC(".maps");

/* Written by user space (a verdict per cgroup id once it knows whether it is a container), read
 * by every program to drop the host's events in the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_verdicts SEC(".maps");

/* Written by user space (Probes: at the start, and at each reload that changes what the rules
 * need), read by every program. One entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_settings);
} settings SEC(".maps");

/* The settings in force; NULL only to a verifier that cannot know the array's one entry exists. */
static __always_inline const struct sentinel_settings *current_settings(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&settings, &zero);
}

/* Whether the current task's events are wanted; sets *flags to SENTINEL_FLAG_NEW_CGROUP for a
 * cgroup user space has not classified yet. */
static __always_inline int watched(__u64 cgroup_id, __u32 *flags)
{
	*flags = 0;
	if (sentinel_config.include_host)
		return 1;
	__u32 *verdict = bpf_map_lookup_elem(&cgroup_verdicts, &cgroup_id);
	if (!verdict) {
		*flags = SENTINEL_FLAG_NEW_CGROUP;
		return 1;
	}
	return *verdict == SENTINEL_CGROUP_WATCH;
}

static __always_inline void count_record(__u32 kind, int dropped)
{
	struct sentinel_counter *counter = bpf_map_lookup_elem(&record_counters, &kind);
	if (!counter)
		return;
	counter->produced++;
	if (dropped)
		counter->dropped++;
}

/* Reserves a record of `size` bytes and fills its header for the task `pid_tgid` (0 for none);
 * NULL (counted as dropped) when the ring buffer is full. */
static __always_inline void *reserve_record_of(__u32 kind, __u64 size, __u64 cgroup_id, __u32 flags, __u64 pid_tgid)
{
	struct sentinel_header *header = bpf_ringbuf_reserve(&events, size, 0);
	count_record(kind, header == 0);
	if (!header)
		return 0;
	header->kind = kind;
	header->flags = flags;
	header->pid = pid_tgid >> 32;
	header->tid = (__u32)pid_tgid;
	header->boot_ns = bpf_ktime_get_boot_ns();
	header->cgroup_id = cgroup_id;
	return header;
}

/* How records are sent: without waking user space, which reads the ring every few milliseconds
 * anyway (a wake-up per record costs the traced workload a context switch each: 30% of an exec
 * storm's time here); once the ring is an eighth full, the reader is woken at once, so that a
 * burst does not overflow it. */
static __always_inline __u64 wakeup_flag(void)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return waiting > bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void submit_record(void *record)
{
	bpf_ringbuf_submit(record, wakeup_flag());
}

/* reserve_record_of for the current task. */
static __always_inline void *reserve_record(__u32 kind, __u64 size, __u64 cgroup_id, __u32 flags)
{
	return reserve_record_of(kind, size, cgroup_id, flags, bpf_get_current_pid_tgid());
}

/* x86's TS_COMPAT (arch/x86/include/asm/thread_info.h). */
#define SENTINEL_TS_COMPAT 0x0002

/* Whether the current system call came through the 32-bit entry: its number is i386's (its read
 * is 3, x86_64's close), its arguments in other registers. */
static __always_inline int in_compat_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (!bpf_core_field_exists(task->thread_info.status))
		return 0;
	return BPF_CORE_READ(task, thread_info.status) & SENTINEL_TS_COMPAT;
}

#endif
