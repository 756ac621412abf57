/* Dataset readers: each format's rows, escapes, line endings, every kind of malformed line
 * with its line number and reason, detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"

#define MAX_REC 64

struct rec {
	int family;
	rasn_u128 first, last;
	uint32_t asns[RASN_DS_MAX_ORIGINS];
	unsigned n_asns;
	char name[RASN_DS_MAX_NAME + 1];
	size_t name_len;
	char cc[3];
	size_t line;
};

struct err {
	size_t line;
	const char *why;
};

struct col {
	struct rec rows[MAX_REC];
	size_t n_rows;
	struct err errs[MAX_REC];
	size_t n_errs;
	int stop_code;    /* returned by the row callback once stop_after rows were seen */
	size_t stop_after;
	struct rasn_ds_result res;
	int ret;
};

static int row_cb(void *ud, const struct rasn_ds_row *r)
{
	struct col *c = ud;
	assert_true(c->n_rows < MAX_REC);
	struct rec *o = &c->rows[c->n_rows++];
	o->family = r->family;
	o->first = r->first;
	o->last = r->last;
	assert_in_range(r->n_asns, 1, RASN_DS_MAX_ORIGINS);
	memcpy(o->asns, r->asns, sizeof(o->asns));
	o->n_asns = r->n_asns;
	assert_true(r->name_len <= RASN_DS_MAX_NAME);
	if (r->name_len)
		memcpy(o->name, r->name, r->name_len);
	o->name[r->name_len] = 0;
	o->name_len = r->name_len;
	memcpy(o->cc, r->cc, sizeof(o->cc));
	o->line = r->line;
	if (c->stop_code && c->n_rows >= c->stop_after)
		return c->stop_code;
	return 0;
}

static void err_cb(void *ud, size_t line, const char *why)
{
	struct col *c = ud;
	assert_true(c->n_errs < MAX_REC);
	c->errs[c->n_errs].line = line;
	c->errs[c->n_errs].why = why;
	c->n_errs++;
}

static struct col *run_len(const char *buf, size_t len, enum rasn_ds_format fmt)
{
	struct col *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->ret = rasn_ds_parse(buf, len, fmt, row_cb, err_cb, c, &c->res);
	return c;
}

static struct col *run(const char *text, enum rasn_ds_format fmt)
{
	return run_len(text, strlen(text), fmt);
}

static void assert_err(const struct col *c, size_t i, size_t line, const char *why)
{
	assert_true(i < c->n_errs);
	assert_int_equal(c->errs[i].line, line);
	assert_string_equal(c->errs[i].why, why);
}

static const rasn_u128 ALL6 = ~(rasn_u128)0;

static rasn_u128 u128(uint64_t hi, uint64_t lo)
{
	return (rasn_u128)hi << 64 | lo;
}

/* ---- ip-location-db CSV ---- */

static void test_csv_basic(void **state)
{
	(void)state;
	struct col *c = run("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
			    "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n"
			    "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n"
			    "255.255.255.255,255.255.255.255,4294967295,Max\n",
			    RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.format, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.rows, 4);
	assert_int_equal(c->res.bad, 0);
	assert_int_equal(c->res.skipped, 0);
	assert_int_equal(c->res.lines, 4);
	assert_int_equal(c->n_rows, 4);

	assert_int_equal(c->rows[0].family, RASN_AF4);
	assert_true(c->rows[0].first == 0x01000000);
	assert_true(c->rows[0].last == 0x010000ff);
	assert_int_equal(c->rows[0].n_asns, 1);
	assert_int_equal(c->rows[0].asns[0], 13335);
	assert_string_equal(c->rows[0].name, "Cloudflare, Inc.");
	assert_int_equal(c->rows[0].name_len, 16);
	assert_string_equal(c->rows[0].cc, "");
	assert_int_equal(c->rows[0].line, 1);

	assert_true(c->rows[1].first == 0x01000400);
	assert_true(c->rows[1].last == 0x010007ff);
	assert_int_equal(c->rows[1].asns[0], 38803);
	assert_string_equal(c->rows[1].name, "Gtelecom Pty Ltd");
	assert_int_equal(c->rows[1].line, 2);

	assert_int_equal(c->rows[2].family, RASN_AF6);
	assert_true(c->rows[2].first == u128(0x2001020000000000ull, 0));
	assert_true(c->rows[2].last == u128(0x2001020001b9ffffull, UINT64_MAX));
	assert_int_equal(c->rows[2].asns[0], 2500);
	assert_string_equal(c->rows[2].name, "WIDE Project");
	assert_int_equal(c->rows[2].line, 3);

	assert_true(c->rows[3].first == 0xffffffffu && c->rows[3].last == 0xffffffffu);
	assert_int_equal(c->rows[3].asns[0], 4294967295u);
	free(c);
}

