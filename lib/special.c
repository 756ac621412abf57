/* The special-purpose address table (see special.h). The names and RFCs are those of the
 * IANA registries iana-ipv4-special-registry and iana-ipv6-special-registry, the IPv4 and
 * IPv6 multicast registries, and RFC 1112 for 240.0.0.0/4. */
#include "special.h"

#define V4(a, b, c, d) ((rasn_u128)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d)))
#define V6(a, b, c, d) (((rasn_u128)(((uint64_t)(a) << 48) | ((uint64_t)(b) << 32) | ((uint64_t)(c) << 16) | (uint64_t)(d))) << 64)
/* the network mask of a prefix length, as constants (no call per entry when scanning) */
#define M4(len) ((len) ? (((rasn_u128)0xffffffffu << (32 - (len))) & 0xffffffffu) : 0)
#define M6(len) ((len) ? ~(rasn_u128)0 << (128 - (len)) : 0)
#define S4(a, b, c, d, len, name, rfc) { RASN_AF4, V4(a, b, c, d), len, name, rfc, name " (" rfc ")", 0, M4(len) }
#define G4(a, b, c, d, len, name, rfc) { RASN_AF4, V4(a, b, c, d), len, name, rfc, name " (" rfc ")", 1, M4(len) }
#define S6(a, b, c, d, len, name, rfc) { RASN_AF6, V6(a, b, c, d), len, name, rfc, name " (" rfc ")", 0, M6(len) }
#define G6(a, b, c, d, len, name, rfc) { RASN_AF6, V6(a, b, c, d), len, name, rfc, name " (" rfc ")", 1, M6(len) }

/* Each family's table is its top-level blocks, disjoint and in address order (found by a
 * binary search), each with the more specific blocks inside it (scanned for the longest match). */
struct top {
	struct rasn_special e;
	const struct rasn_special *kids;
	size_t n_kids;
};
#define NOKIDS NULL, 0
#define KIDS(a) a, RASN_ARRAY_LEN(a)

static const struct rasn_special in_0_8[] = {
	S4(0, 0, 0, 0, 32, "this host on this network", "RFC 1122"),
};
static const struct rasn_special in_192_0_0[] = {
	S4(192, 0, 0, 0, 29, "IPv4 service continuity prefix", "RFC 7335"),
	S4(192, 0, 0, 8, 32, "IPv4 dummy address", "RFC 7600"),
	G4(192, 0, 0, 9, 32, "port control protocol anycast", "RFC 7723"),
	G4(192, 0, 0, 10, 32, "traversal using relays around NAT anycast", "RFC 8155"),
	S4(192, 0, 0, 170, 31, "NAT64/DNS64 discovery", "RFC 8880"),
};
static const struct rasn_special in_240_4[] = {
	S4(255, 255, 255, 255, 32, "limited broadcast", "RFC 919"),
};

static const struct top top4[] = {
	{ S4(0, 0, 0, 0, 8, "this network", "RFC 791"), KIDS(in_0_8) },
	{ S4(10, 0, 0, 0, 8, "private-use", "RFC 1918"), NOKIDS },
	{ S4(100, 64, 0, 0, 10, "shared address space", "RFC 6598"), NOKIDS },
	{ S4(127, 0, 0, 0, 8, "loopback", "RFC 1122"), NOKIDS },
	{ S4(169, 254, 0, 0, 16, "link-local", "RFC 3927"), NOKIDS },
	{ S4(172, 16, 0, 0, 12, "private-use", "RFC 1918"), NOKIDS },
	{ S4(192, 0, 0, 0, 24, "IETF protocol assignments", "RFC 6890"), KIDS(in_192_0_0) },
	{ S4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)", "RFC 5737"), NOKIDS },
	{ S4(192, 88, 99, 0, 24, "deprecated (6to4 relay anycast)", "RFC 7526"), NOKIDS },
	{ S4(192, 168, 0, 0, 16, "private-use", "RFC 1918"), NOKIDS },
	{ S4(198, 18, 0, 0, 15, "benchmarking", "RFC 2544"), NOKIDS },
	{ S4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)", "RFC 5737"), NOKIDS },
	{ S4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)", "RFC 5737"), NOKIDS },
	{ S4(224, 0, 0, 0, 4, "multicast", "RFC 5771"), NOKIDS },
	{ S4(240, 0, 0, 0, 4, "reserved", "RFC 1112"), KIDS(in_240_4) },
};

static const struct rasn_special in_2001_23[] = {
	/* routed to Teredo relays (announced in BGP: the fixture dataset has it, AS6939) */
	G6(0x2001, 0, 0, 0, 32, "TEREDO", "RFC 4380"),
	{ RASN_AF6, V6(0x2001, 1, 0, 0) | 1, 128, "port control protocol anycast", "RFC 7723",
	  "port control protocol anycast (RFC 7723)", 1, M6(128) },
	{ RASN_AF6, V6(0x2001, 1, 0, 0) | 2, 128, "traversal using relays around NAT anycast", "RFC 8155",
	  "traversal using relays around NAT anycast (RFC 8155)", 1, M6(128) },
	S6(0x2001, 2, 0, 0, 48, "benchmarking", "RFC 5180"),
	G6(0x2001, 3, 0, 0, 32, "AMT", "RFC 7450"),
	G6(0x2001, 4, 0x112, 0, 48, "AS112-v6", "RFC 7535"),
	/* ORCHIDv2: the registry calls it globally reachable, but RFC 7343 makes these
	 * identifiers that are never routed, so no AS can answer for one */
	S6(0x2001, 0x20, 0, 0, 28, "ORCHIDv2", "RFC 7343"),
};

