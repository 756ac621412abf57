/* Unit tests for lib/table.c: longest match at range edges and in gaps, overlap resolution,
 * the AS index, prefix aggregation, organisation search, load errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "table.h"

static struct rasn_table *build(const char *csv, size_t max_bad, int expect_rc)
{
	struct rasn_table_opts o = { .max_bad_lines = max_bad };
	struct rasn_table_builder *b = rasn_table_builder_new(&o);
	char err[512] = "";
	assert_non_null(b);
	int rc = rasn_table_builder_add_buffer(b, "t.csv", csv, strlen(csv), RASN_DS_AUTO, err, sizeof(err));
	assert_int_equal(rc, expect_rc);
	struct rasn_table *t = NULL;
	if (rc == 0)
		assert_int_equal(rasn_table_build(b, &t, err, sizeof(err)), 0);
	rasn_table_builder_free(b);
	return t;
}

static int lookup(const struct rasn_table *t, const char *ip, struct rasn_match *m)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(ip, strlen(ip), &a), 0);
	return rasn_table_lookup(t, &a, m);
}

static void assert_asn(const struct rasn_table *t, const char *ip, uint32_t asn)
{
	struct rasn_match m;
	if (asn == 0) {
		assert_int_equal(lookup(t, ip, &m), 0);
		return;
	}
	assert_int_equal(lookup(t, ip, &m), 1);
	assert_int_equal(m.asn, asn);
}

static const char basic[] =
	"1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
	"1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n"
	"1.0.8.0,1.0.8.10,64512,\"Odd \"\"Quoted\"\" Ltd\"\n"       /* adjacent, non-aligned */
	"8.8.8.0,8.8.8.255,15169,Google LLC\n"
	"8.8.4.0,8.8.4.255,15169,Google LLC\n"                  /* out of order on purpose */
	"255.255.255.0,255.255.255.255,4294967294,Top\n"
	"2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n"
	"ffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,65000,Last6\n";

static void test_edges_and_gaps(void **state)
{
	struct rasn_table *t = build(basic, 0, 0);
	assert_asn(t, "0.0.0.0", 0);
	assert_asn(t, "0.255.255.255", 0);
	assert_asn(t, "1.0.0.0", 13335);
	assert_asn(t, "1.0.0.255", 13335);
	assert_asn(t, "1.0.1.0", 0);
	assert_asn(t, "1.0.3.255", 0);
	assert_asn(t, "1.0.4.0", 38803);
	assert_asn(t, "1.0.7.255", 38803);
	assert_asn(t, "1.0.8.0", 64512);
	assert_asn(t, "1.0.8.10", 64512);
	assert_asn(t, "1.0.8.11", 0);
	assert_asn(t, "8.8.4.4", 15169);
	assert_asn(t, "8.8.8.8", 15169);
	assert_asn(t, "8.8.9.0", 0);
	assert_asn(t, "255.255.255.255", 4294967294u);
	assert_asn(t, "255.255.254.255", 0);
	assert_asn(t, "2001:4860::", 15169);
	assert_asn(t, "2001:4860:ffff:ffff:ffff:ffff:ffff:ffff", 15169);
	assert_asn(t, "2001:4861::", 0);
	assert_asn(t, "::", 0);
	assert_asn(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65000);
	assert_asn(t, "::ffff:8.8.8.8", 15169); /* mapped: answered as IPv4 */

	struct rasn_match m;
	assert_int_equal(lookup(t, "1.0.8.5", &m), 1);
	assert_string_equal(m.name, "Odd \"Quoted\" Ltd");
	assert_int_equal(m.name_json_len, strlen("Odd \\\"Quoted\\\" Ltd"));
	assert_memory_equal(m.name_json, "Odd \\\"Quoted\\\" Ltd", m.name_json_len);
	assert_true(m.first == 0x01000800u && m.last == 0x0100080au);
	struct rasn_prefix p = rasn_cidr_covering(m.family, m.first, m.last, 0x01000805u);
	assert_true(p.addr == 0x01000800u && p.len == 29);
	p = rasn_cidr_covering(m.family, m.first, m.last, 0x01000809u);
	assert_true(p.addr == 0x01000808u && p.len == 31);
	p = rasn_cidr_covering(m.family, m.first, m.last, 0x0100080au);
	assert_true(p.addr == 0x0100080au && p.len == 32);
	assert_int_equal(lookup(t, "1.0.0.1", &m), 1);
	assert_string_equal(m.name, "Cloudflare, Inc.");
	assert_int_equal(m.n_origins, 1);
	assert_int_equal(m.origins[0], 13335);
	rasn_table_unref(t);
}

