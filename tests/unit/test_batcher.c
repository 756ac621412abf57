/* Unit tests for lib/batcher.c with an injected clock: flush on size and on deadline,
 * coalescing of identical keys (queued and in flight; each waiter completed exactly once, in
 * order), the bounds (busy, nothing stored), keys completed out of order, completion of a
 * queued key, re-submission from a callback, drain, counters and histogram, and a randomised
 * run checking every waiter is completed exactly once. Leaks are caught by ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batcher.h"

#define T0 5000000ull

/* A waiter: how many times it was completed, and in what order. */
struct w {
	int done;
	int order;
	char key[32];
	size_t keylen;
};

struct rec {
	int calls;
	struct rasn_batcher *bat;  /* for re-entrancy tests */
	struct w *resubmit;        /* submit this waiter (same key) from the first callback */
	int resubmit_ret;
};

static void on_done(void *ud, void *waiter, const void *key, size_t keylen)
{
	struct rec *r = ud;
	struct w *w = waiter;

	w->done++;
	w->order = ++r->calls;
	w->keylen = keylen;
	if (keylen >= sizeof(w->key))
		keylen = sizeof(w->key) - 1; /* enough to tell the test keys apart */
	memcpy(w->key, key, keylen);
	w->key[keylen] = 0;
	if (r->resubmit) {
		struct w *again = r->resubmit;

		r->resubmit = NULL;
		r->resubmit_ret = rasn_batcher_submit(r->bat, key, keylen, again, T0);
	}
}

static struct rasn_batcher *new_bat(uint32_t max_batch, uint32_t max_keys, uint32_t max_waiters)
{
	struct rasn_batcher_cfg cfg;
	struct rasn_batcher *bat = NULL;

	rasn_batcher_cfg_default(&cfg);
	cfg.seed[0] = 0x0123456789abcdefull;
	cfg.seed[1] = 0xfedcba9876543210ull;
	if (max_batch)
		cfg.max_batch = max_batch;
	if (max_keys)
		cfg.max_keys = max_keys;
	if (max_waiters)
		cfg.max_waiters = max_waiters;
	assert_int_equal(rasn_batcher_new(&cfg, &bat), 0);
	assert_non_null(bat);
	return bat;
}

static int sub(struct rasn_batcher *bat, const char *key, struct w *w, uint64_t now)
{
	return rasn_batcher_submit(bat, key, strlen(key), w, now);
}

static int comp(struct rasn_batcher *bat, const char *key, struct rec *r)
{
	return rasn_batcher_complete(bat, key, strlen(key), on_done, r);
}

static void test_defaults_and_cfg(void **state)
{
	struct rasn_batcher_cfg cfg, bad;
	struct rasn_batcher *bat = (void *)1;

	rasn_batcher_cfg_default(&cfg);
	assert_int_equal(cfg.max_batch, 50);
	assert_int_equal(cfg.max_delay_ms, 100);
	assert_true(cfg.max_keys > 0);
	assert_true(cfg.max_waiters >= cfg.max_keys);
	bad = cfg;
	bad.max_batch = 0;
	assert_int_equal(rasn_batcher_new(&bad, &bat), -EINVAL);
	assert_null(bat);
	bad = cfg;
	bad.max_keys = 0;
	assert_int_equal(rasn_batcher_new(&bad, &bat), -EINVAL);
	bad = cfg;
	bad.max_waiters = 0;
	assert_int_equal(rasn_batcher_new(&bad, &bat), -EINVAL);
	bad = cfg;
	bad.key_max = RASN_BATCHER_KEY_MAX + 1;
	assert_int_equal(rasn_batcher_new(&bad, &bat), -EINVAL);
	rasn_batcher_free(NULL);
	assert_true(RASN_EBUSY < -RASN_EBASE);
}

