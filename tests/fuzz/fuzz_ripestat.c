/* Fuzz target for lib/ripestat.c. The first byte picks the call (low two bits) and the AS or
 * address asked about (the rest); the other bytes are the body. Whatever parses must be in
 * range (origin count, AS numbers, prefixes without host bits, a prefix that covers the
 * address asked about, NUL-terminated UTF-8 names free of control characters, count <= cap);
 * whatever fails must leave the output zeroed and say why. The body, cut at its first NUL, is
 * also made into a URL that must decode back to it. Any broken invariant aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ripestat.h"

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

/* NUL-terminated inside cap, valid UTF-8, no C0, DEL or C1 control. */
static void check_name(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	check(n < cap);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		check(k > 0 && i + k <= n);
		check(c >= 0x20 && c != 0x7f);
		for (size_t j = 1; j < k; j++)
			check(((unsigned char)s[i + j] & 0xc0) == 0x80);
		check(!(c == 0xc2 && (unsigned char)s[i + 1] <= 0x9f));
		i += k;
	}
}

static void check_err(int rc, const char *err, size_t errlen, const char *call)
{
	check(rc == RASN_ESYNTAX);
	check(strnlen(err, errlen) < errlen);
	check(strncmp(err, call, strlen(call)) == 0 && strlen(err) > strlen(call) + 2);
	check_name(err, errlen); /* safe to log: valid UTF-8, no control characters */
}

static void check_prefix(const struct rasn_prefix *p)
{
	check(p->family == RASN_AF4 || p->family == RASN_AF6);
	check(p->len <= rasn_af_bits(p->family));
	check((p->addr & rasn_hostmask(p->family, p->len)) == 0);
	if (p->family == RASN_AF4)
		check(p->addr <= 0xffffffffu);
}

/* Field by field: padding in struct rasn_prefix is not ours to compare. */
static int same_prefix(const struct rasn_prefix *a, const struct rasn_prefix *b)
{
	return a->family == b->family && a->addr == b->addr && a->len == b->len;
}

static int covers(const struct rasn_prefix *p, const struct rasn_addr *a)
{
	return p->family == a->family && (a->v & ~rasn_hostmask(a->family, p->len)) == p->addr;
}

static void netinfo_checks(const char *b, size_t n, unsigned sel)
{
	struct rasn_ripe_netinfo ni, ni2;
	char err[128];
	static const char *const asked[] = { "8.8.8.8", "2001:4860:4860::8888", "192.0.2.1", "::" };
	struct rasn_addr q;
	const char *qs = asked[sel & 3];
	check(rasn_addr_parse(qs, strlen(qs), &q) == 0);

	int rc = rasn_ripe_parse_network_info(b, n, NULL, &ni, err, sizeof(err));
	if (rc < 0) {
		check_err(rc, err, sizeof(err), "network-info: ");
		check(all_zero(&ni, sizeof(ni)));
		/* with an address to cover it fails all the same */
		check(rasn_ripe_parse_network_info(b, n, &q, &ni2, NULL, 0) == RASN_ESYNTAX);
		check(all_zero(&ni2, sizeof(ni2)));
		return;
	}
	check(rc == 0 && ni.n_asns <= RASN_RIPE_MAX_ORIGINS);
	for (unsigned i = 0; i < RASN_RIPE_MAX_ORIGINS; i++)
		check(i < ni.n_asns ? ni.asns[i] != 0 : ni.asns[i] == 0);
	if (ni.n_asns == 0) {
		check(all_zero(&ni.prefix, sizeof(ni.prefix)));
		check(rasn_ripe_parse_network_info(b, n, &q, &ni2, NULL, 0) == 0 && ni2.n_asns == 0);
		return;
	}
	check_prefix(&ni.prefix);

	/* the covering check agrees with the prefix: asked about, both ends, the neighbours */
	rc = rasn_ripe_parse_network_info(b, n, &q, &ni2, NULL, 0);
	check(rc == (covers(&ni.prefix, &q) ? 0 : RASN_ESYNTAX));
	if (rc == 0)
		check(covers(&ni2.prefix, &q) && ni2.n_asns == ni.n_asns &&
		      memcmp(ni.asns, ni2.asns, sizeof(ni.asns)) == 0 && same_prefix(&ni.prefix, &ni2.prefix));
	rasn_u128 mask = rasn_hostmask(ni.prefix.family, ni.prefix.len);
	struct rasn_addr first = { ni.prefix.family, ni.prefix.addr };
	struct rasn_addr last = { ni.prefix.family, ni.prefix.addr | mask };
	check(rasn_ripe_parse_network_info(b, n, &first, &ni2, NULL, 0) == 0);
	check(rasn_ripe_parse_network_info(b, n, &last, &ni2, NULL, 0) == 0);
	rasn_u128 top = ni.prefix.family == RASN_AF4 ? 0xffffffffu : ~(rasn_u128)0;
	if (last.v != top) {
		struct rasn_addr after = { ni.prefix.family, last.v + 1 };
		check(rasn_ripe_parse_network_info(b, n, &after, &ni2, NULL, 0) == RASN_ESYNTAX);
		check(all_zero(&ni2, sizeof(ni2)));
	}
	struct rasn_addr other = { ni.prefix.family == RASN_AF4 ? RASN_AF6 : RASN_AF4, ni.prefix.addr };
	check(rasn_ripe_parse_network_info(b, n, &other, &ni2, NULL, 0) == RASN_ESYNTAX);
}

