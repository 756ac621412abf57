/* Unit tests for lib/breaker.c with an injected clock: closed -> open at exactly the 5th
 * consecutive failure (a success resets the count), rejection while open, half-open after
 * 30 s, the probe limit, half-open -> closed after 2 successes, half-open -> open on a failure,
 * tickets (results of an older generation ignored), the transition log and counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "breaker.h"

#define T0 1000000ull

static void init_default(struct rasn_breaker *b)
{
	struct rasn_breaker_cfg cfg;

	rasn_breaker_cfg_default(&cfg);
	assert_int_equal(rasn_breaker_init(b, &cfg), 0);
}

/* allow() that must let the call through: its ticket. */
static uint64_t let(struct rasn_breaker *b, uint64_t now)
{
	uint64_t t = rasn_breaker_allow(b, now);

	assert_true(t != 0);
	return t;
}

/* Allowed call that fails. */
static void fail_one(struct rasn_breaker *b, uint64_t now)
{
	rasn_breaker_failure(b, let(b, now), now);
}

/* Allowed call that succeeds. */
static void ok_one(struct rasn_breaker *b, uint64_t now)
{
	rasn_breaker_success(b, let(b, now), now);
}

/* Drive a default breaker to open at `now` (5 failures). */
static void open_it(struct rasn_breaker *b, uint64_t now)
{
	int i;

	for (i = 0; i < 5; i++)
		fail_one(b, now);
	assert_int_equal(rasn_breaker_state(b, now), RASN_BREAKER_OPEN);
}

static void test_defaults_and_names(void **state)
{
	struct rasn_breaker_cfg cfg, bad;
	struct rasn_breaker b;

	rasn_breaker_cfg_default(&cfg);
	assert_int_equal(cfg.failure_threshold, 5);
	assert_int_equal(cfg.open_ms, 30000);
	assert_int_equal(cfg.max_probes, 1);
	assert_int_equal(cfg.success_threshold, 2);
	assert_string_equal(rasn_breaker_state_name(RASN_BREAKER_CLOSED), "closed");
	assert_string_equal(rasn_breaker_state_name(RASN_BREAKER_OPEN), "open");
	assert_string_equal(rasn_breaker_state_name(RASN_BREAKER_HALF_OPEN), "half-open");
	assert_string_equal(rasn_breaker_state_name((enum rasn_breaker_state)7), "unknown");

	bad = cfg;
	bad.failure_threshold = 0;
	assert_int_equal(rasn_breaker_cfg_check(&bad), -EINVAL);
	bad = cfg;
	bad.max_probes = 0;
	assert_int_equal(rasn_breaker_cfg_check(&bad), -EINVAL);
	bad = cfg;
	bad.success_threshold = 0;
	assert_int_equal(rasn_breaker_cfg_check(&bad), -EINVAL);
	/* A bad cfg leaves a working breaker with the defaults. */
	assert_int_equal(rasn_breaker_init(&b, &bad), -EINVAL);
	assert_int_equal(b.cfg.success_threshold, 2);
	assert_int_equal(rasn_breaker_state(&b, 0), RASN_BREAKER_CLOSED);
	assert_true(rasn_breaker_allow(&b, 0) != 0);
}

static void test_opens_at_fifth_consecutive_failure(void **state)
{
	struct rasn_breaker b;
	struct rasn_breaker_stats st;
	int i;

	init_default(&b);
	/* 4 failures, a success, 4 failures: still closed. */
	for (i = 0; i < 4; i++)
		fail_one(&b, T0 + (uint64_t)i);
	assert_int_equal(rasn_breaker_state(&b, T0 + 10), RASN_BREAKER_CLOSED);
	ok_one(&b, T0 + 10);
	for (i = 0; i < 4; i++) {
		fail_one(&b, T0 + 20);
		assert_int_equal(rasn_breaker_state(&b, T0 + 20), RASN_BREAKER_CLOSED);
	}
	/* The 5th consecutive one opens it, exactly then. */
	fail_one(&b, T0 + 30);
	assert_int_equal(rasn_breaker_state(&b, T0 + 30), RASN_BREAKER_OPEN);
	assert_int_equal(rasn_breaker_open_remaining(&b, T0 + 30), 30000);

	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.allowed, 10);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.failures, 9);
	assert_int_equal(st.successes, 1);
	assert_int_equal(st.late_results, 0);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.transitions, 1);
}

