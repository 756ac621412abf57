/* The RIPEstat source. Each lookup is one or two data calls (network-info, then as-overview
 * for the holder's name; as-overview, announced-prefixes or searchcomplete alone), each a key
 * submitted to the "ripestat" upstream, which batches, coalesces, retries and breaks circuits;
 * the issue callback below is the only place an HTTP request for RIPEstat is sent, and it
 * reports exactly one outcome per try. Bodies go through lib/ripestat's checked parsers.
 *
 * Keys (first byte the kind):
 *   'n' family addr  network-info for the /24 (IPv4) or /48 (IPv6) holding an address: every
 *                    address of a busy /24 shares one call
 *   'N' family addr  network-info for one address: when the /24's answer does not cover a
 *                    waiter (a more specific route elsewhere, or nothing routed at the
 *                    network address), that waiter asks again for its own address
 *   'a' asn          as-overview       'p' asn   announced-prefixes      's' text  searchcomplete */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "h1resp.h"
#include "http.h"
#include "log.h"
#include "rasnd.h"
#include "reply.h"
#include "ripestat.h"
#include "source.h"
#include "rediscache.h"
#include "upcache.h"
#include "upstream.h"
#include "clock.h"
#include "session.h"

#define KEY_ADDR_LEN (2 + sizeof(rasn_u128))
#define ORG_TEXT_MAX 200
#define PREFIXES_MAX 1000000
#define PREFIXES_FIRST 4096

/* ---- the issue side: one HTTP GET per try ---- */

struct fetch {
	struct rasnd *d;
	struct rasnd_up_call *call;
	char kind;
	struct rasn_addr addr;  /* n, N: the address asked about */
	uint32_t asn;           /* a, p */
};

struct prefixes_answer {
	size_t total, n;
	struct rasn_prefix p[];
};

/* What an address call ('n', 'N') answers: the route and the origin's name. The call stays
 * in flight until the name is known (from the cache or an as-overview call through the same
 * upstream, coalesced with every other wanting it), so lookups that arrive meanwhile join it
 * instead of starting another network-info call. */
struct ip_answer {
	struct rasn_ripe_netinfo ni;
	char name[RASN_RIPE_NAME_MAX];
	int name_failed;        /* the as-overview call did not answer: each waiter asks again */
};

static void key_addr(uint8_t *key, char kind, const struct rasn_addr *a)
{
	key[0] = (uint8_t)kind;
	key[1] = (uint8_t)a->family;
	memcpy(key + 2, &a->v, sizeof(a->v));
}

static int resource_of(const void *key, size_t keylen, struct fetch *f, char *res, size_t cap)
{
	const uint8_t *k = key;
	if (keylen < 1)
		return -1;
	f->kind = (char)k[0];
	switch (f->kind) {
	case 'n':
	case 'N': {
		if (keylen != KEY_ADDR_LEN || (k[1] != RASN_AF4 && k[1] != RASN_AF6))
			return -1;
		f->addr.family = k[1];
		memcpy(&f->addr.v, k + 2, sizeof(f->addr.v));
		char a[RASN_ADDR_STRLEN];
		rasn_addr_format(f->addr.family, f->addr.v, a);
		if (f->kind == 'n')
			snprintf(res, cap, "%s/%u", a, f->addr.family == RASN_AF4 ? 24 : 48);
		else
			snprintf(res, cap, "%s", a);
		return 0;
	}
	case 'a':
	case 'p':
		if (keylen != 5)
			return -1;
		memcpy(&f->asn, k + 1, 4);
		snprintf(res, cap, "AS%u", f->asn);
		return 0;
	case 's':
		if (keylen - 1 >= cap)
			return -1;
		memcpy(res, k + 1, keylen - 1);
		res[keylen - 1] = '\0';
		return 0;
	default:
		return -1;
	}
}

