/* The DNS responder (see dnsresp.h): libknot parses the query and writes the answer; this file
 * decides what the answer is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "dnsresp.h"

#define ARENA_SIZE (96 * 1024)
#define N_ZONES 3
#define TXT_MAX 1024

struct zone {
	int on;
	int family;                      /* RASN_AF4, RASN_AF6, or 0 for the AS zone */
	knot_dname_storage_t name;       /* lower case wire form */
};

struct rasn_dnsresp {
	struct rasn_dnsresp_ops ops;
	void *ud;
	uint32_t ttl, negative_ttl;
	uint16_t udp_max;
	struct zone zones[N_ZONES];
	uint8_t soa[2 * KNOT_DNAME_MAXLEN + 20]; /* SOA rdata; the serial patched in place */
	size_t soa_len, soa_serial_off;
	knot_dname_storage_t ns[RASN_DNSRESP_MAX_NS];
	unsigned n_ns;
	/* per query: a bump arena for every libknot structure, reset at each query */
	knot_mm_t mm;
	size_t used;
	uint8_t qbuf[65536];
	_Alignas(16) uint8_t arena[ARENA_SIZE];
};

static void *arena_alloc(void *ctx, size_t len)
{
	struct rasn_dnsresp *r = ctx;
	size_t at = (r->used + 15) & ~(size_t)15;
	if (len > ARENA_SIZE || at > ARENA_SIZE - len)
		return NULL; /* libknot answers KNOT_ENOMEM: the query is dropped */
	r->used = at + len;
	return r->arena + at;
}

static void arena_free(void *p)
{
	(void)p; /* everything goes at the next reset */
}

