/* Unit tests for lib/ripestat.c: request URLs (encoding, slashes, overflow) and the four
 * parsers on RIPEstat-shaped bodies, then every rejection: the envelope (bad JSON, status,
 * data), wrong types, missing fields, out-of-range numbers, prefixes that do not cover or have
 * host bits, and names cut on a UTF-8 boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ripestat.h"

/* The envelope RIPEstat puts around every answer, with the given status and data. */
#define ENVELOPE(status, data)                                                                          \
	"{\"messages\":[],\"see_also\":[],\"version\":\"1.1\",\"data_call_name\":\"x\","                   \
	"\"data_call_status\":\"supported\",\"cached\":false,\"data\":" data ","                            \
	"\"query_id\":\"20240101000000-0b7c5ae1-3b0a-4c5e-9a3c-1f0e6f0e0e0e\",\"process_time\":2,"          \
	"\"server_id\":\"app111\",\"build_version\":\"live.2024.1.1.1\",\"status\":\"" status "\","        \
	"\"status_code\":200,\"time\":\"2024-01-01T00:00:00.000000\"}"
#define OK(data) ENVELOPE("ok", data)

static char err[256];

static struct rasn_addr addr(const char *s)
{
	struct rasn_addr a;
	assert_int_equal(rasn_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static void assert_prefix(const struct rasn_prefix *p, const char *want)
{
	char buf[RASN_PREFIX_STRLEN];
	rasn_prefix_format(p, buf);
	assert_string_equal(buf, want);
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* ---- URLs ---- */

static void test_url_basic(void **state)
{
	char out[RASN_RIPE_URL_MAX];
	assert_int_equal(rasn_ripe_url("https://stat.ripe.net", RASN_RIPE_NETWORK_INFO, "8.8.8.0/24", "rasn",
				       out, sizeof(out)),
			 strlen("https://stat.ripe.net/data/network-info/data.json?resource=8.8.8.0/24&sourceapp=rasn"));
	assert_string_equal(out, "https://stat.ripe.net/data/network-info/data.json?resource=8.8.8.0/24&sourceapp=rasn");

	/* a trailing slash (or several) on the base: no "//data" */
	rasn_ripe_url("https://stat.ripe.net/", RASN_RIPE_AS_OVERVIEW, "AS15169", NULL, out, sizeof(out));
	assert_string_equal(out, "https://stat.ripe.net/data/as-overview/data.json?resource=AS15169");
	rasn_ripe_url("http://127.0.0.1:8080/ripe//", RASN_RIPE_ANNOUNCED_PREFIXES, "AS15169", "", out, sizeof(out));
	assert_string_equal(out, "http://127.0.0.1:8080/ripe/data/announced-prefixes/data.json?resource=AS15169");
	rasn_ripe_url("http://[::1]:8080", RASN_RIPE_SEARCHCOMPLETE, "google", "my-app_1.0~x", out, sizeof(out));
	assert_string_equal(out, "http://[::1]:8080/data/searchcomplete/data.json?resource=google&sourceapp=my-app_1.0~x");

	/* IPv6 stays readable: ':' and '/' are kept */
	rasn_ripe_url("https://stat.ripe.net", RASN_RIPE_NETWORK_INFO, "2001:db8::/32", NULL, out, sizeof(out));
	assert_string_equal(out, "https://stat.ripe.net/data/network-info/data.json?resource=2001:db8::/32");
}

static void test_url_encoding(void **state)
{
	char out[RASN_RIPE_URL_MAX];
	const char *b = "https://s";
	assert_int_equal(rasn_ripe_url(b, RASN_RIPE_SEARCHCOMPLETE, "Google LLC", NULL, out, sizeof(out)),
			 (int)strlen("https://s/data/searchcomplete/data.json?resource=Google%20LLC"));
	assert_string_equal(out, "https://s/data/searchcomplete/data.json?resource=Google%20LLC");
	rasn_ripe_url(b, RASN_RIPE_SEARCHCOMPLETE, "a&b=c%d+e#f?g", NULL, out, sizeof(out));
	assert_string_equal(out, "https://s/data/searchcomplete/data.json?resource=a%26b%3Dc%25d%2Be%23f%3Fg");
	rasn_ripe_url(b, RASN_RIPE_SEARCHCOMPLETE, "Soci\xc3\xa9t\xc3\xa9 \xe2\x82\xac", NULL, out, sizeof(out));
	assert_string_equal(out, "https://s/data/searchcomplete/data.json?resource=Soci%C3%A9t%C3%A9%20%E2%82%AC");
	rasn_ripe_url(b, RASN_RIPE_SEARCHCOMPLETE, "x@y:z/w\"<>\\^`{|}\x01\x7f\xff", NULL, out, sizeof(out));
	assert_string_equal(out, "https://s/data/searchcomplete/data.json?resource=x@y:z/w%22%3C%3E%5C%5E%60%7B%7C%7D%01%7F%FF");
	rasn_ripe_url(b, RASN_RIPE_SEARCHCOMPLETE, "", "a b&c", out, sizeof(out));
	assert_string_equal(out, "https://s/data/searchcomplete/data.json?resource=&sourceapp=a%20b%26c");
}

static void test_url_overflow(void **state)
{
	char out[RASN_RIPE_URL_MAX], big[RASN_RIPE_URL_MAX];
	const char *want = "https://s/data/as-overview/data.json?resource=AS1&sourceapp=%20";
	int n = (int)strlen(want);

	/* exactly enough room, then one byte short at every place the URL can be cut */
	assert_int_equal(rasn_ripe_url("https://s", RASN_RIPE_AS_OVERVIEW, "AS1", " ", out, (size_t)n + 1), n);
	assert_string_equal(out, want);
	for (int cap = 1; cap <= n; cap++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(rasn_ripe_url("https://s", RASN_RIPE_AS_OVERVIEW, "AS1", " ", out, (size_t)cap),
				 RASN_ERANGE);
		assert_int_equal(out[0], '\0');
	}
	assert_int_equal(rasn_ripe_url("https://s", RASN_RIPE_AS_OVERVIEW, "AS1", NULL, NULL, 0), RASN_ERANGE);

	/* a resource that only fits unencoded */
	memset(big, ' ', 1000);
	big[1000] = '\0';
	assert_int_equal(rasn_ripe_url("https://s", RASN_RIPE_SEARCHCOMPLETE, big, NULL, out, sizeof(out)),
			 RASN_ERANGE);
	assert_string_equal(out, "");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rasn_ripe_url(big, RASN_RIPE_SEARCHCOMPLETE, "x", NULL, out, sizeof(out)), RASN_ERANGE);

	assert_int_equal(rasn_ripe_url("https://s", (enum rasn_ripe_call)7, "x", NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_ripe_url(NULL, RASN_RIPE_AS_OVERVIEW, "x", NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(rasn_ripe_url("https://s", RASN_RIPE_AS_OVERVIEW, NULL, NULL, out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "");
}

/* ---- network-info ---- */

static int netinfo(const char *body, const char *q, struct rasn_ripe_netinfo *ni)
{
	struct rasn_addr a = addr(q);
	err[0] = '\0';
	return rasn_ripe_parse_network_info(body, strlen(body), &a, ni, err, sizeof(err));
}

static void test_netinfo_basic(void **state)
{
	struct rasn_ripe_netinfo ni;

	assert_int_equal(netinfo(OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}"), "8.8.8.8", &ni), 0);
	assert_int_equal(ni.n_asns, 1);
	assert_int_equal(ni.asns[0], 15169);
	assert_prefix(&ni.prefix, "8.8.8.0/24");
	/* both ends of the prefix */
	assert_int_equal(netinfo(OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}"), "8.8.8.0", &ni), 0);
	assert_int_equal(netinfo(OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}"), "8.8.8.255", &ni), 0);

	assert_int_equal(netinfo(OK("{\"asns\":[\"15169\"],\"prefix\":\"2001:4860::/32\"}"), "2001:4860:4860::8888",
				 &ni), 0);
	assert_int_equal(ni.asns[0], 15169);
	assert_int_equal(ni.prefix.family, RASN_AF6);
	assert_prefix(&ni.prefix, "2001:4860::/32");

	/* several origins, numbers as well as strings, the top of the range; more than the max:
	 * the first ones, all still checked */
	assert_int_equal(netinfo(OK("{\"asns\":[\"64500\",64501,\"4294967295\"],\"prefix\":\"192.0.2.0/24\"}"),
				 "192.0.2.1", &ni), 0);
	assert_int_equal(ni.n_asns, 3);
	assert_int_equal(ni.asns[1], 64501);
	assert_int_equal(ni.asns[2], 4294967295u);
	assert_int_equal(netinfo(OK("{\"asns\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\"],"
				    "\"prefix\":\"0.0.0.0/0\"}"), "203.0.113.9", &ni), 0);
	assert_int_equal(ni.n_asns, RASN_RIPE_MAX_ORIGINS);
	assert_int_equal(ni.asns[7], 8);
	assert_int_equal(netinfo(OK("{\"asns\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"x\"],"
				    "\"prefix\":\"0.0.0.0/0\"}"), "203.0.113.9", &ni), RASN_ESYNTAX);
	assert_string_equal(err, "network-info: data.asns[9] is not an AS number");

	/* fields in another order, extra fields ignored */
	assert_int_equal(netinfo("{\"status\":\"ok\",\"data\":{\"prefix\":\"10.0.0.0/8\",\"x\":[{}],\"asns\":[\"1\"]}}",
				 "10.1.2.3", &ni), 0);
	/* the query of an IPv4-mapped address is IPv4 */
	assert_int_equal(netinfo(OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}"), "::ffff:8.8.8.8", &ni), 0);

	/* no check without an address */
	static const char b[] = OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}");
	assert_int_equal(rasn_ripe_parse_network_info(b, sizeof(b) - 1, NULL, &ni, NULL, 0), 0);
}

static void test_netinfo_not_announced(void **state)
{
	static const char *bodies[] = {
		OK("{\"asns\":[],\"prefix\":null}"),
		OK("{\"asns\":[]}"),
		OK("{\"asns\":[],\"prefix\":\"\"}"),
		/* a prefix with no origin is well-formed; not announced all the same */
		OK("{\"asns\":[],\"prefix\":\"10.0.0.0/8\"}"),
	};
	struct rasn_ripe_netinfo ni;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bodies); i++) {
		memset(&ni, 0xa5, sizeof(ni));
		if (netinfo(bodies[i], "192.0.2.1", &ni) != 0)
			fail_msg("refused: %s (%s)", bodies[i], err);
		assert_true(all_zero(&ni, sizeof(ni)));
	}
}

static void test_netinfo_rejects(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ OK("{\"prefix\":\"8.8.8.0/24\"}"), "network-info: no data.asns" },
		{ OK("{\"asns\":\"15169\",\"prefix\":\"8.8.8.0/24\"}"), "network-info: data.asns is not an array" },
		{ OK("{\"asns\":null,\"prefix\":\"8.8.8.0/24\"}"), "network-info: data.asns is not an array" },
		{ OK("{\"asns\":[\"0\"],\"prefix\":\"8.8.8.0/24\"}"), "network-info: data.asns[0] is not an AS number" },
		{ OK("{\"asns\":[0],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"+15169\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"-1\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[-1],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"015169\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"AS15169\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"15169 \"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"4294967296\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[4294967296],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"99999999999999999999999\"],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[99999999999999999999999],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[15169.0],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[true],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[null],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[[\"15169\"]],\"prefix\":\"8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"]}"), "network-info: data.asns is not empty but there is no data.prefix" },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":null}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":24}"), "network-info: data.prefix is not a string" },
		{ OK("{\"asns\":[],\"prefix\":24}"), NULL },
		{ OK("{\"asns\":[],\"prefix\":\"junk\"}"), "network-info: data.prefix is not a prefix" },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.1/24\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/33\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\" 8.8.8.0/24\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.9.0/24\"}"),
		  "network-info: data.prefix 8.8.9.0/24 does not cover the address asked about" },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/25\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"2001:4860::/32\"}"), NULL },
		{ OK("{\"asns\":[\"15169\"],\"prefix\":\"::/0\"}"), NULL },
		{ OK("[]"), "network-info: data is not an object" },
		{ OK("null"), NULL },
	};
	struct rasn_ripe_netinfo ni;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		memset(&ni, 0xa5, sizeof(ni));
		if (netinfo(bad[i].body, "8.8.8.200", &ni) != RASN_ESYNTAX)
			fail_msg("accepted: %s", bad[i].body);
		assert_true(all_zero(&ni, sizeof(ni)));
		assert_true(strncmp(err, "network-info: ", 14) == 0);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
	}
}

