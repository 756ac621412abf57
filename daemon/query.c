/* What each request line gets: parse (lib/proto), look up (lib/table), format (lib/reply),
 * into the session's output in request order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "build_config.h"
#include "clock.h"
#include "log.h"
#include "rasnd.h"
#include "reply.h"
#include "special.h"
#include "whoisq.h"
#include "dns.h"
#include "srccymru.h"
#include "srcripe.h"
#include "upstream.h"
#include "cache.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>

static const char help_text[] =
	"rasnd " RASN_VERSION " answers one request per line, one JSON reply line each, in order.\n"
	"  8.8.8.8 | 2001:db8::1 | ip ADDR   origin AS, matched prefix and range, AS name\n"
	"  AS15169 | as 15169                 AS name, ranges and prefix counts\n"
	"  prefixes AS15169                   aggregated prefixes of an AS\n"
	"  org TEXT                           ASes whose name contains TEXT\n"
	"  example.com | domain NAME          A and AAAA (needs a resolver), each address answered\n"
	"                                     as an address lookup ([lookup] order, or @table)\n"
	"  ping | stats | help | reload       liveness, counters, this text, reload the dataset\n"
	"  refresh                            fetch [dataset] url now (conditional GET), swap in what changed\n"
	"  stats prometheus                   counters in the Prometheus text format, ending in # EOF\n"
	"  begin ... end                      Team Cymru bulk block (text rows)\n"
	"  QUERY @SOURCE                      ask one source only: table; cymru (addresses, AS numbers);\n"
	"                                     ripestat (addresses, AS numbers, prefixes ASn, org TEXT)\n";

static const char *const source_table = "table";

static int is_source(const struct rasn_request *r, const char *name)
{
	size_t n = strlen(name);
	return r->source && r->source_len == n && strncasecmp(r->source, name, n) == 0;
}

/* NULL when a "@NAME" suffix is absent or names a source this daemon has for the request's
 * type, else why not. */
static const char *source_error(const struct rasn_request *r)
{
	if (!r->source || is_source(r, "table") ||
	    (is_source(r, "cymru") && (r->type == RASN_Q_IP || r->type == RASN_Q_AS)) ||
	    (is_source(r, "ripestat") && (r->type == RASN_Q_IP || r->type == RASN_Q_AS ||
					  r->type == RASN_Q_PREFIXES || r->type == RASN_Q_ORG)))
		return NULL;
	return is_source(r, "cymru")      ? "@cymru answers addresses and AS numbers"
	       : is_source(r, "ripestat") ? "@ripestat answers addresses, AS numbers, prefixes and org"
					  : "unknown source (available: table, cymru, ripestat)";
}

/* A "@NAME" suffix must name a source this daemon has. Returns 0 or writes the error reply. */
static int check_source(struct rasnd_session *s, const struct rasn_request *r, const char *q, size_t qlen)
{
	const char *why = source_error(r);
	if (!why)
		return 0;
	rasn_reply_error(rasnd_session_outbuf(s), q, qlen, rasn_qtype_name(r->type), why);
	return -1;
}

/* A reply slot for an asynchronous answer, or NULL after an error reply. */
static struct rasnd_slot *async_slot(struct rasnd_session *s, const char *q, size_t qlen, const char *type)
{
	struct rasnd_slot *slot = rasnd_session_slot(s, q, qlen, 0);
	if (!slot)
		rasn_reply_error(rasnd_session_outbuf(s), q, qlen, type, "out of memory");
	return slot;
}

/* The position after pos in [lookup] order, or -1 at its end. */
static int order_next(const struct rasnd_config *c, int pos)
{
	return pos + 1 < c->order_n ? pos + 1 : -1;
}

/* Does the table answer at position pos by itself: the table there, not enriched by Cymru? */
static int table_alone_at(const struct rasnd_config *c, int pos)
{
	int next = order_next(c, pos);
	return pos < c->order_n && c->order_src[pos] == RASND_SRC_TABLE &&
	       (next < 0 || c->order_src[next] != RASND_SRC_CYMRU);
}

