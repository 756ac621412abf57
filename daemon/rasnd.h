/* rasnd's shared declarations (private to daemon/): the daemon object that the loop owns and
 * passes to every component, the session (one client connection) and the stats counters. */
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
	struct rasnd_refresh *refresh; /* [dataset] url: NULL when none */
	struct rasnd_dnsserver *dnsserver; /* [dns_server]: NULL when off */
	struct rasnd_api *api;        /* [http_api] listen: NULL when off (daemon/httpapi.c) */
	struct rasnd_whois *whois;    /* [whois] listen: NULL when off (daemon/whois.c) */
	struct event *cache_sweep;

	struct rasnd_reload reload;
	struct rasnd_stats stats;
	uint64_t started_us;          /* monotonic (lib/clock.h) */
};

/* server.c */
/* 0, or -EADDRINUSE (err set) when another rasnd answers on cfg.socket. */
int rasnd_server_precheck(const struct rasnd *d, char *err, size_t errlen);
int rasnd_server_listen(struct rasnd *d, char *err, size_t errlen);
void rasnd_server_close(struct rasnd *d);
void rasnd_server_drain(struct rasnd *d);
void rasnd_server_maybe_exit(struct rasnd *d);

/* session.c */
void rasnd_session_new(struct rasnd *d, int fd);
/* Close the client that has been quiet longest with nothing pending (to admit a new one).
 * Returns 1 if one was closed, 0 if every client has work in flight. */
int rasnd_session_evict_idle(struct rasnd *d);
/* Arm or re-arm the [server] idle_timeout sweep (after a config read). */
void rasnd_session_idle_arm(struct rasnd *d);
/* Ask for the freed memory to be given back to the system shortly (after a burst). */
void rasnd_session_trim_soon(struct rasnd *d);
/* The loop-wide parts (read buffer, timers), at exit. */
void rasnd_session_free_all(struct rasnd *d);
/* Has this pass over the client's lines produced or spent enough (output_high_water of
 * unread replies, or its time budget)? The rest of its lines wait for a later pass. */
int rasnd_session_pass_over(const struct rasnd_session *s);
void rasnd_session_close(struct rasnd_session *s);
struct rasn_buf *rasnd_session_outbuf(struct rasnd_session *s);
/* A reply slot that completes later. A barrier holds back the session's later requests
 * until it completes (reload: what follows must see the new table). */
struct rasnd_slot *rasnd_session_slot(struct rasnd_session *s, const char *q, size_t qlen, int barrier);
void rasnd_slot_complete(struct rasnd_slot *slot);
void rasnd_session_drain_check(struct rasnd_session *s);
/* No more lines are parsed for now: a barrier is pending, or the client has as many
 * answers outstanding as [server] max_pending allows (upstream work stays bounded). */
int rasnd_session_stalled(const struct rasnd_session *s);

/* query.c */
struct rasnd_line {
	const char *p;
	size_t len;      /* without LF (and CR); > RASN_LINE_MAX: over-long, answered as such */
};
/* Answer lines in order; runs of address lines share one batched table lookup. Returns how
 * many were consumed: fewer than n when one of them set a barrier (the rest must wait). */
size_t rasnd_query_lines(struct rasnd_session *s, const struct rasnd_line *ln, size_t n);
void rasnd_query_line(struct rasnd_session *s, const char *line, size_t len);
void rasnd_query_long_line(struct rasnd_session *s, const char *line, size_t len);
/* Answer one request line (ip, as, prefixes, org, domain, with an optional @source) into a
 * slot outside any session (s NULL, on_done set): the reply object the socket would write for
 * the line. The slot completes exactly once, now or later (on_done is called). */
void rasnd_query_answer(struct rasnd *d, struct rasnd_slot *slot, const char *line, size_t len);
/* A Team Cymru bulk answer for an address or an AS number, from the table, into b: the header
 * first when *header is 0 (then set), then the rows (lib/reply.c). The socket's begin ... end
 * block and the [whois] listener both answer through these, so their bytes are the same. */
void rasnd_cymru_ip_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, const struct rasn_addr *a, int *header);
void rasnd_cymru_as_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, uint32_t asn, int *header);
/* 1 when the line is refused whatever the data (bad syntax, or a source that does not answer
 * its kind): the client's error, not the daemon's or an upstream's. */
int rasnd_query_bad_request(const char *line, size_t len);
/* The table's answer for an address into slot's reply (for sources that fall back to it). */
void rasnd_table_ip_reply(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a);
/* Answer an address (an AS number's name) into slot, completing it now or later, by the
 * sources of [lookup] order from position pos on: each that has no answer, fails or has its
 * circuit open hands on to the next; the last one's answer or error is the reply. The table
 * answers what it holds; "table cymru" is the table enriched by Cymru. */
void rasnd_order_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int pos);
void rasnd_order_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int pos);
/* The table's answer for an AS: info from rasn_table_as (NULL: not found). */
void rasnd_table_as_reply(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, const struct rasn_as_info *info);
/* The "dns" upstream of domain lookups (d->up_dns) over the DNS pool, sharing d->up_cymru's
 * endpoints (one breaker per resolver): after rasnd_cymru_init, which calls it. None without
 * a pool. Returns 0 or -1 with err. */
int rasnd_domain_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_domain_free(struct rasnd *d);

/* stats.c */
void rasnd_stats_json(struct rasnd *d, struct rasn_buf *b);
/* The Prometheus text format, ending in "# EOF" (the reply's end on the query socket). */
void rasnd_stats_prometheus(struct rasnd *d, struct rasn_buf *b);

/* reload.c */
int rasnd_reload_init(struct rasnd *d);
void rasnd_reload_free(struct rasnd *d);
/* Start a reload (or queue one after the running one); slot may be NULL (SIGHUP). */
void rasnd_reload_start(struct rasnd *d, struct rasnd_slot *slot);
/* Build a table from these files (copied) off the loop; on the loop, check(d, table) (NULL:
 * none) may refuse a table that built (nonzero, with err), then the table is swapped in (if
 * it built and was not refused) and done(d, table or NULL, ok, err) runs (it may rename the
 * table's files); no reload slot is answered. Returns 0, -EBUSY (a reload is running) or
 * -ENOMEM. */
int rasnd_reload_start_files(struct rasnd *d, char *const *paths, size_t n,
			     int (*check)(struct rasnd *d, const struct rasn_table *t, char *err, size_t errlen),
			     void (*done)(struct rasnd *d, struct rasn_table *t, int ok, const char *err));
/* Synchronous load at start-up. Returns 0 or -1 with err. */
int rasnd_load_initial(struct rasnd *d, char *err, size_t errlen);

/* refresh.c: [dataset] url, fetched with conditional GETs, parsed off the loop, swapped in */
int rasnd_refresh_init(struct rasnd *d, char *err, size_t errlen);
void rasnd_refresh_free(struct rasnd *d);
/* Fetch now; slot (may be NULL) is answered when the run ends. */
void rasnd_refresh_start(struct rasnd *d, struct rasnd_slot *slot);
void rasnd_refresh_stats_json(struct rasnd *d, struct rasn_buf *b);

/* metrics_http.c: GET /metrics on a loopback address, when [metrics] listen is set */
int rasnd_metrics_start(struct rasnd *d, char *err, size_t errlen);
void rasnd_metrics_stop(struct rasnd *d);
int rasnd_metrics_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, const char **err);

/* READY=1 with a STATUS line describing the table (sd_notify). */
void rasnd_notify_ready(struct rasnd *d);

double rasnd_uptime(struct rasnd *d);

#endif
