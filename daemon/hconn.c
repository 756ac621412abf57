/* One HTTPS connection's protocol (hconn.h). Callbacks from nghttp2 and lib/h1resp.c record
 * what happened (a request's own error in r->err, the connection's in c->fail); the functions
 * the owner calls return -1 when the connection is to close. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "build_config.h"
#include "hconn.h"
#include "log.h"

#define HEAD_MAX RASN_H1RESP_HEAD_MAX /* response header block, HTTP/1.1 and HTTP/2 */
#define READ_CHUNK 16384
#define READ_BUDGET (1024 * 1024)   /* per call: then yield to the loop */
#define OUT_HIGH (256 * 1024)       /* stop pulling frames from nghttp2 above this */
#define STREAMS_CAP 1000            /* whatever the server says */
#define STREAMS_INITIAL 100         /* until the server's SETTINGS (RFC 9113 advice) */

static const char user_agent[] = "rasnd/" RASN_VERSION;

/* ---- request lists ---- */

void rasnd_hreq_list_push(struct rasnd_hreq_list *l, struct rasnd_hreq *r)
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

void rasnd_hreq_list_push_front(struct rasnd_hreq_list *l, struct rasnd_hreq *r)
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

void rasnd_hreq_list_remove(struct rasnd_hreq_list *l, struct rasnd_hreq *r)
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

struct rasnd_hreq *rasnd_hreq_list_pop(struct rasnd_hreq_list *l)
{
	struct rasnd_hreq *r = l->head;
	if (r)
		rasnd_hreq_list_remove(l, r);
	return r;
}

/* ---- the connection ---- */

void rasnd_hconn_init(struct rasnd_hconn *c, const struct rasnd_http_opts *o, struct rasnd_http_stats *st,
		      const struct rasnd_hconn_ops *ops, void *owner, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->st = st;
	c->ops = ops;
	c->owner = owner;
	c->name = name;
	rasn_buf_init(&c->out);
	rasn_buf_init(&c->in);
	rasn_h1resp_init(&c->h1, o->max_body);
}

int rasnd_hconn_failf(struct rasnd_hconn *c, int why, enum rasnd_http_err err, const char *fmt, ...)
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

void rasnd_hconn_count_bytes(struct rasnd_hconn *c)
{
	if (!c->ssl)
		return;
	BIO *rb = SSL_get_rbio(c->ssl), *wb = SSL_get_wbio(c->ssl);
	uint64_t in = rb ? BIO_number_read(rb) : 0, out = wb ? BIO_number_written(wb) : 0;
	if (in > c->bio_in)
		c->st->bytes_in += in - c->bio_in;
	if (out > c->bio_out)
		c->st->bytes_out += out - c->bio_out;
	c->bio_in = in;
	c->bio_out = out;
}

static void went_idle(struct rasnd_hconn *c)
{
	if (c->active.n == 0)
		c->idle_since = c->ping_base = c->ops->now_ms(c->owner);
}

/* ---- bodies and headers ---- */

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

