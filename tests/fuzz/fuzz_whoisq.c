/* Fuzz target for lib/whoisq.c: the input is a whois query line. The result must be
 * deterministic and self-consistent, and an IP or AS answer must say the same as its canonical
 * text parsed again; the Cymru rows for it (lib/reply.c) must be whole lines. Any broken
 * invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "whoisq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	unsigned start = size ? data[0] & 0x7ff : 0;
	struct rasn_whoisq q, q2;
	int rc = rasn_whoisq_parse(line, size, start, &q);
	check(rc == 0 || rc == RASN_ESYNTAX);
	check(rasn_whoisq_parse(line, size, start, &q2) == rc && q2.kind == q.kind && q2.opts == q.opts);
	check((rc != 0) == (q.kind == RASN_WHOISQ_BAD));
	check((q.error != NULL) == (q.kind == RASN_WHOISQ_BAD));
	check(q.opts <= 0x7ff);
	if (size > RASN_WHOISQ_LINE_MAX || (size && memchr(line, '\0', size)))
		check(rc != 0);
	struct rasn_buf b;
	rasn_buf_init(&b);
	if (q.kind == RASN_WHOISQ_IP) {
		char text[RASN_ADDR_STRLEN + 1];
		size_t n = rasn_addr_format(q.addr.family, q.addr.v, text);
		check(rasn_whoisq_parse(text, n, 0, &q2) == 0 && q2.kind == RASN_WHOISQ_IP &&
		      q2.addr.family == q.addr.family && q2.addr.v == q.addr.v);
		rasn_cymru_ip_header(&b, q.opts);
		rasn_cymru_ip_rows(&b, q.opts, &q.addr, NULL);
	} else if (q.kind == RASN_WHOISQ_AS) {
		rasn_cymru_as_header(&b, q.opts);
		rasn_cymru_as_row(&b, q.opts, q.asn, NULL);
	}
	check(!b.oom);
	if (b.len)
		check(b.data[b.len - 1] == '\n');
	rasn_buf_free(&b);
	return 0;
}