/* ---- the envelope, shared by every call ---- */

static void test_envelope_rejects(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ "", "network-info: empty body" },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/2", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}}x", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\"}}{}", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\"],\"prefix\":\"8.8.8.0/24\",\"asns\":[]}}", NULL },
		{ "{\"status\":\"ok\",\"status\":\"ok\",\"data\":{\"asns\":[],\"prefix\":null}}", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":['15169'],\"prefix\":\"8.8.8.0/24\"}}", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"15169\",],\"prefix\":\"8.8.8.0/24\"}}", NULL },
		{ "{\"status\":\"ok\",\"data\":{\"asns\":[\"\xff\"],\"prefix\":\"8.8.8.0/24\"}}", NULL },
		{ "[\"ok\"]", "network-info: the answer is not a JSON object" },
		{ "\"ok\"", NULL },
		{ "{\"data\":{\"asns\":[],\"prefix\":null}}", "network-info: no status" },
		{ "{\"status\":200,\"data\":{\"asns\":[],\"prefix\":null}}", "network-info: status is not a string" },
		{ "{\"status\":\"OK\",\"data\":{\"asns\":[],\"prefix\":null}}", "network-info: status \"OK\"" },
		{ "{\"status\":\"ok \",\"data\":{\"asns\":[],\"prefix\":null}}", NULL },
		{ "{\"status\":\"ok\"}", "network-info: no data" },
		{ "{\"status\":\"ok\",\"data\":null}", "network-info: data is not an object" },
		{ ENVELOPE("error", "{}"), "network-info: status \"error\"" },
		{ "{\"messages\":[[\"error\",\"The given resource is not valid.\"]],\"status\":\"error\","
		  "\"status_code\":400,\"data\":{}}",
		  "network-info: status \"error\": The given resource is not valid." },
		{ "{\"messages\":[\"Rate limited\\nslow down\"],\"status\":\"maintenance\",\"data\":{}}",
		  "network-info: status \"maintenance\": Rate limited?slow down" },
		{ "{\"messages\":[[\"error\"]],\"status\":\"error\"}", "network-info: status \"error\": error" },
		{ "{\"messages\":[[1,2]],\"status\":\"error\"}", "network-info: status \"error\"" },
		{ "{\"messages\":\"x\",\"status\":\"error\"}", "network-info: status \"error\"" },
		{ "{\"messages\":[{}],\"status\":\"error\"}", "network-info: status \"error\"" },
	};
	struct rasn_ripe_netinfo ni;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		if (netinfo(bad[i].body, "8.8.8.8", &ni) != RASN_ESYNTAX)
			fail_msg("accepted: %s", bad[i].body);
		assert_true(all_zero(&ni, sizeof(ni)));
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
		else
			assert_true(strncmp(err, "network-info: ", 14) == 0 && strlen(err) > 14);
	}

	/* a NUL byte inside the body, and an escaped one inside a string */
	static const char nul[] = "{\"status\":\"ok\",\"data\":{\"asns\":[],\"prefix\":null}}\0";
	struct rasn_addr a = addr("8.8.8.8");
	assert_int_equal(rasn_ripe_parse_network_info(nul, sizeof(nul) - 2, &a, &ni, err, sizeof(err)), 0);
	assert_int_equal(rasn_ripe_parse_network_info(nul, sizeof(nul) - 1, &a, &ni, err, sizeof(err)), RASN_ESYNTAX);
	assert_int_equal(netinfo("{\"status\":\"ok\",\"data\":{\"asns\":[\"1\\u0000\"],\"prefix\":\"8.8.8.0/24\"}}",
				 "8.8.8.8", &ni), RASN_ESYNTAX);
	/* the length is the bound, not a NUL: a valid body cut short is truncated JSON */
	assert_int_equal(rasn_ripe_parse_network_info(nul, sizeof(nul) - 4, &a, &ni, err, sizeof(err)), RASN_ESYNTAX);
	assert_int_equal(rasn_ripe_parse_network_info(NULL, 0, &a, &ni, err, sizeof(err)), RASN_ESYNTAX);

	/* err may be NULL, or too short for the whole reason */
	assert_int_equal(rasn_ripe_parse_network_info("x", 1, &a, &ni, NULL, 0), RASN_ESYNTAX);
	assert_int_equal(rasn_ripe_parse_network_info("x", 1, &a, &ni, err, 0), RASN_ESYNTAX);
	char small[8];
	assert_int_equal(rasn_ripe_parse_network_info("x", 1, &a, &ni, small, sizeof(small)), RASN_ESYNTAX);
	assert_string_equal(small, "network");

	/* a reason cut by errlen ends on a UTF-8 boundary */
	static const char st[] = "{\"status\":\"\u00e9\u00e9\",\"data\":{}}";
	char e24[24];
	assert_int_equal(rasn_ripe_parse_network_info(st, sizeof(st) - 1, &a, &ni, e24, sizeof(e24)), RASN_ESYNTAX);
	assert_string_equal(e24, "network-info: status \"");
	assert_int_equal(rasn_ripe_parse_network_info(st, sizeof(st) - 1, &a, &ni, e24, 23), RASN_ESYNTAX);
	assert_string_equal(e24, "network-info: status \"");
	char e25[25];
	assert_int_equal(rasn_ripe_parse_network_info(st, sizeof(st) - 1, &a, &ni, e25, sizeof(e25)), RASN_ESYNTAX);
	assert_string_equal(e25, "network-info: status \"\xc3\xa9");

	/* bytes of a broken body quoted by jansson stay valid UTF-8 in err; so do C1 controls in a
	 * server message */
	assert_int_equal(netinfo("{\"status\":\"ok\",\"data\":\xff\xfe}", "8.8.8.8", &ni), RASN_ESYNTAX);
	assert_null(strchr(err, '\xff'));
	assert_int_equal(netinfo("{\"messages\":[\"a\\u0085b\\u00e9\"],\"status\":\"error\"}", "8.8.8.8", &ni), RASN_ESYNTAX);
	assert_string_equal(err, "network-info: status \"error\": a?b\xc3\xa9");

	/* a long server message is quoted in part, cut on a UTF-8 boundary */
	char body[1024], big[128];
	memset(big, 'm', 119);
	memcpy(big + 119, "\xc3\xa9", 2);
	big[121] = '\0';
	snprintf(body, sizeof(body), "{\"messages\":[[\"error\",\"%s tail\"]],\"status\":\"error\"}", big);
	assert_int_equal(netinfo(body, "8.8.8.8", &ni), RASN_ESYNTAX);
	big[119] = '\0';
	char want[300];
	snprintf(want, sizeof(want), "network-info: status \"error\": %s", big);
	assert_string_equal(err, want);
}

