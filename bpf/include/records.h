/* The records the eBPF programs write to the ring buffer, the map values they share with user
 * space, and the configuration user space sets before loading. This header is the one definition:
 * the programs in bpf/ include it, and Swift imports it through the CLibbpf module. */
#ifndef SENTINEL_RECORDS_H
#define SENTINEL_RECORDS_H

#include <linux/types.h>

#define SENTINEL_COMM_LEN 16
/* Paths longer than this are cut and flagged SENTINEL_FLAG_PATH_TRUNCATED. */
#define SENTINEL_PATH_MAX 256
/* argv as the kernel holds it (NUL-separated); more is cut and flagged SENTINEL_FLAG_ARGS_TRUNCATED. */
#define SENTINEL_ARGS_MAX 1024
/* The environment, the same way (sentinel_exec_environment); more is cut and flagged SENTINEL_FLAG_ENV_TRUNCATED. */
#define SENTINEL_ENV_MAX 1024
/* System-call records travel in batches of this many, one ring-buffer record per batch. */
#define SENTINEL_SYSCALL_BATCH 64
/* BoSC in the kernel: windows hold at most this many calls, call numbers above the last share
 * it, up to this many profiles are loaded at once, and this many unknown bags per epoch are sent
 * to show what they held. */
#define SENTINEL_BOSC_WINDOW_MAX 16
#define SENTINEL_BOSC_CALLS 1024
/* A 32-bit program's calls are numbered from here, apart from x86_64's (SystemCallNames.i386Base). */
#define SENTINEL_I386_BASE 512
#define SENTINEL_BOSC_PROFILES 64
#define SENTINEL_BOSC_KEPT 64
/* Captured system calls: the capture table covers the numbers below this (x86_64's are), a call has
 * at most this many arguments, and the texts of this many of them are copied. */
#define SENTINEL_CALL_NUMBERS 512
#define SENTINEL_CALL_ARGS 6
#define SENTINEL_CALL_STRINGS 3
/* Of those strings, the first this many may be paths relative to a directory, whose path is sent. */
#define SENTINEL_CALL_BASES 2
/* sentinel_call_spec.base: the argument is not a path, or is one relative to the working directory. */
#define SENTINEL_CALL_NOT_PATH -2
#define SENTINEL_CALL_CWD -1
/* sentinel_call_spec.descriptor: the call acts on no descriptor. */
#define SENTINEL_CALL_NO_FD -1
/* sentinel_call_spec.filter_slot: no filter, or the result rather than an argument. */
#define SENTINEL_CALL_NO_FILTER -1
#define SENTINEL_CALL_FILTER_RESULT 6
#define SENTINEL_CALL_FILTER_VALUES 8
/* sentinel_call_spec.filter_width: how the register is read before it is compared. */
enum sentinel_call_width {
	SENTINEL_CALL_WIDTH_LONG = 0, /* all 64 bits */
	SENTINEL_CALL_WIDTH_INT = 1,  /* a C int: the low 32 bits, sign-extended */
	SENTINEL_CALL_WIDTH_UINT = 2, /* an unsigned int (uid_t): the low 32 bits */
};

enum sentinel_record_kind {
	SENTINEL_RECORD_EXEC = 1,
	SENTINEL_RECORD_FORK = 2,
	SENTINEL_RECORD_EXIT = 3,
	SENTINEL_RECORD_OPEN = 4,
	SENTINEL_RECORD_CONNECT = 5,
	SENTINEL_RECORD_ACCEPT = 6,
	SENTINEL_RECORD_LISTEN = 7,
	SENTINEL_RECORD_TCP_CLOSE = 8,
	SENTINEL_RECORD_SYSCALLS = 9,
	SENTINEL_RECORD_TCP_SEGMENT = 10,
	SENTINEL_RECORD_BOSC_UNKNOWN_BAG = 11,
	SENTINEL_RECORD_BOSC_EPOCH = 12,
	SENTINEL_RECORD_CALL = 13,
	SENTINEL_RECORD_BOSC_TRAINING_EPOCH = 14,
	SENTINEL_RECORD_KIND_COUNT = 15,
};

