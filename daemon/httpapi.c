/* The HTTP API (docs/http-api.md): evhttp parses HTTP/1.1 and keeps connections alive; this
 * file decides who is let in (allow list, connections per address, token bucket, answers in
 * flight), turns request targets into request lines (lib/apireq.c) and answers them through
 * reply slots outside any session (daemon/query.c rasnd_query_answer), so every answer is the
 * socket's reply object for the same line.
 *
 * Lifetimes. evhttp owns requests and connections; we own a conn per connection we have seen a
 * request on (its close callback frees it) and a job per request being answered. A job's slots
 * may complete after the client has gone, so the job never relies on the connection: the
 * close callback cuts the link, and when evhttp is about to free a request we still answer
 * (evhttp_free at shutdown) the job lets go of it first. A request evhttp has detached from a
 * failed connection is still ours: answering it (evhttp_send_reply, _end) is what frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "apireq.h"
#include "httpapi.h"
#include "log.h"
#include "peers.h"
#include "rasnd.h"
#include "reply.h"
#include "query.h"

#define CONN_BUCKETS 256
#define BULK_WINDOW_MAX 256          /* answers of one bulk request in flight at once */
#define BULK_LINES_PER_PUMP 1024     /* lines started per wakeup: bounded work */
#define BULK_OUT_HIGH (256 * 1024)   /* stop starting lines while this much output is unsent */

struct api_job;

struct api_conn {
	struct api_conn *next;
	struct rasnd_api *api;
	struct evhttp_connection *evcon;
	struct rasn_addr peer;
	int counted;                 /* in the per-address table */
	struct api_job *job;         /* the request being answered (evhttp reads one at a time) */
};

struct bulk_slot {
	struct rasnd_slot slot;
	int done;
};

struct api_job {
	struct rasnd_api *api;
	struct evhttp_request *req;  /* NULL: evhttp freed it (shutdown); nothing to answer */
	struct api_conn *conn;       /* NULL: the client has gone */
	struct rasnd_slot slot;      /* single lookup */
	int bad_request;             /* an error reply is the client's fault: 400, not 503 */
	int bulk;
	/* bulk */
	struct bulk_slot *ring;
	size_t cap, head, n;         /* ring of slots started, answered in order from head */
	int body_done, in_pump, started;
	struct evbuffer *out;
	struct event *kick;          /* continue after BULK_LINES_PER_PUMP lines */
};

struct rasnd_api {
	struct rasnd *d;
	struct evhttp *http;
	struct evhttp_bound_socket *bound[RASND_LISTEN_MAX];
	size_t n_bound;
	struct rasn_peers *peers;
	struct api_conn *conns[CONN_BUCKETS];
	size_t in_flight;            /* answers started and not completed, all requests */
	int stopped;                 /* evhttp is gone; api goes when the last answer is in */
	struct rasnd_net_stats st;
};

static size_t conn_hash(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	return (size_t)((x >> 4) ^ (x >> 12)) % CONN_BUCKETS;
}

static struct api_conn *conn_find(struct rasnd_api *api, struct evhttp_connection *evcon)
{
	for (struct api_conn *c = api->conns[conn_hash(evcon)]; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void conn_unlink(struct rasnd_api *api, struct api_conn *c)
{
	struct api_conn **pp = &api->conns[conn_hash(c->evcon)];
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
}

static void count_status(struct rasnd_api *api, int code)
{
	switch (code) {
	case 200: api->st.status_200++; break;
	case 400: api->st.status_400++; break;
	case 403: api->st.status_403++; break;
	case 404: api->st.status_404++; break;
	case 405: api->st.status_405++; break;
	case 429: api->st.status_429++; break;
	default: api->st.status_503++; break;
	}
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 429: return "Too Many Requests";
	default: return "Service Unavailable";
	}
}

/* Send body (len bytes) with code. close: end the connection after it. */
static void send_body(struct rasnd_api *api, struct evhttp_request *req, int code, const char *ctype,
		      const char *body, size_t len, int close)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", ctype);
	if (code == 429 || code == 503)
		evhttp_add_header(h, "Retry-After", "1");
	if (close)
		evhttp_add_header(h, "Connection", "close");
	/* the request's own output buffer: no buffer to allocate per answer */
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	count_status(api, code);
	evhttp_send_reply(req, code, reason(code), NULL);
}

