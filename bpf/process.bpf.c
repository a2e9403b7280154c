/* Process lifecycle: exec (with the parent, user, path and argv), fork of a new process, exit.
 * These feed user space's process table, so they are attached whenever sentinel runs. */
#include "include/syscall_batch.bpf.h"
#include "include/paths.bpf.h"

/* A pid's (a process's, its session's, its group's) number as the pid namespace at `level` sees
 * it; 0 when it has none there (a session begun outside the container). */
static __always_inline __u32 pid_in_namespace(struct pid *pid, unsigned int level)
{
	__u32 nr = 0;
	if (pid && BPF_CORE_READ(pid, level) == level)
		bpf_core_read(&nr, sizeof(nr), &pid->numbers[level & 31].nr);
	return nr;
}

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* Whether a file lies in an overlay's upper layer: a container's own writes (or a copy-up of an
 * image file it changed), not its image. 0 too where the kernel's BTF has no ovl_inode. */
static __always_inline __u32 in_upper_layer(struct inode *inode)
{
	if (!bpf_core_type_exists(struct ovl_inode) || BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	struct ovl_inode *overlay = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
	return BPF_CORE_READ(overlay, __upperdentry) != 0;
}

/* A NUL-separated list in the new image's memory (argv, the environment) between start and end,
 * cut at max bytes; the bytes read, or 0 if it could not be. */
static __always_inline __u32 read_strings(char *out, unsigned long max, unsigned long start, unsigned long end, __u32 *flags, __u32 truncated_flag)
{
	unsigned long length = end - start;
	if (length > max) {
		length = max;
		*flags |= truncated_flag;
	}
	/* The clamp above is lost on the way to the helper's argument unless the compiler keeps it. */
	asm volatile("" : "+r"(length));
	if (length <= max && bpf_probe_read_user(out, length, (void *)start) == 0)
		return length;
	return 0;
}

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	const struct sentinel_settings *settings = current_settings();
	if (!settings)
		return 0;
	/* Read once: a reload between two reads would leave a record without room for its environment. */
	int read_environment = settings->read_environment;
	struct sentinel_exec *record;
	if (read_environment)
		record = reserve_record(SENTINEL_RECORD_EXEC, sizeof(struct sentinel_exec_environment), cgroup_id, flags);
	else
		record = reserve_record(SENTINEL_RECORD_EXEC, sizeof(*record), cgroup_id, flags);
	if (!record)
		return 0;

	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	record->ppid = BPF_CORE_READ(task, real_parent, tgid);
	__u64 uid_gid = bpf_get_current_uid_gid();
	record->uid = (__u32)uid_gid;
	record->gid = uid_gid >> 32;
	/* The credentials exec gave the new image: a setuid binary's euid, file capabilities. */
	struct cred *cred = (struct cred *)BPF_CORE_READ(task, cred);
	record->euid = BPF_CORE_READ(cred, euid.val);
	record->cap_effective = BPF_CORE_READ(cred, cap_effective.val);
	record->cap_permitted = BPF_CORE_READ(cred, cap_permitted.val);
	record->loginuid = bpf_core_field_exists(task->loginuid) ? BPF_CORE_READ(task, loginuid.val) : (__u32)-1;
	bpf_get_current_comm(record->comm, sizeof(record->comm));
	BPF_CORE_READ_STR_INTO(&record->parent_comm, task, real_parent, comm);
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (tty) {
		__u32 major = BPF_CORE_READ(tty, driver, major);
		__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
		record->tty = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
	} else {
		record->tty = 0;
	}
	/* The pids as the task's innermost pid namespace (its level) numbers them. */
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	record->vpid = pid_in_namespace(pid, level);
	record->vsid = pid_in_namespace(BPF_CORE_READ(task, signal, pids[3]), level);
	record->vpgid = pid_in_namespace(BPF_CORE_READ(task, signal, pids[2]), level);

	/* execveat on a descriptor (fexecve) names the file /dev/fd/N: the kernel's own string, fdpath,
	 * not one a process could give. (The registers say execve here even then.) */
	const char *fdpath = BPF_CORE_READ(bprm, fdpath);
	record->by_descriptor = fdpath != 0 && fdpath == BPF_CORE_READ(bprm, filename);
	struct file *exe = BPF_CORE_READ(bprm, file);
	struct inode *exe_inode = BPF_CORE_READ(exe, f_inode);
	record->exe_links = BPF_CORE_READ(exe_inode, i_nlink);
	record->exe_ino = BPF_CORE_READ(exe_inode, i_ino);
	record->exe_upper_layer = in_upper_layer(exe_inode);
	if (bpf_core_field_exists(exe_inode->i_ctime_sec)) {
		record->exe_ctime = BPF_CORE_READ(exe_inode, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(exe_inode, i_ctime_nsec);
		record->exe_mtime = BPF_CORE_READ(exe_inode, i_mtime_sec) * 1000000000ull + BPF_CORE_READ(exe_inode, i_mtime_nsec);
	} else {
		record->exe_ctime = record->exe_mtime = 0;
	}
	record->exe_len = write_task_path(&exe->f_path, record->exe);

	const char *filename = BPF_CORE_READ(bprm, filename);
	long path_len = bpf_probe_read_kernel_str(record->path, sizeof(record->path), filename);
	record->path_len = path_len > 0 ? path_len - 1 : 0;
	if (path_len == sizeof(record->path))
		record->header.flags |= SENTINEL_FLAG_PATH_TRUNCATED;

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	record->args_len = read_strings(record->args, SENTINEL_ARGS_MAX, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end),
					&record->header.flags, SENTINEL_FLAG_ARGS_TRUNCATED);
	if (read_environment) {
		struct sentinel_exec_environment *with_env = (struct sentinel_exec_environment *)record;
		with_env->reserved = 0;
		with_env->env_len = read_strings(with_env->env, SENTINEL_ENV_MAX, BPF_CORE_READ(mm, env_start), BPF_CORE_READ(mm, env_end),
						 &record->header.flags, SENTINEL_FLAG_ENV_TRUNCATED);
	}
	submit_record(record);
	return 0;
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child). A new thread of an
 * existing process is not reported: threads share their process's record. */
SEC("raw_tracepoint/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	int child_pid = BPF_CORE_READ(child, tgid);
	int parent_pid = BPF_CORE_READ(parent, tgid);
	if (child_pid == parent_pid)
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	struct sentinel_fork *record = reserve_record(SENTINEL_RECORD_FORK, sizeof(*record), cgroup_id, flags);
	if (!record)
		return 0;
	record->header.pid = child_pid;
	record->header.tid = BPF_CORE_READ(child, pid);
	record->parent_pid = parent_pid;
	record->child_tid = record->header.tid;
	BPF_CORE_READ_STR_INTO(&record->parent_comm, parent, comm);
	submit_record(record);
	return 0;
}

/* sched_process_exit(struct task_struct *p, ...): reported when the thread group leader exits,
 * which is when the process leaves the table. The system calls this CPU has batched go first, so
 * that they still find their process (calls made on another CPU before a migration may not). */
SEC("raw_tracepoint/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u32 flags;
	if (!watched(cgroup_id, &flags))
		return 0;
	struct sentinel_syscalls *batch = current_syscall_batch();
	if (batch)
		send_syscall_batch(batch, cgroup_id);
	struct sentinel_exit *record = reserve_record(SENTINEL_RECORD_EXIT, sizeof(*record), cgroup_id, flags);
	if (!record)
		return 0;
	record->exit_code = BPF_CORE_READ(task, exit_code);
	submit_record(record);
	return 0;
}
