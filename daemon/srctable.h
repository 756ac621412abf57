/* The table as a source (daemon/source.h), and the table's replies for the dispatcher's own
 * in-line paths (daemon/query.c). */
#ifndef RASND_SRCTABLE_H
#define RASND_SRCTABLE_H

#include <stdint.h>

#include "rasnd.h"

/* One table lookup, counted in the table's hits and misses. */
int rasnd_table_lookup(struct rasnd *d, const struct rasn_addr *a, struct rasn_match *m);
/* The table's answer for an address into slot's reply. */
void rasnd_table_ip_reply(struct rasnd *d, struct rasnd_slot *slot, const struct rasn_addr *a);
/* The table's answer for an AS: info from rasn_table_as (NULL: not found). */
void rasnd_table_as_reply(struct rasnd *d, struct rasnd_slot *slot, uint32_t asn, const struct rasn_as_info *info);

#endif
