/* Directories' paths as a task sees them, written from its root down: the working directory, or
 * an open directory's, for the paths a process gives relative to one. */
#ifndef SENTINEL_PATHS_BPF_H
#define SENTINEL_PATHS_BPF_H

#include "common.bpf.h"

/* The most directories between a path and its root (mount points crossed count too). */
#define SENTINEL_PATH_DEPTH 32
#define AT_FDCWD -100

/* A path being written, twice the longest so that a write at any offset below SENTINEL_PATH_MAX
 * stays inside it (what the verifier needs to see), and the directories met on the way up. */
struct path_scratch {
	char text[2 * SENTINEL_PATH_MAX];
	struct dentry *directories[SENTINEL_PATH_DEPTH];
};

/* Written and read by the program resolving a path, on its own CPU; never by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

static __always_inline struct mount *real_mount(struct vfsmount *vfsmount)
{
	return (struct mount *)((void *)vfsmount - bpf_core_field_offset(struct mount, mnt));
}

/* The walk up from a directory to the root (one bpf_loop step each: the verifier checks a step
 * once, not once per directory and path). */
struct walk_up {
	struct path_scratch *scratch;
	struct dentry *dentry;
	struct vfsmount *vfsmount;
	struct mount *mount;
	struct dentry *root_dentry;
	struct vfsmount *root_vfsmount;
	int count;
	int reached_root;
};

/* Every field of walk_up and write_down is read into a local before BPF_CORE_READ sees it: they
 * are sentinel's own types, which CO-RE must not relocate. */
static long step_up(__u64 step, struct walk_up *walk)
{
	struct dentry *dentry = walk->dentry;
	struct vfsmount *vfsmount = walk->vfsmount;
	struct mount *mount = walk->mount;
	if (dentry == walk->root_dentry && vfsmount == walk->root_vfsmount) {
		walk->reached_root = 1;
		return 1;
	}
	if (dentry == BPF_CORE_READ(vfsmount, mnt_root)) {
		/* The top of a mount: go on from where it is mounted. */
		struct mount *parent = BPF_CORE_READ(mount, mnt_parent);
		if (parent == mount) {
			walk->reached_root = 1; /* the mount namespace's own root */
			return 1;
		}
		walk->dentry = BPF_CORE_READ(mount, mnt_mountpoint);
		walk->mount = parent;
		walk->vfsmount = &parent->mnt;
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(dentry, d_parent);
	int count = walk->count;
	if (count >= SENTINEL_PATH_DEPTH)
		return 1;
	walk->scratch->directories[count & (SENTINEL_PATH_DEPTH - 1)] = dentry;
	walk->count = count + 1;
	/* Its own parent, yet not a mount's root: a pseudo file (a memfd, an eventfd), whose name is
	 * all the path it has ("/memfd:NAME"). */
	if (up == dentry) {
		walk->reached_root = 1;
		return 1;
	}
	walk->dentry = up;
	return 0;
}

/* Writing the directories met, from the root down: "/" and a name a step. */
struct write_down {
	struct path_scratch *scratch;
	int index;
	__u32 offset;
	int failed;
};

static long step_down(__u64 step, struct write_down *write)
{
	if (write->index < 0)
		return 1;
	struct dentry *directory = write->scratch->directories[write->index & (SENTINEL_PATH_DEPTH - 1)];
	const unsigned char *name = BPF_CORE_READ(directory, d_name.name);
	__u32 offset = write->offset;
	if (offset >= SENTINEL_PATH_MAX - 1) {
		write->failed = 1;
		return 1;
	}
	write->scratch->text[offset & (SENTINEL_PATH_MAX - 1)] = '/';
	offset++;
	long length = bpf_probe_read_kernel_str(&write->scratch->text[offset & (SENTINEL_PATH_MAX - 1)], SENTINEL_PATH_MAX, name);
	if (length <= 0) {
		write->failed = 1;
		return 1;
	}
	write->offset = offset + length - 1;
	write->index--;
	return 0;
}

/* Writes `path` as seen from `root` into `out` (SENTINEL_PATH_MAX bytes, NUL-terminated): "/a/b",
 * crossing the mounts on the way. Returns its length, or -1 when it is deeper or longer than
 * sentinel reads, or could not be read: the caller then keeps the path as it was given. */
static __always_inline long write_directory(struct path *path, struct path *root, char *out)
{
	__u32 zero = 0;
	struct path_scratch *scratch = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!scratch)
		return -1;
	struct walk_up walk = {
		.scratch = scratch,
		.dentry = BPF_CORE_READ(path, dentry),
		.vfsmount = BPF_CORE_READ(path, mnt),
		.root_dentry = BPF_CORE_READ(root, dentry),
		.root_vfsmount = BPF_CORE_READ(root, mnt),
	};
	walk.mount = real_mount(walk.vfsmount);
	bpf_loop(2 * SENTINEL_PATH_DEPTH, step_up, &walk, 0);
	if (!walk.reached_root)
		return -1;
	struct write_down write = { .scratch = scratch, .index = walk.count - 1 };
	bpf_loop(SENTINEL_PATH_DEPTH, step_down, &write, 0);
	__u32 offset = write.offset;
	if (write.failed || offset >= SENTINEL_PATH_MAX - 1)
		return -1;
	if (walk.count == 0) {
		scratch->text[0] = '/';
		offset = 1;
	}
	scratch->text[offset & (SENTINEL_PATH_MAX - 1)] = 0;
	if (bpf_probe_read_kernel(out, SENTINEL_PATH_MAX, scratch->text) != 0)
		return -1;
	return offset;
}

/* The file open at `fd` in the current task, or NULL. */
static __always_inline struct file *file_of(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *table = BPF_CORE_READ(task, files, fdt);
	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(table, max_fds))
		return 0;
	struct file **files = BPF_CORE_READ(table, fd);
	struct file *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &files[fd]);
	return file;
}

/* The current task's root and working directory, or NULL. */
static __always_inline struct fs_struct *current_fs(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, fs);
}

/* Writes `path` (a file's or a directory's) as the current task sees it from its root into `out`;
 * its length, or -1. */
static __always_inline long write_task_path(struct path *path, char *out)
{
	struct fs_struct *fs = current_fs();
	return fs ? write_directory(path, &fs->root, out) : -1;
}

/* Writes the directory a path given relative to `dirfd` starts from (the working directory for
 * AT_FDCWD) into `out`; its length, or -1. */
static __always_inline long write_base_directory(int dirfd, char *out)
{
	if (dirfd == AT_FDCWD) {
		struct fs_struct *fs = current_fs();
		return fs ? write_directory(&fs->pwd, &fs->root, out) : -1;
	}
	struct file *file = file_of(dirfd);
	return file ? write_task_path(&file->f_path, out) : -1;
}

#endif