static void send_error(struct rasnd_api *api, struct evhttp_request *req, int code, const char *msg, int close)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasn_buf_lit(&b, "{\"status\":\"error\",\"error\":");
	rasn_buf_json_str(&b, msg, strlen(msg));
	rasn_buf_lit(&b, "}\n");
	send_body(api, req, code, "application/json", b.oom ? "" : b.data, b.oom ? 0 : b.len, close);
	rasn_buf_free(&b);
}

/* The HTTP status for a reply object: its "status" field (the query is escaped, so the first
 * unescaped `","status":"` is the field's); an error is 400 when the request was bad, else 503. */
static int reply_code(const struct rasn_buf *r, int bad_request)
{
	static const char key[] = "\",\"status\":\"";
	if (r->oom || !r->len)
		return 503;
	const char *p = memmem(r->data, r->len, key, sizeof(key) - 1);
	if (!p)
		return 503;
	p += sizeof(key) - 1;
	size_t left = r->len - (size_t)(p - r->data);
	if (left >= 3 && memcmp(p, "ok\"", 3) == 0)
		return 200;
	if (left >= 10 && memcmp(p, "not_found\"", 10) == 0)
		return 404;
	return bad_request ? 400 : 503;
}

/* ---- single lookups ---- */

static void job_free(struct api_job *j)
{
	if (j->conn)
		j->conn->job = NULL;
	if (j->out)
		evbuffer_free(j->out);
	if (j->kick)
		event_free(j->kick);
	if (j->ring) {
		for (size_t i = 0; i < j->cap; i++) {
			rasn_buf_free(&j->ring[i].slot.reply);
			rasn_buf_free(&j->ring[i].slot.after);
		}
		free(j->ring);
	}
	rasn_buf_free(&j->slot.reply);
	rasn_buf_free(&j->slot.after);
	free(j);
}

/* After shutdown: the last pending answer lets go of api. */
static void api_maybe_free(struct rasnd_api *api)
{
	if (api->stopped && api->in_flight == 0) {
		api->d->api = NULL;
		free(api);
	}
}

/* The slot's answer is in: send it (a request detached from a gone client is freed by the
 * send), then let go of the job. Nothing touches the slot after on_done returns. */
static void single_done(struct rasnd_slot *slot)
{
	struct api_job *j = slot->owner;
	struct rasnd_api *api = j->api;
	api->in_flight--;
	if (j->req) {
		int code = reply_code(&slot->reply, j->bad_request);
		send_body(api, j->req, code, "application/json", slot->reply.oom ? "" : slot->reply.data,
			  slot->reply.oom ? 0 : slot->reply.len, 0);
	}
	job_free(j);
	api_maybe_free(api);
}

static struct api_job *job_new(struct rasnd_api *api, struct evhttp_request *req, struct api_conn *c)
{
	struct api_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->api = api;
	j->req = req;
	j->conn = c;
	c->job = j;
	rasn_buf_init(&j->slot.reply);
	rasn_buf_init(&j->slot.after);
	return j;
}

static void lookup(struct rasnd_api *api, struct evhttp_request *req, struct api_conn *c, const struct rasn_apireq *ar)
{
	struct api_job *j = job_new(api, req, c);
	if (!j) {
		send_error(api, req, 503, "out of memory", 0);
		return;
	}
	j->slot.on_done = single_done;
	j->slot.owner = j;
	j->bad_request = rasnd_query_bad_request(ar->line, ar->len);
	api->in_flight++;
	api->st.requests++;
	rasnd_query_answer(api->d, &j->slot, ar->line, ar->len); /* may complete (and free j) now */
}

/* ---- POST /v1/bulk: request lines in, reply lines out in order, streamed ---- */

static void pump(struct api_job *j);

static void bulk_done(struct rasnd_slot *slot)
{
	struct bulk_slot *bs = (struct bulk_slot *)slot;
	struct api_job *j = slot->owner;
	bs->done = 1;
	j->api->in_flight--;
	if (!j->in_pump)
		pump(j); /* may free j: nothing of it is touched after */
}

