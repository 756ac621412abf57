/* Team Cymru's whois query language. Words are cut from a bounded (pointer, length) view. */
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "reply.h"
#include "whoisq.h"

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Bulk option words: set these bits, clear those. */
static const struct {
	const char *word;
	unsigned set, clear;
} words[] = {
	{ "verbose", RASN_CYMRU_VERBOSE, RASN_CYMRU_NOPREFIX | RASN_CYMRU_NOCC | RASN_CYMRU_NOREGISTRY |
						 RASN_CYMRU_NOALLOC | RASN_CYMRU_NOASNAME },
	{ "noverbose", 0, RASN_CYMRU_VERBOSE },
	{ "header", 0, RASN_CYMRU_NOHEADER },
	{ "noheader", RASN_CYMRU_NOHEADER, 0 },
	{ "prefix", RASN_CYMRU_PREFIX, RASN_CYMRU_NOPREFIX },
	{ "noprefix", RASN_CYMRU_NOPREFIX, RASN_CYMRU_PREFIX },
	{ "asname", 0, RASN_CYMRU_NOASNAME },
	{ "noasname", RASN_CYMRU_NOASNAME, 0 },
	{ "cc", RASN_CYMRU_CC, RASN_CYMRU_NOCC },
	{ "nocc", RASN_CYMRU_NOCC, RASN_CYMRU_CC },
	{ "countrycode", RASN_CYMRU_CC, RASN_CYMRU_NOCC },
	{ "nocountrycode", RASN_CYMRU_NOCC, RASN_CYMRU_CC },
	{ "registry", RASN_CYMRU_REGISTRY, RASN_CYMRU_NOREGISTRY },
	{ "noregistry", RASN_CYMRU_NOREGISTRY, RASN_CYMRU_REGISTRY },
	{ "allocdate", RASN_CYMRU_ALLOC, RASN_CYMRU_NOALLOC },
	{ "noallocdate", RASN_CYMRU_NOALLOC, RASN_CYMRU_ALLOC },
	/* accepted for compatibility; rasn always prints the AS number and never truncates */
	{ "asnumber", 0, 0 },
	{ "truncate", 0, 0 },
	{ "notruncate", 0, 0 },
};

int rasn_whoisq_option(const char *w, size_t n, unsigned *opts)
{
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (strlen(words[k].word) == n && strncasecmp(w, words[k].word, n) == 0) {
			*opts = (*opts | words[k].set) & ~words[k].clear;
			return 1;
		}
	}
	return 0;
}

/* The single-query flags, as Cymru's whois takes them. */
static int flag(char c, unsigned *opts)
{
	switch (c) {
	case 'v':
		*opts = (*opts | RASN_CYMRU_VERBOSE) & ~(unsigned)(RASN_CYMRU_NOPREFIX | RASN_CYMRU_NOCC |
							   RASN_CYMRU_NOREGISTRY | RASN_CYMRU_NOALLOC |
							   RASN_CYMRU_NOASNAME);
		return 0;
	case 'p':
		*opts |= RASN_CYMRU_PREFIX;
		return 0;
	case 'c':
		*opts |= RASN_CYMRU_CC;
		return 0;
	case 'r':
		*opts |= RASN_CYMRU_REGISTRY;
		return 0;
	case 'a':
		*opts |= RASN_CYMRU_ALLOC;
		return 0;
	case 'n':
		*opts &= ~(unsigned)RASN_CYMRU_NOASNAME;
		return 0;
	case 't': /* truncate the AS name: rasn's names are not padded, nothing to cut */
	case 'u': /* the UTC date in the header: rasn prints no date in single answers */
	case 'o': /* the AS number column: always there */
	case 'e': /* peers: rasn knows no peers; ignored rather than refused */
		return 0;
	default:
		return -1;
	}
}

static int bad(struct rasn_whoisq *out, const char *why)
{
	out->kind = RASN_WHOISQ_BAD;
	out->error = why;
	return RASN_ESYNTAX;
}

int rasn_whoisq_parse(const char *line, size_t len, unsigned opts, struct rasn_whoisq *out)
{
	memset(out, 0, sizeof(*out));
	out->opts = opts;
	if (len > RASN_WHOISQ_LINE_MAX)
		return bad(out, "line too long");
	if (len && memchr(line, '\0', len))
		return bad(out, "line holds a NUL byte");
	size_t i = 0, words_seen = 0;
	int have_target = 0;
	while (i < len) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !is_blank(line[i]))
			i++;
		const char *w = line + start;
		size_t n = i - start;
		words_seen++;
		if (have_target)
			return bad(out, "one address or AS number per line (historical queries are not supported)");
		if (w[0] == '-' && n > 1 && !(n == 2 && w[1] == 'h')) {
			for (size_t k = 1; k < n; k++)
				if (flag(w[k], &out->opts) < 0)
					return bad(out, "unknown flag");
			continue;
		}
		if ((n == 2 && w[0] == '-' && w[1] == 'h') || (n == 4 && strncasecmp(w, "help", 4) == 0)) {
			out->kind = RASN_WHOISQ_HELP;
			have_target = 1;
			continue;
		}
		if (words_seen == 1 && (n == 5 && strncasecmp(w, "begin", 5) == 0)) {
			out->kind = RASN_WHOISQ_BEGIN;
			have_target = 1;
			continue;
		}
		if (words_seen == 1 && (n == 3 && strncasecmp(w, "end", 3) == 0)) {
			out->kind = RASN_WHOISQ_END;
			have_target = 1;
			continue;
		}
		if (words_seen == 1 && rasn_whoisq_option(w, n, &out->opts)) {
			out->kind = RASN_WHOISQ_OPTION;
			have_target = 1;
			continue;
		}
		if (rasn_addr_parse(w, n, &out->addr) == 0) {
			out->kind = RASN_WHOISQ_IP;
		} else if (rasn_asn_parse(w, n, &out->asn) == 0) {
			out->kind = RASN_WHOISQ_AS;
		} else {
			memset(&out->addr, 0, sizeof(out->addr));
			return bad(out, "not an address or AS number");
		}
		have_target = 1;
	}
	if (!have_target) {
		if (words_seen)
			return bad(out, "flags without an address or AS number");
		out->kind = RASN_WHOISQ_EMPTY;
	}
	return 0;
}