/* An address no AS can originate (lib/special.h): answered here as not_found with the
 * registry's reason, before the table or any upstream, whatever the order or @SOURCE says
 * (a dataset row covering it does not count). Returns 1 when answered into b. */
static int special_reply(struct rasnd *d, struct rasn_buf *b, const struct rasn_addr *a, const char *q, size_t qlen)
{
	const struct rasn_special *sp = rasn_special_lookup(a);
	if (!sp)
		return 0;
	d->stats.special++;
	rasn_reply_ip_special(b, q, qlen, a, sp->reason, "special");
	return 1;
}

/* Hand an address to the sources of the order from pos on, through a reply slot (answers
 * stay in order). */
static void ask_order_ip(struct rasnd_session *s, const struct rasn_addr *a, const char *q, size_t qlen, int pos)
{
	struct rasnd_slot *slot = async_slot(s, q, qlen, "ip");
	if (slot)
		rasnd_order_ip(s->d, slot, a, pos);
}

static void do_ip(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		  const char *q, size_t qlen)
{
	const struct rasnd_config *c = &s->d->cfg;
	if (special_reply(s->d, b, &r->addr, q, qlen))
		return;
	if (is_source(r, "ripestat") || is_source(r, "cymru")) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, "ip");
		if (slot && is_source(r, "ripestat"))
			rasnd_ripe_ip(s->d, slot, &r->addr, -1);
		else if (slot)
			rasnd_cymru_ip(s->d, slot, &r->addr, RASND_CYMRU_ONLY, -1);
		return;
	}
	if (!r->source && !table_alone_at(c, 0)) {
		ask_order_ip(s, &r->addr, q, qlen, 0);
		return;
	}
	struct rasn_match m;
	int found = rasn_table_lookup(s->d->table, &r->addr, &m);
	if (found)
		s->d->stats.table_hits++;
	else
		s->d->stats.table_misses++;
	if (!found && !r->source && order_next(c, 0) >= 0) {
		ask_order_ip(s, &r->addr, q, qlen, 1);
		return;
	}
	rasn_reply_ip(b, q, qlen, &r->addr, found ? &m : NULL, source_table);
}

static void count_families(const struct rasn_prefix *p, long n, size_t *v4, size_t *v6)
{
	*v4 = *v6 = 0;
	for (long i = 0; i < n; i++)
		(p[i].family == RASN_AF4 ? (*v4)++ : (*v6)++);
}

/* One table lookup, counted. */
static int table_lookup(struct rasnd *d, const struct rasn_addr *a, struct rasn_match *m)
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
	int found = table_lookup(d, a, &m);
	rasn_reply_ip(&slot->reply, slot->query, slot->qlen, a, found ? &m : NULL, source_table);
}

void rasnd_table_as_reply(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, const struct rasn_as_info *info)
{
	struct rasn_prefix *p = NULL;
	long n = info ? rasn_table_as_prefixes(d->table, asn, &p) : 0;
	size_t v4, v6;
	count_families(p, n, &v4, &v6);
	free(p);
	rasn_reply_as(&slot->reply, slot->query, slot->qlen, asn, info, v4, v6, source_table);
}

/* The table's answer to "as ASN" or "prefixes ASN", written into b now. */
static void table_as_answer(struct rasnd *d, struct rasn_buf *b, const char *q, size_t qlen,
			    uint32_t asn, int prefixes)
{
	struct rasn_as_info info;
	int found = rasn_table_as(d->table, asn, &info);
	struct rasn_prefix *p = NULL;
	long n = 0;
	if (found) {
		d->stats.table_hits++;
		n = rasn_table_as_prefixes(d->table, asn, &p);
		if (n < 0) {
			rasn_reply_error(b, q, qlen, prefixes ? "prefixes" : "as", "out of memory");
			return;
		}
	} else {
		d->stats.table_misses++;
	}
	if (prefixes) {
		rasn_reply_prefixes(b, q, qlen, asn, found ? &info : NULL, p, (size_t)n, source_table);
	} else {
		size_t v4, v6;
		count_families(p, n, &v4, &v6);
		rasn_reply_as(b, q, qlen, asn, found ? &info : NULL, v4, v6, source_table);
	}
	free(p);
}

