/* System calls of watched cgroups, two ways.
 *
 * Streamed: compact (cgroup, tid, number) records for signature rules (and for BoSC with windows
 * per container, in user space). One ring-buffer record per call would cost more than the call itself, so calls
 * gather in a per-CPU batch that is sent when full (or when it has waited too long, or when a
 * process exits: see process.bpf.c), without waking the reader: user space polls on a timer.
 *
 * Judged: the Bag of System Calls in the kernel, for containers whose profile is learnt. Each
 * thread's last calls live in task storage with the additive hash of their bag; one hash-map probe
 * tells whether the bag is known. User space hears only of unknown bags (the first few of an epoch)
 * and of epoch verdicts.
 *
 * Trained: the same windows, for containers whose profile is still learning, count their bags in a
 * hash map by profile, with each bag's counts in the last two epochs, so that the similarity of
 * consecutive epochs (which ends a training) is kept up to date per call. User space hears of each
 * epoch's end with its figures, and reads the bags once the training is over.
 *
 * A process the container runtime brings into a watched container from outside (`docker exec`:
 * runc's init, a Go program, joins the cgroup, then executes the image's program) is the runtime's
 * until that exec: its calls there, as many or as few as the scheduler lets fall after the join,
 * are neither judged nor trained on, and its windows start at the exec.
 *
 * Attached only when a rule needs system calls. */
#include "include/syscall_batch.bpf.h"
#include <bpf/bpf_tracing.h>

/* A batch waits at most this long for the next call before it is sent. */
#define BATCH_MAX_AGE_NS (50 * 1000 * 1000ULL)

/* Written by user space (a container's mode, profile and epoch settings, when a BoSC rule decides);
 * the program counts epochs in it. Read by the program on every call of a watched cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sentinel_bosc_container);
} bosc_containers SEC(".maps");

/* Written by user space when it loads a profile: at profile * SENTINEL_BOSC_CALLS + call number,
 * the random value of the call's slot (so one lookup gives what the bag hash adds) and whether
 * training never saw the call. Read by the program per judged call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_BOSC_PROFILES * SENTINEL_BOSC_CALLS);
	__type(key, __u32);
	__type(value, struct sentinel_bosc_call);
} bosc_call_values SEC(".maps");

/* Written by user space (every bag of each loaded profile, and bags learnt later); read by the
 * program once per judged call with a whole window. Allocated as filled: profiles vary in size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, struct sentinel_bosc_bag);
	__type(value, __u8);
} bosc_known SEC(".maps");

/* Written by user space (epoch_length and zeros when a training starts); counted by the program
 * on every call of a training container; read by user space at the program's epoch records. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_BOSC_PROFILES);
	__type(key, __u32);
	__type(value, struct sentinel_bosc_training);
} bosc_trainings SEC(".maps");

/* Written by the program (each whole window of a training container); read by user space when it
 * saves or ends a training, and emptied by it when the training is over. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 18);
	__type(key, struct sentinel_bosc_bag);
	__type(value, struct sentinel_bosc_training_bag);
} bosc_training_bags SEC(".maps");

/* Written by the program (each call of a training container, at profile * SENTINEL_BOSC_CALLS +
 * call number); read and zeroed by user space, as bosc_training_bags. Rare calls are folded into
 * the "other" slot by these counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_BOSC_PROFILES * SENTINEL_BOSC_CALLS);
	__type(key, __u32);
	__type(value, __u64);
} bosc_training_calls SEC(".maps");

/* Written by the cgroup-attach program (a process moved into a cgroup BoSC watches: the runtime's);
 * read by the system-call program when a thread's window starts, and deleted by it once the process
 * has executed the image's program. LRU: a process that exits before its exec leaves an entry that
 * ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} bosc_entering SEC(".maps");

/* Known bags a thread met lately, direct-mapped by the hash's low bits: a program's loops bring
 * the same few bags back, and this spares most of them the hash-map probe. */
#define BOSC_RECENT_BAGS 8

/* A thread's sliding window: its last calls, each call's value, the sum of the values, and how
 * many calls ago the last one training never saw came (it is in the window while under its size). */
struct bosc_window {
	__u64 cgroup_id;
	__u64 hash;
	__u32 generation;
	__u16 next;
	__u16 filled;
	__u16 since_unseen;
	/* Set while the thread belongs to a process the runtime brought in, until it executes: the
	 * exec count it had then. */
	__u16 entering;
	__u32 reserved;
	__u64 entered_exec_id;
	__u64 values[SENTINEL_BOSC_WINDOW_MAX];
	__u16 calls[SENTINEL_BOSC_WINDOW_MAX];
	/* Only known bags, of this generation's profile; profiles only gain bags while loaded. */
	__u64 recent_known[BOSC_RECENT_BAGS];
};