static const uint32_t asked_asns[] = { 15169, 0, 1, 4294967295u, 3333, 64500, 36040, 2 };

static void as_checks(const char *b, size_t n, unsigned sel)
{
	struct rasn_ripe_as as;
	char err[128];
	uint32_t asn = asked_asns[sel & 7];
	int rc = rasn_ripe_parse_as_overview(b, n, asn, &as, err, sizeof(err));
	if (rc < 0) {
		check_err(rc, err, sizeof(err), "as-overview: ");
		check(all_zero(&as, sizeof(as)));
		return;
	}
	check(rc == 0 && as.asn == asn);
	check(as.found == 0 || as.found == 1);
	check(as.announced == 0 || as.announced == 1);
	check_name(as.holder, sizeof(as.holder));
	if (!as.found)
		check(as.holder[0] == '\0');
	/* another AS asked about: refused */
	check(rasn_ripe_parse_as_overview(b, n, asn ^ 1, &as, NULL, 0) == RASN_ESYNTAX);
	check(all_zero(&as, sizeof(as)));
}

static void prefixes_checks(const char *b, size_t n, unsigned sel)
{
	struct rasn_prefix p[8], p2[8];
	char err[128];
	size_t total = 1, total2 = 1, cap = sel & 7;
	uint32_t asn = asked_asns[(sel >> 3) & 7];

	memset(p, 0xa5, sizeof(p));
	int rc = rasn_ripe_parse_announced_prefixes(b, n, asn, p, cap, &total, err, sizeof(err));
	int rc2 = rasn_ripe_parse_announced_prefixes(b, n, asn, NULL, 0, &total2, NULL, 0);
	if (rc < 0) {
		check_err(rc, err, sizeof(err), "announced-prefixes: ");
		check(total == 0 && rc2 == RASN_ESYNTAX && total2 == 0);
		for (size_t i = 0; i < RASN_ARRAY_LEN(p); i++)
			check(all_zero(&p[i], sizeof(p[i])) || p[i].len == 0xa5a5a5a5u);
		return;
	}
	check(rc2 == 0 && total2 == total);
	check((size_t)rc <= cap && (size_t)rc == (total < cap ? total : cap));
	for (int i = 0; i < rc; i++)
		check_prefix(&p[i]);
	for (size_t i = (size_t)rc; i < RASN_ARRAY_LEN(p); i++)
		check(p[i].len == 0xa5a5a5a5u);
	/* a bigger buffer starts the same */
	int rc3 = rasn_ripe_parse_announced_prefixes(b, n, asn, p2, RASN_ARRAY_LEN(p2), &total2, NULL, 0);
	check(rc3 >= rc && total2 == total);
	for (int i = 0; i < rc; i++)
		check(same_prefix(&p[i], &p2[i]));
}

