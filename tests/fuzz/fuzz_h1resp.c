/* Fuzz target for lib/h1resp.c. The first byte picks max_body and whether on_complete stops
 * the feed (as the daemon's does); the next two pick a split point; the rest is the byte
 * stream from a server. It is fed as a caller does (keeping what was not consumed and handing
 * it back with the next bytes), whole, then split in two at the data-derived point, then (when
 * short) byte by byte; each run ends with rasn_h1resp_eof(). Invariants, checked with abort():
 *   - feed consumes at most what it is given, nothing once failed or ended;
 *   - a response's body never exceeds max_body, nor its Content-Length, and a complete
 *     Content-Length response has exactly that many bytes; 204/304 have none;
 *   - head values lie inside the bytes given, statuses are 200..999, errors carry a kind, a
 *     static reason and a message;
 *   - every run gives the same events (bodies compared as one byte stream per response) and
 *     the same eof result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

struct log {
	uint8_t *p;
	size_t len, cap;
};

struct run {
	struct log log;
	const char *buf;            /* the bytes of the current feed call */
	size_t buf_len;
	size_t max_body;
	int stop_complete;
	int in_body;
	enum rasn_h1resp_framing framing;
	uint64_t clen;
	size_t body;                /* of the current response */
	int errors;
};

static void put(struct log *l, const void *p, size_t n)
{
	if (l->cap - l->len < n) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap - l->len < n)
			cap *= 2;
		uint8_t *np = realloc(l->p, cap);
		check(np != NULL);
		l->p = np;
		l->cap = cap;
	}
	memcpy(l->p + l->len, p, n);
	l->len += n;
}

static void put_u64(struct log *l, uint64_t v)
{
	put(l, &v, sizeof(v));
}

static void put_str(struct log *l, const char *s, size_t n, struct run *r)
{
	if (!s) {
		put(l, "-", 1);
		return;
	}
	/* inside the bytes of this feed call */
	check(s >= r->buf && n <= r->buf_len && (size_t)(s - r->buf) <= r->buf_len - n);
	put_u64(l, n);
	put(l, s, n);
}

static int on_head(void *ud, const struct rasn_h1resp_head *h)
{
	struct run *r = ud;
	check(h->status >= 200 && h->status <= 999);
	check(h->framing <= RASN_H1RESP_UNTIL_EOF);
	if (h->status == 204 || h->status == 304)
		check(h->framing == RASN_H1RESP_NONE);
	if (h->framing == RASN_H1RESP_UNTIL_EOF)
		check(h->close);
	if (h->framing == RASN_H1RESP_LENGTH)
		check(h->content_length > 0 && h->content_length <= r->max_body);
	r->in_body = 0;
	r->framing = h->framing;
	r->clen = h->content_length;
	r->body = 0;
	put(&r->log, "H", 1);
	put_u64(&r->log, (uint64_t)h->status);
	put_u64(&r->log, (uint64_t)h->framing);
	put_u64(&r->log, h->content_length);
	put_u64(&r->log, (uint64_t)(h->close * 2 + h->http10));
	put_str(&r->log, h->etag, h->etag_len, r);
	put_str(&r->log, h->last_modified, h->last_modified_len, r);
	put_str(&r->log, h->retry_after, h->retry_after_len, r);
	return 0;
}

static int on_body(void *ud, const char *p, size_t n)
{
	struct run *r = ud;
	check(n > 0);
	check(p >= r->buf && n <= r->buf_len && (size_t)(p - r->buf) <= r->buf_len - n);
	check(r->framing != RASN_H1RESP_NONE);
	r->body += n;
	check(r->body <= r->max_body);
	if (r->framing == RASN_H1RESP_LENGTH)
		check(r->body <= r->clen);
	if (!r->in_body)
		put(&r->log, "B", 1);
	r->in_body = 1;
	put(&r->log, p, n);
	return 0;
}

