/* Unit tests for lib/addr.c: strict parsing, RFC 5952 formatting, CIDR math. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

/* A literal with its exact length, so embedded NULs count. */
struct lit {
	const char *s;
	size_t len;
};
#define L(x) { (x), sizeof(x) - 1 }

static void hex128(rasn_u128 v, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (int i = 31; i >= 0; i--) {
		out[i] = d[(unsigned)(v & 0xf)];
		v >>= 4;
	}
	out[32] = '\0';
}

#define assert_u128_equal(a, b) \
	do { \
		char x_[33], y_[33]; \
		hex128((a), x_); \
		hex128((b), y_); \
		assert_string_equal(x_, y_); \
	} while (0)

static rasn_u128 g6(unsigned a, unsigned b, unsigned c, unsigned d, unsigned e, unsigned f,
		    unsigned g, unsigned h)
{
	unsigned x[8] = { a, b, c, d, e, f, g, h };
	rasn_u128 v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 16 | x[i];
	return v;
}

#define ALL128 (~(rasn_u128)0)

static uint32_t ip4(const char *s)
{
	uint32_t a = 0;
	assert_int_equal(rasn_addr_parse4(s, strlen(s), &a), 0);
	return a;
}

static rasn_u128 ip6(const char *s)
{
	rasn_u128 v = 0;
	assert_int_equal(rasn_addr_parse6(s, strlen(s), &v), 0);
	return v;
}

/* --- IPv4 parsing --- */

static void test_parse4_valid(void **state)
{
	static const struct {
		const char *s;
		uint32_t v;
	} ok[] = {
		{ "0.0.0.0", 0 },
		{ "255.255.255.255", 0xffffffffu },
		{ "1.2.3.4", 0x01020304u },
		{ "8.8.8.8", 0x08080808u },
		{ "10.0.0.1", 0x0a000001u },
		{ "192.168.100.200", 0xc0a864c8u },
		{ "100.10.1.0", 0x640a0100u },
		{ "249.250.251.252", 0xf9fafbfcu },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		uint32_t a = 0xdeadbeef;
		assert_int_equal(rasn_addr_parse4(ok[i].s, strlen(ok[i].s), &a), 0);
		assert_int_equal(a, ok[i].v);
	}
}

static void test_parse4_invalid(void **state)
{
	static const struct lit bad[] = {
		L(""), L("1"), L("1.2"), L("1.2.3"), L("01.2.3.4"), L("1.02.3.4"), L("1.2.3.00"),
		L("00.0.0.0"), L("1.2.3.4.5"), L("256.1.1.1"), L("1.1.1.256"), L("999.1.1.1"),
		L("1000.1.1.1"), L(" 1.2.3.4"), L("1.2.3.4 "), L("1.2.3.4."), L(".1.2.3.4"),
		L("1..2.3"), L("1..2.3.4"), L("a.b.c.d"), L("1.2.3.-4"), L("+1.2.3.4"),
		L("1.2.3.4/24"), L("0x1.2.3.4"), L("1.2.3.4\n"), L("::1"), L("1.2.3.4:80"),
		L("1.2.3.4\0"), L("1.2\0.3.4"), L("\0"), L("1.2.3.\0"), L("1,2,3,4"),
		L("1.2.3.4a"), L("0000000001.2.3.4"), L("1.2.3.0004"), L("junk"),
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		uint32_t a = 0x5a5a5a5a;
		if (rasn_addr_parse4(bad[i].s, bad[i].len, &a) != RASN_ESYNTAX)
			fail_msg("accepted bad IPv4 #%zu \"%.*s\"", i, (int)bad[i].len, bad[i].s);
		assert_int_equal(a, 0x5a5a5a5a); /* untouched on failure */
	}
}

static void test_parse4_not_terminated(void **state)
{
	/* Only len bytes are read: the rest of the buffer does not matter. */
	const char buf[] = "1.2.3.45";
	uint32_t a = 0;
	assert_int_equal(rasn_addr_parse4(buf, 7, &a), 0);
	assert_int_equal(a, 0x01020304u);
	assert_int_equal(rasn_addr_parse4(buf, 6, &a), RASN_ESYNTAX);
}

/* --- IPv6 parsing --- */

