/* What each request line gets (query.c): the NDJSON protocol and the Cymru bulk block. */
#ifndef RASND_QUERY_H
#define RASND_QUERY_H

#include <stddef.h>

#include "rasnd.h"

/* Answer lines in order; runs of address lines share one batched table lookup. Returns how
 * many were consumed: fewer than n when one of them set a barrier (the rest must wait). */
size_t rasnd_query_lines(struct rasnd_session *s, const struct rasnd_line *ln, size_t n);
void rasnd_query_line(struct rasnd_session *s, const char *line, size_t len);
void rasnd_query_long_line(struct rasnd_session *s, const char *line, size_t len);
/* Answer one request line (ip, as, prefixes, org, domain, with an optional @source) into a
 * slot outside any session (s NULL, on_done set): the reply object the socket would write for
 * the line. The slot completes exactly once, now or later (on_done is called). */
void rasnd_query_answer(struct rasnd *d, struct rasnd_slot *slot, const char *line, size_t len);
/* A Team Cymru bulk answer for an address or an AS number, from the table, into b: the header
 * first when *header is 0 (then set), then the rows (lib/reply.c). The socket's begin ... end
 * block and the [whois] listener both answer through these, so their bytes are the same. */
void rasnd_cymru_ip_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, const struct rasn_addr *a, int *header);
void rasnd_cymru_as_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, uint32_t asn, int *header);
/* 1 when the line is refused whatever the data (bad syntax, or a source that does not answer
 * its kind): the client's error, not the daemon's or an upstream's. */
int rasnd_query_bad_request(const char *line, size_t len);
/* The three above as the sessions' protocol (struct rasnd_proto, d->proto). */
extern const struct rasnd_proto rasnd_query_proto;

#endif
