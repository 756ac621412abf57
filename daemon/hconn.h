/* One HTTPS connection's protocol, apart from its socket: TLS over whatever BIOs the SSL
 * object was given (a socket in the daemon, memory BIOs in tests/unit/test_hconn.c), ALPN,
 * HTTP/2 through an nghttp2 session that does no I/O, HTTP/1.1 through lib/h1resp.c, the
 * lifecycle of the requests it carries, HTTP/2 PING and the idle deadline.
 *
 * The owner (daemon/http.c: the pool, its events and its socket) calls in when its socket is
 * readable or writable (rasnd_hconn_io), when its timer fires (rasnd_hconn_tick), to put a
 * request on the connection (rasnd_hconn_submit) and to take one off (rasnd_hconn_cancel).
 * The connection calls out through rasnd_hconn_ops. It never closes itself: a failure is
 * recorded (fail, fail_why, fail_err, fail_msg; the first cause wins), the call returns -1,
 * and the owner closes the connection at the top of its event callback, never from inside
 * nghttp2's or the HTTP/1.1 parser's callbacks. Time comes from ops->now_ms (monotonic ms). */
#ifndef RASND_HCONN_H
#define RASND_HCONN_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "h1resp.h"
#include "http.h"

#define RASND_HCONN_MSG_LEN 384

/* Why a connection ends (the owner's close counters). */
enum rasnd_hconn_why {
	RASND_HCONN_IDLE, RASND_HCONN_PING, RASND_HCONN_PEER, RASND_HCONN_ERROR, RASND_HCONN_ONESHOT,
	RASND_HCONN_SHUTDOWN,
};

/* A request as the connection sees it; the owner embeds it in its own request (first member)
 * and owns its memory. path, inm, ims are set by the owner; the rest is filled in here. */
struct rasnd_hreq {
	struct rasnd_hreq *next, *prev;
	struct rasnd_hconn *c;      /* the connection carrying it; NULL when on none */
	char *path, *inm, *ims;     /* inm, ims: NULL when absent */
	int32_t stream_id;
	int status;
	int interim;                /* HTTP/2: the header block being read is a 1xx */
	int complete;               /* HTTP/2: END_STREAM seen */
	int refused;                /* HTTP/2: a stream of it was refused once already */
	enum rasnd_http_err err;    /* failed mid-way (ETOOBIG, ...): reported at stream close */
	char msg[RASND_HCONN_MSG_LEN];
	size_t head_bytes;
	struct rasn_buf body;
	size_t max_body;            /* this request's bound */
	int to_fd, fd;              /* the body goes to fd as it arrives */
	size_t written;
	char *etag, *last_modified, *retry_after;
	int reused, h2, resumed;    /* of the connection that carried it */
};

struct rasnd_hreq_list {
	struct rasnd_hreq *head, *tail;
	size_t n;
};
void rasnd_hreq_list_push(struct rasnd_hreq_list *l, struct rasnd_hreq *r);
void rasnd_hreq_list_push_front(struct rasnd_hreq_list *l, struct rasnd_hreq *r);
void rasnd_hreq_list_remove(struct rasnd_hreq_list *l, struct rasnd_hreq *r);
struct rasnd_hreq *rasnd_hreq_list_pop(struct rasnd_hreq_list *l);

struct rasnd_hconn_ops {
	/* r is off the connection (r->c NULL): complete it (err RASND_HTTP_OK: r->status and
	 * the body are the response; otherwise msg says why, may be NULL or ""). */
	void (*finish)(void *owner, struct rasnd_hreq *r, enum rasnd_http_err err, const char *msg);
	/* r's stream was refused before the server processed it (RFC 9113 8.7): it may go again. */
	void (*requeue)(void *owner, struct rasnd_hreq *r);
	/* the connection can take requests now, or more (ready, SETTINGS, a stream freed). */
	void (*kick)(void *owner);
	/* the BIO took less than was written: call rasnd_hconn_io when it can take more. */
	void (*want_write)(void *owner);
	/* the read budget ran out with bytes maybe still buffered: call rasnd_hconn_io again. */
	void (*want_read)(void *owner);
	uint64_t (*now_ms)(void *owner);
};

