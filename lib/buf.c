/* Growable output buffer with sticky allocation failure, and the number and JSON appenders
 * that every reply goes through (so no printf on the hot path). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"

void rasn_buf_init(struct rasn_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = 0;
}

void rasn_buf_free(struct rasn_buf *b)
{
	free(b->data);
	rasn_buf_init(b);
}

/* Once oom is set, cap is kept equal to len: the inline rasn_buf_add only calls reserve when
 * space runs out, so this makes every later append come here and fail. */
static int buf_fail(struct rasn_buf *b)
{
	b->oom = 1;
	b->cap = b->len;
	return -ENOMEM;
}

int rasn_buf_reserve(struct rasn_buf *b, size_t n)
{
	if (b->oom)
		return buf_fail(b);
	if (b->cap - b->len >= n)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return buf_fail(b);
	size_t want = b->len + n, cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return buf_fail(b);
	b->data = d;
	b->cap = cap;
	return 0;
}

void rasn_buf_consume(struct rasn_buf *b, size_t n)
{
	if (n >= b->len) {
		n = b->len;
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->oom)
		b->cap = b->len;
}

void rasn_buf_adds(struct rasn_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n)
		rasn_buf_add(b, s, n);
}

void rasn_buf_printf(struct rasn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	/* Try in the space already there; most formats fit. */
	size_t avail = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(avail ? b->data + b->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < avail) {
		b->len += (size_t)n;
		return;
	}
	if (rasn_buf_reserve(b, (size_t)n + 1) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n >= 0)
		b->len += (size_t)n;
}

static const char hexdig[] = "0123456789abcdef";

/* "00".."99": two digits per division. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

void rasn_buf_u64(struct rasn_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		tmp[--i] = digit_pairs[r * 2 + 1];
		tmp[--i] = digit_pairs[r * 2];
	}
	if (v >= 10) {
		tmp[--i] = digit_pairs[v * 2 + 1];
		tmp[--i] = digit_pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	rasn_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void rasn_buf_i64(struct rasn_buf *b, int64_t v)
{
	if (v < 0) {
		rasn_buf_addc(b, '-');
		/* unsigned negation: INT64_MIN has no positive int64_t */
		rasn_buf_u64(b, (uint64_t)0 - (uint64_t)v);
		return;
	}
	rasn_buf_u64(b, (uint64_t)v);
}

size_t rasn_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void rasn_buf_json_esc(struct rasn_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0; /* u[run..i) is pending plain text, copied in one go */

	while (i < n) {
		unsigned char c = u[i];
		size_t l;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
			i++;
			continue;
		}
		if (c >= 0x80 && (l = rasn_utf8_len(u + i, n - i)) > 0) {
			i += l;
			continue;
		}
		if (i > run)
			rasn_buf_add(b, u + run, i - run);
		switch (c) {
		case '"': rasn_buf_lit(b, "\\\""); break;
		case '\\': rasn_buf_lit(b, "\\\\"); break;
		case '\b': rasn_buf_lit(b, "\\b"); break;
		case '\f': rasn_buf_lit(b, "\\f"); break;
		case '\n': rasn_buf_lit(b, "\\n"); break;
		case '\r': rasn_buf_lit(b, "\\r"); break;
		case '\t': rasn_buf_lit(b, "\\t"); break;
		default:
			if (c >= 0x80) {
				/* one replacement per bad byte: the output stays valid UTF-8 */
				rasn_buf_lit(b, "\\ufffd");
			} else {
				char esc[6] = { '\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 0xf] };
				rasn_buf_add(b, esc, sizeof(esc));
			}
			break;
		}
		i++;
		run = i;
	}
	/* never add 0 bytes: the inline add would memcpy to a NULL data pointer */
	if (i > run)
		rasn_buf_add(b, u + run, i - run);
}

void rasn_buf_json_str(struct rasn_buf *b, const char *s, size_t n)
{
	rasn_buf_addc(b, '"');
	rasn_buf_json_esc(b, s, n);
	rasn_buf_addc(b, '"');
}
