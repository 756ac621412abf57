/* The HTTPS client (http.h): the pool. Per origin a queue of requests and a list of
 * connections; each connection is a socket, its events and timer here, and its protocol in
 * daemon/hconn.c (TLS, HTTP/2, HTTP/1.1 over the socket's BIO). A connection goes RESOLVING
 * -> CONNECTING -> HANDSHAKE -> ready (hconn) -> freed. TLS sessions are kept by
 * daemon/tlscache.c.
 *
 * Requests never touch a connection inside rasnd_http_get: they go into their origin's queue
 * and a zero-delay event (the origin's dispatch) hands them to connections on the next loop
 * pass. So a callback that calls rasnd_http_get from inside nghttp2's callbacks or the HTTP/1.1
 * parser changes nothing under their feet, and 500 requests made in one go leave in one write.
 *
 * Closing a connection happens only at the top of an event callback (never inside nghttp2's
 * callbacks): hconn records what happened, and the event callback acts on it afterwards.
 *
 * Names: a numeric host is used as is; any other name is resolved through the daemon's c-ares
 * pool (daemon/dns.h, rasnd_dns_resolve: the hosts file, then the resolvers), on the loop.
 * Without a pool (no resolver) a name origin fails to connect, with a message that says so.
 * Every address is tried in turn.
 *
 * The process must ignore SIGPIPE (the daemon does): OpenSSL writes with plain write(). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "build_config.h"
#include "clock.h"
#include "dns.h"
#include "hconn.h"
#include "http.h"
#include "log.h"
#include "tlscache.h"
#include "url.h"

#define MAX_HOST RASN_URL_HOST_MAX
#define MAX_PATH 8192
#define MAX_HDR_VALUE 1024          /* if-none-match, if-modified-since */
#define MAX_ADDRS RASND_DNS_ADDRS_MAX
#define ORIGINS_KEEP 64             /* empty origins beyond this are freed */
#define MSG_LEN RASND_HCONN_MSG_LEN

enum conn_state { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_READY };

struct conn;
struct origin;

/* hr first: hconn hands back &r->hr */
struct req {
	struct rasnd_hreq hr;
	struct origin *o;
	rasnd_http_cb cb;
	void *ud;
	struct event *timer;
};

struct resolve {                    /* a name lookup in the DNS pool: its callback frees it */
	struct conn *c;             /* NULL once the connection has gone */
};

struct conn {
	struct conn *next, *prev;
	struct origin *o;
	struct rasnd_http *h;
	enum conn_state state;      /* C_READY once hc.ready */
	int fd;
	struct event *rev, *wev, *timer;
	struct resolve *res;
	int res_sync;               /* inside rasnd_dns_resolve */
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t alen[MAX_ADDRS];
	unsigned n_addrs, addr_i;
	char last_err[MSG_LEN];
	uint64_t deadline;          /* connect + handshake */
	struct rasnd_hconn hc;
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
	struct rasnd_hreq_list queue;
	size_t in_flight_max;
	uint64_t conns_total, streams_closed; /* for its mean: opened, carried by closed ones */
	struct event *dispatch;
};

struct rasnd_http {
	struct event_base *base;
	struct rasnd_http_opts o;
	char *ca_file;
	SSL_CTX *ctx;
	struct rasnd_tlscache *tls;
	struct origin *origins;
	size_t n_origins;
	struct rasnd_hreq_list done; /* to complete on the next loop pass */
	struct event *done_ev;
	struct rasnd_http_stats st;
	struct rasnd_dns *dns;      /* origin names; NULL: numeric hosts only */
	int closing;
};

static void conn_connect_next(struct conn *c);
static const struct rasnd_hconn_ops conn_ops;

static struct req *req_of(struct rasnd_hreq *hr)
{
	return (struct req *)hr; /* hr is the first member */
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
	free(r->hr.path);
	free(r->hr.inm);
	free(r->hr.ims);
	free(r->hr.etag);
	free(r->hr.last_modified);
	free(r->hr.retry_after);
	rasn_buf_free(&r->hr.body);
	free(r);
}