static void test_flush_on_size(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 0, 0);
	struct rasn_batch_key keys[64];
	struct rasn_batcher_stats st;
	struct w ws[120];
	char k[16];
	uint64_t dl = 0;
	int i;

	memset(ws, 0, sizeof(ws));
	assert_int_equal(rasn_batcher_due(bat, T0, &dl), 0);
	assert_int_equal(dl, UINT64_MAX);
	assert_int_equal(rasn_batcher_take(bat, keys, 64), 0);
	/* 49 keys at the same instant: not due; the 50th makes it due at once. */
	for (i = 0; i < 49; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(sub(bat, k, &ws[i], T0), RASN_BATCHER_NEW);
		assert_int_equal(rasn_batcher_due(bat, T0, &dl), 0);
		assert_int_equal(dl, T0 + 100);
	}
	assert_int_equal(sub(bat, "k49", &ws[49], T0), RASN_BATCHER_NEW);
	assert_int_equal(rasn_batcher_due(bat, T0, &dl), 1);
	/* More queued than a batch: take gives max_batch, oldest first, even with a bigger cap. */
	for (i = 50; i < 120; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(sub(bat, k, &ws[i], T0 + 1), RASN_BATCHER_NEW);
	}
	assert_int_equal(rasn_batcher_take(bat, keys, 64), 50);
	for (i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(keys[i].len, strlen(k));
		assert_memory_equal(keys[i].key, k, strlen(k));
	}
	/* 70 left: still due by size; a small cap is honoured. */
	assert_int_equal(rasn_batcher_due(bat, T0 + 1, &dl), 1);
	assert_int_equal(dl, T0 + 1 + 100);
	assert_int_equal(rasn_batcher_take(bat, keys, 3), 3);
	assert_memory_equal(keys[0].key, "k50", 3);
	assert_memory_equal(keys[2].key, "k52", 3);
	assert_int_equal(rasn_batcher_take(bat, keys, 64), 50);
	/* 17 left: not due before the deadline. */
	assert_int_equal(rasn_batcher_due(bat, T0 + 50, &dl), 0);
	assert_int_equal(rasn_batcher_take(bat, keys, 64), 17);

	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.batches, 4);
	assert_int_equal(st.batched_keys, 120);
	assert_int_equal(st.hist[5], 2);   /* 50, 50: [32, 64) */
	assert_int_equal(st.hist[1], 1);   /* 3: [2, 4) */
	assert_int_equal(st.hist[4], 1);   /* 17: [16, 32) */
	assert_int_equal(st.hist[0], 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.inflight, 120);
	assert_int_equal(st.waiters, 120);
	assert_int_equal(st.new_keys, 120);
	rasn_batcher_free(bat); /* in flight, uncompleted: freed without callbacks, no leak */
}

static void test_flush_on_deadline(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 0, 0);
	struct rasn_batch_key keys[8];
	struct w a = { 0 }, b = { 0 }, c = { 0 };
	struct rec r = { 0 };
	uint64_t dl;

	assert_int_equal(sub(bat, "a", &a, T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "b", &b, T0 + 40), RASN_BATCHER_NEW);
	/* The deadline follows the oldest key. */
	assert_int_equal(rasn_batcher_due(bat, T0 + 99, &dl), 0);
	assert_int_equal(dl, T0 + 100);
	assert_int_equal(rasn_batcher_due(bat, T0 + 100, &dl), 1);
	assert_int_equal(rasn_batcher_due(bat, T0 + 100, NULL), 1);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 2);
	assert_int_equal(rasn_batcher_due(bat, T0 + 100, &dl), 0);
	assert_int_equal(dl, UINT64_MAX);
	/* A key queued later gets its own 100 ms. */
	assert_int_equal(sub(bat, "c", &c, T0 + 150), RASN_BATCHER_NEW);
	assert_int_equal(rasn_batcher_due(bat, T0 + 249, &dl), 0);
	assert_int_equal(dl, T0 + 250);
	assert_int_equal(rasn_batcher_due(bat, T0 + 250, &dl), 1);
	/* Completing the queued key (answered elsewhere) empties the queue. */
	assert_int_equal(comp(bat, "c", &r), 1);
	assert_int_equal(rasn_batcher_due(bat, T0 + 400, &dl), 0);
	assert_int_equal(dl, UINT64_MAX);
	assert_int_equal(comp(bat, "a", &r), 1);
	assert_int_equal(comp(bat, "b", &r), 1);
	assert_int_equal(a.done + b.done + c.done, 3);
	rasn_batcher_free(bat);
}

