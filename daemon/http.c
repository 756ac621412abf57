/* The HTTPS client (http.h): one state machine per connection, driven by raw events on its
 * socket. A connection goes RESOLVING -> CONNECTING -> HANDSHAKE -> READY -> freed.
 *
 * Requests never touch a connection inside rasnd_http_get: they go into their origin's queue
 * and a zero-delay event (the origin's dispatch) hands them to connections on the next loop
 * pass. So a callback that calls rasnd_http_get from inside nghttp2's callbacks or the HTTP/1.1
 * parser changes nothing under their feet, and 500 requests made in one go leave in one write.
 *
 * Closing a connection happens only at the top of an event callback (never inside nghttp2's
 * callbacks): they record what happened, and the event callback acts on it afterwards.
 *
 * Names: a numeric host is used as is; any other name is resolved through the daemon's c-ares
 * pool (daemon/dns.h, rasnd_dns_resolve: the hosts file, then the resolvers), on the loop.
 * Without a pool (no resolver) a name origin fails to connect, with a message that says so.
 * Every address is tried in turn.
 *
 * The process must ignore SIGPIPE (the daemon does): OpenSSL writes with plain write(). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "build_config.h"
#include "clock.h"
#include "dns.h"
#include "h1resp.h"
#include "http.h"
#include "log.h"
#include "url.h"

#define MAX_HOST RASN_URL_HOST_MAX
#define MAX_PATH 8192
#define MAX_HDR_VALUE 1024          /* if-none-match, if-modified-since */
#define MAX_ADDRS RASND_DNS_ADDRS_MAX
#define HEAD_MAX RASN_H1RESP_HEAD_MAX /* response header block, HTTP/1.1 and HTTP/2 */
#define READ_CHUNK 16384
#define READ_BUDGET (1024 * 1024)   /* per event: then yield to the loop */
#define OUT_HIGH (256 * 1024)       /* stop pulling frames from nghttp2 above this */
#define STREAMS_CAP 1000            /* whatever the server says */
#define STREAMS_INITIAL 100         /* until the server's SETTINGS (RFC 9113 advice) */
#define ORIGINS_KEEP 64             /* empty origins beyond this are freed */
#define MSG_LEN 384

static const char user_agent[] = "rasnd/" RASN_VERSION;

enum conn_state { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_READY };
enum why { WHY_IDLE, WHY_PING, WHY_PEER, WHY_ERROR, WHY_ONESHOT, WHY_SHUTDOWN };

struct conn;
struct origin;

struct req {
	struct req *next, *prev;
	struct origin *o;
	struct conn *c;
	rasnd_http_cb cb;
	void *ud;
	char *path, *inm, *ims;
	int32_t stream_id;
	struct event *timer;
	int status;
	int interim;                /* HTTP/2: the header block being read is a 1xx */
	int complete;               /* HTTP/2: END_STREAM seen */
	int refused;                /* HTTP/2: a stream of it was refused once already */
	enum rasnd_http_err err;    /* failed mid-way (ETOOBIG, ...): reported at stream close */
	char msg[MSG_LEN];
	size_t head_bytes;
	struct rasn_buf body;
	size_t max_body;            /* this request's bound */
	int to_fd, fd;              /* the body goes to fd as it arrives */
	size_t written;
	char *etag, *last_modified, *retry_after;
	int reused, h2, resumed;    /* of the connection that carried it */
};

struct rlist {
	struct req *head, *tail;
	size_t n;
};

struct resolve {                    /* a name lookup in the DNS pool: its callback frees it */
	struct conn *c;             /* NULL once the connection has gone */
};

struct conn {
	struct conn *next, *prev;
	struct origin *o;
	struct rasnd_http *h;
	enum conn_state state;
	int fd;
	SSL *ssl;
	struct event *rev, *wev, *timer;
	struct resolve *res;
	int res_sync;               /* inside rasnd_dns_resolve */
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t alen[MAX_ADDRS];
	unsigned n_addrs, addr_i;
	char last_err[MSG_LEN];
	uint64_t deadline;          /* connect + handshake */
	int h2, resumed, goaway, handshaken;
	nghttp2_session *ng;
	uint32_t max_streams;
	struct rlist active;
	uint64_t carried;
	size_t in_flight_max;       /* most requests at once on it */
	uint64_t idle_since, ping_base, ping_sent_at;
	struct rasn_buf out;
	size_t out_off;
	uint64_t bio_in, bio_out;
	/* set by callbacks, acted on by the event callback */
	int fail, fail_why;
	enum rasnd_http_err fail_err;
	char fail_msg[MSG_LEN];
	int close_after;            /* HTTP/1.1 Connection: close, HTTP/1.0 */
	/* HTTP/1.1: what the parser has not consumed yet, and its state (reset per request) */
	struct rasn_buf in;
	struct rasn_h1resp h1;
};

struct origin {
	struct origin *next;
	struct rasnd_http *h;
	char host[MAX_HOST + 1];
	char key[MAX_HOST + 16];    /* host:port, also the session cache key */
	char authority[MAX_HOST + 16];
	uint16_t port;
	int is_ip;
	int hint;                   /* what the last handshake gave: 0 unknown, 1 HTTP/1.1, 2 h2 */
	uint32_t max_streams;
	struct conn *conns;
	struct rlist queue;
	size_t in_flight_max;
	uint64_t conns_total, streams_closed; /* for its mean: opened, carried by closed ones */
	struct event *dispatch;
};

struct sess {
	struct sess *next, *prev;
	char key[MAX_HOST + 16];
	SSL_SESSION *s;
};

struct rasnd_http {
	struct event_base *base;
	struct rasnd_http_opts o;
	char *ca_file;
	SSL_CTX *ctx;
	struct origin *origins;
	size_t n_origins;
	struct sess *sess_head, *sess_tail; /* most recently used first */
	size_t n_sess;
	struct rlist done;          /* to complete on the next loop pass */
	struct event *done_ev;
	struct rasnd_http_stats st;
	struct rasnd_dns *dns;      /* origin names; NULL: numeric hosts only */
	int closing;
};

static int ssl_idx = -1;

static void conn_connect_next(struct conn *c);
static void conn_drop_socket(struct conn *c);