/* Written and read by the program only, per thread; freed by the kernel with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct bosc_window);
} bosc_windows SEC(".maps");

static __always_inline int stream_number_wanted(const struct sentinel_settings *settings, __u32 nr)
{
	return (settings->stream_numbers[(nr / 64) & (SENTINEL_BOSC_CALLS / 64 - 1)] >> (nr % 64)) & 1;
}

static __always_inline void send_unknown_bag(struct sentinel_bosc_container *container, struct bosc_window *window,
					     __u64 cgroup_id, __u64 pid_tgid)
{
	struct sentinel_bosc_unknown_bag *record =
		reserve_record_of(SENTINEL_RECORD_BOSC_UNKNOWN_BAG, sizeof(*record), cgroup_id, 0, pid_tgid);
	if (!record)
		return;
	record->epoch_index = container->epoch_index;
	record->window = container->window;
	__builtin_memcpy(record->calls, window->calls, sizeof(record->calls));
	submit_record(record);
}

static __always_inline void send_epoch(struct sentinel_bosc_container *container, __u64 cgroup_id, __u64 pid_tgid,
				       __u32 calls, __u32 mismatches, __u32 unseen_mismatches, __u32 complete)
{
	struct sentinel_bosc_epoch *record = reserve_record_of(SENTINEL_RECORD_BOSC_EPOCH, sizeof(*record), cgroup_id, 0, pid_tgid);
	if (!record)
		return;
	record->epoch_index = container->epoch_index;
	record->calls = calls;
	record->mismatches = mismatches;
	record->unseen_mismatches = unseen_mismatches;
	record->complete = complete;
	record->reserved = 0;
	submit_record(record);
}

static __always_inline void restart_window(struct bosc_window *window)
{
	window->hash = 0;
	window->next = 0;
	window->filled = 0;
	window->since_unseen = 0x7fff;
	/* Zero is a bag's hash only by a 2^-64 chance: as a marker it at worst costs a probe. */
	__builtin_memset(window->recent_known, 0, sizeof(window->recent_known));
}

/* The thread's window, or 0 if the call is not the image's: its process is the runtime's, brought
 * in from outside and not yet executed. */
static __always_inline struct bosc_window *window_of_current(struct sentinel_bosc_container *container, __u64 cgroup_id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bosc_window *window = bpf_task_storage_get(&bosc_windows, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!window) {
		count_record(SENTINEL_RECORD_BOSC_UNKNOWN_BAG, 1);
		return 0;
	}
	if (window->cgroup_id != cgroup_id || window->generation != container->generation) {
		window->cgroup_id = cgroup_id;
		window->generation = container->generation;
		restart_window(window);
		__u32 tgid = task->tgid;
		window->entering = bpf_map_lookup_elem(&bosc_entering, &tgid) != 0;
		window->entered_exec_id = task->self_exec_id;
	}
	if (window->entering) {
		if (task->self_exec_id == window->entered_exec_id)
			return 0;
		/* The image's program, from its first call. */
		__u32 tgid = task->tgid;
		bpf_map_delete_elem(&bosc_entering, &tgid);
		window->entering = 0;
		restart_window(window);
	}
	return window;
}

/* Slides the thread's window by one call; returns it once it holds a whole bag. */
static __always_inline struct bosc_window *slide(struct sentinel_bosc_container *container, struct bosc_window *window, __u32 nr)
{
	__u32 size = container->window;
	if (size < 2 || size > SENTINEL_BOSC_WINDOW_MAX)
		return 0;
	__u32 index = (container->profile % SENTINEL_BOSC_PROFILES) * SENTINEL_BOSC_CALLS + nr;
	struct sentinel_bosc_call *call = bpf_map_lookup_elem(&bosc_call_values, &index);
	if (!call)
		return 0;
	__u32 next = window->next & (SENTINEL_BOSC_WINDOW_MAX - 1);
	if (window->filled >= size)
		window->hash -= window->values[next];
	else
		window->filled++;
	window->values[next] = call->value;
	window->calls[next] = nr;
	window->hash += call->value;
	window->since_unseen = call->unseen ? 0 : (window->since_unseen < 0x7fff ? window->since_unseen + 1 : 0x7fff);
	window->next = next + 1 >= size ? 0 : next + 1;
	return window->filled >= size ? window : 0;
}