static int body_add(struct rasnd_hreq *r, const char *p, size_t n)
{
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

static void request_done(struct rasnd_hconn *c, struct rasnd_hreq *r)
{
	rasnd_hreq_list_remove(&c->active, r);
	r->c = NULL;
	c->ops->finish(c->owner, r, RASND_HTTP_OK, NULL);
	went_idle(c);
	c->ops->kick(c->owner);
}

/* ---- HTTP/1.1 ---- */

/* lib/h1resp.c parses; these callbacks tie its events to the request at the head of the
 * connection (HTTP/1.1 carries one at a time). They record, never close. */
static int on_h1_head(void *ud, const struct rasn_h1resp_head *hd)
{
	struct rasnd_hconn *c = ud;
	struct rasnd_hreq *r = c->active.head;
	if ((hd->etag && set_str(&r->etag, hd->etag, hd->etag_len) < 0) ||
	    (hd->last_modified && set_str(&r->last_modified, hd->last_modified, hd->last_modified_len) < 0) ||
	    (hd->retry_after && set_str(&r->retry_after, hd->retry_after, hd->retry_after_len) < 0))
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	r->status = hd->status;
	c->close_after = hd->close;
	return 0;
}

static int on_h1_body(void *ud, const char *p, size_t n)
{
	struct rasnd_hconn *c = ud;
	return body_add(c->active.head, p, n);
}

/* Stops the parser after each response: the next bytes need a request of their own. */
static int on_h1_complete(void *ud)
{
	struct rasnd_hconn *c = ud;
	request_done(c, c->active.head);
	return 1;
}

/* A protocol error breaks the connection for everyone on it; a body over max_body is the
 * request's own failure (the connection still closes: the rest of the body would follow). */
static void on_h1_error(void *ud, enum rasn_h1resp_err kind, const char *reason, const char *msg)
{
	struct rasnd_hconn *c = ud;
	struct rasnd_hreq *r = c->active.head;
	(void)reason;
	if (kind == RASN_H1RESP_ETOOBIG) {
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
		r->err = RASND_HTTP_ETOOBIG;
	} else {
		rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "%s", msg);
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
static int h1_parse(struct rasnd_hconn *c)
{
	size_t pos = 0;
	int rc = 0;
	while (pos < c->in.len && !c->fail) {
		struct rasnd_hreq *r = c->active.head;
		if (!r) {
			rc = rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "unsolicited data from the server");
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

static int h1_feed(struct rasnd_hconn *c, const char *p, size_t n)
{
	rasn_buf_add(&c->in, p, n);
	if (c->in.oom)
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	return h1_parse(c);
}

/* ---- HTTP/2 callbacks: record, never close ---- */

static int on_h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
			const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	(void)flags;
	(void)ud;
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct rasnd_hreq *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
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
	(void)flags;
	(void)ud;
	struct rasnd_hreq *r = nghttp2_session_get_stream_user_data(s, sid);
	if (!r || r->err)
		return 0;
	if (body_add(r, (const char *)data, len) < 0)
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
	return 0;
}

static int on_h2_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rasnd_hconn *c = ud;
	switch (f->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) {
			uint32_t m = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
			c->max_streams = m > STREAMS_CAP ? STREAMS_CAP : m;
			c->ops->kick(c->owner);
		}
		break;
	case NGHTTP2_PING:
		if ((f->hd.flags & NGHTTP2_FLAG_ACK) && c->ping_sent_at) {
			c->st->pings_acked++;
			c->ping_sent_at = 0;
			c->ping_base = c->ops->now_ms(c->owner);
		}
		break;
	case NGHTTP2_GOAWAY:
		c->goaway = 1;
		c->ops->kick(c->owner);
		break;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			struct rasnd_hreq *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
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
	struct rasnd_hconn *c = ud;
	struct rasnd_hreq *r = nghttp2_session_get_stream_user_data(s, sid);
	if (!r)
		return 0;
	nghttp2_session_set_stream_user_data(s, sid, NULL);
	rasnd_hreq_list_remove(&c->active, r);
	r->c = NULL;
	if (r->err) {
		c->ops->finish(c->owner, r, r->err, r->msg);
	} else if (code == NGHTTP2_REFUSED_STREAM && r->status == 0 && !r->refused && !r->written) {
		/* RFC 9113 8.7: the server did not process a refused stream, so it may go again
		 * (sent before the server's SETTINGS lowered the limit, or past a GOAWAY) */
		r->refused = 1;
		r->stream_id = 0;
		c->ops->requeue(c->owner, r);
	} else if (r->complete && r->status >= 200) {
		c->ops->finish(c->owner, r, RASND_HTTP_OK, NULL);
	} else {
		char m[RASND_HCONN_MSG_LEN];
		snprintf(m, sizeof(m), "stream closed before the response was complete (%s)",
			 code == NGHTTP2_REFUSED_STREAM ? "refused, GOAWAY" : nghttp2_http2_strerror(code));
		c->ops->finish(c->owner, r, code == NGHTTP2_NO_ERROR || code == NGHTTP2_REFUSED_STREAM ||
			       code == NGHTTP2_CANCEL ? RASND_HTTP_ECLOSED : RASND_HTTP_EPROTO, m);
	}
	went_idle(c);
	c->ops->kick(c->owner);
	return 0;
}

/* nghttp2's own account of a protocol error (a bad frame, a header it refused): what the
 * request's error says is shorter. */
static int on_h2_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud)
{
	struct rasnd_hconn *c = ud;
	(void)s;
	log_notice("http: %s: HTTP/2: %.*s (%s)", c->name, len > 512 ? 512 : (int)len, msg, nghttp2_strerror(code));
	snprintf(c->h2_err, sizeof(c->h2_err), "%.*s", len > 200 ? 200 : (int)len, msg);
	return 0;
}

/* A GOAWAY with an error code that nghttp2 sends itself ends the session for a protocol
 * error of the server's (garbage instead of frames, a bad SETTINGS): remembered so that the
 * end is reported as that error, not as a plain close. */
static int on_h2_sent(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct rasnd_hconn *c = ud;
	(void)s;
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR)
		c->goaway_sent = f->goaway.error_code;
	return 0;
}