static void rl_push(struct rlist *l, struct req *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void rl_push_front(struct rlist *l, struct req *r)
{
	r->prev = NULL;
	r->next = l->head;
	if (l->head)
		l->head->prev = r;
	else
		l->tail = r;
	l->head = r;
	l->n++;
}

static void rl_remove(struct rlist *l, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->next = r->prev = NULL;
	l->n--;
}

static struct req *rl_pop(struct rlist *l)
{
	struct req *r = l->head;
	if (r)
		rl_remove(l, r);
	return r;
}

void rasnd_http_opts_default(struct rasnd_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->idle_per_host = 100;
	o->max_conns_per_host = 16;
	o->idle_timeout_ms = 90000;
	o->ping_interval_ms = 20000;
	o->ping_timeout_ms = 20000;
	o->connect_timeout_ms = 10000;
	o->request_timeout_ms = 30000;
	o->stream_window = 2u << 20;
	o->conn_window = 4u << 20;
	o->max_body = 256u << 20;
	o->max_queued = 4096;
	o->session_cache = 1024;
	o->http2 = 1;
	o->reuse = 1;
	o->sock.nodelay = 1;
	o->sock.keepalive = 1;
	o->sock.keep_idle = 60;
}

const char *rasnd_http_err_name(enum rasnd_http_err e)
{
	static const char *const names[] = {
		[RASND_HTTP_OK] = "ok", [RASND_HTTP_EURL] = "url", [RASND_HTTP_ECONNECT] = "connect",
		[RASND_HTTP_ETIMEOUT] = "timeout", [RASND_HTTP_ETLS] = "tls", [RASND_HTTP_EPROTO] = "protocol",
		[RASND_HTTP_ECLOSED] = "closed", [RASND_HTTP_ETOOBIG] = "too_big", [RASND_HTTP_EBUSY] = "busy",
		[RASND_HTTP_ENOMEM] = "nomem", [RASND_HTTP_EWRITE] = "write", [RASND_HTTP_ESHUTDOWN] = "shutdown",
	};
	return (unsigned)e < RASN_ARRAY_LEN(names) && names[e] ? names[e] : "?";
}

/* ---- requests ---- */

static void req_free(struct req *r)
{
	if (r->timer)
		event_free(r->timer);
	free(r->path);
	free(r->inm);
	free(r->ims);
	free(r->etag);
	free(r->last_modified);
	free(r->retry_after);
	rasn_buf_free(&r->body);
	free(r);
}

/* Runs the callback and frees the request, which is on no list any more. */
static void req_finish(struct rasnd_http *h, struct req *r, enum rasnd_http_err err, const char *msg)
{
	struct rasnd_http_response resp;
	char code[8];
	memset(&resp, 0, sizeof(resp));
	if (err == RASND_HTTP_OK && r->body.oom) {
		err = RASND_HTTP_ENOMEM;
		msg = "out of memory for the body";
	}
	resp.err = err;
	if (err == RASND_HTTP_OK) {
		resp.status = r->status;
		snprintf(code, sizeof(code), "%d", r->status);
		resp.errmsg = code;
		rasn_buf_addc(&r->body, '\0'); /* the NUL the contract promises, not counted */
		if (r->body.oom) {
			resp.err = RASND_HTTP_ENOMEM;
			resp.status = 0;
			resp.errmsg = "out of memory for the body";
		} else {
			resp.body = r->body.data;
			resp.body_len = r->to_fd ? r->written : r->body.len - 1;
			resp.etag = r->etag;
			resp.last_modified = r->last_modified;
			resp.retry_after = r->retry_after;
		}
	} else {
		resp.errmsg = msg && *msg ? msg : rasnd_http_err_name(err);
	}
	if (!resp.body)
		resp.body = "";
	resp.http2 = r->h2;
	resp.reused = r->reused;
	resp.resumed = r->resumed;
	if (resp.err == RASND_HTTP_OK) {
		h->st.responses++;
		if (r->status >= 200 && r->status < 300)
			h->st.status_2xx++;
		else if (r->status >= 300 && r->status < 400)
			h->st.status_3xx++;
		else if (r->status >= 400 && r->status < 500)
			h->st.status_4xx++;
		else if (r->status >= 500)
			h->st.status_5xx++;
	} else {
		h->st.errors[resp.err]++;
	}
	r->c = NULL;
	if (r->timer)
		evtimer_del(r->timer);
	r->cb(r->ud, &resp);
	req_free(r);
}

/* Completes on the next loop pass (EBUSY, and anything refused before it got anywhere). */
static void req_later(struct rasnd_http *h, struct req *r, enum rasnd_http_err err, const char *msg)
{
	if (r->timer)
		evtimer_del(r->timer); /* it would look for the request in its origin's queue */
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	rl_push(&h->done, r);
	event_active(h->done_ev, 0, 0);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_http *h = arg;
	struct rlist l = h->done;
	memset(&h->done, 0, sizeof(h->done));
	struct req *r;
	while ((r = rl_pop(&l)))
		req_finish(h, r, r->err, r->msg);
}

/* ---- TLS session cache, keyed by origin ---- */

static struct sess *sess_find(struct rasnd_http *h, const char *key)
{
	for (struct sess *s = h->sess_head; s; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static void sess_unlink(struct rasnd_http *h, struct sess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->sess_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		h->sess_tail = s->prev;
	s->next = s->prev = NULL;
	h->n_sess--;
}

static void sess_front(struct rasnd_http *h, struct sess *s)
{
	s->prev = NULL;
	s->next = h->sess_head;
	if (h->sess_head)
		h->sess_head->prev = s;
	else
		h->sess_tail = s;
	h->sess_head = s;
	h->n_sess++;
}

/* OpenSSL hands us one reference; returning 1 keeps it. TLS 1.3 tickets come here after the
 * handshake, during SSL_read. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_ex_data(ssl, ssl_idx);
	if (!c || c->h->o.session_cache == 0 || !SSL_SESSION_is_resumable(sess))
		return 0;
	struct rasnd_http *h = c->h;
	struct sess *s = sess_find(h, c->o->key);
	if (s) {
		sess_unlink(h, s);
		SSL_SESSION_free(s->s);
	} else {
		if (h->n_sess >= h->o.session_cache && h->sess_tail) {
			s = h->sess_tail;
			sess_unlink(h, s);
			SSL_SESSION_free(s->s);
		} else if (!(s = calloc(1, sizeof(*s)))) {
			return 0;
		}
		snprintf(s->key, sizeof(s->key), "%s", c->o->key);
	}
	s->s = sess;
	sess_front(h, s);
	return 1;
}

static void sess_free_all(struct rasnd_http *h)
{
	struct sess *s;
	while ((s = h->sess_head)) {
		sess_unlink(h, s);
		SSL_SESSION_free(s->s);
		free(s);
	}
}

/* ---- connections: closing ---- */

static void conn_count_bytes(struct conn *c)
{
	if (!c->ssl)
		return;
	BIO *rb = SSL_get_rbio(c->ssl), *wb = SSL_get_wbio(c->ssl);
	uint64_t in = rb ? BIO_number_read(rb) : 0, out = wb ? BIO_number_written(wb) : 0;
	if (in > c->bio_in)
		c->h->st.bytes_in += in - c->bio_in;
	if (out > c->bio_out)
		c->h->st.bytes_out += out - c->bio_out;
	c->bio_in = in;
	c->bio_out = out;
}

static int origin_live_conns(const struct origin *o, const struct conn *except)
{
	int n = 0;
	for (const struct conn *c = o->conns; c; c = c->next)
		if (c != except)
			n++;
	return n;
}

static void req_fail_detached(struct rasnd_http *h, struct req *r, enum rasnd_http_err err, const char *msg)
{
	req_finish(h, r, err, msg);
}

/* Every request on the connection completes with err; when the connection never got ready
 * and nothing else of its origin is open or opening, the origin's queue fails too (those
 * requests were waiting for this attempt). Only from the top of an event callback. */
static void conn_close(struct conn *c, int why, enum rasnd_http_err err, const char *msg)
{
	struct rasnd_http *h = c->h;
	struct origin *o = c->o;
	int was_ready = c->state == C_READY;

	if (c->ssl && c->handshaken) {
		if (c->ng && why != WHY_ERROR && why != WHY_PEER) {
			/* their callbacks run below, not from nghttp2 */
			for (struct req *r = c->active.head; r; r = r->next)
				nghttp2_session_set_stream_user_data(c->ng, r->stream_id, NULL);
			/* best effort: GOAWAY and close_notify, so the server logs a clean end */
			nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
			const uint8_t *p;
			ssize_t n;
			while ((n = nghttp2_session_mem_send(c->ng, &p)) > 0)
				rasn_buf_add(&c->out, p, (size_t)n);
		}
		if (c->out.len > c->out_off && c->out.len - c->out_off <= INT_MAX) {
			ERR_clear_error();
			SSL_write(c->ssl, c->out.data + c->out_off, (int)(c->out.len - c->out_off));
		}
		/* without it OpenSSL marks the session not resumable */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	conn_count_bytes(c);

	if (c->prev)
		c->prev->next = c->next;
	else
		o->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;

	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->timer)
		event_free(c->timer);
	if (c->res)
		c->res->c = NULL; /* its answer, when it comes, finds no connection */
	if (c->ng)
		nghttp2_session_del(c->ng);
	if (c->ssl) {
		SSL_set_ex_data(c->ssl, ssl_idx, NULL);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);

	switch (why) {
	case WHY_IDLE: h->st.closed_idle++; break;
	case WHY_PING: h->st.closed_ping++; break;
	case WHY_PEER: h->st.closed_peer++; break;
	case WHY_ONESHOT: h->st.closed_oneshot++; break;
	case WHY_SHUTDOWN: h->st.closed_shutdown++; break;
	default: h->st.closed_error++; break;
	}
	h->st.conns_closed++;
	h->st.streams_total_closed += c->carried;
	o->streams_closed += c->carried;

	/* the callbacks run with the connection gone from the pool */
	struct rlist act = c->active;
	memset(&c->active, 0, sizeof(c->active));
	struct req *r;
	for (r = act.head; r; r = r->next)
		r->c = NULL;
	while ((r = rl_pop(&act)))
		req_fail_detached(h, r, err, msg);
	if (!was_ready && !h->closing && origin_live_conns(o, c) == 0) {
		struct rlist q = o->queue;
		memset(&o->queue, 0, sizeof(o->queue));
		while ((r = rl_pop(&q)))
			req_finish(h, r, err, msg);
	}
	rasn_buf_free(&c->out);
	rasn_buf_free(&c->in);
	free(c);
	if (!h->closing && o->queue.n)
		event_active(o->dispatch, 0, 0);
}

static int conn_failf(struct conn *c, int why, enum rasnd_http_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int conn_failf(struct conn *c, int why, enum rasnd_http_err err, const char *fmt, ...)
{
	if (c->fail)
		return -1; /* the first cause is the one to report */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->fail_msg, sizeof(c->fail_msg), fmt, ap);
	va_end(ap);
	c->fail = 1;
	c->fail_why = why;
	c->fail_err = err;
	return -1;
}

/* ---- timers ---- */

static void conn_arm(struct conn *c)
{
	const struct rasnd_http_opts *o = &c->h->o;
	uint64_t now = rasn_clock_mono_ms(), when = UINT64_MAX;
	if (c->state != C_READY) {
		when = c->deadline;
	} else {
		if (c->active.n == 0 && c->idle_since)
			when = c->idle_since + o->idle_timeout_ms;
		if (c->ng && c->ping_sent_at) {
			uint64_t t = c->ping_sent_at + o->ping_timeout_ms;
			when = t < when ? t : when;
		} else if (c->ng && o->ping_interval_ms && c->active.n == 0) {
			uint64_t t = c->ping_base + o->ping_interval_ms;
			when = t < when ? t : when;
		}
	}
	if (when == UINT64_MAX) {
		evtimer_del(c->timer);
		return;
	}
	uint64_t d = when > now ? when - now : 0;
	struct timeval tv = { (time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

static void origin_kick(struct origin *o)
{
	if (!o->h->closing)
		event_active(o->dispatch, 0, 0);
}

/* ---- HTTP/1.1 ---- */

static char *dup_n(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int set_str(char **dst, const char *p, size_t n)
{
	char *s = dup_n(p, n);
	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int body_add(struct conn *c, struct req *r, const char *p, size_t n)
{
	(void)c;
	size_t have = r->to_fd ? r->written : r->body.len;
	if (n > r->max_body - have) {
		snprintf(r->msg, sizeof(r->msg), "body larger than %zu bytes", r->max_body);
		r->err = RASND_HTTP_ETOOBIG;
		return -1;
	}
	if (r->to_fd) {
		/* a local file: page-cache writes of one read's worth (READ_CHUNK), so the loop
		 * never blocks on one long burst */
		while (n) {
			ssize_t w = write(r->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(r->msg, sizeof(r->msg), "cannot write the body: %s",
					 w < 0 ? strerror(errno) : "no space");
				r->err = RASND_HTTP_EWRITE;
				return -1;
			}
			p += w;
			n -= (size_t)w;
			r->written += (size_t)w;
		}
		return 0;
	}
	rasn_buf_add(&r->body, p, n);
	if (r->body.oom) {
		snprintf(r->msg, sizeof(r->msg), "out of memory for the body");
		r->err = RASND_HTTP_ENOMEM;
		return -1;
	}
	return 0;
}

static void conn_request_done(struct conn *c, struct req *r);

/* lib/h1resp.c parses; these callbacks tie its events to the request at the head of the
 * connection (HTTP/1.1 carries one at a time). They record, never close. */
static int on_h1_head(void *ud, const struct rasn_h1resp_head *hd)
{
	struct conn *c = ud;
	struct req *r = c->active.head;
	if ((hd->etag && set_str(&r->etag, hd->etag, hd->etag_len) < 0) ||
	    (hd->last_modified && set_str(&r->last_modified, hd->last_modified, hd->last_modified_len) < 0) ||
	    (hd->retry_after && set_str(&r->retry_after, hd->retry_after, hd->retry_after_len) < 0))
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	r->status = hd->status;
	c->close_after = hd->close;
	return 0;
}

static int on_h1_body(void *ud, const char *p, size_t n)
{
	struct conn *c = ud;
	return body_add(c, c->active.head, p, n);
}

/* Stops the parser after each response: the next bytes need a request of their own. */
static int on_h1_complete(void *ud)
{
	struct conn *c = ud;
	conn_request_done(c, c->active.head);
	return 1;
}

/* A protocol error breaks the connection for everyone on it; a body over max_body is the
 * request's own failure (the connection still closes: the rest of the body would follow). */
static void on_h1_error(void *ud, enum rasn_h1resp_err kind, const char *reason, const char *msg)
{
	struct conn *c = ud;
	struct req *r = c->active.head;
	if (kind == RASN_H1RESP_ETOOBIG) {
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
		r->err = RASND_HTTP_ETOOBIG;
	} else {
		conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "%s", msg);
	}
}

static const struct rasn_h1resp_cbs h1_cbs = {
	.on_head = on_h1_head,
	.on_body = on_h1_body,
	.on_complete = on_h1_complete,
	.on_error = on_h1_error,
};

/* Hands c->in to the parser, one response at a time. Returns 0, or -1 with c->fail set (the
 * connection is to close; a request's own error is in r->err). */
static int h1_parse(struct conn *c)
{
	size_t pos = 0;
	int rc = 0;
	while (pos < c->in.len && !c->fail) {
		struct req *r = c->active.head;
		if (!r) {
			rc = conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "unsolicited data from the server");
			break;
		}
		if (r->err) /* a request failed mid-body: the connection can't be reused */
			break;
		size_t used = rasn_h1resp_feed(&c->h1, &h1_cbs, c, c->in.data + pos, c->in.len - pos);
		pos += used;
		/* r is freed when its response completed: look at the head again */
		if (c->fail || rasn_h1resp_failed(&c->h1) || (c->active.head && c->active.head->err)) {
			rc = -1;
			break;
		}
		if (used == 0) /* the rest is an incomplete unit: wait for more */
			break;
	}
	rasn_buf_consume(&c->in, pos);
	return rc;
}

static int h1_feed(struct conn *c, const char *p, size_t n)
{
	rasn_buf_add(&c->in, p, n);
	if (c->in.oom)
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	return h1_parse(c);
}

/* ---- HTTP/2 callbacks: record, never close ---- */

static int on_h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
			const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!r || r->err)
		return 0;
	r->head_bytes += nl + vl + 32;
	if (r->head_bytes > HEAD_MAX) {
		r->err = RASND_HTTP_EPROTO;
		snprintf(r->msg, sizeof(r->msg), "response header over %d bytes", HEAD_MAX);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
	}
	const char *n = (const char *)name, *v = (const char *)value;
	if (nl == 7 && memcmp(n, ":status", 7) == 0) {
		int st = 0;
		if (vl != 3 || !isdigit(value[0]) || !isdigit(value[1]) || !isdigit(value[2])) {
			r->err = RASND_HTTP_EPROTO;
			snprintf(r->msg, sizeof(r->msg), "bad :status");
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		st = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
		r->interim = st < 200;
		if (!r->interim)
			r->status = st;
		return 0;
	}
	if (r->interim)
		return 0;
	char **dst = NULL;
	if (nl == 4 && memcmp(n, "etag", 4) == 0)
		dst = &r->etag;
	else if (nl == 13 && memcmp(n, "last-modified", 13) == 0)
		dst = &r->last_modified;
	else if (nl == 11 && memcmp(n, "retry-after", 11) == 0)
		dst = &r->retry_after;
	if (dst && set_str(dst, v, vl) < 0) {
		r->err = RASND_HTTP_ENOMEM;
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_h2_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct conn *c = ud;
	struct req *r = nghttp2_session_get_stream_user_data(s, sid);
	if (!r || r->err)
		return 0;
	if (body_add(c, r, (const char *)data, len) < 0)
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
	return 0;
}

static int on_h2_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct conn *c = ud;
	switch (f->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) {
			uint32_t m = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
			c->max_streams = m > STREAMS_CAP ? STREAMS_CAP : m;
			c->o->max_streams = c->max_streams;
			origin_kick(c->o);
		}
		break;
	case NGHTTP2_PING:
		if ((f->hd.flags & NGHTTP2_FLAG_ACK) && c->ping_sent_at) {
			c->h->st.pings_acked++;
			c->ping_sent_at = 0;
			c->ping_base = rasn_clock_mono_ms();
		}
		break;
	case NGHTTP2_GOAWAY:
		c->goaway = 1;
		origin_kick(c->o);
		break;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			struct req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
			if (r)
				r->complete = 1;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int on_h2_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct conn *c = ud;
	struct req *r = nghttp2_session_get_stream_user_data(s, sid);
	if (!r)
		return 0;
	nghttp2_session_set_stream_user_data(s, sid, NULL);
	rl_remove(&c->active, r);
	if (r->err) {
		req_finish(c->h, r, r->err, r->msg);
	} else if (code == NGHTTP2_REFUSED_STREAM && r->status == 0 && !r->refused && !r->written) {
		/* RFC 9113 8.7: the server did not process a refused stream, so it may go again
		 * (sent before the server's SETTINGS lowered the limit, or past a GOAWAY): back to
		 * the front of the queue, still under its request timeout */
		r->refused = 1;
		r->c = NULL;
		r->stream_id = 0;
		rl_push_front(&c->o->queue, r);
	} else if (r->complete && r->status >= 200) {
		req_finish(c->h, r, RASND_HTTP_OK, NULL);
	} else {
		char m[MSG_LEN];
		snprintf(m, sizeof(m), "stream closed before the response was complete (%s)",
			 code == NGHTTP2_REFUSED_STREAM ? "refused, GOAWAY" : nghttp2_http2_strerror(code));
		req_finish(c->h, r, code == NGHTTP2_NO_ERROR || code == NGHTTP2_REFUSED_STREAM ||
			   code == NGHTTP2_CANCEL ? RASND_HTTP_ECLOSED : RASND_HTTP_EPROTO, m);
	}
	if (c->active.n == 0) {
		c->idle_since = c->ping_base = rasn_clock_mono_ms();
	}
	origin_kick(c->o);
	return 0;
}

/* ---- I/O ---- */

static void conn_request_done(struct conn *c, struct req *r)
{
	rl_remove(&c->active, r);
	req_finish(c->h, r, RASND_HTTP_OK, NULL);
	if (c->active.n == 0)
		c->idle_since = c->ping_base = rasn_clock_mono_ms();
	origin_kick(c->o);
}

static int tls_error(struct conn *c, int rc, const char *what)
{
	int e = SSL_get_error(c->ssl, rc);
	unsigned long ee = ERR_peek_last_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return conn_failf(c, WHY_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
	if (ee)
		return conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "TLS %s failed: %s", what,
				  ERR_reason_error_string(ee) ? ERR_reason_error_string(ee) : "?");
	if (e == SSL_ERROR_SYSCALL && errno && errno != EAGAIN)
		return conn_failf(c, WHY_PEER, RASND_HTTP_ECLOSED, "%s: %s", what, strerror(errno));
	return conn_failf(c, WHY_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
}

/* Pull frames from nghttp2 and write until done or the socket is full. */
static int conn_flush(struct conn *c)
{
	for (;;) {
		if (c->ng) {
			while (c->out.len - c->out_off < OUT_HIGH) {
				const uint8_t *p;
				ssize_t n = nghttp2_session_mem_send(c->ng, &p);
				if (n < 0)
					return conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s",
							  nghttp2_strerror((int)n));
				if (n == 0)
					break;
				rasn_buf_add(&c->out, p, (size_t)n);
			}
			if (c->out.oom)
				return conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
		}
		size_t pending = c->out.len - c->out_off;
		if (pending == 0) {
			c->out.len = c->out_off = 0;
			break;
		}
		ERR_clear_error();
		errno = 0;
		int n = SSL_write(c->ssl, c->out.data + c->out_off, pending > INT_MAX ? INT_MAX : (int)pending);
		if (n > 0) {
			c->out_off += (size_t)n;
			if (c->out_off == c->out.len)
				c->out.len = c->out_off = 0;
			else if (c->out_off > OUT_HIGH) {
				rasn_buf_consume(&c->out, c->out_off);
				c->out_off = 0;
			}
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(c->wev, NULL);
			break;
		}
		if (e == SSL_ERROR_WANT_READ)
			break; /* the read event is always on */
		return tls_error(c, n, "write");
	}
	if (c->ng && !nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng))
		return conn_failf(c, WHY_PEER, RASND_HTTP_ECLOSED, "HTTP/2 session ended (GOAWAY)");
	return 0;
}

/* The server ended the connection. clean: with a TLS close_notify; without one (a bare TCP
 * FIN, a reset, a TLS error), a body that only the end of the connection delimits may have
 * been cut anywhere, so it is a truncation, never a complete response. */
static int conn_eof(struct conn *c, int clean, const char *how)
{
	struct req *r = c->active.head;
	if (!c->ng && r && !r->err && rasn_h1resp_until_eof(&c->h1) && !clean) {
		snprintf(r->msg, sizeof(r->msg), "response cut short: the connection ended without a TLS close_notify (%s) "
			 "before a body delimited by the connection's end", how);
		r->err = RASND_HTTP_ECLOSED;
		return conn_failf(c, WHY_PEER, RASND_HTTP_ECLOSED, "%s", r->msg);
	}
	/* a body delimited by the end of the connection is complete now (on_h1_complete) */
	if (!c->ng && r && !r->err && rasn_h1resp_eof(&c->h1, &h1_cbs, c) > 0)
		r = NULL;
	/* a one-shot connection the server closed after its one response */
	int why = !r && !c->h->o.reuse && c->carried ? WHY_ONESHOT : WHY_PEER;
	return conn_failf(c, why, RASND_HTTP_ECLOSED, "connection closed by the server");
}

static int conn_read(struct conn *c)
{
	char buf[READ_CHUNK];
	size_t total = 0;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n > 0) {
			total += (size_t)n;
			if (c->ng) {
				ssize_t rv = nghttp2_session_mem_recv(c->ng, (const uint8_t *)buf, (size_t)n);
				if (rv < 0)
					return conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s",
							  nghttp2_strerror((int)rv));
			} else if (h1_feed(c, buf, (size_t)n) < 0) {
				return -1;
			}
			if (c->fail)
				return -1;
			if (!c->ng && c->active.head && c->active.head->err)
				return -1;
			if (total >= READ_BUDGET) {
				event_active(c->rev, EV_READ, 0); /* SSL may hold the rest: no socket event */
				return 0;
			}
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(c->wev, NULL);
			return 0;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return conn_eof(c, 1, "close_notify");
		unsigned long ee = ERR_peek_last_error();
		/* EOF without close_notify: OpenSSL 3 reports it as an SSL error (the context does
		 * not set SSL_OP_IGNORE_UNEXPECTED_EOF, which would make it look like a clean end) */
		if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ee) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
		    (e == SSL_ERROR_SYSCALL && ee == 0 && errno == 0))
			return conn_eof(c, 0, "EOF");
		if (!c->ng && rasn_h1resp_until_eof(&c->h1) && c->active.head)
			return conn_eof(c, 0, e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "TLS error");
		return tls_error(c, n, "read");
	}
}

