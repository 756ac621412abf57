/* What the answer cache keeps of an upstream's answer for an address (Cymru or RIPEstat: the
 * same bytes, so an answer from one serves the other). Our own bytes, still checked when read
 * back: a damaged or foreign entry is a miss. */
#ifndef RASND_UPCACHE_H
#define RASND_UPCACHE_H

#include <stdint.h>
#include <string.h>

#include "addr.h"

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

#endif
