/* An authoritative DNS responder for Team Cymru's DNS interface, with no I/O: a query packet
 * in, the response packet out, the data through callbacks. Wire format through libknot (the
 * packet library of Knot DNS and Knot Resolver: parse, compression, EDNS, truncation).
 *
 * Zones (each may be left out): the origin zone (IPv4: 1 to 4 decimal labels, the reversed
 * leading octets, e.g. 8.8.8.origin.asn.cymru.com for 8.8.8.0/24), the origin6 zone (1 to 32
 * hex nibble labels, reversed) and the AS zone (AS<number>.asn.cymru.com). A name under an
 * origin zone stands for its prefix (/8 per label, /4 per nibble); it has a TXT record when
 * something covers the prefix's first address (the covering prefix is answered, whether it
 * is more or less specific than the name), it is an empty non-terminal (NODATA) when data lies
 * only inside it, else NXDOMAIN. TXT strings are Cymru's:
 *   "15169 | 8.8.8.0/24 | US | arin | 2014-03-14"           (several origins space-separated)
 *   "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US"
 * with fields the data lacks left empty. The apex has SOA and NS; negative answers carry the
 * SOA in the authority section with the negative TTL; ANY gets one RRset (RFC 8482); names
 * outside the zones are REFUSED; RA is never set. The question is echoed as asked (case kept).
 *
 * No allocation per query: every packet structure comes from an arena inside the responder,
 * reset per query. One responder per thread. */
#ifndef RASN_DNSRESP_H
#define RASN_DNSRESP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define RASN_DNSRESP_MAX_ORIGINS 8
#define RASN_DNSRESP_MAX_NS 16
#define RASN_DNSRESP_UDP_MIN 512

/* What the data says about an address. */
struct rasn_dnsresp_origin {
	uint32_t asns[RASN_DNSRESP_MAX_ORIGINS];
	unsigned n_asns;              /* 1..RASN_DNSRESP_MAX_ORIGINS */
	struct rasn_prefix prefix;    /* the covering prefix */
	const char *cc, *registry, *allocated; /* NULL or "" when unknown */
};

struct rasn_dnsresp_as {
	const char *cc, *registry, *allocated, *name; /* NULL or "" when unknown */
};

struct rasn_dnsresp_ops {
	/* The data covering address a: 1 with *o filled (its strings valid until the answer is
	 * written), 0 none. */
	int (*origin)(void *ud, const struct rasn_addr *a, struct rasn_dnsresp_origin *o);
	/* 1 when any data lies inside p (p's first address not covered): p is then an empty
	 * non-terminal, not a missing name. */
	int (*inside)(void *ud, const struct rasn_prefix *p);
	/* The AS record: 1 filled, 0 unknown. */
	int (*as)(void *ud, uint32_t asn, struct rasn_dnsresp_as *out);
};

struct rasn_dnsresp_opts {
	const char *origin_zone, *origin6_zone, *as_zone; /* NULL or "": not served */
	uint32_t ttl;                 /* TXT, NS and apex SOA */
	uint32_t negative_ttl;        /* negative answers: the SOA's TTL and its minimum field */
	const char *soa_mname;        /* primary name server; NULL: the first ns */
	const char *soa_rname;        /* mailbox as a name, e.g. hostmaster.example.net */
	uint32_t soa_serial, soa_refresh, soa_retry, soa_expire;
	const char *ns[RASN_DNSRESP_MAX_NS]; /* NS targets at each apex */
	unsigned n_ns;                /* 1..RASN_DNSRESP_MAX_NS */
	uint16_t udp_max;             /* the largest UDP answer given, >= 512 */
};

/* How a query was answered (for stats and rate limiting). */
enum rasn_dnsresp_kind {
	RASN_DNSRESP_DROP = 0,        /* no answer: not a query, or too short to answer */
	RASN_DNSRESP_ANSWER,          /* NOERROR with data */
	RASN_DNSRESP_NODATA,          /* NOERROR, no data (SOA in authority) */
	RASN_DNSRESP_NXDOMAIN,
	RASN_DNSRESP_REFUSED,         /* outside the zones, another class, zone transfers */
	RASN_DNSRESP_FORMERR,
	RASN_DNSRESP_NOTIMP,          /* opcode other than QUERY, meta types */
	RASN_DNSRESP_BADVERS,         /* EDNS version other than 0 */
	RASN_DNSRESP_KINDS
};

struct rasn_dnsresp_info {
	enum rasn_dnsresp_kind kind;
	int truncated;                /* TC=1: the answer did not fit */
	int edns;                     /* the query had an OPT record */
	int zone;                     /* 0 origin, 1 origin6, 2 AS zone, -1 none */
	uint16_t qtype;
};

struct rasn_dnsresp;

/* Returns 0, -EINVAL (a zone or name that is not a domain name, no NS, udp_max < 512) or
 * -ENOMEM. */
int rasn_dnsresp_new(const struct rasn_dnsresp_opts *o, const struct rasn_dnsresp_ops *ops, void *ud,
		     struct rasn_dnsresp **out);
void rasn_dnsresp_free(struct rasn_dnsresp *r);
/* The SOA serial (e.g. the table's load time), for answers from now on. */
void rasn_dnsresp_set_serial(struct rasn_dnsresp *r, uint32_t serial);

/* Answer the query q (qlen bytes) into out (cap bytes; 65535 is always enough). tcp: the
 * answer goes over a stream (no UDP size limit). Returns the answer's length, or 0 with
 * info->kind RASN_DNSRESP_DROP when nothing must be sent. */
size_t rasn_dnsresp_answer(struct rasn_dnsresp *r, const uint8_t *q, size_t qlen, int tcp, uint8_t *out,
			   size_t cap, struct rasn_dnsresp_info *info);

/* A minimal answer to q with only the header and question: rcode REFUSED (an address not
 * allowed) or a truncated empty NOERROR (tc 1: rate limiting's slip, asking the client to
 * come back over TCP). Returns its length or 0 (q not answerable). No callbacks run. */
size_t rasn_dnsresp_minimal(struct rasn_dnsresp *r, const uint8_t *q, size_t qlen, int tc, uint8_t *out,
			    size_t cap);

#endif