/* nghttp2's own account of a protocol error (a bad frame, a header it refused): what the
 * request's error says is shorter. */
static int on_h2_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud)
{
	struct conn *c = ud;
	(void)s;
	log_notice("http: %s: HTTP/2: %.*s (%s)", c->o->key, len > 512 ? 512 : (int)len, msg, nghttp2_strerror(code));
	return 0;
}

static int conn_start_h2(struct conn *c)
{
	const struct rasnd_http_opts *o = &c->h->o;
	nghttp2_session_callbacks *cbs;
	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_h2_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_h2_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_h2_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_h2_close);
	nghttp2_session_callbacks_set_error_callback2(cbs, on_h2_error);
	int rv = nghttp2_session_client_new(&c->ng, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	if (rv != 0)
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "HTTP/2: %s", nghttp2_strerror(rv));
	uint32_t sw = o->stream_window > NGHTTP2_MAX_WINDOW_SIZE ? NGHTTP2_MAX_WINDOW_SIZE : o->stream_window;
	uint32_t cw = o->conn_window > NGHTTP2_MAX_WINDOW_SIZE ? NGHTTP2_MAX_WINDOW_SIZE : o->conn_window;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, sw },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HEAD_MAX },
	};
	rv = nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, RASN_ARRAY_LEN(iv));
	if (rv == 0 && cw > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
		rv = nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)cw);
	if (rv != 0)
		return conn_failf(c, WHY_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s", nghttp2_strerror(rv));
	c->max_streams = STREAMS_INITIAL;
	return 0;
}

