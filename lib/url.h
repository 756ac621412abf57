/* https URLs as rasnd's HTTPS client takes them: "https://HOST[:PORT][/PATH][?QUERY][#FRAG]",
 * HOST a DNS name (letters, digits, '-', '.'), a dotted quad or a bracketed IPv6 address.
 * Pure parsing, no I/O; the result points into the input. */
#ifndef RASN_URL_H
#define RASN_URL_H

#include "rasn.h"

#define RASN_URL_HOST_MAX 253   /* the longest DNS name */

struct rasn_url {
	char host[RASN_URL_HOST_MAX + 1]; /* NUL-terminated; an IPv6 address without brackets */
	uint16_t port;                    /* 443 when the URL gives none; never 0 */
	int is_ip;                        /* host is an IPv4 or IPv6 address literal */
	int is_ip6;                       /* host is an IPv6 address (it was bracketed) */
	const char *path;                 /* from the first '/' or '?' after the authority up to
					   * '#' or the end (printable ASCII only); may be empty */
	size_t path_len;
};

/* Parse s (len bytes; need not be NUL-terminated). The scheme is case-insensitive; the port
 * is 1..65535 in decimal; the path and query hold only printable ASCII (no space or control
 * byte, no byte >= 0x7f); what follows '#' is ignored. Userinfo ('@') is refused.
 * Returns 0 and fills out, RASN_ESYNTAX (not such a URL) or -ENAMETOOLONG (host longer than
 * RASN_URL_HOST_MAX); out is all zero on error. */
int rasn_url_parse(const char *s, size_t len, struct rasn_url *out);

/* The authority as HTTP writes it (Host, :authority): "host", "host:port", "[v6]" or
 * "[v6]:port", the port left out when it is 443. Writes a NUL-terminated string into buf
 * (cap bytes; RASN_URL_HOST_MAX + 10 is always enough). Returns its length, or -ENOSPC. */
int rasn_url_authority(const struct rasn_url *u, char *buf, size_t cap);

#endif