static void test_coalescing(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 0, 0);
	struct rasn_batch_key keys[8];
	struct rasn_batcher_stats st;
	struct w w[10];
	struct rec r = { 0 };
	uint64_t dl;
	int i;

	memset(w, 0, sizeof(w));
	assert_int_equal(sub(bat, "8.8.8.0/24", &w[0], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "1.1.1.0/24", &w[1], T0 + 1), RASN_BATCHER_NEW);
	for (i = 2; i < 5; i++)
		assert_int_equal(sub(bat, "8.8.8.0/24", &w[i], T0 + 10), RASN_BATCHER_COALESCED);
	/* Coalesced requests do not move the deadline nor count toward the batch size. */
	assert_int_equal(rasn_batcher_due(bat, T0 + 10, &dl), 0);
	assert_int_equal(dl, T0 + 100);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 2);
	/* Joining a key in flight. */
	assert_int_equal(sub(bat, "8.8.8.0/24", &w[5], T0 + 200), RASN_BATCHER_JOINED);
	assert_int_equal(sub(bat, "1.1.1.0/24", &w[6], T0 + 200), RASN_BATCHER_JOINED);
	/* Keys differing in length or one byte are distinct. */
	assert_int_equal(sub(bat, "8.8.8.0/2", &w[7], T0 + 200), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "8.8.8.0/25", &w[8], T0 + 200), RASN_BATCHER_NEW);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 2);

	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.submitted, 9);
	assert_int_equal(st.new_keys, 4);
	assert_int_equal(st.coalesced, 3);
	assert_int_equal(st.joined_inflight, 2);
	assert_int_equal(st.waiters, 9);

	/* One completion: the five waiters of 8.8.8.0/24, once each, in submission order. */
	assert_int_equal(comp(bat, "8.8.8.0/24", &r), 5);
	assert_int_equal(w[0].done, 1);
	assert_int_equal(w[0].order, 1);
	assert_int_equal(w[2].order, 2);
	assert_int_equal(w[3].order, 3);
	assert_int_equal(w[4].order, 4);
	assert_int_equal(w[5].order, 5);
	assert_string_equal(w[5].key, "8.8.8.0/24");
	assert_int_equal(w[1].done, 0);
	assert_int_equal(w[7].done, 0);
	/* The key is forgotten: a second completion finds nothing, a new submit is new. */
	assert_int_equal(comp(bat, "8.8.8.0/24", &r), -ENOENT);
	assert_int_equal(r.calls, 5);
	assert_int_equal(comp(bat, "1.1.1.0/24", &r), 2);
	assert_int_equal(comp(bat, "8.8.8.0/2", &r), 1);
	assert_int_equal(comp(bat, "8.8.8.0/25", &r), 1);
	for (i = 0; i < 9; i++)
		assert_int_equal(w[i].done, 1);
	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.completed_keys, 4);
	assert_int_equal(st.completed_waiters, 9);
	assert_int_equal(st.waiters, 0);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(sub(bat, "8.8.8.0/24", &w[9], T0 + 300), RASN_BATCHER_NEW);
	rasn_batcher_free(bat);
}