static int conn_handshake(struct conn *c)
{
	struct rasnd_http *h = c->h;
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(c->ssl);
	if (rc != 1) {
		int e = SSL_get_error(c->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			event_add(c->wev, NULL);
			return 0;
		}
		h->st.tls_failed++;
		long vr = SSL_get_verify_result(c->ssl);
		unsigned long ee = ERR_peek_last_error();
		if (vr != X509_V_OK)
			return conn_failf(c, WHY_ERROR, RASND_HTTP_ETLS, "certificate verify failed: %s",
					  X509_verify_cert_error_string(vr));
		if (ee)
			return conn_failf(c, WHY_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: %s",
					  ERR_reason_error_string(ee) ? ERR_reason_error_string(ee) : "?");
		if (e == SSL_ERROR_SYSCALL && errno)
			return conn_failf(c, WHY_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: %s", strerror(errno));
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: connection closed");
	}
	/* belt and braces: SSL_VERIFY_PEER already failed the handshake on a bad chain */
	long vr = SSL_get_verify_result(c->ssl);
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	X509_free(peer);
	if (vr != X509_V_OK || !peer) {
		h->st.tls_failed++;
		return conn_failf(c, WHY_ERROR, RASND_HTTP_ETLS, "certificate verify failed: %s",
				  peer ? X509_verify_cert_error_string(vr) : "no certificate");
	}
	c->handshaken = 1;
	c->resumed = SSL_session_reused(c->ssl);
	if (c->resumed)
		h->st.tls_resumed++;
	else
		h->st.tls_full++;
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
	c->h2 = alen == 2 && memcmp(alpn, "h2", 2) == 0;
	if (c->h2) {
		h->st.h2_conns++;
		if (conn_start_h2(c) < 0)
			return -1;
	} else {
		h->st.h1_conns++;
		c->max_streams = 1;
	}
	c->o->hint = c->h2 ? 2 : 1;
	c->o->max_streams = c->max_streams;
	c->state = C_READY;
	c->idle_since = c->ping_base = rasn_clock_mono_ms();
	origin_kick(c->o);
	return 0;
}

/* Reads, then writes; the read event is persistent, the write event added only when a
 * write could not finish. Returns 0 or -1 with c->fail set. */
static int conn_io(struct conn *c)
{
	if (c->state == C_HANDSHAKE) {
		if (conn_handshake(c) < 0)
			return -1;
		if (c->state != C_READY)
			return 0;
	}
	if (conn_read(c) < 0)
		return -1;
	return conn_flush(c);
}

/* After an event on a connection that stays open: close what should not stay, arm timers. */
static void conn_settle(struct conn *c)
{
	struct rasnd_http *h = c->h;
	if (c->state == C_READY && c->active.n == 0) {
		if (!h->o.reuse && c->carried) {
			conn_close(c, WHY_ONESHOT, RASND_HTTP_ECLOSED, NULL);
			return;
		}
		if (c->close_after || c->goaway) {
			conn_close(c, WHY_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
			return;
		}
		if (c->o->queue.n == 0) {
			unsigned idle = 0;
			for (struct conn *x = c->o->conns; x; x = x->next)
				if (x->state == C_READY && x->active.n == 0)
					idle++;
			if (idle > h->o.idle_per_host) {
				conn_close(c, WHY_IDLE, RASND_HTTP_ECLOSED, NULL);
				return;
			}
		}
	}
	conn_arm(c);
}

static void conn_after(struct conn *c, int rc)
{
	conn_count_bytes(c);
	if (rc < 0 || c->fail) {
		if (!c->fail) /* a request's own failure that leaves the HTTP/1.1 stream unusable */
			conn_failf(c, WHY_ERROR, RASND_HTTP_ECLOSED, "connection closed after a failed request");
		struct req *r = c->active.head;
		if (!c->ng && r && r->err) {
			/* HTTP/1.1: the request that broke the stream gets its own error */
			rl_remove(&c->active, r);
			req_finish(c->h, r, r->err, r->msg);
		}
		conn_close(c, c->fail_why, c->fail_err, c->fail_msg);
		return;
	}
	conn_settle(c);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int rc = 0;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY) {
			event_add(c->wev, NULL);
			return;
		}
		if (err) {
			snprintf(c->last_err, sizeof(c->last_err), "connect to %s: %s", c->o->key, strerror(err));
			conn_drop_socket(c);
			c->addr_i++;
			conn_connect_next(c);
			return;
		}
		c->state = C_HANDSHAKE;
		if (event_add(c->rev, NULL) < 0)
			rc = conn_failf(c, WHY_ERROR, RASND_HTTP_ENOMEM, "cannot watch the socket");
	}
	if (rc == 0)
		rc = conn_io(c);
	conn_after(c, rc);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct rasnd_http_opts *o = &c->h->o;
	uint64_t now = rasn_clock_mono_ms();
	if (c->state != C_READY) {
		if (now >= c->deadline) {
			if (c->state == C_HANDSHAKE)
				c->h->st.tls_failed++;
			conn_close(c, WHY_ERROR, RASND_HTTP_ETIMEOUT,
				   c->state == C_RESOLVING ? "timeout resolving the name"
				   : c->state == C_CONNECTING ? "connect timeout" : "TLS handshake timeout");
			return;
		}
		conn_arm(c);
		return;
	}
	if (c->ng && c->ping_sent_at && now >= c->ping_sent_at + o->ping_timeout_ms) {
		conn_close(c, WHY_PING, RASND_HTTP_ECLOSED, "no answer to an HTTP/2 PING");
		return;
	}
	if (c->active.n == 0 && c->idle_since && now >= c->idle_since + o->idle_timeout_ms) {
		conn_close(c, WHY_IDLE, RASND_HTTP_ECLOSED, NULL);
		return;
	}
	int rc = 0;
	if (c->ng && o->ping_interval_ms && !c->ping_sent_at && c->active.n == 0 &&
	    now >= c->ping_base + o->ping_interval_ms) {
		if (nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL) == 0) {
			c->ping_sent_at = now;
			c->h->st.pings_sent++;
			rc = conn_flush(c);
		}
	}
	conn_after(c, rc);
}

