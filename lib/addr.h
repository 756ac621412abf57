/* IPv4/IPv6 addresses and CIDR prefixes: strict parsing, canonical formatting, CIDR math.
 * An address is a family (4 or 6) and an unsigned 128-bit value; an IPv4 address lives in the
 * low 32 bits. */
#ifndef RASN_ADDR_H
#define RASN_ADDR_H

#include "rasn.h"

#define RASN_AF4 4
#define RASN_AF6 6
/* Longest text form of an address ("ffff:...:255.255.255.255") plus NUL, and of a prefix. */
#define RASN_ADDR_STRLEN 46
#define RASN_PREFIX_STRLEN 50

struct rasn_addr {
	int family;    /* RASN_AF4 or RASN_AF6 */
	rasn_u128 v;   /* host order; IPv4 in the low 32 bits */
};

struct rasn_prefix {
	int family;
	rasn_u128 addr; /* network address: host bits are zero */
	unsigned len;   /* 0..32 or 0..128 */
};

/* Bits in an address of this family: 32 or 128. */
static inline unsigned rasn_af_bits(int family) { return family == RASN_AF4 ? 32 : 128; }

/* Strict dotted quad: exactly four decimal octets 0..255, no leading zeros ("0" alone is
 * fine), nothing else. Returns 0 or RASN_ESYNTAX. s need not be NUL-terminated. */
int rasn_addr_parse4(const char *s, size_t len, uint32_t *out);

/* RFC 4291 text form, including "::" compression and an embedded dotted quad in the last
 * 32 bits; hex groups of 1..4 digits, case-insensitive; no zone index, no brackets.
 * Returns 0 or RASN_ESYNTAX. */
int rasn_addr_parse6(const char *s, size_t len, rasn_u128 *out);

/* Either family. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is answered as IPv4.
 * Returns 0 or RASN_ESYNTAX. */
int rasn_addr_parse(const char *s, size_t len, struct rasn_addr *out);

/* Canonical text (RFC 5952 for IPv6: lower case, longest zero run of 2+ groups compressed,
 * first one on ties). buf must hold RASN_ADDR_STRLEN bytes; it is NUL-terminated.
 * Returns the length written. */
size_t rasn_addr_format4(uint32_t a, char *buf);
size_t rasn_addr_format6(rasn_u128 a, char *buf);
size_t rasn_addr_format(int family, rasn_u128 v, char *buf);

/* "ADDR/LEN", strict; host bits must be zero. Returns 0 or RASN_ESYNTAX. */
int rasn_prefix_parse(const char *s, size_t len, struct rasn_prefix *out);
/* "ADDR/LEN" into buf (RASN_PREFIX_STRLEN bytes). Returns the length. */
size_t rasn_prefix_format(const struct rasn_prefix *p, char *buf);

/* Mask of the host part of a prefix of length len in this family (all ones when len is 0). */
rasn_u128 rasn_hostmask(int family, unsigned len);

/* The largest CIDR block that lies inside [first, last] and holds addr
 * (first <= addr <= last is required). */
struct rasn_prefix rasn_cidr_covering(int family, rasn_u128 first, rasn_u128 last, rasn_u128 addr);

/* The minimal list of CIDR blocks that exactly covers [first, last] (first <= last), in
 * ascending order. Writes at most cap of them to out (out may be NULL when cap is 0) and
 * returns how many there are in all (at most 2 * bits). */
size_t rasn_cidr_from_range(int family, rasn_u128 first, rasn_u128 last,
			    struct rasn_prefix *out, size_t cap);

/* Aggregate in place: sort by (family, address, length), drop prefixes covered by another,
 * merge sibling pairs into their parent repeatedly. Returns the new count. */
size_t rasn_cidr_aggregate(struct rasn_prefix *p, size_t n);

#endif
