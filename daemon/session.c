/* One client connection: raw fd events (no bufferevent: one read of up to read_buffer bytes
 * per wakeup is parsed in one pass, replies go into one output buffer, written with one
 * write() per batch; BENCHMARKS.md, pipeline, measures this path), ordered replies through
 * slots, backpressure, and drain on shutdown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "lifecycle.h"
#include "rasnd.h"
#include "session.h"

static void session_read_cb(evutil_socket_t fd, short what, void *arg);
static void session_write_cb(evutil_socket_t fd, short what, void *arg);

static void session_unref(struct rasnd_session *s)
{
	if (--s->refs > 0)
		return;
	rasn_buf_free(&s->out);
	free(s->in);
	free(s);
}

static void deferred_unref(evutil_socket_t fd, short what, void *arg)
{
	session_unref(arg);
}

void rasnd_session_new(struct rasnd *d, int fd)
{
	struct rasnd_session *s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->d = d;
	s->fd = fd;
	s->refs = 1;
	s->in_cap = d->cfg.read_buffer;
	s->in = malloc(s->in_cap);
	rasn_buf_init(&s->out);
	s->rev = event_new(d->base, fd, EV_READ | EV_PERSIST, session_read_cb, s);
	s->wev = event_new(d->base, fd, EV_WRITE | EV_PERSIST, session_write_cb, s);
	if (!s->in || !s->rev || !s->wev || event_add(s->rev, NULL) < 0) {
		if (s->rev)
			event_free(s->rev);
		if (s->wev)
			event_free(s->wev);
		free(s->in);
		free(s);
		goto fail;
	}
	s->reading = 1;
	TAILQ_INSERT_TAIL(&d->sessions, s, entry);
	d->n_sessions++;
	d->stats.conns_accepted++;
	if (d->n_sessions > d->stats.conns_peak)
		d->stats.conns_peak = d->n_sessions;
	return;
fail:
	log_warn("out of memory accepting a client");
	close(fd);
}

void rasnd_session_close(struct rasnd_session *s)
{
	if (s->closed)
		return;
	struct rasnd *d = s->d;
	s->closed = 1;
	event_free(s->rev);
	event_free(s->wev);
	s->rev = s->wev = NULL;
	close(s->fd);
	s->fd = -1;
	TAILQ_REMOVE(&d->sessions, s, entry);
	d->n_sessions--;
	d->stats.conns_closed++;
	/* Free on the next loop pass, never inside the callback that is still using s. */
	if (event_base_once(d->base, -1, EV_TIMEOUT, deferred_unref, s, NULL) < 0)
		log_warn("cannot defer a session free; leaking it");
	rasnd_server_maybe_exit(d);
}

struct rasn_buf *rasnd_session_outbuf(struct rasnd_session *s)
{
	return s->tail ? &s->tail->after : &s->out;
}

static size_t queued_bytes(const struct rasnd_session *s)
{
	size_t n = s->out.len - s->out_off;
	for (const struct rasnd_slot *p = s->head; p; p = p->next)
		n += p->after.len;
	return n;
}

static void set_reading(struct rasnd_session *s, int on)
{
	if (s->closed || s->reading == on)
		return;
	if (on && s->eof)
		return;
	if (on)
		event_add(s->rev, NULL);
	else
		event_del(s->rev);
	s->reading = on;
}