/* ---- connecting ---- */

/* Forget a socket whose connect() failed, to try the next address. */
static void conn_drop_socket(struct conn *c)
{
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->ssl) {
		SSL_set_ex_data(c->ssl, ssl_idx, NULL);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->rev = c->wev = NULL;
	c->ssl = NULL;
	c->fd = -1;
}

static void conn_connect_next(struct conn *c)
{
	for (; c->addr_i < c->n_addrs; c->addr_i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[c->addr_i];
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(c->last_err, sizeof(c->last_err), "socket: %s", strerror(errno));
			continue;
		}
		if (rasnd_sock_tune(fd, &c->h->o.sock) < 0)
			log_debug("http: could not apply every socket option to fd %d", fd);
		if (connect(fd, sa, c->alen[c->addr_i]) < 0 && errno != EINPROGRESS) {
			snprintf(c->last_err, sizeof(c->last_err), "connect to %s: %s", c->o->key, strerror(errno));
			close(fd);
			continue;
		}
		c->fd = fd;
		break;
	}
	if (c->fd < 0) {
		conn_close(c, WHY_ERROR, RASND_HTTP_ECONNECT, c->last_err);
		return;
	}
	struct rasnd_http *h = c->h;
	c->state = C_CONNECTING;
	c->rev = event_new(h->base, c->fd, EV_READ | EV_PERSIST, on_io, c);
	c->wev = event_new(h->base, c->fd, EV_WRITE, on_io, c);
	c->ssl = SSL_new(h->ctx);
	if (!c->rev || !c->wev || !c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_ex_data(c->ssl, ssl_idx, c)) {
		conn_close(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
		return;
	}
	int ok;
	if (c->o->is_ip) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->o->host);
	} else {
		ok = SSL_set1_host(c->ssl, c->o->host) && SSL_set_tlsext_host_name(c->ssl, c->o->host);
	}
	static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1", alpn_h1[] = "\x08http/1.1";
	if (ok)
		ok = h->o.http2 ? SSL_set_alpn_protos(c->ssl, alpn_h2, sizeof(alpn_h2) - 1) == 0
				: SSL_set_alpn_protos(c->ssl, alpn_h1, sizeof(alpn_h1) - 1) == 0;
	if (!ok) {
		ERR_clear_error();
		conn_close(c, WHY_ERROR, RASND_HTTP_ETLS, "cannot set up TLS for this host");
		return;
	}
	if (h->o.session_cache) {
		struct sess *s = sess_find(h, c->o->key);
		if (s) {
			SSL_set_session(c->ssl, s->s);
			sess_unlink(h, s);
			sess_front(h, s);
		}
	}
	SSL_set_connect_state(c->ssl);
	if (event_add(c->wev, NULL) < 0) {
		conn_close(c, WHY_ERROR, RASND_HTTP_ENOMEM, "cannot watch the socket");
		return;
	}
	conn_arm(c);
}

