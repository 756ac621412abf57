/* [dns_server]: the sockets, the allow lists, rate limiting and the data callbacks of the
 * DNS responder (lib/dnsresp.h). See dnsserver.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cache.h"
#include "clock.h"
#include "cymru.h"
#include "dnsresp.h"
#include "dnsserver.h"
#include "log.h"
#include "netlisten.h"
#include "rasnd.h"
#include "sockact.h"
#include "upcache.h"

#define BATCH 64                    /* datagrams per recvmmsg/sendmmsg */
#define ROUNDS 8                    /* batches per wakeup: then other events get their turn */
#define UDP_IN_MAX 4096             /* a query bigger than this is not one of ours */
#define TCP_OUT_HIGH (256 * 1024)   /* stop reading a TCP client with this much unsent */
#define MAX_LISTEN 8

struct dnss_listener {
	struct rasnd_dnsserver *s;
	struct rasnd_dnss_listen cfg;
	char name[80];
	int passed;                     /* sockets from the service manager (daemon/sockact.h) */
	int ufd, tfd;
	struct event *uev, *tev;
	/* UDP batch buffers, allocated once */
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iin[BATCH], iout[BATCH];
	struct sockaddr_storage peer[BATCH];
	uint8_t (*inbuf)[UDP_IN_MAX];
	uint8_t *outbuf;                /* BATCH slots of udp_max bytes */
};

struct tconn {
	TAILQ_ENTRY(tconn) entry;
	struct rasnd_dnsserver *s;
	struct dnss_listener *l;
	int fd;
	struct event *rev, *wev, *idle;
	struct rasn_addr peer;
	uint8_t in[2 + 65535];
	size_t in_len;
	struct rasn_buf out;
	size_t out_off;
	int reading;
};
TAILQ_HEAD(tconn_list, tconn);

struct rrl_bucket {
	uint64_t key;
	uint32_t time;
	int32_t tokens;
	uint32_t limited;
};

struct rasnd_dnsserver {
	struct rasnd *d;
	struct rasn_dnsresp *resp;
	struct dnss_listener *l[MAX_LISTEN];
	size_t n_l;
	struct rasn_prefix allow[RASND_DNSS_MAX_ALLOW];
	size_t n_allow;
	struct tconn_list conns;
	size_t n_conns;
	/* response rate limiting */
	struct rrl_bucket *rrl;
	size_t rrl_mask;
	uint32_t rrl_rate, rrl_slip;
	uint32_t rrl_logged;            /* second of the last rate-limiting log line */
	unsigned rrl_v4, rrl_v6;
	uint64_t seed;
	size_t udp_max;
	struct timeval tcp_idle;
	size_t tcp_max;
	/* scratch for the data callbacks: valid until the answer is written */
	char cc[3], registry[16], allocated[11], name[256];
	struct rasnd_dnss_counters c;
};

/* ---- configuration ----------------------------------------------------------------------- */

static int parse_prefix(const char *s, size_t len, struct rasn_prefix *p)
{
	if (memchr(s, '/', len))
		return rasn_prefix_parse(s, len, p);
	struct rasn_addr a;
	if (rasn_addr_parse(s, len, &a) < 0)
		return -EINVAL;
	*p = (struct rasn_prefix){ a.family, a.v, rasn_af_bits(a.family) };
	return 0;
}

int rasnd_dnss_parse_allow(const char *s, struct rasn_prefix *out, size_t cap, size_t *n, const char **why)
{
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, " \t,");
		if (len) {
			if (*n == cap) {
				*why = "too many prefixes";
				return -EINVAL;
			}
			if (parse_prefix(s, len, &out[*n]) < 0) {
				*why = "not an address or CIDR prefix (host bits must be zero)";
				return -EINVAL;
			}
			(*n)++;
		}
		s += len;
		s += strspn(s, " \t,");
	}
	return 0;
}

