/* The Team Cymru source: an address is answered from its DNS interface, an origin TXT query
 * (reversed octets or nibbles under the origin zones) and then an AS TXT query for the name.
 * Every answer goes through lib/cymru's bounded parsers; a malformed record is an error,
 * never trusted.
 *
 * Every query goes through the "cymru" upstream (daemon/upstream.h: batching, coalescing,
 * retries, one circuit breaker per resolver). Its keys:
 *   'o' family net   the origin of a /24 (IPv4) or /48 (IPv6): asks for its first address
 *                    (x.y.z.0), whose records serve every address of the block they cover;
 *   'O' family addr  the origin of one address: for the addresses the block's answer does not
 *                    cover (a more specific announcement elsewhere in the block, or nothing
 *                    announced at its first address);
 *   'n' asn          an AS name, when an address's origin differs from its block's;
 *   'a' asn          an AS lookup (name, country, registry, date).
 * An origin call ('o', 'O') also gets the name of the origin it found (from the cache, else
 * through an 'n' key), so its answer is complete when its key leaves the batcher: lookups of
 * the same block that come meanwhile join it instead of asking again. The answer handed to
 * waiters is the origin message as received and the AS record (struct packed); each waiter
 * parses the message for its own address. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "cache.h"
#include "clock.h"
#include "cymru.h"
#include "dns.h"
#include "log.h"
#include "rasnd.h"
#include "rediscache.h"
#include "reply.h"
#include "source.h"
#include "srccymru.h"
#include "upcache.h"
#include "upstream.h"
#include "clock.h"

/* What the cache keeps of an answer: daemon/upcache.h, the same bytes as RIPEstat's. */
_Static_assert(RASN_CYMRU_MAX_ORIGINS == RASND_UPCACHE_ORIGINS, "cache entry and Cymru origins differ");

/* ---- the upstream side: keys, queries, outcomes ---- */

#define KEY_MAX 18

/* An origin call's answer: the origin message, then a struct rasn_cymru_as (alen 0: none). */
struct packed {
	uint32_t olen, alen;
	/* olen bytes, then alen bytes */
};

struct fetch {
	struct rasnd *d;
	struct rasnd_up_call *call;
	unsigned ep;
	char kind;
	struct rasn_addr first;       /* origin calls: the address asked about */
	uint32_t asn;                 /* 'n', 'a' */
	unsigned char *obuf;          /* origin calls: the origin answer, while the name is asked */
	int olen;
	char qname[RASN_CYMRU_QNAME_MAX];
};

static int key_origin(char kind, const struct rasn_addr *a, unsigned char *key)
{
	unsigned bytes = a->family == RASN_AF4 ? 4 : 16;
	rasn_u128 v = a->v;
	if (kind == 'o')
		v &= ~rasn_hostmask(a->family, a->family == RASN_AF4 ? 24 : 48);
	key[0] = (unsigned char)kind;
	key[1] = (unsigned char)a->family;
	for (unsigned i = 0; i < bytes; i++)
		key[2 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return (int)(2 + bytes);
}

static int key_asn(char kind, uint32_t asn, unsigned char *key)
{
	key[0] = (unsigned char)kind;
	for (int i = 0; i < 4; i++)
		key[1 + i] = (unsigned char)(asn >> (8 * (3 - i)));
	return 5;
}

static int key_decode(const unsigned char *key, size_t len, struct fetch *f)
{
	f->kind = (char)key[0];
	if ((f->kind == 'o' || f->kind == 'O') && len >= 2) {
		unsigned bytes = key[1] == RASN_AF4 ? 4 : key[1] == RASN_AF6 ? 16 : 0;
		if (!bytes || len != 2 + bytes)
			return -1;
		f->first.family = key[1];
		f->first.v = 0;
		for (unsigned i = 0; i < bytes; i++)
			f->first.v = (f->first.v << 8) | key[2 + i];
		return 0;
	}
	if ((f->kind == 'n' || f->kind == 'a') && len == 5) {
		f->asn = (uint32_t)key[1] << 24 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 8 | key[4];
		return 0;
	}
	return -1;
}

static const char *dns_failure(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return "cymru: timeout";
	case ARES_ESERVFAIL:
		return "cymru: server failure (SERVFAIL)";
	case ARES_EREFUSED:
		return "cymru: refused";
	case ARES_ECONNREFUSED:
		return "cymru: connection refused by the resolver";
	case ARES_EDESTRUCTION:
		return "cymru: shutting down";
	default:
		return "cymru: unusable answer";
	}
}