/* Judges the call's bag against the profile. Epoch counters are shared by the container's threads
 * on every CPU: they are added to atomically, and reset by the call that ends the epoch (a call on
 * another CPU in that instant may count in the next epoch). */
static __always_inline void judge(struct sentinel_bosc_container *container, __u64 cgroup_id, __u32 nr)
{
	struct bosc_window *window = window_of_current(container, cgroup_id);
	if (!window)
		return;
	if (slide(container, window, nr)) {
		__u64 *recent = &window->recent_known[window->hash & (BOSC_RECENT_BAGS - 1)];
		struct sentinel_bosc_bag bag = { .profile = container->profile, .hash = window->hash };
		if (*recent == window->hash) {
			/* Known: met lately. */
		} else if (bpf_map_lookup_elem(&bosc_known, &bag)) {
			*recent = window->hash;
		} else {
			__u32 mismatches = __sync_fetch_and_add(&container->mismatches, 1) + 1;
			int holds_unseen = window->since_unseen < container->window;
			__u32 unseen = holds_unseen ? __sync_fetch_and_add(&container->unseen_mismatches, 1) + 1 : container->unseen_mismatches;
			if (mismatches <= SENTINEL_BOSC_KEPT)
				send_unknown_bag(container, window, cgroup_id, bpf_get_current_pid_tgid());
			/* The early verdict, once: when the first of the two thresholds is passed. */
			if ((mismatches == container->threshold + 1 && unseen <= container->new_call_threshold) ||
			    (holds_unseen && unseen == container->new_call_threshold + 1 && mismatches <= container->threshold))
				send_epoch(container, cgroup_id, bpf_get_current_pid_tgid(), container->epoch_calls + 1, mismatches, unseen, 0);
		}
	}
	__u32 calls = __sync_fetch_and_add(&container->epoch_calls, 1) + 1;
	if (calls == container->epoch_length) {
		send_epoch(container, cgroup_id, bpf_get_current_pid_tgid(), calls, container->mismatches, container->unseen_mismatches, 1);
		container->mismatches = 0;
		container->unseen_mismatches = 0;
		container->epoch_calls = 0;
		container->epoch_index++;
	}
}

/* Counts one more of the window's bag in its training profile, as BoSCTrainer counts a bag: the
 * epoch's norm grows by 2c + 1 for a bag already seen c times in it, and the dot product by the
 * bag's count in the previous epoch. A bag's own epoch counts are not atomic: two CPUs counting the
 * same bag in the same instant may lose one, which moves the similarity by a hair. */
static __always_inline void count_training_bag(struct sentinel_bosc_training *training, struct bosc_window *window, __u32 profile)
{
	struct sentinel_bosc_bag key = { .profile = profile, .hash = window->hash };
	__u32 epoch = training->epoch_index;
	struct sentinel_bosc_training_bag *bag = bpf_map_lookup_elem(&bosc_training_bags, &key);
	if (!bag) {
		struct sentinel_bosc_training_bag fresh = { .frequency = 1, .epoch_last_seen = epoch, .in_epoch = 1, .window = window->filled };
		__builtin_memcpy(fresh.calls, window->calls, sizeof(fresh.calls));
		if (bpf_map_update_elem(&bosc_training_bags, &key, &fresh, BPF_NOEXIST) == 0) {
			__sync_fetch_and_add(&training->norm_squared, 1);
			return;
		}
		/* Another CPU added it in this instant, or the map is full. */
		bag = bpf_map_lookup_elem(&bosc_training_bags, &key);
		if (!bag) {
			__sync_fetch_and_add(&training->dropped_bags, 1);
			return;
		}
	}
	if (bag->epoch_last_seen != epoch) {
		bag->in_previous_epoch = bag->epoch_last_seen + 1 == epoch ? bag->in_epoch : 0;
		bag->in_epoch = 0;
		bag->epoch_last_seen = epoch;
	}
	__sync_fetch_and_add(&training->dot, bag->in_previous_epoch);
	__sync_fetch_and_add(&training->norm_squared, 2 * bag->in_epoch + 1);
	bag->in_epoch++;
	__sync_fetch_and_add(&bag->frequency, 1);
}

/* Counts the call and its bag into the container's training profile; the call that ends the epoch
 * sends its figures and rolls them over. */
