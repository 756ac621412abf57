/* IPv4/IPv6 text forms and CIDR math. Parsers take pointer+length (socket lines and dataset
 * fields are not NUL-terminated) and accept nothing but the exact forms; formatters avoid
 * printf because they run for every reply. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define ALL_ONES (~(rasn_u128)0)

static const char hexdig[] = "0123456789abcdef";

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20; /* fold to lower case; digits are handled above */
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int rasn_addr_parse4(const char *s, size_t len, uint32_t *out)
{
	uint32_t a = 0;
	unsigned octets = 0;
	size_t i = 0;

	if (len < 7 || len > 15)
		return RASN_ESYNTAX;
	for (;;) {
		unsigned v = 0, nd = 0;
		size_t start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			nd++;
			i++;
		}
		/* 1..3 digits, no leading zero ("0" alone is fine), at most 255 */
		if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && s[start] == '0'))
			return RASN_ESYNTAX;
		a = a << 8 | v;
		if (++octets == 4)
			break;
		if (i >= len || s[i] != '.')
			return RASN_ESYNTAX;
		i++;
	}
	if (i != len)
		return RASN_ESYNTAX;
	*out = a;
	return 0;
}

int rasn_addr_parse6(const char *s, size_t len, rasn_u128 *out)
{
	uint16_t g[8];
	int ng = 0, gap = -1; /* gap: group index where "::" stands, -1 when absent */
	size_t i = 0;

	/* The longest valid form is 45 bytes; bounding early keeps junk cheap. */
	if (len < 2 || len > 45)
		return RASN_ESYNTAX;
	if (s[0] == ':') {
		if (s[1] != ':')
			return RASN_ESYNTAX;
		gap = 0;
		i = 2;
	}
	while (i < len) {
		size_t start = i;
		unsigned v = 0;
		int d;

		if (ng >= 8)
			return RASN_ESYNTAX;
		/* read at most 5 digits: enough to see a group is too long */
		while (i < len && i - start < 5 && (d = hexval((unsigned char)s[i])) >= 0) {
			v = v << 4 | (unsigned)d;
			i++;
		}
		if (i < len && s[i] == '.') {
			/* embedded dotted quad: must be the last 32 bits and end the text */
			uint32_t a4;
			if (ng > 6 || rasn_addr_parse4(s + start, len - start, &a4) < 0)
				return RASN_ESYNTAX;
			g[ng++] = (uint16_t)(a4 >> 16);
			g[ng++] = (uint16_t)a4;
			i = len;
			break;
		}
		if (i == start || i - start > 4)
			return RASN_ESYNTAX;
		g[ng++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':')
			return RASN_ESYNTAX;
		i++;
		if (i < len && s[i] == ':') {
			if (gap >= 0)
				return RASN_ESYNTAX;
			gap = ng;
			i++;
		} else if (i == len) {
			return RASN_ESYNTAX; /* trailing single colon */
		}
	}
	/* "::" stands for at least one zero group */
	if (gap < 0 ? ng != 8 : ng > 7)
		return RASN_ESYNTAX;

	/* groups before the gap, 8 - ng zero groups, then the rest */
	rasn_u128 v = 0;
	int k = 0;
	for (int j = 0; j < 8; j++) {
		int zero = gap >= 0 && j >= gap && j < gap + (8 - ng);
		v = v << 16 | (zero ? 0 : g[k++]);
	}
	*out = v;
	return 0;
}

int rasn_addr_parse(const char *s, size_t len, struct rasn_addr *out)
{
	if (len == 0)
		return RASN_ESYNTAX;
	if (memchr(s, ':', len)) {
		rasn_u128 v;
		if (rasn_addr_parse6(s, len, &v) < 0)
			return RASN_ESYNTAX;
		if (v >> 32 == 0xffff) {
			out->family = RASN_AF4;
			out->v = v & 0xffffffffu;
		} else {
			out->family = RASN_AF6;
			out->v = v;
		}
		return 0;
	}
	uint32_t a;
	if (rasn_addr_parse4(s, len, &a) < 0)
		return RASN_ESYNTAX;
	out->family = RASN_AF4;
	out->v = a;
	return 0;
}

/* Decimal text of every octet, 4 bytes each (digits, then the length in the last byte): a
 * table lookup and a fixed 4-byte copy instead of branches that mispredict on random data. */
