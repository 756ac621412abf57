/* Fuzz target for lib/batcher.c: the input is a script of submit / take / complete / advance
 * operations on a small batcher; after it, a drain. Invariants, checked with abort():
 * every accepted waiter is completed exactly once, a refused one never; a waiter is completed
 * with its own key; counters and gauges agree with a model; the bounds hold at every step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXW 4096
#define NKEYS 24

struct model {
	uint8_t key[MAXW];      /* each waiter's key number */
	uint8_t state[MAXW];    /* 0 unused, 1 waiting, 2 completed, 3 refused */
	size_t nw;
	uint64_t calls;
};

static void check(int ok)
{
	if (!ok)
		abort();
}

static void on_done(void *ud, void *waiter, const void *key, size_t keylen)
{
	struct model *m = ud;
	size_t i = (size_t)((uint8_t *)waiter - m->state);

	check(i < m->nw);
	check(m->state[i] == 1);
	check(keylen == 2 && ((const uint8_t *)key)[0] == 'k' &&
	      ((const uint8_t *)key)[1] == m->key[i]);
	m->state[i] = 2;
	m->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rasn_batcher_cfg cfg;
	struct rasn_batcher *bat = NULL;
	struct rasn_batch_key keys[16];
	struct rasn_batcher_stats st;
	struct model *m = calloc(1, sizeof(*m));
	uint64_t now = 1000, accepted = 0, refused = 0;
	size_t i;

	if (m == NULL)
		return 0;
	rasn_batcher_cfg_default(&cfg);
	cfg.max_batch = 5;
	cfg.max_keys = 10;
	cfg.max_waiters = 40;
	cfg.max_delay_ms = 100;
	cfg.seed[0] = 1;
	cfg.seed[1] = 2;
	check(rasn_batcher_new(&cfg, &bat) == 0);
	for (i = 0; i < size; i++) {
		uint8_t op = data[i] >> 6, arg = data[i] & 63;

		if (op == 0 && m->nw < MAXW) {
			uint8_t k[2] = { 'k', (uint8_t)('a' + arg % NKEYS) };
			size_t w = m->nw++;
			int ret;

			m->key[w] = k[1];
			ret = rasn_batcher_submit(bat, k, 2, &m->state[w], now);
			if (ret == RASN_EBUSY) {
				m->state[w] = 3;
				refused++;
			} else {
				check(ret >= 0 && ret <= RASN_BATCHER_JOINED);
				m->state[w] = 1;
				accepted++;
			}
		} else if (op == 1) {
			size_t n = rasn_batcher_take(bat, keys, arg % 17);

			check(n <= 5 && n <= (size_t)(arg % 17));
		} else if (op == 2) {
			uint8_t k[2] = { 'k', (uint8_t)('a' + arg % NKEYS) };
			int ret = rasn_batcher_complete(bat, k, 2, on_done, m);

			check(ret == -ENOENT || ret >= 1);
		} else {
			uint64_t dl;
			int due;

			now += arg * 3u;
			due = rasn_batcher_due(bat, now, &dl);
			rasn_batcher_stats(bat, &st);
			if (st.queued == 0)
				check(!due && dl == UINT64_MAX);
			else
				check(due == (st.queued >= 5 || now >= dl));
		}
		rasn_batcher_stats(bat, &st);
		check(st.queued + st.inflight <= 10);
		check(st.waiters <= 40);
		check(st.waiters == accepted - st.completed_waiters);
		check(st.busy == refused);
	}
	rasn_batcher_drain(bat, on_done, m);
	rasn_batcher_stats(bat, &st);
	check(st.queued == 0 && st.inflight == 0 && st.waiters == 0);
	check(m->calls == accepted && st.completed_waiters == accepted);
	check(st.new_keys + st.coalesced + st.joined_inflight == accepted);
	for (i = 0; i < m->nw; i++)
		check(m->state[i] == 2 || m->state[i] == 3);
	rasn_batcher_free(bat);
	free(m);
	return 0;
}
