/* The table as a source: what the loaded dataset says, at once. Through the runner it answers
 * addresses and AS numbers, with an enricher's fields (Cymru's cc, registry, allocated) when
 * the runner asked one first; the dispatcher (daemon/query.c) answers the common cases in line
 * without the runner (batched address lookups, prefixes, org). */
#include <stdlib.h>

#include "reply.h"
#include "source.h"
#include "srctable.h"

static const char *const source_table = "table";

int rasnd_table_lookup(struct rasnd *d, const struct rasn_addr *a, struct rasn_match *m)
{
	int found = rasn_table_lookup(d->table, a, m);
	if (found)
		d->stats.table_hits++;
	else
		d->stats.table_misses++;
	return found;
}

void rasnd_table_ip_reply(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a)
{
	struct rasn_match m;
	int found = rasnd_table_lookup(d, a, &m);
	rasn_reply_ip(&slot->reply, slot->query, slot->qlen, a, found ? &m : NULL, source_table);
}

static void count_families(const struct rasn_prefix *p, long n, size_t *v4, size_t *v6)
{
	*v4 = *v6 = 0;
	for (long i = 0; i < n; i++)
		(p[i].family == RASN_AF4 ? (*v4)++ : (*v6)++);
}

static void as_reply(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, const struct rasn_as_info *info,
		     const struct rasn_reply_extra *x)
{
	struct rasn_prefix *p = NULL;
	long n = info ? rasn_table_as_prefixes(d->table, asn, &p) : 0;
	size_t v4, v6;
	count_families(p, n, &v4, &v6);
	free(p);
	rasn_reply_as_ex(&slot->reply, slot->query, slot->qlen, asn, info, v4, v6, x, source_table);
}

void rasnd_table_as_reply(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, const struct rasn_as_info *info)
{
	as_reply(d, slot, asn, info, NULL);
}

/* Looked up when asked, in the table being served then: with an enricher asked first, that is
 * after the enricher's answer came (a reload may have come between). */
static void table_ip(struct rasnd_lookup *lk)
{
	struct rasnd_slot *slot = lk->slot;
	struct rasn_match m;
	int found = rasnd_table_lookup(lk->d, &lk->addr, &m);
	if (found && lk->has_extra) {
		/* the table's own country wins; the registry and date only the enricher knows */
		struct rasn_reply_extra x = { m.cc[0] || !lk->cc[0] ? NULL : lk->cc, lk->registry, lk->allocated };
		rasn_reply_ip_ex(&slot->reply, slot->query, slot->qlen, &lk->addr, &m, &x, source_table);
	} else {
		rasn_reply_ip(&slot->reply, slot->query, slot->qlen, &lk->addr, found ? &m : NULL, source_table);
	}
	rasnd_lookup_done(lk, found ? RASND_FOUND : RASND_NONE);
}

static void table_as(struct rasnd_lookup *lk)
{
	struct rasn_as_info info;
	int found = rasn_table_as(lk->d->table, lk->asn, &info);
	if (found)
		lk->d->stats.table_hits++;
	else
		lk->d->stats.table_misses++;
	struct rasn_reply_extra x = { lk->cc, lk->registry, lk->allocated };
	as_reply(lk->d, lk->slot, lk->asn, found ? &info : NULL, found && lk->has_extra ? &x : NULL);
	rasnd_lookup_done(lk, found ? RASND_FOUND : RASND_NONE);
}

const struct rasnd_source rasnd_source_table = {
	.name = "table",
	.order = RASND_ANS_IP | RASND_ANS_AS,
	.asked = RASND_ANS_IP | RASND_ANS_AS | RASND_ANS_PREFIXES | RASND_ANS_ORG | RASND_ANS_DOMAIN,
	.ip = table_ip,
	.as = table_as,
};