int rasnd_dnss_parse_listen(const char *s, struct rasnd_dnss_listen *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	size_t len = strcspn(s, " \t");
	const char *host = s, *colon;
	size_t hlen;
	if (*s == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb || rb[1] != ':') {
			*why = "expected [IPV6]:PORT";
			return -EINVAL;
		}
		host = s + 1, hlen = (size_t)(rb - s - 1), colon = rb + 1;
	} else {
		colon = NULL;
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		if (!colon) {
			*why = "expected HOST:PORT";
			return -EINVAL;
		}
		hlen = (size_t)(colon - s);
	}
	if (rasn_addr_parse(host, hlen, &out->host) < 0 || (*s != '[' && out->host.family != RASN_AF4)) {
		*why = "not an IP address (IPv6 goes in brackets)";
		return -EINVAL;
	}
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || end != s + len || port < 1 || port > 65535) {
		*why = "not a port (1-65535)";
		return -EINVAL;
	}
	out->port = (unsigned)port;
	const char *rest = s + len;
	rest += strspn(rest, " \t");
	if (!*rest)
		return 0;
	if (strncmp(rest, "allow=", 6) != 0) {
		*why = "after the address only allow=CIDR,... may follow";
		return -EINVAL;
	}
	out->has_allow = 1;
	return rasnd_dnss_parse_allow(rest + 6, out->allow, RASND_DNSS_MAX_ALLOW, &out->n_allow, why);
}

/* ---- the data: table, then cache ---------------------------------------------------------- */

static int cb_origin(void *ud, const struct rasn_addr *a, struct rasn_dnsresp_origin *o)
{
	struct rasnd_dnsserver *s = ud;
	struct rasnd *d = s->d;
	struct rasn_match m;
	if (d->table && rasn_table_lookup(d->table, a, &m)) {
		o->n_asns = m.n_origins > RASN_DNSRESP_MAX_ORIGINS ? RASN_DNSRESP_MAX_ORIGINS : m.n_origins;
		memcpy(o->asns, m.origins, o->n_asns * sizeof(uint32_t));
		o->prefix = rasn_cidr_covering(m.family, m.first, m.last, a->v);
		o->cc = m.cc;
		s->c.from_table++;
		return 1;
	}
	struct rasn_cache_hit h;
	struct rasnd_upcache_ip c;
	if (!d->cache || rasn_cache_get_addr(d->cache, a, rasn_clock_wall_ms(), &h) < 0 || (h.val.flags & RASN_CACHE_NEGATIVE) ||
	    h.val.len != sizeof(c))
		return 0;
	memcpy(&c, h.val.data, sizeof(c));
	if (!rasnd_upcache_ip_valid(&c, a))
		return 0;
	o->n_asns = c.n_asns;
	memcpy(o->asns, c.asns, c.n_asns * sizeof(uint32_t));
	o->prefix = (struct rasn_prefix){ c.family, c.paddr, c.plen };
	memcpy(s->cc, c.cc, sizeof(s->cc));
	memcpy(s->registry, c.registry, sizeof(s->registry));
	memcpy(s->allocated, c.allocated, sizeof(s->allocated));
	o->cc = s->cc, o->registry = s->registry, o->allocated = s->allocated;
	s->c.from_cache++;
	return 1;
}

static int cb_inside(void *ud, const struct rasn_prefix *p)
{
	struct rasnd_dnsserver *s = ud;
	return s->d->table && rasn_table_any_in(s->d->table, p);
}

static int cb_as(void *ud, uint32_t asn, struct rasn_dnsresp_as *out)
{
	struct rasnd_dnsserver *s = ud;
	struct rasnd *d = s->d;
	struct rasn_as_info info;
	if (d->table && rasn_table_as(d->table, asn, &info)) {
		out->name = info.name;
		s->c.from_table++;
		return 1;
	}
	/* an AS record of Team Cymru's, kept under its query name (daemon/srccymru.c) */
	char qn[RASN_CYMRU_QNAME_MAX];
	struct rasn_cache_hit h;
	struct rasn_cymru_as as;
	if (!d->cache || rasn_cymru_as_qname(asn, d->cfg.cymru_as_zone, qn, sizeof(qn)) < 0 ||
	    rasn_cache_get_name(d->cache, qn, strlen(qn), rasn_clock_wall_ms(), &h) < 0 || (h.val.flags & RASN_CACHE_NEGATIVE) ||
	    h.val.len != sizeof(as))
		return 0;
	memcpy(&as, h.val.data, sizeof(as));
	if (as.asn != asn || !memchr(as.name, 0, sizeof(as.name)) || !memchr(as.cc, 0, sizeof(as.cc)) ||
	    !memchr(as.registry, 0, sizeof(as.registry)) || !memchr(as.allocated, 0, sizeof(as.allocated)))
		return 0;
	memcpy(s->cc, as.cc, sizeof(s->cc));
	memcpy(s->registry, as.registry, sizeof(s->registry));
	memcpy(s->allocated, as.allocated, sizeof(s->allocated));
	memcpy(s->name, as.name, sizeof(s->name));
	out->cc = s->cc, out->registry = s->registry, out->allocated = s->allocated, out->name = s->name;
	s->c.from_cache++;
	return 1;
}

