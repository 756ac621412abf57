/* Fuzz target for lib/cymru.c. The input is parsed as an origin record and as an AS record.
 * Whatever parses must have fields of the documented shapes, must print back to a canonical
 * record that parses to the same values, and the covering check must agree with the prefix.
 * Whatever fails must leave the output zeroed. The first bytes also make an address and an
 * ASN whose query names are read back label by label. Any broken invariant aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cymru.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void check_common(const char *cc, const char *registry, const char *allocated)
{
	size_t n = strlen(cc);
	check(n == 0 || (n == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z'));
	n = strlen(registry);
	check(n <= 15);
	for (size_t i = 0; i < n; i++) {
		char c = registry[i];
		check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.');
	}
	n = strlen(allocated);
	check(n == 0 || (n == 10 && allocated[4] == '-' && allocated[7] == '-'));
}

static void origin_checks(const char *s, size_t n)
{
	struct rasn_cymru_origin o, o2;
	char text[512], pfx[RASN_PREFIX_STRLEN];

	if (rasn_cymru_parse_origin(s, n, NULL, &o) < 0) {
		check(all_zero(&o, sizeof(o)));
		return;
	}
	check(o.n_asns >= 1 && o.n_asns <= RASN_CYMRU_MAX_ORIGINS);
	for (unsigned i = o.n_asns; i < RASN_CYMRU_MAX_ORIGINS; i++)
		check(o.asns[i] == 0);
	check(o.prefix.family == RASN_AF4 || o.prefix.family == RASN_AF6);
	check(o.prefix.len <= rasn_af_bits(o.prefix.family));
	check((o.prefix.addr & rasn_hostmask(o.prefix.family, o.prefix.len)) == 0);
	if (o.prefix.family == RASN_AF4)
		check(o.prefix.addr <= 0xffffffffu);
	check_common(o.cc, o.registry, o.allocated);
	/* at least "N|P/L|||": every field needs its bytes */
	check(n >= 8);

	/* canonical text parses back to the same values */
	size_t len = 0;
	for (unsigned i = 0; i < o.n_asns; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%u", i ? " " : "", o.asns[i]);
	rasn_prefix_format(&o.prefix, pfx);
	len += (size_t)snprintf(text + len, sizeof(text) - len, " | %s | %s | %s | %s", pfx, o.cc,
				o.registry, o.allocated);
	check(len < sizeof(text));
	check(rasn_cymru_parse_origin(text, len, NULL, &o2) == 0);
	check(o2.n_asns == o.n_asns && memcmp(o2.asns, o.asns, sizeof(o.asns)) == 0);
	check(o2.prefix.family == o.prefix.family && o2.prefix.addr == o.prefix.addr &&
	      o2.prefix.len == o.prefix.len);
	check(strcmp(o2.cc, o.cc) == 0 && strcmp(o2.registry, o.registry) == 0 &&
	      strcmp(o2.allocated, o.allocated) == 0);

	/* the covering check: both ends of the prefix are inside, the neighbours and the other
	 * family are not */
	rasn_u128 mask = rasn_hostmask(o.prefix.family, o.prefix.len);
	struct rasn_addr first = { o.prefix.family, o.prefix.addr };
	struct rasn_addr last = { o.prefix.family, o.prefix.addr | mask };
	struct rasn_addr other = { o.prefix.family == RASN_AF4 ? RASN_AF6 : RASN_AF4, o.prefix.addr };
	check(rasn_cymru_parse_origin(s, n, &first, &o2) == 0);
	check(rasn_cymru_parse_origin(s, n, &last, &o2) == 0);
	check(rasn_cymru_parse_origin(s, n, &other, &o2) == RASN_ESYNTAX && all_zero(&o2, sizeof(o2)));
	rasn_u128 top = o.prefix.family == RASN_AF4 ? 0xffffffffu : ~(rasn_u128)0;
	if (last.v != top) {
		struct rasn_addr after = { o.prefix.family, last.v + 1 };
		check(rasn_cymru_parse_origin(s, n, &after, &o2) == RASN_ESYNTAX);
	}
	if (first.v != 0) {
		struct rasn_addr before = { o.prefix.family, first.v - 1 };
		check(rasn_cymru_parse_origin(s, n, &before, &o2) == RASN_ESYNTAX);
	}
}