static void test_parse6_valid(void **state)
{
	const struct {
		const char *s;
		rasn_u128 v;
	} ok[] = {
		{ "::", 0 },
		{ "::1", 1 },
		{ "1::", g6(1, 0, 0, 0, 0, 0, 0, 0) },
		{ "1:2:3:4:5:6:7:8", g6(1, 2, 3, 4, 5, 6, 7, 8) },
		{ "2001:db8::1", g6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1) },
		{ "2001:DB8::AbCd", g6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xabcd) },
		{ "2001:4860::8888", g6(0x2001, 0x4860, 0, 0, 0, 0, 0, 0x8888) },
		{ "::ffff:1.2.3.4", g6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304) },
		{ "64:ff9b::1.2.3.4", g6(0x64, 0xff9b, 0, 0, 0, 0, 0x0102, 0x0304) },
		{ "::1.2.3.4", g6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304) },
		{ "1:2:3:4:5:6:1.2.3.4", g6(1, 2, 3, 4, 5, 6, 0x0102, 0x0304) },
		{ "1::6:255.255.255.255", g6(1, 0, 0, 0, 0, 6, 0xffff, 0xffff) },
		{ "1:2:3:4:5:6:7::", g6(1, 2, 3, 4, 5, 6, 7, 0) },
		{ "::2:3:4:5:6:7:8", g6(0, 2, 3, 4, 5, 6, 7, 8) },
		{ "1:2:3::6:7:8", g6(1, 2, 3, 0, 0, 6, 7, 8) },
		/* "::" may stand for a single group (RFC 4291; only RFC 5952 output avoids it) */
		{ "420::21:5:6:7:8:9", g6(0x420, 0, 0x21, 5, 6, 7, 8, 9) },
		{ "0000:0000:0000:0000:0000:0000:0000:0001", 1 },
		{ "0:0:0:0:0:0:0:0", 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALL128 },
		{ "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:255.255.255.255", ALL128 },
		{ "fe80::1:2", g6(0xfe80, 0, 0, 0, 0, 0, 1, 2) },
		{ "0::0", 0 },
		{ "01:002:0003::", g6(1, 2, 3, 0, 0, 0, 0, 0) },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		rasn_u128 v = 12345;
		if (rasn_addr_parse6(ok[i].s, strlen(ok[i].s), &v) != 0)
			fail_msg("rejected good IPv6 \"%s\"", ok[i].s);
		assert_u128_equal(v, ok[i].v);
	}
}

static void test_parse6_invalid(void **state)
{
	static const struct lit bad[] = {
		L(""), L(":"), L(":::"), L("::::"), L("1:::2"), L("1::2::3"), L("::1::"), L("::1:2::"),
		L("12345::"), L("::12345"), L("00000::1"), L("1:2:3:4:5:6:7:8:9"), L("1:2:3:4:5:6:7"),
		L("1:2:3:4:5:6:7:8::"), L("::1:2:3:4:5:6:7:8"), L("1:2:3:4::5:6:7:8"),
		L("fe80::1%eth0"), L("fe80::1%1"), L("[::1]"), L("[::1"), L("::1]"), L("1:"), L(":1"),
		L("1:2:3:4:5:6:7:8:"), L(":1:2:3:4:5:6:7:8"), L("g::1"), L("::g"), L("::1.2.3"),
		L("::1.2.3.4.5"), L("::01.2.3.4"), L("::256.1.1.1"), L("1.2.3.4"),
		L("1:2:3:4:5:6:7:1.2.3.4"), L("::1.2.3.4:5"), L("1.2.3.4::"), L("::1.2.3.4::"),
		L(" ::1"), L("::1 "), L("::1\n"), L(":: 1"), L("::1\0"), L("\0::1"), L("::\0"),
		L("::-1"), L("::+1"), L("::0x1"), L("1:2:3:4:5:6:7:8:9:10:11:12"),
		L("0000:0000:0000:0000:0000:0000:0000:0000:0"), L("::ffff:1.2.3.4/96"), L("junk"),
		L("1::2:3:4:5:6:7:8"), L("::1:2:3:4:5:6:1.2.3.4"), L("1:2:3:4:5:6:7:8:1.2.3.4"),
		L("::ffff:1.2.3.4.5"), L("::a.2.3.4"), L("::.1.2.3"), L(":::1"), L("1::2:"),
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		rasn_u128 v = 77;
		if (rasn_addr_parse6(bad[i].s, bad[i].len, &v) != RASN_ESYNTAX)
			fail_msg("accepted bad IPv6 #%zu \"%.*s\"", i, (int)bad[i].len, bad[i].s);
		assert_u128_equal(v, 77);
	}
}

