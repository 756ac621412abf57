/* [whois]: Team Cymru's whois protocol over TCP (docs/whois.md): a single query line with
 * Cymru's flags, or a begin ... end bulk block, answered from the table in Cymru's text
 * columns (lib/reply.c, the same rows as the socket's bulk block); the connection closes after
 * the answer, as whois.cymru.com's does. */
#ifndef RASND_WHOIS_H
#define RASND_WHOIS_H

#include "netlisten.h"

struct rasnd;

int rasnd_whois_start(struct rasnd *d, char *err, size_t errlen);
void rasnd_whois_drain(struct rasnd *d);
void rasnd_whois_stop(struct rasnd *d);
void rasnd_whois_stats(struct rasnd *d, struct rasnd_net_stats *out);

#endif
