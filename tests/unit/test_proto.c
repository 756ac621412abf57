/* Unit tests for lib/proto.c (every request form of docs/protocol.md and every error) and
 * lib/errors.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static const char E_GENERIC[] = "not an address, AS number, domain or command";

/* Parses a literal (sizeof, so embedded NULs count) and checks the pointers stay inside it. */
#define PARSE(lit, req) parse_n((lit), sizeof(lit) - 1, (req))

static int parse_n(const char *line, size_t len, struct rasn_request *req)
{
	memset(req, 0xa5, sizeof(*req)); /* parse must fill every field */
	int rc = rasn_proto_parse(line, len, req);
	if (req->arg) {
		assert_true(req->arg >= line && req->arg + req->arg_len <= line + len);
	} else {
		assert_int_equal(req->arg_len, 0);
	}
	if (req->source) {
		assert_true(req->source >= line && req->source + req->source_len <= line + len);
		assert_int_equal(req->source[-1], '@');
	} else {
		assert_int_equal(req->source_len, 0);
	}
	if (rc == 0) {
		assert_int_not_equal(req->type, RASN_Q_INVALID);
		assert_null(req->error);
	} else {
		assert_int_equal(rc, RASN_ESYNTAX);
		assert_int_equal(req->type, RASN_Q_INVALID);
		assert_non_null(req->error);
	}
	return rc;
}

#define assert_arg(req, lit) \
	do { \
		assert_non_null((req)->arg); \
		assert_int_equal((req)->arg_len, sizeof(lit) - 1); \
		assert_memory_equal((req)->arg, (lit), sizeof(lit) - 1); \
	} while (0)

#define assert_source(req, lit) \
	do { \
		assert_non_null((req)->source); \
		assert_int_equal((req)->source_len, sizeof(lit) - 1); \
		assert_memory_equal((req)->source, (lit), sizeof(lit) - 1); \
	} while (0)

#define assert_error(lit, msg) \
	do { \
		struct rasn_request r_; \
		assert_int_equal(PARSE(lit, &r_), RASN_ESYNTAX); \
		assert_string_equal(r_.error, (msg)); \
	} while (0)