static void test_parse_either(void **state)
{
	struct rasn_addr a;

	assert_int_equal(rasn_addr_parse("1.2.3.4", 7, &a), 0);
	assert_int_equal(a.family, RASN_AF4);
	assert_u128_equal(a.v, 0x01020304u);

	assert_int_equal(rasn_addr_parse("::1", 3, &a), 0);
	assert_int_equal(a.family, RASN_AF6);
	assert_u128_equal(a.v, 1);

	/* IPv4-mapped answers as IPv4, whichever way it is written */
	assert_int_equal(rasn_addr_parse("::ffff:8.8.8.8", 14, &a), 0);
	assert_int_equal(a.family, RASN_AF4);
	assert_u128_equal(a.v, 0x08080808u);
	assert_int_equal(rasn_addr_parse("::FFFF:0808:0808", 16, &a), 0);
	assert_int_equal(a.family, RASN_AF4);
	assert_u128_equal(a.v, 0x08080808u);
	assert_int_equal(rasn_addr_parse("::ffff:0.0.0.0", 14, &a), 0);
	assert_int_equal(a.family, RASN_AF4);
	assert_u128_equal(a.v, 0);

	/* near misses stay IPv6 */
	assert_int_equal(rasn_addr_parse("::fffe:1.2.3.4", 14, &a), 0);
	assert_int_equal(a.family, RASN_AF6);
	assert_int_equal(rasn_addr_parse("1::ffff:1.2.3.4", 15, &a), 0);
	assert_int_equal(a.family, RASN_AF6);
	assert_int_equal(rasn_addr_parse("::1.2.3.4", 9, &a), 0);
	assert_int_equal(a.family, RASN_AF6);
	assert_u128_equal(a.v, 0x01020304u);
	assert_int_equal(rasn_addr_parse("64:ff9b::1.2.3.4", 16, &a), 0);
	assert_int_equal(a.family, RASN_AF6);

	assert_int_equal(rasn_addr_parse("", 0, &a), RASN_ESYNTAX);
	assert_int_equal(rasn_addr_parse(NULL, 0, &a), RASN_ESYNTAX);
	struct rasn_prefix p;
	assert_int_equal(rasn_prefix_parse(NULL, 0, &p), RASN_ESYNTAX);
	assert_int_equal(rasn_addr_parse("1.2.3", 5, &a), RASN_ESYNTAX);
	assert_int_equal(rasn_addr_parse(":::", 3, &a), RASN_ESYNTAX);
	assert_int_equal(rasn_addr_parse("example.com", 11, &a), RASN_ESYNTAX);
	assert_int_equal(rasn_addr_parse("1.2.3.4\0", 8, &a), RASN_ESYNTAX);
}

/* --- formatting --- */

static void test_format4(void **state)
{
	static const struct {
		uint32_t a;
		const char *s;
	} cases[] = {
		{ 0, "0.0.0.0" },
		{ 0xffffffffu, "255.255.255.255" },
		{ 0x01020304u, "1.2.3.4" },
		{ 0x0a640009u, "10.100.0.9" },
		{ 0x636463c7u, "99.100.99.199" },
		{ 0x80000000u, "128.0.0.0" },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++) {
		char buf[RASN_ADDR_STRLEN];
		memset(buf, 'x', sizeof(buf));
		size_t n = rasn_addr_format4(cases[i].a, buf);
		assert_string_equal(buf, cases[i].s);
		assert_int_equal(n, strlen(cases[i].s));
	}
}

static void test_format6_rfc5952(void **state)
{
	const struct {
		rasn_u128 v;
		const char *s;
	} cases[] = {
		{ 0, "::" },
		{ 1, "::1" },
		{ g6(1, 0, 0, 0, 0, 0, 0, 0), "1::" },
		{ g6(0x2001, 0xdb8, 0, 0, 0, 0, 2, 1), "2001:db8::2:1" },
		/* 4.2.2: a single zero group is not compressed */
		{ g6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1" },
		/* 4.2.3: the longest run wins, then the first */
		{ g6(0x2001, 0, 0, 1, 0, 0, 0, 1), "2001:0:0:1::1" },
		{ g6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1" },
		{ g6(0, 0, 1, 0, 0, 0, 1, 0), "0:0:1::1:0" },
		{ g6(0, 1, 0, 1, 0, 1, 0, 1), "0:1:0:1:0:1:0:1" },
		{ g6(1, 0, 1, 0, 1, 0, 1, 0), "1:0:1:0:1:0:1:0" },
		{ g6(0, 0, 1, 1, 1, 1, 0, 0), "::1:1:1:1:0:0" },
		{ g6(1, 1, 0, 0, 1, 1, 0, 0), "1:1::1:1:0:0" },
		{ g6(1, 2, 3, 4, 5, 6, 7, 8), "1:2:3:4:5:6:7:8" },
		/* 4.3: lower case; 4.1: no leading zeros */
		{ g6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xabcd), "2001:db8::abcd" },
		{ g6(0x00ab, 0x0abc, 0xf, 0x10, 0x100, 0x1000, 0xfff, 0), "ab:abc:f:10:100:1000:fff:0" },
		{ ALL128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ g6(0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888),
		  "1111:2222:3333:4444:5555:6666:7777:8888" },
		/* mapped addresses are plain hex (they are answered as IPv4 anyway) */
		{ g6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), "::ffff:102:304" },
		{ g6(0xfe80, 0, 0, 0, 0, 0, 0, 0), "fe80::" },
		{ g6(0, 0, 0, 0, 0, 0, 0xa, 0), "::a:0" },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++) {
		char buf[RASN_ADDR_STRLEN];
		memset(buf, 'x', sizeof(buf));
		size_t n = rasn_addr_format6(cases[i].v, buf);
		assert_string_equal(buf, cases[i].s);
		assert_int_equal(n, strlen(cases[i].s));
	}
}

