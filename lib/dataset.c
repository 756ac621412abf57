/* Dataset readers (see dataset.h). One pass over the buffer: memchr finds each line end, then
 * hand-written field parsers look at every byte of the line and never step past its end.
 * No sscanf/strtok: the full dataset is ~500k lines and start-up time matters. */
#include <string.h>

#include "dataset.h"

#define U32_MAX_V ((rasn_u128)0xffffffffu)
/* How many non-blank lines detection looks at before giving up. */
#define DETECT_LINES 8

struct span {
	const char *p;
	size_t n;
};

/* Per-parse state; the scratch buffer holds a quoted name after unescaping. It has one byte
 * past the cut so the UTF-8 boundary can be found without the rest of the name. */
struct ds_ctx {
	struct rasn_ds_row row;
	const char *why; /* reason for the current bad line */
	char scratch[RASN_DS_MAX_NAME + 1];
};

enum line_verdict { LINE_ROW, LINE_SKIP, LINE_BAD };
enum addr_kind { ADDR_BAD, ADDR_V4, ADDR_V6, ADDR_NUM };

static inline int is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

static inline int is_alpha(char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26;
}

static int is_blank(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r')
			return 0;
	return 1;
}

static const char *skip_bom(const char *p, const char *e)
{
	if (e - p >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
	    (unsigned char)p[2] == 0xbf)
		return p + 3;
	return p;
}

/* Length of s[0..n) cut to at most RASN_DS_MAX_NAME bytes without splitting a UTF-8
 * sequence. s[RASN_DS_MAX_NAME] must be readable when n exceeds the limit. */
static size_t utf8_cut(const char *s, size_t n)
{
	if (n <= RASN_DS_MAX_NAME)
		return n;
	size_t k = RASN_DS_MAX_NAME;
	/* The byte just past the cut is a continuation byte: the character it belongs to started
	 * at most three bytes earlier; drop it whole. Invalid UTF-8 is cut where it is. */
	for (int i = 0; i < 4 && k > 0; i++) {
		if (((unsigned char)s[k] & 0xc0) != 0x80)
			return k;
		k--;
	}
	return RASN_DS_MAX_NAME;
}

/* Strict dotted quad at p (no leading zeros); returns the end of it or NULL. The fast path
 * for the bulk of the data, same rules as rasn_addr_parse4. */
static inline const char *parse_quad(const char *p, const char *e, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		if (i) {
			if (p == e || *p != '.')
				return NULL;
			p++;
		}
		if (p == e || !is_digit(*p))
			return NULL;
		unsigned o = (unsigned)(*p++ - '0');
		if (o != 0) {
			if (p < e && is_digit(*p)) {
				o = o * 10 + (unsigned)(*p++ - '0');
				if (p < e && is_digit(*p))
					o = o * 10 + (unsigned)(*p++ - '0');
			}
			if (o > 255)
				return NULL;
		}
		v = v << 8 | o;
	}
	*out = v;
	return p;
}

/* Hex digit value plus one; 0 for anything else. */
static const unsigned char hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* IPv6 text at p without an embedded dotted quad; returns the end of it or NULL. A fast
 * path that accepts a subset of rasn_addr_parse6 (which handles whatever this refuses). */
static inline const char *parse_hex6(const char *p, const char *e, rasn_u128 *out)
{
	uint16_t g[8];
	int ng = 0, gap = -1, optional = 0;
	if (e - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		optional = 1;
		p += 2;
	}
	for (;;) {
		const char *d = p;
		unsigned v = 0, x;
		while (p < e && p - d < 4 && (x = hex1[(unsigned char)*p])) {
			v = v << 4 | (x - 1);
			p++;
		}
		if (p == d) {
			if (!optional)
				return NULL;
			break;
		}
		if ((p < e && hex1[(unsigned char)*p]) || ng == 8)
			return NULL;
		g[ng++] = (uint16_t)v;
		optional = 0;
		if (p == e || *p != ':')
			break;
		if (p + 1 < e && p[1] == ':') {
			if (gap >= 0)
				return NULL;
			gap = ng;
			optional = 1;
			p += 2;
		} else {
			p++;
		}
	}
	if ((p < e && (*p == '.' || *p == ':')) || (gap < 0 ? ng != 8 : ng > 7))
		return NULL;
	rasn_u128 v = 0;
	for (int j = 0, k = 0; j < 8; j++) {
		int zero = gap >= 0 && j >= gap && j < gap + 8 - ng;
		v = v << 16 | (zero ? 0 : g[k++]);
	}
	*out = v;
	return p;
}