static void test_bounds_busy(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 3, 5);
	struct rasn_batch_key keys[8];
	struct rasn_batcher_stats st;
	struct w w[10];
	struct rec r = { 0 };
	char big[300];

	memset(w, 0, sizeof(w));
	memset(big, 'x', sizeof(big));
	assert_int_equal(rasn_batcher_submit(bat, big, 0, &w[0], T0), -EINVAL);
	assert_int_equal(rasn_batcher_submit(bat, NULL, 3, &w[0], T0), -EINVAL);
	assert_int_equal(rasn_batcher_submit(bat, big, 256, &w[0], T0), RASN_ERANGE);
	assert_int_equal(rasn_batcher_submit(bat, big, 255, &w[0], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "b", &w[1], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "c", &w[2], T0), RASN_BATCHER_NEW);
	/* Key bound (queued + in flight): a 4th key is busy, taking does not free room. */
	assert_int_equal(sub(bat, "d", &w[3], T0), RASN_EBUSY);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 3);
	assert_int_equal(sub(bat, "d", &w[3], T0), RASN_EBUSY);
	/* Existing keys still take waiters, up to the waiter bound (5). */
	assert_int_equal(sub(bat, "b", &w[4], T0), RASN_BATCHER_JOINED);
	assert_int_equal(sub(bat, "c", &w[5], T0), RASN_BATCHER_JOINED);
	assert_int_equal(sub(bat, "c", &w[6], T0), RASN_EBUSY);
	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.busy, 3);
	assert_int_equal(st.waiters, 5);
	assert_int_equal(st.submitted, 5);
	/* Completing frees room for both bounds. */
	assert_int_equal(comp(bat, "c", &r), 2);
	assert_int_equal(sub(bat, "d", &w[3], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "d", &w[6], T0), RASN_BATCHER_COALESCED);
	assert_int_equal(sub(bat, "e", &w[7], T0), RASN_EBUSY);
	/* Refused waiters are never called back. */
	assert_int_equal(rasn_batcher_drain(bat, on_done, &r), 5);
	assert_int_equal(w[7].done, 0);
	assert_int_equal(w[0].keylen, 255);
	assert_int_equal(w[0].done + w[1].done + w[2].done + w[3].done + w[4].done + w[5].done +
			 w[6].done, 7);
	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.busy, 4);
	assert_int_equal(st.waiters + st.queued + st.inflight, 0);
	rasn_batcher_free(bat);
}

static void test_out_of_order_completion(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 0, 0);
	struct rasn_batch_key keys[8];
	struct w w[6];
	struct rec r = { 0 };
	static const char *const k[6] = { "k0", "k1", "k2", "k3", "k4", "k5" };
	static const int order[6] = { 3, 0, 5, 1, 4, 2 };
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 6; i++)
		assert_int_equal(sub(bat, k[i], &w[i], T0), RASN_BATCHER_NEW);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(comp(bat, k[order[i]], &r), 1);
		assert_int_equal(w[order[i]].done, 1);
		assert_int_equal(w[order[i]].order, i + 1);
		assert_string_equal(w[order[i]].key, k[order[i]]);
	}
	for (i = 0; i < 6; i++)
		assert_int_equal(comp(bat, k[i], &r), -ENOENT);
	assert_int_equal(r.calls, 6);
	rasn_batcher_free(bat);
}

static void test_resubmit_from_callback(void **state)
{
	struct rasn_batcher *bat = new_bat(0, 0, 0);
	struct rasn_batch_key keys[8];
	struct w a = { 0 }, b = { 0 }, again = { 0 };
	struct rec r = { 0 };
	struct rasn_batcher_stats st;

	r.bat = bat;
	assert_int_equal(sub(bat, "x", &a, T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "x", &b, T0), RASN_BATCHER_COALESCED);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 1);
	/* The first callback submits "x" again: that is a new key, not one of this round. */
	r.resubmit = &again;
	assert_int_equal(comp(bat, "x", &r), 2);
	assert_int_equal(r.resubmit_ret, RASN_BATCHER_NEW);
	assert_int_equal(a.done, 1);
	assert_int_equal(b.done, 1);
	assert_int_equal(again.done, 0);
	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.waiters, 1);
	/* Same in drain: the new key stays stored. */
	r.resubmit = &a;
	assert_int_equal(rasn_batcher_drain(bat, on_done, &r), 1);
	assert_int_equal(again.done, 1);
	assert_int_equal(r.resubmit_ret, RASN_BATCHER_NEW);
	assert_int_equal(comp(bat, "x", &r), 1);
	assert_int_equal(a.done, 2);
	assert_int_equal(rasn_batcher_drain(bat, on_done, &r), 0);
	rasn_batcher_free(bat);
}

