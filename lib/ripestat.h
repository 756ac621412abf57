/* RIPEstat's data API (https://stat.ripe.net/data/CALL/data.json?resource=...): request URLs
 * and bounded, checked parsers for the four calls rasn uses. Bodies are hostile: each parser
 * takes (pointer, length), never reads past it, checks every field's type and range, and
 * answers RASN_ESYNTAX with a short reason in err for anything it cannot vouch for ("CALL: why",
 * valid UTF-8 without control characters, cut to errlen; err may be NULL or errlen 0). JSON is
 * parsed by jansson (Debian's libjansson): bounded in size by the caller's length (bodies over
 * 16 MiB are refused unread), in depth by jansson's JSON_PARSER_MAX_DEPTH; duplicate keys,
 * trailing bytes and NUL are refused.
 *
 * Shapes (only the fields used; others are ignored):
 *   network-info       {"status":"ok","data":{"asns":["15169"],"prefix":"8.8.8.0/24"}}
 *                      asns empty and prefix null or absent: not announced
 *   as-overview        {"status":"ok","data":{"resource":"15169","holder":"GOOGLE - Google LLC",
 *                       "announced":true}}     holder null: no such AS
 *   announced-prefixes {"status":"ok","data":{"resource":"15169","prefixes":[{"prefix":"8.8.8.0/24"},..]}}
 *   searchcomplete     {"status":"ok","data":{"categories":[{"category":"ASNs","suggestions":
 *                       [{"value":"AS15169","description":"GOOGLE - Google LLC"},..]},..]}}
 * A "status" other than "ok" is an error whose reason quotes the first of "messages" (RIPEstat
 * sends [level, text] pairs; a bare string is taken too). AS numbers are JSON integers or
 * strings of decimal digits without sign or leading zero; a "resource" may also be "AS<n>".
 * Names (holder, description) with a control character (C0, DEL, C1) are an error. */
#ifndef RASN_RIPESTAT_H
#define RASN_RIPESTAT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define RASN_RIPE_MAX_ORIGINS 8
#define RASN_RIPE_NAME_MAX 256     /* holder names are cut (on a UTF-8 boundary) to fit, NUL included */
#define RASN_RIPE_URL_MAX 2048

struct rasn_ripe_netinfo {
	uint32_t asns[RASN_RIPE_MAX_ORIGINS]; /* in the order listed; more than the max: the first ones */
	unsigned n_asns;                      /* 0: not announced */
	struct rasn_prefix prefix;            /* valid when n_asns > 0 */
};

struct rasn_ripe_as {
	uint32_t asn;
	int found;                    /* 0: RIPEstat knows no holder for it */
	int announced;
	char holder[RASN_RIPE_NAME_MAX];
};

struct rasn_ripe_org_hit {
	uint32_t asn;
	char name[RASN_RIPE_NAME_MAX];
};

enum rasn_ripe_call {
	RASN_RIPE_NETWORK_INFO,
	RASN_RIPE_AS_OVERVIEW,
	RASN_RIPE_ANNOUNCED_PREFIXES,
	RASN_RIPE_SEARCHCOMPLETE,
};

/* base (e.g. "https://stat.ripe.net", no trailing slash needed) + "/data/CALL/data.json?resource="
 * + the resource percent-encoded (RFC 3986 unreserved and ':' '/' '@' kept: they are legal in
 * a query, and "8.8.8.0/24" or "2001:db8::/32" stay readable) + "&sourceapp=" + sourceapp
 * (encoded; omitted when NULL or ""). Trailing slashes of base are dropped. Returns the length,
 * RASN_ERANGE when it does not fit cap (out is then ""), or -EINVAL for a NULL base or
 * resource or an unknown call. */
int rasn_ripe_url(const char *base, enum rasn_ripe_call call, const char *resource, const char *sourceapp,
		  char *out, size_t cap);

/* queried: the address asked about (NULL: not checked); a prefix that does not cover it is an
 * error. Every AS in "asns" is checked (1..4294967295) though only the first
 * RASN_RIPE_MAX_ORIGINS are kept; with "asns" empty any "prefix" (null, absent, "" or a
 * prefix) means not announced. Returns 0 or RASN_ESYNTAX; on error *out is zeroed. */
int rasn_ripe_parse_network_info(const char *body, size_t len, const struct rasn_addr *queried,
				 struct rasn_ripe_netinfo *out, char *err, size_t errlen);
/* asn: the AS asked about; "resource" is required and naming another AS is an error. "holder"
 * must be a string or null (found 0, holder ""); "announced" absent counts as false.
 * Returns 0 or RASN_ESYNTAX; on error *out is zeroed. */
int rasn_ripe_parse_as_overview(const char *body, size_t len, uint32_t asn, struct rasn_ripe_as *out,
				char *err, size_t errlen);
/* Writes at most cap prefixes (host bits zero; others are an error) and returns how many there
 * are in all via *total; the returned count is min(total, cap). out may be NULL when cap is 0
 * (counting only). "resource", when present, must name asn. Every entry is checked, also past
 * cap. On RASN_ESYNTAX *total is 0 and the entries written are zeroed. */
int rasn_ripe_parse_announced_prefixes(const char *body, size_t len, uint32_t asn, struct rasn_prefix *out,
				       size_t cap, size_t *total, char *err, size_t errlen);
/* The suggestions of the "ASNs" category (name matched case-insensitively; none: 0 hits; two:
 * an error); at most cap, in order. Each "value" there must be "AS<number>" (anything else is
 * an error, also past cap); a "description" absent or null gives an empty name. Other
 * categories are ignored. Returns the count written (>= 0) or RASN_ESYNTAX (the entries
 * written are then zeroed). */
int rasn_ripe_parse_searchcomplete(const char *body, size_t len, struct rasn_ripe_org_hit *out, size_t cap,
				   char *err, size_t errlen);

#endif