/* Every TXT record of the answer, character-strings of one record joined, to fn; stops at
 * the first record fn accepts (returns 0). Returns 0 if one was accepted, else the last
 * parse error or RASN_EEMPTY. */
static int each_txt(const unsigned char *abuf, int alen, int (*fn)(void *, const char *, size_t), void *ud)
{
	struct ares_txt_ext *txt = NULL;
	if (alen <= 0 || ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
		return RASN_ESYNTAX;
	char rec[1024];
	size_t n = 0;
	int rc = RASN_EEMPTY, done = 0;
	for (struct ares_txt_ext *t = txt; t && !done; t = t->next) {
		if (t->record_start)
			n = 0;
		size_t l = t->length < sizeof(rec) - n ? t->length : sizeof(rec) - n;
		memcpy(rec + n, t->txt, l);
		n += l;
		/* the record is complete when the next part starts a new one */
		if (!t->next || t->next->record_start) {
			rc = fn(ud, rec, n);
			done = rc == 0;
		}
	}
	ares_free_data(txt);
	return rc;
}

/* Picks the most specific origin record holding addr (any address when addr is NULL). */
struct pick {
	const struct rasn_addr *addr;
	struct rasn_cymru_origin best;
	unsigned parsed;
};

static int take_origin(void *ud, const char *s, size_t n)
{
	struct pick *p = ud;
	struct rasn_cymru_origin o;
	if (rasn_cymru_parse_origin(s, n, NULL, &o) < 0)
		return RASN_ESYNTAX;
	p->parsed++;
	if (p->addr && !rasn_cymru_prefix_covers(&o.prefix, p->addr))
		return 1;
	/* several records (several announcements): keep the most specific prefix */
	if (!p->best.n_asns || o.prefix.len > p->best.prefix.len)
		p->best = o;
	return 1; /* look at all of them */
}

struct as_pick {
	uint32_t asn;
	struct rasn_cymru_as as;
};

static int take_as(void *ud, const char *s, size_t n)
{
	struct as_pick *p = ud;
	struct rasn_cymru_as a;
	int rc = rasn_cymru_parse_as(s, n, &a);
	if (rc < 0)
		return rc;
	if (a.asn != p->asn)
		return RASN_ESYNTAX; /* an answer about another AS is not an answer */
	p->as = a;
	return 0;
}

/* The AS record cache, under the AS query name: shared by AS lookups and origin names. */
static void as_qname(struct rasnd *d, uint32_t asn, char *qn)
{
	if (rasn_cymru_as_qname(asn, d->cfg.cymru_as_zone, qn, RASN_CYMRU_QNAME_MAX) < 0)
		qn[0] = 0;
}

static void as_cache_put(struct rasnd *d, const char *qname, const struct rasn_cymru_as *as, int found)
{
	if (!d->cache || !qname[0])
		return;
	/* [cache] ttl / negative_ttl as they are now (a SIGHUP applies at once), not the DNS TTL
	 * bounds of domain answers */
	struct rasn_cache_val v = { as, sizeof(*as), (found ? 0 : RASN_CACHE_NEGATIVE) | RASN_CACHE_TTL_EXACT };
	rasn_cache_put_name(d->cache, qname, strlen(qname), &v, rasn_clock_wall_ms(),
			    (found ? d->cfg.cache_ttl_s : d->cfg.cache_negative_ttl_s) * 1000);
}

/* 1 with *as filled (0 negative), -1 nothing usable. */
static int as_cache_get(struct rasnd *d, const char *qname, uint32_t asn, struct rasn_cymru_as *as)
{
	struct rasn_cache_hit h;
	if (!d->cache || !qname[0] || rasn_cache_get_name(d->cache, qname, strlen(qname), rasn_clock_wall_ms(), &h) < 0 ||
	    h.val.len != sizeof(*as))
		return -1;
	memcpy(as, h.val.data, sizeof(*as));
	/* our own bytes, still checked: NUL-terminated fields, the same AS */
	if (as->asn != asn || !memchr(as->name, 0, sizeof(as->name)) || !memchr(as->cc, 0, sizeof(as->cc)) ||
	    !memchr(as->registry, 0, sizeof(as->registry)) || !memchr(as->allocated, 0, sizeof(as->allocated))) {
		memset(as, 0, sizeof(*as));
		return -1;
	}
	return (h.val.flags & RASN_CACHE_NEGATIVE) ? 0 : 1;
}

/* Keep an origin answer for addr (daemon/upcache.h), or a miss (o NULL: not announced).
 * name: the origin's AS name ("" or NULL: none). */
static void remember(struct rasnd *d, const struct rasn_addr *addr, const struct rasn_cymru_origin *o,
		     const char *name, unsigned neg_also)
{
	struct rasnd_upcache_ip c;
	if (o) {
		memset(&c, 0, sizeof(c));
		c.version = RASND_UPCACHE_VERSION;
		c.n_asns = (uint8_t)o->n_asns;
		memcpy(c.asns, o->asns, sizeof(c.asns));
		c.family = (uint8_t)o->prefix.family;
		c.plen = (uint8_t)o->prefix.len;
		c.paddr = o->prefix.addr;
		memcpy(c.cc, o->cc, sizeof(c.cc));
		memcpy(c.registry, o->registry, sizeof(c.registry));
		memcpy(c.allocated, o->allocated, sizeof(c.allocated));
		if (name)
			snprintf(c.name, sizeof(c.name), "%s", name);
	}
	rasnd_upcache_put(d, addr, o ? &c : NULL, RASND_UPCACHE_NEG_CYMRU, neg_also);
}

static void fetch_done(struct fetch *f, enum rasn_outcome o, const void *data, size_t len, const char *error)
{
	rasnd_upstream_done(f->call, o, 0, data, len, error);
	free(f->obuf);
	free(f);
}

/* An origin call ends: the origin message and the name (as) to the waiters, and the answer
 * for the asked address into the cache (once here, not once per waiter). */
static void origin_complete(struct fetch *f, const struct rasn_cymru_as *as)
{
	size_t olen = (size_t)f->olen, al = as ? sizeof(*as) : 0;
	struct packed *p = malloc(sizeof(*p) + olen + al);
	if (!p) {
		fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: out of memory");
		return;
	}
	p->olen = (uint32_t)olen;
	p->alen = (uint32_t)al;
	memcpy(p + 1, f->obuf, olen);
	if (al)
		memcpy((unsigned char *)(p + 1) + olen, as, al);
	struct pick pk = { &f->first, { { 0 } }, 0 };
	each_txt(f->obuf, f->olen, take_origin, &pk);
	if (pk.best.n_asns)
		remember(f->d, &f->first, &pk.best, as && as->asn == pk.best.asns[0] ? as->name : NULL, 0);
	fetch_done(f, RASN_OK, p, sizeof(*p) + olen + al, NULL);
	free(p);
}

static void on_origin_name(void *wud, const struct rasnd_up_result *r)
{
	struct fetch *f = wud;
	struct rasn_cymru_as as;
	/* the name is a nicety: a lookup that fails still leaves a good origin answer */
	if (r->status == RASND_UP_ANSWER && r->outcome == RASN_OK && r->len == sizeof(as)) {
		memcpy(&as, r->data, sizeof(as));
		origin_complete(f, &as);
	} else {
		origin_complete(f, NULL);
	}
}

static void on_origin_dns(void *ud, int status, const unsigned char *abuf, int alen)
{
	struct fetch *f = ud;
	enum rasn_outcome o = rasnd_dns_outcome(status);
	if (o != RASN_OK) {
		fetch_done(f, o, NULL, 0, o == RASN_FINAL_NXDOMAIN ? NULL : dns_failure(status));
		return;
	}
	struct pick any = { NULL, { { 0 } }, 0 }, mine = { &f->first, { { 0 } }, 0 };
	each_txt(abuf, alen, take_origin, &any);
	if (!any.parsed) {
		fetch_done(f, RASN_FINAL_MALFORMED, NULL, 0, "cymru: malformed origin record");
		return;
	}
	if (!(f->obuf = malloc((size_t)alen))) {
		fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: out of memory");
		return;
	}
	memcpy(f->obuf, abuf, (size_t)alen);
	f->olen = alen;
	each_txt(abuf, alen, take_origin, &mine);
	if (!mine.best.n_asns) {
		origin_complete(f, NULL); /* nothing here holds the asked address: no name to ask */
		return;
	}
	/* the name, from the cache or through the upstream (an 'n' key: the calls of a burst that
	 * share an origin AS share one name query); this call ends when it is known */
	struct rasn_cymru_as as;
	uint32_t asn = mine.best.asns[0];
	as_qname(f->d, asn, f->qname);
	int known = as_cache_get(f->d, f->qname, asn, &as);
	if (known >= 0 || !f->qname[0] || !f->d->up_cymru) {
		origin_complete(f, known == 1 ? &as : NULL);
		return;
	}
	unsigned char key[KEY_MAX];
	int kl = key_asn('n', asn, key);
	rasnd_upstream_submit_now(f->d->up_cymru, key, (size_t)kl, on_origin_name, f);
}

static void on_as_dns(void *ud, int status, const unsigned char *abuf, int alen)
{
	struct fetch *f = ud;
	enum rasn_outcome o = rasnd_dns_outcome(status);
	struct as_pick ap = { f->asn, { 0 } };
	if (o == RASN_OK && each_txt(abuf, alen, take_as, &ap) != 0) {
		fetch_done(f, RASN_FINAL_MALFORMED, NULL, 0, "cymru: malformed AS record");
		return;
	}
	if (o == RASN_OK || o == RASN_FINAL_NXDOMAIN)
		as_cache_put(f->d, f->qname, &ap.as, o == RASN_OK);
	fetch_done(f, o, o == RASN_OK ? &ap.as : NULL, o == RASN_OK ? sizeof(ap.as) : 0,
		   o == RASN_OK || o == RASN_FINAL_NXDOMAIN ? NULL : dns_failure(status));
}

/* The upstream's issue callback: one try of one key on resolver ep. */
static void issue(void *ud, struct rasnd_up_call *call, const void *key, size_t keylen, unsigned ep)
{
	struct rasnd *d = ud;
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f) {
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "cymru: out of memory");
		return;
	}
	f->d = d;
	f->call = call;
	f->ep = ep;
	if (key_decode(key, keylen, f) < 0) {
		fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: bad key");
		return;
	}
	char qn[RASN_CYMRU_QNAME_MAX];
	rasnd_dns_cb cb;
	if (f->kind == 'o' || f->kind == 'O') {
		const char *zone = f->first.family == RASN_AF4 ? d->cfg.cymru_origin_zone : d->cfg.cymru_origin6_zone;
		if (rasn_cymru_origin_qname(&f->first, zone, qn, sizeof(qn)) < 0) {
			fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: cannot build the query");
			return;
		}
		cb = on_origin_dns;
	} else {
		as_qname(d, f->asn, f->qname);
		if (!f->qname[0]) {
			fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: cannot build the query");
			return;
		}
		memcpy(qn, f->qname, sizeof(qn));
		cb = on_as_dns;
	}
	d->stats.upstream_cymru++; /* every query sent, the AS names of origins included */
	if (!d->dns || rasnd_dns_query_server(d->dns, ep, qn, ns_t_txt, cb, f) < 0)
		fetch_done(f, RASN_FINAL_OTHER, NULL, 0, "cymru: cannot send the query");
}