static void do_as(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		  const char *q, size_t qlen, int prefixes)
{
	const struct rasnd_config *c = &s->d->cfg;
	int ripe = is_source(r, "ripestat"), cymru = !prefixes && is_source(r, "cymru");
	int order = !prefixes && !r->source && (c->order_n > 1 || c->order_src[0] != RASND_SRC_TABLE);
	if (ripe || cymru || order) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, prefixes ? "prefixes" : "as");
		if (!slot)
			return;
		if (ripe && prefixes)
			rasnd_ripe_prefixes(s->d, slot, r->asn);
		else if (ripe)
			rasnd_ripe_as(s->d, slot, r->asn, -1);
		else if (cymru)
			rasnd_cymru_as(s->d, slot, r->asn, RASND_CYMRU_ONLY, -1);
		else
			rasnd_order_as(s->d, slot, r->asn, 0);
		return;
	}
	table_as_answer(s->d, b, q, qlen, r->asn, prefixes);
}

/* The table's answer to "org TEXT", written into b now. */
static void table_org_answer(struct rasnd *d, struct rasn_buf *b, const char *q, size_t qlen,
			     const struct rasn_request *r)
{
	size_t cap = d->cfg.org_max_results;
	struct rasn_org_hit *hits = malloc(cap * sizeof(*hits));
	if (!hits) {
		rasn_reply_error(b, q, qlen, "org", "out of memory");
		return;
	}
	size_t total = rasn_table_org_search(d->table, r->arg, r->arg_len, hits, cap);
	rasn_reply_org(b, q, qlen, hits, total < cap ? total : cap, total, source_table);
	free(hits);
}

static void do_org(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		   const char *q, size_t qlen)
{
	if (is_source(r, "ripestat")) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, "org");
		if (slot)
			rasnd_ripe_org(s->d, slot, r->arg, r->arg_len);
		return;
	}
	table_org_answer(s->d, b, q, qlen, r);
}

static void do_stats(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		     const char *q, size_t qlen)
{
	if (r->arg_len == 10 && strncasecmp(r->arg, "prometheus", 10) == 0) {
		/* text, many lines: the one reply that is not a JSON line; "# EOF" ends it */
		rasnd_stats_prometheus(s->d, b);
		return;
	}
	if (r->arg_len && !(r->arg_len == 4 && strncasecmp(r->arg, "json", 4) == 0)) {
		rasn_reply_error(b, q, qlen, "stats", "unknown stats format (json, prometheus)");
		return;
	}
	rasn_reply_open(b, q, qlen, "stats", "ok");
	rasn_buf_lit(b, ",\"stats\":");
	rasnd_stats_json(s->d, b);
	rasn_reply_close(b, NULL);
}

/* ---- domain lookups --------------------------------------------------------------------
 * A and AAAA go out in parallel through the "dns" upstream (daemon/upstream.h): a key per
 * family and name, so lookups of one name in flight share its two calls; retried per [retry];
 * on the resolvers whose breaker (shared with Cymru's queries) lets them through. Each address
 * of the answer is then answered as an address lookup would be: the same sources in the same
 * [lookup] order (the table, Cymru, RIPEstat), through a reply slot of its own. */

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

void rasnd_order_ip(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int pos)
{
	const struct rasnd_config *c = &d->cfg;
	int next = order_next(c, pos);
	int src = pos < c->order_n ? c->order_src[pos] : RASND_SRC_TABLE;
	if (src == RASND_SRC_CYMRU) {
		rasnd_cymru_ip(d, slot, a, RASND_CYMRU_ONLY, next);
		return;
	}
	if (src == RASND_SRC_RIPE) {
		rasnd_ripe_ip(d, slot, a, next);
		return;
	}
	if (next >= 0 && c->order_src[next] == RASND_SRC_CYMRU) {
		/* the table answers and Cymru adds what it knows; Cymru answers what the table lacks */
		rasnd_cymru_ip(d, slot, a, RASND_CYMRU_ENRICH, order_next(c, next));
		return;
	}
	struct rasn_match m;
	int found = table_lookup(d, a, &m);
	if (!found && next >= 0) {
		rasnd_order_ip(d, slot, a, next);
		return;
	}
	rasn_reply_ip(&slot->reply, slot->query, slot->qlen, a, found ? &m : NULL, source_table);
	rasnd_slot_complete(slot);
}

