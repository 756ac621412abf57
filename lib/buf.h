/* A growable byte buffer and the JSON/number appenders the hot path uses. Allocation failure
 * is sticky: once an append fails, buf->oom is set and later appends do nothing, so a caller
 * checks once at the end. */
#ifndef RASN_BUF_H
#define RASN_BUF_H

#include <string.h>
#include "rasn.h"

struct rasn_buf {
	char *data;
	size_t len, cap;
	int oom;
};

void rasn_buf_init(struct rasn_buf *b);
void rasn_buf_free(struct rasn_buf *b);
/* Make room for n more bytes. Returns 0 or -ENOMEM (and sets oom). */
int rasn_buf_reserve(struct rasn_buf *b, size_t n);
/* Drop the first n bytes (n <= len). */
void rasn_buf_consume(struct rasn_buf *b, size_t n);

static inline void rasn_buf_add(struct rasn_buf *b, const void *p, size_t n)
{
	if (n == 0 || b->oom) /* memcpy to a NULL buffer is undefined even for 0 bytes */
		return;
	if (b->cap - b->len < n && rasn_buf_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}
/* s must be a string literal (the "" "" makes anything else a compile error) */
#define rasn_buf_lit(b, s) rasn_buf_add((b), "" s "", sizeof(s) - 1)
static inline void rasn_buf_addc(struct rasn_buf *b, char c) { rasn_buf_add(b, &c, 1); }
void rasn_buf_adds(struct rasn_buf *b, const char *s);
void rasn_buf_printf(struct rasn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rasn_buf_u64(struct rasn_buf *b, uint64_t v);
void rasn_buf_i64(struct rasn_buf *b, int64_t v);

/* JSON string body (no surrounding quotes) for arbitrary bytes: quote, backslash and control
 * characters escaped, valid UTF-8 kept, each byte of invalid UTF-8 written as \ufffd. */
void rasn_buf_json_esc(struct rasn_buf *b, const char *s, size_t n);
/* Same, with quotes around it. */
void rasn_buf_json_str(struct rasn_buf *b, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (n bytes left; 1 for ASCII), or 0 when it is not
 * one: no overlongs, no surrogates, nothing above U+10FFFF, no truncation (RFC 3629 table). */
size_t rasn_utf8_len(const unsigned char *s, size_t n);

#endif
