/* The upstream call path on the loop: lib/batcher's queue behind one flush timer, one call per
 * taken key with its own retry timer (lib/backoff), one circuit breaker per endpoint
 * (lib/breaker), round-robin over the endpoints a breaker lets through. Upstreams over the same
 * transport share one endpoint set (cfg.share_endpoints): one breaker per DNS resolver, whether
 * Cymru or a domain lookup asked it.
 *
 * Life of a call: a key taken from the batcher becomes a call; each try is issued on an
 * allowed endpoint and ends in exactly one rasnd_upstream_done(); a retriable outcome arms the
 * retry timer (or gives up); an answer or a final outcome completes the key's waiters through
 * rasn_batcher_complete() and frees the call. The key stays "in flight" in the batcher during
 * the whole life of its call, so submits of the same key join it.
 *
 * Re-entrancy: nothing is issued from inside rasnd_upstream_submit (a submit only queues and
 * makes the flush event due), so a waiter never runs inside the submit that stored it, except
 * for the immediate BUSY / UNAVAILABLE / FAILED answers the header lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "upstream.h"

#define NOCOALESCE_TAG 8 /* bytes of per-submit sequence appended to keys when coalescing is off */

struct endpoint {
	char *name;
	struct rasn_breaker br;
};

/* Endpoints and their breakers, shared by the upstreams that use the same servers; freed with
 * the last of them. */
struct epset {
	unsigned refs, n;
	struct endpoint eps[];
};

struct waiter {
	rasnd_up_waiter_fn fn;
	void *wud;
};

struct rasnd_up_call {
	struct rasnd_upstream *u;       /* NULL: orphaned by rasnd_upstream_free, done() frees it */
	struct rasnd_up_call *prev, *next;
	struct rasn_backoff bo;
	struct event *retry_ev;         /* created on the first retry */
	uint64_t due_us;                /* the retry timer's deadline (monotonic microseconds) */
	uint64_t ticket;                /* the breaker's ticket for the current try */
	unsigned tries;
	unsigned ep;                    /* endpoint of the current (or last) try */
	int in_try;                     /* issued, done() not come yet */
	enum rasn_outcome last;
	char last_err[256];
	size_t len;                     /* the batcher's key (with the tag when not coalescing) */
	unsigned char key[];
};

struct rasnd_upstream {
	struct event_base *base;
	struct rasnd_upstream_cfg cfg;
	char *name;
	const struct rasnd_up_ops *ops;
	void *ops_ud;
	struct rasn_batcher *bat;
	struct event *flush_ev;
	uint64_t flush_at;              /* deadline the flush timer is armed for; 0: not armed */
	struct epset *set;              /* shared with the upstreams of cfg.share_endpoints */
	unsigned rr;
	struct rasnd_up_call *calls;    /* every live call */
	uint64_t seq;                   /* no-coalescing tags */
	int closing;
	int flush_all;                  /* a submit_now key is queued: flush everything next pass */
	struct rasnd_upstream_counters c;
	struct rasn_batch_key *take;    /* max_batch slots */
	struct rasnd_up_call **made;    /* max_batch slots */
};

/* A timer for at least us microseconds from now. libevent may fire a timer early (a coarse
 * clock, its cached time): callers that must not run early compare with their own deadline. */
static void arm_us(struct event *ev, uint64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
	evtimer_add(ev, &tv);
}

static uint64_t rand64(void *ud)
{
	uint64_t v;
	(void)ud;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
		/* only when the kernel's pool is not ready yet: jitter needs no secrecy */
		static uint64_t x = 0x9e3779b97f4a7c15ull;
		x ^= rasn_clock_mono_ms() + (uint64_t)getpid();
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		v = x;
	}
	return v;
}

static const struct rasn_rand rnd = { rand64, NULL };

/* ---- answering waiters ------------------------------------------------------------------ */

struct answer_ctx {
	struct rasnd_upstream *u;
	const struct rasnd_up_result *r;
};