static void test_format_family(void **state)
{
	char buf[RASN_ADDR_STRLEN];
	assert_int_equal(rasn_addr_format(RASN_AF4, 0x08080404u, buf), 7);
	assert_string_equal(buf, "8.8.4.4");
	assert_int_equal(rasn_addr_format(RASN_AF6, 0x08080404u, buf), 9);
	assert_string_equal(buf, "::808:404");
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: deterministic, so a failure repeats */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void test_roundtrip(void **state)
{
	uint64_t seed = 42;
	for (int i = 0; i < 20000; i++) {
		char buf[RASN_ADDR_STRLEN];
		uint64_t r1 = rng_next(&seed), r2 = rng_next(&seed);
		uint32_t a4 = (uint32_t)r1, b4 = 0;
		size_t n = rasn_addr_format4(a4, buf);
		assert_int_equal(rasn_addr_parse4(buf, n, &b4), 0);
		assert_int_equal(a4, b4);

		/* sprinkle zero groups so compression is exercised */
		rasn_u128 v = (rasn_u128)r1 << 64 | r2, w = 0;
		uint64_t zmask = rng_next(&seed);
		for (int g = 0; g < 8; g++)
			if (zmask >> g & 1)
				v &= ~((rasn_u128)0xffff << (16 * g));
		n = rasn_addr_format6(v, buf);
		assert_true(n < RASN_ADDR_STRLEN);
		assert_int_equal(n, strlen(buf));
		assert_int_equal(rasn_addr_parse6(buf, n, &w), 0);
		assert_u128_equal(v, w);
		/* canonical: no "0" group next to "::", no upper case, no leading zeros */
		for (size_t j = 0; j < n; j++)
			assert_false(buf[j] >= 'A' && buf[j] <= 'F');
		assert_null(strstr(buf, ":0::"));
		assert_null(strstr(buf, "::0:"));
		assert_null(strstr(buf, ":00"));
		assert_false(buf[0] == '0' && buf[1] != ':');
	}
}

/* --- prefixes --- */

static void test_prefix_parse(void **state)
{
	const struct {
		const char *s;
		int family;
		rasn_u128 addr;
		unsigned len;
	} ok[] = {
		{ "0.0.0.0/0", RASN_AF4, 0, 0 },
		{ "1.2.3.0/24", RASN_AF4, 0x01020300u, 24 },
		{ "1.2.3.4/32", RASN_AF4, 0x01020304u, 32 },
		{ "10.0.0.0/8", RASN_AF4, 0x0a000000u, 8 },
		{ "128.0.0.0/1", RASN_AF4, 0x80000000u, 1 },
		{ "::/0", RASN_AF6, 0, 0 },
		{ "2001:db8::/32", RASN_AF6, g6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32 },
		{ "::1/128", RASN_AF6, 1, 128 },
		{ "::/100", RASN_AF6, 0, 100 },
		/* a mapped prefix keeps its family: the length is relative to 128 bits */
		{ "::ffff:1.2.3.0/120", RASN_AF6, g6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0300), 120 },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		struct rasn_prefix p;
		if (rasn_prefix_parse(ok[i].s, strlen(ok[i].s), &p) != 0)
			fail_msg("rejected good prefix \"%s\"", ok[i].s);
		assert_int_equal(p.family, ok[i].family);
		assert_u128_equal(p.addr, ok[i].addr);
		assert_int_equal(p.len, ok[i].len);
	}
	static const struct lit bad[] = {
		L(""), L("/"), L("/24"), L("1.2.3.0"), L("1.2.3.0/"), L("1.2.3.4/24"), L("1.2.3.0/33"),
		L("1.2.3.0/024"), L("1.2.3.0/00"), L("1.2.3.0/-1"), L("1.2.3.0/+8"), L("1.2.3.0/ 24"),
		L("1.2.3.0 /24"), L("1.2.3.0/24 "), L("1.2.3.0/24/"), L("1.2.3.0/2a"), L("1.2.3/24"),
		L("::/129"), L("::1/127"), L("::/1000"), L("2001:db8::/16"), L("::/0\0"),
		L("1.2.3.0/24\0"), L("1.2.3.0\0/24"), L(":::/64"), L("1.2.3.0//24"), L("0.0.0.0/4294967296"),
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		struct rasn_prefix p = { 0 };
		if (rasn_prefix_parse(bad[i].s, bad[i].len, &p) != RASN_ESYNTAX)
			fail_msg("accepted bad prefix #%zu \"%.*s\"", i, (int)bad[i].len, bad[i].s);
	}
}

