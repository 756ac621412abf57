/* rasnd's shared types (private to daemon/): the daemon object that the loop owns and passes
 * to every component, the session (one client connection), the reply slot and the stats
 * counters. Types only: each module's functions are in its own header. */
#ifndef RASND_RASND_H
#define RASND_RASND_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

struct evhttp;
struct rasnd_dns;
struct rasn_cache;
struct rasnd_redis;
struct rasnd_http;
struct rasnd_upstream;
struct rasnd_refresh;
struct rasnd_dnsserver;
struct rasnd_api;
struct rasnd_whois;
struct rasnd_passed;

#include "buf.h"
#include "config.h"
#include "proto.h"
#include "table.h"

struct rasnd_stats {
	uint64_t queries[RASN_Q_END + 1]; /* by type; [RASN_Q_INVALID] = bad requests */
	uint64_t lines, long_lines, bulk_rows;
	uint64_t table_hits, table_misses;
	uint64_t bytes_in, bytes_out;
	uint64_t conns_accepted, conns_closed, conns_rejected, conns_write_errors;
	uint64_t conns_evicted;            /* idle clients closed to admit a new one at max_clients */
	uint64_t conns_idle_closed;        /* idle clients closed by [server] idle_timeout */
	uint64_t pass_yields;              /* parsing a client's lines stopped at the pass budget */
	uint64_t conns_peak;        /* most clients connected at once */
	uint64_t read_pauses;              /* backpressure: reading stopped for unread output */
	uint64_t accept_pauses;            /* out of file descriptors */
	uint64_t reloads_ok, reloads_failed;
	uint64_t domain_errors;
	uint64_t upstream_cymru;           /* Team Cymru queries sent: origins, AS lookups and the
					    * AS names of origins found (tries included) */
	uint64_t upstream_ripe;            /* HTTP requests sent to RIPEstat (tries included) */
	uint64_t cache_hits;               /* upstream answers given from the cache */
	uint64_t special;                  /* special-purpose addresses answered (lib/special.h) */
};

/* A reply that is not ready yet (an asynchronous request such as reload). Replies that come
 * after it wait in `after` so that every connection answers in request order. */
struct rasnd_slot {
	struct rasnd_slot *next;        /* in the session's queue */
	struct rasnd_slot *next_waiter; /* in the list of whoever will complete it */
	struct rasnd_session *s;
	struct rasn_buf reply, after;
	int done;
	int barrier;                    /* later requests of the session wait for this one */
	char query[64];
	size_t qlen;
	/* A slot outside any session (s NULL): one part of a bigger answer (an address of a
	 * domain). rasnd_slot_complete() hands it to on_done, whose owner frees it. */
	void (*on_done)(struct rasnd_slot *slot);
	void *owner;
};

/* One request line of a session. */
struct rasnd_line {
	const char *p;
	size_t len;      /* without LF (and CR); > RASN_LINE_MAX: over-long, answered as such */
};

/* A protocol: what a session's request lines get (daemon/query.c: the NDJSON protocol and
 * the Cymru bulk block). Sessions call it through d->proto, so they do not depend on it. */
struct rasnd_proto {
	/* answer lines in order; returns how many were consumed (fewer when one set a barrier) */
	size_t (*lines)(struct rasnd_session *s, const struct rasnd_line *ln, size_t n);
	void (*line)(struct rasnd_session *s, const char *line, size_t len);
	void (*long_line)(struct rasnd_session *s, const char *line, size_t len);
};

struct rasnd_session {
	TAILQ_ENTRY(rasnd_session) entry; /* d->sessions: least recently active first */
	struct rasnd *d;
	int fd;
	int refs;                 /* the daemon's list holds one; each pending slot one; a
				   * completion holds one while it runs */
	int closed;
	int reading;              /* read event armed */
	int eof;
	int backlog;              /* in may hold complete lines not parsed yet: continued by
				   * cont on a later pass, and the client is not read meanwhile */
	int out_paused;           /* unread replies passed output_high_water: neither read nor
				   * parsed until they drain below output_low_water */
	struct event *rev, *wev, *cont;
	double active;            /* monotonic (rasnd_uptime) time of the last read or write */
	char *in;                 /* unparsed input only (a partial line, or the backlog) at
				   * in + in_off; lines are read into the loop's d->rbuf */
	size_t in_off, in_len, in_cap;
	int discarding;           /* inside an over-long line: drop bytes until LF */
	struct rasn_buf out;
	size_t out_off;
	struct rasnd_slot *head, *tail;
	int blocked;              /* a barrier slot is pending: later lines wait unparsed */
	int in_process;           /* inside process_lines: completions must not re-enter it */
	size_t n_pending;         /* reply slots not completed yet */
	/* the bound of one pass (rasnd_session_pass_over) */
	size_t pass_base;         /* replies queued when the pass started */
	size_t pass_out;          /* reply bytes the pass has produced */
	double pass_start;
	/* Team Cymru bulk block */
	int in_bulk;
	unsigned bulk_opts;
	int bulk_ip_header, bulk_as_header;
	size_t bulk_line;
};
TAILQ_HEAD(rasnd_session_list, rasnd_session);

