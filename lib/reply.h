/* Reply formatting: the JSON lines of the protocol and Team Cymru bulk rows. Pure functions
 * over a rasn_buf; the daemon decides what to answer, these decide how it is spelt. */
#ifndef RASN_REPLY_H
#define RASN_REPLY_H

#include <time.h>

#include "buf.h"
#include "proto.h"
#include "table.h"

/* {"query":Q,"type":T,"status":S  -- the caller adds fields, then rasn_reply_close(). */
void rasn_reply_open(struct rasn_buf *b, const char *q, size_t qlen, const char *type, const char *status);
/* Adds "source" when source is non-NULL, then "}\n". */
void rasn_reply_close(struct rasn_buf *b, const char *source);

void rasn_reply_error(struct rasn_buf *b, const char *q, size_t qlen, const char *type, const char *msg);

/* m NULL means not found. */
void rasn_reply_ip(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
		   const struct rasn_match *m, const char *source);
/* not_found for an address no AS can originate (lib/special.h): "reason" names its block,
 * e.g. "private-use (RFC 1918)". */
void rasn_reply_ip_special(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
			   const char *reason, const char *source);
/* info NULL means not found; prefix counts are the aggregated ones. */
void rasn_reply_as(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
		   const struct rasn_as_info *info, size_t prefixes_v4, size_t prefixes_v6,
		   const char *source);
/* Fields a source adds beside another's answer (Team Cymru's country, registry and allocation
 * date on a table answer). A NULL field is left out. */
struct rasn_reply_extra {
	const char *cc, *registry, *allocated;
};
/* rasn_reply_ip and rasn_reply_as with the fields of x (NULL: none) before "source". */
void rasn_reply_ip_ex(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_addr *a,
		      const struct rasn_match *m, const struct rasn_reply_extra *x, const char *source);
void rasn_reply_as_ex(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
		      const struct rasn_as_info *info, size_t prefixes_v4, size_t prefixes_v6,
		      const struct rasn_reply_extra *x, const char *source);
void rasn_reply_prefixes(struct rasn_buf *b, const char *q, size_t qlen, uint32_t asn,
			 const struct rasn_as_info *info, const struct rasn_prefix *p, size_t n,
			 const char *source);
void rasn_reply_org(struct rasn_buf *b, const char *q, size_t qlen, const struct rasn_org_hit *hits,
		    size_t shown, size_t total, const char *source);

/* Team Cymru bulk format. */
enum {
	RASN_CYMRU_VERBOSE = 1,
	RASN_CYMRU_NOHEADER = 2,
	RASN_CYMRU_NOPREFIX = 4,  /* verbose without the BGP Prefix column */
	RASN_CYMRU_NOASNAME = 8,
	/* single columns without verbose (whois flags -p -c -r -a), and their bulk no- forms */
	RASN_CYMRU_PREFIX = 16,
	RASN_CYMRU_CC = 32,
	RASN_CYMRU_REGISTRY = 64,
	RASN_CYMRU_ALLOC = 128,
	RASN_CYMRU_NOCC = 256,
	RASN_CYMRU_NOREGISTRY = 512,
	RASN_CYMRU_NOALLOC = 1024,
};
/* The line that opens a bulk block's answer: "Bulk mode; rasnd [YYYY-MM-DD HH:MM:SS +0000]". */
void rasn_cymru_bulk_banner(struct rasn_buf *b, time_t now);
void rasn_cymru_ip_header(struct rasn_buf *b, unsigned opts);
void rasn_cymru_as_header(struct rasn_buf *b, unsigned opts);
/* One row per origin; m NULL: a row of NA. */
void rasn_cymru_ip_rows(struct rasn_buf *b, unsigned opts, const struct rasn_addr *a,
			const struct rasn_match *m);
void rasn_cymru_as_row(struct rasn_buf *b, unsigned opts, uint32_t asn, const struct rasn_as_info *info);

#endif