static const char octet_text[256][4] = {
#define O1(v) { (char)('0' + (v)), 0, 0, 1 }
#define O2(v) { (char)('0' + (v) / 10), (char)('0' + (v) % 10), 0, 2 }
#define O3(v) { (char)('0' + (v) / 100), (char)('0' + (v) / 10 % 10), (char)('0' + (v) % 10), 3 }
#define R10(f, b) f(b), f(b + 1), f(b + 2), f(b + 3), f(b + 4), f(b + 5), f(b + 6), f(b + 7), f(b + 8), f(b + 9)
	R10(O1, 0), R10(O2, 10), R10(O2, 20), R10(O2, 30), R10(O2, 40), R10(O2, 50), R10(O2, 60),
	R10(O2, 70), R10(O2, 80), R10(O2, 90), R10(O3, 100), R10(O3, 110), R10(O3, 120), R10(O3, 130),
	R10(O3, 140), R10(O3, 150), R10(O3, 160), R10(O3, 170), R10(O3, 180), R10(O3, 190), R10(O3, 200),
	R10(O3, 210), R10(O3, 220), R10(O3, 230), R10(O3, 240),
	O3(250), O3(251), O3(252), O3(253), O3(254), O3(255),
#undef R10
#undef O3
#undef O2
#undef O1
};

/* Writes 1..3 decimal digits of v (0..255) and may write up to 4 bytes; returns the count. */
static size_t put_octet(char *p, unsigned v)
{
	memcpy(p, octet_text[v], 4);
	return (size_t)octet_text[v][3];
}

size_t rasn_addr_format4(uint32_t a, char *buf)
{
	char *p = buf;
	p += put_octet(p, a >> 24);
	*p++ = '.';
	p += put_octet(p, a >> 16 & 0xff);
	*p++ = '.';
	p += put_octet(p, a >> 8 & 0xff);
	*p++ = '.';
	p += put_octet(p, a & 0xff);
	*p = '\0';
	return (size_t)(p - buf);
}

size_t rasn_addr_format6(rasn_u128 a, char *buf)
{
	unsigned g[8];
	int best = -1, bestlen = 1; /* only runs of 2+ groups are compressed */
	char *p = buf;

	for (int j = 7; j >= 0; j--) {
		g[j] = (unsigned)(a & 0xffff);
		a >>= 16;
	}
	for (int j = 0; j < 8;) {
		if (g[j] != 0) {
			j++;
			continue;
		}
		int k = j;
		while (k < 8 && g[k] == 0)
			k++;
		if (k - j > bestlen) { /* strictly longer: the first run wins ties */
			best = j;
			bestlen = k - j;
		}
		j = k;
	}
	for (int j = 0; j < 8; j++) {
		if (j == best) {
			*p++ = ':';
			*p++ = ':';
			j += bestlen - 1;
			continue;
		}
		if (j > 0 && j != best + bestlen)
			*p++ = ':';
		unsigned x = g[j];
		if (x >= 0x1000)
			*p++ = hexdig[x >> 12];
		if (x >= 0x100)
			*p++ = hexdig[x >> 8 & 0xf];
		if (x >= 0x10)
			*p++ = hexdig[x >> 4 & 0xf];
		*p++ = hexdig[x & 0xf];
	}
	*p = '\0';
	return (size_t)(p - buf);
}

size_t rasn_addr_format(int family, rasn_u128 v, char *buf)
{
	if (family == RASN_AF4)
		return rasn_addr_format4((uint32_t)v, buf);
	return rasn_addr_format6(v, buf);
}

int rasn_prefix_parse(const char *s, size_t len, struct rasn_prefix *out)
{
	const char *slash = len ? memchr(s, '/', len) : NULL;
	if (!slash)
		return RASN_ESYNTAX;
	size_t alen = (size_t)(slash - s), llen = len - alen - 1;
	struct rasn_prefix p;

	/* No v4-mapped folding here: a prefix length is relative to its own family. */
	if (memchr(s, ':', alen)) {
		if (rasn_addr_parse6(s, alen, &p.addr) < 0)
			return RASN_ESYNTAX;
		p.family = RASN_AF6;
	} else {
		uint32_t a;
		if (rasn_addr_parse4(s, alen, &a) < 0)
			return RASN_ESYNTAX;
		p.addr = a;
		p.family = RASN_AF4;
	}
	const char *l = slash + 1;
	if (llen == 0 || llen > 3 || (llen > 1 && l[0] == '0'))
		return RASN_ESYNTAX;
	p.len = 0;
	for (size_t i = 0; i < llen; i++) {
		if (l[i] < '0' || l[i] > '9')
			return RASN_ESYNTAX;
		p.len = p.len * 10 + (unsigned)(l[i] - '0');
	}
	if (p.len > rasn_af_bits(p.family) || (p.addr & rasn_hostmask(p.family, p.len)))
		return RASN_ESYNTAX;
	*out = p;
	return 0;
}

