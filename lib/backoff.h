/* Retry policy for upstream calls: exponential backoff with jitter and a give-up deadline, and
 * the classification of an attempt's outcome (retry or not). No sockets, no timers, no clock,
 * no randomness of its own: the caller passes now_ms (a monotonic clock in milliseconds) and a
 * random source, so tests control both completely. The daemon turns each delay into a timer on
 * the loop; nothing here sleeps.
 *
 * Delays, for the n-th retry (n = 0, 1, ...):
 *   base(n)  = min(cap_ms, initial_ms * multiplier^n)            (saturating integer arithmetic)
 *   span(n)  = base(n) * jitter_pct / 100                         (rounded down)
 *   delay(n) = base(n) - span(n) + uniform integer in [0, 2 * span(n)]
 * so delay(n) lies in [base - span, base + span]: never below 0 (jitter_pct is at most 100) and
 * at most cap_ms * (1 + jitter_pct / 100), 12 s with the defaults. Jitter is applied AFTER the
 * cap on purpose: many clients at the cap would otherwise retry in lock-step every 10 s.
 *
 * Give-up: the first try starts at rasn_backoff_init()'s now_ms; a retry whose start
 * (now_ms + delay) would fall after start + give_up_ms is refused with -ETIMEDOUT, and every
 * later call refuses too. A retry starting exactly at the deadline is allowed. */
#ifndef RASN_BACKOFF_H
#define RASN_BACKOFF_H

#include "rasn.h"

/* A source of uniform 64-bit random numbers: fn(ud). The daemon passes its own PRNG, a test
 * a deterministic one. */
struct rasn_rand {
	uint64_t (*fn)(void *ud);
	void *ud;
};

struct rasn_backoff_cfg {
	uint64_t initial_ms;    /* first retry delay; default 100 */
	uint32_t multiplier;    /* integer growth factor >= 1; default 2 */
	uint64_t cap_ms;        /* bound on the un-jittered delay; default 10000 */
	uint32_t jitter_pct;    /* 0..100; default 20 */
	uint64_t give_up_ms;    /* total time since the first try; default 60000 */
};

#define RASN_BACKOFF_CFG_DEFAULT { 100, 2, 10000, 20, 60000 }

/* State of one request's retries; the caller owns it (on the stack or inside its request).
 * Fields are private to backoff.c; read them only through the functions below. */
struct rasn_backoff {
	struct rasn_backoff_cfg cfg;
	uint64_t start_ms;      /* when the first try started */
	uint64_t base_ms;       /* un-jittered delay of the next retry */
	uint32_t retries;       /* retries granted so far */
	int gave_up;
};

/* Fill cfg with the defaults above. */
void rasn_backoff_cfg_default(struct rasn_backoff_cfg *cfg);

/* Check a configuration: -EINVAL when initial_ms is 0, multiplier is 0, cap_ms < initial_ms,
 * jitter_pct > 100 or give_up_ms is 0; else 0. */
int rasn_backoff_cfg_check(const struct rasn_backoff_cfg *cfg);

/* Start a request's retry state; now_ms is when its first try starts. cfg is copied.
 * Returns 0, or -EINVAL for a bad cfg (st is then set up to refuse every retry). */
int rasn_backoff_init(struct rasn_backoff *st, const struct rasn_backoff_cfg *cfg,
		      uint64_t now_ms);

/* The attempt that just failed was retriable: how long to wait before the next try.
 * rnd may be NULL: no jitter (delay = base). Returns 0 with *delay_ms set, or -ETIMEDOUT when
 * the next try would start after the give-up deadline (state then stays given up). */
int rasn_backoff_next(struct rasn_backoff *st, uint64_t now_ms, const struct rasn_rand *rnd,
		      uint64_t *delay_ms);

/* Same, after an answer that carried Retry-After (in milliseconds, already parsed): the delay
 * is max(retry_after_ms, the delay rasn_backoff_next would give), so the server's wish is
 * honoured and the backoff still grows. Returns 0 or -ETIMEDOUT as above. */
int rasn_backoff_retry_after(struct rasn_backoff *st, uint64_t now_ms, uint64_t retry_after_ms,
			     const struct rasn_rand *rnd, uint64_t *delay_ms);

/* Retries granted so far (for stats: "retries by cause" counts these per outcome). */
uint32_t rasn_backoff_retries(const struct rasn_backoff *st);

/* The absolute give-up deadline (start + give_up_ms, saturating). */
uint64_t rasn_backoff_deadline(const struct rasn_backoff *st);

/* Parse an HTTP Retry-After value given in delta-seconds ("120"; optional surrounding spaces
 * or tabs) into milliseconds, saturating at 1 day. An HTTP-date is not parsed here (it needs
 * the wall clock): RASN_ESYNTAX, as for anything else that is not digits. */
int rasn_retry_after_parse(const char *s, size_t len, uint64_t *ms);

/* What an attempt at an upstream call came to. RETRY_* are retried (and count as failures for
 * the circuit breaker); FINAL_* and OK are not retried. */
enum rasn_outcome {
	RASN_OK = 0,
	RASN_RETRY_NET,         /* connect refused/reset, TLS failure, connection lost */
	RASN_RETRY_TIMEOUT,     /* no answer in time (HTTP or DNS) */
	RASN_RETRY_429,         /* HTTP 429 Too Many Requests */
	RASN_RETRY_5XX,         /* HTTP 500..599 */
	RASN_RETRY_SERVFAIL,    /* DNS SERVFAIL */
	RASN_FINAL_4XX,         /* HTTP 400..499 other than 429 */
	RASN_FINAL_NXDOMAIN,    /* DNS NXDOMAIN: an answer ("not found"), not a failure */
	RASN_FINAL_MALFORMED,   /* an answer that does not parse, or an invalid status */
	RASN_FINAL_OTHER,       /* anything else not worth repeating: HTTP 1xx/3xx, DNS
				 * FORMERR/NOTIMP/REFUSED and other rcodes */
	RASN_OUTCOME_COUNT
};

/* 1 for RETRY_*, 0 for the rest (including out-of-range values). */
int rasn_outcome_retriable(enum rasn_outcome o);

/* From an HTTP status: 2xx OK, 429 RETRY_429, 5xx RETRY_5XX, other 4xx FINAL_4XX, 1xx/3xx
 * FINAL_OTHER, anything outside 100..599 FINAL_MALFORMED. */
enum rasn_outcome rasn_outcome_from_http(int status);

/* From a DNS rcode: 0 OK, 2 SERVFAIL RETRY_SERVFAIL, 3 NXDOMAIN FINAL_NXDOMAIN, others
 * FINAL_OTHER (negative: FINAL_MALFORMED). */
enum rasn_outcome rasn_outcome_from_dns_rcode(int rcode);

/* From a librasn/errno result of an attempt: 0 OK, -ETIMEDOUT RETRY_TIMEOUT, RASN_ESYNTAX,
 * RASN_ERANGE and RASN_EFORMAT FINAL_MALFORMED, any other negative value RETRY_NET. */
enum rasn_outcome rasn_outcome_from_err(int err);

/* Short stable name for stats ("ok", "net", "timeout", "429", "5xx", "servfail", "4xx",
 * "nxdomain", "malformed", "other"); "unknown" out of range. Never NULL. */
const char *rasn_outcome_name(enum rasn_outcome o);

#endif
