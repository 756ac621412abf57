/* Unit tests for lib/h1resp.c: status lines, header syntax, Content-Length, chunked framing
 * (sizes, extensions, CRLF, trailers, bounds), interim 1xx, 101, 204/304, keep-alive rules,
 * EOF-delimited bodies, max_body for every framing, pipelining, callbacks that stop the feed,
 * and that every input gives the same events fed whole, byte by byte, or in odd splits.
 * Each input runs through a small caller (run()) that keeps what the parser did not consume
 * and hands it back with the next bytes, as the daemon does. Events are logged as text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h1resp.h"

#define BIG (200 * 1024)
#define RASN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) (lit), sizeof(lit) - 1
#define MB (1u << 20)

struct rec {
	char log[4096];             /* "H200/L/k" head, "B" body run, "C" complete, "E..." error */
	char body[BIG];             /* all bodies, one after the other */
	size_t body_len;
	char etag[128], lm[128], ra[128];
	int have_etag;
	int in_body;
	int stop_head, stop_body, stop_complete; /* callbacks return these */
	enum rasn_h1resp_err kind;
	char msg[RASN_H1RESP_MSG_MAX];
	int eof_rc;
};

static void logf_(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct rec *r, const char *fmt, ...)
{
	size_t n = strlen(r->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->log + n, sizeof(r->log) - n, fmt, ap);
	va_end(ap);
}

static void copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static int on_head(void *ud, const struct rasn_h1resp_head *h)
{
	struct rec *r = ud;
	static const char fr[] = "NLCE";
	r->in_body = 0;
	logf_(r, "H%d/%c/%c%s;", h->status, fr[h->framing], h->close ? 'c' : 'k', h->http10 ? "/1.0" : "");
	if (h->framing == RASN_H1RESP_LENGTH)
		logf_(r, "len=%llu;", (unsigned long long)h->content_length);
	r->have_etag = h->etag != NULL;
	copy(r->etag, sizeof(r->etag), h->etag ? h->etag : "", h->etag_len);
	copy(r->lm, sizeof(r->lm), h->last_modified ? h->last_modified : "", h->last_modified_len);
	copy(r->ra, sizeof(r->ra), h->retry_after ? h->retry_after : "", h->retry_after_len);
	return r->stop_head;
}

static int on_body(void *ud, const char *p, size_t n)
{
	struct rec *r = ud;
	assert_true(n > 0);
	assert_true(r->body_len + n <= sizeof(r->body));
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	if (!r->in_body)
		logf_(r, "B;");
	r->in_body = 1;
	return r->stop_body;
}

static int on_complete(void *ud)
{
	struct rec *r = ud;
	r->in_body = 0;
	logf_(r, "C;");
	return r->stop_complete;
}

static void on_error(void *ud, enum rasn_h1resp_err kind, const char *reason, const char *msg)
{
	struct rec *r = ud;
	assert_non_null(reason);
	r->kind = kind;
	copy(r->msg, sizeof(r->msg), msg, strlen(msg));
	logf_(r, "E%s:%s;", kind == RASN_H1RESP_ETOOBIG ? "big" : "proto", msg);
}

static const struct rasn_h1resp_cbs cbs = { on_head, on_body, on_complete, on_error };

/* Feeds in pieces of step bytes (0: all at once), keeping what was not consumed, then calls
 * rasn_h1resp_eof() when eof. Returns the bytes left unconsumed. */
static size_t run_p(struct rasn_h1resp *p, struct rec *r, const char *in, size_t len, size_t max_body,
		    size_t step, int eof)
{
	char *pend = malloc(len + 1);
	size_t have = 0, off = 0;
	assert_non_null(pend);
	rasn_h1resp_init(p, max_body);
	while (off < len) {
		size_t n = step && len - off > step ? step : len - off;
		memcpy(pend + have, in + off, n);
		have += n;
		off += n;
		/* callbacks may stop it: feed again while it takes something */
		for (;;) {
			size_t used = rasn_h1resp_feed(p, &cbs, r, pend, have);
			assert_true(used <= have);
			memmove(pend, pend + used, have - used);
			have -= used;
			if (used == 0 || rasn_h1resp_failed(p))
				break;
		}
	}
	if (eof)
		r->eof_rc = rasn_h1resp_eof(p, &cbs, r);
	free(pend);
	return have;
}

static struct rec *run(const char *in, size_t len, size_t max_body, size_t step, int eof)
{
	struct rasn_h1resp p;
	struct rec *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	run_p(&p, r, in, len, max_body, step, eof);
	return r;
}