static void test_csv_quotes(void **state)
{
	(void)state;
	struct col *c = run("2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"\n"
			    "1.0.0.0,1.0.0.0,1,\"\"\"\"\n"
			    "1.0.0.1,1.0.0.1,2,\"\"\n"
			    "1.0.0.2,1.0.0.2,3,\n"
			    "\"1.0.0.3\",\"1.0.0.3\",\"4\",\"a,b,,c\"\n"
			    "1.0.0.4,1.0.0.4,5,it's fine; {x} \\ ok\n"
			    "::,::ffff,6,\"x\"\"\"\n",
			    RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.bad, 0);
	assert_int_equal(c->n_rows, 7);
	assert_string_equal(c->rows[0].name, "LLC \"SPUTNIK\"");
	assert_int_equal(c->rows[0].name_len, 13);
	assert_string_equal(c->rows[1].name, "\"");
	assert_int_equal(c->rows[2].name_len, 0);
	assert_int_equal(c->rows[3].name_len, 0);
	assert_true(c->rows[4].first == 0x01000003);
	assert_int_equal(c->rows[4].asns[0], 4);
	assert_string_equal(c->rows[4].name, "a,b,,c");
	assert_string_equal(c->rows[5].name, "it's fine; {x} \\ ok");
	assert_int_equal(c->rows[6].family, RASN_AF6);
	assert_true(c->rows[6].first == 0 && c->rows[6].last == 0xffff);
	assert_string_equal(c->rows[6].name, "x\"");
	free(c);
}

static void test_csv_crlf_blank(void **state)
{
	(void)state;
	struct col *c = run("\r\n"
			    "1.0.0.0,1.0.0.255,1,A\r\n"
			    "\n"
			    "   \t\r\n"
			    "1.0.1.0,1.0.1.255,2,\"B, C\"\r\n"
			    "1.0.2.0,1.0.2.255,3,D", /* no newline at the end */
			    RASN_DS_AUTO);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.format, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.lines, 6);
	assert_int_equal(c->res.rows, 3);
	assert_int_equal(c->res.bad, 0);
	assert_string_equal(c->rows[0].name, "A");
	assert_int_equal(c->rows[0].line, 2);
	assert_string_equal(c->rows[1].name, "B, C");
	assert_int_equal(c->rows[1].line, 5);
	assert_string_equal(c->rows[2].name, "D");
	assert_int_equal(c->rows[2].line, 6);
	assert_true(c->rows[2].last == 0x010002ff);
	free(c);

	/* A last line ending in CR alone, and a UTF-8 byte order mark on the first. */
	c = run("\xef\xbb\xbf" "1.0.0.0,1.0.0.255,1,A\n1.0.1.0,1.0.1.255,2,B\r", RASN_DS_AUTO);
	assert_int_equal(c->res.format, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.rows, 2);
	assert_int_equal(c->res.lines, 2);
	assert_string_equal(c->rows[0].name, "A");
	assert_string_equal(c->rows[1].name, "B");
	free(c);

	c = run("", RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.lines, 0);
	assert_int_equal(c->res.rows, 0);
	free(c);

	c = run("\n\n\r\n", RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.lines, 3);
	assert_int_equal(c->res.rows, 0);
	assert_int_equal(c->res.bad, 0);
	free(c);
}

