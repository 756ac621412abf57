#include <stdio.h>
#include <string.h>

#include "reply.h"

/* True when the query echo needs no escaping: printable ASCII without quote or backslash
 * (every valid address line, and most others). */
static int plain(const char *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)q[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

void rasn_reply_open(struct rasn_buf *b, const char *q, size_t qlen, const char *type, const char *status)
{
	rasn_buf_lit(b, "{\"query\":\"");
	if (plain(q, qlen))
		rasn_buf_add(b, q, qlen);
	else
		rasn_buf_json_esc(b, q, qlen);
	rasn_buf_lit(b, "\",\"type\":\"");
	rasn_buf_adds(b, type);
	rasn_buf_lit(b, "\",\"status\":\"");
	rasn_buf_adds(b, status);
	rasn_buf_addc(b, '"');
}

void rasn_reply_close(struct rasn_buf *b, const char *source)
{
	if (source) {
		rasn_buf_lit(b, ",\"source\":\"");
		rasn_buf_adds(b, source);
		rasn_buf_lit(b, "\"}\n");
	} else {
		rasn_buf_lit(b, "}\n");
	}
}

void rasn_reply_error(struct rasn_buf *b, const char *q, size_t qlen, const char *type, const char *msg)
{
	rasn_reply_open(b, q, qlen, type, "error");
	rasn_buf_lit(b, ",\"error\":");
	rasn_buf_json_str(b, msg, strlen(msg));
	rasn_reply_close(b, NULL);
}

void rasn_reply_ip_special(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
			   const char *reason, const char *source)
{
	char ip[RASN_ADDR_STRLEN];
	size_t n = rasn_addr_format(a->family, a->v, ip);
	rasn_reply_open(b, q, qlen, "ip", "not_found");
	rasn_buf_lit(b, ",\"ip\":\"");
	rasn_buf_add(b, ip, n);
	rasn_buf_lit(b, "\",\"reason\":");
	rasn_buf_json_str(b, reason, strlen(reason));
	rasn_reply_close(b, source);
}

static void add_prefix(struct rasn_buf *b, const struct rasn_prefix *p)
{
	char tmp[RASN_PREFIX_STRLEN];
	size_t n = rasn_prefix_format(p, tmp);
	rasn_buf_add(b, tmp, n);
}

/* Copy a string literal to a cursor: constant sizes let the compiler inline the copies. */
#define PUT(p, lit) (memcpy((p), "" lit "", sizeof(lit) - 1), (p) += sizeof(lit) - 1)

static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* The hot path: one reservation, then writes through a cursor (no per-field bounds work).
 * Worst case per reply: fixed text ~160 bytes, 3 addresses and a prefix of at most 50 bytes
 * each, the name, the escaped query (6 bytes per input byte), origins. */
void rasn_reply_ip(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
		   const struct rasn_match *m, const char *source)
{
	/* the query is escaped by the general code: it may hold anything */
	rasn_reply_open(b, q, qlen, "ip", m ? "ok" : "not_found");
	size_t need = 256 + 4 * RASN_PREFIX_STRLEN + (m ? m->name_json_len + 12 * m->n_origins + 16 : 0) +
		      (source ? strlen(source) : 0);
	if (b->oom || rasn_buf_reserve(b, need) < 0)
		return;
	char *p = b->data + b->len;
	PUT(p, ",\"ip\":\"");
	p += rasn_addr_format(a->family, a->v, p);
	*p++ = '"';
	if (m) {
		PUT(p, ",\"asn\":");
		p = put_u32(p, m->asn);
		PUT(p, ",\"as_name\":\"");
		memcpy(p, m->name_json, m->name_json_len);
		p += m->name_json_len;
		PUT(p, "\",\"prefix\":\"");
		struct rasn_prefix px = rasn_cidr_covering(m->family, m->first, m->last, a->v);
		p += rasn_prefix_format(&px, p);
		PUT(p, "\",\"first_ip\":\"");
		p += rasn_addr_format(m->family, m->first, p);
		PUT(p, "\",\"last_ip\":\"");
		p += rasn_addr_format(m->family, m->last, p);
		*p++ = '"';
		if (m->cc[0]) {
			/* cc is two letters from a checked reader field */
			PUT(p, ",\"cc\":\"");
			size_t cl = strnlen(m->cc, 2);
			memcpy(p, m->cc, cl);
			p += cl;
			*p++ = '"';
		}
		if (m->n_origins > 1) {
			PUT(p, ",\"origins\":[");
			for (unsigned i = 0; i < m->n_origins; i++) {
				if (i)
					*p++ = ',';
				p = put_u32(p, m->origins[i]);
			}
			*p++ = ']';
		}
	}
	if (source) {
		PUT(p, ",\"source\":\"");
		size_t sl = strlen(source);
		memcpy(p, source, sl);
		p += sl;
		PUT(p, "\"}\n");
	} else {
		PUT(p, "}\n");
	}
	b->len = (size_t)(p - b->data);
}

void rasn_reply_as(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
		   const struct rasn_as_info *info, size_t prefixes_v4, size_t prefixes_v6,
		   const char *source)
{
	rasn_reply_open(b, q, qlen, "as", info ? "ok" : "not_found");
	rasn_buf_lit(b, ",\"asn\":");
	rasn_buf_u64(b, asn);
	if (info) {
		rasn_buf_lit(b, ",\"as_name\":\"");
		rasn_buf_add(b, info->name_json, info->name_json_len);
		rasn_buf_lit(b, "\",\"ranges_v4\":");
		rasn_buf_u64(b, info->ranges_v4);
		rasn_buf_lit(b, ",\"ranges_v6\":");
		rasn_buf_u64(b, info->ranges_v6);
		rasn_buf_lit(b, ",\"prefixes_v4\":");
		rasn_buf_u64(b, prefixes_v4);
		rasn_buf_lit(b, ",\"prefixes_v6\":");
		rasn_buf_u64(b, prefixes_v6);
		rasn_buf_lit(b, ",\"addresses_v4\":");
		rasn_buf_u64(b, (uint64_t)info->addresses_v4);
	}
	rasn_reply_close(b, source);
}

static void add_extra(struct rasn_buf *b, const struct rasn_reply_extra *x)
{
	static const char *const keys[] = { ",\"cc\":", ",\"registry\":", ",\"allocated\":" };
	const char *v[] = { x->cc, x->registry, x->allocated };
	for (size_t i = 0; i < 3; i++) {
		if (v[i]) {
			rasn_buf_adds(b, keys[i]);
			rasn_buf_json_str(b, v[i], strlen(v[i]));
		}
	}
}

/* Take back the "}\n" the reply function closed its object with (written above: this file
 * knows the shape), add the fields, close again. */
static void reopen_with(struct rasn_buf *b, size_t start, const struct rasn_reply_extra *x, const char *source)
{
	if (b->oom || b->len < start + 2 || b->data[b->len - 1] != '\n')
		return;
	b->len -= 2;
	add_extra(b, x);
	rasn_reply_close(b, source);
}

void rasn_reply_ip_ex(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
		      const struct rasn_match *m, const struct rasn_reply_extra *x, const char *source)
{
	size_t start = b->len;
	rasn_reply_ip(b, q, qlen, a, m, x ? NULL : source);
	if (x)
		reopen_with(b, start, x, source);
}

void rasn_reply_as_ex(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
		      const struct rasn_as_info *info, size_t prefixes_v4, size_t prefixes_v6,
		      const struct rasn_reply_extra *x, const char *source)
{
	size_t start = b->len;
	rasn_reply_as(b, q, qlen, asn, info, prefixes_v4, prefixes_v6, x ? NULL : source);
	if (x)
		reopen_with(b, start, x, source);
}

void rasn_reply_prefixes(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
			 const struct rasn_as_info *info, const struct rasn_prefix *p, size_t n,
			 const char *source)
{
	rasn_reply_open(b, q, qlen, "prefixes", n ? "ok" : "not_found");
	rasn_buf_lit(b, ",\"asn\":");
	rasn_buf_u64(b, asn);
	if (info) {
		rasn_buf_lit(b, ",\"as_name\":\"");
		rasn_buf_add(b, info->name_json, info->name_json_len);
		rasn_buf_addc(b, '"');
	}
	rasn_buf_lit(b, ",\"count\":");
	rasn_buf_u64(b, n);
	rasn_buf_lit(b, ",\"prefixes\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rasn_buf_addc(b, ',');
		rasn_buf_addc(b, '"');
		add_prefix(b, &p[i]);
		rasn_buf_addc(b, '"');
	}
	rasn_buf_addc(b, ']');
	rasn_reply_close(b, source);
}

void rasn_reply_org(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_org_hit *hits,
		    size_t shown, size_t total, const char *source)
{
	rasn_reply_open(b, q, qlen, "org", total ? "ok" : "not_found");
	rasn_buf_lit(b, ",\"count\":");
	rasn_buf_u64(b, total);
	rasn_buf_lit(b, ",\"truncated\":");
	if (shown < total)
		rasn_buf_lit(b, "true");
	else
		rasn_buf_lit(b, "false");
	rasn_buf_lit(b, ",\"matches\":[");
	for (size_t i = 0; i < shown; i++) {
		if (i)
			rasn_buf_addc(b, ',');
		rasn_buf_lit(b, "{\"asn\":");
		rasn_buf_u64(b, hits[i].asn);
		rasn_buf_lit(b, ",\"as_name\":\"");
		rasn_buf_add(b, hits[i].name_json, hits[i].name_json_len);
		rasn_buf_lit(b, "\"}");
	}
	rasn_buf_addc(b, ']');
	rasn_reply_close(b, source);
}

/* ---- Team Cymru bulk rows: fixed-width left-aligned columns joined by "| " ---- */

static void col(struct rasn_buf *b, const char *s, size_t n, size_t width)
{
	rasn_buf_add(b, s, n);
	for (size_t i = n; i < width; i++)
		rasn_buf_addc(b, ' ');
	rasn_buf_lit(b, " | ");
}

static void cols(struct rasn_buf *b, const char *s, size_t width)
{
	col(b, s, strlen(s), width);
}

static void end_row(struct rasn_buf *b)
{
	/* drop the trailing " | " of the last column */
	if (b->len >= 3 && !b->oom)
		b->len -= 3;
	rasn_buf_addc(b, '\n');
}

void rasn_cymru_bulk_banner(struct rasn_buf *b, time_t now)
{
	char ts[64];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S +0000", &tm);
	rasn_buf_printf(b, "Bulk mode; rasnd [%s]\n", ts);
}

/* Is the column shown: asked for alone or by verbose, and not switched off? */
static int shown(unsigned opts, unsigned on, unsigned off)
{
	return (opts & (RASN_CYMRU_VERBOSE | on)) && !(opts & off);
}
#define SHOW_PREFIX(o) shown(o, RASN_CYMRU_PREFIX, RASN_CYMRU_NOPREFIX)
#define SHOW_CC(o) shown(o, RASN_CYMRU_CC, RASN_CYMRU_NOCC)
#define SHOW_REG(o) shown(o, RASN_CYMRU_REGISTRY, RASN_CYMRU_NOREGISTRY)
#define SHOW_ALLOC(o) shown(o, RASN_CYMRU_ALLOC, RASN_CYMRU_NOALLOC)

void rasn_cymru_ip_header(struct rasn_buf *b, unsigned opts)
{
	if (opts & RASN_CYMRU_NOHEADER)
		return;
	cols(b, "AS", 7);
	cols(b, "IP", 16);
	if (SHOW_PREFIX(opts))
		cols(b, "BGP Prefix", 19);
	if (SHOW_CC(opts))
		cols(b, "CC", 2);
	if (SHOW_REG(opts))
		cols(b, "Registry", 8);
	if (SHOW_ALLOC(opts))
		cols(b, "Allocated", 10);
	if (!(opts & RASN_CYMRU_NOASNAME))
		cols(b, "AS Name", 0);
	end_row(b);
}

void rasn_cymru_as_header(struct rasn_buf *b, unsigned opts)
{
	if (opts & RASN_CYMRU_NOHEADER)
		return;
	cols(b, "AS", 7);
	if (SHOW_CC(opts))
		cols(b, "CC", 2);
	if (SHOW_REG(opts))
		cols(b, "Registry", 8);
	if (SHOW_ALLOC(opts))
		cols(b, "Allocated", 10);
	if (!(opts & RASN_CYMRU_NOASNAME))
		cols(b, "AS Name", 0);
	end_row(b);
}

static void ip_row(struct rasn_buf *b, unsigned opts, const struct rasn_addr *a, const char *asn,
		   const char *prefix, const char *cc, const char *name, size_t name_len)
{
	char ip[RASN_ADDR_STRLEN];
	cols(b, asn, 7);
	col(b, ip, rasn_addr_format(a->family, a->v, ip), 16);
	if (SHOW_PREFIX(opts))
		cols(b, prefix, 19);
	if (SHOW_CC(opts))
		cols(b, cc, 2);
	if (SHOW_REG(opts))
		cols(b, "", 8);
	if (SHOW_ALLOC(opts))
		cols(b, "", 10);
	if (!(opts & RASN_CYMRU_NOASNAME))
		col(b, name, name_len, 0);
	end_row(b);
}

void rasn_cymru_ip_rows(struct rasn_buf *b, unsigned opts, const struct rasn_addr *a,
			const struct rasn_match *m)
{
	if (!m) {
		ip_row(b, opts, a, "NA", "NA", "", "NA", 2);
		return;
	}
	char prefix[RASN_PREFIX_STRLEN], asn[16];
	struct rasn_prefix p = rasn_cidr_covering(m->family, m->first, m->last, a->v);
	rasn_prefix_format(&p, prefix);
	for (unsigned i = 0; i < m->n_origins; i++) {
		snprintf(asn, sizeof(asn), "%u", m->origins[i]);
		/* Names go out raw (this is text, not JSON), minus line breaks that would split a row. */
		size_t n = strcspn(m->name, "\r\n");
		ip_row(b, opts, a, asn, prefix, m->cc, m->name, n);
	}
}

void rasn_cymru_as_row(struct rasn_buf *b, unsigned opts, uint32_t asn, const struct rasn_as_info *info)
{
	char num[16];
	snprintf(num, sizeof(num), "%u", asn);
	cols(b, info ? num : "NA", 7);
	if (SHOW_CC(opts))
		cols(b, "", 2);
	if (SHOW_REG(opts))
		cols(b, "", 8);
	if (SHOW_ALLOC(opts))
		cols(b, "", 10);
	if (!(opts & RASN_CYMRU_NOASNAME)) {
		if (info)
			col(b, info->name, strcspn(info->name, "\r\n"), 0);
		else
			cols(b, "NA", 0);
	}
	end_row(b);
}
