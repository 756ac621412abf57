/* lib/peers.c: per-address connection limits, token buckets and allow lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peers.h"

static struct rasn_addr addr(const char *s)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static void test_conns(void **state)
{
	(void)state;
	struct rasn_peers *t = rasn_peers_new(2);
	struct rasn_addr a = addr("127.0.0.1"), b = addr("::1"), c = addr("10.0.0.1");
	assert_int_equal(rasn_peers_open(t, &a, 2, 0), 0);
	assert_int_equal(rasn_peers_open(t, &a, 2, 0), 0);
	assert_int_equal(rasn_peers_open(t, &a, 2, 0), -EMFILE);
	assert_int_equal(rasn_peers_conns(t, &a), 2);
	assert_int_equal(rasn_peers_open(t, &b, 2, 0), 0);
	assert_int_equal(rasn_peers_open(t, &c, 2, 0), -ENOSPC);   /* two addresses tracked */
	rasn_peers_close(t, &b, 1);
	assert_int_equal(rasn_peers_open(t, &c, 2, 1), 0);         /* b was idle: dropped or reused */
	rasn_peers_close(t, &a, 1);
	assert_int_equal(rasn_peers_open(t, &a, 2, 1), 0);
	rasn_peers_free(t);
}

static void test_bucket(void **state)
{
	(void)state;
	struct rasn_peers *t = rasn_peers_new(16);
	struct rasn_addr a = addr("127.0.0.1"), b = addr("127.0.0.2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.0), 0);
	assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.0), -EAGAIN);
	assert_int_equal(rasn_peers_take(t, &b, 2, 3, 10.0), 0);   /* per address */
	assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.4), -EAGAIN);
	assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.5), 0);   /* one token per half second */
	assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.5), -EAGAIN);
	assert_int_equal(rasn_peers_take(t, &a, 0, 0, 10.5), 0);   /* rate 0: no limit */
	/* the bucket outlives the connection: reconnecting does not refill it */
	assert_int_equal(rasn_peers_open(t, &a, 0, 10.5), 0);
	rasn_peers_close(t, &a, 10.5);
	assert_int_equal(rasn_peers_take(t, &a, 2, 3, 10.5), -EAGAIN);
	rasn_peers_free(t);
}

static void test_allow(void **state)
{
	(void)state;
	struct rasn_prefix p[2];
	assert_int_equal(rasn_prefix_parse("127.0.0.0/8", 11, &p[0]), 0);
	assert_int_equal(rasn_prefix_parse("::1/128", 7, &p[1]), 0);
	struct rasn_addr a = addr("127.1.2.3"), b = addr("::1"), c = addr("128.0.0.1"), d = addr("::2");
	assert_true(rasn_peers_allowed(p, 2, &a));
	assert_true(rasn_peers_allowed(p, 2, &b));
	assert_false(rasn_peers_allowed(p, 2, &c));
	assert_false(rasn_peers_allowed(p, 2, &d));
	assert_false(rasn_peers_allowed(p, 0, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conns),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_allow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