static int start_h2(struct rasnd_hconn *c)
{
	const struct rasnd_http_opts *o = c->o;
	nghttp2_session_callbacks *cbs;
	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_h2_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_h2_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_h2_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_h2_close);
	nghttp2_session_callbacks_set_error_callback2(cbs, on_h2_error);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_h2_sent);
	int rv = nghttp2_session_client_new(&c->ng, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	if (rv != 0)
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "HTTP/2: %s", nghttp2_strerror(rv));
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
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s", nghttp2_strerror(rv));
	c->max_streams = STREAMS_INITIAL;
	return 0;
}

/* ---- TLS ---- */

int rasnd_hconn_attach(struct rasnd_hconn *c, SSL *ssl, const char *host, int is_ip)
{
	static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1", alpn_h1[] = "\x08http/1.1";
	c->ssl = ssl;
	int ok;
	if (is_ip)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else
		ok = SSL_set1_host(ssl, host) && SSL_set_tlsext_host_name(ssl, host);
	if (ok)
		ok = c->o->http2 ? SSL_set_alpn_protos(ssl, alpn_h2, sizeof(alpn_h2) - 1) == 0
				 : SSL_set_alpn_protos(ssl, alpn_h1, sizeof(alpn_h1) - 1) == 0;
	if (!ok) {
		ERR_clear_error();
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "cannot set up TLS for this host");
	}
	SSL_set_connect_state(ssl);
	return 0;
}

static int tls_error(struct rasnd_hconn *c, int rc, const char *what)
{
	int e = SSL_get_error(c->ssl, rc);
	unsigned long ee = ERR_peek_last_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return rasnd_hconn_failf(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
	if (ee)
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "TLS %s failed: %s", what,
					 ERR_reason_error_string(ee) ? ERR_reason_error_string(ee) : "?");
	if (e == SSL_ERROR_SYSCALL && errno && errno != EAGAIN)
		return rasnd_hconn_failf(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "%s: %s", what, strerror(errno));
	return rasnd_hconn_failf(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "connection closed by the server");
}

static int handshake(struct rasnd_hconn *c)
{
	struct rasnd_http_stats *st = c->st;
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(c->ssl);
	if (rc != 1) {
		int e = SSL_get_error(c->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->ops->want_write(c->owner);
			return 0;
		}
		st->tls_failed++;
		long vr = SSL_get_verify_result(c->ssl);
		unsigned long ee = ERR_peek_last_error();
		if (vr != X509_V_OK)
			return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "certificate verify failed: %s",
						 X509_verify_cert_error_string(vr));
		if (ee)
			return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: %s",
						 ERR_reason_error_string(ee) ? ERR_reason_error_string(ee) : "?");
		if (e == SSL_ERROR_SYSCALL && errno)
			return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: %s",
						 strerror(errno));
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "TLS handshake failed: connection closed");
	}
	/* belt and braces: SSL_VERIFY_PEER already failed the handshake on a bad chain */
	long vr = SSL_get_verify_result(c->ssl);
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	X509_free(peer);
	if (vr != X509_V_OK || !peer) {
		st->tls_failed++;
		return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ETLS, "certificate verify failed: %s",
					 peer ? X509_verify_cert_error_string(vr) : "no certificate");
	}
	c->handshaken = 1;
	c->resumed = SSL_session_reused(c->ssl);
	if (c->resumed)
		st->tls_resumed++;
	else
		st->tls_full++;
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
	c->h2 = alen == 2 && memcmp(alpn, "h2", 2) == 0;
	if (c->h2) {
		st->h2_conns++;
		if (start_h2(c) < 0)
			return -1;
	} else {
		st->h1_conns++;
		c->max_streams = 1;
	}
	c->ready = 1;
	c->idle_since = c->ping_base = c->ops->now_ms(c->owner);
	c->ops->kick(c->owner);
	return 0;
}

/* ---- I/O ---- */