enum sentinel_record_flags {
	SENTINEL_FLAG_PATH_TRUNCATED = 1,
	SENTINEL_FLAG_ARGS_TRUNCATED = 2,
	SENTINEL_FLAG_ENV_TRUNCATED = 8,
	/* The record's cgroup had no verdict yet: user space should classify it. */
	SENTINEL_FLAG_NEW_CGROUP = 4,
};

/* What user space has decided about a cgroup (map cgroup_verdicts). No entry means "not yet
 * known": its events are sent, so that a new container is seen from its first exec. */
enum sentinel_cgroup_verdict {
	SENTINEL_CGROUP_WATCH = 1,
	SENTINEL_CGROUP_IGNORE = 2,
};

struct sentinel_header {
	__u32 kind;
	__u32 flags;
	__u32 pid; /* thread group id */
	__u32 tid;
	__u64 boot_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
};

struct sentinel_exec {
	struct sentinel_header header;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 vpid; /* the pid inside the process's own pid namespace: 1 for a container's entrypoint */
	__u32 path_len; /* bytes in path, without the NUL */
	__u32 args_len; /* bytes in args, the last NUL included */
	__u32 tty; /* the controlling terminal as a device number (new_encode_dev); 0 for none */
	__u32 by_descriptor; /* 1: execveat ran a descriptor (fexecve: a memfd's code, a file since deleted) */
	__s32 exe_len; /* bytes in exe; -1: its path could not be walked (path is then all there is) */
	__u32 exe_links; /* the executable's link count: 0 for a memfd or a file deleted since */
	/* 1: the executable lies in an overlay's upper layer, written or copied up since the container
	 * started rather than one of its image's layers */
	__u32 exe_upper_layer;
	__u32 loginuid; /* the audit login uid: who logged in, whatever uid followed; 4294967295 when unset */
	__u64 cap_effective; /* the new image's capabilities, a bit per CAP_ number */
	__u64 cap_permitted;
	__u64 exe_ino; /* the executable's inode number, as stat shows it in the container */
	/* Its inode's last change of status and of content, in nanoseconds since the epoch (0: the
	 * kernel's inode has no field of that name) */
	__u64 exe_ctime;
	__u64 exe_mtime;
	/* The session and the process group, as the process's own pid namespace numbers them. */
	__u32 vsid;
	__u32 vpgid;
	char comm[SENTINEL_COMM_LEN];
	/* The parent's name: a runtime's short-lived parent (runc exec) is often gone, and it lives on
	 * the host, whose events the filter keeps quiet, before user space could read its /proc. */
	char parent_comm[SENTINEL_COMM_LEN];
	char path[SENTINEL_PATH_MAX]; /* the file name as given to exec (relative, /dev/fd/N...) */
	/* The executable the kernel opened, its path walked up to the task's root ("/memfd:NAME" for
	 * a memfd): what a relative name, a symlink or a descriptor stood for. */
	char exe[SENTINEL_PATH_MAX];
	char args[SENTINEL_ARGS_MAX];
};

/* An exec with its environment, sent instead of sentinel_exec when a rule reads proc.env
 * (sentinel_settings.read_environment): environments are large, and often hold secrets. */
struct sentinel_exec_environment {
	struct sentinel_exec exec;
	__u32 env_len; /* bytes in env, the last NUL included */
	__u32 reserved;
	char env[SENTINEL_ENV_MAX];
};

/* A new process (not a thread): header.pid is the child, written in the parent's context. */
struct sentinel_fork {
	struct sentinel_header header;
	__u32 parent_pid;
	__u32 child_tid;
	/* The parent's name at the fork: the runtime's processes that start a container (runc's
	 * parent and child) are gone before user space could read their /proc. */
	char parent_comm[SENTINEL_COMM_LEN];
};