void rasnd_resolver_upstream_cfg(struct rasnd *d, const char *name, const char **names,
				 struct rasnd_upstream_cfg *uc)
{
	size_t n = rasnd_dns_n_servers(d->dns);
	if (n > RASND_RESOLVER_MAX)
		n = RASND_RESOLVER_MAX;
	for (size_t i = 0; i < n; i++)
		names[i] = rasnd_dns_server_name(d->dns, i);
	memset(uc, 0, sizeof(*uc));
	uc->name = name;
	uc->n_endpoints = (unsigned)n;
	uc->endpoint_names = names;
	rasnd_upstream_cfg_from_config(&d->cfg, uc);
}

int rasnd_cymru_init(struct rasnd *d, char *err, size_t errlen)
{
	d->up_cymru = NULL;
	if (!d->dns)
		return 0;
	const char *names[RASND_RESOLVER_MAX];
	struct rasnd_upstream_cfg uc;
	rasnd_resolver_upstream_cfg(d, "cymru", names, &uc);
	uc.batch.key_max = KEY_MAX;
	static const struct rasnd_up_ops ops = { issue };
	return rasnd_upstream_new(d->base, &uc, &ops, d, &d->up_cymru, err, errlen);
}

void rasnd_cymru_free(struct rasnd *d)
{
	rasnd_upstream_free(d->up_cymru);
	d->up_cymru = NULL;
}