static void test_prefix_format(void **state)
{
	static const char *const cases[] = {
		"0.0.0.0/0", "1.2.3.0/24", "255.255.255.255/32", "10.0.0.0/8", "128.0.0.0/1",
		"::/0", "2001:db8::/32", "::1/128", "::/100", "2001:4860::/32", "fe80::/10",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++) {
		struct rasn_prefix p;
		char buf[RASN_PREFIX_STRLEN];
		assert_int_equal(rasn_prefix_parse(cases[i], strlen(cases[i]), &p), 0);
		size_t n = rasn_prefix_format(&p, buf);
		assert_string_equal(buf, cases[i]);
		assert_int_equal(n, strlen(cases[i]));
	}
	/* the longest form fits */
	struct rasn_prefix p = { RASN_AF6, ALL128, 128 };
	char buf[RASN_PREFIX_STRLEN];
	assert_int_equal(rasn_prefix_format(&p, buf), 43);
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

static void test_hostmask(void **state)
{
	assert_u128_equal(rasn_hostmask(RASN_AF4, 0), 0xffffffffu);
	assert_u128_equal(rasn_hostmask(RASN_AF4, 1), 0x7fffffffu);
	assert_u128_equal(rasn_hostmask(RASN_AF4, 24), 0xffu);
	assert_u128_equal(rasn_hostmask(RASN_AF4, 31), 1);
	assert_u128_equal(rasn_hostmask(RASN_AF4, 32), 0);
	assert_u128_equal(rasn_hostmask(RASN_AF4, 33), 0);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 0), ALL128);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 1), ALL128 >> 1);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 64), UINT64_MAX);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 96), 0xffffffffu);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 127), 1);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 128), 0);
	assert_u128_equal(rasn_hostmask(RASN_AF6, 200), 0);
}

/* --- CIDR math --- */

static void expect_prefix(const struct rasn_prefix *p, const char *want)
{
	char buf[RASN_PREFIX_STRLEN];
	rasn_prefix_format(p, buf);
	assert_string_equal(buf, want);
}

