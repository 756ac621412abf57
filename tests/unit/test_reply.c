/* Unit tests for lib/reply.c: the exact JSON lines and Team Cymru rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reply.h"

static struct rasn_table *table(void)
{
	static const char csv[] =
		"8.8.8.0,8.8.8.255,15169,Google LLC\n"
		"9.0.0.1,9.0.0.6,64512,\"Weird \"\"name\"\", with\ttab\"\n";
	struct rasn_table_builder *b = rasn_table_builder_new(NULL);
	char err[256];
	struct rasn_table *t;
	assert_int_equal(rasn_table_builder_add_buffer(b, "t", csv, strlen(csv), RASN_DS_AUTO, err, sizeof(err)), 0);
	assert_int_equal(rasn_table_build(b, &t, err, sizeof(err)), 0);
	rasn_table_builder_free(b);
	return t;
}

static void ip_reply(struct rasn_table *t, const char *q, struct rasn_buf *b)
{
	struct rasn_addr a;
	struct rasn_match m;
	assert_int_equal(rasn_addr_parse(q, strlen(q), &a), 0);
	int found = rasn_table_lookup(t, &a, &m);
	rasn_reply_ip(b, q, strlen(q), &a, found ? &m : NULL, "table");
}

static void test_ip(void **state)
{
	struct rasn_table *t = table();
	struct rasn_buf b;
	rasn_buf_init(&b);
	ip_reply(t, "8.8.8.8", &b);
	ip_reply(t, "9.0.0.5", &b);
	ip_reply(t, "10.0.0.1", &b);
	rasn_buf_addc(&b, '\0');
	assert_string_equal(b.data,
		"{\"query\":\"8.8.8.8\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"8.8.8.8\",\"asn\":15169,"
		"\"as_name\":\"Google LLC\",\"prefix\":\"8.8.8.0/24\",\"first_ip\":\"8.8.8.0\",\"last_ip\":\"8.8.8.255\","
		"\"source\":\"table\"}\n"
		"{\"query\":\"9.0.0.5\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"9.0.0.5\",\"asn\":64512,"
		"\"as_name\":\"Weird \\\"name\\\", with\\ttab\",\"prefix\":\"9.0.0.4/31\",\"first_ip\":\"9.0.0.1\","
		"\"last_ip\":\"9.0.0.6\",\"source\":\"table\"}\n"
		"{\"query\":\"10.0.0.1\",\"type\":\"ip\",\"status\":\"not_found\",\"ip\":\"10.0.0.1\",\"source\":\"table\"}\n");
	rasn_buf_free(&b);
	rasn_table_unref(t);
}

/* Fields of another source added before "source", after what the reply already holds. */
static void test_extra(void **state)
{
	struct rasn_table *t = table();
	struct rasn_buf b;
	struct rasn_addr a;
	struct rasn_match m;
	rasn_buf_init(&b);
	rasn_buf_lit(&b, "before\n");
	assert_int_equal(rasn_addr_parse("8.8.8.8", 7, &a), 0);
	assert_int_equal(rasn_table_lookup(t, &a, &m), 1);
	struct rasn_reply_extra x = { "US", "arin", "1992-12-01" }, y = { NULL, "ri\"pe", "" };
	rasn_reply_ip_ex(&b, "8.8.8.8", 7, &a, &m, &x, "table");
	rasn_reply_ip_ex(&b, "8.8.8.8", 7, &a, &m, NULL, "cymru");
	rasn_reply_as_ex(&b, "AS1", 3, 1, NULL, 0, 0, &y, NULL);
	rasn_buf_addc(&b, '\0');
	assert_string_equal(b.data,
		"before\n"
		"{\"query\":\"8.8.8.8\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"8.8.8.8\",\"asn\":15169,"
		"\"as_name\":\"Google LLC\",\"prefix\":\"8.8.8.0/24\",\"first_ip\":\"8.8.8.0\",\"last_ip\":\"8.8.8.255\","
		"\"cc\":\"US\",\"registry\":\"arin\",\"allocated\":\"1992-12-01\",\"source\":\"table\"}\n"
		"{\"query\":\"8.8.8.8\",\"type\":\"ip\",\"status\":\"ok\",\"ip\":\"8.8.8.8\",\"asn\":15169,"
		"\"as_name\":\"Google LLC\",\"prefix\":\"8.8.8.0/24\",\"first_ip\":\"8.8.8.0\",\"last_ip\":\"8.8.8.255\","
		"\"source\":\"cymru\"}\n"
		"{\"query\":\"AS1\",\"type\":\"as\",\"status\":\"not_found\",\"asn\":1,"
		"\"registry\":\"ri\\\"pe\",\"allocated\":\"\"}\n");
	rasn_buf_free(&b);
	rasn_table_unref(t);
}