/* ---- the waiting side: addresses ---- */

struct job {
	struct rasnd *d;
	struct rasnd_lookup *lk;
	struct rasn_addr addr;
	int exact;         /* asked with an 'O' key */
	unsigned neg_also; /* RASND_UPCACHE_NEG_* of another source's cached miss for the address */
	struct rasn_cymru_origin origin;
	struct rasn_cymru_as as;
	int have_as;
	int from_cache;
};

/* A cached answer for the address: 1 found (j filled), 0 cached miss, -1 nothing usable. */
static int recall(struct job *j)
{
	struct rasnd_upcache_ip c;
	int known = rasnd_upcache_get(j->d, &j->addr, RASND_UPCACHE_NEG_CYMRU, &c, &j->neg_also);
	if (known <= 0)
		return known;
	j->origin.n_asns = c.n_asns;
	memcpy(j->origin.asns, c.asns, sizeof(c.asns));
	j->origin.prefix = (struct rasn_prefix){ c.family, c.paddr, c.plen };
	memcpy(j->origin.cc, c.cc, sizeof(c.cc));
	memcpy(j->origin.registry, c.registry, sizeof(c.registry));
	memcpy(j->origin.allocated, c.allocated, sizeof(c.allocated));
	memcpy(j->as.name, c.name, sizeof(c.name));
	j->have_as = c.name[0] != 0;
	return 1;
}