static void test_envelope_limits(void **state)
{
	struct rasn_ripe_netinfo ni;
	struct rasn_addr a = addr("8.8.8.8");

	/* deep nesting: refused by jansson's depth limit, not by the stack */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 64);
	if (!deep) {
		fail_msg("out of memory");
		return;
	}
	size_t n = (size_t)sprintf(deep, "{\"status\":\"ok\",\"data\":{\"asns\":[],\"x\":");
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	n += 2 * depth;
	memcpy(deep + n, "}}", 2);
	n += 2;
	assert_int_equal(rasn_ripe_parse_network_info(deep, n, &a, &ni, err, sizeof(err)), RASN_ESYNTAX);
	/* moderate nesting in an ignored field is fine */
	n = (size_t)sprintf(deep, "{\"status\":\"ok\",\"data\":{\"asns\":[],\"x\":");
	memset(deep + n, '[', 100);
	memset(deep + n + 100, ']', 100);
	n += 200;
	memcpy(deep + n, "}}", 2);
	n += 2;
	assert_int_equal(rasn_ripe_parse_network_info(deep, n, &a, &ni, err, sizeof(err)), 0);
	free(deep);

	/* over the size bound: refused before parsing */
	size_t huge = ((size_t)16 << 20) + 1;
	char *h = malloc(huge);
	if (!h) {
		fail_msg("out of memory");
		return;
	}
	memset(h, ' ', huge);
	static const char b[] = "{\"status\":\"ok\",\"data\":{\"asns\":[],\"prefix\":null}}";
	memcpy(h, b, sizeof(b) - 1);
	assert_int_equal(rasn_ripe_parse_network_info(h, huge, &a, &ni, err, sizeof(err)), RASN_ESYNTAX);
	assert_non_null(strstr(err, "limit"));
	assert_int_equal(rasn_ripe_parse_network_info(h, huge - 1, &a, &ni, err, sizeof(err)), 0);
	free(h);
}