/* The whole input, byte by byte, and in pieces of 2, 3, 7 and 1000: the same events. Inputs
 * over 8 KiB go in larger pieces (a head held back is searched again at each feed). */
static struct rec *run_all(const char *in, size_t len, size_t max_body, int eof)
{
	static const size_t steps[] = { 1, 2, 3, 7, 1000 }, big_steps[] = { 997, 4096, 32771 };
	const size_t *st = len > 8192 ? big_steps : steps;
	size_t n_st = len > 8192 ? RASN_ARRAY_LEN(big_steps) : RASN_ARRAY_LEN(steps);
	struct rec *whole = run(in, len, max_body, 0, eof);
	for (size_t i = 0; i < n_st; i++) {
		struct rec *r = run(in, len, max_body, st[i], eof);
		assert_string_equal(r->log, whole->log);
		assert_int_equal(r->body_len, whole->body_len);
		assert_memory_equal(r->body, whole->body, r->body_len);
		assert_int_equal(r->eof_rc, whole->eof_rc);
		free(r);
	}
	return whole;
}

static void expect(const char *in, size_t len, size_t max_body, int eof, const char *log)
{
	struct rec *r = run_all(in, len, max_body, eof);
	if (strcmp(r->log, log) != 0)
		print_error("input: %.*s\n", (int)(len > 200 ? 200 : len), in);
	assert_string_equal(r->log, log);
	free(r);
}

#define EXPECT(lit, log) expect(S(lit), MB, 0, (log))