/* The real dataset's overlap, and nesting: the narrowest row wins each address. */
/* The batched lookup answers exactly as one lookup at a time, for any mix of families. */
static void test_lookup_batch(void **state)
{
	struct rasn_table *t = build(basic, 0, 0);
	uint64_t r = 12345;
	for (int round = 0; round < 2000; round++) {
		struct rasn_addr a[RASN_LOOKUP_BATCH];
		size_t n = 1 + (size_t)(r % RASN_LOOKUP_BATCH);
		for (size_t k = 0; k < n; k++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			/* addresses near the table's ranges so that hits and misses both happen */
			static const uint32_t near[] = { 0x01000000u, 0x01000800u, 0x08080800u, 0x08080400u, 0xffffff00u };
			a[k].family = (r >> 60) & 1 ? RASN_AF6 : RASN_AF4;
			a[k].v = a[k].family == RASN_AF4 ? (rasn_u128)(near[(r >> 8) % 5] + (uint32_t)((r >> 20) % 1024) - 256)
							 : ((rasn_u128)0x20014860u << 96) + (r >> 40);
		}
		struct rasn_match mb[RASN_LOOKUP_BATCH], m1;
		int fb[RASN_LOOKUP_BATCH];
		rasn_table_lookup_batch(t, a, n, mb, fb);
		for (size_t k = 0; k < n; k++) {
			int f1 = rasn_table_lookup(t, &a[k], &m1);
			assert_int_equal(fb[k], f1);
			if (f1) {
				assert_int_equal(mb[k].asn, m1.asn);
				assert_true(mb[k].first == m1.first && mb[k].last == m1.last);
				assert_ptr_equal(mb[k].name_json, m1.name_json);
			}
		}
	}
	rasn_table_unref(t);
}

static void test_overlap(void **state)
{
	const char csv[] =
		"214.95.0.0,215.0.255.255,749,United States Department of Defense (DoD)\n"
		"215.0.0.0,215.1.3.255,721,DoD Network Information Center\n"
		"10.0.0.0,10.255.255.255,1,Wide\n"
		"10.1.0.0,10.1.255.255,2,Mid\n"
		"10.1.1.0,10.1.1.255,3,Narrow\n"
		"10.1.1.0,10.1.1.255,4,\"Same width, read later\"\n";
	struct rasn_table *t = build(csv, 0, 0);
	struct rasn_table_info ti;
	rasn_table_info(t, &ti);
	assert_int_equal(ti.overlaps, 4);
	assert_asn(t, "214.95.0.0", 749);
	assert_asn(t, "214.255.255.255", 749);
	assert_asn(t, "215.0.0.0", 721);
	assert_asn(t, "215.0.255.255", 721);
	assert_asn(t, "215.1.3.255", 721);
	assert_asn(t, "215.1.4.0", 0);
	assert_asn(t, "10.0.0.0", 1);
	assert_asn(t, "10.0.255.255", 1);
	assert_asn(t, "10.1.0.0", 2);
	assert_asn(t, "10.1.1.0", 3);
	assert_asn(t, "10.1.1.255", 3);
	assert_asn(t, "10.1.2.0", 2);
	assert_asn(t, "10.2.0.0", 1);
	assert_asn(t, "10.255.255.255", 1);
	struct rasn_match m;
	/* the effective range is reported: AS749's row minus what AS721 holds */
	assert_int_equal(lookup(t, "214.96.0.1", &m), 1);
	assert_true(m.first == 0xd65f0000u && m.last == 0xd6ffffffu);
	assert_int_equal(lookup(t, "10.1.2.0", &m), 1);
	assert_true(m.first == 0x0a010200u && m.last == 0x0a01ffffu);
	rasn_table_unref(t);
}

