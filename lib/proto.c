/* Request line parsing (docs/protocol.md). Every byte comes from a client, so everything is
 * bounded by the length handed in; results point into the caller's line. */
#include <string.h>

#include "proto.h"

#define ORG_TEXT_MAX 256
#define SOURCE_MAX 32
#define STATS_WORD_MAX 32

static const char err_generic[] = "not an address, AS number, domain or command";

static const struct {
	const char *word; /* lower case */
	enum rasn_qtype type;
} keywords[] = {
	{ "ip", RASN_Q_IP },
	{ "as", RASN_Q_AS },
	{ "prefixes", RASN_Q_PREFIXES },
	{ "domain", RASN_Q_DOMAIN },
	{ "org", RASN_Q_ORG },
	{ "ping", RASN_Q_PING },
	{ "stats", RASN_Q_STATS },
	{ "help", RASN_Q_HELP },
	{ "reload", RASN_Q_RELOAD },
	{ "refresh", RASN_Q_REFRESH },
	{ "begin", RASN_Q_BEGIN },
	{ "end", RASN_Q_END },
};

static const char *const qtype_names[] = {
	[RASN_Q_INVALID] = "invalid",
	[RASN_Q_IP] = "ip",
	[RASN_Q_AS] = "as",
	[RASN_Q_PREFIXES] = "prefixes",
	[RASN_Q_DOMAIN] = "domain",
	[RASN_Q_ORG] = "org",
	[RASN_Q_PING] = "ping",
	[RASN_Q_STATS] = "stats",
	[RASN_Q_HELP] = "help",
	[RASN_Q_RELOAD] = "reload",
	[RASN_Q_REFRESH] = "refresh",
	[RASN_Q_BEGIN] = "begin",
	[RASN_Q_END] = "end",
};

const char *rasn_qtype_name(enum rasn_qtype t)
{
	if ((unsigned)t >= RASN_ARRAY_LEN(qtype_names) || !qtype_names[t])
		return "invalid";
	return qtype_names[t];
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Letters, digits, '-' and '_', 1..max bytes: source names and the stats format word. */
static int is_word(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Case-insensitive comparison of s[0..n) with a lower-case ASCII keyword. */
static int kw_eq(const char *s, size_t n, const char *kw)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (kw[i] == '\0' || c != kw[i])
			return 0;
	}
	return kw[i] == '\0';
}

/* Plain decimal 0..4294967295: no sign, no leading zero except "0" itself. */
static int asn_dec(const char *s, size_t n, uint32_t *asn)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return RASN_ESYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return RASN_ESYNTAX;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return RASN_ESYNTAX;
	*asn = (uint32_t)v;
	return 0;
}

int rasn_asn_parse(const char *s, size_t len, uint32_t *asn)
{
	if (len >= 2 && kw_eq(s, 2, "as")) {
		s += 2;
		len -= 2;
	}
	return asn_dec(s, len, asn);
}

int rasn_domain_valid(const char *s, size_t len)
{
	size_t labels = 0, i = 0;
	int last_all_digits = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > RASN_DOMAIN_MAX)
		return 0;
	while (i <= len) {
		size_t start = i;
		int digits = 1;
		while (i < len && s[i] != '.') {
			char c = s[i];
			if (!is_alnum(c) && c != '-' && c != '_')
				return 0;
			if (!is_digit(c))
				digits = 0;
			i++;
		}
		size_t l = i - start;
		if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
			return 0;
		labels++;
		last_all_digits = digits;
		i++; /* past the dot, or past the end to stop */
	}
	return labels >= 2 && !last_all_digits;
}

static int fail(struct rasn_request *req, const char *why)
{
	req->type = RASN_Q_INVALID;
	req->error = why;
	return RASN_ESYNTAX;
}

static int set_domain(struct rasn_request *req, const char *s, size_t n)
{
	req->type = RASN_Q_DOMAIN;
	req->arg = s;
	req->arg_len = s[n - 1] == '.' ? n - 1 : n;
	return 0;
}