static enum rasn_outcome outcome_of_err(enum rasnd_http_err e)
{
	switch (e) {
	case RASND_HTTP_ETIMEOUT:
		return RASN_RETRY_TIMEOUT;
	case RASND_HTTP_ECONNECT:
	case RASND_HTTP_ECLOSED:
	case RASND_HTTP_EPROTO:
	case RASND_HTTP_ETLS:
		/* a refused certificate or a failed handshake is the origin failing (lib/backoff.h
		 * files TLS failures under RETRY_NET): the breaker must count it, or an origin with
		 * a bad certificate is tried for every lookup and never opens its breaker */
		return RASN_RETRY_NET;
	case RASND_HTTP_ETOOBIG:
		return RASN_FINAL_MALFORMED;
	default:
		/* a bad URL, a full queue, shutdown: trying again the same way gives the same
		 * answer */
		return RASN_FINAL_OTHER;
	}
}

/* Retry-After in milliseconds from now: delay-seconds, or an HTTP-date (a date already past
 * asks for no wait); 0 when unreadable. Capped as rasn_retry_after_parse caps seconds. */
static uint64_t retry_after_ms(const char *v)
{
	uint64_t ms = 0;
	int64_t at;
	size_t len = strlen(v);
	if (rasn_retry_after_parse(v, len, &ms) == 0)
		return ms;
	if (rasn_http_date_parse(v, len, &at) < 0)
		return 0;
	double wait = (double)at - rasn_clock_wall_s();
	if (wait <= 0)
		return 0;
	return wait > 86400.0 ? 86400000 : (uint64_t)(wait * 1000.0);
}

/* Parse a 2xx body into the answer the waiters get; 0 or -1 with err. */
static int parse_body(struct fetch *f, const struct rasnd_http_response *r, void **data, size_t *len,
		      char *err, size_t errlen)
{
	struct rasnd *d = f->d;
	*data = NULL;
	*len = 0;
	switch (f->kind) {
	case 'n':
	case 'N': {
		struct rasn_ripe_netinfo *ni = calloc(1, sizeof(*ni));
		if (!ni)
			return snprintf(err, errlen, "out of memory"), -1;
		/* a /24's answer may be a more specific route elsewhere in it: each waiter checks
		 * whether it covers its own address; an exact answer must cover the address */
		if (rasn_ripe_parse_network_info(r->body, r->body_len, f->kind == 'N' ? &f->addr : NULL, ni, err,
						 errlen) < 0) {
			free(ni);
			return -1;
		}
		*data = ni;
		*len = sizeof(*ni);
		return 0;
	}
	case 'a': {
		struct rasn_ripe_as *as = calloc(1, sizeof(*as));
		if (!as)
			return snprintf(err, errlen, "out of memory"), -1;
		if (rasn_ripe_parse_as_overview(r->body, r->body_len, f->asn, as, err, errlen) < 0) {
			free(as);
			return -1;
		}
		*data = as;
		*len = sizeof(*as);
		return 0;
	}
	case 'p': {
		/* one parse for the usual AS (a few thousand prefixes at most); a second, sized to
		 * the count the first one found, only for larger ones */
		size_t cap = PREFIXES_FIRST;
		for (;;) {
			struct prefixes_answer *pa = calloc(1, sizeof(*pa) + cap * sizeof(pa->p[0]));
			if (!pa)
				return snprintf(err, errlen, "out of memory"), -1;
			size_t all = 0;
			int n = rasn_ripe_parse_announced_prefixes(r->body, r->body_len, f->asn, pa->p, cap, &all, err,
								   errlen);
			if (n < 0) {
				free(pa);
				return -1;
			}
			if (all > cap && cap < PREFIXES_MAX) {
				free(pa);
				cap = all < PREFIXES_MAX ? all : PREFIXES_MAX;
				continue;
			}
			pa->total = all;
			pa->n = (size_t)n;
			*data = pa;
			*len = sizeof(*pa) + pa->n * sizeof(pa->p[0]);
			return 0;
		}
	}
	case 's': {
		size_t cap = d->cfg.org_max_results;
		struct rasn_ripe_org_hit *h = calloc(cap ? cap : 1, sizeof(*h));
		if (!h)
			return snprintf(err, errlen, "out of memory"), -1;
		int n = rasn_ripe_parse_searchcomplete(r->body, r->body_len, h, cap, err, errlen);
		if (n < 0) {
			free(h);
			return -1;
		}
		*data = h;
		*len = (size_t)n * sizeof(*h);
		return 0;
	}
	}
	snprintf(err, errlen, "unknown call");
	return -1;
}