/* ---- access and rate limiting ------------------------------------------------------------- */

static int sa_to_addr(const struct sockaddr_storage *ss, struct rasn_addr *a)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		*a = (struct rasn_addr){ RASN_AF4, ntohl(s4->sin_addr.s_addr) };
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		rasn_u128 v = 0;
		for (int i = 0; i < 16; i++)
			v = v << 8 | s6->sin6_addr.s6_addr[i];
		*a = (struct rasn_addr){ RASN_AF6, v };
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int allowed(const struct dnss_listener *l, const struct rasn_addr *a)
{
	const struct rasn_prefix *p = l->cfg.has_allow ? l->cfg.allow : l->s->allow;
	size_t n = l->cfg.has_allow ? l->cfg.n_allow : l->s->n_allow;
	for (size_t i = 0; i < n; i++)
		if (p[i].family == a->family && ((a->v ^ p[i].addr) & ~rasn_hostmask(a->family, p[i].len)) == 0)
			return 1;
	return 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

enum rrl_verdict { RRL_PASS, RRL_DROP, RRL_SLIP };

/* Knot's rrl module in small: a bucket per (client prefix, answer class, name or zone), rate
 * tokens a second; an empty bucket drops, and every slip-th of those goes out truncated. */
static enum rrl_verdict rrl_check(struct rasnd_dnsserver *s, const struct rasn_addr *a, const uint8_t *q, size_t qlen,
				  const struct rasn_dnsresp_info *info, uint32_t now)
{
	if (!s->rrl_rate || !s->rrl)
		return RRL_PASS;
	unsigned plen = a->family == RASN_AF4 ? s->rrl_v4 : s->rrl_v6;
	uint64_t h = mix(s->seed, (uint64_t)a->family);
	rasn_u128 net = a->v & ~rasn_hostmask(a->family, plen);
	h = mix(h, (uint64_t)net);
	h = mix(h, (uint64_t)(net >> 64));
	h = mix(h, (uint64_t)info->kind);
	h = mix(h, (uint64_t)(info->zone + 1));
	if (info->kind == RASN_DNSRESP_ANSWER || info->kind == RASN_DNSRESP_NODATA) {
		/* the name asked, case folded: one busy name does not limit the others */
		for (size_t i = 12; i < qlen && q[i]; i++)
			h = mix(h, (uint64_t)(q[i] | 0x20));
	}
	struct rrl_bucket *b = &s->rrl[h & s->rrl_mask];
	if (b->key != h) {
		*b = (struct rrl_bucket){ .key = h, .time = now, .tokens = (int32_t)s->rrl_rate };
	} else if (now != b->time) {
		uint64_t t = (uint64_t)b->tokens + (uint64_t)(now - b->time) * s->rrl_rate;
		b->tokens = (int32_t)(t > s->rrl_rate ? s->rrl_rate : t);
		b->time = now;
	}
	if (b->tokens > 0) {
		b->tokens--;
		b->limited = 0;
		return RRL_PASS;
	}
	if (b->limited++ == 0 && now != s->rrl_logged) {
		/* the first limited answer of a bucket, at most one line a second */
		char ab[64];
		ab[rasn_addr_format(a->family, net, ab)] = 0;
		log_info("dns server: rate limiting %s/%u (answer class %d, zone %d) at %u answers/s", ab, plen,
			 (int)info->kind, info->zone, s->rrl_rate);
		s->rrl_logged = now;
	}
	return s->rrl_slip && b->limited % s->rrl_slip == 0 ? RRL_SLIP : RRL_DROP;
}

static void count(struct rasnd_dnsserver *s, const struct rasn_dnsresp_info *info)
{
	static const size_t off[RASN_DNSRESP_KINDS] = {
		[RASN_DNSRESP_DROP] = offsetof(struct rasnd_dnss_counters, dropped),
		[RASN_DNSRESP_ANSWER] = offsetof(struct rasnd_dnss_counters, answers),
		[RASN_DNSRESP_NODATA] = offsetof(struct rasnd_dnss_counters, nodata),
		[RASN_DNSRESP_NXDOMAIN] = offsetof(struct rasnd_dnss_counters, nxdomain),
		[RASN_DNSRESP_REFUSED] = offsetof(struct rasnd_dnss_counters, refused),
		[RASN_DNSRESP_FORMERR] = offsetof(struct rasnd_dnss_counters, formerr),
		[RASN_DNSRESP_NOTIMP] = offsetof(struct rasnd_dnss_counters, notimp),
		[RASN_DNSRESP_BADVERS] = offsetof(struct rasnd_dnss_counters, badvers),
	};
	(*(uint64_t *)((char *)&s->c + off[info->kind]))++;
	s->c.truncated += (uint64_t)info->truncated;
	s->c.edns += (uint64_t)info->edns;
}

/* One query from a: the answer into out (0: nothing to send). */
static size_t answer_one(struct dnss_listener *l, const struct rasn_addr *a, const uint8_t *q, size_t qlen, int tcp,
			 uint8_t *out, size_t cap, uint32_t now)
{
	struct rasnd_dnsserver *s = l->s;
	if (!allowed(l, a)) {
		size_t n = rasn_dnsresp_minimal(s->resp, q, qlen, 0, out, cap);
		s->c.allow_refused++;
		return n;
	}
	struct rasn_dnsresp_info info;
	size_t n = rasn_dnsresp_answer(s->resp, q, qlen, tcp, out, cap, &info);
	count(s, &info);
	if (!n || tcp)
		return n;
	switch (rrl_check(s, a, q, qlen, &info, now)) {
	case RRL_PASS:
		return n;
	case RRL_SLIP:
		s->c.rrl_slipped++;
		return rasn_dnsresp_minimal(s->resp, q, qlen, 1, out, cap);
	default:
		s->c.rrl_dropped++;
		return 0;
	}
}

static uint32_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static void refresh_serial(struct rasnd_dnsserver *s)
{
	/* the table's load time: a new table is a new zone version */
	rasn_dnsresp_set_serial(s->resp, (uint32_t)s->d->table_loaded_at);
}

/* ---- UDP ---------------------------------------------------------------------------------- */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct dnss_listener *l = arg;
	struct rasnd_dnsserver *s = l->s;
	uint32_t now = now_s();
	refresh_serial(s);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++) {
			l->iin[i] = (struct iovec){ l->inbuf[i], UDP_IN_MAX };
			l->in[i].msg_hdr = (struct msghdr){ .msg_name = &l->peer[i], .msg_namelen = sizeof(l->peer[i]),
							    .msg_iov = &l->iin[i], .msg_iovlen = 1 };
		}
		int got = recvmmsg(fd, l->in, BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			break;
		s->c.udp_batches++;
		if ((uint64_t)got > s->c.udp_batch_max)
			s->c.udp_batch_max = (uint64_t)got;
		int n_out = 0;
		for (int i = 0; i < got; i++) {
			struct rasn_addr a;
			s->c.queries_udp++;
			s->c.bytes_in += l->in[i].msg_len;
			if (sa_to_addr(&l->peer[i], &a) < 0 || (l->in[i].msg_hdr.msg_flags & MSG_TRUNC))
				continue;
			uint8_t *ob = l->outbuf + (size_t)n_out * s->udp_max;
			size_t len = answer_one(l, &a, l->inbuf[i], l->in[i].msg_len, 0, ob, s->udp_max, now);
			if (!len)
				continue;
			l->iout[n_out] = (struct iovec){ ob, len };
			l->out[n_out].msg_hdr = (struct msghdr){ .msg_name = &l->peer[i],
								 .msg_namelen = l->in[i].msg_hdr.msg_namelen,
								 .msg_iov = &l->iout[n_out], .msg_iovlen = 1 };
			s->c.bytes_out += len;
			n_out++;
		}
		for (int sent = 0; sent < n_out;) {
			int k = sendmmsg(fd, l->out + sent, (unsigned)(n_out - sent), MSG_DONTWAIT);
			if (k <= 0) {
				/* a full socket buffer: these answers are lost, as a busy server's are */
				s->c.udp_send_errors += (uint64_t)(n_out - sent);
				break;
			}
			sent += k;
		}
		if (got < BATCH)
			break;
	}
}

