/* Domain lookups. A and AAAA go out in parallel through the "dns" upstream
 * (daemon/upstream.h): a key per family and name, so lookups of one name in flight share its
 * two calls; retried per [retry]; on the resolvers whose breaker (shared with Cymru's queries) lets them through. Each address
 * of the answer is then answered as an address lookup would be: the same sources in the same
 * [lookup] order (the table, Cymru, RIPEstat), through a reply slot of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>

#include "cache.h"
#include "dns.h"
#include "domain.h"
#include "reply.h"
#include "runner.h"
#include "srccymru.h"
#include "srctable.h"
#include "upstream.h"
#include "clock.h"
#include "session.h"

#define DOMAIN_MAX_ADDRS 64

/* One family's answer, as a call hands it to every waiter (our own bytes). */
struct family_answer {
	int32_t status;           /* ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND */
	uint32_t n;
	struct {
		int32_t family, ttl;
		rasn_u128 v;
	} a[DOMAIN_MAX_ADDRS];
};

static const char *dns_error(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return "dns: timeout (no answer from the resolvers)";
	case ARES_ESERVFAIL:
		return "dns: server failure (SERVFAIL)";
	case ARES_EREFUSED:
		return "dns: refused by the resolver";
	case ARES_ECONNREFUSED:
		return "dns: connection refused by the resolver";
	case ARES_EDESTRUCTION:
		return "dns: shutting down";
	default:
		return "dns: bad or unusable answer";
	}
}

/* The addresses of an A or AAAA answer (CNAMEs followed by c-ares' parsers). Returns an
 * ARES_* status: SUCCESS, ENODATA (a CNAME and nothing of the type), or EBADRESP. */
static int parse_family(const unsigned char *abuf, int alen, int family, struct family_answer *out)
{
	struct hostent *host = NULL;
	int n = DOMAIN_MAX_ADDRS, rc;
	out->n = 0;
	if (family == RASN_AF4) {
		struct ares_addrttl at[DOMAIN_MAX_ADDRS];
		rc = ares_parse_a_reply(abuf, alen, &host, at, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n && i < DOMAIN_MAX_ADDRS; i++) {
			out->a[out->n].family = RASN_AF4;
			out->a[out->n].v = ntohl(at[i].ipaddr.s_addr);
			out->a[out->n++].ttl = at[i].ttl;
		}
	} else {
		struct ares_addr6ttl at[DOMAIN_MAX_ADDRS];
		rc = ares_parse_aaaa_reply(abuf, alen, &host, at, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n && i < DOMAIN_MAX_ADDRS; i++) {
			rasn_u128 v = 0;
			for (int k = 0; k < 16; k++)
				v = v << 8 | at[i].ip6addr._S6_un._S6_u8[k];
			/* a mapped address is an IPv4 address (as everywhere else) */
			int mapped = (v >> 32) == 0xffff;
			out->a[out->n].family = mapped ? RASN_AF4 : RASN_AF6;
			out->a[out->n].v = mapped ? (v & 0xffffffffu) : v;
			out->a[out->n++].ttl = at[i].ttl;
		}
	}
	if (host)
		ares_free_hostent(host);
	if (rc == ARES_SUCCESS && out->n == 0)
		rc = ARES_ENODATA;
	return rc == ARES_SUCCESS || rc == ARES_ENODATA ? rc : ARES_EBADRESP;
}

/* Key: 'A' or '6', then the name in lower case without a trailing dot (so that "WWW.x." and
 * "www.x" share a call). */
#define DOMAIN_KEY_MAX (1 + RASN_DOMAIN_MAX)

static size_t domain_key(int family, const char *name, unsigned char *key)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	if (n > RASN_DOMAIN_MAX)
		n = RASN_DOMAIN_MAX;
	key[0] = family == RASN_AF4 ? 'A' : '6';
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		key[1 + i] = (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return 1 + n;
}

struct dns_fetch {
	struct rasnd_up_call *call;
	int family;
};

static void on_family_dns(void *ud, int status, const unsigned char *abuf, int alen)
{
	struct dns_fetch *f = ud;
	struct family_answer *ans = calloc(1, sizeof(*ans));
	if (!ans) {
		rasnd_upstream_done(f->call, RASN_FINAL_OTHER, 0, NULL, 0, "dns: out of memory");
		free(f);
		return;
	}
	if (status == ARES_SUCCESS)
		status = parse_family(abuf, alen, f->family, ans);
	ans->status = status;
	enum rasn_outcome o = rasnd_dns_outcome(status);
	int answer = o == RASN_OK || o == RASN_FINAL_NXDOMAIN;
	rasnd_upstream_done(f->call, o, 0, answer ? ans : NULL, answer ? sizeof(*ans) : 0,
			    o == RASN_OK ? NULL : dns_error(status));
	free(ans);
	free(f);
}