/* as-overview answers are cached by name, for AS lookups and for the names of address answers */
static void as_cache_name(uint32_t asn, char *out, size_t cap)
{
	snprintf(out, cap, "AS%u.as-overview.ripestat.", asn);
}

static int as_recall(struct rasnd *d, uint32_t asn, struct rasn_ripe_as *out)
{
	char cname[64];
	struct rasn_cache_hit h;
	as_cache_name(asn, cname, sizeof(cname));
	if (!d->cache || rasn_cache_get_name(d->cache, cname, strlen(cname), rasn_clock_wall_ms(), &h) < 0 ||
	    h.val.len != sizeof(*out))
		return -1;
	memcpy(out, h.val.data, sizeof(*out));
	/* our own bytes, still checked: the same AS, a NUL-terminated name */
	if (out->asn != asn || !memchr(out->holder, 0, sizeof(out->holder))) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	d->stats.cache_hits++;
	return 0;
}

static void as_remember(struct rasnd *d, const struct rasn_ripe_as *as)
{
	char cname[64];
	if (!d->cache)
		return;
	as_cache_name(as->asn, cname, sizeof(cname));
	/* [cache] ttl / negative_ttl as they are now, not the DNS TTL bounds of domain answers */
	struct rasn_cache_val v = { as, sizeof(*as), (as->found ? 0 : RASN_CACHE_NEGATIVE) | RASN_CACHE_TTL_EXACT };
	rasn_cache_put_name(d->cache, cname, strlen(cname), &v, rasn_clock_wall_ms(),
			    (as->found ? d->cfg.cache_ttl_s : d->cfg.cache_negative_ttl_s) * 1000);
}

struct naming {
	struct rasnd *d;
	struct rasnd_up_call *call;
	struct ip_answer a;
};

static void on_name(void *wud, const struct rasnd_up_result *r)
{
	struct naming *n = wud;
	/* the route stands without the name, and the try that found it succeeded: report it so
	 * (the breaker counts the success and frees its half-open probe slot, which the name's
	 * call may have been refused for). The waiters ask for a missing name again
	 * (on_netinfo): by then that slot is free. */
	if (r->status == RASND_UP_ANSWER && r->outcome == RASN_OK && r->len == sizeof(struct rasn_ripe_as)) {
		const struct rasn_ripe_as *as = r->data;
		as_remember(n->d, as);
		if (as->found)
			snprintf(n->a.name, sizeof(n->a.name), "%s", as->holder);
	} else {
		n->a.name_failed = 1;
	}
	rasnd_upstream_done(n->call, RASN_OK, 0, &n->a, sizeof(n->a), NULL);
	free(n);
}

static void submit_asn(struct rasnd *d, char kind, uint32_t asn, rasnd_up_waiter_fn fn, void *wud, int now);

/* An address call has its route: add the origin's name, then report the try. */
static void with_name(struct rasnd *d, struct rasnd_up_call *call, const struct rasn_ripe_netinfo *ni)
{
	struct naming *n = calloc(1, sizeof(*n));
	struct rasn_ripe_as as;
	if (!n) {
		struct ip_answer a;
		memset(&a, 0, sizeof(a));
		a.ni = *ni;
		rasnd_upstream_done(call, RASN_OK, 0, &a, sizeof(a), NULL);
		return;
	}
	n->d = d;
	n->call = call;
	n->a.ni = *ni;
	if (!ni->n_asns || as_recall(d, ni->asns[0], &as) == 0) {
		if (ni->n_asns && as.found)
			snprintf(n->a.name, sizeof(n->a.name), "%s", as.holder);
		rasnd_upstream_done(call, RASN_OK, 0, &n->a, sizeof(n->a), NULL);
		free(n);
		return;
	}
	submit_asn(d, 'a', ni->asns[0], on_name, n, 1);
}

