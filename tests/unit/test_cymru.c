/* Unit tests for lib/cymru.c: query names for both families and the AS zone, and the strict
 * TXT parsers (field shapes, empty fields, MOAS lists, covering check, every rejection). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cymru.h"

static struct rasn_addr addr(const char *s)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static void test_origin_qname_v4(void **state)
{
	char out[RASN_CYMRU_QNAME_MAX];
	struct rasn_addr a = addr("8.8.8.8");
	assert_int_equal(rasn_cymru_origin_qname(&a, NULL, out, sizeof(out)), 28);
	assert_string_equal(out, "8.8.8.8.origin.asn.cymru.com");
	a = addr("1.2.3.4");
	assert_int_equal(rasn_cymru_origin_qname(&a, RASN_CYMRU_ORIGIN_ZONE, out, sizeof(out)), 28);
	assert_string_equal(out, "4.3.2.1.origin.asn.cymru.com");
	a = addr("10.200.0.255");
	assert_int_equal(rasn_cymru_origin_qname(&a, "origin.test.", out, sizeof(out)), 25);
	assert_string_equal(out, "255.0.200.10.origin.test.");
	a = addr("0.0.0.0");
	assert_int_equal(rasn_cymru_origin_qname(&a, "z", out, sizeof(out)), 9);
	assert_string_equal(out, "0.0.0.0.z");
}

static void test_origin_qname_v6(void **state)
{
	char out[RASN_CYMRU_QNAME_MAX];
	struct rasn_addr a = addr("2001:4860::8888");
	int n = rasn_cymru_origin_qname(&a, NULL, out, sizeof(out));
	assert_string_equal(out, "8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.1.0.0.2"
			    ".origin6.asn.cymru.com");
	assert_int_equal(n, 64 + 21);
	a = addr("::1");
	assert_int_equal(rasn_cymru_origin_qname(&a, "o6.test", out, sizeof(out)), 64 + 7);
	assert_string_equal(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.o6.test");
	a = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	assert_int_equal(rasn_cymru_origin_qname(&a, NULL, out, sizeof(out)), 85);
	assert_memory_equal(out, "e.f.f.f.", 8);
}

static void test_qname_limits(void **state)
{
	char out[RASN_CYMRU_QNAME_MAX], big[300];
	struct rasn_addr a = addr("8.8.8.8");

	/* exactly enough room, then one byte short */
	assert_int_equal(rasn_cymru_origin_qname(&a, NULL, out, 29), 28);
	memset(out, 'x', sizeof(out));
	assert_int_equal(rasn_cymru_origin_qname(&a, NULL, out, 28), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(rasn_cymru_origin_qname(&a, NULL, NULL, 0), -ENOSPC);

	assert_int_equal(rasn_cymru_origin_qname(&a, "", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_origin_qname(&a, ".", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_origin_qname(&a, ".x", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_origin_qname(&a, "a..b", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_origin_qname(&a, "a b", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_origin_qname(&a, "x.", out, sizeof(out)), 10);

	/* a 64-byte label, then a name over 253 bytes made of legal labels */
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_int_equal(rasn_cymru_origin_qname(&a, big, out, sizeof(out)), -EINVAL);
	for (int i = 0; i < 4; i++) {
		memset(big + i * 60, 'b', 59);
		big[i * 60 + 59] = '.';
	}
	big[239] = '\0'; /* 239 bytes + "8.8.8.8." = 247: fits */
	assert_int_equal(rasn_cymru_origin_qname(&a, big, out, sizeof(out)), 247);
	struct rasn_addr a6 = addr("::");
	assert_int_equal(rasn_cymru_origin_qname(&a6, big, out, sizeof(out)), -ENAMETOOLONG);

	struct rasn_addr bad = { .family = 5, .v = 0 };
	assert_int_equal(rasn_cymru_origin_qname(&bad, NULL, out, sizeof(out)), -EINVAL);
	struct rasn_addr wide4 = { .family = RASN_AF4, .v = (rasn_u128)1 << 40 };
	assert_int_equal(rasn_cymru_origin_qname(&wide4, NULL, out, sizeof(out)), -EINVAL);
}

static void test_as_qname(void **state)
{
	char out[RASN_CYMRU_QNAME_MAX];
	assert_int_equal(rasn_cymru_as_qname(15169, NULL, out, sizeof(out)), 21);
	assert_string_equal(out, "AS15169.asn.cymru.com");
	assert_int_equal(rasn_cymru_as_qname(0, NULL, out, sizeof(out)), 17);
	assert_string_equal(out, "AS0.asn.cymru.com");
	assert_int_equal(rasn_cymru_as_qname(4294967295u, "asn.test", out, sizeof(out)), 21);
	assert_string_equal(out, "AS4294967295.asn.test");
	assert_int_equal(rasn_cymru_as_qname(1, "asn..test", out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_cymru_as_qname(1, NULL, out, 10), -ENOSPC);
}

static int origin(const char *txt, struct rasn_cymru_origin *o)
{
	return rasn_cymru_parse_origin(txt, strlen(txt), NULL, o);
}

static void test_origin_basic(void **state)
{
	struct rasn_cymru_origin o;
	char buf[RASN_PREFIX_STRLEN];

	assert_int_equal(origin("15169 | 8.8.8.0/24 | US | arin | 1992-12-01", &o), 0);
	assert_int_equal(o.n_asns, 1);
	assert_int_equal(o.asns[0], 15169);
	rasn_prefix_format(&o.prefix, buf);
	assert_string_equal(buf, "8.8.8.0/24");
	assert_string_equal(o.cc, "US");
	assert_string_equal(o.registry, "arin");
	assert_string_equal(o.allocated, "1992-12-01");

	/* MOAS, tabs and runs of blanks, case folding, no blanks at all around bars */
	assert_int_equal(origin("\t4761  45727\t7713 |2001:db8::/32|id|APNIC|", &o), 0);
	assert_int_equal(o.n_asns, 3);
	assert_int_equal(o.asns[0], 4761);
	assert_int_equal(o.asns[1], 45727);
	assert_int_equal(o.asns[2], 7713);
	assert_int_equal(o.prefix.family, RASN_AF6);
	assert_int_equal(o.prefix.len, 32);
	assert_string_equal(o.cc, "ID");
	assert_string_equal(o.registry, "apnic");
	assert_string_equal(o.allocated, "");

	/* empty country, registry and date */
	assert_int_equal(origin("13335 | 1.1.1.0/24 |  |  | ", &o), 0);
	assert_string_equal(o.cc, "");
	assert_string_equal(o.registry, "");
	assert_string_equal(o.allocated, "");
	assert_int_equal(o.asns[0], 13335);

	/* limits: ASN 0 and 4294967295, /0, eight origins */
	assert_int_equal(origin("0 4294967295 | 0.0.0.0/0 | | |", &o), 0);
	assert_int_equal(o.asns[0], 0);
	assert_int_equal(o.asns[1], 4294967295u);
	assert_int_equal(o.prefix.len, 0);
	assert_int_equal(origin("1 2 3 4 5 6 7 8 | 10.0.0.0/8 | | |", &o), 0);
	assert_int_equal(o.n_asns, 8);
	assert_int_equal(o.asns[7], 8);
}

static void test_origin_queried(void **state)
{
	struct rasn_cymru_origin o;
	const char *rec = "15169 | 8.8.8.0/24 | US | arin | 1992-12-01";
	struct rasn_addr in = addr("8.8.8.255"), out4 = addr("8.8.9.0"), v6 = addr("::808:808");
	assert_int_equal(rasn_cymru_parse_origin(rec, strlen(rec), &in, &o), 0);
	assert_int_equal(o.asns[0], 15169);
	assert_int_equal(rasn_cymru_parse_origin(rec, strlen(rec), &out4, &o), RASN_ESYNTAX);
	assert_int_equal(o.n_asns, 0);
	assert_int_equal(rasn_cymru_parse_origin(rec, strlen(rec), &v6, &o), RASN_ESYNTAX);

	struct rasn_prefix p;
	assert_int_equal(rasn_prefix_parse("2001:db8::/32", 13, &p), 0);
	struct rasn_addr a = addr("2001:db8:ffff::1"), b = addr("2001:db9::");
	assert_int_equal(rasn_cymru_prefix_covers(&p, &a), 1);
	assert_int_equal(rasn_cymru_prefix_covers(&p, &b), 0);
	struct rasn_prefix all4 = { RASN_AF4, 0, 0 };
	struct rasn_addr c = addr("255.255.255.255");
	assert_int_equal(rasn_cymru_prefix_covers(&all4, &c), 1);
	assert_int_equal(rasn_cymru_prefix_covers(&all4, &a), 0);
}

static void test_origin_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"15169",
		"15169 | 8.8.8.0/24 | US | arin",                  /* four fields */
		"15169 | 8.8.8.0/24 | US | arin | 1992-12-01 | x", /* six */
		" | 8.8.8.0/24 | US | arin | 1992-12-01",          /* no ASN */
		"AS15169 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"-1 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"015169 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"4294967296 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"15169x | 8.8.8.0/24 | US | arin | 1992-12-01",
		"15169,15170 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"1 2 3 4 5 6 7 8 9 | 8.8.8.0/24 | US | arin | 1992-12-01",
		"15169 |  | US | arin | 1992-12-01",
		"15169 | 8.8.8.1/24 | US | arin | 1992-12-01",     /* host bits set */
		"15169 | 8.8.8.0/33 | US | arin | 1992-12-01",
		"15169 | 8.8.8.0 | US | arin | 1992-12-01",
		"15169 | 2001:db8::1/32 | US | arin | 1992-12-01",
		"15169 | 8.8.8.0/24 | USA | arin | 1992-12-01",
		"15169 | 8.8.8.0/24 | U1 | arin | 1992-12-01",
		"15169 | 8.8.8.0/24 | US | abcdefghijklmnop | 1992-12-01", /* 16 bytes */
		"15169 | 8.8.8.0/24 | US | ar in | 1992-12-01",
		"15169 | 8.8.8.0/24 | US | arin | 1992-13-01",
		"15169 | 8.8.8.0/24 | US | arin | 1992-12-32",
		"15169 | 8.8.8.0/24 | US | arin | 1992-12-00",
		"15169 | 8.8.8.0/24 | US | arin | 1992-1-01",
		"15169 | 8.8.8.0/24 | US | arin | 1992/12/01",
		"15169 | 8.8.8.0/24 | US | arin | 1992-12-01x",
	};
	struct rasn_cymru_origin o;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		memset(&o, 0xa5, sizeof(o));
		if (origin(bad[i], &o) != RASN_ESYNTAX)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_int_equal(o.n_asns, 0);
		assert_int_equal(o.asns[0], 0);
		assert_string_equal(o.cc, "");
	}
	/* a NUL inside the record is not an end of string */
	static const char nul[] = "15169 | 8.8.8.0/24 | US | arin | 1992-12-01\0junk";
	assert_int_equal(rasn_cymru_parse_origin(nul, sizeof(nul) - 1, NULL, &o), RASN_ESYNTAX);
	assert_int_equal(rasn_cymru_parse_origin(nul, 43, NULL, &o), 0);
	/* the registry limit is 15 bytes */
	assert_int_equal(origin("1 | 8.8.8.0/24 | | abcdefghijklmno |", &o), 0);
	assert_string_equal(o.registry, "abcdefghijklmno");
}

static int as_rec(const char *txt, struct rasn_cymru_as *a)
{
	return rasn_cymru_parse_as(txt, strlen(txt), a);
}

static void test_as_basic(void **state)
{
	struct rasn_cymru_as a;
	assert_int_equal(as_rec("15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US", &a), 0);
	assert_int_equal(a.asn, 15169);
	assert_string_equal(a.cc, "US");
	assert_string_equal(a.registry, "arin");
	assert_string_equal(a.allocated, "2000-03-30");
	assert_string_equal(a.name, "GOOGLE - Google LLC, US");

	/* the name keeps bars and inner blanks, loses outer blanks; UTF-8 passes through */
	assert_int_equal(as_rec("64500|eu|ripencc||  A | B  \xc3\xa9 \t", &a), 0);
	assert_int_equal(a.asn, 64500);
	assert_string_equal(a.cc, "EU");
	assert_string_equal(a.allocated, "");
	assert_string_equal(a.name, "A | B  \xc3\xa9");

	assert_int_equal(as_rec("23456 | | | |", &a), 0);
	assert_string_equal(a.name, "");
	assert_string_equal(a.cc, "");

	char rec[400];
	int n = snprintf(rec, sizeof(rec), "1 | | | | ");
	memset(rec + n, 'x', 255);
	rec[n + 255] = '\0';
	assert_int_equal(as_rec(rec, &a), 0);
	assert_int_equal(strlen(a.name), 255);
	rec[n + 255] = 'x';
	rec[n + 256] = '\0';
	assert_int_equal(as_rec(rec, &a), RASN_ESYNTAX);
	assert_int_equal(a.asn, 0);
}

static void test_as_rejects(void **state)
{
	static const char *bad[] = {
		"15169 | US | arin | 2000-03-30",       /* no name field */
		"15169 15170 | US | arin | 2000-03-30 | X",
		"AS15169 | US | arin | 2000-03-30 | X",
		" | US | arin | 2000-03-30 | X",
		"15169 | U | arin | 2000-03-30 | X",
		"15169 | US | ar/in | 2000-03-30 | X",
		"15169 | US | arin | 2000-3-30 | X",
		"15169 | US | arin | 2000-03-30 | X\x01Y",
		"15169 | US | arin | 2000-03-30 | X\x7f",
	};
	struct rasn_cymru_as a;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		if (as_rec(bad[i], &a) != RASN_ESYNTAX)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_string_equal(a.name, "");
	}
	static const char nul[] = "1 | US | arin | 2000-03-30 | A\0B";
	assert_int_equal(rasn_cymru_parse_as(nul, sizeof(nul) - 1, &a), RASN_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_qname_v4),
		cmocka_unit_test(test_origin_qname_v6),
		cmocka_unit_test(test_qname_limits),
		cmocka_unit_test(test_as_qname),
		cmocka_unit_test(test_origin_basic),
		cmocka_unit_test(test_origin_queried),
		cmocka_unit_test(test_origin_rejects),
		cmocka_unit_test(test_as_basic),
		cmocka_unit_test(test_as_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
