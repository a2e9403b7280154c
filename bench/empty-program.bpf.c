/* bench/live-overhead's floor: a program that does nothing, on the raw tracepoint sentinel's
 * system-call probe uses. What it costs a container's calls, no program on that hook can undercut. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("raw_tracepoint/sys_enter")
int on_syscall_enter(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