static void on_http(void *ud, const struct rasnd_http_response *r)
{
	struct fetch *f = ud;
	char err[512];
	if (r->err != RASND_HTTP_OK) {
		snprintf(err, sizeof(err), "ripestat: %s", r->errmsg ? r->errmsg : rasnd_http_err_name(r->err));
		rasnd_upstream_done(f->call, outcome_of_err(r->err), 0, NULL, 0, err);
		free(f);
		return;
	}
	enum rasn_outcome o = rasn_outcome_from_http(r->status);
	if (o != RASN_OK) {
		uint64_t ra = r->retry_after ? retry_after_ms(r->retry_after) : 0;
		snprintf(err, sizeof(err), "ripestat: HTTP %d", r->status);
		rasnd_upstream_done(f->call, o, ra, NULL, 0, err);
		free(f);
		return;
	}
	void *data;
	size_t len;
	char why[256];
	if (parse_body(f, r, &data, &len, why, sizeof(why)) < 0) {
		snprintf(err, sizeof(err), "ripestat: malformed answer (%s)", why);
		rasnd_upstream_done(f->call, RASN_FINAL_MALFORMED, 0, NULL, 0, err);
	} else if (f->kind == 'n' || f->kind == 'N') {
		with_name(f->d, f->call, data);
		free(data);
	} else {
		rasnd_upstream_done(f->call, RASN_OK, 0, data, len, NULL);
		free(data);
	}
	free(f);
}

static void issue(void *ud, struct rasnd_up_call *call, const void *key, size_t keylen, unsigned ep)
{
	struct rasnd *d = ud;
	(void)ep; /* one endpoint: the base URL's origin */
	struct fetch *f = calloc(1, sizeof(*f));
	char res[256], url[RASN_RIPE_URL_MAX];
	if (!f) {
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "ripestat: out of memory");
		return;
	}
	f->d = d;
	f->call = call;
	if (resource_of(key, keylen, f, res, sizeof(res)) < 0) {
		free(f);
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "ripestat: bad key");
		return;
	}
	enum rasn_ripe_call c = f->kind == 'a' ? RASN_RIPE_AS_OVERVIEW
				: f->kind == 'p' ? RASN_RIPE_ANNOUNCED_PREFIXES
				: f->kind == 's' ? RASN_RIPE_SEARCHCOMPLETE : RASN_RIPE_NETWORK_INFO;
	if (rasn_ripe_url(d->cfg.ripe_base_url, c, res, d->cfg.ripe_sourceapp, url, sizeof(url)) < 0) {
		free(f);
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "ripestat: URL too long");
		return;
	}
	/* RIPEstat answers are small; the bound is this call's, not the dataset files' */
	struct rasnd_http_req req = { .url = url, .max_body = d->cfg.ripe_max_body };
	if (!d->httpc) {
		free(f);
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "ripestat: no HTTPS client");
		return;
	}
	d->stats.upstream_ripe++;
	if (rasnd_http_get(d->httpc, &req, on_http, f) < 0) {
		free(f);
		rasnd_upstream_done(call, RASN_FINAL_OTHER, 0, NULL, 0, "ripestat: cannot send the request");
	}
}

/* ---- the waiting side: one job per client request ---- */

struct ipjob {
	struct rasnd *d;
	struct rasnd_lookup *lk;
	struct rasn_addr addr;
	unsigned neg_also; /* RASND_UPCACHE_NEG_* of another source's cached miss for the address */
	int from_cache;
	int exact_asked;
	struct rasn_ripe_netinfo ni;
	char name[RASN_RIPE_NAME_MAX];
};

/* The text of a result that is not a usable answer, or NULL. */
static const char *failure(const struct rasnd_up_result *r)
{
	if (r->status != RASND_UP_ANSWER)
		return r->error ? r->error : "ripestat: failed";
	if (r->outcome != RASN_OK)
		return r->error ? r->error : "ripestat: the request was refused";
	return NULL;
}