/* ---- TCP ---------------------------------------------------------------------------------- */

static void tconn_free(struct tconn *t)
{
	struct rasnd_dnsserver *s = t->s;
	TAILQ_REMOVE(&s->conns, t, entry);
	s->n_conns--;
	event_free(t->rev);
	event_free(t->wev);
	event_free(t->idle);
	close(t->fd);
	rasn_buf_free(&t->out);
	free(t);
}

/* Write what is pending. Returns 0, or -1 when the connection is gone (freed). */
static int tconn_flush(struct tconn *t)
{
	while (t->out_off < t->out.len) {
		ssize_t w = write(t->fd, t->out.data + t->out_off, t->out.len - t->out_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(t->wev, NULL);
			break;
		}
		if (w <= 0) {
			tconn_free(t);
			return -1;
		}
		t->out_off += (size_t)w;
		t->s->c.bytes_out += (uint64_t)w;
	}
	if (t->out_off == t->out.len) {
		t->out.len = t->out_off = 0;
		event_del(t->wev);
	}
	int want = t->out.len - t->out_off < TCP_OUT_HIGH;
	if (want != t->reading) {
		/* backpressure: a client that does not read its answers is not read either */
		if (want) {
			event_add(t->rev, NULL);
		} else {
			event_del(t->rev);
			t->s->c.tcp_read_pauses++;
		}
		t->reading = want;
	}
	return 0;
}

