/* Unit tests for lib/backoff.c: the un-jittered sequence and its cap, jitter bounds over many
 * draws of a deterministic PRNG (and that jitter really spreads), give-up at 60 s with an
 * injected clock, Retry-After, the config check, Retry-After parsing, outcome classes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backoff.h"

/* splitmix64: deterministic, full 64-bit output. */
static uint64_t splitmix(void *ud)
{
	uint64_t *s = ud;
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t const_rand(void *ud)
{
	return *(uint64_t *)ud;
}

static void init_default(struct rasn_backoff *st, uint64_t now, uint32_t jitter)
{
	struct rasn_backoff_cfg cfg;

	rasn_backoff_cfg_default(&cfg);
	cfg.jitter_pct = jitter;
	assert_int_equal(rasn_backoff_init(st, &cfg, now), 0);
}

static void test_defaults(void **state)
{
	struct rasn_backoff_cfg cfg;

	rasn_backoff_cfg_default(&cfg);
	assert_int_equal(cfg.initial_ms, 100);
	assert_int_equal(cfg.multiplier, 2);
	assert_int_equal(cfg.cap_ms, 10000);
	assert_int_equal(cfg.jitter_pct, 20);
	assert_int_equal(cfg.give_up_ms, 60000);
	assert_int_equal(rasn_backoff_cfg_check(&cfg), 0);
}

static void test_sequence_no_jitter(void **state)
{
	static const uint64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000,
					 10000, 10000, 10000 };
	struct rasn_backoff st;
	uint64_t d = 0;
	size_t i;

	/* jitter 0 and a clock that stays at the start: only the sequence matters. */
	init_default(&st, 5000, 0);
	for (i = 0; i < RASN_ARRAY_LEN(want); i++) {
		assert_int_equal(rasn_backoff_next(&st, 5000, NULL, &d), 0);
		assert_int_equal(d, want[i]);
	}
	assert_int_equal(rasn_backoff_retries(&st), RASN_ARRAY_LEN(want));

	/* With jitter configured but no random source, the base is used. */
	init_default(&st, 0, 20);
	for (i = 0; i < 9; i++) {
		assert_int_equal(rasn_backoff_next(&st, 0, NULL, &d), 0);
		assert_int_equal(d, want[i]);
	}
}

static void test_sequence_multiplier3_cap(void **state)
{
	struct rasn_backoff_cfg cfg = { 7, 3, 100, 0, 1000000 };
	static const uint64_t want[] = { 7, 21, 63, 100, 100 };
	struct rasn_backoff st;
	uint64_t d;
	size_t i;

	assert_int_equal(rasn_backoff_init(&st, &cfg, 0), 0);
	for (i = 0; i < RASN_ARRAY_LEN(want); i++) {
		assert_int_equal(rasn_backoff_next(&st, 0, NULL, &d), 0);
		assert_int_equal(d, want[i]);
	}
}

static void test_jitter_bounds(void **state)
{
	static const uint64_t base[] = { 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000 };
	uint64_t seed = 42, lo_seen[9], hi_seen[9];
	struct rasn_rand rnd = { splitmix, &seed };
	struct rasn_backoff st;
	int run;
	size_t i;

	for (i = 0; i < 9; i++) {
		lo_seen[i] = UINT64_MAX;
		hi_seen[i] = 0;
	}
	for (run = 0; run < 5000; run++) {
		init_default(&st, 1000, 20);
		for (i = 0; i < 9; i++) {
			uint64_t d = 0, span = base[i] / 5;

			assert_int_equal(rasn_backoff_next(&st, 1000, &rnd, &d), 0);
			assert_true(d >= base[i] - span);
			assert_true(d <= base[i] + span);
			assert_true(d <= 12000);
			if (d < lo_seen[i])
				lo_seen[i] = d;
			if (d > hi_seen[i])
				hi_seen[i] = d;
		}
	}
	/* Jitter spreads: over 5000 draws each step reaches within 2 % of both ends. */
	for (i = 0; i < 9; i++) {
		uint64_t span = base[i] / 5;

		assert_true(lo_seen[i] <= base[i] - span + base[i] / 50);
		assert_true(hi_seen[i] + base[i] / 50 >= base[i] + span);
	}
}