static void test_as_and_prefixes(void **state)
{
	const char csv[] =
		"8.8.4.0,8.8.4.255,15169,Google LLC\n"
		"8.8.5.0,8.8.5.255,15169,Google LLC\n"      /* merges with the one above: 8.8.4.0/23 */
		"8.8.8.0,8.8.8.255,15169,Google LLC\n"
		"9.0.0.1,9.0.0.6,15169,Google Alt\n"         /* non-aligned: 4 CIDRs */
		"2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n"
		"1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n";
	struct rasn_table *t = build(csv, 0, 0);
	struct rasn_as_info info;
	assert_int_equal(rasn_table_as(t, 15169, &info), 1);
	assert_string_equal(info.name, "Google LLC"); /* most frequent of its names */
	assert_int_equal(info.ranges_v4, 4);
	assert_int_equal(info.ranges_v6, 1);
	assert_true(info.addresses_v4 == 256 * 3 + 6);
	assert_int_equal(rasn_table_as(t, 64512, &info), 0);

	struct rasn_prefix *p;
	long n = rasn_table_as_prefixes(t, 15169, &p);
	const char *want[] = { "8.8.4.0/23", "8.8.8.0/24", "9.0.0.1/32", "9.0.0.2/31", "9.0.0.4/31",
			       "9.0.0.6/32", "2001:4860::/32" };
	assert_int_equal(n, RASN_ARRAY_LEN(want));
	for (long i = 0; i < n; i++) {
		char buf[RASN_PREFIX_STRLEN];
		rasn_prefix_format(&p[i], buf);
		assert_string_equal(buf, want[i]);
	}
	free(p);
	assert_int_equal(rasn_table_as_prefixes(t, 1, &p), 0);
	free(p);
	rasn_table_unref(t);
}

static void test_org(void **state)
{
	const char csv[] =
		"8.8.8.0,8.8.8.255,15169,Google LLC\n"
		"8.8.9.0,8.8.9.255,16591,Google Fiber Inc.\n"
		"8.8.10.0,8.8.10.255,15169,GOOGLE-CLOUD\n"
		"1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n";
	struct rasn_table *t = build(csv, 0, 0);
	struct rasn_org_hit hits[4];
	size_t n = rasn_table_org_search(t, "gOoGle", 6, hits, 4);
	assert_int_equal(n, 2); /* 15169 once, through either of its names */
	assert_int_equal(hits[0].asn, 15169);
	assert_int_equal(hits[1].asn, 16591);
	assert_string_equal(hits[1].name, "Google Fiber Inc.");
	/* bounded output, full count */
	assert_int_equal(rasn_table_org_search(t, "o", 1, hits, 1), 3);
	assert_int_equal(hits[0].asn, 13335);
	assert_int_equal(rasn_table_org_search(t, "cloud", 5, hits, 4), 2);
	assert_int_equal(rasn_table_org_search(t, "nomatch", 7, hits, 4), 0);
	/* one search over all names at once: never across the end of one name into the next,
	 * and a NUL matches nothing */
	assert_int_equal(rasn_table_org_search(t, "llcgoogle", 9, hits, 4), 0);
	assert_int_equal(rasn_table_org_search(t, "inc.google", 10, hits, 4), 0);
	assert_int_equal(rasn_table_org_search(t, "llc\0", 4, hits, 4), 0);
	assert_int_equal(rasn_table_org_search(t, "inc.", 4, hits, 4), 2); /* first and last names */
	assert_int_equal(rasn_table_org_search(t, "google llc", 10, hits, 4), 1);
	rasn_table_unref(t);
}

