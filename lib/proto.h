/* The query protocol: one request per line (see docs/protocol.md). Parsing only: no I/O, no
 * lookups. The line handed in has no line terminator (LF and a CR before it are stripped by the
 * caller) and may hold any bytes. */
#ifndef RASN_PROTO_H
#define RASN_PROTO_H

#include "addr.h"

#define RASN_LINE_MAX 4096   /* longest request line, terminator excluded */
#define RASN_DOMAIN_MAX 253

enum rasn_qtype {
	RASN_Q_INVALID = 0, /* req->error says why */
	RASN_Q_IP,          /* "8.8.8.8", "ip ADDR" */
	RASN_Q_AS,          /* "AS15169", "as 15169" */
	RASN_Q_PREFIXES,    /* "prefixes AS15169" */
	RASN_Q_DOMAIN,      /* "example.com", "domain NAME" */
	RASN_Q_ORG,         /* "org TEXT" */
	RASN_Q_PING,
	RASN_Q_STATS,       /* arg: optional format word ("prometheus") */
	RASN_Q_HELP,
	RASN_Q_RELOAD,
	RASN_Q_REFRESH,     /* fetch [dataset] url now */
	RASN_Q_BEGIN,       /* start of a Team Cymru bulk block */
	RASN_Q_END,
};

struct rasn_request {
	enum rasn_qtype type;
	struct rasn_addr addr;   /* RASN_Q_IP */
	uint32_t asn;            /* RASN_Q_AS, RASN_Q_PREFIXES */
	const char *arg;         /* DOMAIN: the name (no trailing dot); ORG: the text; STATS: format */
	size_t arg_len;
	const char *source;      /* "@NAME" suffix asks for one source; NULL when absent */
	size_t source_len;
	const char *error;       /* RASN_Q_INVALID: static text */
};

/* Parse one request line. Leading/trailing spaces and tabs are ignored; keywords are
 * case-insensitive. Always fills req; returns 0 when valid, RASN_ESYNTAX otherwise. */
int rasn_proto_parse(const char *line, size_t len, struct rasn_request *req);

/* "AS15169", "as15169" or "15169" (decimal, 0..4294967295, no sign). Returns 0 or RASN_ESYNTAX. */
int rasn_asn_parse(const char *s, size_t len, uint32_t *asn);

/* A host name: 1..253 bytes, labels of 1..63 letters, digits, '-' or '_', no label starting or
 * ending with '-', at least two labels, a last label that is not all digits; one trailing dot
 * allowed (not counted). Returns 1 if valid. */
int rasn_domain_valid(const char *s, size_t len);

/* Name of a query type for replies ("ip", "as", ...). */
const char *rasn_qtype_name(enum rasn_qtype t);

#endif