static void test_jitter_extremes(void **state)
{
	uint64_t r = 0;
	struct rasn_rand rnd = { const_rand, &r };
	struct rasn_backoff st;
	uint64_t d;

	/* The smallest random value gives base - 20 %, the largest base + 20 %. */
	init_default(&st, 0, 20);
	assert_int_equal(rasn_backoff_next(&st, 0, &rnd, &d), 0);
	assert_int_equal(d, 80);
	r = UINT64_MAX;
	assert_int_equal(rasn_backoff_next(&st, 0, &rnd, &d), 0);
	assert_int_equal(d, 240);
	r = 1ull << 63; /* the middle */
	assert_int_equal(rasn_backoff_next(&st, 0, &rnd, &d), 0);
	assert_int_equal(d, 400);

	/* 100 % jitter never goes below 0 nor above twice the base. */
	{
		struct rasn_backoff_cfg cfg = { 100, 2, 10000, 100, 60000 };

		assert_int_equal(rasn_backoff_init(&st, &cfg, 0), 0);
		r = 0;
		assert_int_equal(rasn_backoff_next(&st, 0, &rnd, &d), 0);
		assert_int_equal(d, 0);
		r = UINT64_MAX;
		assert_int_equal(rasn_backoff_next(&st, 0, &rnd, &d), 0);
		assert_int_equal(d, 400);
	}
}

static void test_give_up_60s(void **state)
{
	struct rasn_backoff st;
	uint64_t now = 1000000, start = now, d = 0;
	int n = 0, ret;

	/* Each try fails at once; the clock advances by exactly the delay. Cumulative starts:
	 * 100, 300, 700, 1500, 3100, 6300, 12700, 22700, 32700, 42700, 52700; the next
	 * (62700) is past 60 s. */
	init_default(&st, now, 0);
	while ((ret = rasn_backoff_next(&st, now, NULL, &d)) == 0) {
		now += d;
		n++;
		assert_true(n < 100);
	}
	assert_int_equal(ret, -ETIMEDOUT);
	assert_int_equal(n, 11);
	assert_int_equal(now - start, 52700);
	assert_int_equal(rasn_backoff_retries(&st), 11);
	assert_int_equal(rasn_backoff_deadline(&st), start + 60000);
	/* Once given up, always given up, even if asked with an earlier time. */
	assert_int_equal(rasn_backoff_next(&st, start, NULL, &d), -ETIMEDOUT);
	assert_int_equal(rasn_backoff_retries(&st), 11);
}

static void test_give_up_boundary(void **state)
{
	struct rasn_backoff st;
	uint64_t d = 7;

	/* A retry starting exactly at the deadline is allowed; 1 ms later is not. */
	init_default(&st, 0, 0);
	assert_int_equal(rasn_backoff_next(&st, 59900, NULL, &d), 0);
	assert_int_equal(d, 100);
	init_default(&st, 0, 0);
	d = 7;
	assert_int_equal(rasn_backoff_next(&st, 59901, NULL, &d), -ETIMEDOUT);
	assert_int_equal(d, 7); /* untouched on failure */
	/* Slow attempts count too: a try that took 59.95 s leaves no room for a 100 ms wait. */
	init_default(&st, 0, 0);
	assert_int_equal(rasn_backoff_next(&st, 59950, NULL, &d), -ETIMEDOUT);
}

static void test_retry_after(void **state)
{
	struct rasn_backoff st;
	uint64_t d = 0, r = 0;
	struct rasn_rand rnd = { const_rand, &r };

	init_default(&st, 0, 20);
	/* Retry-After: 1 s beats the 100 ms backoff. */
	assert_int_equal(rasn_backoff_retry_after(&st, 0, 1000, &rnd, &d), 0);
	assert_int_equal(d, 1000);
	/* The backoff still grew underneath: next plain retry is 200 - 20 %. */
	assert_int_equal(rasn_backoff_next(&st, 1000, &rnd, &d), 0);
	assert_int_equal(d, 160);
	/* A Retry-After smaller than the backoff gives the backoff (400 + 20 %). */
	r = UINT64_MAX;
	assert_int_equal(rasn_backoff_retry_after(&st, 2000, 5, &rnd, &d), 0);
	assert_int_equal(d, 480);
	assert_int_equal(rasn_backoff_retries(&st), 3);
	/* A Retry-After past the give-up deadline gives up at once. */
	assert_int_equal(rasn_backoff_retry_after(&st, 3000, 57001, &rnd, &d), -ETIMEDOUT);
	assert_int_equal(rasn_backoff_next(&st, 3000, &rnd, &d), -ETIMEDOUT);

	/* Exactly up to the deadline is allowed. */
	init_default(&st, 0, 0);
	assert_int_equal(rasn_backoff_retry_after(&st, 10000, 50000, NULL, &d), 0);
	assert_int_equal(d, 50000);
	/* Huge values saturate instead of wrapping. */
	init_default(&st, 0, 0);
	assert_int_equal(rasn_backoff_retry_after(&st, 10, UINT64_MAX, NULL, &d), -ETIMEDOUT);
}