/* The "dns" upstream's issue callback: one try of one family of one name on resolver ep. */
static void domain_issue(void *ud, struct rasnd_up_call *call, const void *key, size_t keylen, unsigned ep)
{
	struct rasnd *d = ud;
	const unsigned char *k = key;
	char name[RASN_DOMAIN_MAX + 1];
	struct dns_fetch *f = NULL;
	if (keylen < 2 || keylen > DOMAIN_KEY_MAX || (k[0] != 'A' && k[0] != '6')) {
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "dns: bad key");
		return;
	}
	memcpy(name, k + 1, keylen - 1);
	name[keylen - 1] = '\0';
	if (!(f = malloc(sizeof(*f)))) {
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "dns: out of memory");
		return;
	}
	f->call = call;
	f->family = k[0] == 'A' ? RASN_AF4 : RASN_AF6;
	if (!d->dns || rasnd_dns_query_server(d->dns, ep, name, f->family == RASN_AF4 ? ns_t_a : ns_t_aaaa,
					      on_family_dns, f) < 0) {
		free(f);
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "dns: cannot send the query");
	}
}

int rasnd_domain_init(struct rasnd *d, char *err, size_t errlen)
{
	d->up_dns = NULL;
	if (!d->dns)
		return 0;
	const char *names[RASND_RESOLVER_MAX];
	struct rasnd_upstream_cfg uc;
	rasnd_resolver_upstream_cfg(d, "dns", names, &uc);
	uc.batch.key_max = DOMAIN_KEY_MAX;
	/* a person (or a script) waits for each domain: no batch delay; the keys taken in one
	 * loop pass still go out together, and same-name lookups still share calls */
	uc.batching = 0;
	uc.share_endpoints = d->up_cymru; /* one breaker per resolver, fed by both */
	static const struct rasnd_up_ops ops = { domain_issue };
	return rasnd_upstream_new(d->base, &uc, &ops, d, &d->up_dns, err, errlen);
}

void rasnd_domain_free(struct rasnd *d)
{
	rasnd_upstream_free(d->up_dns);
	d->up_dns = NULL;
}

struct domain_job;

struct domain_half {
	struct domain_job *j;
	int family;
};

struct domain_job {
	struct rasnd_slot *slot;
	struct rasnd *d;
	int from_cache;
	int only_table;           /* "domain NAME @table" */
	int pending;              /* families, then address answers, still out */
	int status4, status6;     /* ARES_SUCCESS, ENODATA, ENOTFOUND; FAILED: the family failed */
	char err4[512], err6[512];/* why, when FAILED */
	struct domain_half h4, h6;
	struct rasn_addr addrs[DOMAIN_MAX_ADDRS];
	int ttls[DOMAIN_MAX_ADDRS];
	struct rasnd_slot *sub[DOMAIN_MAX_ADDRS]; /* each address's own answer */
	size_t n;
	char name[RASN_DOMAIN_MAX + 1];
};

#define FAILED (-1)