void rasnd_order_as(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, int pos)
{
	const struct rasnd_config *c = &d->cfg;
	int next = order_next(c, pos);
	int src = pos < c->order_n ? c->order_src[pos] : RASND_SRC_TABLE;
	if (src == RASND_SRC_CYMRU) {
		rasnd_cymru_as(d, slot, asn, RASND_CYMRU_ONLY, next);
		return;
	}
	if (src == RASND_SRC_RIPE) {
		rasnd_ripe_as(d, slot, asn, next);
		return;
	}
	if (next >= 0 && c->order_src[next] == RASND_SRC_CYMRU) {
		rasnd_cymru_as(d, slot, asn, RASND_CYMRU_ENRICH, order_next(c, next));
		return;
	}
	struct rasn_as_info info;
	int found = rasn_table_as(d->table, asn, &info);
	if (found)
		d->stats.table_hits++;
	else
		d->stats.table_misses++;
	if (!found && next >= 0) {
		rasnd_order_as(d, slot, asn, next);
		return;
	}
	rasnd_table_as_reply(d, slot, asn, found ? &info : NULL);
	rasnd_slot_complete(slot);
}

/* The address lookup's answer for a, into slot (completed now or later): the sources of
 * [lookup] order, as do_ip and the batched path ask them, or the table alone. */
static void answer_address(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a, int only_table)
{
	if (special_reply(d, &slot->reply, a, slot->query, slot->qlen)) {
		rasnd_slot_complete(slot);
		return;
	}
	if (!only_table) {
		rasnd_order_ip(d, slot, a, 0);
		return;
	}
	struct rasn_match m;
	int found = table_lookup(d, a, &m);
	rasn_reply_ip(&slot->reply, slot->query, slot->qlen, a, found ? &m : NULL, source_table);
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

static void domain_start(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_request *r);

static void do_domain(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		      const char *q, size_t qlen)
{
	struct rasnd *d = s->d;
	if (!d->dns || !d->up_dns) {
		rasn_reply_error(b, q, qlen, "domain", "domain lookups need a DNS resolver; none could be set up (see [dns] servers)");
		return;
	}
	struct rasnd_slot *slot = rasnd_session_slot(s, q, qlen, 0);
	if (!slot) {
		rasn_reply_error(b, q, qlen, "domain", "out of memory");
		return;
	}
	domain_start(d, slot, r);
}

/* A domain lookup answered into slot (completed now or later); d has a resolver. */
static void domain_start(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_request *r)
{
	struct domain_job *j = calloc(1, sizeof(*j));
	if (!j) {
		rasn_reply_error(&slot->reply, slot->query, slot->qlen, "domain", "out of memory");
		rasnd_slot_complete(slot);
		return;
	}
	j->slot = slot;
	j->d = d;
	j->only_table = is_source(r, "table");
	memcpy(j->name, r->arg, r->arg_len);
	j->name[r->arg_len] = '\0';
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

/* ---- Team Cymru bulk block ---- */

void rasnd_cymru_ip_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, const struct rasn_addr *a, int *header)
{
	d->stats.queries[RASN_Q_IP]++;
	if (!*header) {
		rasn_cymru_ip_header(b, opts);
		*header = 1;
	}
	struct rasn_match m;
	int found = 0;
	if (rasn_special_lookup(a))
		d->stats.special++; /* Team Cymru's row for these: all NA */
	else
		found = table_lookup(d, a, &m);
	rasn_cymru_ip_rows(b, opts, a, found ? &m : NULL);
}

void rasnd_cymru_as_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, uint32_t asn, int *header)
{
	d->stats.queries[RASN_Q_AS]++;
	if (!*header) {
		rasn_cymru_as_header(b, opts);
		*header = 1;
	}
	struct rasn_as_info info;
	int found = rasn_table_as(d->table, asn, &info);
	rasn_cymru_as_row(b, opts, asn, found ? &info : NULL);
}