static void test_cfg_check(void **state)
{
	struct rasn_backoff_cfg ok = RASN_BACKOFF_CFG_DEFAULT, c;
	struct rasn_backoff st;
	uint64_t d;

	c = ok;
	c.initial_ms = 0;
	assert_int_equal(rasn_backoff_cfg_check(&c), -EINVAL);
	c = ok;
	c.multiplier = 0;
	assert_int_equal(rasn_backoff_cfg_check(&c), -EINVAL);
	c = ok;
	c.cap_ms = 99;
	assert_int_equal(rasn_backoff_cfg_check(&c), -EINVAL);
	c = ok;
	c.jitter_pct = 101;
	assert_int_equal(rasn_backoff_cfg_check(&c), -EINVAL);
	c = ok;
	c.give_up_ms = 0;
	assert_int_equal(rasn_backoff_cfg_check(&c), -EINVAL);
	/* A state initialised from a bad cfg refuses every retry. */
	assert_int_equal(rasn_backoff_init(&st, &c, 0), -EINVAL);
	assert_int_equal(rasn_backoff_next(&st, 0, NULL, &d), -ETIMEDOUT);
	/* Multiplier 1: constant delay. */
	c = ok;
	c.multiplier = 1;
	c.jitter_pct = 0;
	assert_int_equal(rasn_backoff_init(&st, &c, 0), 0);
	assert_int_equal(rasn_backoff_next(&st, 0, NULL, &d), 0);
	assert_int_equal(d, 100);
	assert_int_equal(rasn_backoff_next(&st, 0, NULL, &d), 0);
	assert_int_equal(d, 100);
}