/* Answer every complete message in the input (pipelined queries), then write. */
static void tconn_process(struct tconn *t)
{
	size_t off = 0;
	uint32_t now = now_s();
	refresh_serial(t->s);
	while (t->in_len - off >= 2 && t->out.len - t->out_off < TCP_OUT_HIGH) {
		size_t mlen = (size_t)t->in[off] << 8 | t->in[off + 1];
		if (t->in_len - off - 2 < mlen)
			break;
		t->s->c.queries_tcp++;
		if (rasn_buf_reserve(&t->out, 2 + 65535) < 0)
			break;
		uint8_t *o = (uint8_t *)t->out.data + t->out.len;
		size_t n = answer_one(t->l, &t->peer, t->in + off + 2, mlen, 1, o + 2, 65535, now);
		if (n) {
			o[0] = (uint8_t)(n >> 8), o[1] = (uint8_t)n;
			t->out.len += 2 + n;
		}
		off += 2 + mlen;
	}
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
	(void)tconn_flush(t); /* may free t: nothing after this */
}

static void on_tcp_read(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *t = arg;
	ssize_t r = read(fd, t->in + t->in_len, sizeof(t->in) - t->in_len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		tconn_free(t);
		return;
	}
	t->in_len += (size_t)r;
	t->s->c.bytes_in += (uint64_t)r;
	evtimer_add(t->idle, &t->s->tcp_idle);
	tconn_process(t); /* may free t */
}

static void on_tcp_write(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *t = arg;
	/* queries left unanswered while the client was not reading */
	if (tconn_flush(t) == 0 && t->reading && t->in_len >= 2)
		tconn_process(t);
}

static void on_tcp_idle(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *t = arg;
	t->s->c.tcp_idle_closed++;
	tconn_free(t);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct dnss_listener *l = arg;
	struct rasnd_dnsserver *s = l->s;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		struct rasn_addr a;
		if (s->n_conns >= s->tcp_max || sa_to_addr(&ss, &a) < 0) {
			s->c.tcp_rejected++;
			close(c);
			continue;
		}
		struct tconn *t = calloc(1, sizeof(*t));
		if (!t) {
			close(c);
			continue;
		}
		t->s = s, t->l = l, t->fd = c, t->peer = a;
		rasn_buf_init(&t->out);
		t->rev = event_new(s->d->base, c, EV_READ | EV_PERSIST, on_tcp_read, t);
		t->wev = event_new(s->d->base, c, EV_WRITE | EV_PERSIST, on_tcp_write, t);
		t->idle = evtimer_new(s->d->base, on_tcp_idle, t);
		TAILQ_INSERT_TAIL(&s->conns, t, entry);
		s->n_conns++;
		if (!t->rev || !t->wev || !t->idle) {
			tconn_free(t);
			continue;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		event_add(t->rev, NULL);
		t->reading = 1;
		evtimer_add(t->idle, &s->tcp_idle);
		s->c.tcp_accepted++;
	}
}