static void test_status_lines(void **state)
{
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "H200/N/k;C;");
	EXPECT("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "H200/N/k;C;");
	EXPECT("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "H404/N/k;C;");
	EXPECT("HTTP/1.1 999 \xff odd \x01 reason\r\nContent-Length: 0\r\n\r\n", "H999/N/k;C;");
	EXPECT("HTTP/1.1 200 OK\r\n\r\n", "H200/E/c;");
	EXPECT("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "H200/N/c/1.0;C;");

	static const char *const bad[] = {
		"HTTP/1.2 200 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1\t200 OK\r\n\r\n", "\r\n\r\n", " HTTP/1.1 200 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n", "HTTP/1.1 20\r\n\r\n",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++)
		expect(bad[i], strlen(bad[i]), MB, 0, "Eproto:malformed HTTP/1.1 status line;");
	EXPECT("HTTP/1.1 099 Odd\r\n\r\n", "Eproto:unexpected HTTP status 99;");
	EXPECT("HTTP/1.1 000 Odd\r\n\r\n", "Eproto:unexpected HTTP status 0;");
}

static void test_headers(void **state)
{
	struct rec *r = run_all(S("HTTP/1.1 200 OK\r\nETag: \"abc\"  \r\nlast-modified:\tMon, 01 Jan 2024 00:00:00 GMT\r\n"
				  "Retry-After: 120\r\nX-Odd: caf\xc3\xa9\r\nETag: \"def\"\r\nContent-Length: 3\r\n\r\nxyz"),
			   MB, 0);
	assert_string_equal(r->log, "H200/L/k;len=3;B;C;");
	assert_string_equal(r->etag, "\"def\""); /* the last one wins */
	assert_string_equal(r->lm, "Mon, 01 Jan 2024 00:00:00 GMT");
	assert_string_equal(r->ra, "120");
	assert_memory_equal(r->body, "xyz", 3);
	free(r);
	r = run_all(S("HTTP/1.1 304 Not Modified\r\nETag:\r\n\r\n"), MB, 0);
	assert_string_equal(r->log, "H304/N/k;C;");
	assert_true(r->have_etag);
	assert_string_equal(r->etag, "");
	free(r);
	r = run_all(S("HTTP/1.1 304 Not Modified\r\n\r\n"), MB, 0);
	assert_false(r->have_etag);
	free(r);

	EXPECT("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	EXPECT("HTTP/1.1 200 OK\r\nX@Y: x\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	EXPECT("HTTP/1.1 200 OK\r\nX\xc3\xa9: x\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	EXPECT("HTTP/1.1 200 OK\r\nX : x\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	EXPECT("HTTP/1.1 200 OK\r\n: x\r\n\r\n", "Eproto:malformed HTTP/1.1 header line;");
	EXPECT("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "Eproto:malformed HTTP/1.1 header line;");
	EXPECT("HTTP/1.1 200 OK\r\nX: a\x01" "b\r\n\r\n", "Eproto:bad HTTP/1.1 header value;");
	EXPECT("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", "Eproto:bad HTTP/1.1 header value;");
	EXPECT("HTTP/1.1 200 OK\r\nX: a\nb\r\n\r\n", "Eproto:bad HTTP/1.1 header value;");
	EXPECT("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "Eproto:bad HTTP/1.1 header value;");
	expect(S("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"), MB, 0, "Eproto:bad HTTP/1.1 header value;");
	/* obs-fold: the continuation line has a space for a name, or no colon */
	EXPECT("HTTP/1.1 200 OK\r\nX: a\r\n b: c\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	EXPECT("HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n", "Eproto:malformed HTTP/1.1 header line;");
	/* NUL in a name is refused (strchr would find the terminator: see is_tchar) */
	EXPECT("HTTP/1.1 200 OK\r\nX\0Y: 1\r\nContent-Length: 0\r\n\r\n", "Eproto:bad HTTP/1.1 header name;");
	/* tabs and high bytes in values are fine */
	EXPECT("HTTP/1.1 200 OK\r\nX:\ta\tb \xff\r\nContent-Length: 0\r\n\r\n", "H200/N/k;C;");
}

static void test_header_bound(void **state)
{
	/* a block of exactly HEAD_MAX bytes passes, one more byte fails */
	const char *pre = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: ";
	static char b[RASN_H1RESP_HEAD_MAX + 2];
	size_t n = RASN_H1RESP_HEAD_MAX, pl = strlen(pre);
	memcpy(b, pre, pl);
	memset(b + pl, 'a', n - pl - 4);
	memcpy(b + n - 4, "\r\n\r\n", 4);
	expect(b, n, MB, 0, "H200/N/k;C;");
	memset(b + pl, 'a', n + 1 - pl - 4);
	memcpy(b + n + 1 - 4, "\r\n\r\n", 4);
	expect(b, n + 1, MB, 0, "Eproto:response header over 65536 bytes;");
	/* no end in sight: caught once more than HEAD_MAX bytes are held */
	memset(b, 'a', n + 1);
	struct rec *r = run(b, n, MB, 0, 0);
	assert_string_equal(r->log, "");
	free(r);
	expect(b, n + 1, MB, 0, "Eproto:response header over 65536 bytes;");
}

static void test_content_length(void **state)
{
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "H200/L/k;len=5;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\ncontent-length: 005\r\n\r\nhello", "H200/L/k;len=5;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length:  5 \t\r\n\r\nhello", "H200/L/k;len=5;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "H200/L/k;len=5;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	       "Eproto:conflicting Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\nhello", "H200/L/k;len=5;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\nhello", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000000\r\n\r\n", "Eproto:bad Content-Length;");
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000\r\n\r\n", "H200/N/k;C;");
	/* 18 digits parse, and are too big for any max_body we have */
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n",
	       "Ebig:body of 999999999999999999 bytes, more than 1048576;");
	/* a body cut short: no complete, and eof says so */
	struct rec *r = run_all(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), MB, 1);
	assert_string_equal(r->log, "H200/L/k;len=10;B;");
	assert_int_equal(r->eof_rc, -1);
	free(r);
}

static void test_chunked(void **state)
{
	struct rec *r = run_all(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5\r\nhello\r\nA\r\n0123456789\r\n0000a;ext=1;q=\"x\"\r\nabcdefghij\r\n"
				  "1 ; spaced\r\n!\r\n2\t\r\n??\r\n0\r\n\r\n"),
			   MB, 0);
	assert_string_equal(r->log, "H200/C/k;B;C;");
	assert_int_equal(r->body_len, 28);
	assert_memory_equal(r->body, "hello0123456789abcdefghij!??", 28);
	free(r);
	/* trailers are read and dropped */
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
	       "H200/C/k;B;C;");
	/* codings: chunked must be the last */
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n", "H200/C/k;C;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
	       "Eproto:unsupported Transfer-Encoding;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Eproto:unsupported Transfer-Encoding;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	       "Eproto:unsupported Transfer-Encoding;");
	/* Transfer-Encoding wins over Content-Length (still checked) */
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
	       "H200/C/k;B;C;");
	/* bad sizes and CRLFs */
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
	       "H200/C/k;Eproto:malformed chunk size;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", "H200/C/k;Eproto:malformed chunk size;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "H200/C/k;Eproto:malformed chunk size;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "H200/C/k;Eproto:malformed chunk size;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
	       "H200/C/k;B;Eproto:malformed chunk end;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
	       "H200/C/k;B;Eproto:malformed chunk end;");
	/* 15 hex digits is the most read; 16 are too large, whatever their value */
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000001\r\nx\r\n",
	       "H200/C/k;Eproto:chunk size too large;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000001\r\nx\r\n0\r\n\r\n",
	       "H200/C/k;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n",
	       "H200/C/k;Ebig:body larger than 1048576 bytes;");
}

