/* Fuzz target for lib/apireq.c: the input is an HTTP request target. A lookup's line must be
 * short, free of control bytes, and parse (lib/proto.c) as the kind its path names, with a
 * source only when the query string gave one. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apireq.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	struct rasn_apireq r, r2;
	int rc = rasn_apireq_parse(t, size, &r);
	check(rasn_apireq_parse(t, size, &r2) == rc && r2.kind == r.kind && r2.len == r.len &&
	      memcmp(r.line, r2.line, sizeof(r.line)) == 0);
	check((r.kind == RASN_API_BAD) == (rc == RASN_ESYNTAX));
	check((r.kind == RASN_API_NOT_FOUND) == (rc == -ENOENT));
	check((r.kind == RASN_API_BAD) == (r.error != NULL));
	if (r.kind != RASN_API_LOOKUP) {
		check(r.len == 0);
		return 0;
	}
	check(r.len > 0 && r.len <= RASN_APIREQ_LINE_MAX && strlen(r.line) == r.len);
	for (size_t i = 0; i < r.len; i++)
		check((unsigned char)r.line[i] >= 0x20 && r.line[i] != 0x7f);
	size_t ats = 0;
	for (size_t i = 0; i < r.len; i++)
		ats += r.line[i] == '@';
	check(ats <= 1);
	check(ats == 0 || (memmem(t, size, "source=", 7) != NULL));
	struct rasn_request q;
	if (rasn_proto_parse(r.line, r.len, &q) == 0) {
		const char *w = r.line;
		if (strncmp(w, "ip ", 3) == 0)
			check(q.type == RASN_Q_IP);
		else if (strncmp(w, "as ", 3) == 0)
			check(q.type == RASN_Q_AS);
		else if (strncmp(w, "prefixes ", 9) == 0)
			check(q.type == RASN_Q_PREFIXES);
		else if (strncmp(w, "domain ", 7) == 0)
			check(q.type == RASN_Q_DOMAIN);
		else
			check(strncmp(w, "org ", 4) == 0 && q.type == RASN_Q_ORG);
		check((q.source != NULL) == (ats == 1));
	}
	return 0;
}
