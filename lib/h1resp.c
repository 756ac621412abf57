/* The HTTP/1.1 response parser (h1resp.h). Every scan is bounded by the length given: lines
 * are found with memmem/memchr inside the bytes at hand, never with a NUL terminator. Bounds
 * are checked both when a unit is still incomplete and when it is whole, with the same limit,
 * so the outcome does not depend on where the reads split the stream. Character classes are
 * ASCII, whatever the locale. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h1resp.h"

_Static_assert(RASN_H1RESP_HEAD_MAX == 65536, "the error texts below spell HEAD_MAX out");

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int hex_val(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 9110 5.6.2 token characters. (The parser this one was taken from let NUL through,
 * because strchr finds the terminator; a NUL in a header name is refused now.) */
static int is_tchar(unsigned char c)
{
	return is_digit(c) || is_alpha(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does the comma-separated list hold the token (case-insensitive)? */
static int has_token(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < vl) {
		while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vl && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* The last token of a comma-separated list is tok. */
static int last_token_is(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok), e = vl;
	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	size_t s = e;
	while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
		s--;
	return e - s == tl && strncasecmp(v + s, tok, tl) == 0;
}

static void fail(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, enum rasn_h1resp_err kind,
		 const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* reason: static; fmt (NULL: the reason as is) adds the numbers users see. */
static void fail(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, enum rasn_h1resp_err kind,
		 const char *reason, const char *fmt, ...)
{
	p->state = RASN_H1RESP_S_FAILED;
	p->err = kind;
	p->reason = reason;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
		va_end(ap);
	} else {
		snprintf(p->msg, sizeof(p->msg), "%s", reason);
	}
	if (cbs && cbs->on_error)
		cbs->on_error(ud, kind, p->reason, p->msg);
}

static void proto(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, const char *reason)
{
	fail(p, cbs, ud, RASN_H1RESP_EPROTO, reason, NULL);
}

/* One header block, "\r\n\r\n" included (n >= 4). Returns 1 for a 1xx (skipped), 0 for a final
 * head (*h filled, the state set for its body), -1 failed. */
static int parse_head(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, const char *s, size_t n,
		      struct rasn_h1resp_head *h)
{
	const char *end = s + n - 2, *line = s;
	const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
	if (!eol || eol - line < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ' || !is_digit((unsigned char)line[9]) || !is_digit((unsigned char)line[10]) ||
	    !is_digit((unsigned char)line[11]) || (eol - line > 12 && line[12] != ' ')) {
		proto(p, cbs, ud, "malformed HTTP/1.1 status line");
		return -1;
	}
	int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	int http10 = line[7] == '0';
	if (status < 100 || status == 101) {
		/* 101 would switch protocols under us: nothing asked for it */
		fail(p, cbs, ud, RASN_H1RESP_EPROTO, "unexpected HTTP status", "unexpected HTTP status %d", status);
		return -1;
	}
	if (status < 200)
		return 1; /* interim: the real head follows; its lines are not ours to judge */

	int chunked = 0, te = 0, have_len = 0, close = http10;
	uint64_t len = 0;
	memset(h, 0, sizeof(*h));
	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (!eol) { /* cannot happen: the block ends in CRLF; kept as a guard */
			proto(p, cbs, ud, "malformed HTTP/1.1 header");
			return -1;
		}
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line) {
			proto(p, cbs, ud, "malformed HTTP/1.1 header line");
			return -1;
		}
		for (const char *q = line; q < colon; q++)
			if (!is_tchar((unsigned char)*q)) {
				proto(p, cbs, ud, "bad HTTP/1.1 header name");
				return -1;
			}
		const char *v = colon + 1, *ve = eol;
		for (const char *q = v; q < ve; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
				proto(p, cbs, ud, "bad HTTP/1.1 header value");
				return -1;
			}
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t nl = (size_t)(colon - line), vl = (size_t)(ve - v);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(line, name, nl) == 0)
		if (IS("content-length")) {
			/* 18 digits cannot overflow 64 bits */
			uint64_t x = 0;
			if (vl == 0 || vl > 18) {
				proto(p, cbs, ud, "bad Content-Length");
				return -1;
			}
			for (size_t i = 0; i < vl; i++) {
				if (!is_digit((unsigned char)v[i])) {
					proto(p, cbs, ud, "bad Content-Length");
					return -1;
				}
				x = x * 10 + (uint64_t)(v[i] - '0');
			}
			if (have_len && x != len) {
				/* a smuggling vector: which one would a proxy on the way have used? */
				proto(p, cbs, ud, "conflicting Content-Length");
				return -1;
			}
			have_len = 1;
			len = x;
		} else if (IS("transfer-encoding")) {
			te = 1;
			chunked = last_token_is(v, vl, "chunked");
		} else if (IS("connection")) {
			if (has_token(v, vl, "close"))
				close = 1;
			else if (has_token(v, vl, "keep-alive"))
				close = 0;
		} else if (IS("etag")) {
			h->etag = v;
			h->etag_len = vl;
		} else if (IS("last-modified")) {
			h->last_modified = v;
			h->last_modified_len = vl;
		} else if (IS("retry-after")) {
			h->retry_after = v;
			h->retry_after_len = vl;
		}
#undef IS
	}
	h->status = status;
	h->http10 = http10;
	if (status == 204 || status == 304) {
		h->framing = RASN_H1RESP_NONE;
	} else if (te) {
		if (!chunked) {
			/* we cannot find the end of a body in a coding we do not decode */
			proto(p, cbs, ud, "unsupported Transfer-Encoding");
			return -1;
		}
		h->framing = RASN_H1RESP_CHUNKED;
	} else if (have_len) {
		if (len > p->max_body) {
			fail(p, cbs, ud, RASN_H1RESP_ETOOBIG, "Content-Length over max_body",
			     "body of %llu bytes, more than %zu", (unsigned long long)len, p->max_body);
			return -1;
		}
		h->framing = len ? RASN_H1RESP_LENGTH : RASN_H1RESP_NONE;
		h->content_length = len;
	} else {
		h->framing = RASN_H1RESP_UNTIL_EOF;
		close = 1; /* the end of the connection is the end of the body */
	}
	h->close = close;

	p->status = status;
	p->close = close;
	p->body_bytes = 0;
	p->trailer_bytes = 0;
	switch (h->framing) {
	case RASN_H1RESP_NONE: p->state = RASN_H1RESP_S_DONE; break;
	case RASN_H1RESP_LENGTH: p->state = RASN_H1RESP_S_LEN; p->left = len; break;
	case RASN_H1RESP_CHUNKED: p->state = RASN_H1RESP_S_CHUNK_SIZE; break;
	case RASN_H1RESP_UNTIL_EOF: p->state = RASN_H1RESP_S_EOF; break;
	}
	return 0;
}

