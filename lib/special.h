/* Special-purpose addresses: the blocks of the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890) that no network announces, plus multicast (224.0.0.0/4, ff00::/8)
 * and the reserved 240.0.0.0/4. No AS originates them, so an address lookup for one is
 * answered not_found with the registry's name and RFC as the reason, and never sent to an
 * upstream. Blocks the registry marks "globally reachable" (the anycast services PCP, TURN,
 * AS112, AMT, Teredo's 2001::/32 and 64:ff9b::/96) are routed by someone and are not special here, even where
 * a larger non-reachable block holds them (192.0.0.9 inside 192.0.0.0/24). */
#ifndef RASN_SPECIAL_H
#define RASN_SPECIAL_H

#include <stddef.h>

#include "addr.h"

struct rasn_special {
	int family;        /* RASN_AF4 or RASN_AF6 */
	rasn_u128 addr;    /* the block's first address */
	unsigned len;      /* its prefix length */
	const char *name;  /* the registry's name, lower case: "private-use" */
	const char *rfc;   /* "RFC 1918" */
	const char *reason;/* "private-use (RFC 1918)": what a reply says */
	int global;        /* globally reachable: not special (an exception inside a block) */
	rasn_u128 mask;    /* the network mask of len */
};

/* The most specific special-purpose block holding a, or NULL when a is an ordinary address
 * (or lies in a globally reachable exception). An IPv4-mapped IPv6 address (::ffff:0:0/96)
 * is judged by the IPv4 address it carries, as rasn_addr_parse answers it. */
const struct rasn_special *rasn_special_lookup(const struct rasn_addr *a);

/* Every block of a family (RASN_AF4 or RASN_AF6), exceptions included, for tests and
 * documentation: the top-level blocks first (disjoint, in address order; *top of them when
 * top is not NULL), then the blocks inside them. Writes at most cap pointers to out and
 * returns how many there are (0 for another family). */
size_t rasn_special_list(int family, const struct rasn_special **out, size_t cap, size_t *top);

#endif