/* Runs the callback and frees the request, which is on no list any more. */
static void req_finish(struct rasnd_http *h, struct req *r, enum rasnd_http_err err, const char *msg)
{
	struct rasnd_hreq *hr = &r->hr;
	struct rasnd_http_response resp;
	char code[8];
	memset(&resp, 0, sizeof(resp));
	if (err == RASND_HTTP_OK && hr->body.oom) {
		err = RASND_HTTP_ENOMEM;
		msg = "out of memory for the body";
	}
	resp.err = err;
	if (err == RASND_HTTP_OK) {
		resp.status = hr->status;
		snprintf(code, sizeof(code), "%d", hr->status);
		resp.errmsg = code;
		rasn_buf_addc(&hr->body, '\0'); /* the NUL the contract promises, not counted */
		if (hr->body.oom) {
			resp.err = RASND_HTTP_ENOMEM;
			resp.status = 0;
			resp.errmsg = "out of memory for the body";
		} else {
			resp.body = hr->body.data;
			resp.body_len = hr->to_fd ? hr->written : hr->body.len - 1;
			resp.etag = hr->etag;
			resp.last_modified = hr->last_modified;
			resp.retry_after = hr->retry_after;
		}
	} else {
		resp.errmsg = msg && *msg ? msg : rasnd_http_err_name(err);
	}
	if (!resp.body)
		resp.body = "";
	resp.http2 = hr->h2;
	resp.reused = hr->reused;
	resp.resumed = hr->resumed;
	if (resp.err == RASND_HTTP_OK) {
		h->st.responses++;
		if (hr->status >= 200 && hr->status < 300)
			h->st.status_2xx++;
		else if (hr->status >= 300 && hr->status < 400)
			h->st.status_3xx++;
		else if (hr->status >= 400 && hr->status < 500)
			h->st.status_4xx++;
		else if (hr->status >= 500)
			h->st.status_5xx++;
	} else {
		h->st.errors[resp.err]++;
	}
	hr->c = NULL;
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
	r->hr.err = err;
	snprintf(r->hr.msg, sizeof(r->hr.msg), "%s", msg);
	rasnd_hreq_list_push(&h->done, &r->hr);
	event_active(h->done_ev, 0, 0);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_http *h = arg;
	struct rasnd_hreq_list l = h->done;
	memset(&h->done, 0, sizeof(h->done));
	struct rasnd_hreq *hr;
	while ((hr = rasnd_hreq_list_pop(&l)))
		req_finish(h, req_of(hr), hr->err, hr->msg);
}

/* ---- connections: closing ---- */

static int origin_live_conns(const struct origin *o, const struct conn *except)
{
	int n = 0;
	for (const struct conn *c = o->conns; c; c = c->next)
		if (c != except)
			n++;
	return n;
}

static void origin_kick(struct origin *o)
{
	if (!o->h->closing)
		event_active(o->dispatch, 0, 0);
}

/* Every request on the connection completes with err; when the connection never got ready
 * and nothing else of its origin is open or opening, the origin's queue fails too (those
 * requests were waiting for this attempt). Only from the top of an event callback. */
static void conn_close(struct conn *c, int why, enum rasnd_http_err err, const char *msg)
{
	struct rasnd_http *h = c->h;
	struct origin *o = c->o;
	int was_ready = c->state == C_READY;

	rasnd_hconn_shutdown(&c->hc, why != RASND_HCONN_ERROR && why != RASND_HCONN_PEER);

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
	if (c->hc.ssl)
		rasnd_tlscache_unbind(c->hc.ssl);
	struct rasnd_hreq_list act;
	rasnd_hconn_release(&c->hc, &act);
	if (c->fd >= 0)
		close(c->fd);

	switch (why) {
	case RASND_HCONN_IDLE: h->st.closed_idle++; break;
	case RASND_HCONN_PING: h->st.closed_ping++; break;
	case RASND_HCONN_PEER: h->st.closed_peer++; break;
	case RASND_HCONN_ONESHOT: h->st.closed_oneshot++; break;
	case RASND_HCONN_SHUTDOWN: h->st.closed_shutdown++; break;
	default: h->st.closed_error++; break;
	}
	h->st.conns_closed++;
	h->st.streams_total_closed += c->hc.carried;
	o->streams_closed += c->hc.carried;

	/* the callbacks run with the connection gone from the pool */
	struct rasnd_hreq *hr;
	while ((hr = rasnd_hreq_list_pop(&act)))
		req_finish(h, req_of(hr), err, msg);
	if (!was_ready && !h->closing && origin_live_conns(o, c) == 0) {
		struct rasnd_hreq_list q = o->queue;
		memset(&o->queue, 0, sizeof(o->queue));
		while ((hr = rasnd_hreq_list_pop(&q)))
			req_finish(h, req_of(hr), err, msg);
	}
	free(c);
	if (!h->closing && o->queue.n)
		event_active(o->dispatch, 0, 0);
}

