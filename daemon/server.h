/* The listening socket: listen, accept, drain on shutdown (server.c). */
#ifndef RASND_SERVER_H
#define RASND_SERVER_H

#include <stddef.h>

#include "rasnd.h"

/* 0, or -EADDRINUSE (err set) when another rasnd answers on cfg.socket. */
int rasnd_server_precheck(const struct rasnd *d, char *err, size_t errlen);
int rasnd_server_listen(struct rasnd *d, char *err, size_t errlen);
void rasnd_server_close(struct rasnd *d);
void rasnd_server_drain(struct rasnd *d);

#endif
