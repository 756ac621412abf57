/* lib/sdlisten.c: LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES as sd_listen_fds_with_names(3)
 * reads them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdlisten.h"

static struct rasn_sdlisten l;

static int parse(const char *pid, const char *fds, const char *names)
{
	const char *why = "unset";
	int rc = rasn_sdlisten_parse(pid, fds, names, 1234, &l, &why);
	if (rc >= 0)
		assert_null(why);
	else
		assert_non_null(why);
	return rc;
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(parse("1234", "3", "query:whois:dns"), 3);
	assert_true(l.named);
	assert_string_equal(l.name[0], "query");
	assert_string_equal(l.name[1], "whois");
	assert_string_equal(l.name[2], "dns");
	/* empty names are kept, as systemd does not coalesce ':' */
	assert_int_equal(parse("1234", "3", "a::b"), 3);
	assert_string_equal(l.name[1], "");
	assert_int_equal(parse("1234", "2", ":"), 2);
	assert_string_equal(l.name[0], "");
	assert_string_equal(l.name[1], "");
	/* no LISTEN_FDNAMES: every name is "unknown" */
	assert_int_equal(parse("1234", "2", NULL), 2);
	assert_false(l.named);
	assert_string_equal(l.name[1], "unknown");
}

static void test_not_for_us(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL, "2", "a:b"), 0);
	assert_int_equal(l.other_pid, 0);
	assert_int_equal(parse("99", "2", "a:b"), 0);
	assert_int_equal(l.other_pid, 99);
	assert_int_equal(l.n, 0);
	assert_int_equal(parse("1234", NULL, NULL), 0);
	/* another process's malformed LISTEN_FDS is not looked at */
	assert_int_equal(parse("99", "x", NULL), 0);
}

static void test_malformed(void **state)
{
	(void)state;
	const char *bad_pid[] = { "", "0", "-1", "+1234", " 1234", "1234 ", "12a", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++)
		assert_int_equal(parse(bad_pid[i], "1", NULL), -EINVAL);
	const char *bad_fds[] = { "", "0", "-1", "1x", " 1" };
	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++)
		assert_int_equal(parse("1234", bad_fds[i], NULL), -EINVAL);
	assert_int_equal(parse("1234", "65", NULL), -E2BIG);
	assert_int_equal(parse("1234", "64", NULL), 64);
	/* name counts */
	assert_int_equal(parse("1234", "2", "a"), -EINVAL);
	assert_int_equal(l.n, 0);
	assert_int_equal(parse("1234", "1", "a:b"), -EINVAL);
	assert_int_equal(parse("1234", "1", ""), -EINVAL);
	/* lengths and bytes */
	char name[300];
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	assert_int_equal(parse("1234", "1", name), 1);
	assert_int_equal(strlen(l.name[0]), 255);
	name[255] = 'n';
	name[256] = '\0';
	assert_int_equal(parse("1234", "1", name), -EINVAL);
	assert_int_equal(parse("1234", "1", "tab\there"), -EINVAL);
	assert_int_equal(parse("1234", "1", "\x7f"), -EINVAL);
	assert_int_equal(parse("1234", "1", "caf\xc3\xa9"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_not_for_us),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
