/* [http_api]: a JSON API over HTTP/1.1 (libevent's evhttp on the loop; docs/http-api.md).
 * Each lookup is answered as the socket answers the same request line (daemon/query.c
 * rasnd_query_answer), into a reply slot the request owns. */
#ifndef RASND_HTTPAPI_H
#define RASND_HTTPAPI_H

#include "netlisten.h"

struct rasnd;

/* Listen on every [http_api] listen address (none: off). Returns 0 or -1 with err. */
int rasnd_api_start(struct rasnd *d, char *err, size_t errlen);
/* Stop accepting (drain); connections open stay until answered. */
void rasnd_api_drain(struct rasnd *d);
/* Close everything; answers still pending are dropped when they come. */
void rasnd_api_stop(struct rasnd *d);
/* The counters (all zero when off). */
void rasnd_api_stats(struct rasnd *d, struct rasnd_net_stats *out);

#endif
