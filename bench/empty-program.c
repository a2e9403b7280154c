/* Loads bench/empty-program.bpf.o (path in argv[1]) with libbpf, attaches it, says "attached",
 * and waits for SIGINT or SIGTERM. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void stop(int signal) { stopping = signal; }

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: empty-program OBJECT\n");
		return 2;
	}
	struct bpf_object *object = bpf_object__open_file(argv[1], NULL);
	if (!object || bpf_object__load(object)) {
		fprintf(stderr, "empty-program: cannot load %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *program = bpf_object__find_program_by_name(object, "on_syscall_enter");
	struct bpf_link *link = program ? bpf_program__attach(program) : NULL;
	if (!link) {
		fprintf(stderr, "empty-program: cannot attach\n");
		return 1;
	}
	signal(SIGINT, stop);
	signal(SIGTERM, stop);
	printf("attached\n");
	fflush(stdout);
	while (!stopping)
		pause();
	bpf_link__destroy(link);
	bpf_object__close(object);
	return 0;
}
