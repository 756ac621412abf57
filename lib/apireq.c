/* HTTP API request targets to protocol lines. Every read goes through (pointer, length) pairs;
 * decoded values are written into fixed buffers with their bounds checked. */
#include <errno.h>
#include <string.h>

#include "apireq.h"
#include "rasn.h"

#define VALUE_MAX 256  /* longest decoded value: org text (docs/protocol.md) */
#define SOURCE_MAX 32

enum vclass { V_WORD, V_TEXT, V_SOURCE };

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int allowed(unsigned char c, enum vclass k)
{
	if (k == V_SOURCE)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       c == '-' || c == '_';
	if (c < 0x20 || c == 0x7f || c == '@')
		return 0;
	return k == V_TEXT || c != ' ';
}

/* Percent-decode s[0..n) ('+' is a space when plus) into out (cap bytes), checking each
 * decoded byte against k. Returns the length, or -1. */
static long decode(const char *s, size_t n, int plus, enum vclass k, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (n - i < 3 || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return -1;
			c = (unsigned char)(h << 4 | l);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (!allowed(c, k) || o == cap)
			return -1;
		out[o++] = (char)c;
	}
	return (long)o;
}

static void set_bad(struct rasn_apireq *out, const char *why)
{
	out->kind = RASN_API_BAD;
	out->len = 0;
	out->line[0] = '\0';
	out->error = why;
}

struct query {
	char q[VALUE_MAX];
	long qlen;              /* -1: absent */
	char source[SOURCE_MAX];
	long slen;
	const char *error;
};

/* The query string: q and source (each at most once); other parameters are ignored. */
static int parse_query(const char *s, size_t n, struct query *qs)
{
	qs->qlen = qs->slen = -1;
	qs->error = NULL;
	size_t i = 0;
	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t end = amp ? (size_t)(amp - s) : n;
		const char *eq = memchr(s + i, '=', end - i);
		size_t klen = eq ? (size_t)(eq - (s + i)) : end - i;
		const char *v = eq ? eq + 1 : s + end;
		size_t vlen = (size_t)(s + end - v);
		if (klen == 1 && s[i] == 'q') {
			if (qs->qlen >= 0)
				return qs->error = "parameter q given twice", -1;
			qs->qlen = decode(v, vlen, 1, V_TEXT, qs->q, sizeof(qs->q));
			if (qs->qlen < 0)
				return qs->error = "bad q: bad percent escape, control byte or '@', or over 256 bytes", -1;
		} else if (klen == 6 && memcmp(s + i, "source", 6) == 0) {
			if (qs->slen >= 0)
				return qs->error = "parameter source given twice", -1;
			qs->slen = decode(v, vlen, 1, V_SOURCE, qs->source, sizeof(qs->source));
			if (qs->slen <= 0)
				return qs->error = "bad source: letters, digits, '-' or '_', at most 32", -1;
		}
		i = end + 1;
	}
	return 0;
}

static void put(struct rasn_apireq *out, const char *s, size_t n)
{
	memcpy(out->line + out->len, s, n);
	out->len += n;
	out->line[out->len] = '\0';
}

static int seg_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(p, word, n) == 0;
}

int rasn_apireq_parse(const char *target, size_t len, struct rasn_apireq *out)
{
	const char *seg[5];
	size_t seglen[5], nseg = 0;
	struct query qs;
	char val[VALUE_MAX];
	long vlen = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > RASN_APIREQ_TARGET_MAX || target[0] != '/')
		return set_bad(out, "bad request target"), RASN_ESYNTAX;
	if (memchr(target, '#', len))
		return set_bad(out, "fragment in the request target"), RASN_ESYNTAX;
	const char *qm = memchr(target, '?', len);
	size_t plen = qm ? (size_t)(qm - target) : len;
	if (parse_query(qm ? qm + 1 : target + len, qm ? len - plen - 1 : 0, &qs) < 0)
		return set_bad(out, qs.error), RASN_ESYNTAX;
	/* path segments after the leading '/' (at most 5 are looked at) */
	for (size_t i = 1; i <= plen;) {
		const char *sl = memchr(target + i, '/', plen - i);
		size_t end = sl ? (size_t)(sl - target) : plen;
		if (nseg == 5)
			goto not_found;
		seg[nseg] = target + i;
		seglen[nseg++] = end - i;
		i = end + 1;
	}
	if (nseg == 1 && seg_is(seg[0], seglen[0], "metrics")) {
		out->kind = RASN_API_METRICS;
		return 0;
	}
	if (nseg < 2 || !seg_is(seg[0], seglen[0], "v1"))
		goto not_found;
	if (nseg == 2 && seg_is(seg[1], seglen[1], "bulk")) {
		out->kind = RASN_API_BULK;
		return 0;
	}
	const char *word;
	if (nseg == 2 && seg_is(seg[1], seglen[1], "org")) {
		if (qs.qlen <= 0)
			return set_bad(out, "org needs q=TEXT"), RASN_ESYNTAX;
		memcpy(val, qs.q, (size_t)qs.qlen);
		vlen = qs.qlen;
		word = "org ";
	} else if (nseg == 3 || (nseg == 4 && seg_is(seg[1], seglen[1], "as") &&
				 seg_is(seg[3], seglen[3], "prefixes"))) {
		if (seg_is(seg[1], seglen[1], "ip"))
			word = "ip ";
		else if (seg_is(seg[1], seglen[1], "as"))
			word = nseg == 4 ? "prefixes " : "as ";
		else if (seg_is(seg[1], seglen[1], "domain"))
			word = "domain ";
		else
			goto not_found;
		vlen = decode(seg[2], seglen[2], 0, V_WORD, val, sizeof(val));
		if (vlen <= 0)
			return set_bad(out, "bad value in the path: empty, bad percent escape, blank, control byte or '@'"),
			       RASN_ESYNTAX;
	} else {
		goto not_found;
	}
	out->kind = RASN_API_LOOKUP;
	put(out, word, strlen(word));
	put(out, val, (size_t)vlen);
	if (qs.slen > 0) {
		put(out, " @", 2);
		put(out, qs.source, (size_t)qs.slen);
	}
	return 0;
not_found:
	out->kind = RASN_API_NOT_FOUND;
	return -ENOENT;
}