static void test_covering(void **state)
{
	struct rasn_prefix p;
	uint32_t f = ip4("1.0.0.1"), l = ip4("1.0.0.6");

	p = rasn_cidr_covering(RASN_AF4, f, l, ip4("1.0.0.1"));
	expect_prefix(&p, "1.0.0.1/32");
	p = rasn_cidr_covering(RASN_AF4, f, l, ip4("1.0.0.2"));
	expect_prefix(&p, "1.0.0.2/31");
	p = rasn_cidr_covering(RASN_AF4, f, l, ip4("1.0.0.3"));
	expect_prefix(&p, "1.0.0.2/31");
	p = rasn_cidr_covering(RASN_AF4, f, l, ip4("1.0.0.5"));
	expect_prefix(&p, "1.0.0.4/31");
	p = rasn_cidr_covering(RASN_AF4, f, l, ip4("1.0.0.6"));
	expect_prefix(&p, "1.0.0.6/32");

	p = rasn_cidr_covering(RASN_AF4, ip4("8.8.8.0"), ip4("8.8.8.255"), ip4("8.8.8.8"));
	expect_prefix(&p, "8.8.8.0/24");
	p = rasn_cidr_covering(RASN_AF4, ip4("10.0.0.0"), ip4("10.0.2.255"), ip4("10.0.2.5"));
	expect_prefix(&p, "10.0.2.0/24");
	p = rasn_cidr_covering(RASN_AF4, ip4("10.0.0.0"), ip4("10.0.2.255"), ip4("10.0.1.1"));
	expect_prefix(&p, "10.0.0.0/23");
	p = rasn_cidr_covering(RASN_AF4, 0, 0xffffffffu, ip4("1.2.3.4"));
	expect_prefix(&p, "0.0.0.0/0");
	p = rasn_cidr_covering(RASN_AF4, 0, 0xfffffffeu, ip4("200.0.0.1"));
	expect_prefix(&p, "192.0.0.0/3");
	p = rasn_cidr_covering(RASN_AF4, ip4("9.9.9.9"), ip4("9.9.9.9"), ip4("9.9.9.9"));
	expect_prefix(&p, "9.9.9.9/32");
	p = rasn_cidr_covering(RASN_AF4, 0xffffffffu, 0xffffffffu, 0xffffffffu);
	expect_prefix(&p, "255.255.255.255/32");

	p = rasn_cidr_covering(RASN_AF6, 0, ALL128, ip6("2001:db8::1"));
	expect_prefix(&p, "::/0");
	/* ::/1 would hold ::, which is outside */
	p = rasn_cidr_covering(RASN_AF6, 1, ALL128, ip6("2001:db8::1"));
	expect_prefix(&p, "2000::/3");
	p = rasn_cidr_covering(RASN_AF6, 1, ALL128, ip6("8000::"));
	expect_prefix(&p, "8000::/1");
	p = rasn_cidr_covering(RASN_AF6, ip6("2001:db8::"), ip6("2001:db8::ffff:ffff:ffff:ffff"),
			       ip6("2001:db8::abc"));
	expect_prefix(&p, "2001:db8::/64");
	p = rasn_cidr_covering(RASN_AF6, ip6("::5"), ip6("::5"), ip6("::5"));
	expect_prefix(&p, "::5/128");
	p = rasn_cidr_covering(RASN_AF6, ALL128, ALL128, ALL128);
	expect_prefix(&p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

/* Checks that list exactly tiles [first, last] with aligned blocks, ascending. */
static void check_tiling(int family, rasn_u128 first, rasn_u128 last,
			 const struct rasn_prefix *p, size_t n)
{
	rasn_u128 next = first;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		rasn_u128 m = rasn_hostmask(family, p[i].len);
		assert_int_equal(p[i].family, family);
		assert_true(p[i].len <= rasn_af_bits(family));
		assert_u128_equal(p[i].addr & m, 0);
		assert_u128_equal(p[i].addr, next);
		if (i + 1 == n)
			assert_u128_equal(p[i].addr | m, last);
		else
			next = (p[i].addr | m) + 1;
	}
}

static void test_from_range(void **state)
{
	struct rasn_prefix out[256];
	size_t n;

	n = rasn_cidr_from_range(RASN_AF4, ip4("1.2.3.4"), ip4("1.2.3.4"), out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "1.2.3.4/32");

	n = rasn_cidr_from_range(RASN_AF4, 0, 0xffffffffu, out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "0.0.0.0/0");

	n = rasn_cidr_from_range(RASN_AF6, 0, ALL128, out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "::/0");

	n = rasn_cidr_from_range(RASN_AF4, ip4("1.0.0.1"), ip4("1.0.0.6"), out, 256);
	assert_int_equal(n, 4);
	expect_prefix(&out[0], "1.0.0.1/32");
	expect_prefix(&out[1], "1.0.0.2/31");
	expect_prefix(&out[2], "1.0.0.4/31");
	expect_prefix(&out[3], "1.0.0.6/32");

	n = rasn_cidr_from_range(RASN_AF4, ip4("8.8.8.0"), ip4("8.8.11.255"), out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "8.8.8.0/22");

	n = rasn_cidr_from_range(RASN_AF4, ip4("8.8.10.0"), ip4("8.8.13.255"), out, 256);
	assert_int_equal(n, 2);
	expect_prefix(&out[0], "8.8.10.0/23");
	expect_prefix(&out[1], "8.8.12.0/23");

	n = rasn_cidr_from_range(RASN_AF4, ip4("8.8.8.0"), ip4("8.8.12.0"), out, 256);
	assert_int_equal(n, 2);
	expect_prefix(&out[0], "8.8.8.0/22");
	expect_prefix(&out[1], "8.8.12.0/32");

	/* edges of the space: no overflow past the top, no shift by 32 or 128 */
	n = rasn_cidr_from_range(RASN_AF4, 0, 0xfffffffeu, out, 256);
	assert_int_equal(n, 32);
	expect_prefix(&out[0], "0.0.0.0/1");
	expect_prefix(&out[1], "128.0.0.0/2");
	expect_prefix(&out[31], "255.255.255.254/32");
	check_tiling(RASN_AF4, 0, 0xfffffffeu, out, n);

	n = rasn_cidr_from_range(RASN_AF4, 1, 0xffffffffu, out, 256);
	assert_int_equal(n, 32);
	expect_prefix(&out[0], "0.0.0.1/32");
	expect_prefix(&out[1], "0.0.0.2/31");
	expect_prefix(&out[31], "128.0.0.0/1");
	check_tiling(RASN_AF4, 1, 0xffffffffu, out, n);

	n = rasn_cidr_from_range(RASN_AF4, 1, 0xfffffffeu, out, 256);
	assert_int_equal(n, 62);
	check_tiling(RASN_AF4, 1, 0xfffffffeu, out, n);

	n = rasn_cidr_from_range(RASN_AF4, 0xffffffffu, 0xffffffffu, out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "255.255.255.255/32");

	n = rasn_cidr_from_range(RASN_AF6, 0, ALL128 - 1, out, 256);
	assert_int_equal(n, 128);
	expect_prefix(&out[0], "::/1");
	expect_prefix(&out[127], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128");
	check_tiling(RASN_AF6, 0, ALL128 - 1, out, n);

	n = rasn_cidr_from_range(RASN_AF6, 1, ALL128, out, 256);
	assert_int_equal(n, 128);
	expect_prefix(&out[0], "::1/128");
	expect_prefix(&out[127], "8000::/1");
	check_tiling(RASN_AF6, 1, ALL128, out, n);

	n = rasn_cidr_from_range(RASN_AF6, 1, ALL128 - 1, out, 256);
	assert_int_equal(n, 254);
	check_tiling(RASN_AF6, 1, ALL128 - 1, out, n);

	n = rasn_cidr_from_range(RASN_AF6, ALL128, ALL128, out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");

	n = rasn_cidr_from_range(RASN_AF6, ip6("2001:db8::"), ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
				 out, 256);
	assert_int_equal(n, 1);
	expect_prefix(&out[0], "2001:db8::/32");
}

static void test_from_range_cap(void **state)
{
	struct rasn_prefix out[4];
	memset(out, 0xab, sizeof(out));
	size_t n = rasn_cidr_from_range(RASN_AF4, ip4("1.0.0.1"), ip4("1.0.0.6"), out, 2);
	assert_int_equal(n, 4);
	expect_prefix(&out[0], "1.0.0.1/32");
	expect_prefix(&out[1], "1.0.0.2/31");
	/* nothing past cap written */
	unsigned char *rest = (unsigned char *)&out[2];
	for (size_t i = 0; i < 2 * sizeof(out[0]); i++)
		assert_int_equal(rest[i], 0xab);
	assert_int_equal(rasn_cidr_from_range(RASN_AF4, ip4("1.0.0.1"), ip4("1.0.0.6"), NULL, 0), 4);
	assert_int_equal(rasn_cidr_from_range(RASN_AF6, 1, ALL128 - 1, NULL, 0), 254);
}

static void test_from_range_random(void **state)
{
	struct rasn_prefix out[256];
	uint64_t seed = 7;
	for (int i = 0; i < 5000; i++) {
		uint32_t a = (uint32_t)rng_next(&seed), b = (uint32_t)rng_next(&seed);
		if (i % 3 == 0)
			b = a + (uint32_t)(rng_next(&seed) % 300);
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		size_t n = rasn_cidr_from_range(RASN_AF4, a, b, out, 256);
		assert_true(n <= 64);
		check_tiling(RASN_AF4, a, b, out, n);
		/* minimal: no two neighbours are siblings */
		for (size_t j = 1; j < n; j++)
			assert_false(out[j].len == out[j - 1].len &&
				     ((out[j - 1].addr >> (32 - out[j].len + 1)) ==
				      (out[j].addr >> (32 - out[j].len + 1))));

		rasn_u128 x = (rasn_u128)rng_next(&seed) << 64 | rng_next(&seed);
		rasn_u128 y = (rasn_u128)rng_next(&seed) << 64 | rng_next(&seed);
		if (x > y) {
			rasn_u128 t = x;
			x = y;
			y = t;
		}
		n = rasn_cidr_from_range(RASN_AF6, x, y, out, 256);
		assert_true(n <= 256);
		check_tiling(RASN_AF6, x, y, out, n);
		/* covering agrees with the decomposition for an address inside */
		struct rasn_prefix c = rasn_cidr_covering(RASN_AF6, x, y, out[n / 2].addr);
		assert_u128_equal(c.addr, out[n / 2].addr);
		assert_int_equal(c.len, out[n / 2].len);
	}
}

static struct rasn_prefix pfx(const char *s)
{
	struct rasn_prefix p;
	assert_int_equal(rasn_prefix_parse(s, strlen(s), &p), 0);
	return p;
}

static void expect_list(const struct rasn_prefix *p, size_t n, const char *const *want, size_t wn)
{
	assert_int_equal(n, wn);
	for (size_t i = 0; i < n; i++)
		expect_prefix(&p[i], want[i]);
}

static void test_aggregate(void **state)
{
	struct rasn_prefix p[16];
	size_t n;

	assert_int_equal(rasn_cidr_aggregate(p, 0), 0);

	p[0] = pfx("10.0.1.0/24");
	p[1] = pfx("10.0.0.0/24");
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/23" }, 1);

	/* repeated merging, unsorted input */
	p[0] = pfx("10.0.3.0/24");
	p[1] = pfx("10.0.1.0/24");
	p[2] = pfx("10.0.2.0/24");
	p[3] = pfx("10.0.0.0/24");
	n = rasn_cidr_aggregate(p, 4);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/22" }, 1);

	/* merged parent merges with an earlier block */
	p[0] = pfx("10.0.0.192/26");
	p[1] = pfx("10.0.0.0/25");
	p[2] = pfx("10.0.0.128/26");
	n = rasn_cidr_aggregate(p, 3);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/24" }, 1);

	/* nested and duplicate dropped */
	p[0] = pfx("10.1.2.0/24");
	p[1] = pfx("10.0.0.0/8");
	p[2] = pfx("10.0.0.0/8");
	p[3] = pfx("10.255.255.255/32");
	p[4] = pfx("10.0.0.0/9");
	n = rasn_cidr_aggregate(p, 5);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/8" }, 1);

	/* adjacent but not siblings: stay apart */
	p[0] = pfx("10.0.2.0/24");
	p[1] = pfx("10.0.1.0/24");
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "10.0.1.0/24", "10.0.2.0/24" }, 2);

	/* different lengths that touch do not merge */
	p[0] = pfx("10.0.0.0/24");
	p[1] = pfx("10.0.1.0/25");
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/24", "10.0.1.0/25" }, 2);

	/* a decomposed range and its ends become one block */
	n = rasn_cidr_from_range(RASN_AF4, ip4("1.0.0.1"), ip4("1.0.0.6"), p, 16);
	p[n++] = pfx("1.0.0.7/32");
	p[n++] = pfx("1.0.0.0/32");
	n = rasn_cidr_aggregate(p, n);
	expect_list(p, n, (const char *const[]){ "1.0.0.0/29" }, 1);

	/* up to the whole space, which does not merge further */
	p[0] = pfx("128.0.0.0/1");
	p[1] = pfx("0.0.0.0/1");
	p[2] = pfx("8000::/1");
	p[3] = pfx("::/1");
	n = rasn_cidr_aggregate(p, 4);
	expect_list(p, n, (const char *const[]){ "0.0.0.0/0", "::/0" }, 2);
}

static void test_aggregate_families(void **state)
{
	struct rasn_prefix p[8];
	size_t n;

	/* v4 0.0.0.0/0 does not cover v6 ::1 even though the numbers would fit */
	p[0] = pfx("::1/128");
	p[1] = pfx("0.0.0.0/0");
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "0.0.0.0/0", "::1/128" }, 2);

	p[0] = pfx("::/0");
	p[1] = pfx("1.2.3.4/32");
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "1.2.3.4/32", "::/0" }, 2);

	/* same numbers and lengths in both families: v4 first, nothing merged across */
	p[0] = (struct rasn_prefix){ RASN_AF6, 1, 128 };
	p[1] = (struct rasn_prefix){ RASN_AF4, 0, 32 };
	p[2] = (struct rasn_prefix){ RASN_AF6, 0, 128 };
	p[3] = (struct rasn_prefix){ RASN_AF4, 2, 32 };
	n = rasn_cidr_aggregate(p, 4);
	expect_list(p, n, (const char *const[]){ "0.0.0.0/32", "0.0.0.2/32", "::/127" }, 3);

	p[0] = (struct rasn_prefix){ RASN_AF4, 0, 32 };
	p[1] = (struct rasn_prefix){ RASN_AF6, 1, 128 };
	n = rasn_cidr_aggregate(p, 2);
	expect_list(p, n, (const char *const[]){ "0.0.0.0/32", "::1/128" }, 2);

	p[0] = pfx("2001:db8::/33");
	p[1] = pfx("10.0.0.0/9");
	p[2] = pfx("2001:db8:8000::/33");
	p[3] = pfx("10.128.0.0/9");
	p[4] = pfx("2001:db8:1::/48");
	n = rasn_cidr_aggregate(p, 5);
	expect_list(p, n, (const char *const[]){ "10.0.0.0/8", "2001:db8::/32" }, 2);
}