/* c-ares answers a hosts-file name inside rasnd_dns_resolve: then (c->res_sync) the outcome is
 * only recorded, and conn_open acts on it when the call returns. */
static void on_resolved(void *ud, const struct rasnd_dns_addrs *res, const char *err)
{
	struct resolve *rs = ud;
	struct conn *c = rs->c;
	free(rs);
	if (!c)
		return;
	c->res = NULL;
	if (err) {
		snprintf(c->last_err, sizeof(c->last_err), "cannot resolve %s: %s", c->o->host, err);
		if (!c->res_sync)
			conn_close(c, WHY_ERROR, RASND_HTTP_ECONNECT, c->last_err);
		return;
	}
	for (size_t i = 0; i < res->n && c->n_addrs < MAX_ADDRS; i++) {
		memcpy(&c->addrs[c->n_addrs], &res->addr[i], sizeof(c->addrs[0]));
		c->alen[c->n_addrs++] = res->len[i];
	}
	if (!c->res_sync)
		conn_connect_next(c);
}

/* Returns 0 (c->res set while the lookup runs), or -1 with c->last_err set. */
static int resolve_start(struct conn *c)
{
	if (!c->h->dns) {
		snprintf(c->last_err, sizeof(c->last_err), "cannot resolve %s: no DNS resolver ([dns] servers or "
			 "/etc/resolv.conf); a numeric address needs none", c->o->host);
		return -1;
	}
	struct resolve *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		snprintf(c->last_err, sizeof(c->last_err), "cannot resolve %s: out of memory", c->o->host);
		return -1;
	}
	rs->c = c;
	c->res = rs;
	c->res_sync = 1;
	int rc = rasnd_dns_resolve(c->h->dns, c->o->host, c->o->port, on_resolved, rs);
	c->res_sync = 0;
	if (rc < 0) {
		c->res = NULL;
		free(rs);
		snprintf(c->last_err, sizeof(c->last_err), "cannot resolve %s: out of memory", c->o->host);
		return -1;
	}
	return 0;
}

/* Opens a connection for the origin. Failures complete through conn_close. */
static void conn_open(struct origin *o)
{
	struct rasnd_http *h = o->h;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		struct req *r;
		while ((r = rl_pop(&o->queue)))
			req_later(h, r, RASND_HTTP_ENOMEM, "out of memory");
		return;
	}
	c->o = o;
	c->h = h;
	c->fd = -1;
	c->state = C_RESOLVING;
	rasn_buf_init(&c->out);
	rasn_buf_init(&c->in);
	rasn_h1resp_init(&c->h1, h->o.max_body);
	c->next = o->conns;
	if (o->conns)
		o->conns->prev = c;
	o->conns = c;
	h->st.conns_opened++;
	o->conns_total++;
	c->deadline = rasn_clock_mono_ms() + h->o.connect_timeout_ms;
	c->timer = evtimer_new(h->base, on_conn_timer, c);
	if (!c->timer) {
		conn_close(c, WHY_ERROR, RASND_HTTP_ENOMEM, "out of memory");
		return;
	}
	snprintf(c->last_err, sizeof(c->last_err), "no address for %s", o->host);
	struct addrinfo hints, *ai = NULL;
	char port[8];
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)o->port);
	if (o->is_ip && getaddrinfo(o->host, port, &hints, &ai) == 0) {
		for (struct addrinfo *a = ai; a && c->n_addrs < MAX_ADDRS; a = a->ai_next) {
			if (a->ai_addrlen > sizeof(c->addrs[0]))
				continue;
			memcpy(&c->addrs[c->n_addrs], a->ai_addr, a->ai_addrlen);
			c->alen[c->n_addrs++] = a->ai_addrlen;
		}
		freeaddrinfo(ai);
		conn_connect_next(c);
		return;
	}
	if (resolve_start(c) < 0 || (!c->res && c->n_addrs == 0)) {
		conn_close(c, WHY_ERROR, RASND_HTTP_ECONNECT, c->last_err);
		return;
	}
	if (!c->res) { /* answered at once (the hosts file) */
		conn_connect_next(c);
		return;
	}
	conn_arm(c);
}

/* ---- dispatch: queued requests onto connections ---- */

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct req *r = arg;
	struct conn *c = r->c;
	char m[MSG_LEN];
	if (!c) {
		/* still in its origin's queue: no stream or connection came in time */
		struct origin *o = r->o;
		snprintf(m, sizeof(m), "no complete response within %u ms (waited for a free stream to %s all along)",
			 o->h->o.request_timeout_ms, o->key);
		rl_remove(&o->queue, r);
		req_finish(o->h, r, RASND_HTTP_ETIMEOUT, m);
		return;
	}
	snprintf(m, sizeof(m), "no complete response within %u ms", c->h->o.request_timeout_ms);
	if (c->ng) {
		nghttp2_session_set_stream_user_data(c->ng, r->stream_id, NULL);
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
		rl_remove(&c->active, r);
		req_finish(c->h, r, RASND_HTTP_ETIMEOUT, m);
		if (c->active.n == 0)
			c->idle_since = c->ping_base = rasn_clock_mono_ms();
		origin_kick(c->o);
		conn_after(c, conn_flush(c));
		return;
	}
	/* HTTP/1.1: the rest of that response would still come, so the connection goes */
	rl_remove(&c->active, r);
	req_finish(c->h, r, RASND_HTTP_ETIMEOUT, m);
	conn_close(c, WHY_ERROR, RASND_HTTP_ECLOSED, m);
}

