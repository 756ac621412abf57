/* Baseline for scripts/bench/pipeline: a plain libevent line server, written the way the
 * libevent book teaches it. bufferevent on each connection, evbuffer_readln per request line,
 * evbuffer_add of a fixed ~190-byte JSON reply per line (FIXED_REPLY), no lookup at all.
 * Only back-pressure is added (reading stops while more than 4 MB of replies are queued), so a
 * pipelining client cannot make it buffer without bound.
 *   base_libevent -s SOCKET     prints "ready" on stderr once listening; SIGTERM/SIGINT stop it */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "fixed_reply.h"

#define HIGH_WATER (4u << 20)
#define LOW_WATER (1u << 20)

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev), *out = bufferevent_get_output(bev);
	char *line;
	size_t len;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF))) {
		evbuffer_add(out, FIXED_REPLY, FIXED_REPLY_LEN);
		free(line);
	}
	if (evbuffer_get_length(out) > HIGH_WATER) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_setwatermark(bev, EV_WRITE, LOW_WATER, 0);
	}
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	/* called when the output drains to the low-water mark */
	int *eof = arg;
	if (*eof && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		free(eof);
		bufferevent_free(bev);
		return;
	}
	if (!*eof && !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	int *eof = arg;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* client done sending: answer a last line without LF, flush, then close */
		struct evbuffer *in = bufferevent_get_input(bev);
		if (evbuffer_get_length(in)) {
			evbuffer_drain(in, evbuffer_get_length(in));
			evbuffer_add(bufferevent_get_output(bev), FIXED_REPLY, FIXED_REPLY_LEN);
		}
		*eof = 1;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			free(eof);
			bufferevent_free(bev);
		}
		return;
	}
	free(eof);
	bufferevent_free(bev);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct event_base *base = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	int *eof = calloc(1, sizeof(int));
	if (!bev || !eof) {
		free(eof);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, eof);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
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
		fprintf(stderr, "usage: base_libevent -s SOCKET\n");
		return 2;
	}
	strcpy(sun.sun_path, path);
	unlink(path);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evconnlistener *l = evconnlistener_new_bind(base, accept_cb, base,
							  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
							  (struct sockaddr *)&sun, sizeof(sun));
	if (!l) {
		fprintf(stderr, "base_libevent: listen %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *si = evsignal_new(base, SIGINT, on_signal, base);
	event_add(st, NULL);
	event_add(si, NULL);
	fprintf(stderr, "base_libevent ready\n");
	event_base_dispatch(base);
	evconnlistener_free(l);
	event_free(st);
	event_free(si);
	event_base_free(base);
	unlink(path);
	return 0;
}
