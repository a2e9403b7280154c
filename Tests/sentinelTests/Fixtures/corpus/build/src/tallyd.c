/* tallyd: answers every HTTP request with the number of words in its body. A service with a name
 * of its own, as most production services have, built in one container and run in another. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tally.h"

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7070;
	int server = socket(AF_INET, SOCK_STREAM, 0);
	int yes = 1;
	setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (bind(server, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(server, 16) < 0) {
		perror("tallyd");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int client = accept(server, 0, 0);
		if (client < 0)
			continue;
		char request[4096];
		ssize_t length = read(client, request, sizeof(request) - 1);
		if (length > 0) {
			request[length] = 0;
			char *body = strstr(request, "\r\n\r\n");
			size_t words = body ? tally_words(body + 4, (size_t)length - (size_t)(body + 4 - request)) : 0;
			char reply[128];
			int size = snprintf(reply, sizeof(reply), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%zu\n", words);
			if (write(client, reply, (size_t)size) < 0)
				perror("tallyd");
		}
		close(client);
	}
}
