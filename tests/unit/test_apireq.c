/* lib/apireq.c: HTTP API targets to protocol lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apireq.h"
#include "rasn.h"

static void want_line(const char *target, const char *line)
{
	struct rasn_apireq r;
	assert_int_equal(rasn_apireq_parse(target, strlen(target), &r), 0);
	assert_int_equal(r.kind, RASN_API_LOOKUP);
	assert_string_equal(r.line, line);
	assert_int_equal(r.len, strlen(line));
}

static void want_kind(const char *target, enum rasn_apireq_kind kind)
{
	struct rasn_apireq r;
	int rc = rasn_apireq_parse(target, strlen(target), &r);
	assert_int_equal(r.kind, kind);
	assert_int_equal(rc, kind == RASN_API_BAD ? RASN_ESYNTAX : kind == RASN_API_NOT_FOUND ? -ENOENT : 0);
	if (kind == RASN_API_BAD)
		assert_non_null(r.error);
}

static void test_lookups(void **state)
{
	(void)state;
	want_line("/v1/ip/8.8.8.8", "ip 8.8.8.8");
	want_line("/v1/ip/2001%3Adb8%3a%3A1", "ip 2001:db8::1");
	want_line("/v1/ip/2001:db8::1?source=cymru", "ip 2001:db8::1 @cymru");
	want_line("/v1/as/AS15169", "as AS15169");
	want_line("/v1/as/15169/prefixes", "prefixes 15169");
	want_line("/v1/domain/example.com?x=1&source=table", "domain example.com @table");
	want_line("/v1/org?q=Google+LLC", "org Google LLC");
	want_line("/v1/org?q=AT%26T&source=ripestat", "org AT&T @ripestat");
}

static void test_kinds(void **state)
{
	(void)state;
	want_kind("/v1/bulk", RASN_API_BULK);
	want_kind("/metrics", RASN_API_METRICS);
	want_kind("/", RASN_API_NOT_FOUND);
	want_kind("/v2/ip/1.2.3.4", RASN_API_NOT_FOUND);
	want_kind("/v1/ip/1.2.3.4/x", RASN_API_NOT_FOUND);
	want_kind("/v1/as/1/prefixes/x", RASN_API_NOT_FOUND);
	want_kind("/v1/nope/1", RASN_API_NOT_FOUND);
	want_kind("/a/b/c/d/e/f/g", RASN_API_NOT_FOUND);
}

static void test_bad(void **state)
{
	(void)state;
	want_kind("", RASN_API_BAD);
	want_kind("v1/ip/1.2.3.4", RASN_API_BAD);
	want_kind("/v1/ip/", RASN_API_BAD);
	want_kind("/v1/ip/1.2.3.4%20@cymru", RASN_API_BAD);   /* no second word through escapes */
	want_kind("/v1/ip/1.2.3.4%40cymru", RASN_API_BAD);
	want_kind("/v1/ip/%0a", RASN_API_BAD);
	want_kind("/v1/ip/%4", RASN_API_BAD);
	want_kind("/v1/ip/%zz", RASN_API_BAD);
	want_kind("/v1/org", RASN_API_BAD);
	want_kind("/v1/org?q=", RASN_API_BAD);
	want_kind("/v1/org?q=a@b", RASN_API_BAD);
	want_kind("/v1/org?q=a&q=b", RASN_API_BAD);
	want_kind("/v1/ip/1.2.3.4?source=a%20b", RASN_API_BAD);
	want_kind("/v1/ip/1.2.3.4?source=", RASN_API_BAD);
	want_kind("/v1/ip/1.2.3.4#x", RASN_API_BAD);
	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "/v1/org?q=", 10);
	big[sizeof(big) - 1] = '\0';
	want_kind(big, RASN_API_BAD);
	char huge[RASN_APIREQ_TARGET_MAX + 2];
	memset(huge, 'a', sizeof(huge));
	huge[0] = '/';
	huge[sizeof(huge) - 1] = '\0';
	want_kind(huge, RASN_API_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
