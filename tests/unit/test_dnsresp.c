/* lib/dnsresp: queries built and answers read back with libknot, data from a fixed set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libknot/libknot.h>

#include "dnsresp.h"

/* Count the allocations of the whole process (libknot's included: the program's malloc
 * preempts the C library's). Not under ASan, which brings its own. */
#if !defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t k);
extern void *__libc_realloc(void *p, size_t n);
static size_t n_allocs;
__attribute__((visibility("default"))) void *malloc(size_t n)
{
	n_allocs++;
	return __libc_malloc(n);
}
__attribute__((visibility("default"))) void *calloc(size_t n, size_t k)
{
	n_allocs++;
	return __libc_calloc(n, k);
}
__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
	n_allocs++;
	return __libc_realloc(p, n);
}
#endif

/* The data: 8.8.8.0/24 -> 15169 (US, arin, 1992-12-01); 215.0.0.0/16 -> 721 749;
 * 10.1.2.0/24 -> 64500 (so 10.1 and 10 are empty non-terminals);
 * 2001:4860::/32 -> 15169; AS15169 named; AS64501 with a 300-byte name. */
static int calls;

static int in_prefix(const struct rasn_addr *a, int fam, rasn_u128 net, unsigned len)
{
	return a->family == fam && ((a->v ^ net) & ~rasn_hostmask(fam, len)) == 0;
}

static int d_origin(void *ud, const struct rasn_addr *a, struct rasn_dnsresp_origin *o)
{
	calls++;
	if (in_prefix(a, RASN_AF4, 0x08080800u, 24)) {
		*o = (struct rasn_dnsresp_origin){ { 15169 }, 1, { RASN_AF4, 0x08080800u, 24 }, "US", "arin", "1992-12-01" };
		return 1;
	}
	if (in_prefix(a, RASN_AF4, 0xd7000000u, 16)) {
		*o = (struct rasn_dnsresp_origin){ { 721, 749 }, 2, { RASN_AF4, 0xd7000000u, 16 }, "US", NULL, NULL };
		return 1;
	}
	if (in_prefix(a, RASN_AF4, 0x0a010200u, 24)) {
		*o = (struct rasn_dnsresp_origin){ { 64500 }, 1, { RASN_AF4, 0x0a010200u, 24 }, NULL, NULL, NULL };
		return 1;
	}
	rasn_u128 g = (rasn_u128)0x20014860u << 96;
	if (in_prefix(a, RASN_AF6, g, 32)) {
		*o = (struct rasn_dnsresp_origin){ { 15169 }, 1, { RASN_AF6, g, 32 }, "US", "arin", "2005-03-14" };
		return 1;
	}
	return 0;
}

static int d_inside(void *ud, const struct rasn_prefix *p)
{
	/* 10.1.2.0/24 lies inside 10/8 and 10.1/16 */
	return p->family == RASN_AF4 && p->len <= 24 && ((0x0a010200u ^ (uint32_t)p->addr) & ~(uint32_t)rasn_hostmask(RASN_AF4, p->len)) == 0;
}

static char longname[301];

static int d_as(void *ud, uint32_t asn, struct rasn_dnsresp_as *out)
{
	if (asn == 15169) {
		*out = (struct rasn_dnsresp_as){ "US", "arin", "2000-03-30", "GOOGLE - Google LLC, US" };
		return 1;
	}
	if (asn == 64501) {
		*out = (struct rasn_dnsresp_as){ NULL, NULL, NULL, longname };
		return 1;
	}
	return 0;
}

static const struct rasn_dnsresp_ops ops = { d_origin, d_inside, d_as };