static void test_rejects_while_open_then_half_open(void **state)
{
	struct rasn_breaker b;
	struct rasn_breaker_stats st;
	int i;

	init_default(&b);
	open_it(&b, T0);
	for (i = 0; i < 100; i++)
		assert_int_equal(rasn_breaker_allow(&b, T0 + (uint64_t)i * 299), 0);
	assert_int_equal(rasn_breaker_allow(&b, T0 + 29999), 0);
	assert_int_equal(rasn_breaker_state(&b, T0 + 29999), RASN_BREAKER_OPEN);
	assert_int_equal(rasn_breaker_open_remaining(&b, T0 + 29999), 1);
	/* At exactly 30 s it is half-open. */
	assert_int_equal(rasn_breaker_state(&b, T0 + 30000), RASN_BREAKER_HALF_OPEN);
	assert_int_equal(rasn_breaker_open_remaining(&b, T0 + 30000), 0);
	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.rejected, 101);
	assert_int_equal(st.allowed, 5);
}

static void test_half_open_by_allow_alone(void **state)
{
	struct rasn_breaker b;

	/* No state() call needed: allow() itself sees the time run out. */
	init_default(&b);
	open_it(&b, T0);
	assert_true(rasn_breaker_allow(&b, T0 + 45000) != 0);
	assert_int_equal(rasn_breaker_state(&b, T0 + 45000), RASN_BREAKER_HALF_OPEN);
}

static void test_probe_limit(void **state)
{
	struct rasn_breaker_cfg cfg = RASN_BREAKER_CFG_DEFAULT;
	struct rasn_breaker b;
	uint64_t t, k, k2, k3;

	/* Default: one probe at a time. */
	init_default(&b);
	open_it(&b, T0);
	t = T0 + 30000;
	k = let(&b, t);
	assert_int_equal(rasn_breaker_allow(&b, t), 0);
	assert_int_equal(rasn_breaker_allow(&b, t + 5), 0);
	/* Its success frees the slot (and counts 1 of 2). */
	rasn_breaker_success(&b, k, t + 10);
	assert_int_equal(rasn_breaker_state(&b, t + 10), RASN_BREAKER_HALF_OPEN);
	k = let(&b, t + 10);
	assert_int_equal(rasn_breaker_allow(&b, t + 10), 0);
	/* A cancelled probe frees the slot without a verdict. */
	rasn_breaker_cancel(&b, k, t + 20);
	assert_int_equal(rasn_breaker_state(&b, t + 20), RASN_BREAKER_HALF_OPEN);
	k = let(&b, t + 20);
	assert_int_equal(rasn_breaker_allow(&b, t + 20), 0);

	/* max_probes 3. */
	cfg.max_probes = 3;
	cfg.success_threshold = 5;
	assert_int_equal(rasn_breaker_init(&b, &cfg), 0);
	open_it(&b, T0);
	t = T0 + 30000;
	k = let(&b, t);
	k2 = let(&b, t);
	k3 = let(&b, t);
	assert_int_equal(rasn_breaker_allow(&b, t), 0);
	assert_true(k == k2 && k2 == k3); /* one generation, one ticket */
	rasn_breaker_success(&b, k, t);
	let(&b, t);
	assert_int_equal(rasn_breaker_allow(&b, t), 0);
}