/* The option words of a bulk block, as the whois listener takes them (lib/whoisq.c). */
static int bulk_option(struct rasnd_session *s, const char *w, size_t n)
{
	return rasn_whoisq_option(w, n, &s->bulk_opts);
}

static void bulk_line(struct rasnd_session *s, const char *line, size_t len)
{
	struct rasn_buf *b = rasnd_session_outbuf(s);
	while (len && (line[0] == ' ' || line[0] == '\t'))
		line++, len--;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return; /* Cymru skips blank lines in a block */
	if (bulk_option(s, line, len))
		return;
	s->bulk_line++;
	struct rasn_request r;
	rasn_proto_parse(line, len, &r);
	s->d->stats.bulk_rows++;
	if (r.type == RASN_Q_END) {
		s->in_bulk = 0;
		return;
	}
	if (r.type == RASN_Q_BEGIN)
		return;
	if (r.type == RASN_Q_IP) {
		rasnd_cymru_ip_answer(s->d, b, s->bulk_opts, &r.addr, &s->bulk_ip_header);
		return;
	}
	if (r.type == RASN_Q_AS) {
		rasnd_cymru_as_answer(s->d, b, s->bulk_opts, r.asn, &s->bulk_as_header);
		return;
	}
	s->d->stats.queries[RASN_Q_INVALID]++;
	rasn_buf_printf(b, "Error: no ASN or IP match on line %zu.\n", s->bulk_line);
}

static void do_begin(struct rasnd_session *s, struct rasn_buf *b)
{
	rasn_cymru_bulk_banner(b, time(NULL));
	s->in_bulk = 1;
	s->bulk_opts = 0;
	s->bulk_ip_header = s->bulk_as_header = 0;
	s->bulk_line = 0;
}

static void dispatch(struct rasnd_session *s, const char *line, size_t len, struct rasn_request *rq);

void rasnd_query_line(struct rasnd_session *s, const char *line, size_t len)
{
	s->d->stats.lines++;
	if (s->in_bulk) {
		bulk_line(s, line, len);
		return;
	}
	struct rasn_request r;
	rasn_proto_parse(line, len, &r);
	dispatch(s, line, len, &r);
}

/* Address lines waiting for one batched lookup; answered in order before anything else. */
struct pending_ips {
	struct rasn_addr addr[RASN_LOOKUP_BATCH];
	const char *line[RASN_LOOKUP_BATCH];
	size_t len[RASN_LOOKUP_BATCH];
	int explicit_table[RASN_LOOKUP_BATCH];  /* "@table": no other source */
	size_t n;
};

static void flush_ips(struct rasnd_session *s, struct pending_ips *p)
{
	if (!p->n)
		return;
	struct rasn_match m[RASN_LOOKUP_BATCH];
	int found[RASN_LOOKUP_BATCH];
	rasn_table_lookup_batch(s->d->table, p->addr, p->n, m, found);
	for (size_t k = 0; k < p->n; k++) {
		/* in the batch all the same (a special line must not cut it short); its table
		 * answer is not used */
		if (special_reply(s->d, rasnd_session_outbuf(s), &p->addr[k], p->line[k], p->len[k]))
			continue;
		if (found[k])
			s->d->stats.table_hits++;
		else
			s->d->stats.table_misses++;
		if (!p->explicit_table[k] && !table_alone_at(&s->d->cfg, 0)) {
			/* Cymru enriches what the table answers and answers what it lacks */
			ask_order_ip(s, &p->addr[k], p->line[k], p->len[k], 0);
			continue;
		}
		if (!p->explicit_table[k] && !found[k] && order_next(&s->d->cfg, 0) >= 0) {
			ask_order_ip(s, &p->addr[k], p->line[k], p->len[k], 1);
			continue;
		}
		/* fetched per reply: a slot opened above takes what follows it */
		struct rasn_buf *b = rasnd_session_outbuf(s);
		size_t before = b->len;
		rasn_reply_ip(b, p->line[k], p->len[k], &p->addr[k], found[k] ? &m[k] : NULL, source_table);
		s->pass_out += b->len - before;
	}
	p->n = 0;
}