static void test_csv_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *line, *why;
	} cases[] = {
		{ "1.0.0.256,1.0.0.255,1,x", "bad start address" },
		{ "01.0.0.0,1.0.0.255,1,x", "bad start address" },
		{ "1.0.0.0 ,1.0.0.255,1,x", "bad start address" },
		{ ",1.0.0.255,1,x", "bad start address" },
		{ "1.0.0,1.0.0.255,1,x", "bad start address" },
		{ "1.0.0.0,1.0.0.x,1,x", "bad end address" },
		{ "2001:db8:::,2001:db8::1,1,x", "bad start address" },
		{ "2001:db8::,2001:db8::1::,1,x", "bad end address" },
		{ "1.0.1.0,1.0.0.255,1,x", "start after end" },
		{ "::2,::1,1,x", "start after end" },
		{ "1.0.0.0,::1,1,x", "mixed address families" },
		{ "16777216,1.0.0.255,1,x", "mixed address families" },
		{ "1.0.0.0,1.0.0.255,1", "wrong field count" },
		{ "1.0.0.0,1.0.0.255,1,a,b", "wrong field count" },
		{ "1.0.0.0,1.0.0.255,1,\"a\",b", "wrong field count" },
		{ "1.0.0.0", "wrong field count" },
		{ "1.0.0.0,1.0.0.255,4294967296,x", "bad ASN" },
		{ "1.0.0.0,1.0.0.255,99999999999,x", "bad ASN" },
		{ "1.0.0.0,1.0.0.255,-1,x", "bad ASN" },
		{ "1.0.0.0,1.0.0.255,,x", "bad ASN" },
		{ "1.0.0.0,1.0.0.255,AS1,x", "bad ASN" },
		{ "1.0.0.0,1.0.0.255,1,\"abc", "unterminated quote" },
		{ "1.0.0.0,1.0.0.255,1,\"abc\"\"", "unterminated quote" },
		{ "\"1.0.0.0,1.0.0.255,1,abc", "unterminated quote" },
		{ "1.0.0.0,1.0.0.255,1,ab\"c", "stray quote" },
		{ "1.0.0.0,1.0.0.255,1\",x", "stray quote" },
		{ "1.0.0.0,1.0.0.255,1,\"abc\"x", "trailing garbage" },
		{ "1.0.0.0,\"1.0.0.255\"x,1,abc", "trailing garbage" },
	};
	char text[4096] = "";
	size_t n = RASN_ARRAY_LEN(cases);
	/* A good line before and after each bad one: bad lines must not swallow others. */
	strcat(text, "1.0.0.0,1.0.0.255,7,first\n");
	for (size_t i = 0; i < n; i++) {
		strcat(text, cases[i].line);
		strcat(text, "\n");
	}
	strcat(text, "1.0.0.0,1.0.0.255,8,last\n");
	struct col *c = run(text, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.lines, n + 2);
	assert_int_equal(c->res.rows, 2);
	assert_int_equal(c->res.bad, n);
	assert_int_equal(c->n_errs, n);
	for (size_t i = 0; i < n; i++)
		assert_err(c, i, i + 2, cases[i].why);
	assert_int_equal(c->rows[0].asns[0], 7);
	assert_int_equal(c->rows[1].asns[0], 8);
	assert_int_equal(c->rows[1].line, n + 2);
	free(c);

	/* err_fn may be NULL: the count still goes up. */
	struct rasn_ds_result res;
	assert_int_equal(rasn_ds_parse("x,y,z,w\n", 8, RASN_DS_IPLDB_CSV, NULL, NULL, NULL, &res), 0);
	assert_int_equal(res.bad, 1);
	assert_int_equal(res.rows, 0);
}

