/* Unit tests for lib/buf.c: growth, sticky OOM, numbers, JSON escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

#define assert_buf(b, lit) \
	do { \
		assert_int_equal((b)->len, sizeof(lit) - 1); \
		assert_memory_equal((b)->data, (lit), sizeof(lit) - 1); \
	} while (0)

static void test_init_free(void **state)
{
	struct rasn_buf b;
	memset(&b, 0x55, sizeof(b));
	rasn_buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.oom, 0);
	rasn_buf_free(&b); /* free of an empty buffer is fine */
	assert_null(b.data);
	rasn_buf_lit(&b, "x");
	rasn_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_append(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasn_buf_lit(&b, "abc");
	rasn_buf_addc(&b, '-');
	rasn_buf_adds(&b, "def");
	rasn_buf_adds(&b, "");
	rasn_buf_add(&b, "ghijkl", 3);
	assert_buf(&b, "abc-defghi");
	assert_true(b.cap >= b.len);

	/* grow well past the first allocation, keeping content */
	for (int i = 0; i < 10000; i++)
		rasn_buf_addc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 10010);
	assert_memory_equal(b.data, "abc-defghi", 10);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(b.data[10 + i], 'a' + i % 26);
	assert_int_equal(b.oom, 0);
	rasn_buf_free(&b);
}

static void test_reserve(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	assert_int_equal(rasn_buf_reserve(&b, 0), 0);
	assert_int_equal(rasn_buf_reserve(&b, 1000), 0);
	assert_true(b.cap >= 1000);
	assert_int_equal(b.len, 0);
	char *d = b.data;
	size_t cap = b.cap;
	rasn_buf_lit(&b, "hello");
	/* enough room already: no reallocation */
	assert_int_equal(rasn_buf_reserve(&b, cap - 5), 0);
	assert_ptr_equal(b.data, d);
	assert_int_equal(b.cap, cap);
	assert_int_equal(rasn_buf_reserve(&b, cap), 0);
	assert_true(b.cap >= cap + 5);
	assert_buf(&b, "hello");
	rasn_buf_free(&b);
}

static void test_consume(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasn_buf_lit(&b, "0123456789");
	rasn_buf_consume(&b, 0);
	assert_buf(&b, "0123456789");
	rasn_buf_consume(&b, 3);
	assert_buf(&b, "3456789");
	rasn_buf_lit(&b, "ab");
	assert_buf(&b, "3456789ab");
	rasn_buf_consume(&b, 9);
	assert_int_equal(b.len, 0);
	rasn_buf_lit(&b, "z");
	assert_buf(&b, "z");
	rasn_buf_free(&b);
}

static void test_oom_sticky(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasn_buf_lit(&b, "keep");
	/* an impossible size fails like an allocation failure */
	assert_int_equal(rasn_buf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(b.oom, 1);
	assert_buf(&b, "keep");
	/* later appends of every kind do nothing, even small ones that would fit */
	rasn_buf_lit(&b, "x");
	rasn_buf_addc(&b, 'y');
	rasn_buf_adds(&b, "zz");
	rasn_buf_u64(&b, 12345);
	rasn_buf_i64(&b, -5);
	rasn_buf_printf(&b, "%d", 42);
	rasn_buf_json_str(&b, "q\n", 2);
	assert_buf(&b, "keep");
	assert_int_equal(rasn_buf_reserve(&b, 1), -ENOMEM);
	assert_int_equal(b.oom, 1);
	rasn_buf_consume(&b, 2);
	rasn_buf_lit(&b, "x");
	assert_buf(&b, "ep");
	rasn_buf_free(&b);
	/* free resets the flag */
	assert_int_equal(b.oom, 0);
	rasn_buf_lit(&b, "ok");
	assert_buf(&b, "ok");
	rasn_buf_free(&b);
}

static void test_printf(void **state)
{
	struct rasn_buf b;
	char big[3000];
	rasn_buf_init(&b);
	rasn_buf_printf(&b, "%d-%s", 42, "x");
	assert_buf(&b, "42-x");
	rasn_buf_printf(&b, "%s", "");
	assert_buf(&b, "42-x");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rasn_buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 4 + 2 + 2999);
	assert_memory_equal(b.data, "42-x[qqq", 8);
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len - 2], 'q');
	rasn_buf_printf(&b, "%05u|%x", 7u, 255u);
	assert_memory_equal(b.data + b.len - 8, "00007|ff", 8);
	rasn_buf_free(&b);
}

