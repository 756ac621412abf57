/* Circuit breaker state machine: closed, open, half-open; injected clock. */
#include <string.h>

#include "breaker.h"

void rasn_breaker_cfg_default(struct rasn_breaker_cfg *cfg)
{
	*cfg = (struct rasn_breaker_cfg)RASN_BREAKER_CFG_DEFAULT;
}

int rasn_breaker_cfg_check(const struct rasn_breaker_cfg *cfg)
{
	if (cfg->failure_threshold == 0 || cfg->max_probes == 0 || cfg->success_threshold == 0)
		return -EINVAL;
	return 0;
}

int rasn_breaker_init(struct rasn_breaker *b, const struct rasn_breaker_cfg *cfg)
{
	int ret = rasn_breaker_cfg_check(cfg);

	memset(b, 0, sizeof(*b));
	if (ret == 0)
		b->cfg = *cfg;
	else
		rasn_breaker_cfg_default(&b->cfg);
	b->state = RASN_BREAKER_CLOSED;
	b->gen = 1;
	return ret;
}

static void move(struct rasn_breaker *b, enum rasn_breaker_state to, uint64_t at_ms)
{
	struct rasn_breaker_transition *t = &b->log[b->stats.transitions % RASN_BREAKER_LOG];

	t->at_ms = at_ms;
	t->from = (uint8_t)b->state;
	t->to = (uint8_t)to;
	b->stats.transitions++;
	b->gen++; /* results of calls let through before this are late from now on */
	b->state = to;
	b->fails = 0;
	b->oks = 0;
	b->probes = 0;
	if (to == RASN_BREAKER_OPEN) {
		b->opened_at_ms = at_ms;
		b->stats.opened++;
	}
}

static uint64_t open_until(const struct rasn_breaker *b)
{
	uint64_t t = b->opened_at_ms;

	return t > UINT64_MAX - b->cfg.open_ms ? UINT64_MAX : t + b->cfg.open_ms;
}

/* Time-driven transition: open turns half-open once open_ms has run out. */
static void tick(struct rasn_breaker *b, uint64_t now_ms)
{
	if (b->state == RASN_BREAKER_OPEN && now_ms >= open_until(b))
		move(b, RASN_BREAKER_HALF_OPEN, open_until(b));
}

uint64_t rasn_breaker_allow(struct rasn_breaker *b, uint64_t now_ms)
{
	int ok = 0;

	tick(b, now_ms);
	switch (b->state) {
	case RASN_BREAKER_CLOSED:
		ok = 1;
		break;
	case RASN_BREAKER_HALF_OPEN:
		if (b->probes < b->cfg.max_probes) {
			b->probes++;
			ok = 1;
		}
		break;
	default:
		break;
	}
	if (ok)
		b->stats.allowed++;
	else
		b->stats.rejected++;
	return ok ? b->gen : 0;
}

/* Does a result with this ticket belong to the current generation? Counted when not. */
static int current(struct rasn_breaker *b, uint64_t ticket)
{
	if (ticket == b->gen)
		return 1;
	b->stats.late_results++;
	return 0;
}

void rasn_breaker_success(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms)
{
	tick(b, now_ms);
	b->stats.successes++;
	if (!current(b, ticket))
		return;
	switch (b->state) {
	case RASN_BREAKER_CLOSED:
		b->fails = 0;
		break;
	case RASN_BREAKER_HALF_OPEN:
		if (b->probes > 0)
			b->probes--;
		if (++b->oks >= b->cfg.success_threshold)
			move(b, RASN_BREAKER_CLOSED, now_ms);
		break;
	default:
		break; /* open: no ticket of this generation exists (allow() refuses) */
	}
}

void rasn_breaker_failure(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms)
{
	tick(b, now_ms);
	b->stats.failures++;
	if (!current(b, ticket))
		return;
	switch (b->state) {
	case RASN_BREAKER_CLOSED:
		if (++b->fails >= b->cfg.failure_threshold)
			move(b, RASN_BREAKER_OPEN, now_ms);
		break;
	case RASN_BREAKER_HALF_OPEN:
		move(b, RASN_BREAKER_OPEN, now_ms);
		break;
	default:
		break;
	}
}

void rasn_breaker_cancel(struct rasn_breaker *b, uint64_t ticket, uint64_t now_ms)
{
	tick(b, now_ms);
	if (!current(b, ticket))
		return;
	if (b->state == RASN_BREAKER_HALF_OPEN && b->probes > 0)
		b->probes--;
}

enum rasn_breaker_state rasn_breaker_state(struct rasn_breaker *b, uint64_t now_ms)
{
	tick(b, now_ms);
	return b->state;
}

uint64_t rasn_breaker_open_remaining(struct rasn_breaker *b, uint64_t now_ms)
{
	tick(b, now_ms);
	if (b->state != RASN_BREAKER_OPEN)
		return 0;
	return open_until(b) - now_ms;
}

const char *rasn_breaker_state_name(enum rasn_breaker_state s)
{
	switch (s) {
	case RASN_BREAKER_CLOSED:
		return "closed";
	case RASN_BREAKER_OPEN:
		return "open";
	case RASN_BREAKER_HALF_OPEN:
		return "half-open";
	default:
		return "unknown";
	}
}

void rasn_breaker_stats(const struct rasn_breaker *b, struct rasn_breaker_stats *out)
{
	*out = b->stats;
}

size_t rasn_breaker_transitions(const struct rasn_breaker *b,
				struct rasn_breaker_transition *out, size_t cap)
{
	uint64_t total = b->stats.transitions;
	size_t kept = total < RASN_BREAKER_LOG ? (size_t)total : RASN_BREAKER_LOG;
	size_t n = kept < cap ? kept : cap, i;
	uint64_t first = total - n; /* the n most recent */

	for (i = 0; i < n; i++)
		out[i] = b->log[(first + i) % RASN_BREAKER_LOG];
	return n;
}