static struct rasn_dnsresp *make(unsigned n_ns)
{
	static char names[16][96];
	struct rasn_dnsresp_opts o = {
		.origin_zone = "origin.asn.cymru.com", .origin6_zone = "origin6.asn.cymru.com", .as_zone = "asn.cymru.com",
		.ttl = 3600, .negative_ttl = 300, .soa_rname = "hostmaster.example.net",
		.soa_serial = 7, .soa_refresh = 1, .soa_retry = 2, .soa_expire = 3, .udp_max = 1232, .n_ns = n_ns,
	};
	for (unsigned i = 0; i < n_ns; i++) {
		snprintf(names[i], sizeof(names[i]), "ns%u.a-rather-long-name-for-a-name-server-number-%u.in-a-test.example.net", i, i);
		o.ns[i] = names[i];
	}
	struct rasn_dnsresp *r = NULL;
	assert_int_equal(rasn_dnsresp_new(&o, &ops, NULL, &r), 0);
	return r;
}

/* A query as a stub resolver sends it; edns_size 0: no OPT. */
static size_t build_query(uint8_t *buf, const char *name, uint16_t type, uint16_t edns_size, uint8_t edns_ver)
{
	knot_pkt_t *q = knot_pkt_new(buf, 512, NULL);
	knot_pkt_clear(q);
	knot_dname_storage_t dn;
	assert_non_null(knot_dname_from_str(dn, name, sizeof(dn)));
	knot_wire_set_id(q->wire, 0x1234);
	knot_wire_set_rd(q->wire);
	assert_int_equal(knot_pkt_put_question(q, dn, KNOT_CLASS_IN, type), KNOT_EOK);
	if (edns_size) {
		knot_rrset_t opt;
		assert_int_equal(knot_edns_init(&opt, edns_size, 0, edns_ver, NULL), KNOT_EOK);
		assert_int_equal(knot_pkt_begin(q, KNOT_ADDITIONAL), KNOT_EOK);
		assert_int_equal(knot_pkt_put(q, 0, &opt, KNOT_PF_FREE), KNOT_EOK);
	}
	size_t n = q->size;
	knot_pkt_free(q);
	return n;
}

struct ans {
	uint8_t wire[65536];
	size_t len;
	knot_pkt_t *p;
	struct rasn_dnsresp_info info;
};

static void ask(struct rasn_dnsresp *r, struct ans *a, const char *name, uint16_t type, uint16_t edns, int tcp)
{
	uint8_t q[512];
	size_t ql = build_query(q, name, type, edns, 0);
	a->len = rasn_dnsresp_answer(r, q, ql, tcp, a->wire, sizeof(a->wire), &a->info);
	assert_true(a->len >= 12);
	a->p = knot_pkt_new(a->wire, (uint16_t)a->len, NULL);
	assert_int_equal(knot_pkt_parse(a->p, 0), KNOT_EOK);
	assert_int_equal(knot_wire_get_id(a->wire), 0x1234);
	assert_true(knot_wire_get_qr(a->wire));
	assert_true(knot_wire_get_rd(a->wire));
	assert_false(knot_wire_get_ra(a->wire));
}

static void done(struct ans *a)
{
	knot_pkt_free(a->p);
}

/* The n-th TXT of the answer as one string (its character-strings joined). */
static void txt(const struct ans *a, int n, char *out)
{
	const knot_pktsection_t *s = knot_pkt_section(a->p, KNOT_ANSWER);
	assert_true(s->count >= 1);
	const knot_rrset_t *rr = knot_pkt_rr(s, 0);
	assert_int_equal(rr->type, KNOT_RRTYPE_TXT);
	const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, (uint16_t)n);
	size_t o = 0;
	for (size_t i = 0; i < rd->len; i += 1 + rd->data[i]) {
		memcpy(out + o, rd->data + i + 1, rd->data[i]);
		o += rd->data[i];
	}
	out[o] = 0;
}