static void count_result(struct rasnd_upstream_counters *c, enum rasnd_up_status s)
{
	switch (s) {
	case RASND_UP_BUSY:
		c->busy++;
		break;
	case RASND_UP_UNAVAILABLE:
		c->unavailable++;
		break;
	default:
		break;
	}
}

static void on_waiter(void *ud, void *waiter, const void *key, size_t keylen)
{
	struct answer_ctx *a = ud;
	struct waiter w = *(struct waiter *)waiter;
	(void)key;
	(void)keylen;
	free(waiter);
	count_result(&a->u->c, a->r->status);
	w.fn(w.wud, a->r);
}

/* Every waiter of the call's key gets r; the call is freed. */
static void call_finish(struct rasnd_up_call *call, const struct rasnd_up_result *r)
{
	struct rasnd_upstream *u = call->u;
	struct answer_ctx a = { u, r };
	if (r->status == RASND_UP_ANSWER)
		u->c.answers++;
	else if (r->status == RASND_UP_FAILED)
		u->c.failures++;
	/* unlink first: the waiters may submit, flush, even finish other calls */
	if (call->prev)
		call->prev->next = call->next;
	else
		u->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	unsigned char key[RASN_BATCHER_KEY_MAX];
	size_t len = call->len;
	memcpy(key, call->key, len);
	if (call->retry_ev)
		event_free(call->retry_ev);
	free(call);
	if (rasn_batcher_complete(u->bat, key, len, on_waiter, &a) < 0)
		log_err("upstream %s: a finished key was not stored (a bug)", u->name);
}

static void call_fail(struct rasnd_up_call *call, enum rasnd_up_status st, const char *error)
{
	struct rasnd_up_result r = { st, call->tries ? call->last : RASN_OK, NULL, 0, error, call->tries };
	call_finish(call, &r);
}

static void answer_now(struct rasnd_upstream *u, enum rasnd_up_status st, const char *error,
		       rasnd_up_waiter_fn fn, void *wud)
{
	struct rasnd_up_result r = { st, RASN_OK, NULL, 0, error, 0 };
	count_result(&u->c, st);
	fn(wud, &r);
}

/* ---- endpoints ---------------------------------------------------------------------------- */

/* Is every endpoint's breaker open now? (state(), not allow(): no half-open probe is used) */
static int all_open(struct rasnd_upstream *u, uint64_t now, uint64_t *min_remaining)
{
	uint64_t rem = UINT64_MAX;
	for (unsigned i = 0; i < u->set->n; i++) {
		if (rasn_breaker_state(&u->set->eps[i].br, now) != RASN_BREAKER_OPEN)
			return 0;
		uint64_t r = rasn_breaker_open_remaining(&u->set->eps[i].br, now);
		if (r < rem)
			rem = r;
	}
	if (min_remaining)
		*min_remaining = rem;
	return 1;
}

/* last: what the call's tries came to, so that the reply still says why (NULL: none) */
static void unavailable_text(struct rasnd_upstream *u, const char *last, char *buf, size_t len)
{
	if (last && *last)
		snprintf(buf, len, "upstream unavailable: %s circuit open (last try: %s)", u->name, last);
	else
		snprintf(buf, len, "upstream unavailable: %s circuit open", u->name);
}

/* Start the next try of call on an endpoint a breaker allows, or answer UNAVAILABLE. A first
 * try goes round-robin; a retry starts looking after the endpoint that just failed, so with a
 * second resolver it goes there. The call may be gone when this returns (done() inside issue). */