/* ---- what the connection's protocol tells the pool (hconn.h) ---- */

static void hc_finish(void *owner, struct rasnd_hreq *hr, enum rasnd_http_err err, const char *msg)
{
	struct conn *c = owner;
	req_finish(c->h, req_of(hr), err, msg);
}

/* back to the front of the queue, still under its request timeout */
static void hc_requeue(void *owner, struct rasnd_hreq *hr)
{
	struct conn *c = owner;
	rasnd_hreq_list_push_front(&c->o->queue, hr);
}

static void hc_kick(void *owner)
{
	struct conn *c = owner;
	if (c->hc.ready) {
		c->state = C_READY;
		c->o->hint = c->hc.h2 ? 2 : 1;
		c->o->max_streams = c->hc.max_streams;
	}
	origin_kick(c->o);
}

static void hc_want_write(void *owner)
{
	struct conn *c = owner;
	event_add(c->wev, NULL);
}

static void hc_want_read(void *owner)
{
	struct conn *c = owner;
	event_active(c->rev, EV_READ, 0);
}

static uint64_t hc_now(void *owner)
{
	(void)owner;
	return rasn_clock_mono_ms();
}

static const struct rasnd_hconn_ops conn_ops = {
	.finish = hc_finish,
	.requeue = hc_requeue,
	.kick = hc_kick,
	.want_write = hc_want_write,
	.want_read = hc_want_read,
	.now_ms = hc_now,
};

/* ---- timers ---- */