static const struct top top6[] = {
	{ S6(0, 0, 0, 0, 128, "unspecified address", "RFC 4291"), NOKIDS },
	{ { RASN_AF6, 1, 128, "loopback address", "RFC 4291", "loopback address (RFC 4291)", 0, M6(128) }, NOKIDS },
	{ G6(0x64, 0xff9b, 0, 0, 96, "IPv4-IPv6 translation", "RFC 6052"), NOKIDS },
	{ S6(0x64, 0xff9b, 1, 0, 48, "IPv4-IPv6 translation (local use)", "RFC 8215"), NOKIDS },
	{ S6(0x100, 0, 0, 0, 64, "discard-only address block", "RFC 6666"), NOKIDS },
	{ S6(0x2001, 0, 0, 0, 23, "IETF protocol assignments", "RFC 2928"), KIDS(in_2001_23) },
	{ S6(0x2001, 0xdb8, 0, 0, 32, "documentation", "RFC 3849"), NOKIDS },
	{ S6(0x3fff, 0, 0, 0, 20, "documentation", "RFC 9637"), NOKIDS },
	{ S6(0x5f00, 0, 0, 0, 16, "segment routing (SRv6) SIDs", "RFC 9602"), NOKIDS },
	{ S6(0xfc00, 0, 0, 0, 7, "unique-local", "RFC 4193"), NOKIDS },
	{ S6(0xfe80, 0, 0, 0, 10, "link-local unicast", "RFC 4291"), NOKIDS },
	{ S6(0xff00, 0, 0, 0, 8, "multicast", "RFC 4291"), NOKIDS },
};

/* The first octets (IPv4) and first bytes (IPv6) the blocks above start with, as 256-bit
 * sets: most addresses are turned away by one bit test, before the search (the unit test
 * tests/unit/test_special.c finds every block's first and last address through it). */
#define BIT(w, o) (((o) >> 6) == (w) ? (uint64_t)1 << ((o) & 63) : 0)
#define FIRST4(w) (BIT(w, 0) | BIT(w, 10) | BIT(w, 100) | BIT(w, 127) | BIT(w, 169) | BIT(w, 172) | \
		   BIT(w, 192) | BIT(w, 198) | BIT(w, 203))
#define FIRST6(w) (BIT(w, 0x00) | BIT(w, 0x01) | BIT(w, 0x20) | BIT(w, 0x3f) | BIT(w, 0x5f))
#define TOP(n) (~(uint64_t)0 << (64 - (n))) /* the last n octets: 224-255, 0xfc-0xff */

static int may_be_special(const struct rasn_addr *a)
{
	static const uint64_t first4[4] = { FIRST4(0), FIRST4(1), FIRST4(2), FIRST4(3) | TOP(32) };
	static const uint64_t first6[4] = { FIRST6(0), FIRST6(1), FIRST6(2), FIRST6(3) | TOP(4) };
	unsigned o = a->family == RASN_AF4 ? (unsigned)(a->v >> 24) & 0xff : (unsigned)(a->v >> 120);
	return (int)(((a->family == RASN_AF4 ? first4 : first6)[o >> 6] >> (o & 63)) & 1);
}

const struct rasn_special *rasn_special_lookup(const struct rasn_addr *a)
{
	struct rasn_addr v4;
	if (a->family == RASN_AF6 && (a->v >> 32) == 0xffff) {
		/* ::ffff:a.b.c.d is a.b.c.d, as everywhere else in rasn */
		v4 = (struct rasn_addr){ RASN_AF4, a->v & 0xffffffffu };
		a = &v4;
	}
	if ((a->family != RASN_AF4 && a->family != RASN_AF6) || !may_be_special(a))
		return NULL;
	const struct top *t = a->family == RASN_AF4 ? top4 : top6;
	size_t lo = 0, hi = a->family == RASN_AF4 ? RASN_ARRAY_LEN(top4) : RASN_ARRAY_LEN(top6);
	while (lo < hi) { /* the last block starting at or before the address */
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].e.addr <= a->v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || (a->v & t[lo - 1].e.mask) != t[lo - 1].e.addr)
		return NULL;
	const struct top *c = &t[lo - 1];
	const struct rasn_special *best = &c->e;
	for (size_t i = 0; i < c->n_kids; i++)
		if ((a->v & c->kids[i].mask) == c->kids[i].addr && c->kids[i].len > best->len)
			best = &c->kids[i];
	return best->global ? NULL : best;
}

size_t rasn_special_list(int family, const struct rasn_special **out, size_t cap, size_t *top)
{
	const struct top *t = family == RASN_AF4 ? top4 : family == RASN_AF6 ? top6 : NULL;
	size_t nt = family == RASN_AF4 ? RASN_ARRAY_LEN(top4) : family == RASN_AF6 ? RASN_ARRAY_LEN(top6) : 0;
	size_t n = 0;
	for (size_t i = 0; i < nt; i++) {
		if (n < cap)
			out[n] = &t[i].e;
		n++;
	}
	if (top)
		*top = n;
	for (size_t i = 0; i < nt; i++)
		for (size_t k = 0; k < t[i].n_kids; k++) {
			if (n < cap)
				out[n] = &t[i].kids[k];
			n++;
		}
	return n;
}
