/* One client connection: raw fd events (no bufferevent). Every client is read into one
 * loop-wide buffer (d->rbuf, read_buffer bytes); a client keeps only what is not parsed yet (a
 * partial line, or lines left for a later pass), so an idle connection costs a few hundred
 * bytes. A pass over a client's lines is bounded (PASS_LINES, PASS_SECONDS, and
 * output_high_water of unread replies counting every reply by its size): the rest waits, the
 * client is not read meanwhile, and a zero-timeout timer continues it after the loop has
 * polled everyone else. Replies go into one output buffer, written with one write() per
 * batch (BENCHMARKS.md, pipeline, measures this path), in order through slots. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "lifecycle.h"
#include "rasnd.h"
#include "session.h"

#define LINES_PER_GROUP 64          /* answered together: address runs batch their lookups */
#define PASS_LINES 8192             /* lines one pass answers at most */
#define PASS_SECONDS 0.0005         /* and the time it may take: what other clients may wait */
#define IN_MIN 256                  /* smallest unparsed-input buffer */
#define IN_KEEP 4096                /* a bigger one is shrunk once mostly empty */
#define OUT_KEEP 65536              /* a drained output buffer bigger than this is freed */
#define TRIM_DELAY_S 1              /* quiet time before freed memory goes back to the system */
#define OUT_BUDGET ((size_t)64 << 20) /* every client's unread replies together, roughly */
#define SHARE_MIN ((size_t)64 << 10)  /* the least high-water mark a client gets */
#define READ_MIN ((size_t)16 << 10)   /* the least a client is read at once */

static void session_read_cb(evutil_socket_t fd, short what, void *arg);
static void session_write_cb(evutil_socket_t fd, short what, void *arg);
static void session_cont_cb(evutil_socket_t fd, short what, void *arg);

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
	s->active = rasnd_uptime(d);
	rasn_buf_init(&s->out);
	s->rev = event_new(d->base, fd, EV_READ | EV_PERSIST, session_read_cb, s);
	s->wev = event_new(d->base, fd, EV_WRITE | EV_PERSIST, session_write_cb, s);
	s->cont = evtimer_new(d->base, session_cont_cb, s);
	if (!s->rev || !s->wev || !s->cont || event_add(s->rev, NULL) < 0) {
		if (s->rev)
			event_free(s->rev);
		if (s->wev)
			event_free(s->wev);
		if (s->cont)
			event_free(s->cont);
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
	event_free(s->cont);
	s->rev = s->wev = s->cont = NULL;
	close(s->fd);
	s->fd = -1;
	TAILQ_REMOVE(&d->sessions, s, entry);
	d->n_sessions--;
	d->stats.conns_closed++;
	/* its buffers go now (pending slots may keep the struct a while) */
	rasn_buf_free(&s->out);
	rasn_buf_init(&s->out);
	s->out_off = 0;
	free(s->in);
	s->in = NULL;
	s->in_off = s->in_len = s->in_cap = 0;
	rasnd_session_trim_soon(d);
	/* Free on the next loop pass, never inside the callback that is still using s. */
	if (event_base_once(d->base, -1, EV_TIMEOUT, deferred_unref, s, NULL) < 0)
		log_warn("cannot defer a session free; leaking it");
	rasnd_server_maybe_exit(d);
}

/* Activity: the session goes to the end of the list, which is thus least recently active
 * first (the victim of an eviction, the first looked at by the idle sweep). */
static void session_touch(struct rasnd_session *s)
{
	struct rasnd *d = s->d;
	s->active = rasnd_uptime(d);
	if (TAILQ_NEXT(s, entry)) {
		TAILQ_REMOVE(&d->sessions, s, entry);
		TAILQ_INSERT_TAIL(&d->sessions, s, entry);
	}
}

/* Nothing owed to the client: no reply pending or unwritten, no line waiting to be parsed. */
static int session_idle(const struct rasnd_session *s)
{
	return !s->closed && !s->head && s->out.len == s->out_off && !s->backlog && !s->in_process;
}

int rasnd_session_evict_idle(struct rasnd *d)
{
	struct rasnd_session *s;
	TAILQ_FOREACH(s, &d->sessions, entry) {
		if (session_idle(s)) {
			d->stats.conns_evicted++;
			log_debug("max_clients reached: closing the client idle for %.1f s", rasnd_uptime(d) - s->active);
			rasnd_session_close(s);
			return 1;
		}
	}
	return 0;
}

