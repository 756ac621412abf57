/* What the answer cache keeps of an upstream's answer for an address (Cymru or RIPEstat: the
 * same bytes, so an answer from one serves the other). Our own bytes, still checked when read
 * back: a damaged or foreign entry is a miss. And the plumbing every upstream source shares:
 * that entry's codec against the cache, and the table-shaped match of an announced prefix. */
#ifndef RASND_UPCACHE_H
#define RASND_UPCACHE_H

#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "table.h"

struct rasnd;

#define RASND_UPCACHE_VERSION 1
#define RASND_UPCACHE_ORIGINS 8

/* In the flags of a negative entry (beside the cache's own): which upstreams said "not
 * announced". A positive answer serves either source; a negative one only those that gave it,
 * so that with both in [lookup] order the second is still asked what the first lacks. A
 * source that finds another's negative and gets the same answer adds its own bit. */
#define RASND_UPCACHE_NEG_CYMRU 0x10u
#define RASND_UPCACHE_NEG_RIPE 0x20u
#define RASND_UPCACHE_NEG_ALL (RASND_UPCACHE_NEG_CYMRU | RASND_UPCACHE_NEG_RIPE)

struct rasnd_upcache_ip {
	uint8_t version, n_asns, family, plen;
	uint32_t asns[RASND_UPCACHE_ORIGINS];
	rasn_u128 paddr;
	char cc[3], registry[16], allocated[11], name[256];
};

/* 1 when c is a well-formed entry whose prefix holds a. */
static inline int rasnd_upcache_ip_valid(const struct rasnd_upcache_ip *c, const struct rasn_addr *a)
{
	if (c->version != RASND_UPCACHE_VERSION || c->n_asns < 1 || c->n_asns > RASND_UPCACHE_ORIGINS ||
	    (c->family != RASN_AF4 && c->family != RASN_AF6) || c->plen > rasn_af_bits(c->family) ||
	    c->family != a->family || (c->paddr & rasn_hostmask(c->family, c->plen)) != 0 ||
	    ((a->v ^ c->paddr) & ~rasn_hostmask(c->family, c->plen)) != 0)
		return 0;
	return memchr(c->name, 0, sizeof(c->name)) && memchr(c->cc, 0, sizeof(c->cc)) &&
	       memchr(c->registry, 0, sizeof(c->registry)) && memchr(c->allocated, 0, sizeof(c->allocated));
}

/* Keep an upstream's answer for addr, [cache] ttl as it is now: c (its prefix holding addr),
 * stored prefix-aware (under the announced prefix, or the /24 or /48 holding addr when the
 * announcement is wider); or c NULL: a miss, for addr alone, negative_ttl, flagged with the
 * source's neg_bit (RASND_UPCACHE_NEG_*) and the other sources' misses found (neg_also). */
void rasnd_upcache_put(struct rasnd *d, const struct rasn_addr *addr, const struct rasnd_upcache_ip *c,
		       unsigned neg_bit, unsigned neg_also);
/* A cached answer for addr: 1 (c filled and checked), 0 a miss this source (neg_bit) gave,
 * -1 nothing usable; *neg_also gets another source's miss for addr. Hits are counted. */
int rasnd_upcache_get(struct rasnd *d, const struct rasn_addr *addr, unsigned neg_bit,
		      struct rasnd_upcache_ip *c, unsigned *neg_also);
/* An upstream's answer as a table match (the range is the announced prefix p) for lib/reply:
 * the name's JSON text goes into nb (initialised here; free it after the reply). */
void rasnd_upcache_match(struct rasn_buf *nb, const struct rasn_prefix *p, const uint32_t *asns, unsigned n,
			 const char *name, const char *cc, struct rasn_match *m);

#endif