/* Decimal integer up to 2^128-1 (the -num files). Returns 0 or -1. */
static int parse_u128(const char *p, size_t n, rasn_u128 *out)
{
	const rasn_u128 max = ~(rasn_u128)0;
	uint64_t lo = 0;
	size_t i = 0;
	if (n == 0)
		return -1;
	/* Up to 19 digits fit a uint64_t: keep the common case off 128-bit arithmetic. */
	for (; i < n && i < 19; i++) {
		if (!is_digit(p[i]))
			return -1;
		lo = lo * 10 + (uint64_t)(p[i] - '0');
	}
	rasn_u128 v = lo;
	for (; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > max / 10 || (v == max / 10 && d > (unsigned)(max % 10)))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ASN: 1..10 decimal digits, at most 4294967295. Returns 0 or -1. */
static int parse_asn(const char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > 0xffffffffu)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static enum addr_kind parse_addr_field(struct span f, rasn_u128 *out)
{
	const char *e = f.p + f.n;
	uint32_t v4 = 0;
	if (parse_quad(f.p, e, &v4) == e) {
		*out = v4;
		return ADDR_V4;
	}
	if (parse_hex6(f.p, e, out) == e)
		return ADDR_V6;
	if (f.n && memchr(f.p, ':', f.n))
		return rasn_addr_parse6(f.p, f.n, out) == 0 ? ADDR_V6 : ADDR_BAD;
	return parse_u128(f.p, f.n, out) == 0 ? ADDR_NUM : ADDR_BAD;
}

/* start/end as address text or decimal integers; fills family, first and last. */
static const char *parse_range(struct span a, struct span b, struct rasn_ds_row *row)
{
	enum addr_kind ka = parse_addr_field(a, &row->first);
	if (ka == ADDR_BAD)
		return "bad start address";
	enum addr_kind kb = parse_addr_field(b, &row->last);
	if (kb == ADDR_BAD)
		return "bad end address";
	if (ka != kb)
		return "mixed address families";
	if (ka == ADDR_NUM)
		row->family = row->last > U32_MAX_V ? RASN_AF6 : RASN_AF4;
	else
		row->family = ka == ADDR_V4 ? RASN_AF4 : RASN_AF6;
	if (row->first > row->last)
		return "start after end";
	return NULL;
}

/* p is just past an opening quote; returns the closing quote or NULL. "" is a quote. */
static const char *quoted_end(const char *p, const char *e)
{
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		if (q + 1 < e && q[1] == '"') {
			p = q + 2;
			continue;
		}
		return q;
	}
}

/* One of the first three CSV fields, ending in a comma. Quotes are allowed around it; the
 * content is left raw (an escaped quote fails the address or ASN parse anyway). Returns the
 * position after the comma or NULL with c->why set. */
static const char *csv_field(struct ds_ctx *c, const char *p, const char *e, struct span *f)
{
	const char *q;
	if (p < e && *p == '"') {
		q = quoted_end(p + 1, e);
		if (!q) {
			c->why = "unterminated quote";
			return NULL;
		}
		f->p = p + 1;
		f->n = (size_t)(q - f->p);
		q++;
		if (q < e && *q != ',') {
			c->why = "trailing garbage";
			return NULL;
		}
	} else {
		for (q = p; q < e && *q != ','; q++)
			if (*q == '"') {
				c->why = "stray quote";
				return NULL;
			}
		f->p = p;
		f->n = (size_t)(q - p);
	}
	if (q == e) {
		c->why = "wrong field count";
		return NULL;
	}
	return q + 1;
}

/* The last CSV field, the org name: quoted (unescaped into scratch) or plain. */
static int csv_name(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	if (p == e || *p != '"') {
		for (const char *q = p; q < e; q++)
			if (*q == ',' || *q == '"') {
				c->why = *q == ',' ? "wrong field count" : "stray quote";
				return -1;
			}
		row->name = p;
		row->name_len = utf8_cut(p, (size_t)(e - p));
		return 0;
	}
	size_t full = 0, cap = sizeof(c->scratch);
	p++;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q) {
			c->why = "unterminated quote";
			return -1;
		}
		size_t n = (size_t)(q - p);
		if (full < cap)
			memcpy(c->scratch + full, p, n < cap - full ? n : cap - full);
		full += n;
		if (q + 1 < e && q[1] == '"') {
			if (full < cap)
				c->scratch[full] = '"';
			full++;
			p = q + 2;
			continue;
		}
		p = q + 1;
		break;
	}
	if (p != e) {
		c->why = *p == ',' ? "wrong field count" : "trailing garbage";
		return -1;
	}
	row->name = c->scratch;
	row->name_len = utf8_cut(c->scratch, full);
	return 0;
}