static void test_bad_lines(void **state)
{
	const char csv[] =
		"1.0.0.0,1.0.0.255,13335,Cloudflare\n"
		"garbage\n"
		"1.0.4.0,1.0.7.255,38803,Gtelecom\n";
	struct rasn_table_opts o = { .max_bad_lines = 0 };
	struct rasn_table_builder *b = rasn_table_builder_new(&o);
	char err[512] = "";
	int rc = rasn_table_builder_add_buffer(b, "bad.csv", csv, strlen(csv), RASN_DS_AUTO, err, sizeof(err));
	assert_int_equal(rc, RASN_ETOOMANY);
	assert_non_null(strstr(err, "bad.csv:2:"));
	assert_non_null(strstr(err, "1 malformed"));
	/* the rejected file left nothing behind */
	struct rasn_table *t;
	assert_int_equal(rasn_table_build(b, &t, err, sizeof(err)), RASN_EEMPTY);
	rasn_table_builder_free(b);

	/* allowed bad lines: the good rows load */
	t = build(csv, 1, 0);
	assert_asn(t, "1.0.5.5", 38803);
	rasn_table_unref(t);

	b = rasn_table_builder_new(&o);
	rc = rasn_table_builder_add_buffer(b, "empty.csv", "", 0, RASN_DS_IPLDB_CSV, err, sizeof(err));
	assert_true(rc < 0);
	rasn_table_builder_free(b);
}

static void test_missing_file(void **state)
{
	struct rasn_table_builder *b = rasn_table_builder_new(NULL);
	char err[512] = "";
	int rc = rasn_table_builder_add_file(b, "/nonexistent/x.csv", RASN_DS_AUTO, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.csv"));
	rasn_table_builder_free(b);
}

/* pfx2as: nested prefixes resolve to the longest match, multi-origin kept. */
static void test_pfx2as(void **state)
{
	const char txt[] =
		"10.0.0.0\t8\t100\n"
		"10.1.0.0\t16\t200\n"
		"10.1.2.0\t24\t300_301\n"
		"2001:db8::\t32\t400\n";
	struct rasn_table_builder *b = rasn_table_builder_new(NULL);
	char err[512] = "";
	assert_int_equal(rasn_table_builder_add_buffer(b, "p", txt, strlen(txt), RASN_DS_AUTO, err, sizeof(err)), 0);
	struct rasn_table *t;
	assert_int_equal(rasn_table_build(b, &t, err, sizeof(err)), 0);
	rasn_table_builder_free(b);
	assert_asn(t, "10.9.9.9", 100);
	assert_asn(t, "10.1.9.9", 200);
	assert_asn(t, "10.1.2.3", 300);
	struct rasn_match m;
	assert_int_equal(lookup(t, "10.1.2.3", &m), 1);
	assert_int_equal(m.n_origins, 2);
	assert_int_equal(m.origins[1], 301);
	assert_string_equal(m.name, "");
	assert_asn(t, "2001:db8::1", 400);
	struct rasn_as_info info;
	assert_int_equal(rasn_table_as(t, 301, &info), 1); /* indexed under every origin */
	assert_int_equal(info.ranges_v4, 1);
	rasn_table_unref(t);
}

/* A file large enough to be cut into pieces: the parallel load must give the same table as
 * the one-file-at-a-time load, and report a bad line with its line number in the whole file. */
static void write_big(const char *path, size_t rows, size_t bad_line)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 1; i <= rows; i++) {
		if (i == bad_line) {
			fputs("not,a,row\n", f);
			continue;
		}
		/* 1.0.0.0 upwards in /24 steps, names shared so interning and merging both matter */
		uint32_t a = 0x01000000u + (uint32_t)i * 256;
		fprintf(f, "%u.%u.%u.0,%u.%u.%u.255,%zu,\"Name %zu, Ltd\"\n", a >> 24, (a >> 16) & 255,
			(a >> 8) & 255, a >> 24, (a >> 16) & 255, (a >> 8) & 255, 64512 + i % 1000, i % 5000);
	}
	fclose(f);
}