static void test_csv_numeric(void **state)
{
	(void)state;
	struct col *c = run("16777216,16777471,13335,\"Cloudflare, Inc.\"\n"
			    "42540488161975842760550356425300246528,"
			    "42540488241204005274814694018844196863,6939,Hurricane Electric LLC\n"
			    "0,4294967295,1,all v4\n"
			    "0,340282366920938463463374607431768211455,2,all v6\n"
			    "4294967295,4294967296,3,just past v4\n"
			    "0,340282366920938463463374607431768211456,4,overflow\n"
			    "0,99999999999999999999999999999999999999999,4,overflow\n"
			    "000016777216,16777216,5,leading zeros\n"
			    "12a,13,6,x\n"
			    "4294967296,4294967295,7,x\n",
			    RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.rows, 6);
	assert_int_equal(c->res.bad, 4);
	assert_int_equal(c->rows[0].family, RASN_AF4);
	assert_true(c->rows[0].first == 0x01000000 && c->rows[0].last == 0x010000ff);
	assert_string_equal(c->rows[0].name, "Cloudflare, Inc.");
	assert_int_equal(c->rows[1].family, RASN_AF6);
	assert_true(c->rows[1].first == u128(0x2001000000000000ull, 0));
	assert_true(c->rows[1].last == u128(0x20010000ffffffffull, UINT64_MAX));
	assert_int_equal(c->rows[1].asns[0], 6939);
	assert_int_equal(c->rows[2].family, RASN_AF4);
	assert_true(c->rows[2].first == 0 && c->rows[2].last == 0xffffffffu);
	assert_int_equal(c->rows[3].family, RASN_AF6);
	assert_true(c->rows[3].first == 0 && c->rows[3].last == ALL6);
	assert_int_equal(c->rows[4].family, RASN_AF6);
	assert_true(c->rows[4].first == 0xffffffffu && c->rows[4].last == (rasn_u128)1 << 32);
	assert_int_equal(c->rows[5].family, RASN_AF4);
	assert_true(c->rows[5].first == 16777216 && c->rows[5].last == 16777216);
	assert_err(c, 0, 6, "bad end address");
	assert_err(c, 1, 7, "bad end address");
	assert_err(c, 2, 9, "bad start address");
	assert_err(c, 3, 10, "start after end");
	free(c);
}

static void test_csv_nul(void **state)
{
	(void)state;
	static const char text[] = "1.0.0.0,1.0.0.255,1,ab\0c\n"
				   "1.0.1.0,1.0.1.255,2,ok\n"
				   "1.0.2.0\0,1.0.2.255,3,x\n"
				   "\0\n"
				   "1.0.3.0,1.0.3.255,4,ok\0";
	struct col *c = run_len(text, sizeof(text) - 1, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.lines, 5);
	assert_int_equal(c->res.rows, 1);
	assert_int_equal(c->res.bad, 4);
	assert_int_equal(c->rows[0].asns[0], 2);
	assert_int_equal(c->rows[0].line, 2);
	assert_err(c, 0, 1, "NUL byte");
	assert_err(c, 1, 3, "NUL byte");
	assert_err(c, 2, 4, "NUL byte");
	assert_err(c, 3, 5, "NUL byte");
	free(c);
}

/* Build "1.0.0.0,1.0.0.0,1,<prefix><unit * reps>" and check the cut length. */
static void check_long_name(const char *prefix, const char *unit, int reps, int quoted,
			    size_t want_len)
{
	size_t cap = 64 + strlen(prefix) + strlen(unit) * (size_t)reps * 2;
	char *text = malloc(cap), *name = malloc(cap);
	assert_non_null(text);
	assert_non_null(name);
	strcpy(name, prefix);
	for (int i = 0; i < reps; i++)
		strcat(name, unit);
	strcpy(text, "1.0.0.0,1.0.0.0,1,");
	if (quoted)
		strcat(text, "\"");
	strcat(text, name);
	if (quoted)
		strcat(text, "\"");
	strcat(text, "\n");
	struct col *c = run(text, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.rows, 1);
	assert_int_equal(c->rows[0].name_len, want_len);
	assert_memory_equal(c->rows[0].name, name, want_len);
	free(c);
	free(text);
	free(name);
}