size_t rasnd_query_lines(struct rasnd_session *s, const struct rasnd_line *ln, size_t n)
{
	struct pending_ips p;
	p.n = 0;
	for (size_t i = 0; i < n; i++) {
		if (ln[i].len > RASN_LINE_MAX) {
			flush_ips(s, &p);
			rasnd_query_long_line(s, ln[i].p, ln[i].len);
			continue;
		}
		if (s->in_bulk) {
			flush_ips(s, &p);
			rasnd_query_line(s, ln[i].p, ln[i].len);
			continue;
		}
		struct rasn_request r;
		rasn_proto_parse(ln[i].p, ln[i].len, &r);
		s->d->stats.lines++;
		if (r.type == RASN_Q_IP && (is_source(&r, "table") ||
					    (!r.source && s->d->cfg.order_src[0] == RASND_SRC_TABLE))) {
			s->d->stats.queries[RASN_Q_IP]++;
			p.explicit_table[p.n] = r.source != NULL;
			p.addr[p.n] = r.addr;
			p.line[p.n] = ln[i].p;
			p.len[p.n] = ln[i].len;
			if (++p.n == RASN_LOOKUP_BATCH) {
				flush_ips(s, &p);
				if (rasnd_session_pass_over(s))
					return i + 1;
			}
			continue;
		}
		flush_ips(s, &p);
		/* what the reply adds counts against the pass's bound, by its size (a big AS's
		 * prefixes, stats prometheus); an answer that comes later counts when it comes */
		struct rasn_buf *b = rasnd_session_outbuf(s);
		size_t before = b->len;
		dispatch(s, ln[i].p, ln[i].len, &r);
		if (rasnd_session_outbuf(s) == b && b->len > before)
			s->pass_out += b->len - before;
		if (rasnd_session_stalled(s) || s->closed || rasnd_session_pass_over(s))
			return i + 1; /* a barrier (reload), the pending bound, or the pass's bound */
	}
	flush_ips(s, &p);
	return n;
}

static void dispatch(struct rasnd_session *s, const char *line, size_t len, struct rasn_request *rq)
{
	struct rasnd *d = s->d;
	struct rasn_request r = *rq;
	d->stats.queries[r.type]++;
	struct rasn_buf *b = rasnd_session_outbuf(s);
	if (r.type != RASN_Q_INVALID && check_source(s, &r, line, len) < 0)
		return;
	switch (r.type) {
	case RASN_Q_IP:
		do_ip(s, b, &r, line, len);
		break;
	case RASN_Q_AS:
		do_as(s, b, &r, line, len, 0);
		break;
	case RASN_Q_PREFIXES:
		do_as(s, b, &r, line, len, 1);
		break;
	case RASN_Q_ORG:
		do_org(s, b, &r, line, len);
		break;
	case RASN_Q_DOMAIN:
		do_domain(s, b, &r, line, len);
		break;
	case RASN_Q_PING:
		rasn_reply_open(b, line, len, "ping", "ok");
		rasn_buf_lit(b, ",\"version\":\"" RASN_VERSION "\"");
		rasn_reply_close(b, NULL);
		break;
	case RASN_Q_HELP:
		rasn_reply_open(b, line, len, "help", "ok");
		rasn_buf_lit(b, ",\"help\":");
		rasn_buf_json_str(b, help_text, sizeof(help_text) - 1);
		rasn_reply_close(b, NULL);
		break;
	case RASN_Q_STATS:
		do_stats(s, b, &r, line, len);
		break;
	case RASN_Q_RELOAD: {
		struct rasnd_slot *slot = rasnd_session_slot(s, line, len, 1);
		if (!slot) {
			rasn_reply_error(b, line, len, "reload", "out of memory");
			break;
		}
		rasnd_reload_start(d, slot);
		break;
	}
	case RASN_Q_REFRESH: {
		struct rasnd_slot *slot = rasnd_session_slot(s, line, len, 1);
		if (!slot) {
			rasn_reply_error(b, line, len, "refresh", "out of memory");
			break;
		}
		rasnd_refresh_start(d, slot);
		break;
	}
	case RASN_Q_BEGIN:
		do_begin(s, b);
		break;
	case RASN_Q_END:
		rasn_reply_error(b, line, len, "end", "end without begin");
		break;
	case RASN_Q_INVALID:
		rasn_reply_error(b, line, len, "invalid", r.error ? r.error : "bad request");
		break;
	}
}

