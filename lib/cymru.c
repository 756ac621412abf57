/* Team Cymru DNS interface: query names and TXT record parsing. Every read of the record goes
 * through a bounded view (struct span); nothing assumes a NUL terminator. */
#include <string.h>

#include "cymru.h"

#define NAME_MAX_LEN 253 /* RFC 1035 2.3.4, without the trailing dot */

struct span {
	const char *p;
	size_t n;
};

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static char to_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static struct span trim(struct span s)
{
	while (s.n > 0 && is_blank(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Cut the next '|'-terminated field off *rest. Returns 0 when there is no '|' left. */
static int take_field(struct span *rest, struct span *field)
{
	const char *bar = rest->n ? memchr(rest->p, '|', rest->n) : NULL;
	if (!bar)
		return 0;
	field->p = rest->p;
	field->n = (size_t)(bar - rest->p);
	rest->n -= field->n + 1;
	rest->p = bar + 1;
	*field = trim(*field);
	return 1;
}

/* Decimal 0..4294967295, no sign, no leading zero. */
static int parse_asn(struct span s, uint32_t *out)
{
	uint64_t v = 0;
	if (s.n == 0 || s.n > 10 || (s.n > 1 && s.p[0] == '0'))
		return RASN_ESYNTAX;
	for (size_t i = 0; i < s.n; i++) {
		if (!is_digit(s.p[i]))
			return RASN_ESYNTAX;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > UINT32_MAX)
		return RASN_ESYNTAX;
	*out = (uint32_t)v;
	return 0;
}

static int parse_asn_list(struct span s, struct rasn_cymru_origin *o)
{
	size_t i = 0;
	while (i < s.n) {
		size_t start = i;
		while (i < s.n && !is_blank(s.p[i]))
			i++;
		if (o->n_asns == RASN_CYMRU_MAX_ORIGINS)
			return RASN_ESYNTAX;
		if (parse_asn((struct span){ s.p + start, i - start }, &o->asns[o->n_asns]) < 0)
			return RASN_ESYNTAX;
		o->n_asns++;
		while (i < s.n && is_blank(s.p[i]))
			i++;
	}
	return o->n_asns > 0 ? 0 : RASN_ESYNTAX;
}

static int parse_cc(struct span s, char out[3])
{
	if (s.n == 0)
		return 0;
	if (s.n != 2 || !is_alpha(s.p[0]) || !is_alpha(s.p[1]))
		return RASN_ESYNTAX;
	out[0] = to_upper(s.p[0]);
	out[1] = to_upper(s.p[1]);
	out[2] = '\0';
	return 0;
}

static int parse_registry(struct span s, char out[16])
{
	if (s.n > 15)
		return RASN_ESYNTAX;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.')
			return RASN_ESYNTAX;
		out[i] = to_lower(c);
	}
	out[s.n] = '\0';
	return 0;
}

static unsigned two_digits(const char *p) { return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0'); }

/* "" or YYYY-MM-DD with a month 01..12 and a day 01..31 (the calendar is not checked further:
 * the date is shown, never computed with). */
static int parse_date(struct span s, char out[11])
{
	if (s.n == 0)
		return 0;
	if (s.n != 10 || s.p[4] != '-' || s.p[7] != '-')
		return RASN_ESYNTAX;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !is_digit(s.p[i]))
			return RASN_ESYNTAX;
	unsigned m = two_digits(s.p + 5), d = two_digits(s.p + 8);
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return RASN_ESYNTAX;
	memcpy(out, s.p, 10);
	out[10] = '\0';
	return 0;
}

int rasn_cymru_prefix_covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	if (p->family != a->family || p->len > rasn_af_bits(p->family))
		return 0;
	return (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

int rasn_cymru_parse_origin(const char *txt, size_t len, const struct rasn_addr *queried,
			    struct rasn_cymru_origin *out)
{
	struct span rest = { txt, len }, f[4], last;
	int rc = RASN_ESYNTAX;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 4; i++)
		if (!take_field(&rest, &f[i]))
			goto done;
	if (rest.n && memchr(rest.p, '|', rest.n))
		goto done; /* a sixth field */
	last = trim(rest);
	if (parse_asn_list(f[0], out) < 0 || f[1].n == 0 ||
	    rasn_prefix_parse(f[1].p, f[1].n, &out->prefix) < 0 ||
	    parse_cc(f[2], out->cc) < 0 || parse_registry(f[3], out->registry) < 0 ||
	    parse_date(last, out->allocated) < 0)
		goto done;
	if (queried && !rasn_cymru_prefix_covers(&out->prefix, queried))
		goto done;
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int rasn_cymru_parse_as(const char *txt, size_t len, struct rasn_cymru_as *out)
{
	struct span rest = { txt, len }, f[4], name;
	int rc = RASN_ESYNTAX;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 4; i++)
		if (!take_field(&rest, &f[i]))
			goto done;
	if (parse_asn(f[0], &out->asn) < 0 || parse_cc(f[1], out->cc) < 0 ||
	    parse_registry(f[2], out->registry) < 0 || parse_date(f[3], out->allocated) < 0)
		goto done;
	name = trim(rest);
	if (name.n >= sizeof(out->name))
		goto done;
	for (size_t i = 0; i < name.n; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (c < 0x20 || c == 0x7f)
			goto done;
	}
	if (name.n)
		memcpy(out->name, name.p, name.n);
	out->name[name.n] = '\0';
	rc = 0;
done:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* Labels of [A-Za-z0-9_-], non-empty, dot-separated, one trailing dot allowed. Returns the
 * length without the trailing dot, or -EINVAL. */
static long zone_check(const char *zone, size_t len)
{
	size_t label = 0;
	if (len > 0 && zone[len - 1] == '.')
		len--;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = zone[i];
		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return -EINVAL;
		if (++label > 63)
			return -EINVAL;
	}
	return (long)len;
}

/* out = head + zone, checked against the name and buffer limits. */
static int join(const char *head, size_t hlen, const char *zone, char *out, size_t cap)
{
	size_t zlen = strlen(zone);
	long zbare = zone_check(zone, zlen);
	int rc;

	if (cap > 0)
		out[0] = '\0';
	if (zbare < 0) {
		rc = (int)zbare;
		goto done;
	}
	if (hlen + (size_t)zbare > NAME_MAX_LEN) {
		rc = -ENAMETOOLONG;
		goto done;
	}
	if (hlen + zlen + 1 > cap) {
		rc = -ENOSPC;
		goto done;
	}
	memcpy(out, head, hlen);
	memcpy(out + hlen, zone, zlen + 1);
	rc = (int)(hlen + zlen);
done:
	return rc;
}

int rasn_cymru_origin_qname(const struct rasn_addr *a, const char *zone, char *out, size_t cap)
{
	char head[72]; /* 32 nibbles and dots = 64; 4 octets = at most 16 */
	size_t n = 0;
	static const char hex[] = "0123456789abcdef";

	if (a->family == RASN_AF4) {
		if (a->v > 0xffffffffu)
			return -EINVAL;
		for (unsigned i = 0; i < 4; i++) {
			unsigned o = (unsigned)(a->v >> (8 * i)) & 0xff;
			if (o >= 100)
				head[n++] = (char)('0' + o / 100);
			if (o >= 10)
				head[n++] = (char)('0' + o / 10 % 10);
			head[n++] = (char)('0' + o % 10);
			head[n++] = '.';
		}
	} else if (a->family == RASN_AF6) {
		for (unsigned i = 0; i < 32; i++) {
			head[n++] = hex[(unsigned)(a->v >> (4 * i)) & 0xf];
			head[n++] = '.';
		}
	} else {
		if (cap > 0)
			out[0] = '\0';
		return -EINVAL;
	}
	if (!zone)
		zone = a->family == RASN_AF4 ? RASN_CYMRU_ORIGIN_ZONE : RASN_CYMRU_ORIGIN6_ZONE;
	return join(head, n, zone, out, cap);
}

int rasn_cymru_as_qname(uint32_t asn, const char *zone, char *out, size_t cap)
{
	char head[16], digits[10];
	size_t n = 0, d = 0;

	do {
		digits[d++] = (char)('0' + asn % 10);
		asn /= 10;
	} while (asn);
	head[n++] = 'A';
	head[n++] = 'S';
	while (d)
		head[n++] = digits[--d];
	head[n++] = '.';
	return join(head, n, zone ? zone : RASN_CYMRU_AS_ZONE, out, cap);
}