static void test_u64(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0" },
		{ 9, "9" },
		{ 10, "10" },
		{ 99, "99" },
		{ 100, "100" },
		{ 101, "101" },
		{ 999, "999" },
		{ 1000, "1000" },
		{ 15169, "15169" },
		{ 4294967295u, "4294967295" },
		{ 10000000000000000000ull, "10000000000000000000" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++) {
		struct rasn_buf b;
		rasn_buf_init(&b);
		rasn_buf_u64(&b, cases[i].v);
		assert_int_equal(b.len, strlen(cases[i].s));
		assert_memory_equal(b.data, cases[i].s, b.len);
		rasn_buf_free(&b);
	}
}

static void test_i64(void **state)
{
	static const struct {
		int64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ -10, "-10" },
		{ 123456789, "123456789" },
		{ -987654321, "-987654321" },
		{ INT64_MAX, "9223372036854775807" },
		{ INT64_MIN, "-9223372036854775808" },
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(cases); i++) {
		struct rasn_buf b;
		rasn_buf_init(&b);
		rasn_buf_lit(&b, "<");
		rasn_buf_i64(&b, cases[i].v);
		rasn_buf_lit(&b, ">");
		assert_int_equal(b.len, strlen(cases[i].s) + 2);
		assert_memory_equal(b.data + 1, cases[i].s, b.len - 2);
		assert_int_equal(b.data[b.len - 1], '>');
		rasn_buf_free(&b);
	}
}

struct esc_case {
	const char *in;
	size_t in_len;
	const char *out;
};
#define E(in, out) { (in), sizeof(in) - 1, (out) }

static void run_esc(const struct esc_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rasn_buf b;
		rasn_buf_init(&b);
		rasn_buf_json_esc(&b, c[i].in, c[i].in_len);
		rasn_buf_addc(&b, '\0');
		if (strcmp(b.data, c[i].out) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, b.data, c[i].out);
		rasn_buf_free(&b);
	}
}

static void test_json_ascii(void **state)
{
	static const struct esc_case c[] = {
		E("", ""),
		E("plain text 123", "plain text 123"),
		E("a\"b\\c", "a\\\"b\\\\c"),
		E("\"", "\\\""),
		E("\\", "\\\\"),
		E("/<>'&~", "/<>'&~"),
		E("\n\r\t\b\f", "\\n\\r\\t\\b\\f"),
		E("\x01", "\\u0001"),
		E("\x1f", "\\u001f"),
		E("\x0b\x0e\x1a", "\\u000b\\u000e\\u001a"),
		E("\x7f", "\\u007f"),
		E(" ~", " ~"),
		E("a\0b", "a\\u0000b"),
		E("\0", "\\u0000"),
		E("line1\nline2", "line1\\nline2"),
	};
	run_esc(c, RASN_ARRAY_LEN(c));
}

