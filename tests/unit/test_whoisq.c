/* lib/whoisq.c: Team Cymru's whois query lines and bulk option words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reply.h"
#include "whoisq.h"

static struct rasn_whoisq parse(const char *line, unsigned opts, int want_rc)
{
	struct rasn_whoisq q;
	assert_int_equal(rasn_whoisq_parse(line, strlen(line), opts, &q), want_rc);
	return q;
}

static void test_single(void **state)
{
	(void)state;
	struct rasn_whoisq q = parse(" -v 8.8.8.8", 0, 0);
	assert_int_equal(q.kind, RASN_WHOISQ_IP);
	assert_int_equal(q.addr.family, RASN_AF4);
	assert_int_equal(q.addr.v, 0x08080808u);
	assert_true(q.opts & RASN_CYMRU_VERBOSE);
	q = parse("  -v AS15169", 0, 0);
	assert_int_equal(q.kind, RASN_WHOISQ_AS);
	assert_int_equal(q.asn, 15169);
	q = parse("-c -p 2001:db8::1", 0, 0);
	assert_int_equal(q.kind, RASN_WHOISQ_IP);
	assert_int_equal(q.opts, RASN_CYMRU_CC | RASN_CYMRU_PREFIX);
	q = parse("-cra\t15169", 0, 0);
	assert_int_equal(q.kind, RASN_WHOISQ_AS);
	assert_int_equal(q.opts, RASN_CYMRU_CC | RASN_CYMRU_REGISTRY | RASN_CYMRU_ALLOC);
	q = parse(" -t -u -o -e -n 1.2.3.4", 0, 0);
	assert_int_equal(q.opts, 0);
	assert_int_equal(parse(" -h", 0, 0).kind, RASN_WHOISQ_HELP);
	assert_int_equal(parse("HELP", 0, 0).kind, RASN_WHOISQ_HELP);
	assert_int_equal(parse("   ", 0, 0).kind, RASN_WHOISQ_EMPTY);
	assert_int_equal(parse("", 0, 0).kind, RASN_WHOISQ_EMPTY);
}

static void test_bulk_words(void **state)
{
	(void)state;
	assert_int_equal(parse("begin", 0, 0).kind, RASN_WHOISQ_BEGIN);
	assert_int_equal(parse(" END ", 0, 0).kind, RASN_WHOISQ_END);
	struct rasn_whoisq q = parse("verbose", RASN_CYMRU_NOPREFIX, 0);
	assert_int_equal(q.kind, RASN_WHOISQ_OPTION);
	assert_int_equal(q.opts, RASN_CYMRU_VERBOSE);
	q = parse("noheader", RASN_CYMRU_VERBOSE, 0);
	assert_int_equal(q.opts, RASN_CYMRU_VERBOSE | RASN_CYMRU_NOHEADER);
	q = parse("noprefix", q.opts, 0);
	q = parse("nocc", q.opts, 0);
	q = parse("noasname", q.opts, 0);
	assert_int_equal(q.opts, RASN_CYMRU_VERBOSE | RASN_CYMRU_NOHEADER | RASN_CYMRU_NOPREFIX |
				 RASN_CYMRU_NOCC | RASN_CYMRU_NOASNAME);
	q = parse("countrycode", 0, 0);
	assert_int_equal(q.opts, RASN_CYMRU_CC);
	q = parse("allocdate", q.opts, 0);
	q = parse("registry", q.opts, 0);
	assert_int_equal(q.opts, RASN_CYMRU_CC | RASN_CYMRU_ALLOC | RASN_CYMRU_REGISTRY);
	assert_int_equal(parse("truncate", 0, 0).kind, RASN_WHOISQ_OPTION);
}

static void test_bad(void **state)
{
	(void)state;
	assert_int_equal(parse("8.8.8.8 2005-12-25 13:23:01 GMT", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	assert_int_equal(parse("-x 8.8.8.8", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	assert_int_equal(parse("-v", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	assert_int_equal(parse("example.com", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	assert_int_equal(parse("1.2.3.4.5", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	assert_int_equal(parse("8.8.8.8 verbose", 0, RASN_ESYNTAX).kind, RASN_WHOISQ_BAD);
	struct rasn_whoisq q;
	assert_int_equal(rasn_whoisq_parse("8.8\0.8.8", 8, 0, &q), RASN_ESYNTAX);
	char big[RASN_WHOISQ_LINE_MAX + 10];
	memset(big, ' ', sizeof(big));
	assert_int_equal(rasn_whoisq_parse(big, sizeof(big), 0, &q), RASN_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_bulk_words),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