static void search_checks(const char *b, size_t n, unsigned sel)
{
	struct rasn_ripe_org_hit h[8], h2[8];
	char err[128];
	size_t cap = sel & 7;

	memset(h, 0xa5, sizeof(h));
	int rc = rasn_ripe_parse_searchcomplete(b, n, h, cap, err, sizeof(err));
	int rc2 = rasn_ripe_parse_searchcomplete(b, n, h2, RASN_ARRAY_LEN(h2), NULL, 0);
	if (rc < 0) {
		check_err(rc, err, sizeof(err), "searchcomplete: ");
		check(rc2 == RASN_ESYNTAX);
		for (size_t i = 0; i < RASN_ARRAY_LEN(h); i++)
			check(all_zero(&h[i], sizeof(h[i])) || h[i].asn == 0xa5a5a5a5u);
		return;
	}
	/* rc2 is the whole count unless it filled its 8 */
	check(rc2 >= 0 && rc == (rc2 < (int)cap ? rc2 : (int)cap));
	for (int i = 0; i < rc; i++) {
		check_name(h[i].name, sizeof(h[i].name));
		check(h[i].asn == h2[i].asn && strcmp(h[i].name, h2[i].name) == 0);
	}
	for (size_t i = (size_t)rc; i < RASN_ARRAY_LEN(h); i++)
		check(h[i].asn == 0xa5a5a5a5u);
	check(rasn_ripe_parse_searchcomplete(b, n, NULL, 0, NULL, 0) == 0);
}

static int unhex(char c)
{
	check((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* The URL ends in resource=ENCODED: decode it and compare. */
static void url_checks(const char *b, size_t n, unsigned sel)
{
	char res[512], out[RASN_RIPE_URL_MAX];
	size_t rl = strnlen(b, n < sizeof(res) - 1 ? n : sizeof(res) - 1);
	memcpy(res, b, rl);
	res[rl] = '\0';
	enum rasn_ripe_call call = (enum rasn_ripe_call)(sel & 3);
	const char *base = sel & 4 ? "https://stat.ripe.net/" : "http://127.0.0.1:1";
	size_t cap = sel & 8 ? sizeof(out) : 40 + rl;

	int rc = rasn_ripe_url(base, call, res, NULL, out, cap);
	if (rc < 0) {
		check(rc == RASN_ERANGE && out[0] == '\0');
		check(rasn_ripe_url(base, call, res, NULL, out, sizeof(out)) > (int)cap - 1);
		return;
	}
	check((size_t)rc == strlen(out) && (size_t)rc < cap);
	static const char *const names[] = { "network-info", "as-overview", "announced-prefixes", "searchcomplete" };
	char head[128];
	int hl = snprintf(head, sizeof(head), "%s/data/%s/data.json?resource=",
			  sel & 4 ? "https://stat.ripe.net" : "http://127.0.0.1:1", names[call]);
	check(strncmp(out, head, (size_t)hl) == 0);
	const char *e = out + hl;
	size_t k = 0;
	for (; *e; e++) {
		char c = *e;
		check(c != '&' && c != '#' && c != '?' && c != ' ' && c != '+' && c != '=');
		check((unsigned char)c > 0x20 && (unsigned char)c < 0x7f);
		if (c == '%') {
			check(e[1] && e[2]);
			c = (char)(unhex(e[1]) << 4 | unhex(e[2]));
			e += 2;
		}
		check(k < rl && res[k++] == c);
	}
	check(k == rl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const char *b = (const char *)data + 1;
	size_t n = size - 1;

	switch (sel & 3) {
	case RASN_RIPE_NETWORK_INFO:
		netinfo_checks(b, n, sel >> 2);
		break;
	case RASN_RIPE_AS_OVERVIEW:
		as_checks(b, n, sel >> 2);
		break;
	case RASN_RIPE_ANNOUNCED_PREFIXES:
		prefixes_checks(b, n, sel >> 2);
		break;
	default:
		search_checks(b, n, sel >> 2);
		break;
	}
	url_checks(b, n, sel >> 2);
	return 0;
}