/* A line of one token that is no keyword: an address, "AS<n>" or a host name. */
static int parse_bare(struct rasn_request *req, const char *s, size_t n)
{
	if (rasn_addr_parse(s, n, &req->addr) == 0) {
		req->type = RASN_Q_IP;
		return 0;
	}
	/* before the AS form, so "as1.example" stays a host name */
	if (rasn_domain_valid(s, n))
		return set_domain(req, s, n);
	if (n > 2 && kw_eq(s, 2, "as") && is_digit(s[2])) {
		if (asn_dec(s + 2, n - 2, &req->asn) < 0)
			return fail(req, "bad AS number");
		req->type = RASN_Q_AS;
		return 0;
	}
	return fail(req, err_generic);
}

/* A keyword and what follows it (rest, trimmed, possibly empty). */
static int parse_command(struct rasn_request *req, enum rasn_qtype type,
			 const char *rest, size_t rn)
{
	switch (type) {
	case RASN_Q_IP:
		if (rasn_addr_parse(rest, rn, &req->addr) < 0)
			return fail(req, "bad address");
		break;
	case RASN_Q_AS:
		/* "as 15169": the keyword already said AS, so digits only */
		if (asn_dec(rest, rn, &req->asn) < 0)
			return fail(req, "bad AS number");
		break;
	case RASN_Q_PREFIXES:
		if (rasn_asn_parse(rest, rn, &req->asn) < 0)
			return fail(req, "bad AS number");
		break;
	case RASN_Q_DOMAIN:
		if (!rasn_domain_valid(rest, rn))
			return fail(req, "bad domain name");
		return set_domain(req, rest, rn);
	case RASN_Q_ORG:
		if (rn == 0)
			return fail(req, "org needs a search text");
		if (rn > ORG_TEXT_MAX)
			return fail(req, "org search text too long");
		req->arg = rest;
		req->arg_len = rn;
		break;
	case RASN_Q_STATS:
		if (rn == 0)
			break;
		if (!is_word(rest, rn, STATS_WORD_MAX))
			return fail(req, "bad stats format");
		req->arg = rest;
		req->arg_len = rn;
		break;
	default:
		if (rn > 0)
			return fail(req, "unexpected argument");
		break;
	}
	req->type = type;
	return 0;
}

int rasn_proto_parse(const char *line, size_t len, struct rasn_request *req)
{
	const char *s = line;
	size_t n = len, k;

	*req = (struct rasn_request){ .type = RASN_Q_INVALID };
	if (len > RASN_LINE_MAX)
		return fail(req, "line too long");
	if (len == 0)
		return fail(req, "empty request");
	if (memchr(line, '\0', len))
		return fail(req, "line holds a NUL byte");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(req, "line holds control bytes");
	}
	while (n > 0 && is_blank(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (n == 0)
		return fail(req, "empty request");

	/* A last token "@NAME" picks the source; only a whole token counts, so an org text
	 * may hold '@' elsewhere. */
	k = n;
	while (k > 0 && !is_blank(s[k - 1]))
		k--;
	if (s[k] == '@') {
		if (!is_word(s + k + 1, n - k - 1, SOURCE_MAX))
			return fail(req, "bad source name");
		req->source = s + k + 1;
		req->source_len = n - k - 1;
		n = k;
		while (n > 0 && is_blank(s[n - 1]))
			n--;
		if (n == 0)
			return fail(req, "empty request");
	}

	k = 0;
	while (k < n && !is_blank(s[k]))
		k++;
	const char *rest = s + k;
	size_t rn = n - k;
	while (rn > 0 && is_blank(rest[0])) {
		rest++;
		rn--;
	}
	for (size_t i = 0; i < RASN_ARRAY_LEN(keywords); i++)
		if (kw_eq(s, k, keywords[i].word))
			return parse_command(req, keywords[i].type, rest, rn);
	if (rn > 0)
		return fail(req, err_generic);
	return parse_bare(req, s, n);
}