static void idle_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd *d = arg;
	double limit = d->cfg.idle_timeout, now = rasnd_uptime(d);
	struct rasnd_session *s, *next;
	if (limit <= 0)
		return;
	for (s = TAILQ_FIRST(&d->sessions); s && now - s->active >= limit; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (session_idle(s)) {
			d->stats.conns_idle_closed++;
			rasnd_session_close(s);
		}
	}
	rasnd_session_idle_arm(d);
}

void rasnd_session_idle_arm(struct rasnd *d)
{
	double limit = d->cfg.idle_timeout;
	if (limit <= 0 || d->draining) {
		if (d->idle_ev)
			event_del(d->idle_ev);
		return;
	}
	if (!d->idle_ev && !(d->idle_ev = evtimer_new(d->base, idle_sweep_cb, d))) {
		log_warn("out of memory: [server] idle_timeout is not applied");
		return;
	}
	/* a few sweeps per timeout: a client is closed within about 1.25 x idle_timeout */
	double every = limit / 4 < 1 ? limit / 4 : 1;
	if (every < 0.01)
		every = 0.01;
	struct timeval tv = { (time_t)every, (suseconds_t)((every - (double)(time_t)every) * 1e6) };
	evtimer_add(d->idle_ev, &tv);
}

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	/* glibc keeps freed memory in its heap; after a burst, give the unused pages back */
	malloc_trim(0);
}

void rasnd_session_trim_soon(struct rasnd *d)
{
	if (!d->trim_ev && !(d->trim_ev = evtimer_new(d->base, trim_cb, d)))
		return;
	/* pushed back by every call: it runs once things have been quiet for a moment */
	struct timeval tv = { TRIM_DELAY_S, 0 };
	evtimer_add(d->trim_ev, &tv);
}

