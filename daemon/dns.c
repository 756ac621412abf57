#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "dns.h"
#include "log.h"

#define MAX_SERVERS 16

struct sockev {
	struct sockev *next;
	ares_socket_t fd;
	struct event *ev;
	short what;
};

struct channel {
	struct rasnd_dns *d;
	ares_channel ch;
	unsigned server;      /* index into d->servers */
	struct event *timer;
	struct sockev *socks;
	uint64_t sent;
};

struct rasnd_dns {
	struct event_base *base;
	struct rasnd_tcp_opts sock;
	struct channel *ch;
	size_t n_ch, next;
	unsigned per;         /* channels per resolver: resolver i owns ch[i * per ...] */
	size_t srv_next[MAX_SERVERS];
	struct rasnd_dns_server_stats servers[MAX_SERVERS];
	size_t n_servers;
	size_t in_flight;
	struct channel names;  /* host names for TCP connections: every resolver (rasnd_dns_resolve) */
	int closing;
};

struct query {
	struct channel *c;
	rasnd_dns_cb cb;
	void *ud;
};

static void rearm(struct channel *c)
{
	struct timeval tv, *tvp = ares_timeout(c->ch, NULL, &tv);
	if (tvp)
		evtimer_add(c->timer, tvp);
	else
		evtimer_del(c->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct channel *c = arg;
	ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(c);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct channel *c = arg;
	ares_process_fd(c->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD, (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm(c);
}

/* c-ares tells which of its sockets want which events. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct channel *c = data;
	struct sockev **pp = &c->socks, *s;
	for (s = *pp; s && s->fd != fd; pp = &s->next, s = *pp)
		;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	if (!what) {
		if (s) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			log_err("dns: out of memory watching a socket");
			return;
		}
		s->fd = fd;
		s->next = c->socks;
		c->socks = s;
	} else if (s->what == what) {
		return;
	} else {
		event_free(s->ev);
		s->ev = NULL;
	}
	s->what = what;
	s->ev = event_new(c->d->base, fd, what | EV_PERSIST, on_sock, c);
	if (!s->ev || event_add(s->ev, NULL) < 0)
		log_err("dns: cannot watch socket %d", (int)fd);
}

/* c-ares calls this for every socket it opens, before connect. */
static int configure_sock(ares_socket_t fd, int type, void *data)
{
	struct rasnd_dns *d = data;
	if (rasnd_sock_tune(fd, &d->sock) < 0)
		log_debug("dns: could not apply every socket option to fd %d", (int)fd);
	return 0; /* a refused option is not a reason to lose the query */
}

/* Split "a,b:53,[v6]:5353" into at most MAX_SERVERS entries. */
static size_t split_servers(const char *csv, char out[][64])
{
	size_t n = 0;
	const char *p = csv;
	while (p && *p && n < MAX_SERVERS) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len && len < 64) {
			memcpy(out[n], p, len);
			out[n++][len] = '\0';
		}
		p += len;
	}
	return n;
}

/* One c-ares channel over the resolvers in csv. Returns 0, an ARES_* code, or -1 (no timer). */
static int channel_init(struct rasnd_dns *d, struct channel *c, const struct rasnd_dns_opts *o, unsigned server,
			const char *csv)
{
	struct ares_options ao;
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = sock_state;
	ao.sock_state_cb_data = c;
	ao.timeout = (int)(o->timeout_ms ? o->timeout_ms : 2000);
	ao.tries = (int)(o->tries ? o->tries : 2);
	/* SERVFAIL and REFUSED come back as answers we classify ourselves; without this
	 * flag c-ares reports them as ECONNREFUSED */
	ao.flags = ARES_FLAG_NOCHECKRESP | (o->tcp ? ARES_FLAG_USEVC | ARES_FLAG_STAYOPEN : 0);
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
	c->d = d;
	c->server = server;
	int rc = ares_init_options(&c->ch, &ao, mask);
	if (rc == ARES_SUCCESS)
		rc = ares_set_servers_ports_csv(c->ch, csv);
	if (rc == ARES_SUCCESS)
		ares_set_socket_configure_callback(c->ch, configure_sock, d);
	if (rc != ARES_SUCCESS)
		return rc;
	c->timer = evtimer_new(d->base, on_timer, c);
	return c->timer ? 0 : -1;
}

static void channel_free(struct channel *c)
{
	if (c->ch)
		ares_destroy(c->ch); /* runs pending callbacks with ARES_EDESTRUCTION */
	c->ch = NULL;
	while (c->socks) {
		struct sockev *s = c->socks;
		c->socks = s->next;
		if (s->ev)
			event_free(s->ev);
		free(s);
	}
	if (c->timer)
		event_free(c->timer);
	c->timer = NULL;
}

int rasnd_dns_new(struct event_base *base, const struct rasnd_dns_opts *o, struct rasnd_dns **out,
		  char *err, size_t errlen)
{
	char servers[MAX_SERVERS][64];
	size_t n = 0;
	*out = NULL;
	if (o->servers && *o->servers) {
		n = split_servers(o->servers, servers);
	} else {
		/* the system's resolvers: read them with a throwaway channel, one channel set each */
		ares_channel tmp;
		struct ares_addr_port_node *list = NULL;
		if (ares_init(&tmp) == ARES_SUCCESS) {
			if (ares_get_servers_ports(tmp, &list) == ARES_SUCCESS) {
				for (struct ares_addr_port_node *s = list; s && n < MAX_SERVERS; s = s->next) {
					char a[48];
					inet_ntop(s->family, &s->addr, a, sizeof(a));
					if (s->family == AF_INET6)
						snprintf(servers[n++], 64, "[%s]:%d", a, s->udp_port ? s->udp_port : 53);
					else
						snprintf(servers[n++], 64, "%s:%d", a, s->udp_port ? s->udp_port : 53);
				}
				ares_free_data(list);
			}
			ares_destroy(tmp);
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "no DNS resolver (set [dns] servers or /etc/resolv.conf)");
		return -1;
	}
	struct rasnd_dns *d = calloc(1, sizeof(*d));
	unsigned per = o->channels ? o->channels : 1;
	if (!d || !(d->ch = calloc(n * per, sizeof(*d->ch)))) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->base = base;
	d->sock = o->sock;
	d->n_servers = n;
	d->per = per;
	char all[MAX_SERVERS * 65] = "";
	for (size_t i = 0; i < n; i++) {
		snprintf(d->servers[i].addr, sizeof(d->servers[i].addr), "%s", servers[i]);
		for (unsigned k = 0; k < per; k++) {
			struct channel *c = &d->ch[d->n_ch];
			int rc = channel_init(d, c, o, (unsigned)i, servers[i]);
			if (rc != 0) {
				snprintf(err, errlen, "dns: resolver %s: %s", servers[i],
					 rc > 0 ? ares_strerror(rc) : "out of memory");
				if (c->ch)
					d->n_ch++; /* so that free destroys it */
				rasnd_dns_free(d);
				return -1;
			}
			d->n_ch++;
		}
		log_info("dns: resolver %s, %u channels", servers[i], per);
		if (i)
			strcat(all, ",");
		strcat(all, servers[i]);
	}
	int rc = channel_init(d, &d->names, o, 0, all);
	if (rc != 0) {
		snprintf(err, errlen, "dns: resolvers %s: %s", all, rc > 0 ? ares_strerror(rc) : "out of memory");
		rasnd_dns_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void rasnd_dns_free(struct rasnd_dns *d)
{
	if (!d)
		return;
	d->closing = 1;
	for (size_t i = 0; i < d->n_ch; i++)
		channel_free(&d->ch[i]);
	channel_free(&d->names);
	free(d->ch);
	free(d);
}

/* NOERROR with no answer is "no data"; the rcode decides the rest. */
static int classify(int status, const unsigned char *abuf, int alen)
{
	if (status != ARES_SUCCESS)
		return status;
	if (!abuf || alen < HFIXEDSZ)
		return ARES_EBADRESP;
	switch (abuf[3] & 0x0f) {
	case 0:
		return ((abuf[6] << 8) | abuf[7]) == 0 ? ARES_ENODATA : ARES_SUCCESS;
	case 2:
		return ARES_ESERVFAIL;
	case 3:
		return ARES_ENOTFOUND;
	case 5:
		return ARES_EREFUSED;
	default:
		return ARES_EBADRESP;
	}
}

static int start_query(struct rasnd_dns *d, struct channel *c, const char *name, int type, rasnd_dns_cb cb, void *ud);

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct rasnd_dns *d = q->c->d;
	struct rasnd_dns_server_stats *st = &d->servers[q->c->server];
	status = classify(status, abuf, alen);
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		st->answers++;
		break;
	case ARES_ENOTFOUND:
		st->answers++;
		st->nxdomain++;
		break;
	case ARES_ESERVFAIL:
		st->servfail++;
		break;
	case ARES_ETIMEOUT:
		st->timeouts++;
		break;
	default:
		st->errors++;
	}
	d->in_flight--;
	q->cb(q->ud, status, abuf, alen);
	free(q);
}

int rasnd_dns_query(struct rasnd_dns *d, const char *name, int type, rasnd_dns_cb cb, void *ud)
{
	return start_query(d, &d->ch[d->next++ % d->n_ch], name, type, cb, ud);
}

static int start_query(struct rasnd_dns *d, struct channel *c, const char *name, int type, rasnd_dns_cb cb, void *ud)
{
	struct query *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = c;
	q->cb = cb;
	q->ud = ud;
	c->sent++;
	d->servers[c->server].sent++;
	d->in_flight++;
	ares_query(c->ch, name, ns_c_in, type, on_answer, q);
	rearm(c);
	return 0;
}

int rasnd_dns_query_server(struct rasnd_dns *d, size_t server, const char *name, int type, rasnd_dns_cb cb,
			   void *ud)
{
	if (server >= d->n_servers)
		return -EINVAL;
	size_t k = d->srv_next[server]++ % d->per;
	return start_query(d, &d->ch[server * d->per + k], name, type, cb, ud);
}

struct resolve {
	struct channel *c;
	rasnd_dns_addrs_cb cb;
	void *ud;
};

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolve *q = arg;
	struct rasnd_dns_addrs res;
	char m[160];
	const char *err = NULL;
	(void)timeouts;
	res.n = 0;
	for (struct ares_addrinfo_node *a = ai && status == ARES_SUCCESS ? ai->nodes : NULL;
	     a && res.n < RASND_DNS_ADDRS_MAX; a = a->ai_next) {
		if (!a->ai_addr || a->ai_addrlen > sizeof(res.addr[0]))
			continue;
		memcpy(&res.addr[res.n], a->ai_addr, (size_t)a->ai_addrlen);
		res.len[res.n++] = (socklen_t)a->ai_addrlen;
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (res.n == 0) {
		snprintf(m, sizeof(m), "%s", status == ARES_SUCCESS ? "no address" : ares_strerror(status));
		err = m;
	}
	q->cb(q->ud, &res, err);
	free(q);
}

int rasnd_dns_resolve(struct rasnd_dns *d, const char *host, uint16_t port, rasnd_dns_addrs_cb cb, void *ud)
{
	struct resolve *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = &d->names;
	q->cb = cb;
	q->ud = ud;
	char svc[8];
	snprintf(svc, sizeof(svc), "%u", (unsigned)port);
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NUMERICSERV;
	ares_getaddrinfo(d->names.ch, host, svc, &hints, on_addrinfo, q);
	rearm(&d->names);
	return 0;
}

size_t rasnd_dns_n_servers(const struct rasnd_dns *d)
{
	return d->n_servers;
}

const char *rasnd_dns_server_name(const struct rasnd_dns *d, size_t server)
{
	return server < d->n_servers ? d->servers[server].addr : NULL;
}

size_t rasnd_dns_stats(const struct rasnd_dns *d, struct rasnd_dns_server_stats *out, size_t cap)
{
	size_t n = d->n_servers < cap ? d->n_servers : cap;
	memcpy(out, d->servers, n * sizeof(*out));
	return d->n_servers;
}

size_t rasnd_dns_channel_sent(const struct rasnd_dns *d, uint64_t *out, size_t cap)
{
	for (size_t i = 0; i < d->n_ch && i < cap; i++)
		out[i] = d->ch[i].sent;
	return d->n_ch;
}

size_t rasnd_dns_in_flight(const struct rasnd_dns *d)
{
	return d->in_flight;
}

void rasnd_dns_sockets_json(const struct rasnd_dns *d, struct rasn_buf *b)
{
	int first = 1;
	rasn_buf_addc(b, '[');
	for (size_t i = 0; i < d->n_ch; i++)
		for (const struct sockev *s = d->ch[i].socks; s; s = s->next) {
			if (!first)
				rasn_buf_addc(b, ',');
			first = 0;
			rasnd_sock_describe((int)s->fd, b);
		}
	rasn_buf_addc(b, ']');
}

/* A DNS status as a retry outcome, for every upstream over the pool. ECONNREFUSED is a refusal
 * by the network (ICMP): the pool sets ARES_FLAG_NOCHECKRESP, so a SERVFAIL arrives as
 * ARES_ESERVFAIL, never as ECONNREFUSED. */
enum rasn_outcome rasnd_dns_outcome(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return RASN_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		return RASN_FINAL_NXDOMAIN;  /* an answer: not announced */
	case ARES_ETIMEOUT:
		return RASN_RETRY_TIMEOUT;
	case ARES_ESERVFAIL:
		return RASN_RETRY_SERVFAIL;
	case ARES_ECONNREFUSED:
		return RASN_RETRY_NET;
	case ARES_EREFUSED:
		return rasn_outcome_from_dns_rcode(5);
	case ARES_EBADRESP:
	case ARES_EFORMERR:
		return RASN_FINAL_MALFORMED;
	default:
		return RASN_FINAL_OTHER;     /* REFUSED rcode, shutting down, out of memory, bad name */
	}
}
