/* The fixed workloads of bench/live-overhead, run inside a container: an exec storm, a loopback
 * connect/accept storm, a tight system-call loop (optionally paced to RATE calls a second), and
 * file churn (a file created, renamed and removed, N times, in /tmp: calls the file rules read).
 * Each waits `delay` seconds first (so that a tracer can attach), then prints the loop's wall time
 * in nanoseconds.
 *
 *   workload exec N DELAY | connect N DELAY | syscalls N DELAY [RATE] | churn N DELAY
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void exec_storm(long n, const char *self)
{
	for (long i = 0; i < n; i++) {
		pid_t child = fork();
		if (child == 0) {
			execl(self, self, "noop", (char *)0);
			_exit(127);
		}
		waitpid(child, 0, 0);
	}
}

static void connect_storm(long n)
{
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(5555), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(listener, (struct sockaddr *)&address, sizeof(address)) || listen(listener, 128)) {
		perror("listen");
		exit(1);
	}
	pid_t server = fork();
	if (server == 0) {
		char byte;
		for (long i = 0; i < n; i++) {
			int connection = accept(listener, 0, 0);
			if (read(connection, &byte, 1) != 1 || write(connection, &byte, 1) != 1)
				perror("server");
			close(connection);
		}
		_exit(0);
	}
	for (long i = 0; i < n; i++) {
		int client = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(client, (struct sockaddr *)&address, sizeof(address))) {
			perror("connect");
			exit(1);
		}
		/* A request and its answer: the client never runs ahead of the server, so the accept
		 * queue never overflows into SYN retransmissions (a second each). */
		char byte;
		if (write(client, "x", 1) != 1 || read(client, &byte, 1) != 1)
			perror("client");
		close(client);
	}
	waitpid(server, 0, 0);
}

/* getppid N times; with a rate, in bursts of rate/1000 calls at the start of each millisecond. */
static void syscall_loop(long n, long rate)
{
	if (rate <= 0) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		return;
	}
	long burst = rate / 1000 > 0 ? rate / 1000 : 1;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long done = 0; done < n;) {
		for (long i = 0; i < burst && done < n; i++, done++)
			syscall(SYS_getppid);
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, 0);
	}
}

static void file_churn(long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open("/tmp/churn.new", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) != 0 || rename("/tmp/churn.new", "/tmp/churn") != 0 || unlink("/tmp/churn") != 0) {
			perror("churn");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc != 4 && !(argc == 5 && strcmp(argv[1], "syscalls") == 0)) {
		fprintf(stderr, "usage: workload exec|connect|syscalls|churn N DELAY [RATE]\n");
		return 2;
	}
	long n = atol(argv[2]);
	usleep((useconds_t)(atof(argv[3]) * 1e6));
	long long start = now_ns();
	if (strcmp(argv[1], "exec") == 0)
		exec_storm(n, argv[0]);
	else if (strcmp(argv[1], "connect") == 0)
		connect_storm(n);
	else if (strcmp(argv[1], "syscalls") == 0)
		syscall_loop(n, argc == 5 ? atol(argv[4]) : 0);
	else if (strcmp(argv[1], "churn") == 0)
		file_churn(n);
	else
		return 2;
	printf("%lld\n", now_ns() - start);
	return 0;
}