static void test_half_open_closes_after_two_successes(void **state)
{
	struct rasn_breaker b;
	uint64_t t, k[10];
	int i;

	init_default(&b);
	open_it(&b, T0);
	t = T0 + 30000;
	k[0] = let(&b, t + 1);
	rasn_breaker_success(&b, k[0], t + 2);
	assert_int_equal(rasn_breaker_state(&b, t + 2), RASN_BREAKER_HALF_OPEN);
	k[0] = let(&b, t + 3);
	rasn_breaker_success(&b, k[0], t + 4);
	assert_int_equal(rasn_breaker_state(&b, t + 4), RASN_BREAKER_CLOSED);
	/* Closed again: no probe limit, and the failure count starts from zero. */
	for (i = 0; i < 10; i++)
		k[i] = let(&b, t + 5);
	for (i = 0; i < 4; i++)
		rasn_breaker_failure(&b, k[i], t + 6);
	assert_int_equal(rasn_breaker_state(&b, t + 6), RASN_BREAKER_CLOSED);
	rasn_breaker_failure(&b, k[4], t + 7);
	assert_int_equal(rasn_breaker_state(&b, t + 7), RASN_BREAKER_OPEN);
}

static void test_half_open_failure_reopens(void **state)
{
	struct rasn_breaker b;
	uint64_t t, k;

	init_default(&b);
	open_it(&b, T0);
	t = T0 + 30000;
	/* One success, then a failure: back to open for a fresh 30 s from the failure. */
	k = let(&b, t);
	rasn_breaker_success(&b, k, t + 100);
	k = let(&b, t + 200);
	rasn_breaker_failure(&b, k, t + 300);
	assert_int_equal(rasn_breaker_state(&b, t + 300), RASN_BREAKER_OPEN);
	assert_int_equal(rasn_breaker_allow(&b, t + 300), 0);
	assert_int_equal(rasn_breaker_allow(&b, t + 300 + 29999), 0);
	assert_int_equal(rasn_breaker_state(&b, t + 300 + 30000), RASN_BREAKER_HALF_OPEN);
	/* The earlier success does not carry over: two fresh ones are needed. */
	ok_one(&b, t + 30300);
	assert_int_equal(rasn_breaker_state(&b, t + 30300), RASN_BREAKER_HALF_OPEN);
	ok_one(&b, t + 30301);
	assert_int_equal(rasn_breaker_state(&b, t + 30301), RASN_BREAKER_CLOSED);
}

static void test_late_results_ignored_while_open(void **state)
{
	struct rasn_breaker b;
	struct rasn_breaker_stats st;
	uint64_t k1, k2;

	init_default(&b);
	/* Seven calls allowed while closed; five fail and open it; two end while open. */
	k1 = let(&b, T0);
	k2 = let(&b, T0);
	open_it(&b, T0);
	rasn_breaker_success(&b, k1, T0 + 10);
	rasn_breaker_failure(&b, k2, T0 + 20);
	assert_int_equal(rasn_breaker_state(&b, T0 + 20), RASN_BREAKER_OPEN);
	/* The late failure did not extend the open period. */
	assert_int_equal(rasn_breaker_open_remaining(&b, T0 + 20), 29980);
	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.late_results, 2);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.transitions, 1);
}

/* A try let through while closed that outlives open_ms: its success, arriving while half-open,
 * is not a probe's verdict (it proves nothing about the upstream now), and it frees no probe
 * slot; the probe's own results still count. */