static void test_error_escapes_query(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	const char q[] = "a\"b\\c\x01\xff";
	rasn_reply_error(&b, q, sizeof(q) - 1, "invalid", "bad \"thing\"");
	rasn_buf_addc(&b, '\0');
	assert_string_equal(b.data,
		"{\"query\":\"a\\\"b\\\\c\\u0001\\ufffd\",\"type\":\"invalid\",\"status\":\"error\","
		"\"error\":\"bad \\\"thing\\\"\"}\n");
	rasn_buf_free(&b);
}

static void test_org_and_prefixes(void **state)
{
	struct rasn_table *t = table();
	struct rasn_buf b;
	rasn_buf_init(&b);
	struct rasn_org_hit hits[1];
	size_t total = rasn_table_org_search(t, "e", 1, hits, 1);
	assert_int_equal(total, 2);
	rasn_reply_org(&b, "org e", 5, hits, 1, total, "table");
	struct rasn_prefix *p;
	struct rasn_as_info info;
	assert_int_equal(rasn_table_as(t, 15169, &info), 1);
	long n = rasn_table_as_prefixes(t, 15169, &p);
	rasn_reply_prefixes(&b, "prefixes AS15169", 16, 15169, &info, p, (size_t)n, "table");
	free(p);
	rasn_reply_prefixes(&b, "prefixes AS1", 12, 1, NULL, NULL, 0, "table");
	rasn_buf_addc(&b, '\0');
	assert_string_equal(b.data,
		"{\"query\":\"org e\",\"type\":\"org\",\"status\":\"ok\",\"count\":2,\"truncated\":true,"
		"\"matches\":[{\"asn\":15169,\"as_name\":\"Google LLC\"}],\"source\":\"table\"}\n"
		"{\"query\":\"prefixes AS15169\",\"type\":\"prefixes\",\"status\":\"ok\",\"asn\":15169,"
		"\"as_name\":\"Google LLC\",\"count\":1,\"prefixes\":[\"8.8.8.0/24\"],\"source\":\"table\"}\n"
		"{\"query\":\"prefixes AS1\",\"type\":\"prefixes\",\"status\":\"not_found\",\"asn\":1,"
		"\"count\":0,\"prefixes\":[],\"source\":\"table\"}\n");
	rasn_buf_free(&b);
	rasn_table_unref(t);
}

static void test_cymru(void **state)
{
	struct rasn_table *t = table();
	struct rasn_buf b;
	rasn_buf_init(&b);
	struct rasn_addr a;
	struct rasn_match m;
	rasn_cymru_ip_header(&b, RASN_CYMRU_VERBOSE);
	assert_int_equal(rasn_addr_parse("8.8.8.8", 7, &a), 0);
	assert_int_equal(rasn_table_lookup(t, &a, &m), 1);
	rasn_cymru_ip_rows(&b, RASN_CYMRU_VERBOSE, &a, &m);
	assert_int_equal(rasn_addr_parse("10.0.0.1", 8, &a), 0);
	rasn_cymru_ip_rows(&b, RASN_CYMRU_VERBOSE, &a, NULL);
	rasn_cymru_ip_header(&b, 0);
	assert_int_equal(rasn_addr_parse("8.8.8.8", 7, &a), 0);
	rasn_cymru_ip_rows(&b, 0, &a, &m);
	rasn_cymru_ip_header(&b, RASN_CYMRU_NOHEADER);
	rasn_buf_addc(&b, '\0');
	assert_string_equal(b.data,
		"AS      | IP               | BGP Prefix          | CC | Registry | Allocated  | AS Name\n"
		"15169   | 8.8.8.8          | 8.8.8.0/24          |    |          |            | Google LLC\n"
		"NA      | 10.0.0.1         | NA                  |    |          |            | NA\n"
		"AS      | IP               | AS Name\n"
		"15169   | 8.8.8.8          | Google LLC\n");
	rasn_buf_free(&b);
	rasn_table_unref(t);
}

static void test_ip_special(void **state)
{
	(void)state;
	struct rasn_buf b;
	rasn_buf_init(&b);
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse("::ffff:10.0.0.1", 15, &a), 0);
	rasn_reply_ip_special(&b, "::ffff:10.0.0.1", 15, &a, "private-use (RFC 1918)", "special");
	rasn_buf_addc(&b, '\0');
	assert_int_equal(b.oom, 0);
	assert_string_equal(b.data, "{\"query\":\"::ffff:10.0.0.1\",\"type\":\"ip\",\"status\":\"not_found\","
			    "\"ip\":\"10.0.0.1\",\"reason\":\"private-use (RFC 1918)\",\"source\":\"special\"}\n");
	rasn_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_extra),
		cmocka_unit_test(test_ip_special),
		cmocka_unit_test(test_error_escapes_query),
		cmocka_unit_test(test_org_and_prefixes),
		cmocka_unit_test(test_cymru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