static void test_chunk_bounds(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	size_t hl = strlen(head);
	static char b[200 + 2 * RASN_H1RESP_HEAD_MAX];
	assert_true(hl < 100);
	/* a size line of CHUNK_LINE_MAX - 1 bytes (its CR makes CHUNK_LINE_MAX) passes */
	size_t ll = RASN_H1RESP_CHUNK_LINE_MAX - 1;
	memcpy(b, head, hl);
	memcpy(b + hl, "1;", 2);
	memset(b + hl + 2, 'x', ll - 2);
	memcpy(b + hl + ll, "\r\nZ\r\n0\r\n\r\n", 10);
	expect(b, hl + ll + 10, MB, 0, "H200/C/k;B;C;");
	/* one byte more fails, whole or split */
	memcpy(b + hl + 2, "x", 1);
	memset(b + hl + 2, 'x', ll - 1);
	memcpy(b + hl + ll + 1, "\r\nZ\r\n0\r\n\r\n", 10);
	expect(b, hl + ll + 11, MB, 0, "H200/C/k;Eproto:chunk size line too long;");
	/* no CRLF in sight */
	expect(b, hl + ll + 2, MB, 0, "H200/C/k;Eproto:chunk size line too long;");
	struct rec *r = run(b, hl + ll + 1, MB, 0, 0);
	assert_string_equal(r->log, "H200/C/k;");
	free(r);

	/* trailers: HEAD_MAX bytes in all, their final CRLF included */
	size_t n = hl;
	memcpy(b, head, hl);
	memcpy(b + n, "0\r\n", 3);
	n += 3;
	size_t t0 = n, tl = RASN_H1RESP_HEAD_MAX - 2; /* one trailer line, CRLF included */
	memcpy(b + n, "X: ", 3);
	memset(b + n + 3, 'a', tl - 5);
	memcpy(b + n + tl - 2, "\r\n\r\n", 4);
	n += tl + 2;
	expect(b, n, MB, 0, "H200/C/k;C;");
	memset(b + t0 + 3, 'a', tl - 4);
	memcpy(b + t0 + tl - 1, "\r\n\r\n", 4);
	expect(b, n + 1, MB, 0, "H200/C/k;Eproto:trailers too long;");
	memset(b + t0, 'a', RASN_H1RESP_HEAD_MAX + 10);
	expect(b, t0 + RASN_H1RESP_HEAD_MAX + 10, MB, 0, "H200/C/k;Eproto:trailers too long;");
	/* many short lines add up */
	n = t0;
	while (n - t0 < RASN_H1RESP_HEAD_MAX) {
		memcpy(b + n, "T: 12345678\r\n", 13);
		n += 13;
	}
	memcpy(b + n, "\r\n", 2);
	expect(b, n + 2, MB, 0, "H200/C/k;Eproto:trailers too long;");
}