static void test_late_success_while_half_open_is_not_a_probe(void **state)
{
	struct rasn_breaker b;
	struct rasn_breaker_stats st;
	uint64_t old[3], probe, t;

	init_default(&b);
	old[0] = let(&b, T0);
	old[1] = let(&b, T0);
	old[2] = let(&b, T0);
	open_it(&b, T0 + 1);
	t = T0 + 1 + 30000;
	probe = let(&b, t);                               /* half-open: the one probe */
	assert_true(probe != old[0]);
	/* Two late successes: not enough to close it, whatever the threshold says. */
	rasn_breaker_success(&b, old[0], t + 1);
	rasn_breaker_success(&b, old[1], t + 2);
	assert_int_equal(rasn_breaker_state(&b, t + 2), RASN_BREAKER_HALF_OPEN);
	/* A late cancel frees nobody's slot: the probe is still in flight. */
	rasn_breaker_cancel(&b, old[2], t + 3);
	assert_int_equal(rasn_breaker_allow(&b, t + 3), 0);
	/* A late failure does not reopen it either. */
	rasn_breaker_failure(&b, old[2], t + 4);
	assert_int_equal(rasn_breaker_state(&b, t + 4), RASN_BREAKER_HALF_OPEN);
	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.late_results, 4);
	/* The probe's success counts (1 of 2), a second probe's closes it. */
	rasn_breaker_success(&b, probe, t + 5);
	assert_int_equal(rasn_breaker_state(&b, t + 5), RASN_BREAKER_HALF_OPEN);
	ok_one(&b, t + 6);
	assert_int_equal(rasn_breaker_state(&b, t + 6), RASN_BREAKER_CLOSED);
	/* A half-open probe's ticket is late once closed again. */
	rasn_breaker_failure(&b, probe, t + 7);
	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.late_results, 5);
	assert_int_equal(st.transitions, 3);
}

/* A closed generation's ticket is late after a whole cycle (closed, open, half-open, closed):
 * its failure does not count towards the next opening. */
static void test_ticket_from_an_earlier_closed_state(void **state)
{
	struct rasn_breaker b;
	uint64_t old, t;
	int i;

	init_default(&b);
	old = let(&b, T0);
	open_it(&b, T0);
	t = T0 + 30000;
	ok_one(&b, t);
	ok_one(&b, t + 1);
	assert_int_equal(rasn_breaker_state(&b, t + 1), RASN_BREAKER_CLOSED);
	for (i = 0; i < 4; i++)
		fail_one(&b, t + 2);
	rasn_breaker_failure(&b, old, t + 3);             /* would be the 5th: late */
	assert_int_equal(rasn_breaker_state(&b, t + 3), RASN_BREAKER_CLOSED);
	fail_one(&b, t + 4);
	assert_int_equal(rasn_breaker_state(&b, t + 4), RASN_BREAKER_OPEN);
}

