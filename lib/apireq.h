/* The HTTP API's request targets (docs/http-api.md): a path and query string in, the request
 * line of the query protocol out (docs/protocol.md), so that the daemon answers an HTTP request
 * exactly as it answers that line on its socket. Parsing only: no I/O, no lookups.
 *   /v1/ip/{addr}            -> "ip ADDR"
 *   /v1/as/{asn}             -> "as ASN"
 *   /v1/as/{asn}/prefixes    -> "prefixes ASN"
 *   /v1/org?q=TEXT           -> "org TEXT"
 *   /v1/domain/{name}        -> "domain NAME"
 *   ?source=table|cymru|ripestat on any of them appends " @SOURCE".
 *   /v1/bulk and /metrics are recognised, with no line. */
#ifndef RASN_APIREQ_H
#define RASN_APIREQ_H

#include <stddef.h>

#define RASN_APIREQ_TARGET_MAX 2048   /* longest request target accepted */
#define RASN_APIREQ_LINE_MAX 320      /* longest line written (org text is at most 256 bytes) */

enum rasn_apireq_kind {
	RASN_API_BAD = 0,    /* 400: error says why */
	RASN_API_NOT_FOUND,  /* 404: no such endpoint */
	RASN_API_LOOKUP,     /* line holds the request */
	RASN_API_BULK,       /* POST /v1/bulk */
	RASN_API_METRICS,    /* GET /metrics */
};

struct rasn_apireq {
	enum rasn_apireq_kind kind;
	char line[RASN_APIREQ_LINE_MAX + 1]; /* NUL-terminated; RASN_API_LOOKUP only */
	size_t len;
	const char *error;                   /* static text; RASN_API_BAD only */
};

/* Parse a request target (origin form: "/path?query"; need not be NUL-terminated). Segments are
 * percent-decoded; a decoded value holding a byte outside what its kind allows (a control byte,
 * a blank or '@' in an address, AS number or name; a control byte or '@' in org text) is bad
 * input, so no value can add a second word or a source to the line. Unknown query parameters
 * are ignored. Always fills out; returns 0 for LOOKUP, BULK and METRICS, RASN_ESYNTAX for BAD,
 * -ENOENT for NOT_FOUND. */
int rasn_apireq_parse(const char *target, size_t len, struct rasn_apireq *out);

#endif