/* ---- as-overview ---- */

static int as_overview(const char *body, uint32_t asn, struct rasn_ripe_as *as)
{
	err[0] = '\0';
	return rasn_ripe_parse_as_overview(body, strlen(body), asn, as, err, sizeof(err));
}

static void test_as_basic(void **state)
{
	struct rasn_ripe_as as;
	assert_int_equal(as_overview(OK("{\"type\":\"as\",\"resource\":\"15169\",\"block\":{\"resource\":\"15169\","
					"\"desc\":\"Assigned by ARIN\",\"name\":\"IANA 16-bit Autonomous System (AS) "
					"Numbers Registry\"},\"holder\":\"GOOGLE - Google LLC\",\"announced\":true,"
					"\"query_starttime\":\"2024-01-01T00:00:00\",\"query_endtime\":"
					"\"2024-01-01T00:00:00\"}"), 15169, &as), 0);
	assert_int_equal(as.asn, 15169);
	assert_int_equal(as.found, 1);
	assert_int_equal(as.announced, 1);
	assert_string_equal(as.holder, "GOOGLE - Google LLC");

	assert_int_equal(as_overview(OK("{\"resource\":\"AS3333\",\"holder\":\"RIPE-NCC-AS Reseaux IP Europeens "
					"Network Coordination Centre (RIPE NCC)\",\"announced\":false}"), 3333, &as), 0);
	assert_int_equal(as.announced, 0);
	assert_int_equal(as.found, 1);
	assert_int_equal(as_overview(OK("{\"resource\":4200000000,\"holder\":null,\"announced\":false}"), 4200000000u,
				     &as), 0);
	assert_int_equal(as.found, 0);
	assert_string_equal(as.holder, "");
	assert_int_equal(as.asn, 4200000000u);
	assert_int_equal(as_overview(OK("{\"resource\":\"as0\",\"holder\":\"\\u00c9t\\u00e9 \\\"x\\\"\"}"), 0, &as), 0);
	assert_int_equal(as.announced, 0); /* absent */
	assert_string_equal(as.holder, "\xc3\x89t\xc3\xa9 \"x\"");
}

