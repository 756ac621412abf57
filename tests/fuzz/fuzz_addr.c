/* Fuzz target for lib/addr.c. The input is tried as text by every parser; whatever parses must
 * format and parse back to the same value. The input bytes also seed ranges for the CIDR math,
 * whose results are checked against its definition. Any broken invariant aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_ONES (~(rasn_u128)0)

static void check(int cond)
{
	if (!cond)
		abort();
}

/* RFC 5952 the slow, obvious way, to hold the fast formatter to. */
static void ref_format6(rasn_u128 v, char *out, size_t cap)
{
	unsigned g[8];
	int best = -1, bestlen = 0, pos = 0;

	for (int i = 7; i >= 0; i--, v >>= 16)
		g[i] = (unsigned)(v & 0xffff);
	for (int i = 0; i < 8; i++) {
		int l = 0;
		while (i + l < 8 && g[i + l] == 0)
			l++;
		if (l >= 2 && l > bestlen) {
			best = i;
			bestlen = l;
		}
	}
	out[0] = '\0';
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			pos += snprintf(out + pos, cap - (size_t)pos, "::");
			i += bestlen - 1;
			continue;
		}
		pos += snprintf(out + pos, cap - (size_t)pos, "%s%x",
				i > 0 && i != best + bestlen ? ":" : "", g[i]);
	}
}