static int valid_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* Puts the request on the connection; the bytes leave when the connection's write event
 * runs (activated here, so many requests made in one pass leave together). */
static void req_start(struct conn *c, struct req *r)
{
	struct rasnd_http *h = c->h;
	r->c = c;
	r->h2 = c->h2;
	r->resumed = c->resumed;
	r->reused = c->carried > 0;
	if (r->reused)
		h->st.conns_reused++;
	c->carried++;
	h->st.streams_total++;
	if (c->carried > h->st.streams_max)
		h->st.streams_max = c->carried;
	c->idle_since = 0;
	rl_push(&c->active, r);
	if (c->active.n > c->in_flight_max)
		c->in_flight_max = c->active.n;
	if (c->active.n > c->o->in_flight_max)
		c->o->in_flight_max = c->active.n;
	if (c->active.n > h->st.streams_in_flight_max)
		h->st.streams_in_flight_max = c->active.n;
	/* the request's timer runs since rasnd_http_get: it bounds the whole request */
	if (c->ng) {
		nghttp2_nv nva[8];
		size_t n = 0;
#define NV(nm, v) nva[n++] = (nghttp2_nv){ (uint8_t *)(nm), (uint8_t *)(v), sizeof(nm) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
		NV(":method", "GET");
		NV(":scheme", "https");
		NV(":authority", c->o->authority);
		NV(":path", r->path);
		NV("accept", "application/json, */*");
		NV("user-agent", user_agent);
		if (r->inm)
			NV("if-none-match", r->inm);
		if (r->ims)
			NV("if-modified-since", r->ims);
#undef NV
		int32_t sid = nghttp2_submit_request(c->ng, NULL, nva, n, NULL, r);
		if (sid < 0) {
			rl_remove(&c->active, r);
			char m[MSG_LEN];
			snprintf(m, sizeof(m), "HTTP/2: %s", nghttp2_strerror(sid));
			if (r->timer)
				evtimer_del(r->timer);
			r->c = NULL;
			req_later(h, r, RASND_HTTP_EPROTO, m);
			return;
		}
		r->stream_id = sid;
	} else {
		struct rasn_buf *b = &c->out;
		rasn_buf_lit(b, "GET ");
		rasn_buf_adds(b, r->path);
		rasn_buf_lit(b, " HTTP/1.1\r\nHost: ");
		rasn_buf_adds(b, c->o->authority);
		rasn_buf_lit(b, "\r\nUser-Agent: ");
		rasn_buf_adds(b, user_agent);
		rasn_buf_lit(b, "\r\nAccept: application/json, */*\r\n");
		if (r->inm) {
			rasn_buf_lit(b, "If-None-Match: ");
			rasn_buf_adds(b, r->inm);
			rasn_buf_lit(b, "\r\n");
		}
		if (r->ims) {
			rasn_buf_lit(b, "If-Modified-Since: ");
			rasn_buf_adds(b, r->ims);
			rasn_buf_lit(b, "\r\n");
		}
		if (!h->o.reuse)
			rasn_buf_lit(b, "Connection: close\r\n");
		rasn_buf_lit(b, "\r\n");
		rasn_h1resp_init(&c->h1, r->max_body);
		c->close_after = 0;
	}
	event_active(c->wev, EV_WRITE, 0);
}

static uint32_t conn_room(const struct conn *c, const struct rasnd_http_opts *o)
{
	if (c->state != C_READY || c->goaway || c->fail || c->close_after)
		return 0;
	if (!o->reuse)
		return c->carried == 0 && c->active.n == 0;
	return c->active.n < c->max_streams ? (uint32_t)(c->max_streams - c->active.n) : 0;
}

static void origin_free(struct origin *o)
{
	event_free(o->dispatch);
	free(o);
}

static void on_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct origin *o = arg;
	struct rasnd_http *h = o->h;
	while (o->queue.n) {
		struct conn *best = NULL;
		for (struct conn *c = o->conns; c; c = c->next)
			if (conn_room(c, &h->o) && (!best || c->active.n > best->active.n))
				best = c; /* fill the busiest: the others can go idle and close */
		if (best) {
			req_start(best, rl_pop(&o->queue));
			continue;
		}
		/* what the connections still opening will take */
		size_t pending = 0;
		unsigned open = 0;
		int one_each = !h->o.http2 || !h->o.reuse || o->hint == 1, closed_door = 0;
		for (struct conn *c = o->conns; c; c = c->next) {
			open++;
			if (c->state != C_READY)
				pending = one_each ? pending + 1 : SIZE_MAX;
			else if (c->ng && c->max_streams == 0 && !c->goaway && !c->fail)
				closed_door = 1;
		}
		/* a server that allows no streams now (MAX_CONCURRENT_STREAMS 0) says so for the
		 * origin: another connection would be told the same. The queue waits (each request
		 * bounded by its timeout) for a SETTINGS that opens it, or for that connection to go. */
		if (closed_door || o->queue.n <= pending || open >= h->o.max_conns_per_host)
			break;
		conn_open(o);
	}
	if (o->queue.n > h->st.queued_max)
		h->st.queued_max = o->queue.n;
	/* an empty origin is kept for its pool; beyond ORIGINS_KEEP, empty ones go */
	if (h->n_origins > ORIGINS_KEEP && !o->conns && !o->queue.n) {
		struct origin **pp = &h->origins;
		while (*pp && *pp != o)
			pp = &(*pp)->next;
		if (*pp) {
			*pp = o->next;
			h->n_origins--;
			origin_free(o);
		}
	}
}