static void test_as_names(void **state)
{
	struct rasn_ripe_as as;
	char body[2048], name[600];

	/* 255 bytes fit; 256 are cut to 255 */
	memset(name, 'x', 256);
	name[255] = '\0';
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), 0);
	assert_int_equal(strlen(as.holder), 255);
	name[255] = 'y';
	name[256] = '\0';
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), 0);
	assert_int_equal(strlen(as.holder), 255);
	assert_int_equal(as.holder[254], 'x');

	/* a two-byte character across the cut goes whole */
	memset(name, 'x', 254);
	strcpy(name + 254, "\xc3\xa9zz");
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), 0);
	assert_int_equal(strlen(as.holder), 254);
	/* ending exactly at the cut it stays */
	memset(name, 'x', 253);
	strcpy(name + 253, "\xc3\xa9zz");
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), 0);
	assert_int_equal(strlen(as.holder), 255);
	assert_memory_equal(as.holder + 253, "\xc3\xa9", 2);
	/* three- and four-byte ones */
	for (size_t off = 251; off <= 255; off++) {
		memset(name, 'x', off);
		strcpy(name + off, "\xf0\x9f\x98\x80\xe2\x82\xac");
		snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
		assert_int_equal(as_overview(body, 1, &as), 0);
		/* from 251 the emoji ends at the cut and the euro sign starts after it */
		assert_int_equal(strlen(as.holder), off == 251 ? 255 : off);
	}
	memset(name, 'x', 250);
	strcpy(name + 250, "\xf0\x9f\x98\x80\xe2\x82\xac");
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), 0);
	assert_int_equal(strlen(as.holder), 254); /* the emoji fits, the euro sign does not */

	/* control characters anywhere, even past the cut, are refused */
	static const char *ctl[] = { "a\\tb", "a\\nb", "\\u0001", "x\\u007f", "x\\u0085y", "\\u009f" };
	for (size_t i = 0; i < RASN_ARRAY_LEN(ctl); i++) {
		snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), ctl[i]);
		memset(&as, 0xa5, sizeof(as));
		if (as_overview(body, 1, &as) != RASN_ESYNTAX)
			fail_msg("accepted: %s", ctl[i]);
		assert_true(all_zero(&as, sizeof(as)));
		assert_string_equal(err, "as-overview: data.holder has a control character");
	}
	memset(name, 'x', 400);
	strcpy(name + 400, "\\u0007");
	snprintf(body, sizeof(body), OK("{\"resource\":\"1\",\"holder\":\"%s\"}"), name);
	assert_int_equal(as_overview(body, 1, &as), RASN_ESYNTAX);
	/* U+00A0 and U+0100 are not controls */
	assert_int_equal(as_overview(OK("{\"resource\":\"1\",\"holder\":\"\\u00a0\\u0100\"}"), 1, &as), 0);
}