static void start_try(struct rasnd_up_call *call)
{
	struct rasnd_upstream *u = call->u;
	uint64_t now = rasn_clock_mono_ms(), ticket = 0;
	unsigned ep = u->set->n, from = call->tries ? call->ep + 1 : u->rr;
	for (unsigned i = 0; i < u->set->n; i++) {
		unsigned k = (from + i) % u->set->n;
		if ((ticket = rasn_breaker_allow(&u->set->eps[k].br, now)) != 0) {
			ep = k;
			break;
		}
	}
	if (ep == u->set->n) {
		char msg[512];
		unavailable_text(u, call->tries ? call->last_err : NULL, msg, sizeof(msg));
		call_fail(call, RASND_UP_UNAVAILABLE, msg);
		return;
	}
	if (!call->tries)
		u->rr = ep + 1;
	call->ticket = ticket;
	call->ep = ep;
	call->tries++;
	call->in_try = 1;
	u->c.tries++;
	size_t klen = call->len - (u->cfg.coalescing ? 0 : NOCOALESCE_TAG);
	u->ops->issue(u->ops_ud, call, call->key, klen, ep);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_up_call *call = arg;
	(void)fd;
	(void)what;
	uint64_t now = rasn_clock_mono_us();
	if (now < call->due_us) {
		arm_us(call->retry_ev, call->due_us - now); /* fired early: never retry sooner */
		return;
	}
	start_try(call);
}

/* ---- flushing ----------------------------------------------------------------------------- */

static void arm_flush(struct rasnd_upstream *u, uint64_t now)
{
	uint64_t deadline;
	int due = rasn_batcher_due(u->bat, now, &deadline);
	if (deadline == UINT64_MAX)
		return;
	if (due || !u->cfg.batching || u->flush_all) {
		event_active(u->flush_ev, EV_TIMEOUT, 0);
		return;
	}
	if (evtimer_pending(u->flush_ev, NULL) && u->flush_at == deadline)
		return;
	uint64_t wait = deadline - now;
	struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
	u->flush_at = deadline;
	evtimer_add(u->flush_ev, &tv);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_upstream *u = arg;
	(void)fd;
	(void)what;
	u->flush_at = 0;
	int all = u->flush_all || !u->cfg.batching;
	u->flush_all = 0;
	for (;;) {
		uint64_t now = rasn_clock_mono_ms();
		if (u->closing || (!all && !rasn_batcher_due(u->bat, now, NULL)))
			break;
		size_t n = rasn_batcher_take(u->bat, u->take, u->cfg.batch.max_batch);
		if (n == 0)
			break;
		u->c.batches++;
		u->c.batched_keys += n;
		/* make every call first: the keys point into batcher memory that a completion frees */
		struct rasnd_up_call **made = u->made;
		for (size_t i = 0; i < n; i++) {
			struct rasnd_up_call *call = calloc(1, sizeof(*call) + u->take[i].len);
			made[i] = call;
			if (!call)
				continue;
			call->u = u;
			call->len = u->take[i].len;
			memcpy(call->key, u->take[i].key, call->len);
			rasn_backoff_init(&call->bo, &u->cfg.retry, now);
			call->next = u->calls;
			if (u->calls)
				u->calls->prev = call;
			u->calls = call;
			u->c.calls++;
		}
		for (size_t i = 0; i < n; i++) {
			if (made[i]) {
				start_try(made[i]);
			} else {
				/* no memory for the call: its waiters are answered at once */
				struct rasnd_up_result r = { RASND_UP_FAILED, RASN_OK, NULL, 0, "out of memory", 0 };
				struct answer_ctx a = { u, &r };
				u->c.failures++;
				rasn_batcher_complete(u->bat, u->take[i].key, u->take[i].len, on_waiter, &a);
			}
		}
	}
	if (!u->closing)
		arm_flush(u, rasn_clock_mono_ms());
}

/* ---- API ---------------------------------------------------------------------------------- */

void rasnd_upstream_cfg_from_config(const struct rasnd_config *c, struct rasnd_upstream_cfg *uc)
{
	rasn_batcher_cfg_default(&uc->batch);
	uc->batch.max_batch = (uint32_t)c->batch_max_batch;
	uc->batch.max_delay_ms = c->batch_max_delay_ms;
	uc->batch.max_keys = (uint32_t)c->batch_max_queued;
	uc->batch.max_waiters = (uint32_t)c->batch_max_waiters;
	uc->batching = c->batch_enabled;
	uc->coalescing = c->batch_coalesce;
	uc->retry.initial_ms = c->retry_initial_ms;
	uc->retry.multiplier = (uint32_t)c->retry_multiplier;
	uc->retry.cap_ms = c->retry_max_ms;
	uc->retry.jitter_pct = (uint32_t)c->retry_jitter;
	uc->retry.give_up_ms = c->retry_give_up_ms;
	uc->breaker.failure_threshold = (uint32_t)c->breaker_failures;
	uc->breaker.open_ms = c->breaker_open_ms;
	uc->breaker.max_probes = (uint32_t)c->breaker_half_open_probes;
	uc->breaker.success_threshold = (uint32_t)c->breaker_successes;
}