static struct origin *origin_get(struct rasnd_http *h, const char *host, uint16_t port, int is_ip)
{
	char key[sizeof(((struct origin *)0)->key)];
	int v6 = strchr(host, ':') != NULL;
	snprintf(key, sizeof(key), v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
	for (struct origin *o = h->origins; o; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	struct origin *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->dispatch = event_new(h->base, -1, 0, on_dispatch, o);
	if (!o->dispatch) {
		free(o);
		return NULL;
	}
	o->h = h;
	o->port = port;
	o->is_ip = is_ip;
	snprintf(o->host, sizeof(o->host), "%s", host);
	snprintf(o->key, sizeof(o->key), "%s", key);
	if (port == 443)
		snprintf(o->authority, sizeof(o->authority), v6 ? "[%s]" : "%s", host);
	else
		snprintf(o->authority, sizeof(o->authority), "%s", key);
	o->next = h->origins;
	h->origins = o;
	h->n_origins++;
	return o;
}

/* ---- API ---- */

int rasnd_http_get(struct rasnd_http *h, const struct rasnd_http_req *req, rasnd_http_cb cb, void *ud)
{
	struct rasn_url u;
	if (!req || !req->url || !cb || rasn_url_parse(req->url, strlen(req->url), &u) < 0)
		return -EINVAL;
	const char *path = u.path;
	size_t pl = u.path_len;
	if (pl > MAX_PATH)
		return -EINVAL;
	if ((req->if_none_match && (strlen(req->if_none_match) > MAX_HDR_VALUE || !valid_value(req->if_none_match))) ||
	    (req->if_modified_since &&
	     (strlen(req->if_modified_since) > MAX_HDR_VALUE || !valid_value(req->if_modified_since))))
		return -EINVAL;
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rasn_buf_init(&r->body);
	r->cb = cb;
	r->ud = ud;
	r->max_body = req->max_body && req->max_body < h->o.max_body ? req->max_body : h->o.max_body;
	if (req->body_to_fd) {
		/* the bound protects memory; a file may be as large as the request allows */
		r->max_body = req->max_body ? req->max_body : h->o.max_body;
		r->to_fd = 1;
		r->fd = req->body_fd;
	}
	if (pl == 0 || path[0] == '?') {
		r->path = malloc(pl + 2);
		if (r->path) {
			r->path[0] = '/';
			memcpy(r->path + 1, path, pl);
			r->path[pl + 1] = '\0';
		}
	} else {
		r->path = dup_n(path, pl);
	}
	if (!r->path || (req->if_none_match && !(r->inm = strdup(req->if_none_match))) ||
	    (req->if_modified_since && !(r->ims = strdup(req->if_modified_since)))) {
		req_free(r);
		return -ENOMEM;
	}
	h->st.requests++;
	if (h->closing) {
		req_later(h, r, RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
		return 0;
	}
	struct origin *o = origin_get(h, u.host, u.port, u.is_ip);
	if (!o) {
		h->st.requests--;
		req_free(r);
		return -ENOMEM;
	}
	r->o = o;
	/* the bound is on requests that must wait: free streams take the others now */
	size_t room = 0;
	for (struct conn *c = o->conns; c; c = c->next)
		room += conn_room(c, &h->o);
	if (o->queue.n >= h->o.max_queued + room) {
		char m[MSG_LEN];
		snprintf(m, sizeof(m), "%zu requests already waiting for %s", o->queue.n, o->key);
		req_later(h, r, RASND_HTTP_EBUSY, m);
		return 0;
	}
	r->timer = evtimer_new(h->base, on_req_timeout, r);
	if (!r->timer) {
		req_later(h, r, RASND_HTTP_ENOMEM, "out of memory");
		return 0;
	}
	struct timeval tv = { (time_t)(h->o.request_timeout_ms / 1000),
			      (suseconds_t)(h->o.request_timeout_ms % 1000) * 1000 };
	evtimer_add(r->timer, &tv);
	rl_push(&o->queue, r);
	event_active(o->dispatch, 0, 0);
	return 0;
}

int rasnd_http_new(struct event_base *base, const struct rasnd_http_opts *o, struct rasnd_http **out,
		   char *err, size_t errlen)
{
	struct rasnd_http_opts def;
	rasnd_http_opts_default(&def);
	*out = NULL;
	if (ssl_idx < 0)
		ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ssl_idx < 0) {
		snprintf(err, errlen, "OpenSSL: cannot allocate ex_data index");
		return -1;
	}
	struct rasnd_http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->base = base;
	h->o = *o;
	/* zero means "default" where zero would make no sense */
	if (!h->o.max_conns_per_host)
		h->o.max_conns_per_host = def.max_conns_per_host;
	if (!h->o.idle_timeout_ms)
		h->o.idle_timeout_ms = def.idle_timeout_ms;
	if (!h->o.ping_timeout_ms)
		h->o.ping_timeout_ms = def.ping_timeout_ms;
	if (!h->o.connect_timeout_ms)
		h->o.connect_timeout_ms = def.connect_timeout_ms;
	if (!h->o.request_timeout_ms)
		h->o.request_timeout_ms = def.request_timeout_ms;
	if (!h->o.stream_window)
		h->o.stream_window = def.stream_window;
	if (!h->o.conn_window)
		h->o.conn_window = def.conn_window;
	if (!h->o.max_body)
		h->o.max_body = def.max_body;
	if (o->ca_file && *o->ca_file && !(h->ca_file = strdup(o->ca_file))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->o.ca_file = h->ca_file;
	h->done_ev = event_new(base, -1, 0, on_done, h);
	h->ctx = SSL_CTX_new(TLS_client_method());
	if (!h->done_ev || !h->ctx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION);
	/* no SSL_OP_IGNORE_UNEXPECTED_EOF: an EOF without close_notify must stay distinguishable
	 * from a clean end (conn_read) */
	SSL_CTX_set_options(h->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(h->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
	if (h->ca_file) {
		if (SSL_CTX_load_verify_locations(h->ctx, h->ca_file, NULL) != 1) {
			unsigned long e = ERR_peek_last_error();
			snprintf(err, errlen, "cannot load CA file %s: %s", h->ca_file,
				 e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unreadable");
			ERR_clear_error();
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(h->ctx) != 1) {
		snprintf(err, errlen, "cannot load the system CA store");
		ERR_clear_error();
		goto fail;
	}
	if (h->o.session_cache) {
		SSL_CTX_set_session_cache_mode(h->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(h->ctx, on_new_session);
	} else {
		SSL_CTX_set_session_cache_mode(h->ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(h->ctx, SSL_OP_NO_TICKET);
	}
	*out = h;
	return 0;
fail:
	rasnd_http_free(h);
	return -1;
}

void rasnd_http_free(struct rasnd_http *h)
{
	if (!h)
		return;
	h->closing = 1;
	for (struct origin *o = h->origins; o; o = o->next) {
		while (o->conns)
			conn_close(o->conns, WHY_SHUTDOWN, RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
		struct req *r;
		while ((r = rl_pop(&o->queue)))
			req_finish(h, r, RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
	}
	/* callbacks above may have asked for more: those end here too */
	struct req *r;
	while ((r = rl_pop(&h->done)))
		req_finish(h, r, RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
	struct origin *o;
	while ((o = h->origins)) {
		h->origins = o->next;
		origin_free(o);
	}
	sess_free_all(h);
	if (h->ctx)
		SSL_CTX_free(h->ctx);
	if (h->done_ev)
		event_free(h->done_ev);
	free(h->ca_file);
	free(h);
}

void rasnd_http_set_dns(struct rasnd_http *h, struct rasnd_dns *dns)
{
	h->dns = dns;
}

void rasnd_http_stats(const struct rasnd_http *h, struct rasnd_http_stats *out)
{
	*out = h->st;
	out->conns_open = out->conns_idle = out->in_flight = out->queued = 0;
	for (const struct origin *o = h->origins; o; o = o->next) {
		out->queued += o->queue.n;
		for (const struct conn *c = o->conns; c; c = c->next) {
			out->conns_open++;
			out->in_flight += c->active.n;
			if (c->state == C_READY && c->active.n == 0)
				out->conns_idle++;
		}
	}
}

void rasnd_http_origins_json(const struct rasnd_http *h, struct rasn_buf *b)
{
	rasn_buf_addc(b, '[');
	for (const struct origin *o = h->origins; o; o = o->next) {
		unsigned open = 0, idle = 0;
		size_t in_flight = 0;
		for (const struct conn *c = o->conns; c; c = c->next) {
			open++;
			in_flight += c->active.n;
			if (c->state == C_READY && c->active.n == 0)
				idle++;
		}
		if (o != h->origins)
			rasn_buf_addc(b, ',');
		rasn_buf_lit(b, "{\"origin\":");
		rasn_buf_json_str(b, o->key, strlen(o->key));
		uint64_t carried = o->streams_closed;
		for (const struct conn *c = o->conns; c; c = c->next)
			carried += c->carried;
		rasn_buf_printf(b, ",\"open\":%u,\"idle\":%u,\"in_flight\":%zu,\"queued\":%zu,\"max_streams\":%u,"
				   "\"in_flight_max\":%zu,\"conns_total\":%llu,\"streams_mean\":%.2f,\"conns\":[",
				open, idle, in_flight, o->queue.n, (unsigned)o->max_streams, o->in_flight_max,
				(unsigned long long)o->conns_total,
				o->conns_total ? (double)carried / (double)o->conns_total : 0.0);
		static const char *const states[] = { "resolving", "connecting", "handshake", "ready" };
		for (const struct conn *c = o->conns; c; c = c->next) {
			rasn_buf_printf(b, "%s{\"state\":\"%s\",\"http2\":%s,\"in_flight\":%zu,\"in_flight_max\":%zu,"
					   "\"carried\":%llu,\"sock\":",
					c == o->conns ? "" : ",", states[c->state], c->h2 ? "true" : "false", c->active.n,
					c->in_flight_max, (unsigned long long)c->carried);
			if (c->fd >= 0)
				rasnd_sock_describe(c->fd, b);
			else
				rasn_buf_lit(b, "null");
			rasn_buf_addc(b, '}');
		}
		rasn_buf_lit(b, "]}");
	}
	rasn_buf_addc(b, ']');
}
