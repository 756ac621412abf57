/* The one place a request to an upstream is issued and its outcome reported (docs/upstreams.md:
 * batcher -> retry + circuit breaker -> source). Shared by the DNS source (cymru) and the HTTP
 * source (ripestat); the policy halves are lib/batcher, lib/backoff and lib/breaker, this file
 * adds the loop: the flush timer, retry timers, endpoint choice and stats.
 *
 * A source submits a key (bytes it chooses: the name it will ask for, an AS number, a /24)
 * with a waiter callback. Same-key submits share one call (coalescing; each waiter gets
 * exactly one result). Keys are flushed in batches (max_batch keys or max_delay_ms) and each
 * key of a batch is issued at once (concurrently) through ops->issue on an endpoint whose
 * circuit breaker allows it (round-robin over the allowed ones). The issuer reports each try
 * with rasnd_upstream_done(): a retriable outcome is tried again after a backoff (from a
 * timer, never sooner than the backoff or Retry-After asks, on the next endpoint whose breaker
 * allows it: with two resolvers, a retry after a timeout goes to the other one) until the retry
 * budget runs out; an answer or a final outcome goes to every waiter.
 *
 * Two upstreams over the same servers (Cymru's TXT queries and domain lookups, both on the DNS
 * pool's resolvers) share one endpoint set (cfg.share_endpoints): one breaker per resolver, fed
 * by both, so a resolver cut off for one is not asked by the other.
 *
 * Fast failures, never a pile-up: when every endpoint's breaker is open, a submit is answered
 * RASND_UP_UNAVAILABLE at once (inside the submit call), and a key waiting for a retry whose
 * endpoints all open is answered so too; past the batcher's bounds a submit is answered
 * RASND_UP_BUSY at once. */
#ifndef RASND_UPSTREAM_H
#define RASND_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "batcher.h"
#include "breaker.h"
#include "buf.h"

struct event_base;
struct rasnd_upstream;
struct rasnd_up_call;

enum rasnd_up_status {
	RASND_UP_ANSWER = 0,      /* outcome OK or FINAL_NXDOMAIN / FINAL_4XX: data is the answer */
	RASND_UP_FAILED,          /* a final failure, or retries given up: error says why */
	RASND_UP_BUSY,            /* the queue is full: not tried */
	RASND_UP_UNAVAILABLE,     /* every endpoint's breaker is open: not tried */
};

struct rasnd_up_result {
	enum rasnd_up_status status;
	enum rasn_outcome outcome;  /* of the last try (RASN_OK when not tried) */
	const void *data;           /* ANSWER: the issuer's bytes (may be NULL/0), valid during the callback */
	size_t len;
	const char *error;          /* not ANSWER: text for the reply ("upstream unavailable", "busy", ...) */
	unsigned tries;
};

/* Runs exactly once per accepted submit (possibly inside rasnd_upstream_submit for BUSY and
 * UNAVAILABLE). It may submit again (to this or another upstream). */
typedef void (*rasnd_up_waiter_fn)(void *wud, const struct rasnd_up_result *r);

struct rasnd_up_ops {
	/* Start one try for key on endpoint ep (0 <= ep < n_endpoints). It must end, later or
	 * inside this call, in exactly one rasnd_upstream_done(call, ...). */
	void (*issue)(void *ops_ud, struct rasnd_up_call *call, const void *key, size_t keylen, unsigned ep);
};

struct rasnd_upstream_cfg {
	const char *name;                  /* "cymru", "ripestat": stats and errors */
	unsigned n_endpoints;              /* each with its own breaker (>= 1) */
	const char *const *endpoint_names; /* n_endpoints names for stats (resolver address, origin) */
	struct rasn_batcher_cfg batch;     /* seed filled in by rasnd_upstream_new */
	int batching;                      /* 0: every submit is flushed at once (coalescing stays) */
	int coalescing;                    /* 0: same-key submits do not share a call (benchmarks) */
	struct rasn_backoff_cfg retry;
	struct rasn_breaker_cfg breaker;   /* ignored with share_endpoints: the set's own */
	/* Use this upstream's endpoints and their breakers instead of making new ones
	 * (n_endpoints and endpoint_names are then ignored). Either may be freed first. */
	struct rasnd_upstream *share_endpoints;
};

/* The [batch], [retry] and [breaker] keys of the config into uc (name and endpoints are the
 * caller's). */
struct rasnd_config;
void rasnd_upstream_cfg_from_config(const struct rasnd_config *c, struct rasnd_upstream_cfg *uc);

/* Returns 0 with *out set, or -1 with err (a bad cfg, out of memory). */
int rasnd_upstream_new(struct event_base *base, const struct rasnd_upstream_cfg *cfg,
		       const struct rasnd_up_ops *ops, void *ops_ud, struct rasnd_upstream **out,
		       char *err, size_t errlen);
/* Every waiter still stored is answered FAILED ("shutting down") inside this call, and a submit
 * from inside one of those callbacks is answered so at once. The transport may be freed before
 * or after: a try in flight when the upstream is freed leaves its call orphaned (the call, and
 * only it, stays allocated), and that try's rasnd_upstream_done() then just frees the call;
 * so every try must still end in exactly one done() (a transport's destruction callbacks
 * included). NULL is fine. Not from inside a waiter callback or an issue callback. */
void rasnd_upstream_free(struct rasnd_upstream *u);

/* Submit a key. keylen 1..cfg.batch.key_max. */
void rasnd_upstream_submit(struct rasnd_upstream *u, const void *key, size_t keylen,
			   rasnd_up_waiter_fn fn, void *wud);

/* The same, for a key that an issuer needs to finish a call in flight (the AS name of an
 * origin it found): queued keys are flushed at the next loop pass, without waiting for a full
 * batch or max_delay_ms (coalescing stays). An addition to the original contract. */
void rasnd_upstream_submit_now(struct rasnd_upstream *u, const void *key, size_t keylen,
			       rasnd_up_waiter_fn fn, void *wud);

/* Report the try that call started. outcome from lib/backoff's classifiers; retry_after_ms: a
 * server's Retry-After (0: none); data/len: the answer (copied); error: text for a failure. */
void rasnd_upstream_done(struct rasnd_up_call *call, enum rasn_outcome outcome, uint64_t retry_after_ms,
			 const void *data, size_t len, const char *error);

/* Per upstream JSON object: batches, mean batch size, size histogram, coalesced, busy,
 * retries by cause, give-ups, per endpoint breaker state, transitions with timestamps (a
 * shared endpoint shows the same breaker under every upstream that uses it). */
void rasnd_upstream_stats_json(const struct rasnd_upstream *u, struct rasn_buf *b);

/* Counters for tests and Prometheus. */
struct rasnd_upstream_counters {
	uint64_t submitted, calls, tries, retries, give_ups, answers, failures, busy, unavailable;
	uint64_t coalesced, batches, batched_keys;
	uint64_t retries_by[RASN_OUTCOME_COUNT];
};
void rasnd_upstream_counters(const struct rasnd_upstream *u, struct rasnd_upstream_counters *out);

#endif
