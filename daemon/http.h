/* The HTTPS client on the daemon's libevent loop: OpenSSL for TLS, nghttp2 for HTTP/2 (its
 * session does no I/O: bytes read are fed to it, what it wants sent is written), HTTP/1.1
 * with keep-alive when the server's ALPN gives no h2.
 *
 * Per origin (scheme https, host, port) a pool of connections: a request goes on a connection
 * that has a free stream (HTTP/2: up to the server's MAX_CONCURRENT_STREAMS; HTTP/1.1: one
 * request at a time), otherwise a new connection is opened while the pool has room, otherwise
 * the request waits in the origin's queue (bounded) until a stream frees. Idle connections
 * are kept (at most idle_per_host) and closed after idle_timeout_ms; an idle HTTP/2
 * connection is PINGed every ping_interval_ms and closed when no PING ACK comes within
 * ping_timeout_ms. TLS: 1.2 minimum, chain and host name always verified (system store, or
 * ca_file), SNI, ALPN "h2","http/1.1". A client session cache (session_cache entries, keyed by
 * origin) lets a new connection to a known origin resume; TLS 1.3 tickets arrive after the
 * handshake and are kept through SSL_CTX_sess_set_new_cb; SSL_shutdown before SSL_free.
 *
 * This module does not retry and has no circuit breaker: it reports one outcome per request
 * (the upstream layer decides what to do with it). Threads: none; the loop only. */
#ifndef RASND_HTTP_H
#define RASND_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tcptune.h"

struct event_base;
struct rasnd_http;

struct rasnd_http_opts {
	const char *ca_file;          /* PEM bundle; NULL or "": the system store */
	unsigned idle_per_host;       /* idle connections kept per origin; default 100 */
	unsigned max_conns_per_host;  /* open connections per origin; default 16 */
	unsigned idle_timeout_ms;     /* default 90000 */
	unsigned ping_interval_ms;    /* HTTP/2 PING on an idle connection; default 20000; 0: off */
	unsigned ping_timeout_ms;     /* default 20000 */
	unsigned connect_timeout_ms;  /* TCP + TLS handshake; default 10000 */
	unsigned request_timeout_ms;  /* the whole request: from rasnd_http_get (time waiting for a
				       * free stream or connection included) to the last body byte;
				       * default 30000 */
	uint32_t stream_window;       /* HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE; default 2 MiB */
	uint32_t conn_window;         /* HTTP/2 connection window; default 4 MiB */
	size_t max_body;              /* larger bodies are an error (RASND_HTTP_ETOOBIG), unless a
				       * request sets its own bound; default 256 MiB */
	size_t max_queued;            /* requests waiting for a stream, per origin; default 4096 */
	unsigned session_cache;       /* TLS sessions kept; default 1024; 0: no resumption */
	/* For benchmarks (the naive client the pool is measured against); defaults 1, 1. */
	int http2;                    /* 0: ALPN offers http/1.1 only */
	int reuse;                    /* 0: one new connection per request, closed after it */
	struct rasnd_tcp_opts sock;   /* applied to every socket */
};

/* Fills the defaults above (sock: nodelay, keepalive 60 s). */
void rasnd_http_opts_default(struct rasnd_http_opts *o);

/* What went wrong when there is no HTTP status. */
enum rasnd_http_err {
	RASND_HTTP_OK = 0,
	RASND_HTTP_EURL,        /* not an https://host[:port]/path URL */
	RASND_HTTP_ECONNECT,    /* name, connect() refused or unreachable */
	RASND_HTTP_ETIMEOUT,    /* connect, handshake or request timeout */
	RASND_HTTP_ETLS,        /* handshake failed, certificate refused (errmsg says why) */
	RASND_HTTP_EPROTO,      /* HTTP/2 or HTTP/1.1 protocol error, bad framing */
	RASND_HTTP_ECLOSED,     /* connection lost before the response was complete */
	RASND_HTTP_ETOOBIG,     /* body over max_body */
	RASND_HTTP_EBUSY,       /* the origin's queue is full */
	RASND_HTTP_ENOMEM,
	RASND_HTTP_EWRITE,      /* the body could not be written to the request's body_fd */
	RASND_HTTP_ESHUTDOWN,   /* the client is being freed (keep last: it sizes the counters) */
};