static void ip_finish(struct ipjob *j, const char *error)
{
	struct rasnd_lookup *lk = j->lk;
	struct rasnd_slot *slot = lk->slot;
	struct rasn_buf *b = &slot->reply;
	const char *src = j->from_cache ? "cache" : "ripestat";
	enum rasnd_found found = RASND_FOUND;
	if (error) {
		rasn_reply_error(b, slot->query, slot->qlen, "ip", error);
		found = RASND_FAILED;
	} else if (!j->ni.n_asns) {
		rasn_reply_ip(b, slot->query, slot->qlen, &j->addr, NULL, src);
		found = RASND_NONE;
	} else {
		struct rasn_match m;
		struct rasn_buf nb;
		rasnd_upcache_match(&nb, &j->ni.prefix, j->ni.asns, j->ni.n_asns, j->name, "", &m);
		rasn_reply_ip(b, slot->query, slot->qlen, &j->addr, &m, src);
		rasn_buf_free(&nb);
	}
	free(j);
	rasnd_lookup_done(lk, found);
}

static void ip_remember(struct ipjob *j, int negative)
{
	struct rasnd_upcache_ip c;
	if (!negative) {
		memset(&c, 0, sizeof(c));
		c.version = RASND_UPCACHE_VERSION;
		c.n_asns = (uint8_t)(j->ni.n_asns > RASND_UPCACHE_ORIGINS ? RASND_UPCACHE_ORIGINS : j->ni.n_asns);
		memcpy(c.asns, j->ni.asns, c.n_asns * sizeof(c.asns[0]));
		c.family = (uint8_t)j->ni.prefix.family;
		c.plen = (uint8_t)j->ni.prefix.len;
		c.paddr = j->ni.prefix.addr;
		snprintf(c.name, sizeof(c.name), "%s", j->name);
	}
	rasnd_upcache_put(j->d, &j->addr, negative ? NULL : &c, RASND_UPCACHE_NEG_RIPE, j->neg_also);
}

/* 1 answered from the cache (j filled), 0 a cached miss, -1 nothing usable. */
static int ip_recall(struct ipjob *j)
{
	struct rasnd_upcache_ip c;
	int known = rasnd_upcache_get(j->d, &j->addr, RASND_UPCACHE_NEG_RIPE, &c, &j->neg_also);
	if (known <= 0)
		return known;
	j->ni.n_asns = c.n_asns;
	memcpy(j->ni.asns, c.asns, c.n_asns * sizeof(c.asns[0]));
	j->ni.prefix = (struct rasn_prefix){ c.family, c.paddr, c.plen };
	snprintf(j->name, sizeof(j->name), "%s", c.name);
	return 1;
}

static void submit_asn(struct rasnd *d, char kind, uint32_t asn, rasnd_up_waiter_fn fn, void *wud, int now)
{
	uint8_t key[5];
	key[0] = (uint8_t)kind;
	memcpy(key + 1, &asn, 4);
	/* a call waiting on this one goes out on the next loop pass, not after a batch delay */
	if (now)
		rasnd_upstream_submit_now(d->up_ripe, key, sizeof(key), fn, wud);
	else
		rasnd_upstream_submit(d->up_ripe, key, sizeof(key), fn, wud);
}

static void on_netinfo(void *wud, const struct rasnd_up_result *r);
static void on_job_name(void *wud, const struct rasnd_up_result *r);

static void submit_net(struct ipjob *j, int exact)
{
	uint8_t key[KEY_ADDR_LEN];
	struct rasn_addr net = j->addr;
	if (!exact)
		net.v &= ~rasn_hostmask(net.family, net.family == RASN_AF4 ? 24 : 48);
	key_addr(key, exact ? 'N' : 'n', &net);
	rasnd_upstream_submit(j->d->up_ripe, key, sizeof(key), on_netinfo, j);
}

static int covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	return p->family == a->family && ((a->v ^ p->addr) & ~rasn_hostmask(p->family, p->len)) == 0;
}