static void test_origin_v4(void **st)
{
	struct rasn_dnsresp *r = make(1);
	struct ans a;
	char t[1100];
	const char *names[] = { "8.8.8.8.origin.asn.cymru.com", "8.8.8.origin.asn.cymru.com", "0.8.8.8.Origin.ASN.Cymru.com" };
	for (int i = 0; i < 3; i++) {
		ask(r, &a, names[i], KNOT_RRTYPE_TXT, 0, 0);
		assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_NOERROR);
		assert_true(knot_wire_get_aa(a.wire));
		assert_int_equal(a.info.kind, RASN_DNSRESP_ANSWER);
		txt(&a, 0, t);
		assert_string_equal(t, "15169 | 8.8.8.0/24 | US | arin | 1992-12-01");
		assert_int_equal(knot_pkt_rr(knot_pkt_section(a.p, KNOT_ANSWER), 0)->ttl, 3600);
		done(&a);
	}
	/* the question and the owner as asked, case kept (0x20) */
	ask(r, &a, "0.8.8.8.Origin.ASN.Cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	char owner[300];
	knot_dname_to_str(owner, knot_pkt_wire_qname(a.p), sizeof(owner));
	assert_string_equal(owner, "0.8.8.8.Origin.ASN.Cymru.com.");
	size_t an = 12 + a.p->qname_size + 4; /* the answer's owner: a pointer to the question's name */
	assert_int_equal(a.wire[an], 0xc0);
	assert_int_equal(a.wire[an + 1], 0x0c);
	done(&a);
	/* two origins space-separated, empty registry and date */
	ask(r, &a, "1.0.215.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	txt(&a, 0, t);
	assert_string_equal(t, "721 749 | 215.0.0.0/16 | US |  | ");
	done(&a);
	/* a less specific name answers the covering prefix too */
	ask(r, &a, "0.215.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	txt(&a, 0, t);
	assert_string_equal(t, "721 749 | 215.0.0.0/16 | US |  | ");
	done(&a);
	rasn_dnsresp_free(r);
}

static void test_negative(void **st)
{
	struct rasn_dnsresp *r = make(1);
	struct ans a;
	/* nothing there, nothing below: NXDOMAIN with the SOA at the negative TTL */
	const char *nx[] = { "9.9.9.9.origin.asn.cymru.com", "9.origin.asn.cymru.com", "1.8.8.8.8.origin.asn.cymru.com",
			     "256.origin.asn.cymru.com", "08.8.8.8.origin.asn.cymru.com", "x.origin.asn.cymru.com",
			     "AS64496.asn.cymru.com", "AS015169.asn.cymru.com", "AS4294967296.asn.cymru.com",
			     "g.origin6.asn.cymru.com", "www.asn.cymru.com" };
	for (size_t i = 0; i < sizeof(nx) / sizeof(nx[0]); i++) {
		ask(r, &a, nx[i], KNOT_RRTYPE_TXT, 0, 0);
		assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_NXDOMAIN);
		assert_true(knot_wire_get_aa(a.wire));
		const knot_pktsection_t *ns = knot_pkt_section(a.p, KNOT_AUTHORITY);
		assert_int_equal(ns->count, 1);
		const knot_rrset_t *soa = knot_pkt_rr(ns, 0);
		assert_int_equal(soa->type, KNOT_RRTYPE_SOA);
		assert_int_equal(soa->ttl, 300);
		assert_int_equal(knot_soa_minimum(soa->rrs.rdata), 300);
		assert_int_equal(knot_soa_serial(soa->rrs.rdata), 7);
		done(&a);
	}
	/* empty non-terminals: NODATA, not NXDOMAIN (RFC 8020) */
	const char *ent[] = { "10.origin.asn.cymru.com", "1.10.origin.asn.cymru.com" };
	for (int i = 0; i < 2; i++) {
		ask(r, &a, ent[i], KNOT_RRTYPE_TXT, 0, 0);
		assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_NOERROR);
		assert_int_equal(knot_pkt_section(a.p, KNOT_ANSWER)->count, 0);
		assert_int_equal(knot_pkt_section(a.p, KNOT_AUTHORITY)->count, 1);
		assert_int_equal(a.info.kind, RASN_DNSRESP_NODATA);
		done(&a);
	}
	/* a name with data, another type: NODATA */
	ask(r, &a, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_A, 0, 0);
	assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_NOERROR);
	assert_int_equal(a.info.kind, RASN_DNSRESP_NODATA);
	done(&a);
	rasn_dnsresp_free(r);
}