struct rasnd_http_response {
	int status;                   /* HTTP status; 0 when err != OK */
	enum rasnd_http_err err;
	const char *errmsg;           /* human text: always set (e.g. "200", "certificate has expired") */
	const char *body;             /* NUL-terminated copy; body_len bytes ("" with body_to_fd) */
	size_t body_len;              /* with body_to_fd: the bytes written to the file */
	const char *etag;             /* NULL when absent */
	const char *last_modified;    /* NULL when absent */
	const char *retry_after;      /* raw header value; NULL when absent */
	int http2;                    /* answered over HTTP/2 */
	int reused;                   /* the connection had carried a request before */
	int resumed;                  /* the connection's TLS session was resumed */
};

/* Runs exactly once per accepted request, later, on the loop (never inside rasnd_http_get).
 * Everything the response points to is valid during the call only. */
typedef void (*rasnd_http_cb)(void *ud, const struct rasnd_http_response *r);

struct rasnd_http_req {
	const char *url;              /* https://host[:port]/path[?query] */
	const char *if_none_match;    /* conditional GET; NULL: none */
	const char *if_modified_since;
	size_t max_body;              /* this request's bound on the body; 0: the client's max_body */
	/* body_to_fd: the body is written to body_fd as it arrives (whatever the status), not
	 * kept in memory; the fd stays the caller's (it must outlive the callback). */
	int body_to_fd;
	int body_fd;
};

int rasnd_http_new(struct event_base *base, const struct rasnd_http_opts *o, struct rasnd_http **out,
		   char *err, size_t errlen);
/* Every request still pending completes with RASND_HTTP_ESHUTDOWN (callbacks run inside this
 * call); connections are shut down and closed. NULL is fine. */
void rasnd_http_free(struct rasnd_http *h);

/* Origin names are resolved through this DNS pool (daemon/dns.h); without one (NULL, the
 * default) only numeric hosts connect, a name fails with RASND_HTTP_ECONNECT. The pool must
 * outlive the client (free the client first). */
struct rasnd_dns;
void rasnd_http_set_dns(struct rasnd_http *h, struct rasnd_dns *dns);

/* Start a GET. Returns 0 (cb will run once), or -EINVAL for a bad URL, -ENOMEM (cb will not
 * run). A full origin queue is reported through cb (RASND_HTTP_EBUSY), not here. */
int rasnd_http_get(struct rasnd_http *h, const struct rasnd_http_req *req, rasnd_http_cb cb, void *ud);

struct rasnd_http_stats {
	uint64_t conns_opened, conns_reused;   /* reused: requests sent on a connection that had carried one */
	uint64_t closed_idle, closed_ping, closed_peer, closed_error, closed_oneshot, closed_shutdown;
	uint64_t tls_full, tls_resumed, tls_failed;
	uint64_t h2_conns, h1_conns;
	uint64_t requests, responses;          /* requests started, responses with a status */
	uint64_t status_2xx, status_3xx, status_4xx, status_5xx;
	uint64_t errors[RASND_HTTP_ESHUTDOWN + 1]; /* by enum rasnd_http_err */
	uint64_t streams_max;                  /* most requests one connection carried (in all) */
	uint64_t streams_in_flight_max;        /* most requests in flight at once on one connection */
	uint64_t streams_total_closed;         /* requests carried by connections now closed */
	uint64_t conns_closed;                 /* for the mean over closed connections */
	uint64_t streams_total;                /* requests carried by every connection, open ones too */
	uint64_t pings_sent, pings_acked;
	uint64_t bytes_in, bytes_out;          /* on the wire (TLS records) */
	uint64_t queued_max;                   /* most requests ever waiting for a stream */
	/* gauges */
	uint64_t conns_open, conns_idle, in_flight, queued;
};
void rasnd_http_stats(const struct rasnd_http *h, struct rasnd_http_stats *out);

/* Per origin, a JSON array of {"origin":..,"open":..,"idle":..,"in_flight":..,"queued":..,
 * "max_streams":..,"in_flight_max":..,"conns_total":..,"streams_mean":..,"conns":[..]} for
 * `stats`: in_flight_max is the most requests in flight at once on one of its connections,
 * streams_mean the requests per connection over every connection it opened (open ones
 * included), and conns one object per open connection {"state","http2","in_flight",
 * "in_flight_max","carried","sock":{the socket options as the kernel reports them}}. */
void rasnd_http_origins_json(const struct rasnd_http *h, struct rasn_buf *b);

const char *rasnd_http_err_name(enum rasnd_http_err e);

#endif
