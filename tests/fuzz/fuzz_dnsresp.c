/* Fuzz target for lib/dnsresp.c: the input is a query packet, answered over UDP and over TCP
 * and minimally. Every answer must parse back with libknot, keep the query's id, carry QR,
 * never RA, fit the room it was given (512 bytes over UDP without EDNS, 1232 with), and a
 * TC answer must hold no records beyond the question and the OPT. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "dnsresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int d_origin(void *ud, const struct rasn_addr *a, struct rasn_dnsresp_origin *o)
{
	/* every address whose top bit is clear is "announced" in its /24 (/48) */
	unsigned plen = a->family == RASN_AF4 ? 24 : 48;
	if ((a->v >> (rasn_af_bits(a->family) - 1)) & 1)
		return 0;
	*o = (struct rasn_dnsresp_origin){ { 64496, 64497 }, 1 + (unsigned)(a->v & 1),
					   { a->family, a->v & ~rasn_hostmask(a->family, plen), plen }, "ZZ", "test", "" };
	return 1;
}

static int d_inside(void *ud, const struct rasn_prefix *p)
{
	return p->len < 16;
}

static int d_as(void *ud, uint32_t asn, struct rasn_dnsresp_as *out)
{
	static char name[400];
	memset(name, 'x', sizeof(name) - 1);
	if (asn % 3 == 0)
		return 0;
	*out = (struct rasn_dnsresp_as){ "ZZ", NULL, "2000-01-01", asn % 3 == 1 ? "A NAME" : name };
	return 1;
}

static void verify(const uint8_t *q, size_t qlen, const uint8_t *out, size_t n, size_t room)
{
	if (!n)
		return;
	check(n >= 12 && n <= room);
	check(out[0] == q[0] && out[1] == q[1]);
	check(knot_wire_get_qr(out) && !knot_wire_get_ra(out));
	uint8_t copy[65535];
	memcpy(copy, out, n);
	knot_pkt_t *p = knot_pkt_new(copy, (uint16_t)n, NULL);
	check(p != NULL);
	int rc = knot_pkt_parse(p, 0);
	check(rc == KNOT_EOK);
	if (knot_wire_get_tc(out))
		check(knot_wire_get_ancount(out) == 0 && knot_wire_get_nscount(out) == 0);
	knot_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rasn_dnsresp *r;
	static uint8_t out[65535];
	if (!r) {
		struct rasn_dnsresp_opts o = {
			.origin_zone = "origin.asn.cymru.com", .origin6_zone = "origin6.asn.cymru.com",
			.as_zone = "asn.cymru.com", .ttl = 60, .negative_ttl = 30, .soa_rname = "h.example",
			.udp_max = 1232, .n_ns = 3, .ns = { "ns1.example", "ns2.example", "ns3.example" },
		};
		static const struct rasn_dnsresp_ops ops = { d_origin, d_inside, d_as };
		if (rasn_dnsresp_new(&o, &ops, NULL, &r) < 0)
			abort();
	}
	struct rasn_dnsresp_info info;
	for (int tcp = 0; tcp <= 1; tcp++) {
		size_t n = rasn_dnsresp_answer(r, data, size, tcp, out, sizeof(out), &info);
		check((n == 0) == (info.kind == RASN_DNSRESP_DROP));
		verify(data, size, out, n, tcp ? 65535 : info.edns ? 1232 : 512);
		if (!tcp && info.edns && n) {
			/* an EDNS answer echoes OPT */
			uint8_t copy[65535];
			memcpy(copy, out, n);
			knot_pkt_t *p = knot_pkt_new(copy, (uint16_t)n, NULL);
			check(knot_pkt_parse(p, 0) == KNOT_EOK && p->opt_rr != NULL);
			knot_pkt_free(p);
		}
	}
	for (int tc = 0; tc <= 1; tc++) {
		size_t n = rasn_dnsresp_minimal(r, data, size, tc, out, sizeof(out));
		verify(data, size, out, n, 512);
	}
	return 0;
}