static int on_complete(void *ud)
{
	struct run *r = ud;
	if (r->framing == RASN_H1RESP_LENGTH)
		check(r->body == r->clen);
	if (r->framing == RASN_H1RESP_NONE)
		check(r->body == 0);
	r->in_body = 0;
	r->body = 0;
	put(&r->log, "C", 1);
	return r->stop_complete;
}

static void on_error(void *ud, enum rasn_h1resp_err kind, const char *reason, const char *msg)
{
	struct run *r = ud;
	check(kind == RASN_H1RESP_EPROTO || kind == RASN_H1RESP_ETOOBIG);
	check(reason != NULL && reason[0] != '\0');
	check(msg != NULL && msg[0] != '\0' && strlen(msg) < RASN_H1RESP_MSG_MAX);
	check(++r->errors == 1);
	r->in_body = 0;
	put(&r->log, "E", 1);
	put_u64(&r->log, (uint64_t)kind);
	put(&r->log, msg, strlen(msg));
}

static const struct rasn_h1resp_cbs cbs = { on_head, on_body, on_complete, on_error };

/* Feeds the pieces [0, cut[0]), [cut[0], cut[1]), ... then eof. */
static void drive(struct run *r, const char *in, size_t len, const size_t *cuts, size_t ncuts, char *pend)
{
	struct rasn_h1resp p;
	size_t have = 0, off = 0;
	rasn_h1resp_init(&p, r->max_body);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		if (to < off)
			continue;
		memcpy(pend + have, in + off, to - off);
		have += to - off;
		off = to;
		for (;;) {
			int failed = rasn_h1resp_failed(&p);
			r->buf = pend;
			r->buf_len = have;
			size_t used = rasn_h1resp_feed(&p, &cbs, r, pend, have);
			check(used <= have);
			if (failed)
				check(used == 0);
			memmove(pend, pend + used, have - used);
			have -= used;
			if (used == 0 || rasn_h1resp_failed(&p))
				break;
		}
	}
	int rc = rasn_h1resp_eof(&p, &cbs, r);
	check(rc >= -1 && rc <= 1);
	put(&r->log, "Z", 1);
	put_u64(&r->log, (uint64_t)(rc + 1));
	check(rasn_h1resp_feed(&p, &cbs, r, in, len) == 0);
	check(p.responses <= len / 16 + 1); /* no response is under 16 bytes ("HTTP/1.1 200\r\n\r\n") */
}

static void same(const struct run *a, const struct run *b)
{
	check(a->log.len == b->log.len);
	check(memcmp(a->log.p, b->log.p, a->log.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_bodies[8] = { 0, 1, 5, 16, 100, 1000, 65536, 8u << 20 };
	if (size < 3)
		return 0;
	size_t max_body = max_bodies[data[0] & 7];
	{
		/* the Retry-After date parser sees the same hostile bytes, bounded by the length */
		int64_t t;
		if (rasn_http_date_parse((const char *)data + 3, size - 3, &t) == 0)
			check(t >= -62167219200LL && t <= 253402300799LL); /* years 0000..9999 */
	}
	int stop = (data[0] >> 3) & 1;
	size_t split = ((size_t)data[1] << 8 | data[2]);
	const char *in = (const char *)data + 3;
	size_t len = size - 3;
	split = len ? split % (len + 1) : 0;
	char *pend = malloc(len + 1);
	check(pend != NULL);

	struct run whole = { .max_body = max_body, .stop_complete = stop };
	drive(&whole, in, len, NULL, 0, pend);

	struct run two = { .max_body = max_body, .stop_complete = !stop };
	drive(&two, in, len, &split, 1, pend);
	same(&whole, &two);
	free(two.log.p);

	if (len <= 512) {
		size_t *cuts = malloc((len + 1) * sizeof(*cuts));
		check(cuts != NULL);
		for (size_t i = 0; i < len; i++)
			cuts[i] = i;
		struct run bytes = { .max_body = max_body, .stop_complete = stop };
		drive(&bytes, in, len, cuts, len, pend);
		same(&whole, &bytes);
		free(bytes.log.p);
		free(cuts);
	}
	free(whole.log.p);
	free(pend);
	return 0;
}
