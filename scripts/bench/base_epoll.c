/* Baseline for scripts/bench/pipeline: a raw epoll line server, the upper bound for one
 * connection on one thread. Per wakeup: one read() of up to 256 KB (rasnd's default
 * read_buffer), every complete line in it answered with the fixed ~190-byte JSON reply
 * (FIXED_REPLY) into one output buffer, one write(). EPOLLOUT only after EAGAIN; reading stops
 * while more than 4 MB of replies are queued (as in rasnd). No lookup, no formatting.
 *   base_epoll -s SOCKET     prints "ready" on stderr once listening; SIGTERM/SIGINT stop it */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixed_reply.h"

#define READ_BUF (256u << 10)
#define HIGH_WATER (4u << 20)
#define LOW_WATER (1u << 20)

struct conn {
	int fd, eof;
	unsigned events;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
};

static int ep;

static void set_events(struct conn *c, unsigned ev)
{
	if (ev == c->events)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->events = ev;
}

static void conn_free(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int out_reserve(struct conn *c, size_t more)
{
	if (c->out_len + more <= c->out_cap)
		return 0;
	size_t cap = c->out_cap ? c->out_cap : 65536;
	while (cap < c->out_len + more)
		cap *= 2;
	char *p = realloc(c->out, cap);
	if (!p)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* Returns -1 when the connection was closed. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_free(c);
		return -1;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	} else if (c->out_off > c->out_len / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	size_t pending = c->out_len - c->out_off;
	if (c->eof && pending == 0) {
		conn_free(c);
		return -1;
	}
	unsigned ev = c->events & EPOLLIN;
	if (pending > HIGH_WATER)
		ev = 0;
	else if (pending <= LOW_WATER && !c->eof)
		ev = EPOLLIN;
	if (pending)
		ev |= EPOLLOUT;
	set_events(c, ev);
	return 0;
}

static void on_readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, READ_BUF - c->in_len);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_free(c);
		return;
	}
	if (n == 0) {
		c->eof = 1;
		if (c->in_len) { /* a last line without LF */
			c->in_len = 0;
			if (out_reserve(c, FIXED_REPLY_LEN) == 0) {
				memcpy(c->out + c->out_len, FIXED_REPLY, FIXED_REPLY_LEN);
				c->out_len += FIXED_REPLY_LEN;
			}
		}
		set_events(c, c->events & ~EPOLLIN);
		flush(c);
		return;
	}
	c->in_len += (size_t)n;
	char *p = c->in, *end = c->in + c->in_len, *nl;
	size_t lines = 0;
	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		lines++;
		p = nl + 1;
	}
	if (out_reserve(c, lines * FIXED_REPLY_LEN) < 0) {
		conn_free(c);
		return;
	}
	for (size_t i = 0; i < lines; i++) {
		memcpy(c->out + c->out_len, FIXED_REPLY, FIXED_REPLY_LEN);
		c->out_len += FIXED_REPLY_LEN;
	}
	c->in_len = (size_t)(end - p);
	if (c->in_len == READ_BUF) /* an endless line: drop it */
		c->in_len = 0;
	memmove(c->in, p, c->in_len);
	flush(c);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt == 's')
			path = optarg;
		else
			return 2;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (!path || strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: base_epoll -s SOCKET\n");
		return 2;
	}
	strcpy(sun.sun_path, path);
	unlink(path);
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 128) < 0) {
		fprintf(stderr, "base_epoll: listen %s: %s\n", path, strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	e.data.ptr = &sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);
	fprintf(stderr, "base_epoll ready\n");
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sfd)
				goto out;
			if (!evs[i].data.ptr) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0)
					continue;
				struct conn *c = calloc(1, sizeof(*c));
				if (!c || !(c->in = malloc(READ_BUF))) {
					free(c);
					close(fd);
					continue;
				}
				c->fd = fd;
				c->events = EPOLLIN;
				struct epoll_event ce = { .events = EPOLLIN, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			unsigned re = evs[i].events;
			if ((re & EPOLLIN) && (c->events & EPOLLIN))
				on_readable(c); /* reads, answers, flushes */
			else if (re & EPOLLOUT)
				flush(c);
			else if (re & (EPOLLHUP | EPOLLERR))
				conn_free(c);
		}
	}
out:
	close(lfd);
	unlink(path);
	return 0;
}