size_t rasn_prefix_format(const struct rasn_prefix *p, char *buf)
{
	size_t n = rasn_addr_format(p->family, p->addr, buf);
	unsigned l = p->len;
	buf[n++] = '/';
	if (l >= 100)
		buf[n++] = (char)('0' + l / 100 % 10);
	if (l >= 10)
		buf[n++] = (char)('0' + l / 10 % 10);
	buf[n++] = (char)('0' + l % 10);
	buf[n] = '\0';
	return n;
}

/* Ones in the low k bits, for k in 0..128 (a shift by 128 would be undefined). */
static rasn_u128 low_ones(unsigned k)
{
	if (k >= 128)
		return ALL_ONES;
	return ((rasn_u128)1 << k) - 1;
}

rasn_u128 rasn_hostmask(int family, unsigned len)
{
	unsigned bits = rasn_af_bits(family);
	if (len >= bits)
		return 0;
	return low_ones(bits - len);
}

static unsigned ctz128(rasn_u128 v)
{
	uint64_t lo = (uint64_t)v, hi = (uint64_t)(v >> 64);
	if (lo)
		return (unsigned)__builtin_ctzll(lo);
	if (hi)
		return 64 + (unsigned)__builtin_ctzll(hi);
	return 128;
}

/* Index of the highest set bit; v must not be 0. */
static unsigned log2_128(rasn_u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);
	if (hi)
		return 127 - (unsigned)__builtin_clzll(hi);
	return 63 - (unsigned)__builtin_clzll((uint64_t)v);
}

struct rasn_prefix rasn_cidr_covering(int family, rasn_u128 first, rasn_u128 last, rasn_u128 addr)
{
	unsigned bits = rasn_af_bits(family), lo = 0, hi = bits;

	/* A block of 2^k addresses around addr fits for every k up to some bound (a bigger
	 * aligned block contains the smaller one), so binary-search the largest k. k = 0 always
	 * fits because first <= addr <= last. */
	while (lo < hi) {
		unsigned k = (lo + hi + 1) / 2;
		rasn_u128 m = low_ones(k);
		if ((addr & ~m) >= first && (addr | m) <= last)
			lo = k;
		else
			hi = k - 1;
	}
	struct rasn_prefix p = {
		.family = family,
		.addr = addr & ~low_ones(lo),
		.len = bits - lo,
	};
	return p;
}

size_t rasn_cidr_from_range(int family, rasn_u128 first, rasn_u128 last,
			    struct rasn_prefix *out, size_t cap)
{
	unsigned bits = rasn_af_bits(family);
	size_t n = 0;

	for (;;) {
		/* Largest block aligned at first that does not run past last. span + 1 can
		 * only overflow for the whole IPv6 space. */
		rasn_u128 span = last - first;
		unsigned k = span == ALL_ONES ? 128 : log2_128(span + 1);
		unsigned tz = ctz128(first);
		if (tz < k)
			k = tz;
		if (k > bits)
			k = bits;
		if (n < cap) {
			out[n].family = family;
			out[n].addr = first;
			out[n].len = bits - k;
		}
		n++;
		rasn_u128 end = first | low_ones(k);
		if (end >= last)
			break;
		first = end + 1;
	}
	return n;
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct rasn_prefix *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return 0;
}

/* Does a hold b? */
static int prefix_covers(const struct rasn_prefix *a, const struct rasn_prefix *b)
{
	return a->family == b->family && a->len <= b->len &&
	       (b->addr & ~rasn_hostmask(a->family, a->len)) == a->addr;
}

size_t rasn_cidr_aggregate(struct rasn_prefix *p, size_t n)
{
	size_t top = 0; /* p[0..top) is the output stack, built in place */

	if (n == 0)
		return 0;
	qsort(p, n, sizeof(*p), prefix_cmp);
	for (size_t i = 0; i < n; i++) {
		/* Sorted, so a prefix that holds p[i] is the last one kept: CIDR blocks either
		 * nest or are disjoint, and anything kept before the top ends before it. */
		if (top > 0 && prefix_covers(&p[top - 1], &p[i]))
			continue;
		p[top++] = p[i];
		while (top >= 2) {
			struct rasn_prefix *a = &p[top - 2], *b = &p[top - 1];
			if (a->family != b->family || a->len != b->len || a->len == 0)
				break;
			unsigned bits = rasn_af_bits(a->family);
			if (a->len > bits)
				break;
			rasn_u128 bit = (rasn_u128)1 << (bits - a->len);
			if (a->addr & bit || b->addr != (a->addr | bit))
				break;
			a->len--;
			top--;
		}
	}
	return top;
}