/* Hands n body bytes to on_body. Returns the callback's result. */
static int body(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, const char *s, size_t n)
{
	p->body_bytes += n;
	if (n && cbs && cbs->on_body)
		return cbs->on_body(ud, s, n);
	return 0;
}

/* The response is complete: ready for the next one, then tell the caller. */
static int complete(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud)
{
	p->state = RASN_H1RESP_S_HEAD;
	p->left = 0;
	p->body_bytes = 0;
	p->trailer_bytes = 0;
	p->responses++;
	if (cbs && cbs->on_complete)
		return cbs->on_complete(ud);
	return 0;
}

void rasn_h1resp_init(struct rasn_h1resp *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->state = RASN_H1RESP_S_HEAD;
	p->max_body = max_body;
}

size_t rasn_h1resp_feed(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud, const char *data,
			size_t len)
{
	size_t pos = 0;
	for (;;) {
		if (p->state == RASN_H1RESP_S_DONE) {
			if (complete(p, cbs, ud))
				return pos;
			continue;
		}
		if (pos >= len)
			return pos;
		const char *s = data + pos;
		size_t left = len - pos;
		int stop = 0;
		switch (p->state) {
		case RASN_H1RESP_S_HEAD: {
			const char *e = memmem(s, left, "\r\n\r\n", 4);
			if (!e) {
				if (left > RASN_H1RESP_HEAD_MAX)
					proto(p, cbs, ud, "response header over 65536 bytes");
				return pos;
			}
			size_t hl = (size_t)(e - s) + 4;
			if (hl > RASN_H1RESP_HEAD_MAX) {
				proto(p, cbs, ud, "response header over 65536 bytes");
				return pos;
			}
			struct rasn_h1resp_head h;
			int rc = parse_head(p, cbs, ud, s, hl, &h);
			if (rc < 0)
				return pos;
			pos += hl;
			if (rc > 0) {
				p->interim++;
				break;
			}
			if (cbs && cbs->on_head)
				stop = cbs->on_head(ud, &h);
			break;
		}
		case RASN_H1RESP_S_LEN:
		case RASN_H1RESP_S_CHUNK_DATA: {
			/* left is within max_body: the head or the chunk-size line checked it */
			size_t take = left < p->left ? left : (size_t)p->left;
			pos += take;
			p->left -= take;
			if (p->left == 0)
				p->state = p->state == RASN_H1RESP_S_LEN ? RASN_H1RESP_S_DONE
									  : RASN_H1RESP_S_CHUNK_CRLF;
			stop = body(p, cbs, ud, s, take);
			break;
		}
		case RASN_H1RESP_S_EOF: {
			/* what fits goes out before the error, so that the events are the same however
			 * the stream was split */
			size_t room = p->max_body - p->body_bytes, take = left < room ? left : room;
			pos += take;
			if (take)
				stop = body(p, cbs, ud, s, take);
			if (!stop && take < left) {
				fail(p, cbs, ud, RASN_H1RESP_ETOOBIG, "body over max_body", "body larger than %zu bytes",
				     p->max_body);
				return pos;
			}
			break;
		}
		case RASN_H1RESP_S_CHUNK_SIZE: {
			const char *e = memmem(s, left, "\r\n", 2);
			/* a line without its LF, CR included, is as long as the longest prefix of it
			 * a split can show us: the same bound either way */
			if (e ? (size_t)(e - s) + 1 > RASN_H1RESP_CHUNK_LINE_MAX : left > RASN_H1RESP_CHUNK_LINE_MAX) {
				proto(p, cbs, ud, "chunk size line too long");
				return pos;
			}
			if (!e)
				return pos;
			uint64_t sz = 0;
			const char *q = s;
			int digits = 0, d;
			for (; q < e && (d = hex_val((unsigned char)*q)) >= 0; q++, digits++) {
				if (digits >= 15) { /* 60 bits: no overflow, and far above any max_body */
					proto(p, cbs, ud, "chunk size too large");
					return pos;
				}
				sz = sz * 16 + (uint64_t)d;
			}
			/* chunk extensions (after ';', or after the blanks some servers put first)
			 * are skipped unread */
			if (!digits || (q < e && *q != ';' && *q != ' ' && *q != '\t')) {
				proto(p, cbs, ud, "malformed chunk size");
				return pos;
			}
			if (sz > p->max_body - p->body_bytes) {
				fail(p, cbs, ud, RASN_H1RESP_ETOOBIG, "body over max_body", "body larger than %zu bytes",
				     p->max_body);
				return pos;
			}
			pos += (size_t)(e - s) + 2;
			p->left = sz;
			p->state = sz ? RASN_H1RESP_S_CHUNK_DATA : RASN_H1RESP_S_TRAILERS;
			break;
		}
		case RASN_H1RESP_S_CHUNK_CRLF:
			if (left < 2)
				return pos;
			if (s[0] != '\r' || s[1] != '\n') {
				proto(p, cbs, ud, "malformed chunk end");
				return pos;
			}
			pos += 2;
			p->state = RASN_H1RESP_S_CHUNK_SIZE;
			break;
		case RASN_H1RESP_S_TRAILERS: {
			/* read and dropped: nothing of ours is sent as a trailer */
			const char *e = memmem(s, left, "\r\n", 2);
			if (!e) {
				if (left + p->trailer_bytes > RASN_H1RESP_HEAD_MAX)
					proto(p, cbs, ud, "trailers too long");
				return pos;
			}
			size_t ll = (size_t)(e - s) + 2;
			p->trailer_bytes += ll;
			if (p->trailer_bytes > RASN_H1RESP_HEAD_MAX) {
				proto(p, cbs, ud, "trailers too long");
				return pos;
			}
			pos += ll;
			if (ll == 2)
				p->state = RASN_H1RESP_S_DONE;
			break;
		}
		case RASN_H1RESP_S_DONE: /* handled above */
		case RASN_H1RESP_S_FAILED:
		case RASN_H1RESP_S_ENDED:
		default:
			return pos;
		}
		if (stop)
			return pos;
	}
}