/* Digits up to a comma: returns the comma or NULL. For the fast path only. */
static inline const char *asn_to_comma(const char *p, const char *e, uint32_t *out)
{
	const char *d = p;
	uint64_t v = 0;
	while (p < e && is_digit(*p) && p - d < 10)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == d || p == e || *p != ',' || v > 0xffffffffu)
		return NULL;
	*out = (uint32_t)v;
	return p;
}

/* The bulk of the data: "a.b.c.d,a.b.c.d,asn,name". It only accepts; anything it does not
 * like goes to the general path, which alone decides what is wrong with a line. */
static inline int csv_fast4(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	uint32_t a = 0, b = 0, asn = 0;
	p = parse_quad(p, e, &a);
	if (!p || p == e || *p != ',')
		return -1;
	p = parse_quad(p + 1, e, &b);
	if (!p || p == e || *p != ',' || a > b)
		return -1;
	p = asn_to_comma(p + 1, e, &asn);
	if (!p || asn == 0 || csv_name(c, p + 1, e) < 0)
		return -1;
	row->family = RASN_AF4;
	row->first = a;
	row->last = b;
	row->asns[0] = asn;
	row->n_asns = 1;
	return 0;
}

/* Same for IPv6 rows. */
static inline int csv_fast6(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	rasn_u128 a = 0, b = 0;
	uint32_t asn = 0;
	p = parse_hex6(p, e, &a);
	if (!p || p == e || *p != ',')
		return -1;
	p = parse_hex6(p + 1, e, &b);
	if (!p || p == e || *p != ',' || a > b)
		return -1;
	p = asn_to_comma(p + 1, e, &asn);
	if (!p || asn == 0 || csv_name(c, p + 1, e) < 0)
		return -1;
	row->family = RASN_AF6;
	row->first = a;
	row->last = b;
	row->asns[0] = asn;
	row->n_asns = 1;
	return 0;
}

static enum line_verdict csv_line(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	struct span f[3];
	if (csv_fast4(c, p, e) == 0 || csv_fast6(c, p, e) == 0)
		return LINE_ROW;
	for (int i = 0; i < 3; i++)
		if (!(p = csv_field(c, p, e, &f[i])))
			return LINE_BAD;
	if (csv_name(c, p, e) < 0)
		return LINE_BAD;
	if ((c->why = parse_range(f[0], f[1], row)))
		return LINE_BAD;
	if (parse_asn(f[2].p, f[2].n, &row->asns[0]) < 0) {
		c->why = "bad ASN";
		return LINE_BAD;
	}
	row->n_asns = 1;
	/* AS0 marks unrouted space (RFC 7607): never an answer. */
	return row->asns[0] ? LINE_ROW : LINE_SKIP;
}

/* Split a line at tabs into exactly n fields. Returns 0 or -1 on another count. */
static int tab_split(const char *p, const char *e, struct span *f, int n)
{
	for (int i = 0; i < n; i++) {
		const char *q = i < n - 1 ? memchr(p, '\t', (size_t)(e - p)) : e;
		if (!q)
			return -1;
		f[i].p = p;
		f[i].n = (size_t)(q - p);
		p = q + 1;
	}
	/* The last field must not hold another tab. */
	return memchr(f[n - 1].p, '\t', f[n - 1].n) ? -1 : 0;
}

static enum line_verdict tsv_line(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	struct span f[5];
	if (tab_split(p, e, f, 5) < 0) {
		c->why = "wrong field count";
		return LINE_BAD;
	}
	if ((c->why = parse_range(f[0], f[1], row)))
		return LINE_BAD;
	if (parse_asn(f[2].p, f[2].n, &row->asns[0]) < 0) {
		c->why = "bad ASN";
		return LINE_BAD;
	}
	row->n_asns = 1;
	if (f[3].n == 2 && is_alpha(f[3].p[0]) && is_alpha(f[3].p[1])) {
		row->cc[0] = f[3].p[0];
		row->cc[1] = f[3].p[1];
		row->cc[2] = 0;
	} else if (!(f[3].n == 0 || (f[3].n == 4 && !memcmp(f[3].p, "None", 4)))) {
		c->why = "bad country code";
		return LINE_BAD;
	}
	row->name = f[4].p;
	row->name_len = utf8_cut(f[4].p, f[4].n);
	return row->asns[0] ? LINE_ROW : LINE_SKIP;
}