static void test_parallel_load(void **state)
{
	char dir[] = "/tmp/rasn-test-XXXXXX", big[64], small[64], err[1024];
	assert_non_null(mkdtemp(dir));
	snprintf(big, sizeof(big), "%s/big.csv", dir);
	snprintf(small, sizeof(small), "%s/small.csv", dir);
	write_big(big, 120000, 0); /* ~6 MB: cut into pieces */
	FILE *f = fopen(small, "w");
	fputs("2001:db8::,2001:db8::ffff,65001,Six\n1.0.1.0,1.0.1.127,7,Overlaps a big row\n", f);
	fclose(f);
	char *paths[] = { big, small };

	struct rasn_table_builder *b1 = rasn_table_builder_new(NULL), *b2 = rasn_table_builder_new(NULL);
	assert_int_equal(rasn_table_builder_add_file(b1, big, RASN_DS_AUTO, err, sizeof(err)), 0);
	assert_int_equal(rasn_table_builder_add_file(b1, small, RASN_DS_AUTO, err, sizeof(err)), 0);
	assert_int_equal(rasn_table_builder_add_files(b2, paths, 2, RASN_DS_AUTO, 3, err, sizeof(err)), 0);
	struct rasn_table *t1, *t2;
	assert_int_equal(rasn_table_build(b1, &t1, err, sizeof(err)), 0);
	assert_int_equal(rasn_table_build(b2, &t2, err, sizeof(err)), 0);
	rasn_table_builder_free(b1);
	rasn_table_builder_free(b2);
	struct rasn_table_info i1, i2;
	rasn_table_info(t1, &i1);
	rasn_table_info(t2, &i2);
	assert_int_equal(i1.ranges_v4, i2.ranges_v4);
	assert_int_equal(i1.ranges_v6, 1);
	assert_int_equal(i2.ranges_v6, 1);
	assert_int_equal(i1.asns, i2.asns);
	assert_int_equal(i1.names, i2.names);
	assert_int_equal(i2.n_files, 2);
	assert_int_equal(i2.files[0].rows, 120000);
	for (uint32_t a = 0x01000000u; a < 0x01000000u + 121000u * 256; a += 97) {
		struct rasn_addr ad = { RASN_AF4, a };
		struct rasn_match m1, m2;
		int f1 = rasn_table_lookup(t1, &ad, &m1), f2 = rasn_table_lookup(t2, &ad, &m2);
		assert_int_equal(f1, f2);
		if (f1) {
			assert_int_equal(m1.asn, m2.asn);
			assert_true(m1.first == m2.first && m1.last == m2.last);
			assert_string_equal(m1.name, m2.name);
		}
	}
	assert_asn(t2, "1.0.1.5", 7);
	assert_asn(t2, "1.0.1.200", 64513);
	rasn_table_unref(t1);
	rasn_table_unref(t2);

	/* a bad line deep in the second half is reported with its line number in the file */
	write_big(big, 120000, 100003);
	b2 = rasn_table_builder_new(NULL);
	assert_int_equal(rasn_table_builder_add_files(b2, paths, 2, RASN_DS_AUTO, 2, err, sizeof(err)), RASN_ETOOMANY);
	assert_non_null(strstr(err, "big.csv:100003:"));
	assert_int_equal(rasn_table_build(b2, &t2, err, sizeof(err)) < 0, 1);
	rasn_table_builder_free(b2);

	/* a file whose format cannot be told fails before any piece is cut (this crashed once:
	 * the clean-up walked pieces that were never allocated) */
	FILE *g = fopen(big, "w");
	assert_non_null(g);
	for (int i = 0; i < 100; i++)
		fputs("\x01garbage\xff\n", g);
	fclose(g);
	b2 = rasn_table_builder_new(NULL);
	assert_int_equal(rasn_table_builder_add_files(b2, paths, 2, RASN_DS_AUTO, 2, err, sizeof(err)), RASN_EFORMAT);
	assert_non_null(strstr(err, "cannot tell the file's format"));
	rasn_table_builder_free(b2);
	unlink(big);
	unlink(small);
	rmdir(dir);
}

/* Crowded buckets: more ranges in a /16 than one window compares (the /20 sub-index) and in
 * a /20 (the binary search), ranges at 0.0.0.0 and 255.255.255.255, ranges filling a /16;
 * every boundary and its neighbours checked against a scan of the rows. */
struct v4row {
	uint32_t first, last, asn;
};