static void conn_arm(struct conn *c)
{
	uint64_t now = rasn_clock_mono_ms();
	uint64_t when = c->state != C_READY ? c->deadline : rasnd_hconn_deadline(&c->hc);
	if (when == UINT64_MAX) {
		evtimer_del(c->timer);
		return;
	}
	uint64_t d = when > now ? when - now : 0;
	struct timeval tv = { (time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

/* After an event on a connection that stays open: close what should not stay, arm timers. */
static void conn_settle(struct conn *c)
{
	struct rasnd_http *h = c->h;
	if (c->state == C_READY && c->hc.active.n == 0) {
		if (!h->o.reuse && c->hc.carried) {
			conn_close(c, RASND_HCONN_ONESHOT, RASND_HTTP_ECLOSED, NULL);
			return;
		}
		if (c->hc.close_after || c->hc.goaway) {
			conn_close(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
			return;
		}
		if (c->o->queue.n == 0) {
			unsigned idle = 0;
			for (struct conn *x = c->o->conns; x; x = x->next)
				if (x->state == C_READY && x->hc.active.n == 0)
					idle++;
			if (idle > h->o.idle_per_host) {
				conn_close(c, RASND_HCONN_IDLE, RASND_HTTP_ECLOSED, NULL);
				return;
			}
		}
	}
	conn_arm(c);
}

static void conn_after(struct conn *c, int rc)
{
	rasnd_hconn_count_bytes(&c->hc);
	if (rc < 0 || c->hc.fail) {
		rasnd_hconn_close_prep(&c->hc);
		conn_close(c, c->hc.fail_why, c->hc.fail_err, c->hc.fail_msg);
		return;
	}
	conn_settle(c);
}

/* The TCP connection is up: TLS over its socket. Returns 0 or -1 with hc.fail set. */
static int conn_start_tls(struct conn *c)
{
	struct rasnd_http *h = c->h;
	SSL *ssl = SSL_new(h->ctx);
	if (!ssl || !SSL_set_fd(ssl, c->fd)) {
		SSL_free(ssl);
		ERR_clear_error();
		return rasnd_hconn_failf(&c->hc, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	}
	rasnd_tlscache_bind(h->tls, ssl, c->o->key);
	if (rasnd_hconn_attach(&c->hc, ssl, c->o->host, c->o->is_ip) < 0)
		return -1;
	c->state = C_HANDSHAKE;
	if (event_add(c->rev, NULL) < 0)
		return rasnd_hconn_failf(&c->hc, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "cannot watch the socket");
	return 0;
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
			event_free(c->rev);
			event_free(c->wev);
			close(c->fd);
			c->rev = c->wev = NULL;
			c->fd = -1;
			c->addr_i++;
			conn_connect_next(c);
			return;
		}
		rc = conn_start_tls(c);
	}
	if (rc == 0)
		rc = rasnd_hconn_io(&c->hc);
	conn_after(c, rc);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t now = rasn_clock_mono_ms();
	if (c->state != C_READY) {
		if (now >= c->deadline) {
			if (c->state == C_HANDSHAKE)
				c->h->st.tls_failed++;
			conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ETIMEOUT,
				   c->state == C_RESOLVING ? "timeout resolving the name"
				   : c->state == C_CONNECTING ? "connect timeout" : "TLS handshake timeout");
			return;
		}
		conn_arm(c);
		return;
	}
	conn_after(c, rasnd_hconn_tick(&c->hc, now));
}

/* ---- connecting ---- */

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
		conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ECONNECT, c->last_err);
		return;
	}
	struct rasnd_http *h = c->h;
	c->state = C_CONNECTING;
	c->rev = event_new(h->base, c->fd, EV_READ | EV_PERSIST, on_io, c);
	c->wev = event_new(h->base, c->fd, EV_WRITE, on_io, c);
	if (!c->rev || !c->wev) {
		conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
		return;
	}
	if (event_add(c->wev, NULL) < 0) {
		conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "cannot watch the socket");
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
			conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ECONNECT, c->last_err);
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
		struct rasnd_hreq *hr;
		while ((hr = rasnd_hreq_list_pop(&o->queue)))
			req_later(h, req_of(hr), RASND_HTTP_ENOMEM, "out of memory");
		return;
	}
	c->o = o;
	c->h = h;
	c->fd = -1;
	c->state = C_RESOLVING;
	rasnd_hconn_init(&c->hc, &h->o, &h->st, &conn_ops, c, o->key);
	c->next = o->conns;
	if (o->conns)
		o->conns->prev = c;
	o->conns = c;
	h->st.conns_opened++;
	o->conns_total++;
	c->deadline = rasn_clock_mono_ms() + h->o.connect_timeout_ms;
	c->timer = evtimer_new(h->base, on_conn_timer, c);
	if (!c->timer) {
		conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
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
		conn_close(c, RASND_HCONN_ERROR, RASND_HTTP_ECONNECT, c->last_err);
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
	struct rasnd_hconn *hc = r->hr.c;
	struct origin *o = r->o;
	char m[MSG_LEN];
	if (!hc) {
		/* still in its origin's queue: no stream or connection came in time */
		snprintf(m, sizeof(m), "no complete response within %u ms (waited for a free stream to %s all along)",
			 o->h->o.request_timeout_ms, o->key);
		rasnd_hreq_list_remove(&o->queue, &r->hr);
		req_finish(o->h, r, RASND_HTTP_ETIMEOUT, m);
		return;
	}
	struct conn *c = hc->owner;
	snprintf(m, sizeof(m), "no complete response within %u ms", c->h->o.request_timeout_ms);
	conn_after(c, rasnd_hconn_cancel(hc, &r->hr, RASND_HTTP_ETIMEOUT, m));
}

static int valid_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* Puts the request on the connection; the bytes leave when the connection's write event
 * runs (activated here, so many requests made in one pass leave together). The request's
 * timer runs since rasnd_http_get: it bounds the whole request. */
