/* Request batcher: a keyed, bounded queue with coalescing and a size-or-deadline flush policy.
 *
 * Each stored key is one entry, in the hash table (chained, fixed size, never rehashed) and in
 * exactly one of two doubly linked lists: the queue (oldest first) or the in-flight list. Its
 * waiters are a singly linked list with a tail pointer, so completion runs in submission
 * order. */
#include <stdlib.h>
#include <string.h>

#include "batcher.h"

struct waiter {
	struct waiter *next;
	void *ptr;
};

struct entry {
	struct entry *hnext;        /* hash chain */
	struct entry *prev, *next;  /* queue or in-flight list */
	struct waiter *whead, *wtail;
	uint64_t hash;
	uint64_t enq_ms;
	uint32_t nwait;
	uint8_t inflight;
	size_t len;
	unsigned char key[];
};

struct list {
	struct entry *head, *tail;
};

struct rasn_batcher {
	struct rasn_batcher_cfg cfg;
	struct entry **buckets;
	size_t mask;
	uint32_t nkeys;
	struct list queue, flying;
	struct rasn_batcher_stats st;
};

/* ---- SipHash-2-4 ------------------------------------------------------------------------ */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND() \
	do { \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
	} while (0)

static uint64_t siphash24(const uint64_t k[2], const unsigned char *m, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
	uint64_t b = (uint64_t)len << 56, mi;
	size_t i, end = len - len % 8;

	for (i = 0; i < end; i += 8) {
		mi = load64(m + i);
		v3 ^= mi;
		SIPROUND();
		SIPROUND();
		v0 ^= mi;
	}
	for (i = 0; i < len % 8; i++)
		b |= (uint64_t)m[end + i] << (8 * i);
	v3 ^= b;
	SIPROUND();
	SIPROUND();
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND();
	SIPROUND();
	SIPROUND();
	SIPROUND();
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- lists and table -------------------------------------------------------------------- */

static void list_push(struct list *l, struct entry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static void list_del(struct list *l, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static struct entry **find_slot(struct rasn_batcher *bat, const void *key, size_t len,
				uint64_t hash)
{
	struct entry **pe = &bat->buckets[hash & bat->mask];

	for (; *pe; pe = &(*pe)->hnext) {
		struct entry *e = *pe;

		if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
			break;
	}
	return pe;
}

/* Take e out of the table and its list; counters follow. The waiters stay with e. */
static void detach(struct rasn_batcher *bat, struct entry **slot, struct entry *e)
{
	*slot = e->hnext;
	e->hnext = NULL;
	if (e->inflight) {
		list_del(&bat->flying, e);
		bat->st.inflight--;
	} else {
		list_del(&bat->queue, e);
		bat->st.queued--;
	}
	bat->nkeys--;
	bat->st.waiters -= e->nwait;
}

/* Call done for each waiter of a detached entry, freeing as it goes, then the entry. */
static size_t finish(struct rasn_batcher *bat, struct entry *e, rasn_batcher_done_fn done,
		     void *ud)
{
	struct waiter *w = e->whead, *next;
	size_t n = 0;

	bat->st.completed_keys++;
	bat->st.completed_waiters += e->nwait;
	for (; w; w = next, n++) {
		next = w->next;
		if (done)
			done(ud, w->ptr, e->key, e->len);
		free(w);
	}
	free(e);
	return n;
}

static void free_entry(struct entry *e)
{
	struct waiter *w = e->whead, *next;

	for (; w; w = next) {
		next = w->next;
		free(w);
	}
	free(e);
}

/* ---- API -------------------------------------------------------------------------------- */

void rasn_batcher_cfg_default(struct rasn_batcher_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_batch = 50;
	cfg->max_delay_ms = 100;
	cfg->max_keys = 4096;
	cfg->max_waiters = 65536;
	cfg->key_max = 255;
}

int rasn_batcher_new(const struct rasn_batcher_cfg *cfg, struct rasn_batcher **out)
{
	struct rasn_batcher *bat = NULL;
	size_t nb = 16;
	int ret = 0;

	*out = NULL;
	if (cfg->max_batch == 0 || cfg->max_keys == 0 || cfg->max_waiters == 0 ||
	    cfg->key_max == 0 || cfg->key_max > RASN_BATCHER_KEY_MAX) {
		ret = -EINVAL;
		goto done;
	}
	while (nb < cfg->max_keys)
		nb *= 2;
	bat = calloc(1, sizeof(*bat));
	if (bat == NULL) {
		ret = -ENOMEM;
		goto done;
	}
	bat->buckets = calloc(nb, sizeof(*bat->buckets));
	if (bat->buckets == NULL) {
		ret = -ENOMEM;
		goto done;
	}
	bat->cfg = *cfg;
	bat->mask = nb - 1;
	*out = bat;
	bat = NULL;
done:
	rasn_batcher_free(bat);
	return ret;
}

void rasn_batcher_free(struct rasn_batcher *bat)
{
	struct entry *e, *next;

	if (bat == NULL)
		return;
	for (e = bat->queue.head; e; e = next) {
		next = e->next;
		free_entry(e);
	}
	for (e = bat->flying.head; e; e = next) {
		next = e->next;
		free_entry(e);
	}
	free(bat->buckets);
	free(bat);
}

int rasn_batcher_submit(struct rasn_batcher *bat, const void *key, size_t keylen, void *waiter,
			uint64_t now_ms)
{
	struct entry **slot, *e;
	struct waiter *w = NULL;
	uint64_t hash;
	int ret;

	if (key == NULL || keylen == 0) {
		ret = -EINVAL;
		goto done;
	}
	if (keylen > bat->cfg.key_max) {
		ret = RASN_ERANGE;
		goto done;
	}
	hash = siphash24(bat->cfg.seed, key, keylen);
	slot = find_slot(bat, key, keylen, hash);
	e = *slot;
	if (bat->st.waiters >= bat->cfg.max_waiters || (e == NULL && bat->nkeys >= bat->cfg.max_keys)) {
		bat->st.busy++;
		ret = RASN_EBUSY;
		goto done;
	}
	w = malloc(sizeof(*w));
	if (w == NULL) {
		ret = -ENOMEM;
		goto done;
	}
	w->next = NULL;
	w->ptr = waiter;
	if (e == NULL) {
		e = malloc(sizeof(*e) + keylen);
		if (e == NULL) {
			free(w);
			ret = -ENOMEM;
			goto done;
		}
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, keylen);
		e->len = keylen;
		e->hash = hash;
		e->enq_ms = now_ms;
		*slot = e; /* the chain's end: e->hnext is NULL */
		list_push(&bat->queue, e);
		bat->nkeys++;
		bat->st.queued++;
		bat->st.new_keys++;
		ret = RASN_BATCHER_NEW;
	} else if (e->inflight) {
		bat->st.joined_inflight++;
		ret = RASN_BATCHER_JOINED;
	} else {
		bat->st.coalesced++;
		ret = RASN_BATCHER_COALESCED;
	}
	if (e->wtail)
		e->wtail->next = w;
	else
		e->whead = w;
	e->wtail = w;
	e->nwait++;
	bat->st.waiters++;
	bat->st.submitted++;
done:
	return ret;
}

int rasn_batcher_due(const struct rasn_batcher *bat, uint64_t now_ms,
		     uint64_t *next_deadline_ms)
{
	const struct entry *oldest = bat->queue.head;
	uint64_t deadline = UINT64_MAX;
	int due = 0;

	if (oldest) {
		deadline = oldest->enq_ms > UINT64_MAX - bat->cfg.max_delay_ms
				   ? UINT64_MAX
				   : oldest->enq_ms + bat->cfg.max_delay_ms;
		due = bat->st.queued >= bat->cfg.max_batch || now_ms >= deadline;
	}
	if (next_deadline_ms)
		*next_deadline_ms = deadline;
	return due;
}

static unsigned hist_bucket(size_t n)
{
	unsigned b = 0;

	while (n > 1 && b < RASN_BATCHER_HIST - 1) {
		n >>= 1;
		b++;
	}
	return b;
}

size_t rasn_batcher_take(struct rasn_batcher *bat, struct rasn_batch_key *keys_out, size_t cap)
{
	size_t n = 0;

	if (cap > bat->cfg.max_batch)
		cap = bat->cfg.max_batch;
	while (n < cap && bat->queue.head) {
		struct entry *e = bat->queue.head;

		list_del(&bat->queue, e);
		list_push(&bat->flying, e);
		e->inflight = 1;
		bat->st.queued--;
		bat->st.inflight++;
		keys_out[n].key = e->key;
		keys_out[n].len = e->len;
		n++;
	}
	if (n > 0) {
		bat->st.batches++;
		bat->st.batched_keys += n;
		bat->st.hist[hist_bucket(n)]++;
	}
	return n;
}

int rasn_batcher_complete(struct rasn_batcher *bat, const void *key, size_t keylen,
			  rasn_batcher_done_fn done, void *ud)
{
	struct entry **slot, *e;
	int ret;

	if (key == NULL || keylen == 0 || keylen > bat->cfg.key_max) {
		ret = -ENOENT;
		goto done;
	}
	slot = find_slot(bat, key, keylen, siphash24(bat->cfg.seed, key, keylen));
	e = *slot;
	if (e == NULL) {
		ret = -ENOENT;
		goto done;
	}
	/* Detach first: callbacks may submit the same key again, and see consistent counts. */
	detach(bat, slot, e);
	ret = (int)finish(bat, e, done, ud);
done:
	return ret;
}

size_t rasn_batcher_drain(struct rasn_batcher *bat, rasn_batcher_done_fn done, void *ud)
{
	struct entry *todo = NULL, **tail = &todo, *e;
	size_t n = 0;

	/* Detach everything first, so keys that callbacks submit stay stored for later. */
	while ((e = bat->flying.head ? bat->flying.head : bat->queue.head) != NULL) {
		detach(bat, find_slot(bat, e->key, e->len, e->hash), e);
		*tail = e;
		tail = &e->hnext;
	}
	while ((e = todo) != NULL) {
		todo = e->hnext;
		n += finish(bat, e, done, ud);
	}
	return n;
}

void rasn_batcher_stats(const struct rasn_batcher *bat, struct rasn_batcher_stats *out)
{
	*out = bat->st;
}