static int answered(int status)
{
	return status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

/* The reply, from the address answers in j->sub, into the domain's slot; completes it. */
static void domain_finish(struct domain_job *j)
{
	struct rasnd_slot *slot = j->slot;
	struct rasn_buf *b = &slot->reply;
	const char *q = slot->query;
	size_t qlen = slot->qlen;
	const char *hard = j->status4 == FAILED ? j->err4 : j->status6 == FAILED ? j->err6 : NULL;
	if (j->n == 0 && hard) {
		j->d->stats.domain_errors++;
		rasn_reply_error(b, q, qlen, "domain", hard);
	} else {
		rasn_reply_open(b, q, qlen, "domain", j->n ? "ok" : "not_found");
		rasn_buf_lit(b, ",\"name\":");
		rasn_buf_json_str(b, j->name, strlen(j->name));
		if (!j->n)
			rasn_buf_printf(b, ",\"error\":\"%s\"",
					j->status4 == ARES_ENOTFOUND || j->status6 == ARES_ENOTFOUND ? "NXDOMAIN"
												     : "no A or AAAA record");
		if (hard) { /* one family failed, the other answered: say so, keep the answers */
			rasn_buf_lit(b, ",\"partial\":");
			rasn_buf_json_str(b, hard, strlen(hard));
		}
		rasn_buf_lit(b, ",\"addresses\":[");
		for (size_t i = 0; i < j->n; i++) {
			struct rasn_buf *one = j->sub[i] ? &j->sub[i]->reply : NULL;
			if (i)
				rasn_buf_addc(b, ',');
			rasn_buf_printf(b, "{\"ttl\":%d,", j->ttls[i]);
			/* the inside of the address's own reply object, without its newline */
			if (one && !one->oom && one->len > 3 && one->data[0] == '{' && one->data[one->len - 1] == '\n')
				rasn_buf_add(b, one->data + 1, one->len - 3);
			else
				rasn_buf_lit(b, "\"status\":\"error\",\"error\":\"out of memory\"");
			rasn_buf_addc(b, '}');
		}
		rasn_buf_addc(b, ']');
		rasn_reply_close(b, j->from_cache ? "cache" : "dns");
	}
	for (size_t i = 0; i < j->n; i++) {
		if (j->sub[i]) {
			rasn_buf_free(&j->sub[i]->reply);
			rasn_buf_free(&j->sub[i]->after);
			free(j->sub[i]);
		}
	}
	free(j);
	rasnd_slot_complete(slot);
}

static void on_address_answer(struct rasnd_slot *sub)
{
	struct domain_job *j = sub->owner;
	if (--j->pending == 0)
		domain_finish(j);
}

/* The address lookup's answer for a, into slot (completed now or later): the sources of
 * [lookup] order, as do_ip and the batched path ask them, or the table alone. */
static void answer_address(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int only_table)
{
	if (rasnd_order_special(d, &slot->reply, a, slot->query, slot->qlen)) {
		rasnd_slot_complete(slot);
		return;
	}
	if (!only_table) {
		rasnd_order_ip(d, slot, a, 0);
		return;
	}
	rasnd_table_ip_reply(d, slot, a);
	rasnd_slot_complete(slot);
}

/* Every address asked as an address lookup, each into a slot of its own (not in the session:
 * rasnd_slot_complete hands it back to on_address_answer). Some answer at once (the table, a
 * cache hit), others later; the domain's reply is written when the last one is in. */
static void domain_addresses(struct domain_job *j)
{
	j->pending = 1; /* held while starting them, so an answer at once cannot finish the job */
	for (size_t i = 0; i < j->n; i++) {
		struct rasnd_slot *sub = calloc(1, sizeof(*sub));
		j->sub[i] = sub;
		if (!sub)
			continue; /* answered as out of memory */
		rasn_buf_init(&sub->reply);
		rasn_buf_init(&sub->after);
		sub->qlen = rasn_addr_format(j->addrs[i].family, j->addrs[i].v, sub->query);
		sub->on_done = on_address_answer;
		sub->owner = j;
		j->pending++;
		answer_address(j->d, sub, &j->addrs[i], j->only_table);
	}
	if (--j->pending == 0)
		domain_finish(j);
}

/* What the cache keeps of a domain answer (our own bytes, checked when read back). */
#define DOMAIN_CACHED_VERSION 1
struct domain_cached {
	uint32_t version, n;
	int32_t status4, status6;
	struct {
		int32_t family, ttl;
		rasn_u128 v;
	} a[DOMAIN_MAX_ADDRS];
};

/* Keep the answer for its DNS TTL (the smallest of its records) within [cache] dns_ttl_floor
 * and dns_ttl_cap; NXDOMAIN and no-data for negative_ttl (0: not kept). The bounds are read
 * now, so a SIGHUP's new values apply to the next answer. Failures are not kept: the next
 * query asks again. */
static void domain_remember(struct domain_job *j)
{
	const struct rasnd_config *cfg = &j->d->cfg;
	if (!j->d->cache || !answered(j->status4) || !answered(j->status6))
		return;
	uint64_t ttl;
	if (j->n) {
		int64_t least = INT32_MAX;
		for (size_t i = 0; i < j->n; i++)
			if (j->ttls[i] < least)
				least = j->ttls[i] < 0 ? 0 : j->ttls[i];
		ttl = (uint64_t)least;
		if (ttl < cfg->cache_dns_ttl_floor_s)
			ttl = cfg->cache_dns_ttl_floor_s;
		if (ttl > cfg->cache_dns_ttl_cap_s)
			ttl = cfg->cache_dns_ttl_cap_s;
	} else {
		ttl = cfg->cache_negative_ttl_s;
	}
	if (ttl == 0)
		return;
	struct domain_cached *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->version = DOMAIN_CACHED_VERSION;
	c->n = (uint32_t)j->n;
	c->status4 = j->status4;
	c->status6 = j->status6;
	for (size_t i = 0; i < j->n; i++) {
		c->a[i].family = j->addrs[i].family;
		c->a[i].v = j->addrs[i].v;
		c->a[i].ttl = j->ttls[i];
	}
	/* not for the shared level (daemon/rediscache.h): resolvers already share DNS answers */
	struct rasn_cache_val v = { c, sizeof(*c),
				    (j->n ? 0 : RASN_CACHE_NEGATIVE) | RASN_CACHE_TTL_EXACT | RASN_CACHE_NO_HOOK };
	rasn_cache_put_name(j->d->cache, j->name, strlen(j->name), &v, rasn_clock_wall_ms(), ttl * 1000);
	free(c);
}

/* 1 and j filled when the cache has the name. */
static int domain_recall(struct domain_job *j)
{
	struct rasn_cache_hit h;
	uint64_t now = rasn_clock_wall_ms();
	if (!j->d->cache || rasn_cache_get_name(j->d->cache, j->name, strlen(j->name), now, &h) < 0)
		return 0;
	struct domain_cached c;
	if (h.val.len != sizeof(c))
		return 0;
	memcpy(&c, h.val.data, sizeof(c));
	if (c.version != DOMAIN_CACHED_VERSION || c.n > DOMAIN_MAX_ADDRS || !answered(c.status4) ||
	    !answered(c.status6))
		return 0;
	int left = h.expires_ms > now ? (int)((h.expires_ms - now + 999) / 1000) : 0;
	j->n = 0;
	for (uint32_t i = 0; i < c.n; i++) {
		if (c.a[i].family != RASN_AF4 && c.a[i].family != RASN_AF6)
			return 0;
		j->addrs[j->n] = (struct rasn_addr){ c.a[i].family, c.a[i].v };
		/* what is left of the TTL, as a resolver's cache would say */
		j->ttls[j->n++] = c.a[i].ttl < left ? c.a[i].ttl : left;
	}
	j->status4 = c.status4;
	j->status6 = c.status6;
	j->from_cache = 1;
	j->d->stats.cache_hits++;
	return 1;
}

static void on_family(void *wud, const struct rasnd_up_result *r)
{
	struct domain_half *h = wud;
	struct domain_job *j = h->j;
	int *status = h->family == RASN_AF4 ? &j->status4 : &j->status6;
	char *err = h->family == RASN_AF4 ? j->err4 : j->err6;
	struct family_answer ans;
	if (r->status == RASND_UP_ANSWER && r->data && r->len == sizeof(ans)) {
		memcpy(&ans, r->data, sizeof(ans));
		*status = answered(ans.status) && ans.n <= DOMAIN_MAX_ADDRS ? ans.status : FAILED;
		for (uint32_t i = 0; *status == ARES_SUCCESS && i < ans.n && j->n < DOMAIN_MAX_ADDRS; i++) {
			if (ans.a[i].family != RASN_AF4 && ans.a[i].family != RASN_AF6)
				continue;
			j->addrs[j->n] = (struct rasn_addr){ ans.a[i].family, ans.a[i].v };
			j->ttls[j->n++] = ans.a[i].ttl;
		}
		if (*status == FAILED)
			snprintf(err, sizeof(j->err4), "dns: bad or unusable answer");
	} else {
		*status = FAILED;
		snprintf(err, sizeof(j->err4), "%s", r->error ? r->error : "dns: failed");
	}
	if (--j->pending > 0)
		return;
	domain_remember(j);
	if (j->n == 0) {
		domain_finish(j); /* an error, or not_found: nothing to look up */
		return;
	}
	domain_addresses(j);
}

void rasnd_domain_lookup(struct rasnd *d, struct rasnd_slot *slot, const char *name, size_t len, int only_table)
{
	struct domain_job *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "domain", "out of memory");
		rasnd_slot_complete(slot);
		return;
	}
	j->slot = slot;
	j->d = d;
	j->only_table = only_table;
	if (len > RASN_DOMAIN_MAX)
		len = RASN_DOMAIN_MAX;
	memcpy(j->name, name, len);
	j->name[len] = '\0';
	if (domain_recall(j)) {
		domain_addresses(j);
		return;
	}
	/* both families at once: one round trip, not two (the upstream flushes both keys in the
	 * same loop pass, each on a resolver its breaker lets through) */
	unsigned char key[DOMAIN_KEY_MAX];
	j->pending = 2;
	j->h4 = (struct domain_half){ j, RASN_AF4 };
	j->h6 = (struct domain_half){ j, RASN_AF6 };
	size_t kl = domain_key(RASN_AF4, j->name, key);
	rasnd_upstream_submit(d->up_dns, key, kl, on_family, &j->h4);
	kl = domain_key(RASN_AF6, j->name, key);
	rasnd_upstream_submit(d->up_dns, key, kl, on_family, &j->h6);
}