static void test_apex_any_refused(void **st)
{
	struct rasn_dnsresp *r = make(2);
	struct ans a;
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_SOA, 0, 0);
	assert_int_equal(knot_pkt_section(a.p, KNOT_ANSWER)->count, 1);
	assert_int_equal(knot_pkt_rr(knot_pkt_section(a.p, KNOT_ANSWER), 0)->ttl, 3600);
	done(&a);
	ask(r, &a, "asn.cymru.com", KNOT_RRTYPE_NS, 0, 0);
	const knot_rrset_t *ns = knot_pkt_rr(knot_pkt_section(a.p, KNOT_ANSWER), 0);
	assert_int_equal(ns->type, KNOT_RRTYPE_NS);
	assert_int_equal(knot_wire_get_ancount(a.wire), 2); /* one RR per record as parsed */
	done(&a);
	/* ANY: one RRset (RFC 8482) */
	ask(r, &a, "origin6.asn.cymru.com", KNOT_RRTYPE_ANY, 0, 0);
	assert_int_equal(knot_wire_get_ancount(a.wire), 1);
	done(&a);
	ask(r, &a, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_ANY, 0, 0);
	assert_int_equal(knot_wire_get_ancount(a.wire), 1);
	assert_int_equal(knot_pkt_rr(knot_pkt_section(a.p, KNOT_ANSWER), 0)->type, KNOT_RRTYPE_TXT);
	done(&a);
	/* outside the zones, zone transfers: REFUSED, not authoritative */
	const char *out[] = { "example.com", "cymru.com" };
	for (int i = 0; i < 2; i++) {
		ask(r, &a, out[i], KNOT_RRTYPE_TXT, 0, 0);
		assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_REFUSED);
		assert_false(knot_wire_get_aa(a.wire));
		done(&a);
	}
	/* DS at a served zone's apex: the parent zone answers (NODATA with its SOA) */
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_DS, 0, 0);
	assert_int_equal(a.info.zone, 2);
	assert_int_equal(a.info.kind, RASN_DNSRESP_NODATA);
	char soa_owner[300];
	knot_dname_to_str(soa_owner, knot_pkt_rr(knot_pkt_section(a.p, KNOT_AUTHORITY), 0)->owner, sizeof(soa_owner));
	assert_string_equal(soa_owner, "asn.cymru.com.");
	done(&a);
	ask(r, &a, "asn.cymru.com", KNOT_RRTYPE_DS, 0, 0);
	assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_REFUSED); /* its parent is not ours */
	done(&a);
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_AXFR, 0, 0);
	assert_int_equal(knot_wire_get_rcode(a.wire), KNOT_RCODE_REFUSED);
	done(&a);
	rasn_dnsresp_free(r);
}