int rasnd_hconn_flush(struct rasnd_hconn *c)
{
	for (;;) {
		if (c->ng) {
			while (c->out.len - c->out_off < OUT_HIGH) {
				const uint8_t *p;
				ssize_t n = nghttp2_session_mem_send(c->ng, &p);
				if (n < 0)
					return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s",
								 nghttp2_strerror((int)n));
				if (n == 0)
					break;
				rasn_buf_add(&c->out, p, (size_t)n);
			}
			if (c->out.oom)
				return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ENOMEM, "out of memory");
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
			c->ops->want_write(c->owner);
			break;
		}
		if (e == SSL_ERROR_WANT_READ)
			break; /* the owner always watches for reads */
		return tls_error(c, n, "write");
	}
	if (c->ng && !nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng)) {
		if (c->goaway_sent)
			return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s (%s)",
						 c->h2_err[0] ? c->h2_err : "protocol error",
						 nghttp2_http2_strerror(c->goaway_sent));
		return rasnd_hconn_failf(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "HTTP/2 session ended (GOAWAY)");
	}
	return 0;
}

/* The server ended the connection. clean: with a TLS close_notify; without one (a bare TCP
 * FIN, a reset, a TLS error), a body that only the end of the connection delimits may have
 * been cut anywhere, so it is a truncation, never a complete response. */
static int conn_eof(struct rasnd_hconn *c, int clean, const char *how)
{
	struct rasnd_hreq *r = c->active.head;
	if (!c->ng && r && !r->err && rasn_h1resp_until_eof(&c->h1) && !clean) {
		snprintf(r->msg, sizeof(r->msg), "response cut short: the connection ended without a TLS close_notify (%s) "
			 "before a body delimited by the connection's end", how);
		r->err = RASND_HTTP_ECLOSED;
		return rasnd_hconn_failf(c, RASND_HCONN_PEER, RASND_HTTP_ECLOSED, "%s", r->msg);
	}
	/* a body delimited by the end of the connection is complete now (on_h1_complete) */
	if (!c->ng && r && !r->err && rasn_h1resp_eof(&c->h1, &h1_cbs, c) > 0)
		r = NULL;
	/* a one-shot connection the server closed after its one response */
	int why = !r && !c->o->reuse && c->carried ? RASND_HCONN_ONESHOT : RASND_HCONN_PEER;
	return rasnd_hconn_failf(c, why, RASND_HTTP_ECLOSED, "connection closed by the server");
}

static int conn_read(struct rasnd_hconn *c)
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
					return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_EPROTO, "HTTP/2: %s",
								 nghttp2_strerror((int)rv));
			} else if (h1_feed(c, buf, (size_t)n) < 0) {
				return -1;
			}
			if (c->fail)
				return -1;
			if (!c->ng && c->active.head && c->active.head->err)
				return -1;
			if (total >= READ_BUDGET) {
				c->ops->want_read(c->owner); /* SSL may hold the rest: no socket event */
				return 0;
			}
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->ops->want_write(c->owner);
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

int rasnd_hconn_io(struct rasnd_hconn *c)
{
	if (!c->handshaken) {
		if (handshake(c) < 0)
			return -1;
		if (!c->ready)
			return 0;
	}
	if (conn_read(c) < 0)
		return -1;
	return rasnd_hconn_flush(c);
}

/* ---- requests ---- */

uint32_t rasnd_hconn_room(const struct rasnd_hconn *c)
{
	if (!c->ready || c->goaway || c->fail || c->close_after)
		return 0;
	if (!c->o->reuse)
		return c->carried == 0 && c->active.n == 0;
	return c->active.n < c->max_streams ? (uint32_t)(c->max_streams - c->active.n) : 0;
}

int rasnd_hconn_submit(struct rasnd_hconn *c, struct rasnd_hreq *r, const char *authority)
{
	r->h2 = c->h2;
	r->resumed = c->resumed;
	r->reused = c->carried > 0;
	if (c->ng) {
		nghttp2_nv nva[8];
		size_t n = 0;
#define NV(nm, v) nva[n++] = (nghttp2_nv){ (uint8_t *)(nm), (uint8_t *)(v), sizeof(nm) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
		NV(":method", "GET");
		NV(":scheme", "https");
		NV(":authority", authority);
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
			snprintf(r->msg, sizeof(r->msg), "HTTP/2: %s", nghttp2_strerror(sid));
			return -1;
		}
		r->stream_id = sid;
	} else {
		struct rasn_buf *b = &c->out;
		rasn_buf_lit(b, "GET ");
		rasn_buf_adds(b, r->path);
		rasn_buf_lit(b, " HTTP/1.1\r\nHost: ");
		rasn_buf_adds(b, authority);
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
		if (!c->o->reuse)
			rasn_buf_lit(b, "Connection: close\r\n");
		rasn_buf_lit(b, "\r\n");
		rasn_h1resp_init(&c->h1, r->max_body);
		c->close_after = 0;
	}
	r->c = c;
	c->carried++;
	c->idle_since = 0;
	rasnd_hreq_list_push(&c->active, r);
	if (c->active.n > c->in_flight_max)
		c->in_flight_max = c->active.n;
	return 0;
}