/* ---- set-up ------------------------------------------------------------------------------- */

static int make_socket(const struct rasnd_dnss_listen *c, int type, char *err, size_t errlen, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (c->host.family == RASN_AF4) {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)c->port);
		s4->sin_addr.s_addr = htonl((uint32_t)c->host.v);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)c->port);
		for (int i = 0; i < 16; i++)
			s6->sin6_addr.s6_addr[i] = (uint8_t)(c->host.v >> (120 - 8 * i));
		sl = sizeof(*s6);
	}
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (type == SOCK_STREAM && listen(fd, 1024) < 0))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "[dns_server] listen = %s (%s): %s", name, type == SOCK_STREAM ? "tcp" : "udp",
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void listener_free(struct dnss_listener *l)
{
	if (!l)
		return;
	if (l->uev)
		event_free(l->uev);
	if (l->tev)
		event_free(l->tev);
	if (l->ufd >= 0)
		close(l->ufd);
	if (l->tfd >= 0)
		close(l->tfd);
	free(l->inbuf);
	free(l->outbuf);
	free(l);
}

static void format_listen(const struct rasnd_dnss_listen *c, char *buf, size_t cap)
{
	char a[64];
	a[rasn_addr_format(c->host.family, c->host.v, a)] = 0;
	snprintf(buf, cap, c->host.family == RASN_AF6 ? "[%s]:%u" : "%s:%u", a, c->port);
}

/* A listener in s's table (freed with s), no sockets yet; NULL when out of memory or full. */
static struct dnss_listener *listener_new(struct rasnd_dnsserver *s)
{
	struct dnss_listener *l = s->n_l < MAX_LISTEN ? calloc(1, sizeof(*l)) : NULL;
	if (!l)
		return NULL;
	l->s = s, l->ufd = l->tfd = -1;
	s->l[s->n_l++] = l;
	return l;
}

/* Buffers and events for l's sockets (either may be -1). 0 or -1 with err. */
static int listener_arm(struct dnss_listener *l, char *err, size_t errlen)
{
	struct rasnd_dnsserver *s = l->s;
	l->inbuf = malloc(sizeof(*l->inbuf) * BATCH);
	l->outbuf = malloc(s->udp_max * BATCH);
	if (!l->inbuf || !l->outbuf) {
		snprintf(err, errlen, "[dns_server]: out of memory");
		return -1;
	}
	if (l->ufd >= 0 && (!(l->uev = event_new(s->d->base, l->ufd, EV_READ | EV_PERSIST, on_udp, l)) ||
			    event_add(l->uev, NULL) < 0))
		goto fail;
	if (l->tfd >= 0 && (!(l->tev = event_new(s->d->base, l->tfd, EV_READ | EV_PERSIST, on_accept, l)) ||
			    event_add(l->tev, NULL) < 0))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "[dns_server]: cannot watch %s", l->name);
	return -1;
}

static int same_listen(const struct rasnd_dnss_listen *a, const struct rasnd_dnss_listen *b)
{
	return a->port == b->port && a->host.family == b->host.family && a->host.v == b->host.v;
}

/* l's settings from the listen line with its address (its allow=), if there is one. */
static int listen_line_for(const struct rasnd_config *cfg, struct dnss_listener *l)
{
	for (size_t k = 0; k < cfg->n_dnss_listen; k++) {
		struct rasnd_dnss_listen c;
		const char *why;
		if (rasnd_dnss_parse_listen(cfg->dnss_listen[k], &c, &why) == 0 && same_listen(&c, &l->cfg)) {
			l->cfg = c;
			return 1;
		}
	}
	return 0;
}

/* The sockets the service manager passed as "dns": a UDP and a TCP socket on one address make
 * one listener; a listen line with the same address still gives it its allow=. */