/* The reply into the lookup's slot, Cymru's fields for an enricher, and the continuation. */
static void finish(struct job *j, const char *error)
{
	struct rasnd_lookup *lk = j->lk;
	struct rasnd_slot *slot = lk->slot;
	struct rasn_buf *b = &slot->reply;
	enum rasnd_found found = RASND_FOUND;
	if (error) {
		rasn_reply_error(b, slot->query, slot->qlen, "ip", error);
		found = RASND_FAILED;
	} else if (!j->origin.n_asns) {
		rasn_reply_ip(b, slot->query, slot->qlen, &j->addr, NULL, j->from_cache ? "cache" : "cymru");
		found = RASND_NONE;
	} else {
		/* shaped like a table answer, the range being the announced prefix */
		struct rasn_match m;
		struct rasn_buf nb;
		rasnd_upcache_match(&nb, &j->origin.prefix, j->origin.asns, j->origin.n_asns, j->as.name,
				    j->origin.cc, &m);
		/* cc came with the match */
		struct rasn_reply_extra x = { NULL, j->origin.registry, j->origin.allocated };
		rasn_reply_ip_ex(b, slot->query, slot->qlen, &j->addr, &m, &x, j->from_cache ? "cache" : "cymru");
		rasn_buf_free(&nb);
		lk->has_extra = 1;
		memcpy(lk->cc, j->origin.cc, sizeof(lk->cc));
		memcpy(lk->registry, j->origin.registry, sizeof(lk->registry));
		memcpy(lk->allocated, j->origin.allocated, sizeof(lk->allocated));
	}
	free(j);
	rasnd_lookup_done(lk, found);
}

static void submit_origin(struct job *j, char kind);

static void on_name(void *wud, const struct rasnd_up_result *r)
{
	struct job *j = wud;
	struct as_pick ap = { j->origin.asns[0], { 0 } };
	/* the name is a nicety: a lookup that fails still leaves a good origin answer */
	if (r->status == RASND_UP_ANSWER && r->outcome == RASN_OK && r->len == sizeof(ap.as)) {
		memcpy(&j->as, r->data, sizeof(j->as));
		j->have_as = j->as.asn == ap.asn;
	}
	remember(j->d, &j->addr, &j->origin, j->have_as ? j->as.name : NULL, j->neg_also);
	finish(j, NULL);
}

