/* The plumbing the upstream sources share (daemon/upcache.h): the cache entry for an address
 * answer, written and read back, and the table-shaped match of an announced prefix. */
#include <string.h>

#include "cache.h"
#include "rasnd.h"
#include "upcache.h"
#include "clock.h"

void rasnd_upcache_put(struct rasnd *d, const struct rasn_addr *addr, const struct rasnd_upcache_ip *c,
		       unsigned neg_bit, unsigned neg_also)
{
	if (!d->cache)
		return;
	struct rasnd_upcache_ip miss;
	struct rasn_prefix where;
	if (!c) {
		memset(&miss, 0, sizeof(miss));
		miss.version = RASND_UPCACHE_VERSION;
		where = (struct rasn_prefix){ addr->family, addr->v, rasn_af_bits(addr->family) };
	} else {
		struct rasn_prefix announced = { c->family, c->paddr, c->plen };
		where = rasn_cache_store_prefix(&announced, addr);
	}
	unsigned neg = RASN_CACHE_NEGATIVE | neg_bit | (neg_also & RASND_UPCACHE_NEG_ALL);
	struct rasn_cache_val v = { c ? (const void *)c : &miss, sizeof(miss), (c ? 0 : neg) | RASN_CACHE_TTL_EXACT };
	rasn_cache_put_prefix(d->cache, &where, &v, rasn_clock_wall_ms(),
			      c ? d->cfg.cache_ttl_s * 1000 : d->cfg.cache_negative_ttl_s * 1000);
	if (c && neg_also) {
		/* over another source's miss for addr itself, which would hide the wider entry */
		where = (struct rasn_prefix){ addr->family, addr->v, rasn_af_bits(addr->family) };
		rasn_cache_put_prefix(d->cache, &where, &v, rasn_clock_wall_ms(), d->cfg.cache_ttl_s * 1000);
	}
}

int rasnd_upcache_get(struct rasnd *d, const struct rasn_addr *addr, unsigned neg_bit,
		      struct rasnd_upcache_ip *c, unsigned *neg_also)
{
	struct rasn_cache_hit h;
	if (!d->cache || rasn_cache_get_addr(d->cache, addr, rasn_clock_wall_ms(), &h) < 0)
		return -1;
	if (h.val.flags & RASN_CACHE_NEGATIVE) {
		if (!(h.val.flags & neg_bit)) {
			*neg_also = h.val.flags & RASND_UPCACHE_NEG_ALL; /* another source's miss, not ours */
			return -1;
		}
		d->stats.cache_hits++;
		return 0;
	}
	if (h.val.len != sizeof(*c))
		return -1;
	memcpy(c, h.val.data, sizeof(*c));
	if (!rasnd_upcache_ip_valid(c, addr))
		return -1; /* not ours, or damaged: ask again */
	d->stats.cache_hits++;
	return 1;
}

void rasnd_upcache_match(struct rasn_buf *nb, const struct rasn_prefix *p, const uint32_t *asns, unsigned n,
			 const char *name, const char *cc, struct rasn_match *m)
{
	rasn_buf_init(nb);
	memset(m, 0, sizeof(*m));
	rasn_buf_json_esc(nb, name, strlen(name));
	m->family = p->family;
	m->first = p->addr;
	m->last = p->addr | rasn_hostmask(p->family, p->len);
	m->asn = asns[0];
	m->origins = asns;
	m->n_origins = n;
	m->name = name;
	m->name_json = nb->oom || !nb->data ? "" : nb->data;
	m->name_json_len = nb->oom ? 0 : nb->len;
	m->cc = cc;
}