int rasn_h1resp_eof(struct rasn_h1resp *p, const struct rasn_h1resp_cbs *cbs, void *ud)
{
	int rc;
	switch (p->state) {
	case RASN_H1RESP_S_EOF:
	case RASN_H1RESP_S_DONE:
		complete(p, cbs, ud);
		rc = 1;
		break;
	case RASN_H1RESP_S_HEAD:
		rc = 0;
		break;
	default:
		rc = -1;
		break;
	}
	if (!rasn_h1resp_failed(p))
		p->state = RASN_H1RESP_S_ENDED;
	return rc;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int rasn_http_date_parse(const char *s, size_t len, int64_t *unix_s)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes, every field at a fixed place */
	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
	    s[19] != ':' || s[22] != ':' || s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
		return -1;
	int wd = -1, mon = -1;
	for (int i = 0; i < 7; i++)
		if (memcmp(s, days + 3 * i, 3) == 0)
			wd = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			mon = i + 1;
	unsigned d, y, hh, mm, ss;
	if (wd < 0 || mon < 0 || digits(s + 5, 2, &d) < 0 || digits(s + 12, 4, &y) < 0 || digits(s + 17, 2, &hh) < 0 ||
	    digits(s + 20, 2, &mm) < 0 || digits(s + 23, 2, &ss) < 0)
		return -1;
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d < 1 || d > mdays[mon - 1] || (mon == 2 && d == 29 && !leap) || hh > 23 || mm > 59 || ss > 60)
		return -1;
	if (ss == 60)
		ss = 59; /* a leap second: the one before it is close enough */
	*unix_s = days_from_civil((int64_t)y, (unsigned)mon, d) * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + (int64_t)ss;
	return 0;
}