static void on_origin(void *wud, const struct rasnd_up_result *r)
{
	struct job *j = wud;
	if (r->status != RASND_UP_ANSWER) {
		finish(j, r->error ? r->error : "cymru: failed");
		return;
	}
	const struct packed *p = r->data;
	struct packed hdr = { 0, 0 };
	if (r->outcome == RASN_OK && p && r->len >= sizeof(hdr)) {
		memcpy(&hdr, p, sizeof(hdr));
		if (sizeof(hdr) + (size_t)hdr.olen + hdr.alen != r->len)
			hdr.olen = hdr.alen = 0;
	}
	const unsigned char *obuf = (const unsigned char *)r->data + sizeof(hdr);
	struct pick mine = { &j->addr, { { 0 } }, 0 };
	if (hdr.olen)
		each_txt(obuf, (int)hdr.olen, take_origin, &mine);
	if (!mine.best.n_asns) {
		if (!j->exact) {
			/* nothing announced at the block's first address, or only something more specific
			 * than what holds this one: ask for this address itself */
			submit_origin(j, 'O');
			return;
		}
		if (hdr.olen) {
			finish(j, "cymru: malformed origin record"); /* records, none about this address */
			return;
		}
		remember(j->d, &j->addr, NULL, NULL, j->neg_also);
		finish(j, NULL); /* not announced */
		return;
	}
	j->origin = mine.best;
	/* the name: asked by the call for the block's own origin; else from the cache or asked */
	struct as_pick ap = { j->origin.asns[0], { 0 } };
	if (hdr.alen == sizeof(ap.as))
		memcpy(&ap.as, obuf + hdr.olen, sizeof(ap.as));
	if (hdr.alen == sizeof(ap.as) && ap.as.asn == ap.asn) {
		j->as = ap.as;
		j->have_as = 1;
	} else {
		char qn[RASN_CYMRU_QNAME_MAX];
		as_qname(j->d, ap.asn, qn);
		int known = as_cache_get(j->d, qn, ap.asn, &j->as);
		j->have_as = known == 1;
		if (known < 0 && j->d->up_cymru) {
			unsigned char key[KEY_MAX];
			int kl = key_asn('n', ap.asn, key);
			rasnd_upstream_submit_now(j->d->up_cymru, key, (size_t)kl, on_name, j);
			return;
		}
	}
	/* the call cached the answer for the address it asked about; cache this one too unless
	 * that is the same entry */
	struct rasn_addr first = j->addr;
	if (!j->exact)
		first.v &= ~rasn_hostmask(first.family, first.family == RASN_AF4 ? 24 : 48);
	struct pick theirs = { &first, { { 0 } }, 0 };
	each_txt(obuf, (int)hdr.olen, take_origin, &theirs);
	if (!theirs.best.n_asns || theirs.best.prefix.len != j->origin.prefix.len ||
	    theirs.best.prefix.addr != j->origin.prefix.addr || j->neg_also)
		remember(j->d, &j->addr, &j->origin, j->have_as ? j->as.name : NULL, j->neg_also);
	finish(j, NULL);
}

static void submit_origin(struct job *j, char kind)
{
	unsigned char key[KEY_MAX];
	int kl = key_origin(kind, &j->addr, key);
	j->exact = kind == 'O';
	rasnd_upstream_submit(j->d->up_cymru, key, (size_t)kl, on_origin, j);
}

static void ip_upstream(struct job *j)
{
	if (!j->d->dns || !j->d->up_cymru) {
		finish(j, "cymru: no DNS resolver");
		return;
	}
	submit_origin(j, 'o');
}

/* The shared level's answer: when found, the entry is in the local levels now. */
static void on_shared_ip(void *ud, int found)
{
	struct job *j = ud;
	if (found && recall(j) >= 0) {
		j->from_cache = 1;
		finish(j, NULL);
		return;
	}
	ip_upstream(j);
}