/* Write what is queued. Returns -1 when the session was closed. */
static int session_flush(struct rasnd_session *s)
{
	struct rasnd *d = s->d;
	while (s->out.len > s->out_off) {
		ssize_t n = write(s->fd, s->out.data + s->out_off, s->out.len - s->out_off);
		if (n > 0) {
			s->out_off += (size_t)n;
			d->stats.bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(s->wev, NULL);
			break;
		}
		/* EPIPE/ECONNRESET: the client is gone; what it asked for can no longer be told */
		d->stats.conns_write_errors++;
		log_debug("client write failed: %s", n < 0 ? strerror(errno) : "short write");
		rasnd_session_close(s);
		return -1;
	}
	if (s->out_off == s->out.len) {
		s->out.len = s->out_off = 0;
		event_del(s->wev);
		/* a large burst leaves a large buffer: give it back */
		if (s->out.cap > ((size_t)4 << 20)) {
			rasn_buf_free(&s->out);
			rasn_buf_init(&s->out);
		}
	} else if (s->out_off > s->out.len / 2) {
		rasn_buf_consume(&s->out, s->out_off);
		s->out_off = 0;
	}
	size_t q = queued_bytes(s);
	if (q > d->cfg.output_high_water) {
		if (s->reading)
			d->stats.read_pauses++;
		set_reading(s, 0);
	} else if (q <= d->cfg.output_low_water && !rasnd_session_stalled(s)) {
		set_reading(s, 1);
	}
	if (s->out.oom) {
		log_warn("out of memory for a client's replies; closing it");
		rasnd_session_close(s);
		return -1;
	}
	/* Finished: the client closed its side and every reply is out. */
	if (s->eof && !s->head && s->out.len == 0) {
		rasnd_session_close(s);
		return -1;
	}
	return 0;
}

#define LINES_PER_PASS 64

static void process_lines_inner(struct rasnd_session *s);

static void process_lines(struct rasnd_session *s)
{
	s->in_process = 1;
	process_lines_inner(s);
	s->in_process = 0;
}

static void process_lines_inner(struct rasnd_session *s)
{
	char *p = s->in, *end = s->in + s->in_len;
	char *nl;
	while (!s->closed && !rasnd_session_stalled(s)) {
		/* gather complete lines, answer them together (address runs are looked up in one batch) */
		struct rasnd_line ln[LINES_PER_PASS];
		size_t n = 0;
		char *q = p;
		while (n < LINES_PER_PASS && (nl = memchr(q, '\n', (size_t)(end - q)))) {
			size_t len = (size_t)(nl - q);
			if (s->discarding) {
				s->discarding = 0; /* the over-long line ends here; it was answered already */
				q = nl + 1;
				p = q;
				continue;
			}
			if (len && q[len - 1] == '\r')
				len--;
			ln[n].p = q;
			ln[n].len = len;
			n++;
			q = nl + 1;
		}
		if (n == 0)
			break;
		size_t used = s->d->proto->lines(s, ln, n);
		if (used < n) {
			p = (char *)ln[used].p; /* the first line not answered yet */
			break;
		}
		p = q;
	}
	if (s->closed)
		return;
	size_t rest = (size_t)(end - p);
	if (rasnd_session_stalled(s)) {
		/* keep the unparsed lines; no more reading until the barrier lifts */
		memmove(s->in, p, rest);
		s->in_len = rest;
		return;
	}
	if (s->eof) {
		/* a last line without LF is still a request */
		if (rest && !s->discarding) {
			size_t len = rest;
			if (p[len - 1] == '\r')
				len--;
			if (len > RASN_LINE_MAX)
				s->d->proto->long_line(s, p, len);
			else
				s->d->proto->line(s, p, len);
		}
		s->in_len = 0;
		return;
	}
	if (s->discarding) {
		s->in_len = 0;
		return;
	}
	/* A partial line longer than the limit (plus room for CR) cannot become valid: answer it
	 * now and skip the rest of it, so a client cannot make us buffer without bound. */
	if (rest > RASN_LINE_MAX + 1) {
		s->d->proto->long_line(s, p, rest);
		s->discarding = 1;
		s->in_len = 0;
		return;
	}
	memmove(s->in, p, rest);
	s->in_len = rest;
}

static void session_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_session *s = arg;
	struct rasnd *d = s->d;
	/* One read per wakeup: the per-client budget, so one busy client cannot starve others. */
	ssize_t n = read(fd, s->in + s->in_len, s->in_cap - s->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			rasnd_session_drain_check(s);
			return;
		}
		log_debug("client read failed: %s", strerror(errno));
		rasnd_session_close(s);
		return;
	}
	if (n == 0) {
		s->eof = 1;
		set_reading(s, 0);
		process_lines(s);
		if (!s->closed)
			session_flush(s);
		return;
	}
	d->stats.bytes_in += (uint64_t)n;
	s->in_len += (size_t)n;
	process_lines(s);
	if (!s->closed)
		session_flush(s);
}