static void add_origin(struct rasn_ds_row *row, uint32_t asn)
{
	if (asn == 0 || row->n_asns == RASN_DS_MAX_ORIGINS)
		return;
	for (unsigned i = 0; i < row->n_asns; i++)
		if (row->asns[i] == asn)
			return;
	row->asns[row->n_asns++] = asn;
}

/* "a", "a_b" (multi-origin), "a,b" or "{a,b}" (AS sets), mixed: "a_{b,c}". */
static int parse_origins(const char *p, const char *e, struct rasn_ds_row *row)
{
	int in_set = 0;
	row->n_asns = 0;
	for (;;) {
		if (p < e && *p == '{') {
			if (in_set)
				return -1;
			in_set = 1;
			p++;
		}
		const char *q = p;
		while (q < e && is_digit(*q))
			q++;
		uint32_t asn;
		if (parse_asn(p, (size_t)(q - p), &asn) < 0)
			return -1;
		add_origin(row, asn);
		p = q;
		if (p < e && *p == '}') {
			if (!in_set)
				return -1;
			in_set = 0;
			p++;
		}
		if (p == e)
			break;
		if (*p == '_' && in_set)
			return -1;
		if (*p != '_' && *p != ',')
			return -1;
		p++;
	}
	return in_set ? -1 : 0;
}

static enum line_verdict pfx2as_line(struct ds_ctx *c, const char *p, const char *e)
{
	struct rasn_ds_row *row = &c->row;
	struct span f[3];
	if (tab_split(p, e, f, 3) < 0) {
		c->why = "wrong field count";
		return LINE_BAD;
	}
	enum addr_kind k = ADDR_BAD;
	uint32_t v4 = 0;
	if (parse_quad(f[0].p, f[0].p + f[0].n, &v4) == f[0].p + f[0].n) {
		row->first = v4;
		k = ADDR_V4;
	} else if (parse_hex6(f[0].p, f[0].p + f[0].n, &row->first) == f[0].p + f[0].n) {
		k = ADDR_V6;
	} else if (f[0].n && memchr(f[0].p, ':', f[0].n) &&
		   rasn_addr_parse6(f[0].p, f[0].n, &row->first) == 0) {
		k = ADDR_V6;
	}
	if (k == ADDR_BAD) {
		c->why = "bad prefix";
		return LINE_BAD;
	}
	row->family = k == ADDR_V4 ? RASN_AF4 : RASN_AF6;
	unsigned bits = rasn_af_bits(row->family), len = 0;
	if (f[1].n == 0 || f[1].n > 3) {
		c->why = "bad prefix length";
		return LINE_BAD;
	}
	for (size_t i = 0; i < f[1].n; i++) {
		if (!is_digit(f[1].p[i])) {
			c->why = "bad prefix length";
			return LINE_BAD;
		}
		len = len * 10 + (unsigned)(f[1].p[i] - '0');
	}
	if (len > bits) {
		c->why = "bad prefix length";
		return LINE_BAD;
	}
	/* Shifting by the full width is undefined: a /0 has every bit as host bits. */
	rasn_u128 host = len == 0 ? (bits == 32 ? U32_MAX_V : ~(rasn_u128)0)
				  : (((rasn_u128)1 << (bits - len)) - 1);
	if (row->first & host) {
		c->why = "host bits set";
		return LINE_BAD;
	}
	row->last = row->first | host;
	if (parse_origins(f[2].p, f[2].p + f[2].n, row) < 0) {
		c->why = "bad ASN";
		return LINE_BAD;
	}
	return row->n_asns ? LINE_ROW : LINE_SKIP;
}

/* One line's shape: tabs decide between pfx2as and iptoasn, else four CSV fields. */
static enum rasn_ds_format detect_line(const char *p, const char *e)
{
	if (memchr(p, '\t', (size_t)(e - p))) {
		struct span f[3];
		int nf = 0;
		for (const char *q = p;; nf++) {
			const char *t = memchr(q, '\t', (size_t)(e - q));
			if (nf < 3) {
				f[nf].p = q;
				f[nf].n = (size_t)((t ? t : e) - q);
			}
			if (!t) {
				nf++;
				break;
			}
			q = t + 1;
		}
		if (nf == 3 && f[1].n >= 1 && f[1].n <= 3) {
			unsigned v = 0, ok = 1;
			for (size_t i = 0; i < f[1].n; i++) {
				ok &= (unsigned)is_digit(f[1].p[i]);
				v = v * 10 + (unsigned)(f[1].p[i] - '0');
			}
			if (ok && v <= 128)
				return RASN_DS_PFX2AS;
		}
		if (nf >= 5)
			return RASN_DS_IPTOASN_TSV;
	}
	unsigned nf = 1;
	int in_q = 0;
	for (const char *q = p; q < e; q++) {
		if (*q == '"')
			in_q = !in_q; /* "" toggles twice: right for escapes too */
		else if (*q == ',' && !in_q)
			nf++;
	}
	return nf == 4 && !in_q ? RASN_DS_IPLDB_CSV : RASN_DS_AUTO;
}