static void cymru_ip(struct rasnd_lookup *lk)
{
	struct rasnd *d = lk->d;
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&lk->slot->reply, lk->slot->query, lk->slot->qlen, "ip", "out of memory");
		rasnd_lookup_done(lk, RASND_FAILED);
		return;
	}
	j->d = d;
	j->lk = lk;
	j->addr = lk->addr;
	int known = recall(j);
	if (known >= 0) {
		/* answered from memory or disk: no upstream call */
		j->from_cache = 1;
		finish(j, NULL);
		return;
	}
	/* the shared level next (daemon/rediscache.h), when there is one */
	if (rasnd_redis_get_addr(d->redis, &j->addr, on_shared_ip, j) == 0)
		return;
	ip_upstream(j);
}

/* ---- AS numbers: one TXT query under the AS zone ---- */

struct as_job {
	struct rasnd *d;
	struct rasnd_lookup *lk;
	uint32_t asn;
	int from_cache;
	char qname[RASN_CYMRU_QNAME_MAX];
	struct rasn_cymru_as as;
};

static void as_finish(struct as_job *j, int found, const char *error)
{
	struct rasnd_lookup *lk = j->lk;
	struct rasnd_slot *slot = lk->slot;
	struct rasn_buf *b = &slot->reply;
	enum rasnd_found res = RASND_FOUND;
	if (found) {
		rasn_reply_open(b, slot->query, slot->qlen, "as", "ok");
		rasn_buf_printf(b, ",\"asn\":%u,\"as_name\":", j->asn);
		rasn_buf_json_str(b, j->as.name, strlen(j->as.name));
		rasn_buf_lit(b, ",\"cc\":");
		rasn_buf_json_str(b, j->as.cc, strlen(j->as.cc));
		rasn_buf_lit(b, ",\"registry\":");
		rasn_buf_json_str(b, j->as.registry, strlen(j->as.registry));
		rasn_buf_lit(b, ",\"allocated\":");
		rasn_buf_json_str(b, j->as.allocated, strlen(j->as.allocated));
		rasn_reply_close(b, j->from_cache ? "cache" : "cymru");
		lk->has_extra = 1;
		memcpy(lk->cc, j->as.cc, sizeof(lk->cc));
		memcpy(lk->registry, j->as.registry, sizeof(lk->registry));
		memcpy(lk->allocated, j->as.allocated, sizeof(lk->allocated));
	} else if (error) {
		rasn_reply_error(b, slot->query, slot->qlen, "as", error);
		res = RASND_FAILED;
	} else {
		rasn_reply_open(b, slot->query, slot->qlen, "as", "not_found");
		rasn_buf_printf(b, ",\"asn\":%u", j->asn);
		rasn_reply_close(b, j->from_cache ? "cache" : "cymru");
		res = RASND_NONE;
	}
	free(j);
	rasnd_lookup_done(lk, res);
}

static void on_as_only(void *wud, const struct rasnd_up_result *r)
{
	struct as_job *j = wud;
	if (r->status != RASND_UP_ANSWER) {
		as_finish(j, 0, r->error ? r->error : "cymru: failed");
		return;
	}
	if (r->outcome != RASN_OK) {
		as_finish(j, 0, NULL); /* NXDOMAIN: no such AS (cached by the call) */
		return;
	}
	if (r->len != sizeof(j->as)) {
		as_finish(j, 0, "cymru: malformed AS record");
		return;
	}
	memcpy(&j->as, r->data, sizeof(j->as));
	as_finish(j, 1, NULL);
}

static void as_upstream(struct as_job *j)
{
	if (!j->d->dns || !j->d->up_cymru) {
		as_finish(j, 0, "cymru: no DNS resolver");
		return;
	}
	unsigned char key[KEY_MAX];
	int kl = key_asn('a', j->asn, key);
	rasnd_upstream_submit(j->d->up_cymru, key, (size_t)kl, on_as_only, j);
}

static void on_shared_as(void *ud, int found)
{
	struct as_job *j = ud;
	int known = found ? as_cache_get(j->d, j->qname, j->asn, &j->as) : -1;
	if (known >= 0) {
		j->d->stats.cache_hits++;
		j->from_cache = 1;
		as_finish(j, known, NULL);
		return;
	}
	as_upstream(j);
}