static size_t crowded_rows(struct v4row *rows)
{
	size_t n = 0;
	rows[n++] = (struct v4row){ 0x00000000u, 0x000000ffu, 1 };
	for (uint32_t k = 0; k < 250; k++) /* 10.0.0.0/16: /24s with a gap every third */
		if (k % 3 != 2)
			rows[n++] = (struct v4row){ 0x0a000000u + (k << 8), 0x0a000000u + (k << 8) + 0xffu, 100 + k };
	for (uint32_t k = 0; k < 200; k++) /* 10.1.0.0/20: 200 ranges of 8 addresses, adjacent */
		rows[n++] = (struct v4row){ 0x0a010000u + (k << 3), 0x0a010000u + (k << 3) + 7, 1000 + k };
	for (uint32_t k = 0; k < 40; k++) /* 10.2.0.0: 17..56 segments, no gap between */
		rows[n++] = (struct v4row){ 0x0a020000u + (k << 4), 0x0a020000u + (k << 4) + 15, 2000 + k };
	rows[n++] = (struct v4row){ 0x0b000000u, 0x0bffffffu, 3000 };       /* 11/8, whole buckets */
	rows[n++] = (struct v4row){ 0xfffffff0u, 0xfffffffeu, 4000 };
	rows[n++] = (struct v4row){ 0xffffffffu, 0xffffffffu, 4001 };
	return n;
}

static void check_v4(const struct rasn_table *t, const struct v4row *rows, size_t n, uint32_t x)
{
	size_t k;
	for (k = 0; k < n && !(rows[k].first <= x && x <= rows[k].last); k++)
		;
	struct rasn_addr a = { .family = RASN_AF4, .v = x };
	struct rasn_match m;
	int f = rasn_table_lookup(t, &a, &m);
	assert_int_equal(f, k < n);
	if (k < n) {
		assert_int_equal(m.asn, rows[k].asn);
		assert_true(m.first == rows[k].first && m.last == rows[k].last);
	}
	struct rasn_match mb[1];
	int fb[1];
	rasn_table_lookup_batch(t, &a, 1, mb, fb);
	assert_int_equal(fb[0], f);
	if (f)
		assert_true(mb[0].asn == m.asn && mb[0].first == m.first && mb[0].last == m.last);
}

static void test_crowded_v4(void **state)
{
	static struct v4row rows[1024];
	size_t n = crowded_rows(rows);
	char *csv = malloc(n * 64), *p = csv;
	assert_non_null(csv);
	for (size_t k = 0; k < n; k++)
		p += sprintf(p, "%u.%u.%u.%u,%u.%u.%u.%u,%u,N%u\n", rows[k].first >> 24, (rows[k].first >> 16) & 255,
			     (rows[k].first >> 8) & 255, rows[k].first & 255, rows[k].last >> 24,
			     (rows[k].last >> 16) & 255, (rows[k].last >> 8) & 255, rows[k].last & 255, rows[k].asn,
			     rows[k].asn);
	struct rasn_table *t = build(csv, 0, 0);
	free(csv);
	struct rasn_table_info ti;
	rasn_table_info(t, &ti);
	assert_int_equal(ti.ranges_v4, n);
	for (size_t k = 0; k < n; k++) {
		uint32_t e[] = { rows[k].first, rows[k].last, rows[k].first - 1, rows[k].last + 1,
				 rows[k].first + (rows[k].last - rows[k].first) / 2 };
		for (size_t j = 0; j < 5; j++)
			check_v4(t, rows, n, e[j]);
	}
	uint64_t r = 99;
	for (int i = 0; i < 20000; i++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t x = (uint32_t)(r >> 32);
		/* half of them inside the crowded /16s */
		check_v4(t, rows, n, i & 1 ? x : 0x0a000000u + (x & 0x3ffff));
	}
	struct rasn_as_info info;
	assert_int_equal(rasn_table_as(t, 4001, &info), 1);
	assert_true(info.ranges_v4 == 1 && info.addresses_v4 == 1);
	assert_int_equal(rasn_table_as(t, 3000, &info), 1);
	assert_true(info.addresses_v4 == 1u << 24);
	rasn_table_unref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges_and_gaps),
		cmocka_unit_test(test_lookup_batch),
		cmocka_unit_test(test_crowded_v4),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_as_and_prefixes),
		cmocka_unit_test(test_org),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_pfx2as),
		cmocka_unit_test(test_parallel_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