/* Which waiter this answer was for is not told: an exact answer's prefix always covers its
 * address (the parser checks it against the address asked), a /24 answer may not. */
static void on_netinfo(void *wud, const struct rasnd_up_result *r)
{
	struct ipjob *j = wud;
	const char *why = failure(r);
	if (why) {
		ip_finish(j, why);
		return;
	}
	if (r->len != sizeof(struct ip_answer)) {
		ip_finish(j, "ripestat: internal error (answer size)");
		return;
	}
	const struct ip_answer *ans = r->data;
	const struct rasn_ripe_netinfo *ni = &ans->ni;
	rasn_u128 netaddr = j->addr.v & ~rasn_hostmask(j->addr.family, j->addr.family == RASN_AF4 ? 24 : 48);
	int answered_for_me = ni->n_asns ? covers(&ni->prefix, &j->addr) : j->addr.v == netaddr;
	if (!answered_for_me && !j->exact_asked) {
		j->exact_asked = 1;
		submit_net(j, 1);
		return;
	}
	if (!ni->n_asns || !covers(&ni->prefix, &j->addr)) {
		ip_remember(j, 1);
		memset(&j->ni, 0, sizeof(j->ni));
		ip_finish(j, NULL); /* not announced */
		return;
	}
	j->ni = *ni;
	snprintf(j->name, sizeof(j->name), "%s", ans->name);
	if (ans->name_failed) {
		submit_asn(j->d, 'a', ni->asns[0], on_job_name, j, 1);
		return;
	}
	ip_remember(j, 0);
	ip_finish(j, NULL);
}

/* The second ask for a name the address call could not get. An answer without its name is
 * given, never cached: cached, it would lack the name for the whole TTL. */
static void on_job_name(void *wud, const struct rasnd_up_result *r)
{
	struct ipjob *j = wud;
	if (r->status == RASND_UP_ANSWER && r->outcome == RASN_OK && r->len == sizeof(struct rasn_ripe_as)) {
		const struct rasn_ripe_as *as = r->data;
		as_remember(j->d, as);
		if (as->found)
			snprintf(j->name, sizeof(j->name), "%s", as->holder);
		ip_remember(j, 0);
	} else {
		log_debug("ripestat: no name for AS%u (%s); the answer is not cached", j->ni.asns[0],
			  r->error ? r->error : "refused");
	}
	ip_finish(j, NULL);
}

/* The shared level's answer: when found, the entry is in the local levels now. */
static void on_shared_ip(void *ud, int found)
{
	struct ipjob *j = ud;
	if (found && ip_recall(j) >= 0) {
		j->from_cache = 1;
		ip_finish(j, NULL);
		return;
	}
	submit_net(j, 0);
}

static void ripe_ip(struct rasnd_lookup *lk)
{
	struct rasnd *d = lk->d;
	struct ipjob *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&lk->slot->reply, lk->slot->query, lk->slot->qlen, "ip", "out of memory");
		rasnd_lookup_done(lk, RASND_FAILED);
		return;
	}
	j->d = d;
	j->lk = lk;
	j->addr = lk->addr;
	if (ip_recall(j) >= 0) {
		j->from_cache = 1;
		ip_finish(j, NULL);
		return;
	}
	/* the shared level next (daemon/rediscache.h), when there is one */
	if (rasnd_redis_get_addr(d->redis, &j->addr, on_shared_ip, j) == 0)
		return;
	submit_net(j, 0);
}

/* ---- AS numbers ---- */

struct asjob {
	struct rasnd *d;
	struct rasnd_lookup *lk;
	uint32_t asn;
	int from_cache;
	struct rasn_ripe_as as;
};