static void cymru_as(struct rasnd_lookup *lk)
{
	struct rasnd *d = lk->d;
	uint32_t asn = lk->asn;
	struct as_job *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&lk->slot->reply, lk->slot->query, lk->slot->qlen, "as", "out of memory");
		rasnd_lookup_done(lk, RASND_FAILED);
		return;
	}
	j->d = d;
	j->lk = lk;
	j->asn = asn;
	if (rasn_cymru_as_qname(asn, d->cfg.cymru_as_zone, j->qname, sizeof(j->qname)) < 0) {
		as_finish(j, 0, "cymru: cannot build the query");
		return;
	}
	int known = as_cache_get(d, j->qname, asn, &j->as);
	if (known >= 0) {
		d->stats.cache_hits++;
		j->from_cache = 1;
		as_finish(j, known, NULL);
		return;
	}
	if (rasnd_redis_get_name(d->redis, j->qname, strlen(j->qname), on_shared_as, j) == 0)
		return;
	as_upstream(j);
}

/* ---- "order = auto": does a resolver really reach Team Cymru? ----
 * Only a well-formed answer for a name that must exist counts: the AS record of AS15169
 * (Google, registered since 2000), parsed by the same parser as every AS answer. A resolver
 * that answers NXDOMAIN or no data for every outside name (offline and locked-down networks
 * do) would otherwise turn Cymru on and cost a useless round trip per address. */
#define PROBE_ASN 15169u

static void on_probe(void *ud, int status, const unsigned char *abuf, int alen)
{
	struct rasnd *d = ud;
	char qn[RASN_CYMRU_QNAME_MAX];
	const char *why = NULL;
	/* shutting down, or a SIGHUP has set another order since the probe went out */
	if (status == ARES_EDESTRUCTION || !d->cfg.order_auto)
		return;
	as_qname(d, PROBE_ASN, qn);
	struct as_pick ap = { PROBE_ASN, { 0 } };
	if (status == ARES_SUCCESS && each_txt(abuf, alen, take_as, &ap) != 0)
		why = "a malformed TXT answer (not Team Cymru's AS record shape)";
	else if (status == ARES_ENOTFOUND)
		why = "NXDOMAIN";
	else if (status == ARES_ENODATA)
		why = "no TXT record (NODATA)";
	else if (status == ARES_ESERVFAIL)
		why = "SERVFAIL";
	else if (status == ARES_EREFUSED)
		why = "REFUSED";
	else if (status != ARES_SUCCESS)
		why = ares_strerror(status);
	if (why) {
		log_info("lookup order: table alone (the probe %s TXT got %s)", qn, why);
		return;
	}
	d->cfg.order_src[0] = RASND_SRC_TABLE;
	d->cfg.order_src[1] = RASND_SRC_CYMRU;
	d->cfg.order_n = 2;
	log_info("lookup order: table cymru (the probe %s TXT got AS%u's record)", qn, PROBE_ASN);
}

void rasnd_cymru_probe(struct rasnd *d)
{
	if (!d->cfg.order_auto || !d->dns)
		return;
	char qn[RASN_CYMRU_QNAME_MAX];
	as_qname(d, PROBE_ASN, qn);
	if (!qn[0] || rasnd_dns_query(d->dns, qn, ns_t_txt, on_probe, d) < 0)
		log_warn("lookup order: cannot probe for Cymru; the table alone");
}

/* ---- the source (daemon/source.h) ---- */

static struct rasnd_upstream *cymru_upstream(const struct rasnd *d)
{
	return d->up_cymru;
}

static uint64_t cymru_sent(const struct rasnd *d)
{
	return d->stats.upstream_cymru;
}

/* init and free are the daemon's (daemon/main.c): domain lookups share this upstream's
 * resolvers and breakers, so it exists before them and goes after them. */
const struct rasnd_source rasnd_source_cymru = {
	.name = "cymru",
	.order = RASND_ANS_IP | RASND_ANS_AS,
	.asked = RASND_ANS_IP | RASND_ANS_AS,
	.asked_error = "@cymru answers addresses and AS numbers",
	.help = "cymru (addresses, AS numbers)",
	.ip = cymru_ip,
	.as = cymru_as,
	.upstream = cymru_upstream,
	.sent = cymru_sent,
	.sent_help = "Queries sent to Team Cymru: origins, AS lookups and the AS names of origins found (each try counts).",
	.enriches = RASND_SRC_TABLE,
};
