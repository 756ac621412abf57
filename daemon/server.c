/* The query socket: a Unix stream listener. A stale socket file (nobody answers on it) is
 * removed before bind; a live one means another rasnd runs there, which is an error. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "rasnd.h"
#include "sdnotify.h"
#include "lifecycle.h"
#include "server.h"
#include "session.h"
#include "sockact.h"

static void accept_cb(evutil_socket_t fd, short what, void *arg);

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd *d = arg;
	if (!d->draining && d->listen_ev)
		event_add(d->listen_ev, NULL);
}

#define REJECT_MAX 64            /* refused clients being drained at once; more are just closed */
#define REJECT_DRAIN_BYTES 65536 /* read and dropped from one at most */
#define REJECT_LINGER_S 2        /* and for this long at most */

static void reject_free(struct rasnd_reject *r)
{
	struct rasnd *d = r->d;
	TAILQ_REMOVE(&d->rejects, r, entry);
	d->n_rejects--;
	event_free(r->ev);
	close(r->fd);
	free(r);
}

static void reject_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_reject *r = arg;
	char buf[4096];
	ssize_t n = what & EV_READ ? read(fd, buf, sizeof(buf)) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0 && (r->drained += (size_t)n) < REJECT_DRAIN_BYTES)
		return;
	reject_free(r); /* the peer closed, the timer ran out, or it sent too much */
}

/* Tell the client why before anything of its is read, half-close, and keep reading (and
 * dropping) what it sends until it closes, for a short time: closing a socket with unread
 * data resets the connection, and the client would see EPIPE or ECONNRESET instead of the
 * message. */
static void reject(struct rasnd *d, int fd, const char *msg)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"query\":\"\",\"type\":\"invalid\",\"status\":\"error\",\"error\":\"%s\"}\n", msg);
	ssize_t w = write(fd, line, (size_t)n);
	(void)w;
	shutdown(fd, SHUT_WR);
	d->stats.conns_rejected++;
	struct rasnd_reject *r = d->n_rejects < REJECT_MAX ? calloc(1, sizeof(*r)) : NULL;
	if (r) {
		r->d = d;
		r->fd = fd;
		r->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, reject_cb, r);
		struct timeval tv = { REJECT_LINGER_S, 0 };
		if (r->ev && event_add(r->ev, &tv) == 0) {
			TAILQ_INSERT_TAIL(&d->rejects, r, entry);
			d->n_rejects++;
			return;
		}
		if (r->ev)
			event_free(r->ev);
		free(r);
	}
	close(fd);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct rasnd *d = arg;
	/* a bounded number per wakeup: accepting must not starve the clients already here */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting for a second (as tmux does) */
				log_warn("accept: %s; pausing new connections for 1 s", strerror(errno));
				d->stats.accept_pauses++;
				event_del(d->listen_ev);
				struct timeval tv = { 1, 0 };
				event_add(d->accept_retry_ev, &tv);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		/* full: the longest-idle client with nothing pending makes room (as nginx reuses
		 * keep-alive connections); when every one has work in flight, refuse */
		if (d->n_sessions >= d->cfg.max_clients && !rasnd_session_evict_idle(d)) {
			reject(d, fd, "too many clients");
			continue;
		}
		rasnd_session_new(d, fd);
	}
}

/* Is something answering on this socket path? */
static int socket_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* Checked before the slow start-up work (the table, RocksDB under the state directory): a
 * second rasnd on a live socket fails at once with one line, instead of loading the whole table
 * and then tripping over the first one's RocksDB lock. A socket passed by the service manager
 * is not checked (the manager owns it); rasnd_server_listen decides everything else. */
int rasnd_server_precheck(const struct rasnd *d, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = d->cfg.socket;
	struct stat st;
	if (rasnd_passed_count(d->passed, RASND_SOCK_QUERY))
		return 0;
	if (!path || strlen(path) >= sizeof(sun.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (!socket_live(&sun))
		return 0;
	snprintf(err, errlen, "%s is in use: another rasnd answers there; not starting (stop it, or give this one another -s)",
		 path);
	return -EADDRINUSE;
}

/* Serve the socket handed over by the service manager (socket activation): daemon/sockact.c
 * checked that it is a listening Unix stream socket and made it non-blocking. */
static void adopt(struct rasnd *d, struct rasnd_passed_sock *ps)
{
	d->listen_fd = ps->fd;
	d->listen_path = NULL; /* the manager owns the file: never unlink it */
	log_info("serving the socket passed by the service manager: %s (not binding %s)", ps->where,
		 d->cfg.socket);
}

int rasnd_server_listen(struct rasnd *d, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = d->cfg.socket;
	struct rasnd_passed_sock *ps = rasnd_passed_take(d->passed, RASND_SOCK_QUERY);
	if (ps) {
		adopt(d, ps);
		goto arm;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long (%zu bytes; at most %zu): %s", strlen(path),
			 sizeof(sun.sun_path) - 1, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; not removing it", path);
			return -1;
		}
		if (socket_live(&sun)) {
			snprintf(err, errlen, "%s is in use: another rasnd answers there", path);
			return -1;
		}
		log_info("removing stale socket %s", path);
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* bind under a tight umask so the file never exists with looser rights than configured */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, d->cfg.socket_mode) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
	if (listen(fd, 1024) < 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	d->listen_fd = fd;
	d->listen_path = strdup(path);
	log_info("listening on %s (mode %04o)", path, d->cfg.socket_mode);
arm:
	d->listen_ev = event_new(d->base, d->listen_fd, EV_READ | EV_PERSIST, accept_cb, d);
	d->accept_retry_ev = evtimer_new(d->base, accept_retry_cb, d);
	if (!d->listen_ev || !d->accept_retry_ev || event_add(d->listen_ev, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rasnd_session_idle_arm(d);
	return 0;
}

void rasnd_server_close(struct rasnd *d)
{
	if (d->listen_ev) {
		event_free(d->listen_ev);
		d->listen_ev = NULL;
	}
	if (d->accept_retry_ev) {
		event_free(d->accept_retry_ev);
		d->accept_retry_ev = NULL;
	}
	while (!TAILQ_EMPTY(&d->rejects))
		reject_free(TAILQ_FIRST(&d->rejects));
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		d->listen_fd = -1;
	}
	if (d->listen_path) {
		unlink(d->listen_path);
		free(d->listen_path);
		d->listen_path = NULL;
	}
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd *d = arg;
	log_warn("drain timeout: closing %zu clients with replies still queued", d->n_sessions);
	event_base_loopexit(d->base, NULL);
}

/* Stop accepting, answer what is in flight, then exit. */
void rasnd_server_drain(struct rasnd *d)
{
	if (d->draining)
		return;
	d->draining = 1;
	rasnd_notify("STOPPING=1\nSTATUS=draining\n");
	log_info("draining: %zu clients connected", d->n_sessions);
	rasnd_server_close(d);
	rasnd_session_idle_arm(d); /* off while draining */
	struct timeval tv = { (time_t)d->cfg.drain_timeout,
			      (suseconds_t)((d->cfg.drain_timeout - (double)(time_t)d->cfg.drain_timeout) * 1e6) };
	d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
	if (d->drain_timer)
		evtimer_add(d->drain_timer, &tv);
	struct rasnd_session *s, *next;
	for (s = TAILQ_FIRST(&d->sessions); s; s = next) {
		next = TAILQ_NEXT(s, entry);
		rasnd_session_drain_check(s);
	}
	rasnd_server_maybe_exit(d);
}