static void test_csv_long_name(void **state)
{
	(void)state;
	/* "é" is 2 bytes: after one ASCII byte the character at 1023..1024 straddles the cut. */
	check_long_name("a", "\xc3\xa9", 1000, 0, 1023);
	check_long_name("a", "\xc3\xa9", 1000, 1, 1023);
	check_long_name("", "\xc3\xa9", 1000, 0, 1024);
	check_long_name("", "\xc3\xa9", 1000, 1, 1024);
	/* 4-byte characters: 1024 = 4 * 256, then shift the start by 1..3. */
	check_long_name("", "\xf0\x9f\x98\x80", 400, 0, 1024);
	check_long_name("x", "\xf0\x9f\x98\x80", 400, 0, 1021);
	check_long_name("xy", "\xf0\x9f\x98\x80", 400, 1, 1022);
	check_long_name("xyz", "\xf0\x9f\x98\x80", 400, 0, 1023);
	/* Exactly the limit, and one past it in ASCII. */
	check_long_name("", "z", 1024, 0, 1024);
	check_long_name("", "z", 1025, 1, 1024);
	check_long_name("", "z", 5000, 1, 1024);
	/* Invalid UTF-8 (continuation bytes only) is cut at the limit. */
	check_long_name("", "\x80", 2000, 0, 1024);

	/* Escaped quotes count as one byte each after unescaping. */
	char text[3000] = "1.0.0.0,1.0.0.0,1,\"";
	for (int i = 0; i < 1100; i++)
		strcat(text, "\"\"");
	strcat(text, "\"\n");
	struct col *c = run(text, RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.rows, 1);
	assert_int_equal(c->rows[0].name_len, 1024);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(c->rows[0].name[i], '"');
	free(c);
}

static void test_csv_asn0_and_stop(void **state)
{
	(void)state;
	struct col *c = run("1.0.0.0,1.0.0.255,0,none\n1.0.1.0,1.0.1.255,5,x\n", RASN_DS_IPLDB_CSV);
	assert_int_equal(c->res.rows, 1);
	assert_int_equal(c->res.skipped, 1);
	assert_int_equal(c->res.bad, 0);
	free(c);

	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->stop_code = -42;
	c->stop_after = 2;
	const char *t = "1.0.0.0,1.0.0.0,1,a\n1.0.0.1,1.0.0.1,2,b\n1.0.0.2,1.0.0.2,3,c\n";
	c->ret = rasn_ds_parse(t, strlen(t), RASN_DS_AUTO, row_cb, err_cb, c, &c->res);
	assert_int_equal(c->ret, -42);
	assert_int_equal(c->n_rows, 2);
	assert_int_equal(c->res.rows, 2);
	assert_int_equal(c->res.lines, 2);
	free(c);
}

/* ---- iptoasn TSV ---- */