int rasnd_upstream_new(struct event_base *base, const struct rasnd_upstream_cfg *cfg,
		       const struct rasnd_up_ops *ops, void *ops_ud, struct rasnd_upstream **out,
		       char *err, size_t errlen)
{
	struct rasnd_upstream *u = NULL;
	const char *name = cfg->name ? cfg->name : "upstream";
	int rc = -1;
	*out = NULL;
	if ((cfg->n_endpoints < 1 && !cfg->share_endpoints) || !ops || !ops->issue) {
		snprintf(err, errlen, "upstream %s: no endpoint", name);
		goto done;
	}
	if (rasn_backoff_cfg_check(&cfg->retry) < 0) {
		snprintf(err, errlen, "upstream %s: bad [retry] settings", name);
		goto done;
	}
	if (rasn_breaker_cfg_check(&cfg->breaker) < 0) {
		snprintf(err, errlen, "upstream %s: bad [breaker] settings", name);
		goto done;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		goto oom;
	u->base = base;
	u->cfg = *cfg;
	u->ops = ops;
	u->ops_ud = ops_ud;
	u->cfg.endpoint_names = NULL;
	u->cfg.share_endpoints = NULL;
	if (!(u->name = strdup(name)))
		goto oom;
	u->cfg.name = u->name;
	if (!u->cfg.coalescing)
		u->cfg.batch.key_max = u->cfg.batch.key_max + NOCOALESCE_TAG <= RASN_BATCHER_KEY_MAX
					       ? u->cfg.batch.key_max + NOCOALESCE_TAG : RASN_BATCHER_KEY_MAX;
	if (getrandom(u->cfg.batch.seed, sizeof(u->cfg.batch.seed), GRND_NONBLOCK) != sizeof(u->cfg.batch.seed)) {
		u->cfg.batch.seed[0] = rand64(NULL);
		u->cfg.batch.seed[1] = rand64(NULL);
	}
	int brc = rasn_batcher_new(&u->cfg.batch, &u->bat);
	if (brc == -ENOMEM)
		goto oom;
	if (brc < 0) {
		snprintf(err, errlen, "upstream %s: bad [batch] settings", name);
		goto done;
	}
	if (!(u->take = calloc(u->cfg.batch.max_batch, sizeof(*u->take))) ||
	    !(u->made = calloc(u->cfg.batch.max_batch, sizeof(*u->made))) ||
	    !(u->flush_ev = evtimer_new(base, on_flush, u)))
		goto oom;
	if (cfg->share_endpoints) {
		u->set = cfg->share_endpoints->set;
		u->set->refs++;
		u->cfg.breaker = cfg->share_endpoints->cfg.breaker; /* the breakers' own settings */
	} else {
		unsigned n = cfg->n_endpoints;
		if (!(u->set = calloc(1, sizeof(*u->set) + n * sizeof(struct endpoint))))
			goto oom;
		u->set->refs = 1;
		u->set->n = n;
		for (unsigned i = 0; i < n; i++) {
			const char *en = cfg->endpoint_names && cfg->endpoint_names[i] ? cfg->endpoint_names[i] : name;
			rasn_breaker_init(&u->set->eps[i].br, &cfg->breaker);
			if (!(u->set->eps[i].name = strdup(en)))
				goto oom;
		}
	}
	*out = u;
	u = NULL;
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "upstream %s: out of memory", name);
done:
	rasnd_upstream_free(u);
	return rc;
}

