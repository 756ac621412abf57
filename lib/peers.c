/* Per-address connection counts and token buckets in a chained hash table. Entries that are
 * idle (no connection, bucket full again) are dropped as their chain is walked, so the table
 * holds the addresses that matter and stays within max_entries. */
#include <stdint.h>
#include <stdlib.h>

#include "peers.h"

#define BUCKETS 1024

struct entry {
	struct entry *next;
	struct rasn_addr a;
	size_t conns;
	double tokens, burst, rate;  /* bucket state, as of `at` */
	double at;
};

struct rasn_peers {
	struct entry *b[BUCKETS];
	size_t n, max;
};

struct rasn_peers *rasn_peers_new(size_t max_entries)
{
	struct rasn_peers *t = calloc(1, sizeof(*t));
	if (t)
		t->max = max_entries ? max_entries : 1;
	return t;
}

void rasn_peers_free(struct rasn_peers *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry *e = t->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t);
}

static size_t hash(const struct rasn_addr *a)
{
	uint64_t x = (uint64_t)a->v ^ (uint64_t)(a->v >> 64) ^ (uint64_t)a->family;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)(x % BUCKETS);
}

static void refill(struct entry *e, double now)
{
	if (now > e->at && e->rate > 0) {
		e->tokens += (now - e->at) * e->rate;
		if (e->tokens > e->burst)
			e->tokens = e->burst;
	}
	if (now > e->at)
		e->at = now;
}

static int idle(struct entry *e, double now)
{
	refill(e, now);
	return e->conns == 0 && (e->rate <= 0 || e->tokens >= e->burst);
}

/* Drop every idle entry (only when the table is full: a walk of all of it). */
static void sweep(struct rasn_peers *t, double now)
{
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry **pp = &t->b[i], *e;
		while ((e = *pp)) {
			if (idle(e, now)) {
				*pp = e->next;
				free(e);
				t->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* The entry for a, created when create is set. Idle entries met on the way are dropped. */
static struct entry *find(struct rasn_peers *t, const struct rasn_addr *a, double now, int create, int *err)
{
	struct entry **pp = &t->b[hash(a)], *e;
	*err = 0;
	while ((e = *pp)) {
		if (e->a.family == a->family && e->a.v == a->v)
			return e;
		if (idle(e, now)) {
			*pp = e->next;
			free(e);
			t->n--;
			continue;
		}
		pp = &e->next;
	}
	if (!create)
		return NULL;
	if (t->n >= t->max)
		sweep(t, now);
	if (t->n >= t->max) {
		*err = -ENOSPC;
		return NULL;
	}
	if (!(e = calloc(1, sizeof(*e)))) {
		*err = -ENOMEM;
		return NULL;
	}
	e->a = *a;
	e->at = now;
	e->tokens = -1; /* filled on the first take, when the bucket's size is known */
	*pp = e;
	t->n++;
	return e;
}

int rasn_peers_open(struct rasn_peers *t, const struct rasn_addr *a, size_t max_conns, double now)
{
	int err;
	struct entry *e = find(t, a, now, 1, &err);
	if (!e)
		return err;
	if (max_conns && e->conns >= max_conns)
		return -EMFILE;
	e->conns++;
	return 0;
}

void rasn_peers_close(struct rasn_peers *t, const struct rasn_addr *a, double now)
{
	int err;
	struct entry *e = find(t, a, now, 0, &err);
	if (e && e->conns)
		e->conns--;
}

int rasn_peers_take(struct rasn_peers *t, const struct rasn_addr *a, double rate, double burst, double now)
{
	int err;
	if (rate <= 0)
		return 0;
	struct entry *e = find(t, a, now, 1, &err);
	if (!e)
		return err;
	if (burst < 1)
		burst = 1;
	if (e->tokens < 0 || e->rate != rate || e->burst != burst) {
		/* new, or the limits changed (SIGHUP): start from a full bucket of the new size */
		e->rate = rate;
		e->burst = burst;
		e->tokens = burst;
		e->at = now;
	}
	refill(e, now);
	if (e->tokens < 1)
		return -EAGAIN;
	e->tokens -= 1;
	return 0;
}

size_t rasn_peers_conns(const struct rasn_peers *t, const struct rasn_addr *a)
{
	for (const struct entry *e = t->b[hash(a)]; e; e = e->next)
		if (e->a.family == a->family && e->a.v == a->v)
			return e->conns;
	return 0;
}

size_t rasn_peers_count(const struct rasn_peers *t)
{
	return t->n;
}

int rasn_peers_allowed(const struct rasn_prefix *allow, size_t n, const struct rasn_addr *a)
{
	for (size_t i = 0; i < n; i++) {
		const struct rasn_prefix *p = &allow[i];
		if (p->family == a->family && p->len <= rasn_af_bits(p->family) &&
		    (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr)
			return 1;
	}
	return 0;
}