static void on_flushed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	pump(arg);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static size_t out_queued(struct api_job *j)
{
	if (!j->conn)
		return 0;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(j->conn->evcon);
	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* The next line of the body into buf (CR LF or LF ends it; the last may lack one). Returns its
 * length, -1 at the end, or -2 for an over-long line (skipped up to its end). */
static long next_line(struct evbuffer *in, char *buf, size_t cap)
{
	size_t len = evbuffer_get_length(in);
	if (len == 0)
		return -1;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	size_t n = eol.pos < 0 ? len : (size_t)eol.pos;
	long rc;
	if (n > cap) {
		evbuffer_drain(in, n);
		rc = -2;
	} else {
		evbuffer_remove(in, buf, n);
		rc = (long)n;
		if (rc > 0 && buf[rc - 1] == '\r')
			rc--;
	}
	if (eol.pos >= 0)
		evbuffer_drain(in, 1);
	return rc;
}

/* Start lines while the window, the listener's bound on answers in flight and the unsent
 * output allow; emit finished answers in order; end the response when all are out. Bounded:
 * at most BULK_LINES_PER_PUMP lines per call; the chunk's flush, an answer or the kick event
 * runs it again. */
static void pump(struct api_job *j)
{
	struct rasnd_api *api = j->api;
	size_t started = 0;
	int progress = 1;
	j->in_pump = 1;
	while (progress) {
		progress = 0;
		while (j->n && j->ring[j->head].done) {
			struct rasnd_slot *s = &j->ring[j->head].slot;
			if (j->req && j->conn)
				evbuffer_add(j->out, s->reply.data, s->reply.len);
			s->reply.len = 0;
			s->reply.oom = 0;
			j->head = (j->head + 1) % j->cap;
			j->n--;
			progress = 1;
		}
		struct evbuffer *in = j->req ? evhttp_request_get_input_buffer(j->req) : NULL;
		while (!j->body_done && j->conn && j->req && j->n < j->cap && started < BULK_LINES_PER_PUMP &&
		       api->in_flight < api->d->cfg.max_pending &&
		       evbuffer_get_length(j->out) + out_queued(j) < BULK_OUT_HIGH) {
			char line[RASN_LINE_MAX];
			long len = next_line(in, line, sizeof(line));
			if (len == -1) {
				j->body_done = 1;
				break;
			}
			started++;
			progress = 1;
			if (len == 0)
				continue; /* blank lines get no answer */
			struct bulk_slot *bs = &j->ring[(j->head + j->n) % j->cap];
			j->n++;
			bs->done = 0;
			api->st.lines++;
			api->in_flight++;
			if (len == -2) {
				char msg[96];
				snprintf(msg, sizeof(msg), "line too long (more than %d bytes)", RASN_LINE_MAX);
				api->st.too_long++;
				rasn_reply_error(&bs->slot.reply, "", 0, "invalid", msg);
				bulk_done(&bs->slot);
				continue;
			}
			rasnd_query_answer(api->d, &bs->slot, line, (size_t)len);
		}
	}
	if (!j->conn || !j->req)
		j->body_done = 1; /* nobody to answer: start nothing more */
	if (j->req && j->conn && evbuffer_get_length(j->out)) {
		evhttp_send_reply_chunk_with_cb(j->req, j->out, on_flushed, j);
		size_t q = out_queued(j);
		if (q > api->st.queued_max)
			api->st.queued_max = q;
	}
	if (j->body_done && j->n == 0) {
		if (j->req)
			evhttp_send_reply_end(j->req); /* frees a detached request */
		j->in_pump = 0;
		job_free(j);
		api_maybe_free(api);
		return;
	}
	if (started >= BULK_LINES_PER_PUMP) {
		event_active(j->kick, EV_TIMEOUT, 0);
	} else if (!j->body_done && j->n == 0 && !evbuffer_get_length(j->out) && out_queued(j) == 0) {
		/* held back by other requests' answers in flight: nothing of ours will wake us */
		struct timeval tv = { 0, 10000 };
		event_add(j->kick, &tv);
	}
	j->in_pump = 0;
}

static void bulk(struct rasnd_api *api, struct evhttp_request *req, struct api_conn *c)
{
	struct rasnd *d = api->d;
	struct api_job *j = job_new(api, req, c);
	size_t cap = d->cfg.max_pending < BULK_WINDOW_MAX ? d->cfg.max_pending : BULK_WINDOW_MAX;
	if (j) {
		j->bulk = 1;
		j->cap = cap;
		j->ring = calloc(cap, sizeof(*j->ring));
		j->out = evbuffer_new();
		j->kick = event_new(d->base, -1, 0, on_kick, j);
	}
	if (!j || !j->ring || !j->out || !j->kick) {
		if (j)
			job_free(j);
		send_error(api, req, 503, "out of memory", 0);
		return;
	}
	for (size_t i = 0; i < cap; i++) {
		rasn_buf_init(&j->ring[i].slot.reply);
		rasn_buf_init(&j->ring[i].slot.after);
		j->ring[i].slot.on_done = bulk_done;
		j->ring[i].slot.owner = j;
	}
	api->st.requests++;
	count_status(api, 200);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
	evhttp_send_reply_start(req, 200, "OK");
	pump(j);
}

/* ---- admission ---- */

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn *c = arg;
	struct rasnd_api *api = c->api;
	(void)evcon;
	conn_unlink(api, c);
	if (c->counted)
		rasn_peers_close(api->peers, &c->peer, rasnd_net_now());
	api->st.current--;
	if (c->job) {
		/* still attached: evhttp frees the request right after this (evhttp_free) */
		if (evhttp_request_get_connection(c->job->req))
			c->job->req = NULL;
		c->job->conn = NULL;
	}
	free(c);
}