enum rasn_ds_format rasn_ds_detect(const char *buf, size_t len)
{
	if (!buf)
		return RASN_DS_AUTO;
	const char *end = buf + len, *p = skip_bom(buf, end);
	for (int seen = 0; p < end && seen < DETECT_LINES;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *e = eol;
		if (e > p && e[-1] == '\r')
			e--;
		if (!is_blank(p, e)) {
			enum rasn_ds_format f = detect_line(p, e);
			if (f != RASN_DS_AUTO)
				return f;
			seen++;
		}
		p = nl ? nl + 1 : end;
	}
	return RASN_DS_AUTO;
}

int rasn_ds_parse(const char *buf, size_t len, enum rasn_ds_format fmt,
		  rasn_ds_row_fn row_fn, rasn_ds_error_fn err_fn, void *ud,
		  struct rasn_ds_result *res)
{
	struct rasn_ds_result local;
	struct ds_ctx c;
	int ret = 0;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!buf)
		len = 0;
	if (fmt == RASN_DS_AUTO)
		fmt = rasn_ds_detect(buf, len);
	res->format = fmt;
	if (fmt != RASN_DS_IPLDB_CSV && fmt != RASN_DS_IPTOASN_TSV && fmt != RASN_DS_PFX2AS) {
		res->format = RASN_DS_AUTO;
		return RASN_EFORMAT;
	}
	if (len == 0)
		return 0;

	/* Rows carry only what their format has; the rest stays zero. */
	memset(&c.row, 0, sizeof(c.row));
	const char *end = buf + len, *p = skip_bom(buf, end);
	/* The next NUL at or after p, found once for the whole buffer rather than per line. */
	const char *nul = memchr(p, 0, (size_t)(end - p));
	size_t line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *e = eol;
		enum line_verdict v;
		line++;
		if (e > p && e[-1] == '\r')
			e--;
		if (nul && nul < eol) {
			c.why = "NUL byte";
			v = LINE_BAD;
			nul = memchr(eol, 0, (size_t)(end - eol));
		} else if (p == e || ((*p == ' ' || *p == '\t' || *p == '\r') && is_blank(p, e))) {
			p = nl ? nl + 1 : end;
			continue;
		} else {
			c.row.name = NULL;
			c.row.name_len = 0;
			c.row.cc[0] = 0;
			c.row.line = line;
			if (fmt == RASN_DS_IPLDB_CSV)
				v = csv_line(&c, p, e);
			else if (fmt == RASN_DS_IPTOASN_TSV)
				v = tsv_line(&c, p, e);
			else
				v = pfx2as_line(&c, p, e);
		}
		if (v == LINE_ROW) {
			res->rows++;
			int r = row_fn ? row_fn(ud, &c.row) : 0;
			if (r < 0) {
				ret = r;
				break;
			}
		} else if (v == LINE_SKIP) {
			res->skipped++;
		} else {
			res->bad++;
			if (err_fn)
				err_fn(ud, line, c.why);
		}
		p = nl ? nl + 1 : end;
	}
	res->lines = line;
	return ret;
}

const char *rasn_ds_format_name(enum rasn_ds_format fmt)
{
	switch (fmt) {
	case RASN_DS_AUTO:
		return "auto";
	case RASN_DS_IPLDB_CSV:
		return "ip-location-db csv";
	case RASN_DS_IPTOASN_TSV:
		return "iptoasn tsv";
	case RASN_DS_PFX2AS:
		return "pfx2as";
	}
	return "unknown";
}

int rasn_ds_format_parse(const char *s)
{
	static const struct {
		const char *name;
		enum rasn_ds_format fmt;
	} names[] = {
		{ "auto", RASN_DS_AUTO },
		{ "csv", RASN_DS_IPLDB_CSV },
		{ "iptoasn", RASN_DS_IPTOASN_TSV },
		{ "pfx2as", RASN_DS_PFX2AS },
	};
	if (!s)
		return -1;
	for (size_t i = 0; i < RASN_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i].name))
			return (int)names[i].fmt;
	return -1;
}