static void test_tsv(void **state)
{
	(void)state;
	struct col *c = run("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
			    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
			    "1.0.4.0\t1.0.7.255\t38803\tAU\tGTELECOM-AUSTRALIA Gtelecom Pty Ltd\r\n"
			    "\n"
			    "2001:200::\t2001:200:ffff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB \"x\", y\n"
			    "1.0.8.0\t1.0.8.255\t7\tNone\t\n"
			    "1.0.9.0\t1.0.9.255\t8\t\tplain\n"
			    "1.0.10.0\t1.0.10.255\t9\tUS\n"
			    "1.0.10.0\t1.0.10.255\t9\tUS\ta\tb\n"
			    "1.0.11.0\t1.0.10.255\t9\tUS\tx\n"
			    "1.0.12.0\t1.0.12.255\t9\tUSA\tx\n"
			    "1.0.12.0\t1.0.12.255\tx\tUS\tx\n"
			    "1.0.12.0\t2001::\t9\tUS\tx\n"
			    "1.0.13.0\t1.0.13.255\t0\tUS\tAS0 with a country is still skipped\n"
			    "1.0.14.0,1.0.14.255,9,x\n",
			    RASN_DS_IPTOASN_TSV);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.lines, 15);
	assert_int_equal(c->res.rows, 5);
	assert_int_equal(c->res.skipped, 2);
	assert_int_equal(c->res.bad, 7);

	assert_int_equal(c->rows[0].family, RASN_AF4);
	assert_true(c->rows[0].first == 0x01000000 && c->rows[0].last == 0x010000ff);
	assert_int_equal(c->rows[0].asns[0], 13335);
	assert_string_equal(c->rows[0].cc, "US");
	assert_string_equal(c->rows[0].name, "CLOUDFLARENET");
	assert_int_equal(c->rows[0].line, 1);
	assert_string_equal(c->rows[1].cc, "AU");
	assert_string_equal(c->rows[1].name, "GTELECOM-AUSTRALIA Gtelecom Pty Ltd");
	assert_int_equal(c->rows[1].line, 3);
	assert_int_equal(c->rows[2].family, RASN_AF6);
	assert_true(c->rows[2].first == u128(0x2001020000000000ull, 0));
	assert_true(c->rows[2].last == u128(0x20010200ffffffffull, UINT64_MAX));
	assert_string_equal(c->rows[2].name, "WIDE-BB \"x\", y");
	assert_string_equal(c->rows[2].cc, "JP");
	assert_string_equal(c->rows[3].cc, "");
	assert_int_equal(c->rows[3].name_len, 0);
	assert_string_equal(c->rows[4].cc, "");
	assert_string_equal(c->rows[4].name, "plain");

	assert_err(c, 0, 8, "wrong field count");
	assert_err(c, 1, 9, "wrong field count");
	assert_err(c, 2, 10, "start after end");
	assert_err(c, 3, 11, "bad country code");
	assert_err(c, 4, 12, "bad ASN");
	assert_err(c, 5, 13, "mixed address families");
	assert_err(c, 6, 15, "wrong field count");
	free(c);
}

/* ---- pfx2as ---- */

static void test_pfx2as(void **state)
{
	(void)state;
	struct col *c = run("1.0.0.0\t24\t13335\n"
			    "2001:db8::\t32\t64496_64497\n"
			    "10.0.0.0\t8\t1,2,3\n"
			    "11.0.0.0\t8\t{4,5}\n"
			    "12.0.0.0\t8\t6_{7,8}\n"
			    "13.0.0.0\t8\t9_9_9\n"
			    "14.0.0.0\t8\t1_2_3_4_5_6_7_8_9_10\n"
			    "0.0.0.0\t0\t1\n"
			    "::\t0\t2\n"
			    "2001:db8::1\t128\t3\r\n"
			    "15.0.0.0\t8\t0\n"
			    "16.0.0.0\t8\t0_17\n",
			    RASN_DS_PFX2AS);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.bad, 0);
	assert_int_equal(c->res.rows, 11);
	assert_int_equal(c->res.skipped, 1);

	assert_int_equal(c->rows[0].family, RASN_AF4);
	assert_true(c->rows[0].first == 0x01000000 && c->rows[0].last == 0x010000ff);
	assert_int_equal(c->rows[0].n_asns, 1);
	assert_int_equal(c->rows[0].asns[0], 13335);
	assert_int_equal(c->rows[0].name_len, 0);

	assert_int_equal(c->rows[1].family, RASN_AF6);
	assert_true(c->rows[1].first == u128(0x20010db800000000ull, 0));
	assert_true(c->rows[1].last == u128(0x20010db8ffffffffull, UINT64_MAX));
	assert_int_equal(c->rows[1].n_asns, 2);
	assert_int_equal(c->rows[1].asns[0], 64496);
	assert_int_equal(c->rows[1].asns[1], 64497);

	assert_int_equal(c->rows[2].n_asns, 3);
	assert_int_equal(c->rows[2].asns[2], 3);
	assert_true(c->rows[2].last == 0x0affffff);
	assert_int_equal(c->rows[3].n_asns, 2);
	assert_int_equal(c->rows[3].asns[0], 4);
	assert_int_equal(c->rows[3].asns[1], 5);
	assert_int_equal(c->rows[4].n_asns, 3);
	assert_int_equal(c->rows[4].asns[0], 6);
	assert_int_equal(c->rows[4].asns[2], 8);
	assert_int_equal(c->rows[5].n_asns, 1);
	assert_int_equal(c->rows[5].asns[0], 9);
	assert_int_equal(c->rows[6].n_asns, RASN_DS_MAX_ORIGINS);
	assert_int_equal(c->rows[6].asns[7], 8);
	assert_true(c->rows[7].first == 0 && c->rows[7].last == 0xffffffffu);
	assert_int_equal(c->rows[7].family, RASN_AF4);
	assert_true(c->rows[8].first == 0 && c->rows[8].last == ALL6);
	assert_int_equal(c->rows[8].family, RASN_AF6);
	assert_true(c->rows[9].first == u128(0x20010db800000000ull, 1));
	assert_true(c->rows[9].last == c->rows[9].first);
	assert_int_equal(c->rows[9].line, 10);
	assert_int_equal(c->rows[10].n_asns, 1);
	assert_int_equal(c->rows[10].asns[0], 17);
	free(c);
}

