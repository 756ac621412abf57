/* GET /metrics on a loopback address, when [metrics] listen is set (metrics_http.c). */
#ifndef RASND_METRICS_HTTP_H
#define RASND_METRICS_HTTP_H

#include <stddef.h>

#include "rasnd.h"

int rasnd_metrics_start(struct rasnd *d, char *err, size_t errlen);
void rasnd_metrics_stop(struct rasnd *d);

#endif