void rasnd_query_long_line(struct rasnd_session *s, const char *line, size_t len)
{
	char msg[96];
	s->d->stats.lines++;
	s->d->stats.long_lines++;
	s->d->stats.queries[RASN_Q_INVALID]++;
	snprintf(msg, sizeof(msg), "line too long (more than %d bytes)", RASN_LINE_MAX);
	rasn_reply_error(rasnd_session_outbuf(s), line, len < 64 ? len : 64, "invalid", msg);
}


/* ---- answers outside any session (the HTTP API) ---- */

int rasnd_query_bad_request(const char *line, size_t len)
{
	struct rasn_request r;
	rasn_proto_parse(line, len, &r);
	return r.type == RASN_Q_INVALID || source_error(&r) != NULL;
}

void rasnd_query_answer(struct rasnd *d, struct rasnd_slot *slot, const char *line, size_t len)
{
	struct rasn_request r;
	struct rasn_buf *b = &slot->reply;
	rasn_proto_parse(line, len, &r);
	d->stats.queries[r.type]++;
	slot->qlen = len < sizeof(slot->query) ? len : sizeof(slot->query) - 1;
	memcpy(slot->query, line, slot->qlen);
	const char *why = r.type == RASN_Q_INVALID ? (r.error ? r.error : "bad request") : source_error(&r);
	if (why) {
		rasn_reply_error(b, line, len, rasn_qtype_name(r.type), why);
		rasnd_slot_complete(slot);
		return;
	}
	int ripe = is_source(&r, "ripestat"), cymru = is_source(&r, "cymru"), table = is_source(&r, "table");
	switch (r.type) {
	case RASN_Q_IP:
		if (special_reply(d, b, &r.addr, line, len)) {
			rasnd_slot_complete(slot);
			return;
		}
		if (ripe)
			rasnd_ripe_ip(d, slot, &r.addr, -1);
		else if (cymru)
			rasnd_cymru_ip(d, slot, &r.addr, RASND_CYMRU_ONLY, -1);
		else
			answer_address(d, slot, &r.addr, table);
		return;
	case RASN_Q_AS:
		if (ripe)
			rasnd_ripe_as(d, slot, r.asn, -1);
		else if (cymru)
			rasnd_cymru_as(d, slot, r.asn, RASND_CYMRU_ONLY, -1);
		else if (!table)
			rasnd_order_as(d, slot, r.asn, 0);
		else
			break;
		return;
	case RASN_Q_PREFIXES:
		if (ripe) {
			rasnd_ripe_prefixes(d, slot, r.asn);
			return;
		}
		break;
	case RASN_Q_ORG:
		if (ripe) {
			rasnd_ripe_org(d, slot, r.arg, r.arg_len);
			return;
		}
		table_org_answer(d, b, line, len, &r);
		rasnd_slot_complete(slot);
		return;
	case RASN_Q_DOMAIN:
		if (!d->dns || !d->up_dns) {
			rasn_reply_error(b, line, len, "domain", "domain lookups need a DNS resolver; none could be set up (see [dns] servers)");
			rasnd_slot_complete(slot);
			return;
		}
		domain_start(d, slot, &r);
		return;
	default:
		rasn_reply_error(b, line, len, rasn_qtype_name(r.type), "not answered here");
		rasnd_slot_complete(slot);
		return;
	}
	table_as_answer(d, b, line, len, r.asn, r.type == RASN_Q_PREFIXES);
	rasnd_slot_complete(slot);
}