static int to_dname(const char *s, uint8_t *out)
{
	if (!s || !*s || !knot_dname_from_str(out, s, KNOT_DNAME_MAXLEN))
		return -EINVAL;
	knot_dname_to_lower(out);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int rasn_dnsresp_new(const struct rasn_dnsresp_opts *o, const struct rasn_dnsresp_ops *ops, void *ud,
		     struct rasn_dnsresp **out)
{
	*out = NULL;
	if (!o->n_ns || o->n_ns > RASN_DNSRESP_MAX_NS || o->udp_max < RASN_DNSRESP_UDP_MIN)
		return -EINVAL;
	struct rasn_dnsresp *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ops = *ops;
	r->ud = ud;
	r->ttl = o->ttl;
	r->negative_ttl = o->negative_ttl;
	r->udp_max = o->udp_max;
	r->mm = (knot_mm_t){ .ctx = r, .alloc = arena_alloc, .free = arena_free };
	const char *zn[N_ZONES] = { o->origin_zone, o->origin6_zone, o->as_zone };
	const int fam[N_ZONES] = { RASN_AF4, RASN_AF6, 0 };
	int rc = -EINVAL;
	for (int i = 0; i < N_ZONES; i++) {
		if (!zn[i] || !*zn[i])
			continue;
		if (to_dname(zn[i], r->zones[i].name) < 0)
			goto fail;
		r->zones[i].on = 1;
		r->zones[i].family = fam[i];
	}
	for (unsigned i = 0; i < o->n_ns; i++)
		if (to_dname(o->ns[i], r->ns[i]) < 0)
			goto fail;
	r->n_ns = o->n_ns;
	/* SOA rdata: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM */
	knot_dname_storage_t mname, rname;
	if (to_dname(o->soa_mname && *o->soa_mname ? o->soa_mname : o->ns[0], mname) < 0 ||
	    to_dname(o->soa_rname, rname) < 0)
		goto fail;
	size_t ml = knot_dname_size(mname), rl = knot_dname_size(rname);
	memcpy(r->soa, mname, ml);
	memcpy(r->soa + ml, rname, rl);
	r->soa_serial_off = ml + rl;
	uint8_t *p = r->soa + r->soa_serial_off;
	put32(p, o->soa_serial);
	put32(p + 4, o->soa_refresh);
	put32(p + 8, o->soa_retry);
	put32(p + 12, o->soa_expire);
	put32(p + 16, o->negative_ttl); /* RFC 2308: the negative TTL */
	r->soa_len = r->soa_serial_off + 20;
	*out = r;
	return 0;
fail:
	free(r);
	return rc;
}

void rasn_dnsresp_free(struct rasn_dnsresp *r)
{
	free(r);
}

void rasn_dnsresp_set_serial(struct rasn_dnsresp *r, uint32_t serial)
{
	put32(r->soa + r->soa_serial_off, serial);
}

/* ---- answers --------------------------------------------------------------------------- */

struct ctx {
	struct rasn_dnsresp *r;
	knot_pkt_t *q, *resp;
	const struct zone *zone;
	knot_dname_t *qname_wire;        /* as asked (case kept): owner of answers */
};

static int put_rr(struct ctx *c, knot_dname_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
		  size_t rdlen, uint16_t hint)
{
	knot_rrset_t rr;
	knot_rrset_init(&rr, owner, type, KNOT_CLASS_IN, ttl);
	if (knot_rrset_add_rdata(&rr, rd, (uint16_t)rdlen, &c->r->mm) != KNOT_EOK)
		return KNOT_ENOMEM;
	return knot_pkt_put(c->resp, hint, &rr, KNOT_PF_NOTRUNC);
}

static int put_soa(struct ctx *c, uint32_t ttl)
{
	return put_rr(c, (knot_dname_t *)c->zone->name, KNOT_RRTYPE_SOA, ttl, c->r->soa, c->r->soa_len,
		      KNOT_COMPR_HINT_NONE);
}

static int put_ns(struct ctx *c)
{
	knot_rrset_t rr;
	knot_rrset_init(&rr, (knot_dname_t *)c->zone->name, KNOT_RRTYPE_NS, KNOT_CLASS_IN, c->r->ttl);
	for (unsigned i = 0; i < c->r->n_ns; i++)
		if (knot_rrset_add_rdata(&rr, c->r->ns[i], (uint16_t)knot_dname_size(c->r->ns[i]), &c->r->mm) !=
		    KNOT_EOK)
			return KNOT_ENOMEM;
	return knot_pkt_put(c->resp, KNOT_COMPR_HINT_QNAME, &rr, KNOT_PF_NOTRUNC);
}

/* One TXT record holding text as character-strings of at most 255 bytes. */
static int put_txt(struct ctx *c, const char *text, size_t len)
{
	uint8_t rd[TXT_MAX + TXT_MAX / 255 + 2];
	size_t n = 0;
	do {
		size_t chunk = len > 255 ? 255 : len;
		rd[n++] = (uint8_t)chunk;
		memcpy(rd + n, text, chunk);
		n += chunk, text += chunk, len -= chunk;
	} while (len);
	return put_rr(c, c->qname_wire, KNOT_RRTYPE_TXT, c->r->ttl, rd, n, KNOT_COMPR_HINT_QNAME);
}

static size_t cat(char *buf, size_t at, const char *s)
{
	size_t l = 0;
	while (s && l < 300 && s[l])
		l++;
	if (at + l >= TXT_MAX)
		l = at < TXT_MAX - 1 ? TXT_MAX - 1 - at : 0;
	memcpy(buf + at, s ? s : "", l);
	return at + l;
}

static size_t fmt_origin(const struct rasn_dnsresp_origin *o, char *buf)
{
	size_t n = 0;
	unsigned na = o->n_asns > RASN_DNSRESP_MAX_ORIGINS ? RASN_DNSRESP_MAX_ORIGINS : o->n_asns;
	for (unsigned i = 0; i < na; i++)
		n += (size_t)snprintf(buf + n, TXT_MAX - n, i ? " %u" : "%u", o->asns[i]);
	n = cat(buf, n, " | ");
	char pfx[64];
	pfx[rasn_prefix_format(&o->prefix, pfx)] = 0;
	n = cat(buf, n, pfx);
	n = cat(buf, n, " | ");
	n = cat(buf, n, o->cc);
	n = cat(buf, n, " | ");
	n = cat(buf, n, o->registry);
	n = cat(buf, n, " | ");
	return cat(buf, n, o->allocated);
}

static size_t fmt_as(uint32_t asn, const struct rasn_dnsresp_as *a, char *buf)
{
	size_t n = (size_t)snprintf(buf, TXT_MAX, "%u | ", asn);
	n = cat(buf, n, a->cc);
	n = cat(buf, n, " | ");
	n = cat(buf, n, a->registry);
	n = cat(buf, n, " | ");
	n = cat(buf, n, a->allocated);
	n = cat(buf, n, " | ");
	return cat(buf, n, a->name);
}

enum node { N_NONE, N_ENT, N_DATA };

/* Labels of the name below the zone, leftmost first; 0 when more than max. */
static int labels_below(const uint8_t *name, int n, const uint8_t **lab, int max)
{
	if (n > max)
		return 0;
	for (int i = 0; i < n; i++) {
		lab[i] = name;
		name += name[0] + 1;
	}
	return 1;
}

/* The prefix a name under an origin zone stands for; 0 when it is no such name. */
static int origin_prefix(const struct zone *z, const uint8_t *name, int n, struct rasn_prefix *p)
{
	const uint8_t *lab[32];
	unsigned bits = z->family == RASN_AF4 ? 8 : 4;
	if (n < 1 || !labels_below(name, n, lab, z->family == RASN_AF4 ? 4 : 32))
		return 0;
	rasn_u128 v = 0;
	/* the rightmost label is the most significant part */
	for (int i = n - 1; i >= 0; i--) {
		const uint8_t *l = lab[i];
		unsigned x = 0;
		if (z->family == RASN_AF4) {
			if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
				return 0;
			for (int k = 1; k <= l[0]; k++) {
				if (l[k] < '0' || l[k] > '9')
					return 0;
				x = x * 10 + (unsigned)(l[k] - '0');
			}
			if (x > 255)
				return 0;
		} else {
			if (l[0] != 1)
				return 0;
			char h = (char)l[1]; /* lower case already */
			if (h >= '0' && h <= '9')
				x = (unsigned)(h - '0');
			else if (h >= 'a' && h <= 'f')
				x = (unsigned)(h - 'a' + 10);
			else
				return 0;
		}
		v = (v << bits) | x;
	}
	unsigned len = (unsigned)n * bits;
	p->family = z->family;
	p->len = len;
	p->addr = v << (rasn_af_bits(z->family) - len);
	return 1;
}

/* "as15169" (lower case already): 1 with the number. */
static int as_label(const uint8_t *name, int n, uint32_t *asn)
{
	if (n != 1 || name[0] < 3 || name[0] > 12 || name[1] != 'a' || name[2] != 's' ||
	    (name[0] > 3 && name[3] == '0'))
		return 0;
	uint64_t x = 0;
	for (int k = 3; k <= name[0]; k++) {
		if (name[k] < '0' || name[k] > '9')
			return 0;
		x = x * 10 + (uint64_t)(name[k] - '0');
	}
	if (x > UINT32_MAX)
		return 0;
	*asn = (uint32_t)x;
	return 1;
}

/* 1 when another zone of ours lies at or below the name (origin.asn.cymru.com seen from
 * asn.cymru.com): the name exists, with no data in this zone. */
static int above_other_zone(const struct ctx *c, const uint8_t *name)
{
	for (int i = 0; i < N_ZONES; i++)
		if (&c->r->zones[i] != c->zone && c->r->zones[i].on &&
		    knot_dname_in_bailiwick(c->r->zones[i].name, name) >= 0)
			return 1;
	return 0;
}

/* The node at the query name: its kind, and its TXT text (len written) when it has data. */
static enum node find_node(struct ctx *c, int below, char *txt, size_t *txt_len)
{
	const uint8_t *name = knot_pkt_qname(c->q);
	const struct zone *z = c->zone;
	if (z->family == 0) {
		uint32_t asn;
		struct rasn_dnsresp_as a = { 0 };
		if (!as_label(name, below, &asn) || !c->r->ops.as(c->r->ud, asn, &a))
			return N_NONE;
		*txt_len = fmt_as(asn, &a, txt);
		return N_DATA;
	}
	struct rasn_prefix p;
	if (!origin_prefix(z, name, below, &p))
		return N_NONE;
	struct rasn_addr a = { p.family, p.addr };
	struct rasn_dnsresp_origin o = { 0 };
	if (c->r->ops.origin(c->r->ud, &a, &o) && o.n_asns) {
		*txt_len = fmt_origin(&o, txt);
		return N_DATA;
	}
	if (p.len < rasn_af_bits(p.family) && c->r->ops.inside(c->r->ud, &p))
		return N_ENT;
	return N_NONE;
}

/* The answer section and rcode for a query inside c->zone. */
static int answer_zone(struct ctx *c, uint16_t qtype, struct rasn_dnsresp_info *info)
{
	int below = knot_dname_in_bailiwick(knot_pkt_qname(c->q), c->zone->name);
	int ret;
	knot_wire_set_aa(c->resp->wire);
	if (below == 0) {
		/* the apex: SOA, NS; ANY answers SOA alone (RFC 8482) */
		if (qtype == KNOT_RRTYPE_SOA || qtype == KNOT_RRTYPE_ANY)
			ret = put_soa(c, c->r->ttl);
		else if (qtype == KNOT_RRTYPE_NS)
			ret = put_ns(c);
		else
			goto nodata;
		info->kind = RASN_DNSRESP_ANSWER;
		return ret;
	}
	char txt[TXT_MAX];
	size_t len = 0;
	enum node n = find_node(c, below, txt, &len);
	if (n == N_NONE && above_other_zone(c, knot_pkt_qname(c->q)))
		n = N_ENT;
	if (n == N_NONE) {
		knot_wire_set_rcode(c->resp->wire, KNOT_RCODE_NXDOMAIN);
		info->kind = RASN_DNSRESP_NXDOMAIN;
		goto soa;
	}
	if (n == N_DATA && (qtype == KNOT_RRTYPE_TXT || qtype == KNOT_RRTYPE_ANY)) {
		info->kind = RASN_DNSRESP_ANSWER;
		return put_txt(c, txt, len);
	}
nodata:
	info->kind = RASN_DNSRESP_NODATA;
soa:
	if ((ret = knot_pkt_begin(c->resp, KNOT_AUTHORITY)) != KNOT_EOK)
		return ret;
	return put_soa(c, c->r->negative_ttl);
}

/* A header-only answer (the question could not be read): id and opcode kept, counts zero. */
static size_t header_only(const uint8_t *q, uint8_t *out, size_t cap, int rcode)
{
	if (cap < KNOT_WIRE_HEADER_SIZE)
		return 0;
	memset(out, 0, KNOT_WIRE_HEADER_SIZE);
	out[0] = q[0], out[1] = q[1];
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode and RD kept */
	out[3] = (uint8_t)rcode;
	return KNOT_WIRE_HEADER_SIZE;
}

/* The deepest zone holding qname; for DS at a zone's apex, the deepest one above it (DS
 * records live in the parent: origin.asn.cymru.com's in asn.cymru.com, RFC 4035 3.1.4.1). */
static int zone_of(struct rasn_dnsresp *r, const knot_dname_t *qname, uint16_t qtype)
{
	int best = -1;
	size_t best_len = 0;
	for (int i = 0; i < N_ZONES; i++) {
		int below = r->zones[i].on ? knot_dname_in_bailiwick(qname, r->zones[i].name) : -1;
		if (below < 0 || (below == 0 && qtype == KNOT_RRTYPE_DS))
			continue;
		size_t l = knot_dname_size(r->zones[i].name);
		if (best < 0 || l > best_len)
			best = i, best_len = l;
	}
	return best;
}

/* Parse q into c->q (from the arena). Returns 0, or an rcode for a header-only answer, or -1
 * for no answer at all. */
static int parse_query(struct rasn_dnsresp *r, const uint8_t *q, size_t qlen, struct ctx *c)
{
	if (qlen < KNOT_WIRE_HEADER_SIZE || qlen > sizeof(r->qbuf))
		return -1;
	if (knot_wire_get_qr(q))
		return -1; /* a response: answering it could start a loop */
	/* a copy: libknot's parser may rewrite the wire (TSIG) */
	memcpy(r->qbuf, q, qlen);
	c->q = knot_pkt_new(r->qbuf, (uint16_t)qlen, &r->mm);
	if (!c->q)
		return -1;
	if (knot_wire_get_opcode(q) != KNOT_OPCODE_QUERY)
		return KNOT_RCODE_NOTIMPL;
	if (knot_wire_get_qdcount(q) != 1)
		return KNOT_RCODE_FORMERR;
	int ret = knot_pkt_parse(c->q, 0);
	if (c->q->qname_size == 0)
		return KNOT_RCODE_FORMERR;
	if (ret != KNOT_EOK && ret != KNOT_ETRAIL)
		return KNOT_RCODE_FORMERR; /* with the question echoed: it was read */
	return 0;
}

static enum rasn_dnsresp_kind kind_of_rcode(int rcode)
{
	switch (rcode) {
	case KNOT_RCODE_NOTIMPL:
		return RASN_DNSRESP_NOTIMP;
	case KNOT_RCODE_REFUSED:
		return RASN_DNSRESP_REFUSED;
	default:
		return RASN_DNSRESP_FORMERR;
	}
}

/* (Re)start c's response as a copy of the query's header and question: authoritative only
 * where an answer says so, no recursion, nothing of AD or Z copied from the query. */
static int response_init(struct ctx *c)
{
	if (knot_pkt_init_response(c->resp, c->q) != KNOT_EOK)
		return -1;
	uint8_t *w = c->resp->wire;
	knot_wire_clear_aa(w);
	knot_wire_clear_ra(w);
	knot_wire_clear_ad(w);
	knot_wire_clear_z(w);
	return 0;
}

size_t rasn_dnsresp_answer(struct rasn_dnsresp *r, const uint8_t *q, size_t qlen, int tcp, uint8_t *out,
			   size_t cap, struct rasn_dnsresp_info *info)
{
	memset(info, 0, sizeof(*info));
	info->zone = -1;
	r->used = 0;
	struct ctx c = { .r = r };
	int rc = parse_query(r, q, qlen, &c);
	if (rc < 0)
		return 0;
	if (rc > 0 && (!c.q || c.q->qname_size == 0)) {
		info->kind = kind_of_rcode(rc);
		return header_only(q, out, cap, rc);
	}
	knot_rrset_t *qopt = c.q->opt_rr;
	info->edns = qopt != NULL;
	info->qtype = knot_pkt_qtype(c.q);
	/* the answer's room: TCP all; UDP what the client says it takes, within our limit */
	size_t max = tcp ? 65535 : RASN_DNSRESP_UDP_MIN;
	if (!tcp && qopt) {
		size_t want = knot_edns_get_payload(qopt);
		max = want < RASN_DNSRESP_UDP_MIN ? RASN_DNSRESP_UDP_MIN : want > r->udp_max ? r->udp_max : want;
	}
	if (max > cap)
		max = cap;
	c.resp = knot_pkt_new(out, (uint16_t)max, &r->mm);
	if (!c.resp || response_init(&c) < 0)
		return 0;
	uint8_t *w = c.resp->wire;
	c.qname_wire = w + KNOT_WIRE_HEADER_SIZE;
	knot_rrset_t opt;
	int badvers = qopt && knot_edns_get_version(qopt) != 0;
	if (qopt) {
		if (knot_edns_init(&opt, r->udp_max, 0, 0, &r->mm) != KNOT_EOK)
			return 0;
		if (badvers)
			knot_edns_set_ext_rcode(&opt, KNOT_RCODE_BADVERS >> 4);
		if (knot_pkt_reserve(c.resp, (uint16_t)knot_edns_wire_size(&opt)) != KNOT_EOK)
			return 0;
	}
	uint16_t qtype = info->qtype, qclass = knot_pkt_qclass(c.q);
	int ret = KNOT_EOK;
	if (rc > 0) {
		knot_wire_set_rcode(w, (short)rc);
		info->kind = kind_of_rcode(rc);
	} else if (badvers) {
		info->kind = RASN_DNSRESP_BADVERS;
	} else if ((info->zone = zone_of(r, knot_pkt_qname(c.q), qtype)) < 0 || qclass != KNOT_CLASS_IN ||
		   qtype == KNOT_RRTYPE_AXFR || qtype == KNOT_RRTYPE_IXFR) {
		knot_wire_set_rcode(w, KNOT_RCODE_REFUSED);
		info->kind = RASN_DNSRESP_REFUSED;
	} else if (qtype == 0 || qtype == KNOT_RRTYPE_OPT || (qtype >= 128 && qtype < KNOT_RRTYPE_ANY)) {
		knot_wire_set_rcode(w, KNOT_RCODE_NOTIMPL);
		info->kind = RASN_DNSRESP_NOTIMP;
	} else {
		c.zone = &r->zones[info->zone];
		ret = answer_zone(&c, qtype, info);
	}
	if (ret == KNOT_ESPACE) {
		/* did not fit: the question alone with TC=1; the client asks again over TCP */
		if (response_init(&c) < 0)
			return 0;
		if (qopt && knot_pkt_reserve(c.resp, (uint16_t)knot_edns_wire_size(&opt)) != KNOT_EOK)
			return 0;
		knot_wire_set_tc(w);
		info->truncated = 1;
	} else if (ret != KNOT_EOK) {
		return 0; /* out of arena: cannot happen with sane input; nothing sent */
	}
	if (qopt) {
		knot_pkt_reclaim(c.resp, (uint16_t)knot_edns_wire_size(&opt));
		if (knot_pkt_begin(c.resp, KNOT_ADDITIONAL) != KNOT_EOK ||
		    knot_pkt_put(c.resp, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_NOTRUNC) != KNOT_EOK)
			return 0;
	}
	return c.resp->size;
}

size_t rasn_dnsresp_minimal(struct rasn_dnsresp *r, const uint8_t *q, size_t qlen, int tc, uint8_t *out,
			    size_t cap)
{
	r->used = 0;
	struct ctx c = { .r = r };
	int rc = parse_query(r, q, qlen, &c);
	if (rc < 0)
		return 0;
	if (rc > 0)
		return header_only(q, out, cap, tc ? KNOT_RCODE_NOERROR : KNOT_RCODE_REFUSED);
	size_t max = cap < RASN_DNSRESP_UDP_MIN ? cap : RASN_DNSRESP_UDP_MIN;
	c.resp = knot_pkt_new(out, (uint16_t)max, &r->mm);
	if (!c.resp || response_init(&c) < 0)
		return 0;
	uint8_t *w = c.resp->wire;
	if (tc)
		knot_wire_set_tc(w);
	else
		knot_wire_set_rcode(w, KNOT_RCODE_REFUSED);
	return c.resp->size;
}