static void as_finish(struct asjob *j, const char *error)
{
	struct rasnd_lookup *lk = j->lk;
	struct rasnd_slot *slot = lk->slot;
	struct rasn_buf *b = &slot->reply;
	enum rasnd_found found = error ? RASND_FAILED : j->as.found ? RASND_FOUND : RASND_NONE;
	if (error || !j->as.found) {
		if (error) {
			rasn_reply_error(b, slot->query, slot->qlen, "as", error);
		} else {
			rasn_reply_open(b, slot->query, slot->qlen, "as", "not_found");
			rasn_buf_printf(b, ",\"asn\":%u", j->asn);
			rasn_reply_close(b, j->from_cache ? "cache" : "ripestat");
		}
	} else {
		rasn_reply_open(b, slot->query, slot->qlen, "as", "ok");
		rasn_buf_printf(b, ",\"asn\":%u,\"as_name\":", j->asn);
		rasn_buf_json_str(b, j->as.holder, strlen(j->as.holder));
		rasn_buf_printf(b, ",\"announced\":%s", j->as.announced ? "true" : "false");
		rasn_reply_close(b, j->from_cache ? "cache" : "ripestat");
	}
	free(j);
	rasnd_lookup_done(lk, found);
}

static void on_as(void *wud, const struct rasnd_up_result *r)
{
	struct asjob *j = wud;
	const char *why = failure(r);
	if (!why && r->len != sizeof(j->as))
		why = "ripestat: internal error (answer size)";
	if (why) {
		as_finish(j, why);
		return;
	}
	memcpy(&j->as, r->data, sizeof(j->as));
	as_remember(j->d, &j->as);
	as_finish(j, NULL);
}

static void on_shared_as(void *ud, int found)
{
	struct asjob *j = ud;
	if (found && as_recall(j->d, j->asn, &j->as) == 0) {
		j->from_cache = 1;
		as_finish(j, NULL);
		return;
	}
	submit_asn(j->d, 'a', j->asn, on_as, j, 0);
}

static void ripe_as(struct rasnd_lookup *lk)
{
	struct rasnd *d = lk->d;
	uint32_t asn = lk->asn;
	struct asjob *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&lk->slot->reply, lk->slot->query, lk->slot->qlen, "as", "out of memory");
		rasnd_lookup_done(lk, RASND_FAILED);
		return;
	}
	j->d = d;
	j->lk = lk;
	j->asn = asn;
	if (as_recall(d, asn, &j->as) == 0) {
		j->from_cache = 1;
		as_finish(j, NULL);
		return;
	}
	char cname[64];
	as_cache_name(asn, cname, sizeof(cname));
	if (rasnd_redis_get_name(d->redis, cname, strlen(cname), on_shared_as, j) == 0)
		return;
	submit_asn(d, 'a', asn, on_as, j, 0);
}

/* ---- announced prefixes, organisation search: asked of RIPEstat by name only ---- */

struct listjob {
	struct rasnd *d;
	struct rasnd_slot *slot;
	uint32_t asn;
};

static void on_prefixes(void *wud, const struct rasnd_up_result *r)
{
	struct listjob *j = wud;
	struct rasnd_slot *slot = j->slot;
	const char *why = failure(r);
	const struct prefixes_answer *pa = r->data;
	if (!why && (r->len < sizeof(*pa) || r->len != sizeof(*pa) + pa->n * sizeof(pa->p[0])))
		why = "ripestat: internal error (answer size)";
	if (why)
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "prefixes", why);
	else
		rasn_reply_prefixes(&slot->reply, slot->query, slot->qlen, j->asn, NULL, pa->p, pa->n, "ripestat");
	free(j);
	rasnd_slot_complete(slot);
}

static void ripe_prefixes(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn)
{
	struct listjob *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "prefixes", "out of memory");
		rasnd_slot_complete(slot);
		return;
	}
	j->d = d;
	j->slot = slot;
	j->asn = asn;
	submit_asn(d, 'p', asn, on_prefixes, j, 0);
}