static void as_checks(const char *s, size_t n)
{
	struct rasn_cymru_as a, a2;
	char text[512];

	if (rasn_cymru_parse_as(s, n, &a) < 0) {
		check(all_zero(&a, sizeof(a)));
		return;
	}
	check_common(a.cc, a.registry, a.allocated);
	size_t nl = strnlen(a.name, sizeof(a.name));
	check(nl < sizeof(a.name));
	for (size_t i = 0; i < nl; i++)
		check((unsigned char)a.name[i] >= 0x20 && a.name[i] != 0x7f);
	check(nl == 0 || (a.name[0] != ' ' && a.name[nl - 1] != ' '));
	int len = snprintf(text, sizeof(text), "%u|%s|%s|%s|%s", a.asn, a.cc, a.registry,
			   a.allocated, a.name);
	check(len > 0 && (size_t)len < sizeof(text));
	check(rasn_cymru_parse_as(text, (size_t)len, &a2) == 0);
	check(a2.asn == a.asn && strcmp(a2.cc, a.cc) == 0 && strcmp(a2.registry, a.registry) == 0 &&
	      strcmp(a2.allocated, a.allocated) == 0 && strcmp(a2.name, a.name) == 0);
}

/* Read a decimal or hex label off the front of a query name. */
static unsigned label(const char **p, int hex)
{
	unsigned v = 0;
	const char *s = *p;
	check(*s != '.' && *s != '\0');
	while (*s && *s != '.') {
		char c = *s++;
		if (c >= '0' && c <= '9')
			v = v * (hex ? 16 : 10) + (unsigned)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else
			abort();
	}
	check(*s == '.');
	*p = s + 1;
	return v;
}

static void qname_checks(const uint8_t *d, size_t size)
{
	char out[RASN_CYMRU_QNAME_MAX];
	struct rasn_addr a;
	rasn_u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = v << 8 | d[1 + i];
	a.family = d[0] & 1 ? RASN_AF6 : RASN_AF4;
	a.v = a.family == RASN_AF4 ? v & 0xffffffffu : v;

	int n = rasn_cymru_origin_qname(&a, NULL, out, sizeof(out));
	check(n > 0 && (size_t)n == strlen(out));
	const char *p = out;
	rasn_u128 back = 0;
	if (a.family == RASN_AF4) {
		for (int i = 0; i < 4; i++) {
			unsigned o = label(&p, 0);
			check(o <= 255);
			back |= (rasn_u128)o << (8 * i);
		}
		check(strcmp(p, RASN_CYMRU_ORIGIN_ZONE) == 0);
	} else {
		for (int i = 0; i < 32; i++) {
			const char *q = p;
			unsigned nib = label(&p, 1);
			check(p - q == 2);
			back |= (rasn_u128)nib << (4 * i);
		}
		check(strcmp(p, RASN_CYMRU_ORIGIN6_ZONE) == 0);
	}
	check(back == a.v);
	/* one byte short of room */
	check(rasn_cymru_origin_qname(&a, NULL, out, (size_t)n) == -ENOSPC && out[0] == '\0');

	uint32_t asn = (uint32_t)(v >> 96);
	n = rasn_cymru_as_qname(asn, NULL, out, sizeof(out));
	check(n > 0 && (size_t)n == strlen(out) && out[0] == 'A' && out[1] == 'S');
	p = out + 2;
	char num[16];
	snprintf(num, sizeof(num), "%u", asn);
	check(strncmp(p, num, strlen(num)) == 0);
	check(strcmp(p + strlen(num), "." RASN_CYMRU_AS_ZONE) == 0);

	/* the rest of the input as a zone: accepted zones are copied verbatim */
	if (size > 17) {
		char zone[300];
		size_t zl = size - 17 < sizeof(zone) - 1 ? size - 17 : sizeof(zone) - 1;
		memcpy(zone, d + 17, zl);
		zone[zl] = '\0';
		n = rasn_cymru_origin_qname(&a, zone, out, sizeof(out));
		if (n >= 0) {
			size_t zs = strlen(zone);
			check((size_t)n == strlen(out) && (size_t)n > zs);
			check(strcmp(out + n - zs, zone) == 0 && out[(size_t)n - zs - 1] == '.');
			check(n <= 254);
		} else {
			check(n == -EINVAL || n == -ENAMETOOLONG);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	origin_checks((const char *)data, size);
	as_checks((const char *)data, size);
	if (size >= 17)
		qname_checks(data, size);
	return 0;
}
