/* Team Cymru's DNS interface: query names and a strict parser for its TXT answers.
 *   origin:  8.8.8.8.origin.asn.cymru.com      TXT "15169 | 8.8.8.0/24 | US | arin | 1992-12-01"
 *   origin6: <32 reversed nibbles>.origin6.asn.cymru.com, same record shape
 *   AS:      AS15169.asn.cymru.com             TXT "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US"
 * Fields are separated by '|' and trimmed of spaces and tabs. Cymru leaves the country, registry
 * or date empty at times; those come back as "". Several origin ASNs of one prefix (MOAS) are
 * space-separated in the first field. No I/O here: the daemon sends the queries and hands each
 * TXT record's bytes (its character-strings joined) to the parsers. */
#ifndef RASN_CYMRU_H
#define RASN_CYMRU_H

#include "addr.h"

#define RASN_CYMRU_ORIGIN_ZONE "origin.asn.cymru.com"
#define RASN_CYMRU_ORIGIN6_ZONE "origin6.asn.cymru.com"
#define RASN_CYMRU_AS_ZONE "asn.cymru.com"

/* Enough for any name the qname functions write: 253 bytes, a trailing dot, the NUL. */
#define RASN_CYMRU_QNAME_MAX 256
/* Origin ASNs kept per record; a record listing more is rejected, not cut short. */
#define RASN_CYMRU_MAX_ORIGINS 8

struct rasn_cymru_origin {
	uint32_t asns[RASN_CYMRU_MAX_ORIGINS]; /* in the order Cymru lists them */
	unsigned n_asns;                      /* 1..RASN_CYMRU_MAX_ORIGINS */
	struct rasn_prefix prefix;             /* the announced prefix; host bits zero */
	char cc[3];                            /* "" or two upper-case letters */
	char registry[16];                     /* "" or e.g. "arin", lower case */
	char allocated[11];                    /* "" or "YYYY-MM-DD" */
};

struct rasn_cymru_as {
	uint32_t asn;
	char cc[3];
	char registry[16];
	char allocated[11];
	char name[256];                        /* may be ""; printable bytes, UTF-8 passed through */
};

/* The origin query name for an address: reversed dotted octets (IPv4) or reversed hex nibbles
 * (IPv6, all 32), a dot, then zone. zone NULL means the default of the address's family
 * (RASN_CYMRU_ORIGIN_ZONE or RASN_CYMRU_ORIGIN6_ZONE). zone is letters, digits, '-', '_' and
 * dots between non-empty labels, one trailing dot allowed and kept.
 * Writes a NUL-terminated name into out (cap bytes; RASN_CYMRU_QNAME_MAX is always enough).
 * Returns its length, -EINVAL (bad family or zone), -ENAMETOOLONG (over 253 bytes) or
 * -ENOSPC (cap too small; out is then "" when cap > 0). */
int rasn_cymru_origin_qname(const struct rasn_addr *a, const char *zone, char *out, size_t cap);

/* "AS<asn>." + zone (NULL: RASN_CYMRU_AS_ZONE). Same returns as rasn_cymru_origin_qname. */
int rasn_cymru_as_qname(uint32_t asn, const char *zone, char *out, size_t cap);

/* Parse one origin TXT record (txt need not be NUL-terminated). Exactly five fields:
 * ASN list (1..8 decimal ASNs, blank-separated, no sign or leading zero), prefix (CIDR, host
 * bits zero), country (empty or 2 letters), registry (empty or up to 15 of [A-Za-z0-9._-]),
 * date (empty or YYYY-MM-DD). With queried non-NULL, the prefix must be of the same family and
 * hold that address. Returns 0, or RASN_ESYNTAX (out is then all zero). */
int rasn_cymru_parse_origin(const char *txt, size_t len, const struct rasn_addr *queried,
			    struct rasn_cymru_origin *out);

/* Parse one AS TXT record: ASN, country, registry, date as above, then the name: everything
 * after the fourth '|' (it may hold '|' itself), trimmed, at most 255 bytes, no control bytes.
 * The caller compares out->asn with the ASN it asked about. Returns 0 or RASN_ESYNTAX (out
 * all zero). */
int rasn_cymru_parse_as(const char *txt, size_t len, struct rasn_cymru_as *out);

/* 1 when p is of a's family and holds a, else 0. */
int rasn_cymru_prefix_covers(const struct rasn_prefix *p, const struct rasn_addr *a);

#endif