static void drain_waiter(void *ud, void *waiter, const void *key, size_t keylen)
{
	on_waiter(ud, waiter, key, keylen);
}

void rasnd_upstream_free(struct rasnd_upstream *u)
{
	if (!u)
		return;
	u->closing = 1;
	if (u->flush_ev)
		event_free(u->flush_ev);
	u->flush_ev = NULL;
	while (u->calls) {
		struct rasnd_up_call *call = u->calls;
		u->calls = call->next;
		if (call->retry_ev)
			event_free(call->retry_ev);
		call->retry_ev = NULL;
		if (call->in_try) {
			call->u = NULL; /* its transport still holds it: done() frees it */
			call->prev = call->next = NULL;
		} else {
			free(call);
		}
	}
	if (u->bat) {
		struct rasnd_up_result r = { RASND_UP_FAILED, RASN_OK, NULL, 0, "shutting down", 0 };
		struct answer_ctx a = { u, &r };
		rasn_batcher_drain(u->bat, drain_waiter, &a);
		rasn_batcher_free(u->bat);
	}
	if (u->set && --u->set->refs == 0) {
		for (unsigned i = 0; i < u->set->n; i++)
			free(u->set->eps[i].name);
		free(u->set);
	}
	free(u->take);
	free(u->made);
	free(u->name);
	free(u);
}

static void submit(struct rasnd_upstream *u, const void *key, size_t keylen, rasnd_up_waiter_fn fn, void *wud,
		   int now_flag);

void rasnd_upstream_submit(struct rasnd_upstream *u, const void *key, size_t keylen,
			   rasnd_up_waiter_fn fn, void *wud)
{
	submit(u, key, keylen, fn, wud, 0);
}

void rasnd_upstream_submit_now(struct rasnd_upstream *u, const void *key, size_t keylen,
			       rasnd_up_waiter_fn fn, void *wud)
{
	submit(u, key, keylen, fn, wud, 1);
}

static void submit(struct rasnd_upstream *u, const void *key, size_t keylen, rasnd_up_waiter_fn fn, void *wud,
		   int now_flag)
{
	uint64_t now = rasn_clock_mono_ms();
	char msg[160];
	unsigned char tagged[RASN_BATCHER_KEY_MAX];
	if (u->closing) {
		answer_now(u, RASND_UP_FAILED, "shutting down", fn, wud);
		return;
	}
	if (all_open(u, now, NULL)) {
		unavailable_text(u, NULL, msg, sizeof(msg));
		answer_now(u, RASND_UP_UNAVAILABLE, msg, fn, wud);
		return;
	}
	if (!u->cfg.coalescing && keylen && keylen + NOCOALESCE_TAG <= sizeof(tagged)) {
		/* a key of its own: no other submit can share its call */
		memcpy(tagged, key, keylen);
		memcpy(tagged + keylen, &u->seq, NOCOALESCE_TAG);
		u->seq++;
		key = tagged;
		keylen += NOCOALESCE_TAG;
	}
	struct waiter *w = malloc(sizeof(*w));
	if (!w) {
		answer_now(u, RASND_UP_FAILED, "out of memory", fn, wud);
		return;
	}
	w->fn = fn;
	w->wud = wud;
	int rc = rasn_batcher_submit(u->bat, key, keylen, w, now);
	if (rc < 0) {
		free(w);
		if (rc == RASN_EBUSY) {
			snprintf(msg, sizeof(msg), "busy: %s queue full", u->name);
			answer_now(u, RASND_UP_BUSY, msg, fn, wud);
		} else {
			snprintf(msg, sizeof(msg), "%s: %s", u->name, rc == -ENOMEM ? "out of memory" : "bad request key");
			answer_now(u, RASND_UP_FAILED, msg, fn, wud);
		}
		return;
	}
	u->c.submitted++;
	if (now_flag && rc != RASN_BATCHER_JOINED)
		u->flush_all = 1;
	if (rc == RASN_BATCHER_NEW || u->flush_all)
		arm_flush(u, now);
}