/* A client refused past max_clients: told why, half-closed, and what it sends is read and
 * dropped (a bounded amount, for a short time) so that closing does not reset the
 * connection before it has read the message. */
struct rasnd_reject {
	TAILQ_ENTRY(rasnd_reject) entry;
	struct rasnd *d;
	int fd;
	size_t drained;
	struct event *ev;
};
TAILQ_HEAD(rasnd_reject_list, rasnd_reject);

struct rasnd_reload {
	int running, again;
	pthread_t thread;
	int efd;                      /* the worker signals completion here */
	struct event *ev;
	struct rasnd_slot *waiters;   /* answered when the running reload ends */
	struct rasnd_slot *next_waiters; /* asked for while one was running: the next one */
	/* job: written by the worker, read by the loop after the eventfd fires */
	char **paths;
	size_t n_paths;
	struct rasn_table_opts opts;
	int format;
	unsigned threads;
	struct rasn_table *result;
	char err[1024];
	double ms;
	char *snap;                   /* [dataset] snapshot image for this job; NULL: none */
	pthread_t snap_thread;        /* writes the image after the start-up load */
	int snap_running;
	/* a reload of other files than the configured ones (dataset refresh), and who to tell */
	void (*hook)(struct rasnd *d, struct rasn_table *t, int ok, const char *err);
	int (*check)(struct rasnd *d, const struct rasn_table *t, char *err, size_t errlen);
	int with_hook;
};

struct rasnd {
	struct event_base *base;
	struct rasnd_config cfg;
	const char *config_path;     /* re-read on SIGHUP; NULL: defaults only */
	int config_must_exist;
	/* command-line overrides, re-applied after each config read */
	const char *opt_socket, *opt_state_dir;
	const char *opt_datasets[RASND_MAX_DATASETS];
	size_t opt_n_datasets;
	int opt_verbose;

	const struct rasnd_proto *proto; /* what sessions' lines get (daemon/query.h) */
	/* the `stats` tree (daemon/stats.h), set in main.c: stats.c reads every module, the
	 * listeners included, so the protocols that answer `stats` reach it through these */
	void (*stats_json)(struct rasnd *d, struct rasn_buf *b);
	void (*stats_prometheus)(struct rasnd *d, struct rasn_buf *b);
	struct rasn_table *table;
	double table_loaded_at;       /* unix seconds */
	double last_load_ms;
	char last_reload_error[1024];

	struct rasnd_passed *passed;  /* sockets from the service manager (daemon/sockact.h) */
	int listen_fd;
	char *listen_path;            /* unlinked at exit; NULL when not ours */
	struct event *listen_ev, *accept_retry_ev;
	struct rasnd_session_list sessions;
	size_t n_sessions;
	char *rbuf;                   /* the loop's read buffer: every client is read into it */
	size_t rbuf_cap;
	struct event *idle_ev;        /* [server] idle_timeout sweep */
	struct event *trim_ev;        /* gives freed memory back to the system after a burst */
	struct rasnd_reject_list rejects;
	size_t n_rejects;

	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	int draining;
	int exit_code;

	struct evhttp *http;          /* [metrics] listen; NULL when off */
	struct rasnd_dns *dns;        /* NULL when no resolver could be set up */
	struct rasn_cache *cache;     /* upstream answers; NULL when [cache] enabled = no */
	struct rasnd_redis *redis;    /* the shared level ([cache] redis); NULL when off */
	struct rasnd_http *httpc;     /* HTTPS client: RIPEstat, dataset refresh */
	struct rasnd_upstream *up_cymru; /* Team Cymru's origin and AS queries; NULL without DNS */
	struct rasnd_upstream *up_ripe;
	struct rasnd_upstream *up_dns;   /* domain lookups (A, AAAA); shares up_cymru's breakers */
	void *source_state[RASND_ORDER_MAX + 1]; /* a source's own state, by id (daemon/source.h) */
	struct rasnd_refresh *refresh; /* [dataset] url: NULL when none */
	struct rasnd_dnsserver *dnsserver; /* [dns_server]: NULL when off */
	struct rasnd_api *api;        /* [http_api] listen: NULL when off (daemon/httpapi.c) */
	struct rasnd_whois *whois;    /* [whois] listen: NULL when off (daemon/whois.c) */
	struct event *cache_sweep;

	struct rasnd_reload reload;
	struct rasnd_stats stats;
	uint64_t started_us;          /* monotonic (lib/clock.h) */
};

/* The functions are declared per module: server.h, session.h, query.h, stats.h, reload.h,
 * refresh.h, metrics_http.h, lifecycle.h (scripts/check-layering keeps it so). */

#endif
