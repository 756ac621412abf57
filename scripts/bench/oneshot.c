/* Baseline for scripts/bench/client: the least a client can do. Connects to the socket, writes
 * one request line, reads one reply line, prints it raw, exits. No library, no formatting.
 *   oneshot -s SOCKET QUERY */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "-s") != 0) {
		fprintf(stderr, "usage: oneshot -s SOCKET QUERY\n");
		return 2;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(argv[2]) >= sizeof(sun.sun_path))
		return 2;
	strcpy(sun.sun_path, argv[2]);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "oneshot: connect %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	char buf[8192];
	size_t qlen = strlen(argv[3]);
	if (qlen + 1 > sizeof(buf))
		return 2;
	memcpy(buf, argv[3], qlen);
	buf[qlen] = '\n';
	if (write(fd, buf, qlen + 1) != (ssize_t)(qlen + 1)) {
		perror("oneshot: write");
		return 1;
	}
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0) {
			fprintf(stderr, "oneshot: no complete reply\n");
			return 1;
		}
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	char *nl = memchr(buf, '\n', got);
	if (!nl)
		return 1;
	if (write(1, buf, (size_t)(nl - buf) + 1) < 0)
		return 1;
	return 0;
}
