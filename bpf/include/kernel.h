/* The few kernel structures sentinel reads, with only the fields it reads. CO-RE
 * (preserve_access_index) relocates each field by name against the running kernel's BTF, so these
 * need not match any kernel's layout: no generated vmlinux.h. */
#ifndef SENTINEL_KERNEL_H
#define SENTINEL_KERNEL_H

#include <linux/types.h>

#define CORE __attribute__((preserve_access_index))

struct pt_regs { /* x86_64: the syscall's arguments and number, as saved at entry */
	unsigned long di, si, dx, r10, r8, r9, orig_ax;
} CORE;

struct mm_struct {
	unsigned long arg_start, arg_end, env_start, env_end;
} CORE;

struct qstr {
	const unsigned char *name;
} CORE;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} CORE;

struct vfsmount {
	struct dentry *mnt_root;
} CORE;

/* The kernel's own view of a mount (fs/mount.h): the vfsmount is inside it. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} CORE;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} CORE;

struct fs_struct {
	struct path root, pwd;
} CORE;

struct super_block {
	unsigned long s_magic;
} CORE;

struct inode {
	unsigned short i_mode;
	unsigned int i_nlink;
	unsigned long i_ino;
	struct super_block *i_sb;
	/* Since Linux 6.11; before, timespec64s under other names (not read: the times are then 0). */
	__s64 i_mtime_sec, i_ctime_sec;
	__u32 i_mtime_nsec, i_ctime_nsec;
} CORE;

/* overlayfs's inode (fs/overlayfs/ovl_entry.h), around the VFS inode of a file on an overlay. */
struct ovl_inode {
	struct inode vfs_inode;
	struct dentry *__upperdentry; /* set once the file has a copy in the upper, writable layer */
} CORE;

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
} CORE;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} CORE;

struct files_struct {
	struct fdtable *fdt;
} CORE;

/* Indexed by a variable below, so its size must be the kernel's (CO-RE cannot relocate it). */
struct upid {
	int nr;
	void *ns;
} CORE;

struct pid {
	unsigned int level;
	struct upid numbers[1];
} CORE;

struct tty_driver {
	int major, minor_start;
} CORE;

struct tty_struct {
	int index;
	struct tty_driver *driver;
} CORE;

/* pids[]: indexed by enum pid_type (PIDTYPE_PGID 2, PIDTYPE_SID 3). */
struct signal_struct {
	struct tty_struct *tty;
	struct pid *pids[4];
} CORE;

/* kuid_t, kgid_t and kernel_cap_t: one-member structs in the kernel. */
struct kuid {
	unsigned int val;
} CORE;

struct kgid {
	unsigned int val;
} CORE;

struct kernel_cap {
	__u64 val;
} CORE;

struct cred {
	struct kuid uid, euid;
	struct kgid gid;
	struct kernel_cap cap_permitted, cap_effective;
} CORE;

/* x86's: `status` holds TS_COMPAT while the thread is in a system call made through the 32-bit
 * entry (int 0x80, sysenter), whose number is i386's. */
struct thread_info {
	__u32 status;
} CORE;

struct task_struct {
	struct thread_info thread_info;
	int pid, tgid, exit_code;
	const struct cred *cred;
	struct kuid loginuid; /* with CONFIG_AUDIT only: read behind bpf_core_field_exists */
	struct pid *thread_pid;
	struct signal_struct *signal;
	struct task_struct *real_parent;
	char comm[16];
	struct mm_struct *mm;
	struct fs_struct *fs;
	struct files_struct *files;
	__u64 self_exec_id; /* counts the task's execs */
} CORE;

struct kernfs_node {
	__u64 id; /* a cgroup's: its id, as bpf_get_current_cgroup_id gives it */
} CORE;

struct cgroup {
	struct kernfs_node *kn;
} CORE;

struct linux_binprm {
	const char *filename;
	const char *fdpath;
	struct file *file;
} CORE;

struct in6_addr {
	__u8 s6_addr[16];
} CORE;

struct sock_common {
	__u32 skc_daddr, skc_rcv_saddr;
	__u16 skc_dport, skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr, skc_v6_rcv_saddr;
} CORE;

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} CORE;

struct socket {
	struct sock *sk;
} CORE;

struct tcp_sock {
	__u64 bytes_received, bytes_sent;
	__u32 segs_in, segs_out;
} CORE;

#endif