static void on_org(void *wud, const struct rasnd_up_result *r)
{
	struct listjob *j = wud;
	struct rasnd_slot *slot = j->slot;
	const char *why = failure(r);
	size_t n = r->len / sizeof(struct rasn_ripe_org_hit);
	if (!why && r->len % sizeof(struct rasn_ripe_org_hit))
		why = "ripestat: internal error (answer size)";
	if (why) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "org", why);
	} else {
		const struct rasn_ripe_org_hit *h = r->data;
		struct rasn_org_hit *hits = calloc(n ? n : 1, sizeof(*hits));
		struct rasn_buf *names = calloc(n ? n : 1, sizeof(*names));
		if (!hits || !names) {
			rasn_reply_error(&slot->reply, slot->query, slot->qlen, "org", "out of memory");
		} else {
			for (size_t i = 0; i < n; i++) {
				rasn_buf_init(&names[i]);
				rasn_buf_json_esc(&names[i], h[i].name, strlen(h[i].name));
				hits[i].asn = h[i].asn;
				hits[i].name = h[i].name;
				hits[i].name_json = names[i].oom || !names[i].data ? "" : names[i].data;
				hits[i].name_json_len = names[i].oom ? 0 : names[i].len;
			}
			rasn_reply_org(&slot->reply, slot->query, slot->qlen, hits, n, n, "ripestat");
			for (size_t i = 0; i < n; i++)
				rasn_buf_free(&names[i]);
		}
		free(hits);
		free(names);
	}
	free(j);
	rasnd_slot_complete(slot);
}

static void ripe_org(struct rasnd *d, struct rasnd_slot *slot, const char *text, size_t len)
{
	uint8_t key[1 + ORG_TEXT_MAX];
	struct listjob *j;
	if (len == 0 || len > ORG_TEXT_MAX) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "org",
				 "ripestat: search text must be 1 to 200 bytes");
		rasnd_slot_complete(slot);
		return;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "org", "out of memory");
		rasnd_slot_complete(slot);
		return;
	}
	j->d = d;
	j->slot = slot;
	key[0] = 's';
	memcpy(key + 1, text, len);
	rasnd_upstream_submit(d->up_ripe, key, 1 + len, on_org, j);
}

/* ---- set-up ---- */

/* The "ripestat" upstream over the daemon's HTTPS client (d->httpc, daemon/main.c); without
 * that client each try fails with "no HTTPS client". */
static int ripe_init(struct rasnd *d, char *err, size_t errlen)
{
	const struct rasnd_config *c = &d->cfg;
	struct rasnd_upstream_cfg uc;
	memset(&uc, 0, sizeof(uc));
	const char *names[1] = { c->ripe_base_url };
	uc.name = "ripestat";
	uc.n_endpoints = 1;
	uc.endpoint_names = names;
	rasnd_upstream_cfg_from_config(c, &uc);
	static const struct rasnd_up_ops ops = { issue };
	return rasnd_upstream_new(d->base, &uc, &ops, d, &d->up_ripe, err, errlen);
}

/* After the HTTPS client is freed (daemon/main.c): its requests end (ESHUTDOWN) into the live
 * upstream, which answers their waiters; then the upstream answers whatever is still queued. */
static void ripe_free(struct rasnd *d)
{
	rasnd_upstream_free(d->up_ripe);
	d->up_ripe = NULL;
}

static struct rasnd_upstream *ripe_upstream(const struct rasnd *d)
{
	return d->up_ripe;
}

static uint64_t ripe_sent(const struct rasnd *d)
{
	return d->stats.upstream_ripe;
}

const struct rasnd_source rasnd_source_ripestat = {
	.name = "ripestat",
	.order = RASND_ANS_IP | RASND_ANS_AS,
	.asked = RASND_ANS_IP | RASND_ANS_AS | RASND_ANS_PREFIXES | RASND_ANS_ORG,
	.asked_error = "@ripestat answers addresses, AS numbers, prefixes and org",
	.help = "ripestat (addresses, AS numbers, prefixes ASn, org TEXT)",
	.init = ripe_init,
	.free = ripe_free,
	.ip = ripe_ip,
	.as = ripe_as,
	.prefixes = ripe_prefixes,
	.org = ripe_org,
	.upstream = ripe_upstream,
	.sent = ripe_sent,
	.sent_help = "HTTP requests sent to RIPEstat (each try counts).",
};
