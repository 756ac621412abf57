/* Unit tests for lib/url.c: the URLs rasnd's HTTPS client takes and the ones it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

static struct rasn_url parse_ok(const char *s)
{
	struct rasn_url u;
	int rc = rasn_url_parse(s, strlen(s), &u);
	if (rc != 0)
		fail_msg("%s: %d", s, rc);
	return u;
}

static void expect_path(const struct rasn_url *u, const char *path)
{
	assert_int_equal(u->path_len, strlen(path));
	assert_memory_equal(u->path, path, u->path_len);
}

static void test_names_and_ports(void **state)
{
	(void)state;
	struct rasn_url u = parse_ok("https://stat.ripe.net");
	assert_string_equal(u.host, "stat.ripe.net");
	assert_int_equal(u.port, 443);
	assert_false(u.is_ip);
	expect_path(&u, "");
	u = parse_ok("HTTPS://Example.ORG:8443/a/b.csv?x=1&y=%20#frag ment");
	assert_string_equal(u.host, "Example.ORG");
	assert_int_equal(u.port, 8443);
	expect_path(&u, "/a/b.csv?x=1&y=%20");
	u = parse_ok("https://h?only=query");
	expect_path(&u, "?only=query");
	u = parse_ok("https://h#f");
	expect_path(&u, "");
	u = parse_ok("https://h:1/");
	assert_int_equal(u.port, 1);
	u = parse_ok("https://h:65535");
	assert_int_equal(u.port, 65535);
}

static void test_address_literals(void **state)
{
	(void)state;
	struct rasn_url u = parse_ok("https://127.0.0.1:8443/x");
	assert_true(u.is_ip);
	assert_false(u.is_ip6);
	assert_string_equal(u.host, "127.0.0.1");
	u = parse_ok("https://[::1]/x");
	assert_true(u.is_ip && u.is_ip6);
	assert_string_equal(u.host, "::1");
	u = parse_ok("https://[2001:db8::1.2.3.4]:444");
	assert_string_equal(u.host, "2001:db8::1.2.3.4");
	/* a name that only looks like a dotted quad is a name */
	u = parse_ok("https://1.2.3.04/");
	assert_false(u.is_ip);
}

static void test_authority(void **state)
{
	(void)state;
	char buf[RASN_URL_HOST_MAX + 10];
	struct rasn_url u = parse_ok("https://h.example:443/x");
	assert_int_equal(rasn_url_authority(&u, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "h.example");
	u = parse_ok("https://[::1]:8443/");
	rasn_url_authority(&u, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8443");
	u = parse_ok("https://[::1]/");
	rasn_url_authority(&u, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]");
	assert_int_equal(rasn_url_authority(&u, buf, 3), -ENOSPC);
	assert_string_equal(buf, "");
}

static void test_refused(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "https://", "https:///path", "http://example.org/", "ftp://x/", "https:/x",
		"https://user@host/", "https://ho st/", "https://h_st/", "https://h:/", "https://h:0/",
		"https://h:65536/", "https://h:99999999999999999999/", "https://h:1a/", "https://h x",
		"https://[::1/", "https://[]/", "https://[1::2::3]/", "https://[::1]x/", "https://[h]/",
		"https://h/a b", "https://h/\x7f", "https://h/\x01", "https://h/\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rasn_url u;
		int rc = rasn_url_parse(bad[i], strlen(bad[i]), &u);
		if (rc != RASN_ESYNTAX)
			fail_msg("'%s' gave %d", bad[i], rc);
		assert_int_equal(u.port, 0);
		assert_null(u.path);
	}
	char longh[8 + 300 + 2] = "https://";
	memset(longh + 8, 'a', 254);
	strcpy(longh + 8 + 254, "/");
	struct rasn_url u;
	assert_int_equal(rasn_url_parse(longh, strlen(longh), &u), -ENAMETOOLONG);
	longh[8 + 253] = '/';
	longh[8 + 254] = '\0';
	assert_int_equal(rasn_url_parse(longh, strlen(longh), &u), 0);
	assert_int_equal(strlen(u.host), 253);
}

static void test_length_bounds_the_input(void **state)
{
	(void)state;
	/* no NUL is needed: what lies past len is not read as part of the URL */
	const char s[] = "https://a.b/xyz GARBAGE";
	struct rasn_url u;
	assert_int_equal(rasn_url_parse(s, 15, &u), 0);
	expect_path(&u, "/xyz");
	assert_int_equal(rasn_url_parse(s, 11, &u), 0);
	assert_string_equal(u.host, "a.b");
	assert_int_equal(rasn_url_parse(s, 7, &u), RASN_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_ports),
		cmocka_unit_test(test_address_literals),
		cmocka_unit_test(test_authority),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_length_bounds_the_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
