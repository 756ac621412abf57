/* Team Cymru's whois query language (docs/whois.md): a single query line with its flags
 * (" -v 8.8.8.8", " -c -p AS15169"), and the option words of a bulk block ("begin", "verbose",
 * "noheader", ..., "end"). Parsing only: no I/O, no lookups. The line handed in has no line
 * terminator (LF and a CR before it are stripped by the caller) and may hold any bytes. */
#ifndef RASN_WHOISQ_H
#define RASN_WHOISQ_H

#include <stdint.h>

#include "addr.h"

#define RASN_WHOISQ_LINE_MAX 1024   /* longest query line, terminator excluded */

enum rasn_whoisq_kind {
	RASN_WHOISQ_BAD = 0,  /* error says why; answered as Cymru's "Error: no ASN or IP match" */
	RASN_WHOISQ_EMPTY,    /* blank line */
	RASN_WHOISQ_IP,
	RASN_WHOISQ_AS,
	RASN_WHOISQ_BEGIN,    /* start of a bulk block */
	RASN_WHOISQ_END,      /* end of a bulk block */
	RASN_WHOISQ_OPTION,   /* a bulk option word; its effect is in opts */
	RASN_WHOISQ_HELP,     /* "-h" or "help" */
};

struct rasn_whoisq {
	enum rasn_whoisq_kind kind;
	unsigned opts;            /* RASN_CYMRU_* (lib/reply.h) after the flags or option word */
	struct rasn_addr addr;    /* IP */
	uint32_t asn;             /* AS */
	const char *error;        /* BAD: static text */
};

/* Parse one line. opts is the state the line starts from (0 for a single query; the block's
 * options in bulk mode); flags (-v -c -r -p -a -n -t -u -o -e, alone or grouped as "-vc") and
 * option words (verbose, header/noheader, prefix/noprefix, asname/noasname, cc/nocc
 * (countrycode/nocountrycode), registry/noregistry, allocdate/noallocdate, asnumber,
 * truncate/notruncate, and their no- forms) change it. The target is an IPv4 or IPv6 address or
 * an AS number ("AS15169" or "15169"); words after it (Cymru's historical date) are refused.
 * Always fills out; returns 0, or RASN_ESYNTAX (kind BAD). */
int rasn_whoisq_parse(const char *line, size_t len, unsigned opts, struct rasn_whoisq *out);

/* A bulk option word (the list above), case-insensitive: applies it to *opts and returns 1;
 * 0 when w is not one. */
int rasn_whoisq_option(const char *w, size_t n, unsigned *opts);

#endif