static void test_interim(void **state)
{
	struct rasn_h1resp p;
	struct rec *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	const char in[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n"
			  "Bad Name: skipped unread\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	run_p(&p, r, in, sizeof(in) - 1, MB, 0, 0);
	assert_string_equal(r->log, "H200/L/k;len=2;B;C;");
	assert_int_equal(p.interim, 2);
	assert_int_equal(p.responses, 1);
	free(r);
	EXPECT("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "H200/L/k;len=2;B;C;");
	EXPECT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "Eproto:unexpected HTTP status 101;");
	EXPECT("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching\r\n\r\n", "Eproto:unexpected HTTP status 101;");
}

static void test_no_body(void **state)
{
	/* whatever the headers say, then the next response follows at once */
	EXPECT("HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\nETag: \"x\"\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
	       "H304/N/k;C;H204/N/k;C;H200/L/k;len=1;B;C;");
	/* still checked */
	EXPECT("HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	       "Eproto:conflicting Content-Length;");
	/* no max_body for what is not read */
	expect(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n"), 10, 0, "H304/N/k;C;");
}

static void test_keep_alive(void **state)
{
	EXPECT("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "H200/L/c/1.0;len=1;B;C;");
	EXPECT("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", "H200/L/k/1.0;len=1;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", "H200/L/c;len=1;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 1\r\n\r\nx", "H200/L/c;len=1;B;C;");
	EXPECT("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 1\r\n\r\nx", "H200/L/k;len=1;B;C;");
	EXPECT("HTTP/1.0 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
	       "H200/L/k/1.0;len=1;B;C;");
	EXPECT("HTTP/1.0 204 No Content\r\n\r\n", "H204/N/c/1.0;C;");
	/* a body to the end of the connection closes it, whatever was said */
	EXPECT("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nabc", "H200/E/c;B;");
}

static void test_eof_body(void **state)
{
	struct rec *r = run_all(S("HTTP/1.0 200 OK\r\nETag: W/\"1\"\r\n\r\nall of it\r\n\r\nHTTP/1.1 200 OK\r\n"), MB, 1);
	assert_string_equal(r->log, "H200/E/c/1.0;B;C;");
	assert_int_equal(r->eof_rc, 1);
	assert_int_equal(r->body_len, 30);
	assert_string_equal(r->etag, "W/\"1\"");
	free(r);
	r = run_all(S("HTTP/1.1 200 OK\r\n\r\n"), MB, 1);
	assert_string_equal(r->log, "H200/E/c;C;");
	assert_int_equal(r->eof_rc, 1);
	assert_int_equal(r->body_len, 0);
	free(r);
	/* between responses, and in the middle of one */
	r = run_all(S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), MB, 1);
	assert_int_equal(r->eof_rc, 0);
	free(r);
	r = run_all(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx"), MB, 1);
	assert_string_equal(r->log, "H200/C/k;B;");
	assert_int_equal(r->eof_rc, -1);
	free(r);
	/* after eof nothing more is taken */
	struct rasn_h1resp p;
	rasn_h1resp_init(&p, MB);
	assert_int_equal(rasn_h1resp_eof(&p, NULL, NULL), 0);
	assert_int_equal(rasn_h1resp_feed(&p, NULL, NULL, S("HTTP/1.1 204 No\r\n\r\n")), 0);
}

static void test_max_body(void **state)
{
	/* Content-Length: at the bound, over it */
	expect(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"), 10, 0, "H200/L/k;len=10;B;C;");
	expect(S("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a"), 10, 0,
	       "Ebig:body of 11 bytes, more than 10;");
	/* chunked: the total counts, checked at each size line */
	expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n"), 10, 0,
	       "H200/C/k;B;C;");
	expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n7\r\n456789a\r\n0\r\n\r\n"), 10, 0,
	       "H200/C/k;B;Ebig:body larger than 10 bytes;");
	/* to the end of the connection: what fits is handed out, then the error */
	struct rec *r = run_all(S("HTTP/1.1 200 OK\r\n\r\n0123456789"), 10, 1);
	assert_string_equal(r->log, "H200/E/c;B;C;");
	free(r);
	r = run_all(S("HTTP/1.1 200 OK\r\n\r\n0123456789abc"), 10, 1);
	assert_string_equal(r->log, "H200/E/c;B;Ebig:body larger than 10 bytes;");
	assert_int_equal(r->body_len, 10);
	assert_int_equal(r->eof_rc, -1);
	assert_int_equal(r->kind, RASN_H1RESP_ETOOBIG);
	free(r);
	/* max_body 0: only empty bodies */
	expect(S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 0, "H200/N/k;C;");
	expect(S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), 0, 0, "Ebig:body of 1 bytes, more than 0;");
	/* the bound is per response */
	expect(S("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n01234567HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n01234567"),
	       10, 0, "H200/L/k;len=8;B;C;H200/L/k;len=8;B;C;");
}

static void test_pipelined(void **state)
{
	struct rasn_h1resp p;
	struct rec *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"a\"\r\n\r\nabc"
			  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"b\"\r\n\r\n2\r\nde\r\n0\r\n\r\n";
	run_p(&p, r, in, sizeof(in) - 1, MB, 0, 0);
	assert_string_equal(r->log, "H200/L/k;len=3;B;C;H200/C/k;B;C;");
	assert_int_equal(r->body_len, 5);
	assert_memory_equal(r->body, "abcde", 5);
	assert_string_equal(r->etag, "\"b\"");
	assert_int_equal(p.responses, 2);
	free(r);
	r = run_all(in, sizeof(in) - 1, MB, 0);
	assert_string_equal(r->log, "H200/L/k;len=3;B;C;H200/C/k;B;C;");
	free(r);
}

/* A callback that returns nonzero stops the feed right after its event. */
static void test_stop(void **state)
{
	struct rasn_h1resp p;
	struct rec *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	const char in[] = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	size_t hl = strlen("HTTP/1.1 204 No Content\r\n\r\n");
	rasn_h1resp_init(&p, MB);
	r->stop_head = 1;
	assert_int_equal(rasn_h1resp_feed(&p, &cbs, r, in, sizeof(in) - 1), hl);
	assert_string_equal(r->log, "H204/N/k;");
	r->stop_head = 0;
	r->stop_complete = 1;
	assert_int_equal(rasn_h1resp_feed(&p, &cbs, r, in + hl, 0), 0); /* the complete held back */
	assert_string_equal(r->log, "H204/N/k;C;");
	r->stop_complete = 0;
	r->stop_body = 1;
	size_t used = rasn_h1resp_feed(&p, &cbs, r, in + hl, sizeof(in) - 1 - hl);
	assert_int_equal(used, sizeof(in) - 1 - hl);
	assert_string_equal(r->log, "H204/N/k;C;H200/L/k;len=2;B;");
	assert_int_equal(rasn_h1resp_feed(&p, &cbs, r, in, 0), 0);
	assert_string_equal(r->log, "H204/N/k;C;H200/L/k;len=2;B;C;");
	/* failed: nothing more taken, eof says so */
	assert_int_equal(rasn_h1resp_feed(&p, &cbs, r, S("garbage\r\n\r\n")), 0);
	assert_true(rasn_h1resp_failed(&p));
	assert_int_equal(p.err, RASN_H1RESP_EPROTO);
	assert_string_equal(p.reason, "malformed HTTP/1.1 status line");
	assert_int_equal(rasn_h1resp_feed(&p, &cbs, r, S("HTTP/1.1 204 No\r\n\r\n")), 0);
	assert_int_equal(rasn_h1resp_eof(&p, &cbs, r), -1);
	/* init resets */
	rasn_h1resp_init(&p, MB);
	assert_false(rasn_h1resp_failed(&p));
	assert_int_equal(rasn_h1resp_feed(&p, NULL, NULL, S("HTTP/1.1 204 No\r\n\r\n")), 19);
	assert_int_equal(p.responses, 1);
	free(r);
}

/* Odd inputs: whatever comes out, every split agrees (run_all checks). */
static void test_splits_agree(void **state)
{
	static const char *const in[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdHTTP/1.1 200 OK\r\n\r\ntail",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\nT: x\r\n\r\n"
		"HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\r\nabc",
		"HTTP/1.1 200 OK\r\n\r\n\r\n\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(in); i++) {
		free(run_all(in[i], strlen(in[i]), MB, 0));
		free(run_all(in[i], strlen(in[i]), 4, 1));
	}
}

static void test_http_date(void **state)
{
	(void)state;
	int64_t t = 0;
	assert_int_equal(rasn_http_date_parse(S("Sun, 06 Nov 1994 08:49:37 GMT"), &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(rasn_http_date_parse(S("  Thu, 01 Jan 1970 00:00:00 GMT\t"), &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(rasn_http_date_parse(S("Tue, 29 Feb 2000 23:59:59 GMT"), &t), 0);
	assert_int_equal(t, 951868799);
	assert_int_equal(rasn_http_date_parse(S("Sat, 31 Dec 2033 12:00:60 GMT"), &t), 0);
	assert_int_equal(t, 2019643259);
	static const char *const bad[] = {
		"Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 */
		"Sun Nov  6 08:49:37 1994",       /* asctime */
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT x",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nox 1994 08:49:37 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 1900 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 06 Nov 19a4 08:49:37 GMT",
		"Sun, 06 Nov 1994 08-49-37 GMT",
		"120",
		"",
	};
	for (size_t i = 0; i < RASN_ARRAY_LEN(bad); i++)
		assert_int_equal(rasn_http_date_parse(bad[i], strlen(bad[i]), &t), -1);
	/* bounded by the length given, not by a NUL */
	assert_int_equal(rasn_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTXYZ", 29, &t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_lines),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_header_bound),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunk_bounds),
		cmocka_unit_test(test_interim),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_eof_body),
		cmocka_unit_test(test_max_body),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_splits_agree),
		cmocka_unit_test(test_http_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