static int start_passed(struct rasnd_dnsserver *s, const struct rasnd_config *cfg, char *err, size_t errlen)
{
	struct rasnd_passed_sock *ps;
	if (cfg->n_dnss_listen)
		log_info("dns server: serving the sockets passed by the service manager; not binding [dns_server] listen");
	while ((ps = rasnd_passed_take(s->d->passed, RASND_SOCK_DNS))) {
		struct rasnd_dnss_listen c = { 0 };
		int udp = ps->type == SOCK_DGRAM;
		rasnd_net_peer((const struct sockaddr *)&ps->addr, &c.host);
		c.port = ntohs(ps->addr.ss_family == AF_INET ? ((const struct sockaddr_in *)(const void *)&ps->addr)->sin_port
							     : ((const struct sockaddr_in6 *)(const void *)&ps->addr)->sin6_port);
		struct dnss_listener *l = NULL;
		for (size_t i = 0; i < s->n_l && !l; i++)
			if (same_listen(&s->l[i]->cfg, &c) && (udp ? s->l[i]->ufd : s->l[i]->tfd) < 0)
				l = s->l[i];
		if (!l) {
			if (!(l = listener_new(s))) {
				close(ps->fd);
				snprintf(err, errlen, "[dns_server]: out of memory, or more than %d listeners", MAX_LISTEN);
				return -1;
			}
			l->passed = 1;
			l->cfg = c;
			listen_line_for(cfg, l);
			format_listen(&l->cfg, l->name, sizeof(l->name));
		}
		*(udp ? &l->ufd : &l->tfd) = ps->fd;
		log_info("dns server: listening on %s, passed by the service manager", ps->where);
	}
	for (size_t i = 0; i < s->n_l; i++)
		if (listener_arm(s->l[i], err, errlen) < 0)
			return -1;
	return 0;
}

static int build_responder(struct rasnd_dnsserver *s, const struct rasnd_config *cfg, struct rasn_dnsresp **out)
{
	char ns_copy[RASN_DNSRESP_MAX_NS * 256];
	struct rasn_dnsresp_opts o = {
		.origin_zone = cfg->dnss_origin_zone,
		.origin6_zone = cfg->dnss_origin6_zone,
		.as_zone = cfg->dnss_as_zone,
		.ttl = (uint32_t)cfg->dnss_ttl,
		.negative_ttl = (uint32_t)cfg->dnss_negative_ttl,
		.soa_mname = cfg->dnss_soa_mname,
		.soa_rname = cfg->dnss_soa_rname,
		.soa_serial = (uint32_t)s->d->table_loaded_at,
		.soa_refresh = (uint32_t)cfg->dnss_soa_refresh,
		.soa_retry = (uint32_t)cfg->dnss_soa_retry,
		.soa_expire = (uint32_t)cfg->dnss_soa_expire,
		.udp_max = (uint16_t)cfg->dnss_udp_max,
	};
	snprintf(ns_copy, sizeof(ns_copy), "%s", cfg->dnss_ns);
	char *save = NULL;
	for (char *tok = strtok_r(ns_copy, " \t,", &save); tok && o.n_ns < RASN_DNSRESP_MAX_NS;
	     tok = strtok_r(NULL, " \t,", &save))
		o.ns[o.n_ns++] = tok;
	static const struct rasn_dnsresp_ops ops = { cb_origin, cb_inside, cb_as };
	return rasn_dnsresp_new(&o, &ops, s, out);
}

static void apply_config(struct rasnd_dnsserver *s, const struct rasnd_config *cfg)
{
	const char *why;
	if (rasnd_dnss_parse_allow(cfg->dnss_allow, s->allow, RASND_DNSS_MAX_ALLOW, &s->n_allow, &why) < 0)
		s->n_allow = 0; /* checked by the config parser: cannot happen */
	s->rrl_rate = (uint32_t)cfg->dnss_rrl_rate;
	s->rrl_slip = (uint32_t)cfg->dnss_rrl_slip;
	s->rrl_v4 = (unsigned)cfg->dnss_rrl_ipv4_prefix;
	s->rrl_v6 = (unsigned)cfg->dnss_rrl_ipv6_prefix;
	s->tcp_idle = (struct timeval){ (time_t)cfg->dnss_tcp_idle_timeout, 0 };
	s->tcp_max = cfg->dnss_tcp_max_clients;
}

