/* The special-purpose address table (see special.h). The names and RFCs are those of the
 * IANA registries iana-ipv4-special-registry and iana-ipv6-special-registry, the IPv4 and
 * IPv6 multicast registries, and RFC 1112 for 240.0.0.0/4. */
#include "special.h"

#define V4(a, b, c, d) ((rasn_u128)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d)))
#define V6(a, b, c, d) (((rasn_u128)(((uint64_t)(a) << 48) | ((uint64_t)(b) << 32) | ((uint64_t)(c) << 16) | (uint64_t)(d))) << 64)
#define S4(a, b, c, d, len, name, rfc) { RASN_AF4, V4(a, b, c, d), len, name, rfc, name " (" rfc ")", 0 }
#define G4(a, b, c, d, len, name, rfc) { RASN_AF4, V4(a, b, c, d), len, name, rfc, name " (" rfc ")", 1 }
#define S6(a, b, c, d, len, name, rfc) { RASN_AF6, V6(a, b, c, d), len, name, rfc, name " (" rfc ")", 0 }
#define G6(a, b, c, d, len, name, rfc) { RASN_AF6, V6(a, b, c, d), len, name, rfc, name " (" rfc ")", 1 }

static const struct rasn_special table[] = {
	S4(0, 0, 0, 0, 8, "this network", "RFC 791"),
	S4(0, 0, 0, 0, 32, "this host on this network", "RFC 1122"),
	S4(10, 0, 0, 0, 8, "private-use", "RFC 1918"),
	S4(100, 64, 0, 0, 10, "shared address space", "RFC 6598"),
	S4(127, 0, 0, 0, 8, "loopback", "RFC 1122"),
	S4(169, 254, 0, 0, 16, "link-local", "RFC 3927"),
	S4(172, 16, 0, 0, 12, "private-use", "RFC 1918"),
	S4(192, 0, 0, 0, 24, "IETF protocol assignments", "RFC 6890"),
	S4(192, 0, 0, 0, 29, "IPv4 service continuity prefix", "RFC 7335"),
	S4(192, 0, 0, 8, 32, "IPv4 dummy address", "RFC 7600"),
	G4(192, 0, 0, 9, 32, "port control protocol anycast", "RFC 7723"),
	G4(192, 0, 0, 10, 32, "traversal using relays around NAT anycast", "RFC 8155"),
	S4(192, 0, 0, 170, 31, "NAT64/DNS64 discovery", "RFC 8880"),
	S4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)", "RFC 5737"),
	S4(192, 88, 99, 0, 24, "deprecated (6to4 relay anycast)", "RFC 7526"),
	S4(192, 168, 0, 0, 16, "private-use", "RFC 1918"),
	S4(198, 18, 0, 0, 15, "benchmarking", "RFC 2544"),
	S4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)", "RFC 5737"),
	S4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)", "RFC 5737"),
	S4(224, 0, 0, 0, 4, "multicast", "RFC 5771"),
	S4(240, 0, 0, 0, 4, "reserved", "RFC 1112"),
	S4(255, 255, 255, 255, 32, "limited broadcast", "RFC 919"),

	S6(0, 0, 0, 0, 128, "unspecified address", "RFC 4291"),
	{ RASN_AF6, 1, 128, "loopback address", "RFC 4291", "loopback address (RFC 4291)", 0 },
	G6(0x64, 0xff9b, 0, 0, 96, "IPv4-IPv6 translation", "RFC 6052"),
	S6(0x64, 0xff9b, 1, 0, 48, "IPv4-IPv6 translation (local use)", "RFC 8215"),
	S6(0x100, 0, 0, 0, 64, "discard-only address block", "RFC 6666"),
	S6(0x2001, 0, 0, 0, 23, "IETF protocol assignments", "RFC 2928"),
	/* routed to Teredo relays (announced in BGP: the fixture dataset has it, AS6939) */
	G6(0x2001, 0, 0, 0, 32, "TEREDO", "RFC 4380"),
	{ RASN_AF6, V6(0x2001, 1, 0, 0) | 1, 128, "port control protocol anycast", "RFC 7723",
	  "port control protocol anycast (RFC 7723)", 1 },
	{ RASN_AF6, V6(0x2001, 1, 0, 0) | 2, 128, "traversal using relays around NAT anycast", "RFC 8155",
	  "traversal using relays around NAT anycast (RFC 8155)", 1 },
	S6(0x2001, 2, 0, 0, 48, "benchmarking", "RFC 5180"),
	G6(0x2001, 3, 0, 0, 32, "AMT", "RFC 7450"),
	G6(0x2001, 4, 0x112, 0, 48, "AS112-v6", "RFC 7535"),
	/* ORCHIDv2: the registry calls it globally reachable, but RFC 7343 makes these
	 * identifiers that are never routed, so no AS can answer for one */
	S6(0x2001, 0x20, 0, 0, 28, "ORCHIDv2", "RFC 7343"),
	S6(0x2001, 0xdb8, 0, 0, 32, "documentation", "RFC 3849"),
	S6(0x3fff, 0, 0, 0, 20, "documentation", "RFC 9637"),
	S6(0x5f00, 0, 0, 0, 16, "segment routing (SRv6) SIDs", "RFC 9602"),
	S6(0xfc00, 0, 0, 0, 7, "unique-local", "RFC 4193"),
	S6(0xfe80, 0, 0, 0, 10, "link-local unicast", "RFC 4291"),
	S6(0xff00, 0, 0, 0, 8, "multicast", "RFC 4291"),
};

/* A first octet no block starts with: most addresses are turned away here, before the
 * scan (tests/unit/test_special.c checks that every block passes). */
static int may_be_special(const struct rasn_addr *a)
{
	if (a->family == RASN_AF4) {
		unsigned o = (unsigned)(a->v >> 24) & 0xff;
		switch (o) {
		case 0: case 10: case 100: case 127: case 169: case 172: case 192: case 198: case 203:
			return 1;
		default:
			return o >= 224;
		}
	}
	unsigned o = (unsigned)(a->v >> 120);
	return o == 0x00 || o == 0x01 || o == 0x20 || o == 0x3f || o == 0x5f || o >= 0xfc;
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
	const struct rasn_special *best = NULL;
	for (size_t i = 0; i < RASN_ARRAY_LEN(table); i++) {
		const struct rasn_special *e = &table[i];
		if (e->family != a->family || (best && e->len <= best->len))
			continue;
		if ((a->v & ~rasn_hostmask(e->family, e->len)) == e->addr)
			best = e;
	}
	return best && !best->global ? best : NULL;
}

const struct rasn_special *rasn_special_table(size_t *n)
{
	*n = RASN_ARRAY_LEN(table);
	return table;
}