/* The conn for this request's connection, admitted on its first request. NULL: refused
 * (answered). */
static struct api_conn *admit(struct rasnd_api *api, struct evhttp_request *req)
{
	const struct rasnd_netcfg *nc = &api->d->cfg.api;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct api_conn *c = evcon ? conn_find(api, evcon) : NULL;
	if (c)
		return c;
	if (!evcon) {
		send_error(api, req, 503, "no connection", 1); /* frees the request */
		return NULL;
	}
	struct rasn_addr peer;
	if (rasnd_net_peer(evhttp_connection_get_addr(evcon), &peer) < 0 ||
	    !rasn_peers_allowed(nc->allow, nc->n_allow, &peer)) {
		api->st.refused_allow++;
		send_error(api, req, 403, "this address is not in [http_api] allow", 1);
		return NULL;
	}
	if (api->st.current >= nc->max_clients) {
		api->st.refused_clients++;
		send_error(api, req, 503, "too many clients ([http_api] max_clients)", 1);
		return NULL;
	}
	int rc = rasn_peers_open(api->peers, &peer, nc->max_conns_per_addr, rasnd_net_now());
	if (rc < 0) {
		api->st.refused_conns++;
		send_error(api, req, 429, "too many connections from this address ([http_api] max_conns_per_addr)", 1);
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		rasn_peers_close(api->peers, &peer, rasnd_net_now());
		send_error(api, req, 503, "out of memory", 1);
		return NULL;
	}
	c->api = api;
	c->evcon = evcon;
	c->peer = peer;
	c->counted = 1;
	c->next = api->conns[conn_hash(evcon)];
	api->conns[conn_hash(evcon)] = c;
	api->st.accepted++;
	api->st.current++;
	evhttp_connection_set_closecb(evcon, on_conn_close, c);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	if (bev)
		rasnd_net_tune_conn(api->d, bufferevent_getfd(bev));
	return c;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rasnd_api *api = arg;
	struct rasnd *d = api->d;
	const struct rasnd_netcfg *nc = &d->cfg.api;
	struct api_conn *c = admit(api, req);
	if (!c)
		return;
	if (rasn_peers_take(api->peers, &c->peer, (double)nc->rate, (double)nc->burst, rasnd_net_now()) < 0) {
		api->st.refused_rate++;
		send_error(api, req, 429, "rate limited ([http_api] rate)", 0);
		return;
	}
	const char *uri = evhttp_request_get_uri(req);
	struct rasn_apireq ar;
	rasn_apireq_parse(uri, strlen(uri), &ar);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (ar.kind == RASN_API_BAD) {
		send_error(api, req, 400, ar.error, 0);
		return;
	}
	if (ar.kind == RASN_API_NOT_FOUND || (ar.kind == RASN_API_METRICS && !d->cfg.api_metrics)) {
		send_error(api, req, 404, "no such endpoint (see docs/http-api.md)", 0);
		return;
	}
	if ((ar.kind == RASN_API_BULK) != (cmd == EVHTTP_REQ_POST)) {
		send_error(api, req, 405, ar.kind == RASN_API_BULK ? "POST /v1/bulk" : "GET here; POST only /v1/bulk", 0);
		return;
	}
	if (ar.kind == RASN_API_METRICS) {
		struct rasn_buf b;
		rasn_buf_init(&b);
		d->stats_prometheus(d, &b);
		api->st.requests++;
		send_body(api, req, b.oom ? 503 : 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.oom ? 0 : b.len, 0);
		rasn_buf_free(&b);
		return;
	}
	if (c->job || api->in_flight >= d->cfg.max_pending) {
		api->st.refused_busy++;
		send_error(api, req, 503, "busy: too many answers pending ([server] max_pending)", 0);
		return;
	}
	if (ar.kind == RASN_API_BULK)
		bulk(api, req, c);
	else
		lookup(api, req, c, &ar);
}