static void test_ip(void **state)
{
	struct rasn_request r;

	assert_int_equal(PARSE("8.8.8.8", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_int_equal(r.addr.family, RASN_AF4);
	assert_true(r.addr.v == 0x08080808u);
	assert_null(r.arg);
	assert_null(r.source);

	assert_int_equal(PARSE(" \t 1.2.3.4 \t ", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_true(r.addr.v == 0x01020304u);

	assert_int_equal(PARSE("2001:4860::8888", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_int_equal(r.addr.family, RASN_AF6);
	assert_true(r.addr.v == ((rasn_u128)0x20014860u << 96 | 0x8888));

	assert_int_equal(PARSE("::ffff:8.8.4.4", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_int_equal(r.addr.family, RASN_AF4);
	assert_true(r.addr.v == 0x08080404u);

	assert_int_equal(PARSE("::", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_int_equal(r.addr.family, RASN_AF6);
	assert_true(r.addr.v == 0);

	assert_int_equal(PARSE("ip 9.9.9.9", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_true(r.addr.v == 0x09090909u);

	assert_int_equal(PARSE("IP\t \t::1", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_int_equal(r.addr.family, RASN_AF6);
	assert_true(r.addr.v == 1);

	assert_int_equal(PARSE("Ip ::FFFF:1.2.3.4", &r), 0);
	assert_int_equal(r.addr.family, RASN_AF4);
	assert_true(r.addr.v == 0x01020304u);
}

static void test_as(void **state)
{
	static const struct {
		const char *line;
		uint32_t asn;
	} ok[] = {
		{ "AS15169", 15169 },
		{ "as15169", 15169 },
		{ "As15169", 15169 },
		{ "aS1", 1 },
		{ "AS0", 0 },
		{ "AS4294967295", 4294967295u },
		{ "as 15169", 15169 },
		{ "AS 64512", 64512 },
		{ "as\t\t0", 0 },
		{ "  as   13335  ", 13335 },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		struct rasn_request r;
		assert_int_equal(parse_n(ok[i].line, strlen(ok[i].line), &r), 0);
		assert_int_equal(r.type, RASN_Q_AS);
		assert_int_equal(r.asn, ok[i].asn);
		assert_null(r.arg);
	}
}

static void test_prefixes(void **state)
{
	static const struct {
		const char *line;
		uint32_t asn;
	} ok[] = {
		{ "prefixes AS15169", 15169 },
		{ "prefixes as15169", 15169 },
		{ "prefixes 15169", 15169 },
		{ "PREFIXES AS4294967295", 4294967295u },
		{ "Prefixes\t0", 0 },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		struct rasn_request r;
		assert_int_equal(parse_n(ok[i].line, strlen(ok[i].line), &r), 0);
		assert_int_equal(r.type, RASN_Q_PREFIXES);
		assert_int_equal(r.asn, ok[i].asn);
	}
}

static void test_domain(void **state)
{
	struct rasn_request r;

	assert_int_equal(PARSE("example.com", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "example.com");

	assert_int_equal(PARSE("  Example.COM.  ", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "Example.COM");

	assert_int_equal(PARSE("domain example.org", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "example.org");

	assert_int_equal(PARSE("DOMAIN a-b.c_d.example.", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "a-b.c_d.example");

	assert_int_equal(PARSE("1.2.3.com", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "1.2.3.com");

	/* host names that start like an AS number or a keyword are host names */
	assert_int_equal(PARSE("as1.example", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "as1.example");
	assert_int_equal(PARSE("AS15169.net", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "AS15169.net");

	assert_int_equal(PARSE("ping.example", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "ping.example");

	assert_int_equal(PARSE("domain localhost.", &r), RASN_ESYNTAX);
	assert_string_equal(r.error, "bad domain name");
}

static void test_org(void **state)
{
	struct rasn_request r;

	assert_int_equal(PARSE("org google", &r), 0);
	assert_int_equal(r.type, RASN_Q_ORG);
	assert_arg(&r, "google");
	assert_null(r.source);

	assert_int_equal(PARSE("ORG   Google LLC \t ", &r), 0);
	assert_arg(&r, "Google LLC");

	assert_int_equal(PARSE("org a\tb  c", &r), 0);
	assert_arg(&r, "a\tb  c");

	/* '@' inside the text is text */
	assert_int_equal(PARSE("org mail@example", &r), 0);
	assert_arg(&r, "mail@example");
	assert_null(r.source);

	assert_int_equal(PARSE("org foo @table bar", &r), 0);
	assert_arg(&r, "foo @table bar");
	assert_null(r.source);

	/* only a last whole token counts as the source */
	assert_int_equal(PARSE("org foo bar @table", &r), 0);
	assert_arg(&r, "foo bar");
	assert_source(&r, "table");

	assert_int_equal(PARSE("org @x @y", &r), 0);
	assert_arg(&r, "@x");
	assert_source(&r, "y");

	assert_int_equal(PARSE("org 8.8.8.8", &r), 0);
	assert_arg(&r, "8.8.8.8");

	/* 256 bytes of text after trimming is the limit */
	char line[300];
	memcpy(line, "org  ", 5);
	memset(line + 5, 'x', 256);
	memcpy(line + 261, "  ", 2);
	assert_int_equal(parse_n(line, 263, &r), 0);
	assert_int_equal(r.type, RASN_Q_ORG);
	assert_int_equal(r.arg_len, 256);
	assert_ptr_equal(r.arg, line + 5);
	line[261] = 'x';
	assert_int_equal(parse_n(line, 263, &r), RASN_ESYNTAX);
	assert_string_equal(r.error, "org search text too long");
}

static void test_commands(void **state)
{
	static const struct {
		const char *line;
		enum rasn_qtype type;
	} ok[] = {
		{ "ping", RASN_Q_PING },     { "PING", RASN_Q_PING },       { " Ping ", RASN_Q_PING },
		{ "stats", RASN_Q_STATS },   { "STATS", RASN_Q_STATS },     { "help", RASN_Q_HELP },
		{ "HeLp", RASN_Q_HELP },     { "reload", RASN_Q_RELOAD },   { "RELOAD", RASN_Q_RELOAD },
		{ "begin", RASN_Q_BEGIN },   { "BEGIN", RASN_Q_BEGIN },     { "end", RASN_Q_END },
		{ "\tEnd\t", RASN_Q_END },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		struct rasn_request r;
		assert_int_equal(parse_n(ok[i].line, strlen(ok[i].line), &r), 0);
		assert_int_equal(r.type, ok[i].type);
		assert_null(r.arg);
		assert_null(r.source);
	}

	struct rasn_request r;
	assert_int_equal(PARSE("stats prometheus", &r), 0);
	assert_int_equal(r.type, RASN_Q_STATS);
	assert_arg(&r, "prometheus");
	assert_int_equal(PARSE("STATS  json ", &r), 0);
	assert_arg(&r, "json");
}

static void test_source(void **state)
{
	struct rasn_request r;

	assert_int_equal(PARSE("8.8.8.8 @table", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_true(r.addr.v == 0x08080808u);
	assert_source(&r, "table");

	assert_int_equal(PARSE("  ::1\t@ripestat  ", &r), 0);
	assert_int_equal(r.type, RASN_Q_IP);
	assert_source(&r, "ripestat");

	assert_int_equal(PARSE("AS15169 @cymru", &r), 0);
	assert_int_equal(r.type, RASN_Q_AS);
	assert_int_equal(r.asn, 15169);
	assert_source(&r, "cymru");

	assert_int_equal(PARSE("as 15169 @cymru", &r), 0);
	assert_int_equal(r.type, RASN_Q_AS);
	assert_source(&r, "cymru");

	assert_int_equal(PARSE("prefixes AS1 @Table_2-b", &r), 0);
	assert_int_equal(r.type, RASN_Q_PREFIXES);
	assert_source(&r, "Table_2-b");

	assert_int_equal(PARSE("example.com. @dns", &r), 0);
	assert_int_equal(r.type, RASN_Q_DOMAIN);
	assert_arg(&r, "example.com");
	assert_source(&r, "dns");

	assert_int_equal(PARSE("ping @x", &r), 0);
	assert_int_equal(r.type, RASN_Q_PING);
	assert_source(&r, "x");

	/* 32 characters is the longest name */
	assert_int_equal(PARSE("1.1.1.1 @abcdefghijklmnopqrstuvwxyz012345", &r), 0);
	assert_source(&r, "abcdefghijklmnopqrstuvwxyz012345");
	assert_error("1.1.1.1 @abcdefghijklmnopqrstuvwxyz0123456", "bad source name");

	assert_error("1.1.1.1 @", "bad source name");
	assert_error("1.1.1.1 @a.b", "bad source name");
	assert_error("1.1.1.1 @a@b", "bad source name");
	assert_error("1.1.1.1 @\xc3\xa9", "bad source name");
	assert_error("org x @", "bad source name");
	/* no blank before '@': not a source, and not an address either */
	assert_error("1.1.1.1@table", E_GENERIC);
	assert_error("@table", "empty request");
	assert_error("  @table  ", "empty request");
	assert_error("1.1.1.1 @a @b", E_GENERIC);

	/* the source is kept on a later error */
	assert_int_equal(PARSE("1.2.3 @table", &r), RASN_ESYNTAX);
	assert_string_equal(r.error, E_GENERIC);
	assert_source(&r, "table");
}

static void test_errors(void **state)
{
	assert_error("", "empty request");
	struct rasn_request r;
	assert_int_equal(rasn_proto_parse(NULL, 0, &r), RASN_ESYNTAX);
	assert_string_equal(r.error, "empty request");
	assert_error(" ", "empty request");
	assert_error(" \t \t", "empty request");

	/* bare tokens that are nothing */
	assert_error("1.2.3", E_GENERIC);
	assert_error("256.1.1.1", E_GENERIC);
	assert_error("01.2.3.4", E_GENERIC);
	assert_error("1.2.3.4.5", E_GENERIC);
	assert_error(":::", E_GENERIC);
	assert_error("1::2::3", E_GENERIC);
	assert_error("fe80::1%eth0", E_GENERIC);
	assert_error("[::1]", E_GENERIC);
	assert_error("foo", E_GENERIC);
	assert_error("15169", E_GENERIC);
	assert_error("localhost", E_GENERIC);
	assert_error("foo bar", E_GENERIC);
	assert_error("8.8.8.8 8.8.4.4", E_GENERIC);
	assert_error("exa mple.com", E_GENERIC);
	assert_error("-bad.example", E_GENERIC);
	assert_error("AS", "bad AS number");
	assert_error("ASN15169", E_GENERIC);
	assert_error("pingx", E_GENERIC);
	assert_error("\xc3\xa9", E_GENERIC);

	/* ip */
	assert_error("ip", "bad address");
	assert_error("ip 1.2.3", "bad address");
	assert_error("ip example.com", "bad address");
	assert_error("ip 1.2.3.4 5", "bad address");
	assert_error("ip ::1::", "bad address");

	/* AS numbers */
	assert_error("AS4294967296", "bad AS number");
	assert_error("AS99999999999", "bad AS number");
	assert_error("AS015169", "bad AS number");
	assert_error("AS00", "bad AS number");
	assert_error("as 4294967296", "bad AS number");
	assert_error("as 015169", "bad AS number");
	assert_error("as -1", "bad AS number");
	assert_error("as +1", "bad AS number");
	assert_error("as AS15169", "bad AS number");
	assert_error("as 15169 1", "bad AS number");
	assert_error("as 1x", "bad AS number");
	assert_error("AS1x", "bad AS number");
	assert_error("AS-1", E_GENERIC);
	assert_error("prefixes", "bad AS number");
	assert_error("prefixes ASX", "bad AS number");
	assert_error("prefixes AS", "bad AS number");
	assert_error("prefixes AS 15169", "bad AS number");
	assert_error("prefixes 4294967296", "bad AS number");

	/* domain */
	assert_error("domain", "bad domain name");
	assert_error("domain 1.2.3", "bad domain name");
	assert_error("domain 1.2.3.4", "bad domain name");
	assert_error("domain -a.com", "bad domain name");
	assert_error("domain a..com", "bad domain name");
	assert_error("domain a.com b.com", "bad domain name");

	/* org */
	assert_error("org", "org needs a search text");
	assert_error("ORG  \t ", "org needs a search text");
	assert_error("org @table", "org needs a search text");

	/* commands take no argument, stats one word */
	assert_error("ping now", "unexpected argument");
	assert_error("help me", "unexpected argument");
	assert_error("reload all", "unexpected argument");
	assert_error("begin x", "unexpected argument");
	assert_error("end x", "unexpected argument");
	assert_error("stats a b", "bad stats format");
	assert_error("stats a.b", "bad stats format");
	assert_error("stats abcdefghijklmnopqrstuvwxyz0123456", "bad stats format");
}

static void test_control_bytes(void **state)
{
	assert_error("\0", "line holds a NUL byte");
	assert_error("8.8.8.8\0", "line holds a NUL byte");
	assert_error("8.8\0.8.8", "line holds a NUL byte");
	assert_error("org a\0b", "line holds a NUL byte");
	/* NUL wins over other controls wherever it is */
	assert_error("\x01\0", "line holds a NUL byte");
	assert_error("\x01 x \0", "line holds a NUL byte");

	assert_error("8.8.8.8\r", "line holds control bytes");
	assert_error("\x01", "line holds control bytes");
	assert_error("org a\x1b[31mb", "line holds control bytes");
	assert_error("org a\nb", "line holds control bytes");
	assert_error("ping\x7f", "line holds control bytes");
	assert_error("\x1f ping", "line holds control bytes");
	assert_error("org a\x0b", "line holds control bytes");

	/* tab is a blank, and bytes >= 0x80 are not controls */
	struct rasn_request r;
	assert_int_equal(PARSE("\tping\t", &r), 0);
	assert_int_equal(PARSE("org caf\xc3\xa9 \xff", &r), 0);
	assert_arg(&r, "caf\xc3\xa9 \xff");
}

static void test_line_length(void **state)
{
	char line[RASN_LINE_MAX + 2];
	struct rasn_request r;

	/* exactly the limit, padded with blanks: fine */
	memset(line, ' ', sizeof(line));
	memcpy(line, "ping", 4);
	assert_int_equal(parse_n(line, RASN_LINE_MAX, &r), 0);
	assert_int_equal(r.type, RASN_Q_PING);
	assert_int_equal(parse_n(line, RASN_LINE_MAX + 1, &r), RASN_ESYNTAX);
	assert_string_equal(r.error, "line too long");
	/* only len bytes are read */
	assert_int_equal(parse_n("pingpong", 4, &r), 0);
	assert_int_equal(r.type, RASN_Q_PING);
}

static void test_asn_parse(void **state)
{
	static const struct {
		const char *s;
		uint32_t asn;
	} ok[] = {
		{ "AS15169", 15169 }, { "as15169", 15169 }, { "aS15169", 15169 },
		{ "15169", 15169 },   { "0", 0 },           { "AS0", 0 },
		{ "4294967295", 4294967295u }, { "AS4294967295", 4294967295u },
		{ "1000000000", 1000000000u },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++) {
		uint32_t a = 7;
		if (rasn_asn_parse(ok[i].s, strlen(ok[i].s), &a) != 0)
			fail_msg("rejected \"%s\"", ok[i].s);
		assert_int_equal(a, ok[i].asn);
	}
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(x) { (x), sizeof(x) - 1 }
		B(""), B("AS"), B("as"), B("4294967296"), B("AS4294967296"), B("99999999999"),
		B("18446744073709551617"), B("00"), B("01"), B("AS01"), B("-1"), B("+1"), B("AS 1"),
		B(" 1"), B("1 "), B("1a"), B("0x10"), B("ASAS1"), B("A1"), B("S1"), B("1\0"),
		B("AS-1"), B("1.0"), B("AS\xd9\xa1"),
#undef B
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++) {
		uint32_t a = 7;
		if (rasn_asn_parse(bad[i].s, bad[i].len, &a) != RASN_ESYNTAX)
			fail_msg("accepted #%zu \"%.*s\"", i, (int)bad[i].len, bad[i].s);
		assert_int_equal(a, 7);
	}
}

static void test_domain_valid(void **state)
{
	char label63[64], label64[65], long253[254], long254[255];

	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	/* 4 labels of 63 + 3 dots = 255; cut to 253 and 254 with a valid ending */
	for (int i = 0; i < 254; i++)
		long254[i] = (i % 64 == 63) ? '.' : 'b';
	long254[254] = '\0';
	memcpy(long253, long254, 253);
	long253[253] = '\0';
	assert_true(long253[252] != '.');

	static const char *const ok[] = {
		"example.com", "a.b", "example.com.", "a-b.c_d.example", "xn--bcher-kva.example",
		"1.2.3.com", "a.1com", "_dmarc.example.com", "EXAMPLE.COM", "a.b-c", "0.a",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(ok); i++)
		if (!rasn_domain_valid(ok[i], strlen(ok[i])))
			fail_msg("rejected \"%s\"", ok[i]);

	char buf[200];
	snprintf(buf, sizeof(buf), "%s.example", label63);
	assert_true(rasn_domain_valid(buf, strlen(buf)));
	snprintf(buf, sizeof(buf), "%s.example", label64);
	assert_false(rasn_domain_valid(buf, strlen(buf)));
	snprintf(buf, sizeof(buf), "example.%s", label64);
	assert_false(rasn_domain_valid(buf, strlen(buf)));
	assert_true(rasn_domain_valid(long253, 253));
	assert_false(rasn_domain_valid(long254, 254));
	/* 253 plus a trailing dot is still 253 */
	char dotted[255];
	memcpy(dotted, long253, 253);
	dotted[253] = '.';
	assert_true(rasn_domain_valid(dotted, 254));

	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(x) { (x), sizeof(x) - 1 }
		B(""), B("."), B(".."), B("com"), B("com."), B("example..com"), B(".example.com"),
		B("example.com.."), B("-a.com"), B("a-.com"), B("a.com-"), B("a.-com"), B("1.2.3"),
		B("1.2.3.4"), B("a.123"), B("a.123."), B("exa mple.com"), B("a@b.com"), B("a/b.com"),
		B("example.com/"), B("a\0.com"), B("a.com\0"), B("caf\xc3\xa9.com"), B("a:b.com"),
		B("*.example.com"),
#undef B
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++)
		if (rasn_domain_valid(bad[i].s, bad[i].len))
			fail_msg("accepted #%zu \"%.*s\"", i, (int)bad[i].len, bad[i].s);
}

static void test_qtype_name(void **state)
{
	assert_string_equal(rasn_qtype_name(RASN_Q_INVALID), "invalid");
	assert_string_equal(rasn_qtype_name(RASN_Q_IP), "ip");
	assert_string_equal(rasn_qtype_name(RASN_Q_AS), "as");
	assert_string_equal(rasn_qtype_name(RASN_Q_PREFIXES), "prefixes");
	assert_string_equal(rasn_qtype_name(RASN_Q_DOMAIN), "domain");
	assert_string_equal(rasn_qtype_name(RASN_Q_ORG), "org");
	assert_string_equal(rasn_qtype_name(RASN_Q_PING), "ping");
	assert_string_equal(rasn_qtype_name(RASN_Q_STATS), "stats");
	assert_string_equal(rasn_qtype_name(RASN_Q_HELP), "help");
	assert_string_equal(rasn_qtype_name(RASN_Q_RELOAD), "reload");
	assert_string_equal(rasn_qtype_name(RASN_Q_BEGIN), "begin");
	assert_string_equal(rasn_qtype_name(RASN_Q_END), "end");
	assert_string_equal(rasn_qtype_name((enum rasn_qtype)99), "invalid");
	assert_string_equal(rasn_qtype_name((enum rasn_qtype)-1), "invalid");
}

static void test_strerror(void **state)
{
	assert_string_equal(rasn_strerror(0), "success");
	assert_string_equal(rasn_strerror(RASN_ESYNTAX), "malformed input");
	assert_string_equal(rasn_strerror(RASN_ERANGE), "value out of range");
	assert_string_equal(rasn_strerror(RASN_EFORMAT), "unknown or undetectable file format");
	assert_string_equal(rasn_strerror(RASN_EEMPTY), "nothing usable in the input");
	assert_string_equal(rasn_strerror(RASN_ETOOMANY), "too many bad lines");
	assert_string_equal(rasn_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(rasn_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_equal(rasn_strerror(-(RASN_EBASE + 99)), "unknown error");
	assert_string_equal(rasn_strerror(-RASN_EBASE), "unknown error");
	assert_string_equal(rasn_strerror(5), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_as),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_org),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_asn_parse),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_qtype_name),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