static void test_transition_log(void **state)
{
	struct rasn_breaker_transition tr[RASN_BREAKER_LOG + 4];
	struct rasn_breaker_stats st;
	struct rasn_breaker b;
	uint64_t t, k;
	size_t n, i;

	init_default(&b);
	assert_int_equal(rasn_breaker_transitions(&b, tr, RASN_ARRAY_LEN(tr)), 0);

	open_it(&b, T0);                                  /* closed -> open at T0 */
	t = T0 + 30000;
	/* Seen late (at +41 s), stamped when the 30 s ran out. */
	k = let(&b, T0 + 41000);
	rasn_breaker_failure(&b, k, T0 + 41500);          /* half-open -> open */
	k = let(&b, T0 + 71500);
	rasn_breaker_success(&b, k, T0 + 71600);
	k = let(&b, T0 + 71700);
	rasn_breaker_success(&b, k, T0 + 71800);          /* half-open -> closed */

	n = rasn_breaker_transitions(&b, tr, RASN_ARRAY_LEN(tr));
	assert_int_equal(n, 5);
	assert_int_equal(tr[0].from, RASN_BREAKER_CLOSED);
	assert_int_equal(tr[0].to, RASN_BREAKER_OPEN);
	assert_int_equal(tr[0].at_ms, T0);
	assert_int_equal(tr[1].from, RASN_BREAKER_OPEN);
	assert_int_equal(tr[1].to, RASN_BREAKER_HALF_OPEN);
	assert_int_equal(tr[1].at_ms, t);
	assert_int_equal(tr[2].from, RASN_BREAKER_HALF_OPEN);
	assert_int_equal(tr[2].to, RASN_BREAKER_OPEN);
	assert_int_equal(tr[2].at_ms, T0 + 41500);
	assert_int_equal(tr[3].from, RASN_BREAKER_OPEN);
	assert_int_equal(tr[3].to, RASN_BREAKER_HALF_OPEN);
	assert_int_equal(tr[3].at_ms, T0 + 71500);
	assert_int_equal(tr[4].from, RASN_BREAKER_HALF_OPEN);
	assert_int_equal(tr[4].to, RASN_BREAKER_CLOSED);
	assert_int_equal(tr[4].at_ms, T0 + 71800);

	/* A smaller cap gives the most recent ones. */
	n = rasn_breaker_transitions(&b, tr, 2);
	assert_int_equal(n, 2);
	assert_int_equal(tr[0].at_ms, T0 + 71500);
	assert_int_equal(tr[1].at_ms, T0 + 71800);

	/* The ring keeps the last RASN_BREAKER_LOG: do 4 more cycles (3 transitions each). */
	t = T0 + 100000;
	for (i = 0; i < 4; i++, t += 100000) {
		open_it(&b, t);
		ok_one(&b, t + 30000);
		ok_one(&b, t + 30001);
	}
	rasn_breaker_stats(&b, &st);
	assert_int_equal(st.transitions, 17);
	assert_int_equal(st.opened, 6);
	n = rasn_breaker_transitions(&b, tr, RASN_ARRAY_LEN(tr));
	assert_int_equal(n, RASN_BREAKER_LOG);
	/* Newest last: the final cycle's three, at t-100000 (+0, +30000, +30001). */
	t -= 100000;
	assert_int_equal(tr[n - 1].to, RASN_BREAKER_CLOSED);
	assert_int_equal(tr[n - 1].at_ms, t + 30001);
	assert_int_equal(tr[n - 2].to, RASN_BREAKER_HALF_OPEN);
	assert_int_equal(tr[n - 2].at_ms, t + 30000);
	assert_int_equal(tr[n - 3].to, RASN_BREAKER_OPEN);
	assert_int_equal(tr[n - 3].at_ms, t);
	/* Across the whole ring: time never goes back and each transition starts where the
	 * previous one ended. */
	for (i = 1; i < n; i++) {
		assert_true(tr[i].at_ms >= tr[i - 1].at_ms);
		assert_int_equal(tr[i].from, tr[i - 1].to);
	}
}

static void test_custom_thresholds(void **state)
{
	struct rasn_breaker_cfg cfg = { 1, 0, 1, 1 };
	struct rasn_breaker b;
	uint64_t k;

	/* Threshold 1 opens at the first failure; open_ms 0 means half-open at once; one
	 * success closes. */
	assert_int_equal(rasn_breaker_init(&b, &cfg), 0);
	fail_one(&b, 5);
	assert_int_equal(rasn_breaker_state(&b, 5), RASN_BREAKER_HALF_OPEN);
	k = let(&b, 5);
	assert_int_equal(rasn_breaker_allow(&b, 5), 0);
	rasn_breaker_success(&b, k, 6);
	assert_int_equal(rasn_breaker_state(&b, 6), RASN_BREAKER_CLOSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_names),
		cmocka_unit_test(test_opens_at_fifth_consecutive_failure),
		cmocka_unit_test(test_rejects_while_open_then_half_open),
		cmocka_unit_test(test_half_open_by_allow_alone),
		cmocka_unit_test(test_probe_limit),
		cmocka_unit_test(test_half_open_closes_after_two_successes),
		cmocka_unit_test(test_half_open_failure_reopens),
		cmocka_unit_test(test_late_results_ignored_while_open),
		cmocka_unit_test(test_late_success_while_half_open_is_not_a_probe),
		cmocka_unit_test(test_ticket_from_an_earlier_closed_state),
		cmocka_unit_test(test_transition_log),
		cmocka_unit_test(test_custom_thresholds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