static void req_start(struct conn *c, struct req *r)
{
	struct rasnd_http *h = c->h;
	if (rasnd_hconn_submit(&c->hc, &r->hr, c->o->authority) < 0) {
		char m[MSG_LEN];
		snprintf(m, sizeof(m), "%s", r->hr.msg);
		req_later(h, r, RASND_HTTP_EPROTO, m);
		return;
	}
	if (r->hr.reused)
		h->st.conns_reused++;
	h->st.streams_total++;
	if (c->hc.carried > h->st.streams_max)
		h->st.streams_max = c->hc.carried;
	if (c->hc.active.n > c->o->in_flight_max)
		c->o->in_flight_max = c->hc.active.n;
	if (c->hc.active.n > h->st.streams_in_flight_max)
		h->st.streams_in_flight_max = c->hc.active.n;
	event_active(c->wev, EV_WRITE, 0);
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
			if (rasnd_hconn_room(&c->hc) && (!best || c->hc.active.n > best->hc.active.n))
				best = c; /* fill the busiest: the others can go idle and close */
		if (best) {
			req_start(best, req_of(rasnd_hreq_list_pop(&o->queue)));
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
			else if (c->hc.ng && c->hc.max_streams == 0 && !c->hc.goaway && !c->hc.fail)
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
	struct rasnd_hreq *hr = &r->hr;
	rasn_buf_init(&hr->body);
	r->cb = cb;
	r->ud = ud;
	hr->max_body = req->max_body && req->max_body < h->o.max_body ? req->max_body : h->o.max_body;
	if (req->body_to_fd) {
		/* the bound protects memory; a file may be as large as the request allows */
		hr->max_body = req->max_body ? req->max_body : h->o.max_body;
		hr->to_fd = 1;
		hr->fd = req->body_fd;
	}
	/* "https://host" and "https://host?q" ask for "/" and "/?q" */
	int slash = pl == 0 || path[0] == '?';
	hr->path = malloc(pl + 2);
	if (hr->path) {
		if (slash)
			hr->path[0] = '/';
		memcpy(hr->path + slash, path, pl);
		hr->path[pl + slash] = '\0';
	}
	if (!hr->path || (req->if_none_match && !(hr->inm = strdup(req->if_none_match))) ||
	    (req->if_modified_since && !(hr->ims = strdup(req->if_modified_since)))) {
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
		room += rasnd_hconn_room(&c->hc);
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
	rasnd_hreq_list_push(&o->queue, hr);
	event_active(o->dispatch, 0, 0);
	return 0;
}

int rasnd_http_new(struct event_base *base, const struct rasnd_http_opts *o, struct rasnd_http **out,
		   char *err, size_t errlen)
{
	struct rasnd_http_opts def;
	rasnd_http_opts_default(&def);
	*out = NULL;
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
	int rc = rasnd_tlscache_new(h->ctx, h->o.session_cache, &h->tls);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : "OpenSSL: cannot allocate ex_data index");
		goto fail;
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
			conn_close(o->conns, RASND_HCONN_SHUTDOWN, RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
		struct rasnd_hreq *hr;
		while ((hr = rasnd_hreq_list_pop(&o->queue)))
			req_finish(h, req_of(hr), RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
	}
	/* callbacks above may have asked for more: those end here too */
	struct rasnd_hreq *hr;
	while ((hr = rasnd_hreq_list_pop(&h->done)))
		req_finish(h, req_of(hr), RASND_HTTP_ESHUTDOWN, "the HTTP client is shutting down");
	struct origin *o;
	while ((o = h->origins)) {
		h->origins = o->next;
		origin_free(o);
	}
	if (h->ctx)
		SSL_CTX_free(h->ctx);
	rasnd_tlscache_free(h->tls); /* after every SSL of the context */
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
			out->in_flight += c->hc.active.n;
			if (c->state == C_READY && c->hc.active.n == 0)
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
			in_flight += c->hc.active.n;
			if (c->state == C_READY && c->hc.active.n == 0)
				idle++;
		}
		if (o != h->origins)
			rasn_buf_addc(b, ',');
		rasn_buf_lit(b, "{\"origin\":");
		rasn_buf_json_str(b, o->key, strlen(o->key));
		uint64_t carried = o->streams_closed;
		for (const struct conn *c = o->conns; c; c = c->next)
			carried += c->hc.carried;
		rasn_buf_printf(b, ",\"open\":%u,\"idle\":%u,\"in_flight\":%zu,\"queued\":%zu,\"max_streams\":%u,"
				   "\"in_flight_max\":%zu,\"conns_total\":%llu,\"streams_mean\":%.2f,\"conns\":[",
				open, idle, in_flight, o->queue.n, (unsigned)o->max_streams, o->in_flight_max,
				(unsigned long long)o->conns_total,
				o->conns_total ? (double)carried / (double)o->conns_total : 0.0);
		static const char *const states[] = { "resolving", "connecting", "handshake", "ready" };
		for (const struct conn *c = o->conns; c; c = c->next) {
			rasn_buf_printf(b, "%s{\"state\":\"%s\",\"http2\":%s,\"in_flight\":%zu,\"in_flight_max\":%zu,"
					   "\"carried\":%llu,\"sock\":",
					c == o->conns ? "" : ",", states[c->state], c->hc.h2 ? "true" : "false",
					c->hc.active.n, c->hc.in_flight_max, (unsigned long long)c->hc.carried);
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