void rasnd_upstream_done(struct rasnd_up_call *call, enum rasn_outcome outcome, uint64_t retry_after_ms,
			 const void *data, size_t len, const char *error)
{
	struct rasnd_upstream *u = call->u;
	if (!u) {
		free(call); /* orphaned: its upstream is gone */
		return;
	}
	call->in_try = 0;
	call->last = outcome;
	uint64_t now = rasn_clock_mono_ms();
	struct endpoint *ep = &u->set->eps[call->ep];
	struct rasn_breaker_stats before, after;
	rasn_breaker_stats(&ep->br, &before);
	int retriable = rasn_outcome_retriable(outcome);
	if (retriable)
		rasn_breaker_failure(&ep->br, call->ticket, now);
	else
		rasn_breaker_success(&ep->br, call->ticket, now);
	rasn_breaker_stats(&ep->br, &after);
	if (after.transitions != before.transitions) {
		enum rasn_breaker_state s = rasn_breaker_state(&ep->br, now);
		if (s == RASN_BREAKER_OPEN)
			log_warn("upstream %s: %s failing (%s), circuit open for %llu ms", u->name, ep->name,
				 error ? error : rasn_outcome_name(outcome), (unsigned long long)u->cfg.breaker.open_ms);
		else
			log_info("upstream %s: %s circuit %s", u->name, ep->name, rasn_breaker_state_name(s));
	}
	if (!retriable) {
		int ans = outcome == RASN_OK || outcome == RASN_FINAL_NXDOMAIN || outcome == RASN_FINAL_4XX;
		struct rasnd_up_result r = { ans ? RASND_UP_ANSWER : RASND_UP_FAILED, outcome, ans ? data : NULL,
					     ans ? len : 0,
					     /* NXDOMAIN and 4xx are answers, but the source may still say why */
					     outcome == RASN_OK ? NULL : (error ? error : rasn_outcome_name(outcome)),
					     call->tries };
		call_finish(call, &r);
		return;
	}
	snprintf(call->last_err, sizeof(call->last_err), "%s", error ? error : rasn_outcome_name(outcome));
	uint64_t delay = 0, rem = 0;
	int rc = retry_after_ms ? rasn_backoff_retry_after(&call->bo, now, retry_after_ms, &rnd, &delay)
				: rasn_backoff_next(&call->bo, now, &rnd, &delay);
	if (rc < 0) {
		char msg[512];
		u->c.give_ups++;
		snprintf(msg, sizeof(msg), "%s: gave up after %u tries: %s", u->name, call->tries, call->last_err);
		call_fail(call, RASND_UP_FAILED, msg);
		return;
	}
	if (all_open(u, now, &rem) && rem > delay) {
		/* every endpoint is cut off for longer than the wait: no point in holding the waiters */
		char msg[512];
		unavailable_text(u, call->last_err, msg, sizeof(msg));
		call_fail(call, RASND_UP_UNAVAILABLE, msg);
		return;
	}
	u->c.retries++;
	if ((unsigned)outcome < RASN_OUTCOME_COUNT)
		u->c.retries_by[outcome]++;
	if (!call->retry_ev && !(call->retry_ev = evtimer_new(u->base, on_retry, call))) {
		call_fail(call, RASND_UP_FAILED, "out of memory");
		return;
	}
	/* the deadline in microseconds from a clock read now (not the millisecond now above,
	 * which is up to 1 ms old): the retry never starts sooner than delay after this */
	call->due_us = rasn_clock_mono_us() + delay * 1000;
	arm_us(call->retry_ev, delay * 1000);
}

void rasnd_upstream_counters(const struct rasnd_upstream *u, struct rasnd_upstream_counters *out)
{
	struct rasn_batcher_stats bs;
	*out = u->c;
	rasn_batcher_stats(u->bat, &bs);
	out->coalesced = bs.coalesced + bs.joined_inflight;
}

