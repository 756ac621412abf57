/* Readers for the routing datasets rasn loads. Each reader walks a buffer that holds a whole
 * file, bounds-checked, and hands every good row to a callback; malformed lines are reported
 * with their line numbers and counted, never trusted.
 *
 * Formats:
 *  - ip-location-db ASN CSV: "start,end,asn,org", start/end as address text (or as decimal
 *    integers, the -num files), org quoted when it has a comma, "" for a quote inside quotes.
 *  - iptoasn ip2asn TSV: "start\tend\tasn\tcc\tdescr"; ASN 0 means not routed (skipped, not
 *    an error).
 *  - RouteViews/CAIDA pfx2as: "prefix\tlen\tasn" where asn may be "a_b" (multi-origin) or
 *    "a,b" (an AS set); no names.
 * Blank lines are skipped; lines end in LF or CRLF; a last line without LF is accepted. */
#ifndef RASN_DATASET_H
#define RASN_DATASET_H

#include "addr.h"

enum rasn_ds_format {
	RASN_DS_AUTO = 0,
	RASN_DS_IPLDB_CSV,
	RASN_DS_IPTOASN_TSV,
	RASN_DS_PFX2AS,
};

#define RASN_DS_MAX_ORIGINS 8
#define RASN_DS_MAX_NAME 1024 /* longer names are cut at a UTF-8 boundary */

struct rasn_ds_row {
	int family;
	rasn_u128 first, last;     /* inclusive, first <= last */
	uint32_t asns[RASN_DS_MAX_ORIGINS];
	unsigned n_asns;           /* >= 1; extra origins past the maximum are dropped */
	const char *name;          /* unescaped bytes, not NUL-terminated; valid until the callback returns */
	size_t name_len;           /* 0 when the format has no name */
	char cc[3];                /* ISO country code, NUL-terminated; "" when absent */
	size_t line;               /* 1-based line number */
};

/* Return 0 to go on, negative to stop the parse with that code. */
typedef int (*rasn_ds_row_fn)(void *ud, const struct rasn_ds_row *row);
/* Called for each malformed line with a short reason ("bad start address"). */
typedef void (*rasn_ds_error_fn)(void *ud, size_t line, const char *reason);

struct rasn_ds_result {
	enum rasn_ds_format format; /* the format used (detected when AUTO was asked) */
	size_t rows;                /* rows handed to the callback */
	size_t skipped;             /* rows skipped on purpose (ASN 0 in iptoasn) */
	size_t bad;                 /* malformed lines */
	size_t lines;               /* lines seen */
};

/* Guess the format from the first non-blank lines. Returns the format or RASN_DS_AUTO when it
 * cannot tell. */
enum rasn_ds_format rasn_ds_detect(const char *buf, size_t len);

/* Parse buf (len bytes, need not be NUL-terminated). fmt RASN_DS_AUTO detects. err_fn may be
 * NULL. Returns 0 (even with bad lines: the caller decides from res->bad), RASN_EFORMAT when
 * the format cannot be detected, or the callback's negative code. */
int rasn_ds_parse(const char *buf, size_t len, enum rasn_ds_format fmt,
		  rasn_ds_row_fn row_fn, rasn_ds_error_fn err_fn, void *ud,
		  struct rasn_ds_result *res);

/* Name of a format for messages ("ip-location-db csv"); "auto" for RASN_DS_AUTO. */
const char *rasn_ds_format_name(enum rasn_ds_format fmt);
/* Parse a format name as used in config ("csv", "iptoasn", "pfx2as", "auto"). -1 if unknown. */
int rasn_ds_format_parse(const char *s);

#endif