static void text_checks(const char *s, size_t n)
{
	char buf[RASN_PREFIX_STRLEN], buf2[RASN_PREFIX_STRLEN];
	uint32_t a4, b4;
	rasn_u128 a6, b6;
	struct rasn_addr a, b;
	struct rasn_prefix p, q;
	size_t len;

	if (rasn_addr_parse4(s, n, &a4) == 0) {
		/* strict: the only accepted text of an IPv4 address is the canonical one */
		len = rasn_addr_format4(a4, buf);
		check(len == n && memcmp(buf, s, n) == 0 && buf[len] == '\0');
		check(rasn_addr_parse4(buf, len, &b4) == 0 && a4 == b4);
	}
	if (rasn_addr_parse6(s, n, &a6) == 0) {
		len = rasn_addr_format6(a6, buf);
		/* no "len <= n": "1::2:3:4:5:6:7:8" grows when its one zero group is spelled out */
		check(len < RASN_ADDR_STRLEN && len == strlen(buf));
		check(rasn_addr_parse6(buf, len, &b6) == 0 && a6 == b6);
		char ref[64];
		ref_format6(a6, ref, sizeof(ref));
		check(strcmp(ref, buf) == 0);
		/* canonical text is a fixed point */
		check(rasn_addr_format6(b6, buf2) == len && memcmp(buf, buf2, len) == 0);
		for (size_t i = 0; i < len; i++)
			check((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f') ||
			      buf[i] == ':');
		check(n >= 2 && n <= 45);
	}
	if (rasn_addr_parse(s, n, &a) == 0) {
		check(a.family == RASN_AF4 || a.family == RASN_AF6);
		if (a.family == RASN_AF4)
			check(a.v <= 0xffffffffu);
		else
			check(a.v >> 32 != 0xffff); /* mapped addresses come back as IPv4 */
		len = rasn_addr_format(a.family, a.v, buf);
		check(len < RASN_ADDR_STRLEN);
		check(rasn_addr_parse(buf, len, &b) == 0 && a.family == b.family && a.v == b.v);
	} else {
		check(rasn_addr_parse4(s, n, &a4) != 0 && rasn_addr_parse6(s, n, &a6) != 0);
	}
	if (rasn_prefix_parse(s, n, &p) == 0) {
		check(p.len <= rasn_af_bits(p.family));
		check((p.addr & rasn_hostmask(p.family, p.len)) == 0);
		len = rasn_prefix_format(&p, buf);
		check(len < RASN_PREFIX_STRLEN && len == strlen(buf));
		check(rasn_prefix_parse(buf, len, &q) == 0);
		check(p.family == q.family && p.addr == q.addr && p.len == q.len);
		if (p.family == RASN_AF4)
			check(len == n && memcmp(buf, s, n) == 0);
	}
}

static rasn_u128 take128(const uint8_t *d)
{
	rasn_u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = v << 8 | d[i];
	return v;
}

/* Is [p.addr, p.addr | mask] inside [first, last]? */
static int inside(const struct rasn_prefix *p, rasn_u128 first, rasn_u128 last)
{
	return p->addr >= first && (p->addr | rasn_hostmask(p->family, p->len)) <= last;
}

static int siblings(const struct rasn_prefix *a, const struct rasn_prefix *b)
{
	if (a->family != b->family || a->len != b->len || a->len == 0)
		return 0;
	unsigned shift = rasn_af_bits(a->family) - a->len + 1;
	return shift < 128 ? (a->addr >> shift) == (b->addr >> shift) : 1;
}

static void cidr_checks(const uint8_t *d, size_t size)
{
	int family = d[0] & 1 ? RASN_AF6 : RASN_AF4;
	unsigned bits = rasn_af_bits(family);
	rasn_u128 top = family == RASN_AF4 ? 0xffffffffu : ALL_ONES;
	rasn_u128 first = take128(d + 1) & top, last = take128(d + 17) & top;
	rasn_u128 x = take128(d + 33) & top, addr;
	struct rasn_prefix out[2 * 128 + 8], c;
	size_t n, i;

	/* Byte 49 pulls the ends towards the edges of the space, where overflow lurks. */
	if (d[49] & 1)
		first = 0;
	if (d[49] & 2)
		last = top;
	if (d[49] & 4) {
		last = first + (d[50] & 0x1f);
		if (last > top || last < first)
			last = top;
	}
	if (first > last) {
		rasn_u128 t = first;
		first = last;
		last = t;
	}
	/* formatting of arbitrary values, against the references */
	{
		char buf[RASN_ADDR_STRLEN], ref[64];
		rasn_u128 v = take128(d + 33), w;
		uint32_t v4 = (uint32_t)v, w4;
		size_t len = rasn_addr_format6(v, buf);
		ref_format6(v, ref, sizeof(ref));
		check(strcmp(ref, buf) == 0 && len == strlen(ref));
		check(rasn_addr_parse6(buf, len, &w) == 0 && w == v);
		len = rasn_addr_format4(v4, buf);
		snprintf(ref, sizeof(ref), "%u.%u.%u.%u", v4 >> 24, v4 >> 16 & 0xff, v4 >> 8 & 0xff,
			 v4 & 0xff);
		check(strcmp(ref, buf) == 0 && len == strlen(ref));
		check(rasn_addr_parse4(buf, len, &w4) == 0 && w4 == v4);
	}

	addr = last - first == ALL_ONES ? x : first + x % (last - first + 1);
	check(addr >= first && addr <= last);

	n = rasn_cidr_from_range(family, first, last, out, RASN_ARRAY_LEN(out));
	check(n >= 1 && n <= 2 * bits);
	check(rasn_cidr_from_range(family, first, last, NULL, 0) == n);
	rasn_u128 next = first;
	for (i = 0; i < n; i++) {
		rasn_u128 m = rasn_hostmask(family, out[i].len);
		check(out[i].family == family && out[i].len <= bits);
		check((out[i].addr & m) == 0 && out[i].addr == next);
		check(inside(&out[i], first, last));
		if (i + 1 < n) {
			check((out[i].addr | m) < last);
			next = (out[i].addr | m) + 1;
			check(!siblings(&out[i], &out[i + 1]));
		} else {
			check((out[i].addr | m) == last);
		}
	}

	/* covering: holds addr, lies inside, and its parent does not; it is the block of the
	 * minimal decomposition that holds addr */
	c = rasn_cidr_covering(family, first, last, addr);
	check(c.family == family && c.len <= bits);
	check((c.addr & rasn_hostmask(family, c.len)) == 0);
	check((addr & ~rasn_hostmask(family, c.len)) == c.addr);
	check(inside(&c, first, last));
	if (c.len > 0) {
		struct rasn_prefix parent = { family, c.addr & ~rasn_hostmask(family, c.len - 1), c.len - 1 };
		check(!inside(&parent, first, last));
	}
	for (i = 0; i < n; i++)
		if (addr >= out[i].addr && addr <= (out[i].addr | rasn_hostmask(family, out[i].len)))
			break;
	check(i < n && out[i].addr == c.addr && out[i].len == c.len);

	/* the decomposition is already aggregated; splitting a block in two and adding extra
	 * prefixes covered by it changes nothing after aggregation */
	struct rasn_prefix agg[2 * RASN_ARRAY_LEN(out) + 64];
	size_t an = 0;
	for (i = 0; i < n; i++) {
		if (out[i].len < bits && (d[51 + i % 8] & 1)) {
			rasn_u128 half = (rasn_u128)1 << (bits - out[i].len - 1);
			agg[an++] = (struct rasn_prefix){ family, out[i].addr, out[i].len + 1 };
			agg[an++] = (struct rasn_prefix){ family, out[i].addr | half, out[i].len + 1 };
		} else {
			agg[an++] = out[i];
		}
	}
	for (i = 60; i + 1 < size && an < RASN_ARRAY_LEN(agg); i += 2) {
		const struct rasn_prefix *o = &out[d[i] % n];
		unsigned len = o->len + d[i + 1] % (bits - o->len + 1);
		rasn_u128 y = o->addr | ((x + i * 0x9e3779b9u) & rasn_hostmask(family, o->len));
		agg[an++] = (struct rasn_prefix){ family, y & ~rasn_hostmask(family, len), len };
	}
	/* reverse so the sort has work to do */
	for (i = 0; i < an / 2; i++) {
		struct rasn_prefix t = agg[i];
		agg[i] = agg[an - 1 - i];
		agg[an - 1 - i] = t;
	}
	an = rasn_cidr_aggregate(agg, an);
	check(an == n);
	for (i = 0; i < n; i++)
		check(agg[i].family == out[i].family && agg[i].addr == out[i].addr &&
		      agg[i].len == out[i].len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	text_checks((const char *)data, size);
	if (size >= 60)
		cidr_checks(data, size);
	return 0;
}