int rasnd_hconn_cancel(struct rasnd_hconn *c, struct rasnd_hreq *r, enum rasnd_http_err err, const char *msg)
{
	rasnd_hreq_list_remove(&c->active, r);
	r->c = NULL;
	if (c->ng) {
		nghttp2_session_set_stream_user_data(c->ng, r->stream_id, NULL);
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
		c->ops->finish(c->owner, r, err, msg);
		went_idle(c);
		c->ops->kick(c->owner);
		return rasnd_hconn_flush(c);
	}
	/* HTTP/1.1: the rest of that response would still come, so the connection goes */
	c->ops->finish(c->owner, r, err, msg);
	return rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ECLOSED, "%s", msg);
}

/* ---- timers ---- */

uint64_t rasnd_hconn_deadline(const struct rasnd_hconn *c)
{
	const struct rasnd_http_opts *o = c->o;
	uint64_t when = UINT64_MAX;
	if (c->active.n == 0 && c->idle_since)
		when = c->idle_since + o->idle_timeout_ms;
	if (c->ng && c->ping_sent_at) {
		uint64_t t = c->ping_sent_at + o->ping_timeout_ms;
		when = t < when ? t : when;
	} else if (c->ng && o->ping_interval_ms && c->active.n == 0) {
		uint64_t t = c->ping_base + o->ping_interval_ms;
		when = t < when ? t : when;
	}
	return when;
}

int rasnd_hconn_tick(struct rasnd_hconn *c, uint64_t now)
{
	const struct rasnd_http_opts *o = c->o;
	if (c->ng && c->ping_sent_at && now >= c->ping_sent_at + o->ping_timeout_ms)
		return rasnd_hconn_failf(c, RASND_HCONN_PING, RASND_HTTP_ECLOSED, "no answer to an HTTP/2 PING");
	if (c->active.n == 0 && c->idle_since && now >= c->idle_since + o->idle_timeout_ms)
		return rasnd_hconn_failf(c, RASND_HCONN_IDLE, RASND_HTTP_ECLOSED, "%s", "");
	if (c->ng && o->ping_interval_ms && !c->ping_sent_at && c->active.n == 0 &&
	    now >= c->ping_base + o->ping_interval_ms) {
		if (nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL) == 0) {
			c->ping_sent_at = now;
			c->st->pings_sent++;
			return rasnd_hconn_flush(c);
		}
	}
	return 0;
}

/* ---- closing ---- */

void rasnd_hconn_close_prep(struct rasnd_hconn *c)
{
	if (!c->fail) /* a request's own failure that leaves the HTTP/1.1 stream unusable */
		rasnd_hconn_failf(c, RASND_HCONN_ERROR, RASND_HTTP_ECLOSED, "connection closed after a failed request");
	struct rasnd_hreq *r = c->active.head;
	if (!c->ng && r && r->err) {
		/* HTTP/1.1: the request that broke the stream gets its own error */
		rasnd_hreq_list_remove(&c->active, r);
		r->c = NULL;
		c->ops->finish(c->owner, r, r->err, r->msg);
	}
}

void rasnd_hconn_shutdown(struct rasnd_hconn *c, int graceful)
{
	if (c->ssl && c->handshaken) {
		if (c->ng && graceful) {
			/* their callbacks run in the owner, not from nghttp2 */
			for (struct rasnd_hreq *r = c->active.head; r; r = r->next)
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
	rasnd_hconn_count_bytes(c);
}

void rasnd_hconn_release(struct rasnd_hconn *c, struct rasnd_hreq_list *active)
{
	*active = c->active;
	memset(&c->active, 0, sizeof(c->active));
	for (struct rasnd_hreq *r = active->head; r; r = r->next)
		r->c = NULL;
	if (c->ng)
		nghttp2_session_del(c->ng);
	c->ng = NULL;
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	rasn_buf_free(&c->out);
	rasn_buf_free(&c->in);
}