int rasnd_api_start(struct rasnd *d, char *err, size_t errlen)
{
	const struct rasnd_netcfg *nc = &d->cfg.api;
	size_t passed = rasnd_passed_count(d->passed, RASND_SOCK_API);
	if (nc->n_listen == 0 && passed == 0)
		return 0;
	struct rasnd_api *api = calloc(1, sizeof(*api));
	if (!api || !(api->peers = rasn_peers_new(65536)) || !(api->http = evhttp_new(d->base))) {
		snprintf(err, errlen, "http_api: out of memory");
		goto fail;
	}
	api->d = d;
	d->api = api;
	if (passed && nc->n_listen)
		log_info("http_api: serving the sockets passed by the service manager; not binding [http_api] listen");
	for (size_t i = 0; i < (passed ? passed : nc->n_listen); i++) {
		char what[160];
		int fd = rasnd_net_open(d, passed ? RASND_SOCK_API : RASND_SOCK_ROLES, nc->listen[i], what, sizeof(what),
					err, errlen);
		if (fd < 0)
			goto fail;
		api->bound[i] = evhttp_accept_socket_with_handle(api->http, fd);
		if (!api->bound[i]) {
			close(fd);
			snprintf(err, errlen, "http_api: cannot serve %s", what);
			goto fail;
		}
		api->n_bound++;
		if (passed)
			log_info("http_api: listening on %s", what);
		else
			log_info("http_api: http://%s/v1/", what);
	}
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_max_headers_size(api->http, (ev_ssize_t)d->cfg.api_max_header_size);
	evhttp_set_max_body_size(api->http, (ev_ssize_t)d->cfg.api_max_body);
	evhttp_set_timeout(api->http, (int)nc->timeout_s);
	evhttp_set_gencb(api->http, on_request, api);
	return 0;
fail:
	if (api && !d->api) {
		rasn_peers_free(api->peers);
		if (api->http)
			evhttp_free(api->http);
		free(api);
	}
	return -1;
}

void rasnd_api_drain(struct rasnd *d)
{
	struct rasnd_api *api = d->api;
	if (!api)
		return;
	for (size_t i = 0; i < api->n_bound; i++)
		evhttp_del_accept_socket(api->http, api->bound[i]);
	api->n_bound = 0;
}

void rasnd_api_stop(struct rasnd *d)
{
	struct rasnd_api *api = d->api;
	if (!api)
		return;
	/* every conn's close callback runs: jobs let go of their requests */
	evhttp_free(api->http);
	api->http = NULL;
	rasn_peers_free(api->peers);
	api->peers = NULL;
	/* jobs whose answers are still pending keep api: it goes when they have all come in */
	api->stopped = 1;
	api_maybe_free(api);
}

void rasnd_api_stats(struct rasnd *d, struct rasnd_net_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (d->api)
		*out = d->api->st;
}