void rasnd_upstream_stats_json(const struct rasnd_upstream *u, struct rasn_buf *b)
{
	struct rasnd_upstream_counters c;
	struct rasn_batcher_stats bs;
	uint64_t now = rasn_clock_mono_ms();
	double unow = rasn_clock_wall_s();
	rasnd_upstream_counters(u, &c);
	rasn_batcher_stats(u->bat, &bs);
	rasn_buf_printf(b, "{\"submitted\":%llu,\"calls\":%llu,\"tries\":%llu,\"retries\":%llu,\"give_ups\":%llu,"
			"\"answers\":%llu,\"failures\":%llu,\"busy\":%llu,\"unavailable\":%llu,\"coalesced\":%llu,"
			"\"batches\":%llu,\"batched_keys\":%llu,\"mean_batch\":%.2f,\"queued\":%u,\"in_flight\":%u,"
			"\"waiters\":%u,\"batch_hist\":[",
			(unsigned long long)c.submitted, (unsigned long long)c.calls, (unsigned long long)c.tries,
			(unsigned long long)c.retries, (unsigned long long)c.give_ups, (unsigned long long)c.answers,
			(unsigned long long)c.failures, (unsigned long long)c.busy, (unsigned long long)c.unavailable,
			(unsigned long long)c.coalesced, (unsigned long long)c.batches,
			(unsigned long long)c.batched_keys, c.batches ? (double)c.batched_keys / (double)c.batches : 0.0,
			bs.queued, bs.inflight, bs.waiters);
	for (int i = 0; i < RASN_BATCHER_HIST; i++)
		rasn_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)bs.hist[i]);
	rasn_buf_lit(b, "],\"retries_by\":{");
	int first = 1;
	for (int o = 0; o < RASN_OUTCOME_COUNT; o++) {
		if (!rasn_outcome_retriable((enum rasn_outcome)o))
			continue;
		rasn_buf_printf(b, "%s\"%s\":%llu", first ? "" : ",", rasn_outcome_name((enum rasn_outcome)o),
				(unsigned long long)c.retries_by[o]);
		first = 0;
	}
	rasn_buf_lit(b, "},\"endpoints\":[");
	for (unsigned i = 0; i < u->set->n; i++) {
		struct rasn_breaker *br = &u->set->eps[i].br;
		struct rasn_breaker_stats s;
		struct rasn_breaker_transition t[RASN_BREAKER_LOG];
		enum rasn_breaker_state st = rasn_breaker_state(br, now);
		rasn_breaker_stats(br, &s);
		size_t nt = rasn_breaker_transitions(br, t, RASN_BREAKER_LOG);
		rasn_buf_printf(b, "%s{\"name\":", i ? "," : "");
		rasn_buf_json_str(b, u->set->eps[i].name, strlen(u->set->eps[i].name));
		rasn_buf_printf(b, ",\"state\":\"%s\",\"open_remaining_seconds\":%.3f,\"allowed\":%llu,\"rejected\":%llu,"
				"\"successes\":%llu,\"failures\":%llu,\"late_results\":%llu,\"opened\":%llu,"
				"\"transitions_total\":%llu,\"transitions\":[",
				rasn_breaker_state_name(st), (double)rasn_breaker_open_remaining(br, now) / 1000.0,
				(unsigned long long)s.allowed, (unsigned long long)s.rejected,
				(unsigned long long)s.successes, (unsigned long long)s.failures,
				(unsigned long long)s.late_results, (unsigned long long)s.opened,
				(unsigned long long)s.transitions);
		for (size_t k = 0; k < nt; k++) {
			double at = unow - ((double)now - (double)t[k].at_ms) / 1000.0;
			rasn_buf_printf(b, "%s{\"from\":\"%s\",\"to\":\"%s\",\"at\":%.3f}", k ? "," : "",
					rasn_breaker_state_name((enum rasn_breaker_state)t[k].from),
					rasn_breaker_state_name((enum rasn_breaker_state)t[k].to), at);
		}
		rasn_buf_lit(b, "]}");
	}
	rasn_buf_lit(b, "]}");
}
