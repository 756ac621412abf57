/* Retry policy: exponential backoff with jitter and a give-up deadline; outcome classes. */
#include "backoff.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void rasn_backoff_cfg_default(struct rasn_backoff_cfg *cfg)
{
	*cfg = (struct rasn_backoff_cfg)RASN_BACKOFF_CFG_DEFAULT;
}

int rasn_backoff_cfg_check(const struct rasn_backoff_cfg *cfg)
{
	if (cfg->initial_ms == 0 || cfg->multiplier == 0 || cfg->cap_ms < cfg->initial_ms ||
	    cfg->jitter_pct > 100 || cfg->give_up_ms == 0)
		return -EINVAL;
	return 0;
}

int rasn_backoff_init(struct rasn_backoff *st, const struct rasn_backoff_cfg *cfg,
		      uint64_t now_ms)
{
	int ret = rasn_backoff_cfg_check(cfg);

	st->cfg = *cfg;
	st->start_ms = now_ms;
	st->base_ms = cfg->initial_ms < cfg->cap_ms ? cfg->initial_ms : cfg->cap_ms;
	st->retries = 0;
	st->gave_up = ret != 0;
	return ret;
}

/* A uniform integer in [0, n): the high half of a 64x64 product (Lemire), bias below 2^-50 for
 * the spans used here. */
static uint64_t uniform(const struct rasn_rand *rnd, uint64_t n)
{
	return (uint64_t)(((rasn_u128)rnd->fn(rnd->ud) * n) >> 64);
}

/* The jittered delay for the current base, without advancing the state. */
static uint64_t jittered(const struct rasn_backoff *st, const struct rasn_rand *rnd)
{
	uint64_t base = st->base_ms;
	/* base <= cap; a cap near UINT64_MAX would overflow base * pct, so divide first there. */
	uint64_t span = base <= UINT64_MAX / 100 ? base * st->cfg.jitter_pct / 100
						  : base / 100 * st->cfg.jitter_pct;

	if (rnd == NULL || rnd->fn == NULL || span == 0)
		return base;
	if (span > (UINT64_MAX - 1) / 2)
		span = (UINT64_MAX - 1) / 2;
	return sat_add(base - span, uniform(rnd, 2 * span + 1));
}

/* Grant a retry after delay, or give up when it would start after the deadline. */
static int grant(struct rasn_backoff *st, uint64_t now_ms, uint64_t delay, uint64_t *delay_ms)
{
	int ret = 0;

	if (st->gave_up || sat_add(now_ms, delay) > rasn_backoff_deadline(st)) {
		st->gave_up = 1;
		ret = -ETIMEDOUT;
		goto done;
	}
	*delay_ms = delay;
	st->retries++;
	if (st->base_ms > st->cfg.cap_ms / st->cfg.multiplier)
		st->base_ms = st->cfg.cap_ms;
	else
		st->base_ms *= st->cfg.multiplier;
done:
	return ret;
}

int rasn_backoff_next(struct rasn_backoff *st, uint64_t now_ms, const struct rasn_rand *rnd,
		      uint64_t *delay_ms)
{
	return grant(st, now_ms, jittered(st, rnd), delay_ms);
}

int rasn_backoff_retry_after(struct rasn_backoff *st, uint64_t now_ms, uint64_t retry_after_ms,
			     const struct rasn_rand *rnd, uint64_t *delay_ms)
{
	uint64_t d = jittered(st, rnd);

	return grant(st, now_ms, d > retry_after_ms ? d : retry_after_ms, delay_ms);
}

uint32_t rasn_backoff_retries(const struct rasn_backoff *st)
{
	return st->retries;
}

uint64_t rasn_backoff_deadline(const struct rasn_backoff *st)
{
	return sat_add(st->start_ms, st->cfg.give_up_ms);
}

int rasn_retry_after_parse(const char *s, size_t len, uint64_t *ms)
{
	const uint64_t max_s = 86400;
	uint64_t secs = 0;
	size_t i = 0, digits = 0;
	int ret = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (secs <= max_s)
			secs = secs * 10 + (uint64_t)(s[i] - '0');
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (digits == 0 || i != len) {
		ret = RASN_ESYNTAX;
		goto done;
	}
	*ms = (secs > max_s ? max_s : secs) * 1000;
done:
	return ret;
}

int rasn_outcome_retriable(enum rasn_outcome o)
{
	switch (o) {
	case RASN_RETRY_NET:
	case RASN_RETRY_TIMEOUT:
	case RASN_RETRY_429:
	case RASN_RETRY_5XX:
	case RASN_RETRY_SERVFAIL:
		return 1;
	default:
		return 0;
	}
}

enum rasn_outcome rasn_outcome_from_http(int status)
{
	if (status < 100 || status > 599)
		return RASN_FINAL_MALFORMED;
	if (status >= 200 && status <= 299)
		return RASN_OK;
	if (status == 429)
		return RASN_RETRY_429;
	if (status >= 500)
		return RASN_RETRY_5XX;
	if (status >= 400)
		return RASN_FINAL_4XX;
	return RASN_FINAL_OTHER;
}

enum rasn_outcome rasn_outcome_from_dns_rcode(int rcode)
{
	switch (rcode) {
	case 0:
		return RASN_OK;
	case 2:
		return RASN_RETRY_SERVFAIL;
	case 3:
		return RASN_FINAL_NXDOMAIN;
	default:
		return rcode < 0 ? RASN_FINAL_MALFORMED : RASN_FINAL_OTHER;
	}
}

enum rasn_outcome rasn_outcome_from_err(int err)
{
	if (err >= 0)
		return RASN_OK;
	switch (err) {
	case -ETIMEDOUT:
		return RASN_RETRY_TIMEOUT;
	case RASN_ESYNTAX:
	case RASN_ERANGE:
	case RASN_EFORMAT:
		return RASN_FINAL_MALFORMED;
	default:
		return RASN_RETRY_NET;
	}
}

const char *rasn_outcome_name(enum rasn_outcome o)
{
	static const char *const names[RASN_OUTCOME_COUNT] = {
		[RASN_OK] = "ok",
		[RASN_RETRY_NET] = "net",
		[RASN_RETRY_TIMEOUT] = "timeout",
		[RASN_RETRY_429] = "429",
		[RASN_RETRY_5XX] = "5xx",
		[RASN_RETRY_SERVFAIL] = "servfail",
		[RASN_FINAL_4XX] = "4xx",
		[RASN_FINAL_NXDOMAIN] = "nxdomain",
		[RASN_FINAL_MALFORMED] = "malformed",
		[RASN_FINAL_OTHER] = "other",
	};

	if ((unsigned)o >= RASN_OUTCOME_COUNT)
		return "unknown";
	return names[o];
}