static void test_pfx2as_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *line, *why;
	} cases[] = {
		{ "1.0.0.1\t24\t1", "host bits set" },
		{ "2001:db8::1\t64\t1", "host bits set" },
		{ "1.0.0.0\t33\t1", "bad prefix length" },
		{ "::\t129\t1", "bad prefix length" },
		{ "1.0.0.0\t\t1", "bad prefix length" },
		{ "1.0.0.0\t024x\t1", "bad prefix length" },
		{ "1.0.0.0\t1234\t1", "bad prefix length" },
		{ "1.0.0\t24\t1", "bad prefix" },
		{ "16777216\t24\t1", "bad prefix" },
		{ "1.0.0.0\t24\t", "bad ASN" },
		{ "1.0.0.0\t24\t1_", "bad ASN" },
		{ "1.0.0.0\t24\t_1", "bad ASN" },
		{ "1.0.0.0\t24\t1__2", "bad ASN" },
		{ "1.0.0.0\t24\t{1,2", "bad ASN" },
		{ "1.0.0.0\t24\t1}", "bad ASN" },
		{ "1.0.0.0\t24\t{{1}}", "bad ASN" },
		{ "1.0.0.0\t24\t{1_2}", "bad ASN" },
		{ "1.0.0.0\t24\t{}", "bad ASN" },
		{ "1.0.0.0\t24\t4294967296", "bad ASN" },
		{ "1.0.0.0\t24\tAS1", "bad ASN" },
		{ "1.0.0.0\t24\t1 ", "bad ASN" },
		{ "1.0.0.0\t24", "wrong field count" },
		{ "1.0.0.0\t24\t1\t2", "wrong field count" },
	};
	char text[2048] = "";
	size_t n = RASN_ARRAY_LEN(cases);
	for (size_t i = 0; i < n; i++) {
		strcat(text, cases[i].line);
		strcat(text, "\n");
	}
	struct col *c = run(text, RASN_DS_PFX2AS);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.rows, 0);
	assert_int_equal(c->res.bad, n);
	for (size_t i = 0; i < n; i++)
		assert_err(c, i, i + 1, cases[i].why);
	free(c);
}

/* ---- detection and names ---- */