static void test_as_rejects(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ OK("{\"holder\":\"X\",\"announced\":true}"), "as-overview: no data.resource" },
		{ OK("{\"resource\":\"15170\",\"holder\":\"X\"}"), "as-overview: data.resource is AS15170, not the AS15169 asked about" },
		{ OK("{\"resource\":15170,\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":\"8.8.8.0/24\",\"holder\":\"X\"}"), "as-overview: data.resource is not an AS number" },
		{ OK("{\"resource\":\"AS 15169\",\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":\"ASN15169\",\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":\"AS\",\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":\"AS4294982465\",\"holder\":\"X\"}"), NULL }, /* 15169 + 2^32 */
		{ OK("{\"resource\":4294982465,\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":15169.0,\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":[\"15169\"],\"holder\":\"X\"}"), NULL },
		{ OK("{\"resource\":\"15169\"}"), "as-overview: no data.holder" },
		{ OK("{\"resource\":\"15169\",\"holder\":1}"), "as-overview: data.holder is not a string" },
		{ OK("{\"resource\":\"15169\",\"holder\":{}}"), NULL },
		{ OK("{\"resource\":\"15169\",\"holder\":\"X\",\"announced\":\"true\"}"),
		  "as-overview: data.announced is not a boolean" },
		{ OK("{\"resource\":\"15169\",\"holder\":\"X\",\"announced\":1}"), NULL },
		{ OK("{\"resource\":\"15169\",\"holder\":\"X\",\"announced\":null}"), NULL },
		{ OK("\"x\""), "as-overview: data is not an object" },
		{ ENVELOPE("error", "{\"resource\":\"15169\",\"holder\":\"X\"}"), "as-overview: status \"error\"" },
	};
	struct rasn_ripe_as as;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		memset(&as, 0xa5, sizeof(as));
		if (as_overview(bad[i].body, 15169, &as) != RASN_ESYNTAX)
			fail_msg("accepted: %s", bad[i].body);
		assert_true(all_zero(&as, sizeof(as)));
		assert_true(strncmp(err, "as-overview: ", 13) == 0);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
	}
}

/* ---- announced-prefixes ---- */

#define PFX(p) "{\"prefix\":\"" p "\",\"timelines\":[{\"starttime\":\"2024-01-01T00:00:00\",\"endtime\":\"2024-01-15T00:00:00\"}]}"
static const char prefixes_body[] = OK("{\"prefixes\":[" PFX("8.8.8.0/24") "," PFX("8.8.4.0/24") "," PFX("2001:4860::/32")
				       "," PFX("34.0.0.0/15") "],\"query_starttime\":\"2024-01-01T00:00:00\","
				       "\"query_endtime\":\"2024-01-15T00:00:00\",\"resource\":\"15169\","
				       "\"latest_time\":\"2024-01-15T00:00:00\",\"earliest_time\":\"2000-08-18T08:00:00\"}");

static int prefixes(const char *body, uint32_t asn, struct rasn_prefix *out, size_t cap, size_t *total)
{
	err[0] = '\0';
	return rasn_ripe_parse_announced_prefixes(body, strlen(body), asn, out, cap, total, err, sizeof(err));
}

static void test_prefixes_basic(void **state)
{
	struct rasn_prefix p[8];
	size_t total = 99;

	assert_int_equal(prefixes(prefixes_body, 15169, p, RASN_ARRAY_LEN(p), &total), 4);
	assert_int_equal(total, 4);
	assert_prefix(&p[0], "8.8.8.0/24");
	assert_prefix(&p[1], "8.8.4.0/24");
	assert_prefix(&p[2], "2001:4860::/32");
	assert_prefix(&p[3], "34.0.0.0/15");

	/* counting first, then a short buffer */
	assert_int_equal(prefixes(prefixes_body, 15169, NULL, 0, &total), 0);
	assert_int_equal(total, 4);
	memset(p, 0xa5, sizeof(p));
	assert_int_equal(prefixes(prefixes_body, 15169, p, 2, &total), 2);
	assert_int_equal(total, 4);
	assert_prefix(&p[1], "8.8.4.0/24");
	assert_int_equal(p[2].len, 0xa5a5a5a5u); /* untouched past cap */

	/* no resource: not checked; an empty list; "AS" in the resource; a number */
	assert_int_equal(prefixes(OK("{\"prefixes\":[{\"prefix\":\"192.0.2.0/24\"}]}"), 64500, p, 8, &total), 1);
	assert_int_equal(prefixes(OK("{\"prefixes\":[],\"resource\":\"AS64500\"}"), 64500, p, 8, &total), 0);
	assert_int_equal(total, 0);
	assert_int_equal(prefixes(OK("{\"prefixes\":[],\"resource\":64500}"), 64500, p, 8, &total), 0);
}