static void test_drain_order(void **state)
{
	struct rasn_batcher *bat = new_bat(2, 0, 0);
	struct rasn_batch_key keys[8];
	struct w w[4];
	struct rec r = { 0 };

	memset(w, 0, sizeof(w));
	assert_int_equal(sub(bat, "q0", &w[0], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "q1", &w[1], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "q2", &w[2], T0), RASN_BATCHER_NEW);
	assert_int_equal(sub(bat, "q3", &w[3], T0), RASN_BATCHER_NEW);
	assert_int_equal(rasn_batcher_take(bat, keys, 8), 2); /* max_batch 2 */
	/* In flight (q0, q1) first, then queued oldest first (q2, q3). */
	assert_int_equal(rasn_batcher_drain(bat, on_done, &r), 4);
	assert_int_equal(w[0].order, 1);
	assert_int_equal(w[1].order, 2);
	assert_int_equal(w[2].order, 3);
	assert_int_equal(w[3].order, 4);
	rasn_batcher_free(bat);
}

/* ---- randomised run: every accepted waiter completed exactly once --------------------- */

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define NW 20000

static void test_random_exactly_once(void **state)
{
	struct rasn_batcher *bat = new_bat(7, 40, 300);
	struct rasn_batch_key keys[16];
	struct rasn_batcher_stats st;
	struct w *w = calloc(NW, sizeof(*w));
	char (*flying)[8] = calloc(64, 8);
	unsigned char *refused = calloc(NW, 1);
	int nfly = 0, nw = 0, accepted = 0, busy = 0, i;
	uint64_t s = 7, now = T0;
	struct rec r = { 0 };

	assert_non_null(w);
	assert_non_null(flying);
	assert_non_null(refused);
	while (nw < NW) {
		unsigned op = (unsigned)(rng(&s) % 10);

		now += rng(&s) % 20;
		if (op < 6) {
			char k[8];
			int ret;

			snprintf(k, sizeof(k), "%u", (unsigned)(rng(&s) % 60));
			ret = sub(bat, k, &w[nw], now);
			if (ret == RASN_EBUSY) {
				refused[nw] = 1; /* must never be called back */
				busy++;
			} else {
				assert_true(ret >= 0);
				accepted++;
			}
			nw++;
		} else if (op < 8) {
			size_t n, j;

			if (!rasn_batcher_due(bat, now, NULL) && op == 6)
				continue;
			n = rasn_batcher_take(bat, keys, 16);
			assert_true(n <= 7);
			for (j = 0; j < n; j++) {
				assert_true(nfly < 64);
				assert_true(keys[j].len < 8);
				memcpy(flying[nfly], keys[j].key, keys[j].len);
				flying[nfly][keys[j].len] = 0;
				nfly++;
			}
		} else if (nfly > 0) {
			int j = (int)(rng(&s) % (uint64_t)nfly);

			assert_true(comp(bat, flying[j], &r) >= 1);
			memcpy(flying[j], flying[nfly - 1], 8);
			nfly--;
		}
		rasn_batcher_stats(bat, &st);
		assert_true(st.queued + st.inflight <= 40);
		assert_true(st.waiters <= 300);
		assert_int_equal(st.inflight, nfly);
	}
	rasn_batcher_drain(bat, on_done, &r);
	for (i = 0; i < NW; i++) {
		assert_int_equal(w[i].done, refused[i] ? 0 : 1);
	}
	assert_int_equal(r.calls, accepted);
	rasn_batcher_stats(bat, &st);
	assert_int_equal(st.busy, busy);
	assert_int_equal(st.completed_waiters, accepted);
	assert_int_equal(st.submitted, accepted);
	assert_int_equal(st.new_keys + st.coalesced + st.joined_inflight, accepted);
	assert_true(busy > 0);          /* the bounds were exercised */
	assert_true(st.coalesced > 0);
	assert_true(st.joined_inflight > 0);
	free(refused);
	free(flying);
	free(w);
	rasn_batcher_free(bat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_cfg),
		cmocka_unit_test(test_flush_on_size),
		cmocka_unit_test(test_flush_on_deadline),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_bounds_busy),
		cmocka_unit_test(test_out_of_order_completion),
		cmocka_unit_test(test_resubmit_from_callback),
		cmocka_unit_test(test_drain_order),
		cmocka_unit_test(test_random_exactly_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