static void test_json_utf8_valid(void **state)
{
	static const struct esc_case c[] = {
		E("caf\xc3\xa9", "caf\xc3\xa9"),                 /* U+00E9 */
		E("\xc2\x80", "\xc2\x80"),                       /* U+0080, smallest 2-byte */
		E("\xdf\xbf", "\xdf\xbf"),                       /* U+07FF */
		E("\xe0\xa0\x80", "\xe0\xa0\x80"),               /* U+0800, smallest 3-byte */
		E("\xe2\x82\xac", "\xe2\x82\xac"),               /* euro sign */
		E("\xed\x9f\xbf", "\xed\x9f\xbf"),               /* U+D7FF, just below surrogates */
		E("\xee\x80\x80", "\xee\x80\x80"),               /* U+E000, just above */
		E("\xef\xbf\xbf", "\xef\xbf\xbf"),               /* U+FFFF */
		E("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"),       /* U+10000 */
		E("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),       /* emoji */
		E("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),       /* U+10FFFF */
		E("\xe6\x97\xa5\xe6\x9c\xac \"x\"", "\xe6\x97\xa5\xe6\x9c\xac \\\"x\\\""),
	};
	run_esc(c, RASN_ARRAY_LEN(c));
}

#define R "\\ufffd"

static void test_json_utf8_invalid(void **state)
{
	static const struct esc_case c[] = {
		E("\x80", R),                                 /* lone continuation */
		E("\xbf", R),
		E("a\xffz", "a" R "z"),
		E("\xfe\xff", R R),
		E("\xc0\x80", R R),                           /* overlong NUL */
		E("\xc1\xbf", R R),                           /* overlong */
		E("\xe0\x80\x80", R R R),                     /* overlong 3-byte */
		E("\xe0\x9f\xbf", R R R),
		E("\xf0\x80\x80\x80", R R R R),               /* overlong 4-byte */
		E("\xf0\x8f\xbf\xbf", R R R R),
		E("\xed\xa0\x80", R R R),                     /* surrogate U+D800 */
		E("\xed\xbf\xbf", R R R),                     /* surrogate U+DFFF */
		E("\xf4\x90\x80\x80", R R R R),               /* U+110000 */
		E("\xf5\x80\x80\x80", R R R R),
		E("\xf8\x88\x80\x80\x80", R R R R R),         /* old 5-byte form */
		E("\xc3", R),                                 /* truncated at the end */
		E("\xe2\x82", R R),
		E("\xf0\x9f\x98", R R R),
		E("\xc3x", R "x"),                            /* truncated by ASCII */
		E("\xe2\x82" "A", R R "A"),
		E("\xe2\x82\"", R R "\\\""),
		E("\xf0\x9f\x98\n", R R R "\\n"),
		E("\xc3\xc3\xa9", R "\xc3\xa9"),              /* bad lead then a good pair */
		E("\xe2\xe2\x82\xac", R "\xe2\x82\xac"),
		E("ok\xc3\xa9\x80ok", "ok\xc3\xa9" R "ok"),   /* extra continuation */
		E("\xc3\xa9\xc3", "\xc3\xa9" R),
	};
	run_esc(c, RASN_ARRAY_LEN(c));
}

static void test_json_str(void **state)
{
	struct rasn_buf b;
	rasn_buf_init(&b);
	rasn_buf_json_str(&b, "", 0);
	assert_buf(&b, "\"\"");
	rasn_buf_lit(&b, ",");
	rasn_buf_json_str(&b, "say \"hi\"\n", 9);
	assert_buf(&b, "\"\",\"say \\\"hi\\\"\\n\"");
	rasn_buf_free(&b);
	/* only n bytes are read */
	rasn_buf_init(&b);
	rasn_buf_json_str(&b, "abcdef", 3);
	assert_buf(&b, "\"abc\"");
	rasn_buf_free(&b);
}

/* Every single byte value: the output is either the byte or its escape. */
static void test_json_all_bytes(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		struct rasn_buf b;
		char in = (char)c;
		rasn_buf_init(&b);
		rasn_buf_json_esc(&b, &in, 1);
		if (c == '"' || c == '\\' || (c < 0x20 && c != '\b' && c != '\f' && c != '\n' &&
					      c != '\r' && c != '\t'))
			assert_true(b.len == 2 || b.len == 6);
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			assert_int_equal(b.data[0], '\\');
		else if (c < 0x7f)
			assert_true(b.len == 1 && b.data[0] == (char)c);
		else if (c > 0x7f)
			assert_true(b.len == 6 && memcmp(b.data, R, 6) == 0);
		rasn_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_free),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_oom_sticky),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_json_ascii),
		cmocka_unit_test(test_json_utf8_valid),
		cmocka_unit_test(test_json_utf8_invalid),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_all_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