static void test_prefixes_rejects(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ OK("{\"resource\":\"15169\"}"), "announced-prefixes: no data.prefixes" },
		{ OK("{\"prefixes\":{},\"resource\":\"15169\"}"), "announced-prefixes: data.prefixes is not an array" },
		{ OK("{\"prefixes\":[\"8.8.8.0/24\"]}"), "announced-prefixes: data.prefixes[0] is not an object" },
		{ OK("{\"prefixes\":[" PFX("8.8.8.0/24") ",{}]}"), "announced-prefixes: data.prefixes[1].prefix is not a prefix" },
		{ OK("{\"prefixes\":[{\"prefix\":null}]}"), NULL },
		{ OK("{\"prefixes\":[{\"prefix\":[\"8.8.8.0/24\"]}]}"), NULL },
		{ OK("{\"prefixes\":[" PFX("8.8.8.0/24") "," PFX("8.8.8.1/24") "]}"),
		  "announced-prefixes: data.prefixes[1].prefix is not a prefix" },
		{ OK("{\"prefixes\":[" PFX("2001:4860::1/32") "]}"), NULL },
		{ OK("{\"prefixes\":[" PFX("8.8.8.0") "]}"), NULL },
		{ OK("{\"prefixes\":[" PFX("8.8.8.0/24 ") "]}"), NULL },
		{ OK("{\"prefixes\":[" PFX("") "]}"), NULL },
		{ OK("{\"prefixes\":[],\"resource\":\"15170\"}"),
		  "announced-prefixes: data.resource is AS15170, not the AS15169 asked about" },
		{ OK("{\"prefixes\":[],\"resource\":null}"), "announced-prefixes: data.resource is not an AS number" },
		{ OK("{\"prefixes\":[],\"resource\":\"2001:4860::/32\"}"), NULL },
		{ "{\"status\":\"ok\",\"data\":{\"prefixes\":[{\"prefix\":\"8.8.8.0/24\",\"prefix\":\"8.8.4.0/24\"}]}}", NULL },
	};
	struct rasn_prefix p[4];
	size_t total;
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		memset(p, 0xa5, sizeof(p));
		total = 99;
		if (prefixes(bad[i].body, 15169, p, RASN_ARRAY_LEN(p), &total) != RASN_ESYNTAX)
			fail_msg("accepted: %s", bad[i].body);
		assert_int_equal(total, 0);
		assert_true(strncmp(err, "announced-prefixes: ", 20) == 0);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
		/* what was written before the bad entry is wiped */
		for (size_t k = 0; k < RASN_ARRAY_LEN(p); k++)
			assert_true(all_zero(&p[k], sizeof(p[k])) || p[k].len == 0xa5a5a5a5u);
	}
	/* counting only also checks everything */
	assert_int_equal(prefixes(bad[6].body, 15169, NULL, 0, &total), RASN_ESYNTAX);
}

/* ---- searchcomplete ---- */

static const char search_body[] = OK(
	"{\"categories\":[{\"category\":\"Prefixes\",\"suggestions\":[{\"label\":\"8.8.8.0/24\","
	"\"value\":\"8.8.8.0/24\",\"description\":\"GOOGLE\",\"link\":\"x\"}]},"
	"{\"category\":\"ASNs\",\"suggestions\":[{\"label\":\"AS15169 (GOOGLE - Google LLC)\",\"value\":\"AS15169\","
	"\"description\":\"GOOGLE - Google LLC\",\"link\":\"https://stat.ripe.net/AS15169\"},"
	"{\"label\":\"AS36040\",\"value\":\"AS36040\",\"description\":\"YOUTUBE - Google LLC\"},"
	"{\"value\":\"AS396982\"}]},"
	"{\"category\":\"Countries\",\"suggestions\":[{\"value\":42}]},{\"category\":\"Other\"}],"
	"\"query_term\":\"google\",\"limit\":6}");

static int search(const char *body, struct rasn_ripe_org_hit *h, size_t cap)
{
	err[0] = '\0';
	return rasn_ripe_parse_searchcomplete(body, strlen(body), h, cap, err, sizeof(err));
}