static void session_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_session *s = arg;
	if (session_flush(s) == 0)
		rasnd_session_drain_check(s);
}

struct rasnd_slot *rasnd_session_slot(struct rasnd_session *s, const char *q, size_t qlen, int barrier)
{
	struct rasnd_slot *slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	slot->s = s;
	rasn_buf_init(&slot->reply);
	rasn_buf_init(&slot->after);
	slot->qlen = qlen < sizeof(slot->query) ? qlen : sizeof(slot->query);
	memcpy(slot->query, q, slot->qlen);
	if (s->tail)
		s->tail->next = slot;
	else
		s->head = slot;
	s->tail = slot;
	s->refs++;
	if (++s->n_pending >= s->d->cfg.max_pending)
		set_reading(s, 0); /* enough upstream work for one client: wait for answers */
	if (barrier) {
		slot->barrier = 1;
		s->blocked = 1;
		set_reading(s, 0);
	}
	return slot;
}

int rasnd_session_stalled(const struct rasnd_session *s)
{
	return s->blocked || s->n_pending >= s->d->cfg.max_pending;
}

static void slot_free(struct rasnd_slot *slot)
{
	slot->s->n_pending--;
	rasn_buf_free(&slot->reply);
	rasn_buf_free(&slot->after);
	free(slot);
}

void rasnd_slot_complete(struct rasnd_slot *slot)
{
	if (slot->on_done) {
		slot->on_done(slot); /* not a session's: its owner takes it back */
		return;
	}
	struct rasnd_session *s = slot->s;
	int was_stalled = rasnd_session_stalled(s); /* before the finished slots are let go */
	slot->done = 1;
	if (s->closed) {
		/* nobody to tell; the session is gone, keep its queue consistent and let go */
		while (s->head && s->head->done) {
			struct rasnd_slot *h = s->head;
			s->head = h->next;
			if (!s->head)
				s->tail = NULL;
			slot_free(h);
			/* the last reference frees s: nothing is left to look at then */
			int last = s->refs == 1;
			session_unref(s);
			if (last)
				return;
		}
		return;
	}
	/* Release every finished slot at the head, in order. */
	while (s->head && s->head->done) {
		struct rasnd_slot *h = s->head;
		rasn_buf_add(&s->out, h->reply.data, h->reply.len);
		rasn_buf_add(&s->out, h->after.data, h->after.len);
		s->head = h->next;
		if (!s->head)
			s->tail = NULL;
		slot_free(h);
		s->refs--; /* the list still holds its own reference: never zero here */
	}
	s->blocked = 0;
	for (struct rasnd_slot *p = s->head; p; p = p->next)
		s->blocked |= p->barrier;
	/* Completed from inside line processing (a cache hit answers at once): the caller goes
	 * on with the lines and flushes; re-entering here would parse the same buffer twice. */
	if (s->in_process)
		return;
	if (was_stalled && !rasnd_session_stalled(s)) {
		/* lines that waited behind the barrier, or for answers to drain */
		process_lines(s);
		if (s->closed)
			return;
	}
	if (session_flush(s) == 0)
		rasnd_session_drain_check(s);
}

/* While draining, a session that has answered all it received and has nothing more to read
 * is closed; one that still has input keeps being served until the drain deadline. */
void rasnd_session_drain_check(struct rasnd_session *s)
{
	if (!s->d->draining || s->closed || s->head || s->out.len > s->out_off)
		return;
	if (s->eof) {
		rasnd_session_close(s);
		return;
	}
	/* Peek: anything still unread in the socket is a request in flight. */
	char c;
	ssize_t n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		rasnd_session_close(s);
	else if (n == 0)
		s->eof = 1, rasnd_session_close(s);
	/* n > 0: the read event will come */
	else if (n > 0)
		set_reading(s, 1);
}