static void test_retry_after_parse(void **state)
{
	uint64_t ms = 7;

	assert_int_equal(rasn_retry_after_parse("1", 1, &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(rasn_retry_after_parse(" 120\t", 5, &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(rasn_retry_after_parse("0", 1, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(rasn_retry_after_parse("99999999999999999999999", 23, &ms), 0);
	assert_int_equal(ms, 86400000);
	ms = 7;
	assert_int_equal(rasn_retry_after_parse("", 0, &ms), RASN_ESYNTAX);
	assert_int_equal(rasn_retry_after_parse("  ", 2, &ms), RASN_ESYNTAX);
	assert_int_equal(rasn_retry_after_parse("-1", 2, &ms), RASN_ESYNTAX);
	assert_int_equal(rasn_retry_after_parse("1.5", 3, &ms), RASN_ESYNTAX);
	assert_int_equal(rasn_retry_after_parse("1 2", 3, &ms), RASN_ESYNTAX);
	assert_int_equal(rasn_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 29, &ms),
			 RASN_ESYNTAX);
	/* Length is honoured: "12" of "123". */
	assert_int_equal(rasn_retry_after_parse("123", 2, &ms), 0);
	assert_int_equal(ms, 12000);
}

static void test_outcomes(void **state)
{
	int s;

	assert_int_equal(rasn_outcome_from_http(200), RASN_OK);
	assert_int_equal(rasn_outcome_from_http(204), RASN_OK);
	assert_int_equal(rasn_outcome_from_http(429), RASN_RETRY_429);
	assert_int_equal(rasn_outcome_from_http(500), RASN_RETRY_5XX);
	assert_int_equal(rasn_outcome_from_http(503), RASN_RETRY_5XX);
	assert_int_equal(rasn_outcome_from_http(599), RASN_RETRY_5XX);
	assert_int_equal(rasn_outcome_from_http(400), RASN_FINAL_4XX);
	assert_int_equal(rasn_outcome_from_http(404), RASN_FINAL_4XX);
	assert_int_equal(rasn_outcome_from_http(408), RASN_FINAL_4XX);
	assert_int_equal(rasn_outcome_from_http(301), RASN_FINAL_OTHER);
	assert_int_equal(rasn_outcome_from_http(100), RASN_FINAL_OTHER);
	assert_int_equal(rasn_outcome_from_http(99), RASN_FINAL_MALFORMED);
	assert_int_equal(rasn_outcome_from_http(600), RASN_FINAL_MALFORMED);
	assert_int_equal(rasn_outcome_from_http(-1), RASN_FINAL_MALFORMED);
	for (s = 0; s < 1000; s++) {
		int want = s == 429 || (s >= 500 && s <= 599);

		assert_int_equal(rasn_outcome_retriable(rasn_outcome_from_http(s)), want);
	}

	assert_int_equal(rasn_outcome_from_dns_rcode(0), RASN_OK);
	assert_int_equal(rasn_outcome_from_dns_rcode(2), RASN_RETRY_SERVFAIL);
	assert_int_equal(rasn_outcome_from_dns_rcode(3), RASN_FINAL_NXDOMAIN);
	assert_int_equal(rasn_outcome_from_dns_rcode(5), RASN_FINAL_OTHER);
	assert_int_equal(rasn_outcome_from_dns_rcode(1), RASN_FINAL_OTHER);
	assert_int_equal(rasn_outcome_from_dns_rcode(-1), RASN_FINAL_MALFORMED);

	assert_int_equal(rasn_outcome_from_err(0), RASN_OK);
	assert_int_equal(rasn_outcome_from_err(-ETIMEDOUT), RASN_RETRY_TIMEOUT);
	assert_int_equal(rasn_outcome_from_err(-ECONNREFUSED), RASN_RETRY_NET);
	assert_int_equal(rasn_outcome_from_err(-ECONNRESET), RASN_RETRY_NET);
	assert_int_equal(rasn_outcome_from_err(RASN_ESYNTAX), RASN_FINAL_MALFORMED);
	assert_int_equal(rasn_outcome_from_err(RASN_EFORMAT), RASN_FINAL_MALFORMED);

	assert_int_equal(rasn_outcome_retriable(RASN_OK), 0);
	assert_int_equal(rasn_outcome_retriable(RASN_RETRY_NET), 1);
	assert_int_equal(rasn_outcome_retriable(RASN_RETRY_TIMEOUT), 1);
	assert_int_equal(rasn_outcome_retriable(RASN_RETRY_429), 1);
	assert_int_equal(rasn_outcome_retriable(RASN_RETRY_5XX), 1);
	assert_int_equal(rasn_outcome_retriable(RASN_RETRY_SERVFAIL), 1);
	assert_int_equal(rasn_outcome_retriable(RASN_FINAL_4XX), 0);
	assert_int_equal(rasn_outcome_retriable(RASN_FINAL_NXDOMAIN), 0);
	assert_int_equal(rasn_outcome_retriable(RASN_FINAL_MALFORMED), 0);
	assert_int_equal(rasn_outcome_retriable(RASN_FINAL_OTHER), 0);
	assert_int_equal(rasn_outcome_retriable(RASN_OUTCOME_COUNT), 0);

	assert_string_equal(rasn_outcome_name(RASN_OK), "ok");
	assert_string_equal(rasn_outcome_name(RASN_RETRY_429), "429");
	assert_string_equal(rasn_outcome_name(RASN_RETRY_SERVFAIL), "servfail");
	assert_string_equal(rasn_outcome_name(RASN_FINAL_OTHER), "other");
	assert_string_equal(rasn_outcome_name(RASN_OUTCOME_COUNT), "unknown");
	assert_string_equal(rasn_outcome_name((enum rasn_outcome)-1), "unknown");
	for (s = 0; s < RASN_OUTCOME_COUNT; s++)
		assert_non_null(rasn_outcome_name((enum rasn_outcome)s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sequence_no_jitter),
		cmocka_unit_test(test_sequence_multiplier3_cap),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_jitter_extremes),
		cmocka_unit_test(test_give_up_60s),
		cmocka_unit_test(test_give_up_boundary),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_cfg_check),
		cmocka_unit_test(test_retry_after_parse),
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
