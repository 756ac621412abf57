/* Circuit breaker for one upstream endpoint (an HTTP origin, a DNS resolver). A state machine
 * only: no timers, no clock of its own (every call takes now_ms, a monotonic clock in
 * milliseconds, so tests drive it completely), no allocation.
 *
 *   closed    --failure_threshold consecutive failures-->  open
 *   open      --open_ms elapsed (seen by any call)------->  half-open
 *   half-open --success_threshold consecutive successes-->  closed
 *   half-open --any failure------------------------------>  open (for another open_ms)
 *
 * Usage per request: t = rasn_breaker_allow(); if t is not 0, make the call and report its
 * result with rasn_breaker_success(t) or rasn_breaker_failure(t) (a failure is a retriable
 * outcome: network error, timeout, 429, 5xx, SERVFAIL; a 404 or NXDOMAIN is an answer, hence a
 * success), or rasn_breaker_cancel(t) when it ends without a result. Each retry calls allow()
 * again. In half-open, allow() lets at most max_probes calls be in flight at once.
 *
 * Tickets: every transition starts a new generation, and the ticket allow() hands out names
 * the generation it was given in. A result whose ticket is of an older generation (a try that
 * outlived the state it was let through in: allowed while closed, ending after the breaker
 * opened, or even after it went half-open) is counted in late_results and otherwise ignored:
 * it neither counts as a half-open probe's verdict nor frees a probe slot.
 *
 * The struct is the caller's (one per upstream, inside the upstream's struct); its fields are
 * private to breaker.c: read it through the functions below. */
#ifndef RASN_BREAKER_H
#define RASN_BREAKER_H

#include "rasn.h"

enum rasn_breaker_state {
	RASN_BREAKER_CLOSED = 0,
	RASN_BREAKER_OPEN,
	RASN_BREAKER_HALF_OPEN,
};

struct rasn_breaker_cfg {
	uint32_t failure_threshold; /* consecutive failures that open it; default 5 */
	uint64_t open_ms;           /* how long it stays open; default 30000 */
	uint32_t max_probes;        /* calls in flight at once when half-open; default 1 */
	uint32_t success_threshold; /* consecutive half-open successes that close it; default 2 */
};

#define RASN_BREAKER_CFG_DEFAULT { 5, 30000, 1, 2 }

/* One transition, for stats. */
struct rasn_breaker_transition {
	uint64_t at_ms;             /* when it happened on the caller's clock; open -> half-open
				     * is stamped at the moment open_ms ran out, not when seen */
	uint8_t from;               /* enum rasn_breaker_state */
	uint8_t to;
};

#define RASN_BREAKER_LOG 8          /* transitions kept (the most recent) */

struct rasn_breaker_stats {
	uint64_t allowed;           /* allow() answered 1 */
	uint64_t rejected;          /* allow() answered 0 */
	uint64_t successes;         /* success() calls */
	uint64_t failures;          /* failure() calls */
	uint64_t late_results;      /* of those and cancels, with a ticket of an older generation
				     * (ignored) */
	uint64_t opened;            /* transitions to open */
	uint64_t transitions;       /* all transitions ever (the log keeps the last few) */
};

struct rasn_breaker {
	struct rasn_breaker_cfg cfg;
	enum rasn_breaker_state state;
	uint64_t gen;               /* generation: 1 at init, +1 on every transition */
	uint32_t fails;             /* consecutive failures (closed) */
	uint32_t oks;               /* consecutive successes (half-open) */
	uint32_t probes;            /* calls in flight (half-open) */
	uint64_t opened_at_ms;
	struct rasn_breaker_stats stats;
	struct rasn_breaker_transition log[RASN_BREAKER_LOG];
};

/* Fill cfg with the defaults above. */
void rasn_breaker_cfg_default(struct rasn_breaker_cfg *cfg);

/* -EINVAL when any threshold or max_probes is 0, else 0 (open_ms may be 0). */
int rasn_breaker_cfg_check(const struct rasn_breaker_cfg *cfg);

/* Closed, counters zero, empty log; cfg is copied. Returns 0, or -EINVAL for a bad cfg (b is
 * then set up with the defaults). */
int rasn_breaker_init(struct rasn_breaker *b, const struct rasn_breaker_cfg *cfg);

/* May a call go to this upstream now? A ticket (never 0) for its result: yes (in half-open the
 * call now counts as a probe in flight until success/failure/cancel); 0: no, fail fast. */
uint64_t rasn_breaker_allow(struct rasn_breaker *b, uint64_t now_ms);

/* The result of a call that allow() let through, with the ticket it was given. A ticket of an
 * older generation only counts in late_results. */
void rasn_breaker_success(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms);
void rasn_breaker_failure(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms);
/* A call that allow() let through ended with no verdict on the upstream (its client went away,
 * shutdown): frees its probe slot (current generation only); the state does not change. */
void rasn_breaker_cancel(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms);

/* The state at now_ms (this is where open turns half-open when open_ms has run out). */
enum rasn_breaker_state rasn_breaker_state(struct rasn_breaker *b, uint64_t now_ms);

/* Milliseconds until an open breaker goes half-open; 0 when not open. For a timer, or to say
 * "retry in N s" in a reply. */
uint64_t rasn_breaker_open_remaining(struct rasn_breaker *b, uint64_t now_ms);

/* "closed", "open", "half-open"; "unknown" out of range. Never NULL. */
const char *rasn_breaker_state_name(enum rasn_breaker_state s);

/* Counters (a copy). */
void rasn_breaker_stats(const struct rasn_breaker *b, struct rasn_breaker_stats *out);

/* Copy up to cap of the most recent transitions, oldest first; returns how many. */
size_t rasn_breaker_transitions(const struct rasn_breaker *b,
				struct rasn_breaker_transition *out, size_t cap);

#endif