struct sentinel_exit {
	struct sentinel_header header;
	__s32 exit_code; /* as wait(2) reports it: status << 8 | signal */
	__u32 reserved;
};

struct sentinel_open {
	struct sentinel_header header;
	__s64 result;
	__u32 syscall_nr;
	__u32 open_flags;
	__s32 dirfd;
	__u32 path_len;
	__s32 base_len; /* the directory a relative path starts from: its length, -1 for none */
	__u32 mode; /* what an O_CREAT or O_TMPFILE open gives the file it creates */
	char path[SENTINEL_PATH_MAX];
	char base[SENTINEL_PATH_MAX];
};

/* connect, accept, listen and close. For close, pid/tid/cgroup are the socket's owner as seen at
 * connect or accept; the state change itself often runs in softirq context. */
/* A socket's two ends, as its struct sock holds them. */
struct sentinel_endpoints {
	__u16 family; /* AF_INET or AF_INET6 for connections; any AF_ for a described descriptor */
	__u16 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 local_port;
	__u16 remote_port;
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

struct sentinel_socket {
	struct sentinel_header header;
	__s64 result;
	struct sentinel_endpoints ends;
	__u64 bytes_in;
	__u64 bytes_out;
	__u64 segments_in;
	__u64 segments_out;
	__u32 outbound; /* 1: this side connected; 0: it accepted or listens */
	__u32 reserved;
};

/* One TCP segment that a watched cgroup's socket sent or received (the opt-in per-segment view).
 * header.pid and tid are 0: packets are handled in the network path, often outside any process.
 * A TSO/GSO send is one segment of its whole length, as a capture on the sender shows it. */
struct sentinel_segment {
	struct sentinel_header header;
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 sent; /* 1: the watched socket sent it; 0: it received it */
	__u8 tcp_flags; /* the TCP header's flag byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10... */
	__u16 source_port;
	__u16 destination_port;
	__u32 sequence;
	__u32 acknowledgement;
	__u32 payload_len; /* bytes after the TCP header */
	__u32 reserved;
	__u8 source_addr[16];
	__u8 destination_addr[16];
};

struct sentinel_syscall {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 nr;
	__u32 reserved;
};

struct sentinel_syscalls {
	struct sentinel_header header; /* kind, flags, and boot_ns of the batch's first call */
	__u32 count;
	__u32 reserved;
	struct sentinel_syscall calls[SENTINEL_SYSCALL_BATCH];
};

/* What a container's calls go to (map bosc_containers, mode): streamed to user space (BoSC
 * training there, for windows per container), judged in the kernel against a profile, counted
 * in the kernel into a training profile's bags, or streamed besides. A cgroup without an entry is
 * streamed whole when sentinel_settings.stream_undecided is set (a BoSC rule has yet to decide),
 * and otherwise only for the numbers in sentinel_settings.stream_numbers (signature rules). */
enum sentinel_bosc_mode {
	SENTINEL_BOSC_STREAM = 1,
	SENTINEL_BOSC_JUDGE = 2,
	SENTINEL_BOSC_TRAIN = 4,
};

/* A container's BoSC settings and epoch (map bosc_containers, by cgroup id). User space writes the
 * settings; the program counts the epoch. */
struct sentinel_bosc_container {
	__u32 mode;
	__u32 profile;     /* which of the loaded profiles: selects call values and known bags, or the
	                    * training's counts */
	__u32 generation;  /* changed by user space when the profile changes: windows start again */
	__u32 window;
	__u32 epoch_length;
	__u32 threshold;
	__u32 new_call_threshold; /* for unknown bags holding a call training never saw; ~0 for none */
	__u32 epoch_calls; /* counted by the program from here on */
	__u32 mismatches;
	__u32 unseen_mismatches;
	__u32 epoch_index;
};

/* A call's part in a profile's bags (map bosc_call_values, by profile * SENTINEL_BOSC_CALLS + call
 * number): the random value of its slot, and whether training never saw it. */
struct sentinel_bosc_call {
	__u64 value;
	__u32 unseen;
	__u32 reserved;
};

/* A known bag (map bosc_known): its profile and its additive hash. */
struct sentinel_bosc_bag {
	__u32 profile;
	__u32 reserved;
	__u64 hash;
};

/* A profile in training (map bosc_trainings, by profile index): its containers' calls, counted
 * in epochs of epoch_length calls over all of them, as user space's trainer counts. User space
 * writes epoch_length and zeros when the training starts; the program counts the rest. The norms
 * and dot product are the epoch's bag counts' (sum of count squared) and the previous epoch's, and
 * their dot product: the cosine similarity of consecutive epochs, kept up to date per bag. */
struct sentinel_bosc_training {
	__u32 epoch_length;
	__u32 epoch_calls;
	__u32 epoch_index;
	__u32 dropped_bags; /* new bags the full bosc_training_bags map could not take */
	__u64 norm_squared;
	__u64 previous_norm_squared;
	__u64 dot;
};

/* A bag of a training profile (map bosc_training_bags, by sentinel_bosc_bag): its calls, how often
 * it was seen, and its counts in the epoch it was last seen in and in the epoch before. */
struct sentinel_bosc_training_bag {
	__u64 frequency;
	__u32 epoch_last_seen;
	__u32 in_epoch;
	__u32 in_previous_epoch;
	__u32 window;
	__u16 calls[SENTINEL_BOSC_WINDOW_MAX];
};

/* A training epoch's end, with its figures (sentinel_bosc_training's, before they roll over). */
struct sentinel_bosc_training_epoch {
	struct sentinel_header header;
	__u32 epoch_index;
	__u32 calls;
	__u64 norm_squared;
	__u64 previous_norm_squared;
	__u64 dot;
	__u32 dropped_bags;
	__u32 reserved;
};

/* One unknown bag: the window's calls (the first `window` entries), in no particular order. */
struct sentinel_bosc_unknown_bag {
	struct sentinel_header header;
	__u32 epoch_index;
	__u32 window;
	__u16 calls[SENTINEL_BOSC_WINDOW_MAX];
};

/* An epoch's verdict: when it ends (complete 1), and as soon as its mismatches pass the threshold
 * (complete 0). */
struct sentinel_bosc_epoch {
	struct sentinel_header header;
	__u32 epoch_index;
	__u32 calls;
	__u32 mismatches;
	__u32 complete;
	__u32 unseen_mismatches; /* of the mismatches, bags holding a call training never saw */
	__u32 reserved;
};

/* What the capture program reads of one system call (map call_specs, by number). An entry of
 * zeros is a call not captured. */
struct sentinel_call_spec {
	__u32 captured;
	__u32 strings; /* bit i set: argument i points at a string to copy */
	/* For each argument that is a string: SENTINEL_CALL_NOT_PATH (text), SENTINEL_CALL_CWD (a path,
	 * relative to the working directory when it does not start with /), or the index of the
	 * argument holding the directory descriptor it is relative to. */
	__s8 base[SENTINEL_CALL_ARGS];
	/* The argument holding the descriptor whose open file the call acts on, described in
	 * sentinel_call.fd; SENTINEL_CALL_NO_FD for none. */
	__s8 descriptor;
	/* The argument pointing at a socket address (sendto's destination, recvfrom's source, filled
	 * by the call), copied into sentinel_call.address; SENTINEL_CALL_NO_FD for none. */
	__s8 address;
	/* The argument (or SENTINEL_CALL_FILTER_RESULT) whose value must be one of filter_values for
	 * the call to be sent: every loaded rule on it asks for one of them (CallFilter.swift).
	 * SENTINEL_CALL_NO_FILTER: every call is sent. */
	__s8 filter_slot;
	__u8 filter_width;
	__u8 filter_count;
	/* 1: the call changes the caller's credentials (setuid, capset...): read them at its exit
	 * into sentinel_call.credentials. */
	__u8 credentials;
	/* 1: the address argument is a struct msghdr (sendmsg, recvmsg): the address is at its msg_name. */
	__u8 address_in_header;
	__u8 reserved[4];
	__s64 filter_values[SENTINEL_CALL_FILTER_VALUES];
};

/* The open file behind a call's descriptor argument, read from the task's own descriptor table at
 * the call's exit: exact, with nothing to keep in step and nothing seeded from /proc. */
struct sentinel_fd {
	__s32 num;  /* the descriptor; -1: the call names none */
	__u32 mode; /* the inode's type and permission bits; 0: nothing open at num */
	__u64 ino;
	struct sentinel_endpoints ends; /* a socket's (family 0 for other files) */
	__s16 name_len; /* the file's path from the task's root, or an anonymous file's name ("/[eventfd]"); -1: none */
	__u16 reserved[3];
	char name[SENTINEL_PATH_MAX];
};

/* One captured system call, read at its exit: its arguments as the registers held them, the texts
 * of its string arguments (in the order of the arguments), and its result. */
/* The caller's credentials as a call left them: what a setuid or a capset made of them. */
struct sentinel_credentials {
	__u32 valid; /* 0: the call does not change them, and they were not read */
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u64 cap_effective;
	__u64 cap_permitted;
};

struct sentinel_call {
	struct sentinel_header header;
	__s64 result;
	__u64 args[SENTINEL_CALL_ARGS];
	__u32 nr;
	__s16 string_lengths[SENTINEL_CALL_STRINGS]; /* bytes without the NUL; -1: none, or not readable */
	/* The directory each of the first strings is relative to, when it is a relative path. */
	__s16 base_lengths[SENTINEL_CALL_BASES]; /* -1: none (absolute, text, or not readable) */
	__u16 reserved;
	/* The caller's name: a process whose exec sentinel never saw (the runtime's, joining the
	 * container's cgroup as it sets it up) is still named. */
	char comm[SENTINEL_COMM_LEN];
	/* A struct sockaddr as the call's address argument held it at exit (sockaddr_in or
	 * sockaddr_in6 by its family); address_len 0: none. */
	__u16 address_len;
	__u8 address[28];
	__u16 reserved_address;
	char strings[SENTINEL_CALL_STRINGS][SENTINEL_PATH_MAX];
	char bases[SENTINEL_CALL_BASES][SENTINEL_PATH_MAX];
	struct sentinel_fd fd;
	struct sentinel_credentials credentials;
};

/* Per record kind, summed over CPUs (map record_counters): nothing is lost silently. */
struct sentinel_counter {
	__u64 produced; /* records the kernel tried to send */
	__u64 dropped;  /* of those, lost at a full ring buffer */
};

/* Set by user space in each object's .rodata before loading, for the whole run (the command
 * line's); the verifier then prunes what is off. */
struct sentinel_config {
	__u32 include_host; /* 1: ignore cgroup verdicts, send everything */
	__u32 reserved;
};

/* What the rules in force want gathered (map settings): written by user space before the first
 * program attaches and again at each reload, so that the probes follow the rules without being
 * loaded anew. A program reads it afresh at each event; a reload's write may land between two of
 * its reads, so a program sees each switch either before or after the reload, never a torn word. */
struct sentinel_settings {
	__u32 stream_undecided; /* 1: stream every call of cgroups no BoSC rule has decided on */
	__u32 read_environment; /* 1: execs carry their environment (sentinel_exec_environment) */
	__u32 track_connections; /* 1: TCP closes are wanted: keep each connection for its close (tcp.bpf.c) */
	__u32 reserved;
	__u64 stream_numbers[SENTINEL_BOSC_CALLS / 64]; /* the calls signature rules name, as bits */
	/* The calls whose exit syscall_results.bpf.c reads (opens, sockets, captured calls), as bits. */
	__u64 exit_numbers[SENTINEL_CALL_NUMBERS / 64];
};

#endif
