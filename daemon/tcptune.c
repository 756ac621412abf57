#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tcptune.h"

static int set(int fd, int level, int opt, int v, int *first_err)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)) < 0 && !*first_err)
		*first_err = -errno;
	return 0;
}

int rasnd_sock_tune(int fd, const struct rasnd_tcp_opts *o)
{
	int type = 0, err = 0;
	socklen_t tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return -errno;
	if (o->sndbuf > 0)
		set(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf, &err);
	if (o->rcvbuf > 0)
		set(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf, &err);
	if (type != SOCK_STREAM)
		return err;
	if (o->nodelay)
		set(fd, IPPROTO_TCP, TCP_NODELAY, 1, &err);
	if (o->keepalive) {
		set(fd, SOL_SOCKET, SO_KEEPALIVE, 1, &err);
		if (o->keep_idle > 0)
			set(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keep_idle, &err);
		if (o->keep_intvl > 0)
			set(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keep_intvl, &err);
		if (o->keep_cnt > 0)
			set(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keep_cnt, &err);
	}
	return err;
}

static int get(int fd, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, opt, &v, &l) < 0)
		return -1;
	return v;
}

void rasnd_sock_describe(int fd, struct rasn_buf *b)
{
	int type = get(fd, SOL_SOCKET, SO_TYPE);
	rasn_buf_printf(b, "{\"proto\":\"%s\",\"sndbuf\":%d,\"rcvbuf\":%d", type == SOCK_STREAM ? "tcp" : "udp",
			get(fd, SOL_SOCKET, SO_SNDBUF), get(fd, SOL_SOCKET, SO_RCVBUF));
	if (type == SOCK_STREAM)
		rasn_buf_printf(b, ",\"nodelay\":%d,\"keepalive\":%d,\"keepidle\":%d,\"keepintvl\":%d,\"keepcnt\":%d",
				get(fd, IPPROTO_TCP, TCP_NODELAY), get(fd, SOL_SOCKET, SO_KEEPALIVE),
				get(fd, IPPROTO_TCP, TCP_KEEPIDLE), get(fd, IPPROTO_TCP, TCP_KEEPINTVL),
				get(fd, IPPROTO_TCP, TCP_KEEPCNT));
	rasn_buf_addc(b, '}');
}
