/* Unit tests for lib/special.c: the special-purpose registry, longest match, the globally
 * reachable exceptions, IPv4-mapped addresses, and the first-octet filter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "special.h"

static const char *reason(const char *s)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(s, strlen(s), &a), 0);
	const struct rasn_special *e = rasn_special_lookup(&a);
	return e ? e->reason : NULL;
}

static void test_ipv4_blocks(void **state)
{
	(void)state;
	assert_string_equal(reason("10.0.0.1"), "private-use (RFC 1918)");
	assert_string_equal(reason("172.16.0.0"), "private-use (RFC 1918)");
	assert_string_equal(reason("172.31.255.255"), "private-use (RFC 1918)");
	assert_string_equal(reason("192.168.1.1"), "private-use (RFC 1918)");
	assert_string_equal(reason("0.1.2.3"), "this network (RFC 791)");
	assert_string_equal(reason("0.0.0.0"), "this host on this network (RFC 1122)");
	assert_string_equal(reason("100.64.0.1"), "shared address space (RFC 6598)");
	assert_string_equal(reason("100.127.255.255"), "shared address space (RFC 6598)");
	assert_string_equal(reason("127.0.0.1"), "loopback (RFC 1122)");
	assert_string_equal(reason("169.254.1.1"), "link-local (RFC 3927)");
	assert_string_equal(reason("192.0.0.5"), "IPv4 service continuity prefix (RFC 7335)");
	assert_string_equal(reason("192.0.0.100"), "IETF protocol assignments (RFC 6890)");
	assert_string_equal(reason("192.0.0.171"), "NAT64/DNS64 discovery (RFC 8880)");
	assert_string_equal(reason("192.0.2.1"), "documentation (TEST-NET-1) (RFC 5737)");
	assert_string_equal(reason("198.51.100.7"), "documentation (TEST-NET-2) (RFC 5737)");
	assert_string_equal(reason("203.0.113.255"), "documentation (TEST-NET-3) (RFC 5737)");
	assert_string_equal(reason("192.88.99.1"), "deprecated (6to4 relay anycast) (RFC 7526)");
	assert_string_equal(reason("198.18.0.1"), "benchmarking (RFC 2544)");
	assert_string_equal(reason("198.19.255.255"), "benchmarking (RFC 2544)");
	assert_string_equal(reason("224.0.0.1"), "multicast (RFC 5771)");
	assert_string_equal(reason("239.255.255.255"), "multicast (RFC 5771)");
	assert_string_equal(reason("240.0.0.1"), "reserved (RFC 1112)");
	assert_string_equal(reason("255.255.255.254"), "reserved (RFC 1112)");
	assert_string_equal(reason("255.255.255.255"), "limited broadcast (RFC 919)");
}

static void test_ipv4_ordinary_and_edges(void **state)
{
	(void)state;
	const char *ordinary[] = { "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255",
		"100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0",
		"172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.3.0", "192.88.98.255",
		"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "198.51.99.255",
		"203.0.112.255", "203.0.114.0", "223.255.255.255",
		/* globally reachable exceptions inside 192.0.0.0/24 */
		"192.0.0.9", "192.0.0.10" };
	for (size_t i = 0; i < RASN_ARRAY_LEN(ordinary); i++)
		if (reason(ordinary[i]))
			fail_msg("%s: %s", ordinary[i], reason(ordinary[i]));
}

static void test_ipv6_blocks(void **state)
{
	(void)state;
	assert_string_equal(reason("::1"), "loopback address (RFC 4291)");
	assert_string_equal(reason("::"), "unspecified address (RFC 4291)");
	assert_string_equal(reason("fe80::1"), "link-local unicast (RFC 4291)");
	assert_string_equal(reason("febf:ffff::1"), "link-local unicast (RFC 4291)");
	assert_string_equal(reason("fc00::1"), "unique-local (RFC 4193)");
	assert_string_equal(reason("fdff:ffff::1"), "unique-local (RFC 4193)");
	assert_string_equal(reason("ff02::1"), "multicast (RFC 4291)");
	assert_string_equal(reason("2001:db8::1"), "documentation (RFC 3849)");
	assert_string_equal(reason("3fff:fff::1"), "documentation (RFC 9637)");
	assert_string_equal(reason("2001:2::1"), "benchmarking (RFC 5180)");
	assert_string_equal(reason("2001:100::1"), "IETF protocol assignments (RFC 2928)");
	assert_string_equal(reason("2001:20::1"), "ORCHIDv2 (RFC 7343)");
	assert_string_equal(reason("100::1"), "discard-only address block (RFC 6666)");
	assert_string_equal(reason("64:ff9b:1::1"), "IPv4-IPv6 translation (local use) (RFC 8215)");
	assert_string_equal(reason("5f00::1"), "segment routing (SRv6) SIDs (RFC 9602)");
}