static void test_v6_and_as(void **st)
{
	struct rasn_dnsresp *r = make(1);
	struct ans a;
	char t[1100];
	ask(r, &a, "8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.1.0.0.2.origin6.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	txt(&a, 0, t);
	assert_string_equal(t, "15169 | 2001:4860::/32 | US | arin | 2005-03-14");
	done(&a);
	ask(r, &a, "0.6.8.4.1.0.0.2.origin6.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	txt(&a, 0, t);
	assert_string_equal(t, "15169 | 2001:4860::/32 | US | arin | 2005-03-14");
	done(&a);
	ask(r, &a, "AS15169.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	txt(&a, 0, t);
	assert_string_equal(t, "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US");
	done(&a);
	/* a name over 255 bytes: several character-strings in one TXT */
	memset(longname, 'N', 300);
	ask(r, &a, "as64501.asn.cymru.com", KNOT_RRTYPE_TXT, 1232, 0);
	txt(&a, 0, t);
	assert_int_equal(strlen(t), strlen("64501 |  |  |  | ") + 300);
	done(&a);
	rasn_dnsresp_free(r);
}

static void test_edns_tc(void **st)
{
	struct rasn_dnsresp *r = make(16);
	struct ans a;
	/* 16 long NS names pass 512 bytes: TC=1 with the question alone over plain UDP */
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_NS, 0, 0);
	assert_true(knot_wire_get_tc(a.wire));
	assert_true(a.info.truncated);
	assert_int_equal(knot_wire_get_ancount(a.wire), 0);
	assert_true(a.len <= 512);
	done(&a);
	/* the same over TCP: all of it */
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_NS, 0, 1);
	assert_false(knot_wire_get_tc(a.wire));
	assert_int_equal(knot_wire_get_ancount(a.wire), 16);
	assert_true(a.len > 1000);
	done(&a);
	/* EDNS 800: still too big, TC with our OPT */
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_NS, 800, 0);
	assert_true(knot_wire_get_tc(a.wire));
	assert_non_null(a.p->opt_rr);
	assert_int_equal(knot_edns_get_payload(a.p->opt_rr), 1232);
	assert_true(a.len <= 800);
	done(&a);
	/* EDNS 4096 asked, 1232 given: fits */
	ask(r, &a, "origin.asn.cymru.com", KNOT_RRTYPE_NS, 4096, 0);
	assert_false(knot_wire_get_tc(a.wire));
	assert_int_equal(knot_wire_get_ancount(a.wire), 16);
	assert_true(a.len <= 1232);
	done(&a);
	/* small answers fit, with EDNS echoed */
	ask(r, &a, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 1232, 0);
	assert_false(knot_wire_get_tc(a.wire));
	assert_non_null(a.p->opt_rr);
	assert_true(a.info.edns);
	done(&a);
	/* EDNS version 1: BADVERS */
	uint8_t q[512];
	uint8_t out[4096];
	struct rasn_dnsresp_info info;
	size_t ql = build_query(q, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 1232, 1);
	size_t n = rasn_dnsresp_answer(r, q, ql, 0, out, sizeof(out), &info);
	assert_true(n > 0);
	assert_int_equal(info.kind, RASN_DNSRESP_BADVERS);
	knot_pkt_t *p = knot_pkt_new(out, (uint16_t)n, NULL);
	assert_int_equal(knot_pkt_parse(p, 0), KNOT_EOK);
	assert_int_equal(knot_pkt_ext_rcode(p), KNOT_RCODE_BADVERS);
	knot_pkt_free(p);
	rasn_dnsresp_free(r);
}