static void test_detect(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum rasn_ds_format fmt;
	} cases[] = {
		{ "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n", RASN_DS_IPLDB_CSV },
		{ "16777216,16777471,13335,x", RASN_DS_IPLDB_CSV },
		{ "1.0.0.0,1.0.0.255,1,\"a\tb\"\n", RASN_DS_IPLDB_CSV },
		{ "\n\r\n  \n1.0.0.0,1.0.0.255,1,\n", RASN_DS_IPLDB_CSV },
		{ "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n", RASN_DS_IPTOASN_TSV },
		{ "1.0.0.0\t1.0.0.255\t13335\tUS\tA, B, C\n", RASN_DS_IPTOASN_TSV },
		{ "1.0.0.0\t24\t13335\n", RASN_DS_PFX2AS },
		{ "2001:db8::\t128\t1_2\r\n", RASN_DS_PFX2AS },
		{ "1.0.0.0\t129\t1\n", RASN_DS_AUTO },
		{ "1.0.0.0\t24\n", RASN_DS_AUTO },
		{ "hello world\n", RASN_DS_AUTO },
		{ "a,b,c\n", RASN_DS_AUTO },
		{ "a,b,c,\"d\n", RASN_DS_AUTO },
		{ "", RASN_DS_AUTO },
		{ "\n\n", RASN_DS_AUTO },
		/* An undecided first line does not hide a clear second one. */
		{ "junk\n1.0.0.0\t24\t1\n", RASN_DS_PFX2AS },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++)
		assert_int_equal(rasn_ds_detect(cases[i].text, strlen(cases[i].text)), cases[i].fmt);
	assert_int_equal(rasn_ds_detect(NULL, 0), RASN_DS_AUTO);

	struct col *c = run("hello world\n", RASN_DS_AUTO);
	assert_int_equal(c->ret, RASN_EFORMAT);
	assert_int_equal(c->res.format, RASN_DS_AUTO);
	assert_int_equal(c->res.rows, 0);
	free(c);

	c = run("1.0.0.0\t24\t13335\n", RASN_DS_AUTO);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.format, RASN_DS_PFX2AS);
	assert_int_equal(c->res.rows, 1);
	free(c);

	c = run("1.0.0.0,1.0.0.0,1,x\n", (enum rasn_ds_format)99);
	assert_int_equal(c->ret, RASN_EFORMAT);
	free(c);
}

static void test_format_names(void **state)
{
	(void)state;
	assert_string_equal(rasn_ds_format_name(RASN_DS_AUTO), "auto");
	assert_string_equal(rasn_ds_format_name(RASN_DS_IPLDB_CSV), "ip-location-db csv");
	assert_string_equal(rasn_ds_format_name(RASN_DS_IPTOASN_TSV), "iptoasn tsv");
	assert_string_equal(rasn_ds_format_name(RASN_DS_PFX2AS), "pfx2as");
	assert_string_equal(rasn_ds_format_name((enum rasn_ds_format)42), "unknown");
	assert_int_equal(rasn_ds_format_parse("auto"), RASN_DS_AUTO);
	assert_int_equal(rasn_ds_format_parse("csv"), RASN_DS_IPLDB_CSV);
	assert_int_equal(rasn_ds_format_parse("iptoasn"), RASN_DS_IPTOASN_TSV);
	assert_int_equal(rasn_ds_format_parse("pfx2as"), RASN_DS_PFX2AS);
	assert_int_equal(rasn_ds_format_parse("CSV"), -1);
	assert_int_equal(rasn_ds_format_parse(""), -1);
	assert_int_equal(rasn_ds_format_parse("tsv"), -1);
	assert_int_equal(rasn_ds_format_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_basic),
		cmocka_unit_test(test_csv_quotes),
		cmocka_unit_test(test_csv_crlf_blank),
		cmocka_unit_test(test_csv_malformed),
		cmocka_unit_test(test_csv_numeric),
		cmocka_unit_test(test_csv_nul),
		cmocka_unit_test(test_csv_long_name),
		cmocka_unit_test(test_csv_asn0_and_stop),
		cmocka_unit_test(test_tsv),
		cmocka_unit_test(test_pfx2as),
		cmocka_unit_test(test_pfx2as_malformed),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_format_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