int rasnd_dnsserver_start(struct rasnd *d, char *err, size_t errlen)
{
	const struct rasnd_config *cfg = &d->cfg;
	size_t passed = rasnd_passed_count(d->passed, RASND_SOCK_DNS);
	d->dnsserver = NULL;
	if (!cfg->n_dnss_listen && !passed)
		return 0;
	struct rasnd_dnsserver *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "[dns_server]: out of memory");
		return -1;
	}
	s->d = d;
	TAILQ_INIT(&s->conns);
	d->dnsserver = s;
	s->udp_max = cfg->dnss_udp_max;
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	apply_config(s, cfg);
	size_t buckets = 1;
	while (buckets < cfg->dnss_rrl_table_size)
		buckets <<= 1;
	s->rrl = calloc(buckets, sizeof(*s->rrl));
	s->rrl_mask = buckets - 1;
	if (!s->rrl || build_responder(s, cfg, &s->resp) < 0) {
		snprintf(err, errlen, "[dns_server]: cannot set up the responder (zones, ns, soa_rname)");
		return -1;
	}
	if (passed) {
		if (start_passed(s, cfg, err, errlen) < 0)
			return -1;
		goto done;
	}
	for (size_t i = 0; i < cfg->n_dnss_listen && i < MAX_LISTEN; i++) {
		const char *why;
		struct dnss_listener *l = listener_new(s);
		if (!l) {
			snprintf(err, errlen, "[dns_server]: out of memory");
			return -1;
		}
		if (rasnd_dnss_parse_listen(cfg->dnss_listen[i], &l->cfg, &why) < 0) {
			snprintf(err, errlen, "[dns_server] listen = %s: %s", cfg->dnss_listen[i], why);
			return -1;
		}
		format_listen(&l->cfg, l->name, sizeof(l->name));
		if ((l->ufd = make_socket(&l->cfg, SOCK_DGRAM, err, errlen, l->name)) < 0 ||
		    (l->tfd = make_socket(&l->cfg, SOCK_STREAM, err, errlen, l->name)) < 0 || listener_arm(l, err, errlen) < 0)
			return -1;
		log_info("dns server: listening on %s (udp, tcp) for %s, %s, %s", l->name, cfg->dnss_origin_zone,
			 cfg->dnss_origin6_zone, cfg->dnss_as_zone);
	}
done:
	s->c.listeners = s->n_l;
	return 0;
}

void rasnd_dnsserver_reconfigure(struct rasnd *d)
{
	struct rasnd_dnsserver *s = d->dnsserver;
	if (!s)
		return;
	struct rasn_dnsresp *r;
	if (build_responder(s, &d->cfg, &r) < 0) {
		log_err("dns server: the new [dns_server] settings do not build a responder; keeping the old ones");
		return;
	}
	rasn_dnsresp_free(s->resp);
	s->resp = r;
	apply_config(s, &d->cfg);
	/* per-listener allow lists follow the new config when the listen value is the same */
	for (size_t i = 0; i < s->n_l; i++) {
		struct dnss_listener *l = s->l[i];
		if (listen_line_for(&d->cfg, l))
			continue;
		if (l->passed) /* the section's allow list */
			l->cfg.has_allow = 0, l->cfg.n_allow = 0;
		else
			log_warn("dns server: %s is no longer configured: it stays until a restart", l->name);
	}
}

void rasnd_dnsserver_stop(struct rasnd *d)
{
	struct rasnd_dnsserver *s = d->dnsserver;
	if (!s)
		return;
	for (size_t i = 0; i < s->n_l; i++) {
		if (s->l[i]->uev)
			event_del(s->l[i]->uev);
		if (s->l[i]->tev)
			event_del(s->l[i]->tev);
	}
	while (!TAILQ_EMPTY(&s->conns))
		tconn_free(TAILQ_FIRST(&s->conns));
}

void rasnd_dnsserver_free(struct rasnd *d)
{
	struct rasnd_dnsserver *s = d->dnsserver;
	if (!s)
		return;
	rasnd_dnsserver_stop(d);
	for (size_t i = 0; i < s->n_l; i++)
		listener_free(s->l[i]);
	rasn_dnsresp_free(s->resp);
	free(s->rrl);
	free(s);
	d->dnsserver = NULL;
}

void rasnd_dnsserver_counters(const struct rasnd *d, struct rasnd_dnss_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->dnsserver)
		return;
	*out = d->dnsserver->c;
	out->tcp_current = d->dnsserver->n_conns;
}