static __always_inline void train(struct sentinel_bosc_container *container, __u64 cgroup_id, __u32 nr)
{
	__u32 profile = container->profile % SENTINEL_BOSC_PROFILES;
	struct sentinel_bosc_training *training = bpf_map_lookup_elem(&bosc_trainings, &profile);
	if (!training || training->epoch_length == 0)
		return;
	struct bosc_window *window = window_of_current(container, cgroup_id);
	if (!window)
		return;
	__u32 index = profile * SENTINEL_BOSC_CALLS + nr;
	__u64 *count = bpf_map_lookup_elem(&bosc_training_calls, &index);
	if (count)
		__sync_fetch_and_add(count, 1);
	if (slide(container, window, nr))
		count_training_bag(training, window, profile);
	__u32 calls = __sync_fetch_and_add(&training->epoch_calls, 1) + 1;
	if (calls != training->epoch_length)
		return;
	struct sentinel_bosc_training_epoch *record =
		reserve_record_of(SENTINEL_RECORD_BOSC_TRAINING_EPOCH, sizeof(*record), cgroup_id, 0, bpf_get_current_pid_tgid());
	if (record) {
		record->epoch_index = training->epoch_index;
		record->calls = calls;
		record->norm_squared = training->norm_squared;
		record->previous_norm_squared = training->previous_norm_squared;
		record->dot = training->dot;
		record->dropped_bags = training->dropped_bags;
		record->reserved = 0;
		submit_record(record);
	}
	training->previous_norm_squared = training->norm_squared;
	training->norm_squared = 0;
	training->dot = 0;
	training->epoch_calls = 0;
	training->epoch_index++;
}

/* x32 calls (bit 30) and anything past the table share the last number, as in user space. */
static __always_inline __u32 clamped(long id)
{
	return id < 0 || id >= SENTINEL_BOSC_CALLS ? SENTINEL_BOSC_CALLS - 1 : id;
}

/* cgroup_attach_task(struct cgroup *dst_cgrp, const char *path, struct task_struct *task, bool threadgroup):
 * a process moved into a cgroup, as the runtime moves runc's init into a running container. A
 * process inside a container cannot move itself into another cgroup (its cgroup file system is
 * read-only) unless the container is privileged. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach, struct cgroup *dst_cgrp, const char *path, struct task_struct *task, _Bool threadgroup)
{
	__u64 cgroup_id = dst_cgrp->kn->id;
	if (!bpf_map_lookup_elem(&bosc_containers, &cgroup_id))
		return 0;
	__u32 tgid = task->tgid;
	__u8 one = 1;
	bpf_map_update_elem(&bosc_entering, &tgid, &one, BPF_ANY);
	return 0;
}

/* sys_enter(struct pt_regs *regs, long id) */
SEC("raw_tracepoint/sys_enter")
int on_syscall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	long id = ctx->args[1];
	__u32 flags = 0;
	int stream;
	/* An entry is only ever made for a watched cgroup (a container's, or the host's with
	 * --include-host): one lookup. */
	struct sentinel_bosc_container *container = bpf_map_lookup_elem(&bosc_containers, &cgroup_id);
	if (!container && !watched(cgroup_id, &flags))
		return 0;
	const struct sentinel_settings *settings = current_settings();
	if (!settings)
		return 0;
	/* A call no rule names, as either numbering, goes no further: the 32-bit question is asked
	 * only of calls something wants (BoSC judges or trains on every one). */
	if (!container && !settings->stream_undecided && !stream_number_wanted(settings, clamped(id)) &&
	    !stream_number_wanted(settings, clamped(id + SENTINEL_I386_BASE)))
		return 0;
	if (id >= 0 && id < SENTINEL_I386_BASE && in_compat_syscall())
		id += SENTINEL_I386_BASE;
	__u32 nr = clamped(id);
	if (container) {
		if (container->mode & SENTINEL_BOSC_JUDGE)
			judge(container, cgroup_id, nr);
		else if (container->mode & SENTINEL_BOSC_TRAIN)
			train(container, cgroup_id, nr);
		stream = (container->mode & SENTINEL_BOSC_STREAM) || stream_number_wanted(settings, nr);
	} else {
		stream = settings->stream_undecided || stream_number_wanted(settings, nr);
	}
	if (!stream)
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
	batch->calls[index].nr = id;
	batch->count = index + 1;
	batch->header.flags |= flags;
	if (batch->count < SENTINEL_SYSCALL_BATCH && now - batch->header.boot_ns < BATCH_MAX_AGE_NS)
		return 0;

	send_syscall_batch(batch, cgroup_id);
	return 0;
}