static void test_ipv6_ordinary_and_exceptions(void **state)
{
	(void)state;
	const char *ordinary[] = { "2001:4860::8888", "2a00:1450::1", "2001:200::1", "2001:db7:ffff::1",
		"2001:db9::1", "fbff::1", "fec0::1", "100:0:0:1::1", "::2", "2002:808:808::1",
		/* globally reachable exceptions inside 2001::/23, and NAT64's well-known prefix */
		"2001::1", "2001:0:ffff::1", "2001:1::1", "2001:1::2", "2001:3::1", "2001:4:112::1", "64:ff9b::808:808" };
	for (size_t i = 0; i < RASN_ARRAY_LEN(ordinary); i++)
		if (reason(ordinary[i]))
			fail_msg("%s: %s", ordinary[i], reason(ordinary[i]));
	/* 2001:1::3 is in 2001::/23 but no exception of its own */
	assert_string_equal(reason("2001:1::3"), "IETF protocol assignments (RFC 2928)");
}

static void test_ipv4_mapped_is_its_ipv4_address(void **state)
{
	(void)state;
	/* parsed as IPv4 already; a mapped value built by hand (a DNS answer) gives the same */
	assert_string_equal(reason("::ffff:10.1.2.3"), "private-use (RFC 1918)");
	struct rasn_addr a = { RASN_AF6, ((rasn_u128)0xffff << 32) | 0x0a010203 };
	assert_string_equal(rasn_special_lookup(&a)->reason, "private-use (RFC 1918)");
	a.v = ((rasn_u128)0xffff << 32) | 0x08080808;
	assert_null(rasn_special_lookup(&a));
}

/* Is a in a globally reachable exception more specific than len? */
static int in_exception(const struct rasn_special *const *t, size_t n, const struct rasn_addr *a, unsigned len)
{
	for (size_t i = 0; i < n; i++)
		if (t[i]->global && t[i]->family == a->family && t[i]->len > len &&
		    (a->v & ~rasn_hostmask(a->family, t[i]->len)) == t[i]->addr)
			return 1;
	return 0;
}

static int holds(const struct rasn_special *outer, rasn_u128 v)
{
	return (v & ~rasn_hostmask(outer->family, outer->len)) == outer->addr;
}

/* The layout lib/special.c's search relies on: top-level blocks disjoint and in address
 * order, every inner block inside exactly one of them; each mask is its length's. Each
 * block's first and last addresses are found, as that block or a more specific one (or
 * fall in an exception inside it), so the first-octet filter lets every block through. */
static void every_block_of(int fam)
{
	const struct rasn_special *t[128];
	size_t top, n = rasn_special_list(fam, t, 128, &top);
	assert_true(n <= 128 && top > 10 && n > top);
	rasn_u128 all = fam == RASN_AF4 ? 0xffffffffu : ~(rasn_u128)0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t[i]->family, fam);
		assert_true(t[i]->mask == (~rasn_hostmask(fam, t[i]->len) & all));
		assert_int_equal(t[i]->addr & rasn_hostmask(fam, t[i]->len), 0);
		assert_non_null(t[i]->reason);
		rasn_u128 last_i = t[i]->addr | rasn_hostmask(fam, t[i]->len);
		if (i > 0 && i < top) /* after the previous top-level block ends */
			assert_true(t[i]->addr > (t[i - 1]->addr | rasn_hostmask(fam, t[i - 1]->len)));
		if (i >= top) {
			size_t parents = 0;
			for (size_t k = 0; k < top; k++)
				parents += holds(t[k], t[i]->addr) && holds(t[k], last_i) && t[k]->len < t[i]->len;
			assert_int_equal(parents, 1);
		}
		struct rasn_addr first = { fam, t[i]->addr }, last = { fam, last_i };
		const struct rasn_addr *ends[] = { &first, &last };
		for (int k = 0; k < 2; k++) {
			const struct rasn_special *e = rasn_special_lookup(ends[k]);
			if (t[i]->global) {
				assert_null(e);
				continue;
			}
			if (!e && in_exception(t, n, ends[k], t[i]->len))
				continue;
			if (!e)
				fail_msg("block %zu (%s) not found", i, t[i]->reason);
			assert_true(e->len >= t[i]->len);
		}
	}
}

static void test_every_block_is_reachable(void **state)
{
	(void)state;
	every_block_of(RASN_AF4);
	every_block_of(RASN_AF6);
	assert_int_equal(rasn_special_list(0, NULL, 0, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_blocks),
		cmocka_unit_test(test_ipv4_ordinary_and_edges),
		cmocka_unit_test(test_ipv6_blocks),
		cmocka_unit_test(test_ipv6_ordinary_and_exceptions),
		cmocka_unit_test(test_ipv4_mapped_is_its_ipv4_address),
		cmocka_unit_test(test_every_block_is_reachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