struct rasnd_hconn {
	const struct rasnd_hconn_ops *ops;
	void *owner;
	const struct rasnd_http_opts *o;
	struct rasnd_http_stats *st;        /* tls_*, h1/h2_conns, pings_*, bytes_* are counted here */
	const char *name;                   /* host:port, for messages */
	SSL *ssl;
	int handshaken;                     /* the TLS handshake completed and was verified */
	int ready;                          /* ... and the HTTP layer is set up: requests may go */
	int h2, resumed, goaway;
	int close_after;                    /* HTTP/1.1 Connection: close, HTTP/1.0 */
	nghttp2_session *ng;
	uint32_t goaway_sent;               /* the error code of a GOAWAY nghttp2 sent; 0: none */
	char h2_err[208];                   /* nghttp2's last account of an error */
	uint32_t max_streams;
	struct rasnd_hreq_list active;
	uint64_t carried;                   /* requests it has carried (submitted) */
	size_t in_flight_max;               /* most requests at once on it */
	uint64_t idle_since, ping_base, ping_sent_at;
	struct rasn_buf out;
	size_t out_off;
	uint64_t bio_in, bio_out;
	int fail, fail_why;
	enum rasnd_http_err fail_err;
	char fail_msg[RASND_HCONN_MSG_LEN];
	struct rasn_buf in;                 /* HTTP/1.1: what the parser has not consumed yet */
	struct rasn_h1resp h1;
};

/* o, st, ops and name must outlive the connection. */
void rasnd_hconn_init(struct rasnd_hconn *c, const struct rasnd_http_opts *o, struct rasnd_http_stats *st,
		      const struct rasnd_hconn_ops *ops, void *owner, const char *name);
/* Takes ssl (its BIOs set, a client session to resume set or not) and prepares the client
 * handshake: host name verification (an IP address when is_ip), SNI, ALPN ("h2" unless
 * o->http2 is 0, "http/1.1"). Returns 0, or -1 with the failure recorded (ETLS). */
int rasnd_hconn_attach(struct rasnd_hconn *c, SSL *ssl, const char *host, int is_ip);
/* Handshake, then read what the BIO has and write what is queued. Returns 0, or -1 with
 * the failure recorded (the owner closes; rasnd_hconn_close_prep first). */
int rasnd_hconn_io(struct rasnd_hconn *c);
/* Write what is queued (HTTP/2 frames nghttp2 wants sent included). Returns 0 or -1. */
int rasnd_hconn_flush(struct rasnd_hconn *c);
/* Room for more requests now (0 while not ready, after GOAWAY, a failure, Connection: close;
 * with o->reuse 0: one request per connection). */
uint32_t rasnd_hconn_room(const struct rasnd_hconn *c);
/* Queue r on the connection (the bytes leave at the next rasnd_hconn_flush/io). authority:
 * the Host / :authority value. Returns 0, or -1 with r->msg set (r is not on the connection). */
int rasnd_hconn_submit(struct rasnd_hconn *c, struct rasnd_hreq *r, const char *authority);
/* Take r off the connection and finish it with err/msg. HTTP/2: its stream is reset and the
 * connection stays (returns what flushing the RST returns); HTTP/1.1: the rest of its
 * response would still come, so the connection fails (returns -1). */
int rasnd_hconn_cancel(struct rasnd_hconn *c, struct rasnd_hreq *r, enum rasnd_http_err err, const char *msg);
/* When the connection's timer should fire next (UINT64_MAX: no deadline), once ready. */
uint64_t rasnd_hconn_deadline(const struct rasnd_hconn *c);
/* The timer fired at now: sends a PING when one is due; an unanswered PING or an idle
 * connection past idle_timeout_ms is recorded as a failure (RASND_HCONN_PING, _IDLE).
 * Returns 0 or -1. */
int rasnd_hconn_tick(struct rasnd_hconn *c, uint64_t now);
/* Record a failure (the first one wins). Returns -1. */
int rasnd_hconn_failf(struct rasnd_hconn *c, int why, enum rasnd_http_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Before the owner closes a failed connection: makes sure a failure is recorded, and an
 * HTTP/1.1 request that broke the stream (its own error: ETOOBIG, EWRITE) is finished with it. */
void rasnd_hconn_close_prep(struct rasnd_hconn *c);
/* Best effort before closing: with graceful, HTTP/2 GOAWAY (the active streams are detached
 * from nghttp2 first); any queued bytes; a TLS close_notify (without it OpenSSL marks the
 * session not resumable). Counts the bytes. */
void rasnd_hconn_shutdown(struct rasnd_hconn *c, int graceful);
/* Frees the SSL object, the nghttp2 session and the buffers; the requests still on the
 * connection move to *active (r->c NULL) for the owner to finish. */
void rasnd_hconn_release(struct rasnd_hconn *c, struct rasnd_hreq_list *active);
/* Adds the bytes the BIOs moved since the last call to st->bytes_in/out. */
void rasnd_hconn_count_bytes(struct rasnd_hconn *c);

#endif