/* Random sets in 10.0.0.0/24: the union must not change, and the result must be the
 * canonical decomposition of that union (no nesting, no siblings, each run minimal). */
static void test_aggregate_random(void **state)
{
	uint64_t seed = 99;
	for (int iter = 0; iter < 2000; iter++) {
		struct rasn_prefix p[64], want[64];
		unsigned char before[256] = { 0 }, after[256] = { 0 };
		size_t n = 1 + rng_next(&seed) % 40, wn = 0;
		uint32_t base = 0x0a000000u;

		for (size_t i = 0; i < n; i++) {
			unsigned len = 24 + (unsigned)(rng_next(&seed) % 9);
			uint32_t a = (uint32_t)(rng_next(&seed) & 0xff) & ~(uint32_t)rasn_hostmask(RASN_AF4, len);
			p[i] = (struct rasn_prefix){ RASN_AF4, base | a, len };
			for (uint32_t x = a; x <= (a | (uint32_t)rasn_hostmask(RASN_AF4, len)); x++)
				before[x] = 1;
		}
		n = rasn_cidr_aggregate(p, n);
		for (size_t i = 0; i < n; i++) {
			uint32_t a = (uint32_t)p[i].addr & 0xff;
			for (uint32_t x = a; x <= (a | (uint32_t)rasn_hostmask(RASN_AF4, p[i].len)); x++) {
				assert_int_equal(after[x], 0); /* no overlap */
				after[x] = 1;
			}
		}
		assert_memory_equal(before, after, sizeof(before));
		/* expected: the minimal decomposition of each run of set addresses */
		for (unsigned x = 0; x < 256;) {
			if (!before[x]) {
				x++;
				continue;
			}
			unsigned y = x;
			while (y + 1 < 256 && before[y + 1])
				y++;
			wn += rasn_cidr_from_range(RASN_AF4, base | x, base | y, want + wn, 64 - wn);
			x = y + 1;
		}
		assert_int_equal(n, wn);
		for (size_t i = 0; i < n; i++) {
			assert_u128_equal(p[i].addr, want[i].addr);
			assert_int_equal(p[i].len, want[i].len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse4_valid),
		cmocka_unit_test(test_parse4_invalid),
		cmocka_unit_test(test_parse4_not_terminated),
		cmocka_unit_test(test_parse6_valid),
		cmocka_unit_test(test_parse6_invalid),
		cmocka_unit_test(test_parse_either),
		cmocka_unit_test(test_format4),
		cmocka_unit_test(test_format6_rfc5952),
		cmocka_unit_test(test_format_family),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_format),
		cmocka_unit_test(test_hostmask),
		cmocka_unit_test(test_covering),
		cmocka_unit_test(test_from_range),
		cmocka_unit_test(test_from_range_cap),
		cmocka_unit_test(test_from_range_random),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_aggregate_families),
		cmocka_unit_test(test_aggregate_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
