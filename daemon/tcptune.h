/* Socket options for upstream connections ([tcp] in man/rasnd.conf.5): TCP_NODELAY, send and
 * receive buffers, keepalive with idle/interval/count. No SO_LINGER: a lingering close() blocks
 * until the data is out or the linger time passes, even on a non-blocking socket, and that
 * would stall the event loop. */
#ifndef RASND_TCPTUNE_H
#define RASND_TCPTUNE_H

#include "buf.h"

struct rasnd_tcp_opts {
	int nodelay;
	int sndbuf, rcvbuf;          /* bytes asked for (the kernel reports double) */
	int keepalive;
	int keep_idle, keep_intvl, keep_cnt;
};

/* Applies what fits the socket's type (buffers to UDP too). Returns 0 or -errno of the first
 * option that failed (the others are still applied). */
int rasnd_sock_tune(int fd, const struct rasnd_tcp_opts *o);

/* The options as the kernel reports them, as a JSON object (for `stats`). */
void rasnd_sock_describe(int fd, struct rasn_buf *b);

#endif
