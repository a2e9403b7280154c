// libbpf (Debian's libbpf-dev) and the record layouts the eBPF programs in bpf/ write.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "../../bpf/include/records.h"