static void test_search_basic(void **state)
{
	struct rasn_ripe_org_hit h[8];

	assert_int_equal(search(search_body, h, RASN_ARRAY_LEN(h)), 3);
	assert_int_equal(h[0].asn, 15169);
	assert_string_equal(h[0].name, "GOOGLE - Google LLC");
	assert_int_equal(h[1].asn, 36040);
	assert_string_equal(h[1].name, "YOUTUBE - Google LLC");
	assert_int_equal(h[2].asn, 396982);
	assert_string_equal(h[2].name, "");

	memset(h, 0xa5, sizeof(h));
	assert_int_equal(search(search_body, h, 1), 1);
	assert_int_equal(h[0].asn, 15169);
	assert_int_equal(h[1].asn, 0xa5a5a5a5u);
	assert_int_equal(search(search_body, NULL, 0), 0);
	assert_int_equal(search(search_body, h, 0), 0);

	/* no ASNs category; the name in another case; description null; a long description */
	assert_int_equal(search(OK("{\"categories\":[]}"), h, 8), 0);
	assert_int_equal(search(OK("{\"categories\":[{\"category\":\"Prefixes\",\"suggestions\":7}]}"), h, 8), 0);
	assert_int_equal(search(OK("{\"categories\":[{\"category\":\"asns\",\"suggestions\":[{\"value\":\"as1\","
				   "\"description\":null}]}]}"), h, 8), 1);
	assert_int_equal(h[0].asn, 1);
	assert_string_equal(h[0].name, "");
	char body[1024], name[300];
	memset(name, 'n', 299);
	name[299] = '\0';
	snprintf(body, sizeof(body), OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS4294967295\","
					"\"description\":\"%s\"}]}]}"), name);
	assert_int_equal(search(body, h, 8), 1);
	assert_int_equal(h[0].asn, 4294967295u);
	assert_int_equal(strlen(h[0].name), RASN_RIPE_NAME_MAX - 1);
}

static void test_search_rejects(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ OK("{\"query_term\":\"x\"}"), "searchcomplete: no data.categories" },
		{ OK("{\"categories\":{}}"), "searchcomplete: data.categories is not an array" },
		{ OK("{\"categories\":[\"ASNs\"]}"), "searchcomplete: data.categories[0] is not an object" },
		{ OK("{\"categories\":[{\"suggestions\":[]}]}"), "searchcomplete: data.categories[0].category is not a string" },
		{ OK("{\"categories\":[{\"category\":\"ASNs\"}]}"), "searchcomplete: data.categories[0].suggestions is not an array" },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[]},{\"category\":\"asns\",\"suggestions\":[]}]}"),
		  "searchcomplete: data.categories[1] is a second ASNs category" },
		{ OK("{\"categories\":[{\"category\":\"X\",\"suggestions\":[]},{\"category\":\"ASNs\",\"suggestions\":[1]}]}"),
		  "searchcomplete: data.categories[1].suggestions[0] is not an object" },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\"},{\"value\":\"15169\"}]}]}"),
		  "searchcomplete: data.categories[0].suggestions[1].value is not AS<number>" },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":15169}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS-GOOGLE\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS4294967296\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS01\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\",\"description\":5}]}]}"),
		  "searchcomplete: data.categories[0].suggestions[0].description is not a string" },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\",\"description\":\"a\\rb\"}]}]}"),
		  "searchcomplete: data.categories[0].suggestions[0].description has a control character" },
		/* past cap still checked */
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\"},{\"value\":\"AS2\"},"
		     "{\"value\":\"AS3\"},{\"value\":\"AS4\",\"description\":\"\\u0000\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\"},{\"value\":\"AS2\"},"
		     "{\"value\":\"AS3\"},{\"value\":\"AS4\",\"description\":\"\\u001b[31m\"}]}]}"), NULL },
		{ OK("{\"categories\":[{\"category\":\"ASNs\",\"suggestions\":[{\"value\":\"AS1\"},{\"value\":\"AS2\"},"
		     "{\"value\":\"AS3\"},{\"value\":\"x\"}]}]}"), NULL },
	};
	struct rasn_ripe_org_hit h[2];
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		memset(h, 0xa5, sizeof(h));
		if (search(bad[i].body, h, RASN_ARRAY_LEN(h)) != RASN_ESYNTAX)
			fail_msg("accepted: %s", bad[i].body);
		assert_true(strncmp(err, "searchcomplete: ", 16) == 0);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
		for (size_t k = 0; k < RASN_ARRAY_LEN(h); k++)
			assert_true(all_zero(&h[k], sizeof(h[k])) || h[k].asn == 0xa5a5a5a5u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_basic),
		cmocka_unit_test(test_url_encoding),
		cmocka_unit_test(test_url_overflow),
		cmocka_unit_test(test_netinfo_basic),
		cmocka_unit_test(test_netinfo_not_announced),
		cmocka_unit_test(test_netinfo_rejects),
		cmocka_unit_test(test_envelope_rejects),
		cmocka_unit_test(test_envelope_limits),
		cmocka_unit_test(test_as_basic),
		cmocka_unit_test(test_as_names),
		cmocka_unit_test(test_as_rejects),
		cmocka_unit_test(test_prefixes_basic),
		cmocka_unit_test(test_prefixes_rejects),
		cmocka_unit_test(test_search_basic),
		cmocka_unit_test(test_search_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
