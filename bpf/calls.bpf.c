/* System calls captured with their arguments: one program at every system call's exit reads, for
 * the calls the capture table names, what the table asks (each argument's register, the strings
 * some of them point at) and the result. The arguments are still in the saved registers at exit,
 * and a path read there is the one the kernel used. A call the table does not name costs one
 * array lookup. */
#include "include/paths.bpf.h"

/* Written by user space (Probes, from CapturedCall's rows the rules need) before the program
 * runs; read here at every system call's exit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_CALL_NUMBERS);
	__type(key, __u32);
	__type(value, struct sentinel_call_spec);
} call_specs SEC(".maps");

/* sys_exit(struct pt_regs *regs, long ret) */
SEC("raw_tracepoint/sys_exit")
int on_call_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 nr = BPF_CORE_READ(regs, orig_ax);
	struct sentinel_call_spec *spec = bpf_map_lookup_elem(&call_specs, &nr);
	if (!spec || !spec->captured)
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	struct sentinel_call *record = reserve_record(SENTINEL_RECORD_CALL, sizeof(*record), cgroup_id, flags);
	if (!record)
		return 0;
	record->nr = nr;
	record->result = ctx->args[1];
	record->reserved = 0;
	record->args[0] = BPF_CORE_READ(regs, di);
	record->args[1] = BPF_CORE_READ(regs, si);
	record->args[2] = BPF_CORE_READ(regs, dx);
	record->args[3] = BPF_CORE_READ(regs, r10);
	record->args[4] = BPF_CORE_READ(regs, r8);
	record->args[5] = BPF_CORE_READ(regs, r9);
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
	submit_record(record);
	return 0;
}