static void test_malformed(void **st)
{
	struct rasn_dnsresp *r = make(1);
	uint8_t q[512], out[4096];
	struct rasn_dnsresp_info info;
	size_t ql = build_query(q, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	/* runts and responses: no answer */
	assert_int_equal(rasn_dnsresp_answer(r, q, 11, 0, out, sizeof(out), &info), 0);
	q[2] |= 0x80;
	assert_int_equal(rasn_dnsresp_answer(r, q, ql, 0, out, sizeof(out), &info), 0);
	q[2] &= 0x7f;
	/* a cut question: FORMERR, header only */
	size_t n = rasn_dnsresp_answer(r, q, ql - 3, 0, out, sizeof(out), &info);
	assert_int_equal(n, 12);
	assert_int_equal(knot_wire_get_rcode(out), KNOT_RCODE_FORMERR);
	assert_int_equal(info.kind, RASN_DNSRESP_FORMERR);
	/* another opcode: NOTIMP */
	q[2] = (uint8_t)(q[2] | (KNOT_OPCODE_NOTIFY << 3));
	n = rasn_dnsresp_answer(r, q, ql, 0, out, sizeof(out), &info);
	assert_true(n >= 12);
	assert_int_equal(knot_wire_get_rcode(out), KNOT_RCODE_NOTIMPL);
	/* minimal answers: REFUSED, and TC for the rate limiter's slip */
	ql = build_query(q, "8.8.8.8.origin.asn.cymru.com", KNOT_RRTYPE_TXT, 0, 0);
	calls = 0;
	n = rasn_dnsresp_minimal(r, q, ql, 0, out, sizeof(out));
	assert_int_equal(n, ql);
	assert_int_equal(knot_wire_get_rcode(out), KNOT_RCODE_REFUSED);
	n = rasn_dnsresp_minimal(r, q, ql, 1, out, sizeof(out));
	assert_true(knot_wire_get_tc(out));
	assert_int_equal(knot_wire_get_rcode(out), KNOT_RCODE_NOERROR);
	assert_int_equal(calls, 0);
	rasn_dnsresp_free(r);
}

/* The hot path allocates nothing: libknot takes its memory from the responder's arena. */
static void test_no_allocation_per_query(void **st)
{
	struct rasn_dnsresp *r = make(16);
	static uint8_t q[8][512], out[65536];
	size_t ql[8];
	const char *names[8] = { "8.8.8.8.origin.asn.cymru.com", "9.9.9.9.origin.asn.cymru.com", "10.origin.asn.cymru.com",
				 "AS15169.asn.cymru.com", "origin.asn.cymru.com", "example.com",
				 "0.6.8.4.1.0.0.2.origin6.asn.cymru.com", "as64501.asn.cymru.com" };
	const uint16_t types[8] = { KNOT_RRTYPE_TXT, KNOT_RRTYPE_TXT, KNOT_RRTYPE_TXT, KNOT_RRTYPE_ANY,
				    KNOT_RRTYPE_NS, KNOT_RRTYPE_A, KNOT_RRTYPE_TXT, KNOT_RRTYPE_TXT };
	for (int i = 0; i < 8; i++)
		ql[i] = build_query(q[i], names[i], types[i], i & 1 ? 1232 : 0, 0);
	struct rasn_dnsresp_info info;
	size_t total = 0;
	for (int i = 0; i < 8; i++)
		total += rasn_dnsresp_answer(r, q[i], ql[i], i & 2, out, sizeof(out), &info);
#ifdef COUNT_ALLOCS
	size_t before = n_allocs;
#endif
	for (int k = 0; k < 1000; k++)
		for (int i = 0; i < 8; i++)
			total += rasn_dnsresp_answer(r, q[i], ql[i], i & 2, out, sizeof(out), &info);
	assert_true(total > 8000 * 12);
#ifdef COUNT_ALLOCS
	assert_int_equal(n_allocs, before);
	assert_true(before > 0); /* the counter counts: making the responder allocated */
#endif
	rasn_dnsresp_free(r);
}

static void test_bad_options(void **st)
{
	struct rasn_dnsresp *r = NULL;
	struct rasn_dnsresp_opts o = { .origin_zone = "origin..bad", .soa_rname = "h.example", .udp_max = 1232, .n_ns = 1,
				       .ns = { "ns.example" } };
	assert_int_equal(rasn_dnsresp_new(&o, &ops, NULL, &r), -EINVAL);
	o.origin_zone = "origin.example";
	o.udp_max = 100;
	assert_int_equal(rasn_dnsresp_new(&o, &ops, NULL, &r), -EINVAL);
	o.udp_max = 512;
	o.n_ns = 0;
	assert_int_equal(rasn_dnsresp_new(&o, &ops, NULL, &r), -EINVAL);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_v4), cmocka_unit_test(test_negative),	 cmocka_unit_test(test_apex_any_refused),
		cmocka_unit_test(test_v6_and_as), cmocka_unit_test(test_edns_tc),	 cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_options), cmocka_unit_test(test_no_allocation_per_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