void rasnd_session_free_all(struct rasnd *d)
{
	if (d->idle_ev)
		event_free(d->idle_ev);
	if (d->trim_ev)
		event_free(d->trim_ev);
	d->idle_ev = d->trim_ev = NULL;
	free(d->rbuf);
	d->rbuf = NULL;
	d->rbuf_cap = 0;
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

/* output_high_water, or less with many clients: each gets a share of OUT_BUDGET (at least
 * SHARE_MIN), so that a burst of many pipelining clients stays bounded in memory as a whole. */
static size_t high_water(const struct rasnd *d)
{
	size_t share = OUT_BUDGET / (d->n_sessions ? d->n_sessions : 1);
	if (share < SHARE_MIN)
		share = SHARE_MIN;
	return share < d->cfg.output_high_water ? share : d->cfg.output_high_water;
}

static size_t low_water(const struct rasnd *d)
{
	size_t h = high_water(d) / 4;
	return h < d->cfg.output_low_water ? h : d->cfg.output_low_water;
}

int rasnd_session_pass_over(const struct rasnd_session *s)
{
	return s->pass_base + s->pass_out > high_water(s->d) ||
	       rasnd_uptime(s->d) - s->pass_start > PASS_SECONDS;
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

/* What the client may do next: be read, have its waiting lines continued on a later pass,
 * or nothing until its replies drain (output_high_water, with output_low_water as the
 * hysteresis) or its pending answers come (a barrier, max_pending). */
static void session_arm(struct rasnd_session *s)
{
	struct rasnd *d = s->d;
	size_t q = queued_bytes(s);
	if (q > high_water(d)) {
		if (!s->out_paused)
			d->stats.read_pauses++;
		s->out_paused = 1;
		set_reading(s, 0);
		return;
	}
	if (s->out_paused && q > low_water(d))
		return;
	s->out_paused = 0;
	if (rasnd_session_stalled(s)) {
		set_reading(s, 0);
		return;
	}
	if (s->backlog) {
		set_reading(s, 0);
		/* a timer, not event_active: the loop polls every other client before it runs */
		static const struct timeval now = { 0, 0 };
		if (!evtimer_pending(s->cont, NULL))
			evtimer_add(s->cont, &now);
		return;
	}
	set_reading(s, 1);
}

/* Write what is queued, then arm what comes next. Returns -1 when the session was closed. */
static int session_flush(struct rasnd_session *s)
{
	struct rasnd *d = s->d;
	int wrote = 0;
	while (s->out.len > s->out_off) {
		ssize_t n = write(s->fd, s->out.data + s->out_off, s->out.len - s->out_off);
		if (n > 0) {
			s->out_off += (size_t)n;
			d->stats.bytes_out += (uint64_t)n;
			wrote = 1;
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
	if (wrote)
		session_touch(s);
	if (s->out.oom) {
		log_warn("out of memory for a client's replies; closing it");
		rasnd_session_close(s);
		return -1;
	}
	if (s->out_off == s->out.len) {
		s->out.len = s->out_off = 0;
		event_del(s->wev);
		/* a burst leaves a large buffer: give it back (an idle client costs little), once
		 * the lines read are all answered (not between the passes of one read) */
		if (s->out.cap > OUT_KEEP && !s->backlog) {
			rasn_buf_free(&s->out);
			rasn_buf_init(&s->out);
			rasnd_session_trim_soon(d);
		}
	} else if (s->out_off > s->out.len / 2) {
		rasn_buf_consume(&s->out, s->out_off);
		s->out_off = 0;
	}
	session_arm(s);
	/* Finished: the client closed its side and every reply is out. */
	if (s->eof && !s->head && s->out.len == 0 && !s->backlog && !s->in_len) {
		rasnd_session_close(s);
		return -1;
	}
	return 0;
}

/* Keep n unparsed bytes at p (inside d->rbuf or s->in) as the session's input; the buffer
 * grows only as needed and shrinks again once mostly empty. backlog: lines are left for a
 * later pass; inside s->in they stay where they are (no copy per pass). Returns -1 out of
 * memory. */
static int keep_input(struct rasnd_session *s, const char *p, size_t n, int backlog)
{
	if (n == 0) {
		free(s->in);
		s->in = NULL;
		s->in_off = s->in_len = s->in_cap = 0;
		return 0;
	}
	int inside = s->in && p >= s->in && p < s->in + s->in_cap;
	if (inside && backlog) {
		s->in_off = (size_t)(p - s->in);
		s->in_len = n;
		return 0;
	}
	s->in_off = 0;
	if (inside) {
		memmove(s->in, p, n);
		s->in_len = n;
		p = s->in;
	}
	size_t want = IN_MIN;
	while (want < n)
		want *= 2;
	if (want > s->in_cap || (s->in_cap > IN_KEEP && want <= s->in_cap / 4)) {
		char *nb = realloc(s->in, want);
		if (!nb)
			return want > s->in_cap ? -1 : 0;
		s->in = nb;
		s->in_cap = want;
	}
	if (!inside)
		memcpy(s->in, p, n);
	s->in_len = n;
	return 0;
}

/* One pass over the complete lines of buf[0, len) (d->rbuf, or s->in for a continuation):
 * answer them in order until the pass's budget is spent or the session stalls; what is left
 * is kept in s->in. */
static void session_pass(struct rasnd_session *s, char *buf, size_t len)
{
	struct rasnd *d = s->d;
	char *p = buf, *end = buf + len, *nl;
	size_t lines = 0;
	int early = 0;
	s->in_process = 1;
	s->pass_base = queued_bytes(s);
	s->pass_out = 0;
	s->pass_start = rasnd_uptime(d);
	while (!s->closed) {
		if (rasnd_session_stalled(s) || lines >= PASS_LINES || rasnd_session_pass_over(s)) {
			early = 1;
			break;
		}
		/* gather complete lines, answer them together (address runs are looked up in one batch) */
		struct rasnd_line ln[LINES_PER_GROUP];
		size_t n = 0;
		char *q = p;
		while (n < LINES_PER_GROUP && (nl = memchr(q, '\n', (size_t)(end - q)))) {
			size_t l = (size_t)(nl - q);
			if (s->discarding) {
				s->discarding = 0; /* the over-long line ends here; it was answered already */
				q = nl + 1;
				p = q;
				continue;
			}
			if (l && q[l - 1] == '\r')
				l--;
			ln[n].p = q;
			ln[n].len = l;
			n++;
			q = nl + 1;
		}
		if (n == 0)
			break;
		size_t used = s->d->proto->lines(s, ln, n);
		lines += used;
		if (used < n) {
			p = (char *)ln[used].p; /* the first line not answered yet */
			early = 1;
			break;
		}
		p = q;
	}
	s->in_process = 0;
	if (s->closed)
		return;
	size_t rest = (size_t)(end - p);
	s->backlog = early;
	if (early) {
		if (!rasnd_session_stalled(s))
			d->stats.pass_yields++;
		if (keep_input(s, p, rest, 1) < 0)
			goto oom;
		return;
	}
	if (s->eof) {
		/* a last line without LF is still a request */
		if (rest && !s->discarding) {
			size_t l = rest;
			if (p[l - 1] == '\r')
				l--;
			if (l > RASN_LINE_MAX)
				s->d->proto->long_line(s, p, l);
			else
				s->d->proto->line(s, p, l);
		}
		keep_input(s, NULL, 0, 0);
		return;
	}
	if (s->discarding) {
		keep_input(s, NULL, 0, 0);
		return;
	}
	/* A partial line longer than the limit (plus room for CR) cannot become valid: answer it
	 * now and skip the rest of it, so a client cannot make us buffer without bound. */
	if (rest > RASN_LINE_MAX + 1) {
		s->d->proto->long_line(s, p, rest);
		s->discarding = 1;
		keep_input(s, NULL, 0, 0);
		return;
	}
	if (keep_input(s, p, rest, 0) == 0)
		return;
oom:
	log_warn("out of memory for a client's input; closing it");
	rasnd_session_close(s);
}

static void session_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_session *s = arg;
	struct rasnd *d = s->d;
	if (s->backlog) { /* not expected: reading is off while lines wait */
		set_reading(s, 0);
		return;
	}
	/* room for the unparsed tail (at most a line) before what is read */
	size_t want = d->cfg.read_buffer + RASN_LINE_MAX + 2;
	if (d->rbuf_cap != want) {
		char *nb = realloc(d->rbuf, want);
		if (!nb) {
			log_warn("out of memory for the read buffer");
			return;
		}
		d->rbuf = nb;
		d->rbuf_cap = want;
	}
	size_t tail = s->in_len;
	if (tail > RASN_LINE_MAX + 1) { /* not expected either: the tail is at most a line */
		set_reading(s, 0);
		s->backlog = 1;
		session_arm(s);
		return;
	}
	if (tail)
		memcpy(d->rbuf, s->in + s->in_off, tail);
	/* One read per wakeup: the per-client budget, so one busy client cannot starve others;
	 * with many clients, no more than their share of replies can answer (a line of input
	 * makes some ten times its size in replies), so that little input waits unparsed. */
	size_t room = d->cfg.read_buffer, share = high_water(d) / 4;
	if (share < READ_MIN)
		share = READ_MIN;
	if (share < room)
		room = share;
	ssize_t n = read(fd, d->rbuf + tail, room);
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
	} else {
		d->stats.bytes_in += (uint64_t)n;
		session_touch(s);
	}
	session_pass(s, d->rbuf, tail + (size_t)n);
	if (!s->closed)
		session_flush(s);
}

/* A later pass over the lines a bounded pass left (or that waited for a barrier). */
static void session_cont_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_session *s = arg;
	if (s->closed || !s->backlog || rasnd_session_stalled(s) || s->out_paused)
		return;
	if (s->in_len)
		session_pass(s, s->in + s->in_off, s->in_len);
	else
		session_pass(s, s->d->rbuf ? s->d->rbuf : (char *)"", 0);
	if (!s->closed && session_flush(s) == 0)
		rasnd_session_drain_check(s);
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
	/* Held until the end: freeing the finished slots below drops their references, and the
	 * last one of a closed session would otherwise free s while this function still uses it
	 * (the pattern of tmux's server_client_unref). */
	s->refs++;
	slot->done = 1;
	/* Release every finished slot at the head, in order (a closed session: nobody to tell). */
	while (s->head && s->head->done) {
		struct rasnd_slot *h = s->head;
		if (!s->closed) {
			rasn_buf_add(&s->out, h->reply.data, h->reply.len);
			rasn_buf_add(&s->out, h->after.data, h->after.len);
		}
		s->head = h->next;
		if (!s->head)
			s->tail = NULL;
		slot_free(h);
		s->refs--; /* ours is still held: never zero here */
	}
	if (s->closed)
		goto out;
	s->blocked = 0;
	for (struct rasnd_slot *p = s->head; p; p = p->next)
		s->blocked |= p->barrier;
	/* Completed from inside line processing (a cache hit answers at once): the caller goes
	 * on with the lines and flushes; re-entering here would parse the same buffer twice. */
	if (s->in_process)
		goto out;
	/* lines that waited behind a barrier or for answers: the flush arms their pass */
	if (session_flush(s) == 0)
		rasnd_session_drain_check(s);
out:
	session_unref(s);
}

/* While draining, a session that has answered all it received and has nothing more to read
 * is closed; one that still has input keeps being served until the drain deadline. */
void rasnd_session_drain_check(struct rasnd_session *s)
{
	if (!s->d->draining || s->closed || s->head || s->out.len > s->out_off || s->backlog)
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
