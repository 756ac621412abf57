/* Team Cymru's whois over TCP (docs/whois.md). One connection is one answer, as at
 * whois.cymru.com: a single query line (" -v 8.8.8.8") is answered and the connection closes;
 * "begin" opens a bulk block whose lines are answered until "end" (or the client's EOF), then
 * it closes. Rows come from the table, formatted by lib/reply.c exactly as the query socket's
 * bulk block formats them (daemon/query.c), so both give the same bytes for the same lines.
 *
 * Bounds: lines over RASN_WHOISQ_LINE_MAX end the connection; at most LINES_PER_WAKEUP lines
 * are answered per wakeup; reading stops while more than OUT_HIGH bytes of answers are unsent
 * (a client that sends without reading holds only that much), and input beyond IN_HIGH waits
 * in the kernel. Who may connect: [whois] allow, max_clients, max_conns_per_addr, and one
 * token of the address's bucket ([whois] rate, burst) per connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "peers.h"
#include "rasnd.h"
#include "reply.h"
#include "whois.h"
#include "whoisq.h"
#include "query.h"

#define LINES_PER_WAKEUP 1024
#define OUT_HIGH (256 * 1024)
#define IN_HIGH (64 * 1024)

static const char help_text[] =
	"rasnd answers Team Cymru's whois queries from its table (see docs/whois.md).\n"
	"Single query:  whois -h HOST -p PORT -- ' -v 8.8.8.8'   (or AS15169)\n"
	"  -v verbose (all columns)  -p BGP prefix  -c country code  -r registry  -a allocation date\n"
	"  -n AS name (default)  -t -u -o -e accepted, no effect\n"
	"Bulk:  begin / [verbose, noheader, prefix, noprefix, asname, noasname, cc, nocc,\n"
	"       registry, noregistry, allocdate, noallocdate] / addresses or AS numbers / end\n";

struct whois_conn {
	TAILQ_ENTRY(whois_conn) entry;
	struct rasnd_whois *w;
	struct bufferevent *bev;
	struct rasn_addr peer;
	int bulk;             /* inside begin ... end */
	unsigned opts;        /* the bulk block's options */
	int ip_header, as_header;
	size_t line_no;       /* lines of the block that asked something (for error lines) */
	int closing;          /* answered: close once the output is out */
	int lingering;        /* answer out, our side shut: discarding input until EOF */
	int refused;          /* let in only to say why not: not counted, nothing read */
	int eof;
};

struct rasnd_whois {
	struct rasnd *d;
	struct evconnlistener *l[RASND_LISTEN_MAX];
	size_t n_l;
	struct rasn_peers *peers;
	TAILQ_HEAD(, whois_conn) conns;
	size_t n_refused;             /* refused connections still saying why */
	struct rasnd_net_stats st;
};

static void conn_free(struct whois_conn *c)
{
	struct rasnd_whois *w = c->w;
	TAILQ_REMOVE(&w->conns, c, entry);
	if (!c->refused) {
		rasn_peers_close(w->peers, &c->peer, rasnd_net_now());
		w->st.current--;
	} else {
		w->n_refused--;
	}
	bufferevent_free(c->bev);
	free(c);
}

/* Text into the connection's output. */
static void put(struct whois_conn *c, const struct rasn_buf *b)
{
	if (b->len && !b->oom)
		bufferevent_write(c->bev, b->data, b->len);
}

static void finish(struct whois_conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
}

/* One line before any block: the single query, or "begin". */
static void single_line(struct whois_conn *c, struct rasn_buf *b, const char *line, size_t len)
{
	struct rasn_whoisq q;
	int header = 0;
	rasn_whoisq_parse(line, len, 0, &q);
	switch (q.kind) {
	case RASN_WHOISQ_EMPTY:
		return; /* wait for the query */
	case RASN_WHOISQ_BEGIN:
		c->bulk = 1;
		c->w->st.requests++;
		rasn_cymru_bulk_banner(b, time(NULL));
		return;
	case RASN_WHOISQ_IP:
		rasnd_cymru_ip_answer(c->w->d, b, q.opts, &q.addr, &header);
		break;
	case RASN_WHOISQ_AS:
		rasnd_cymru_as_answer(c->w->d, b, q.opts, q.asn, &header);
		break;
	case RASN_WHOISQ_HELP:
		rasn_buf_add(b, help_text, sizeof(help_text) - 1);
		break;
	default:
		c->w->d->stats.queries[RASN_Q_INVALID]++;
		rasn_buf_lit(b, "Error: no ASN or IP match on line 1.\n");
		break;
	}
	c->w->st.requests++;
	finish(c);
}

static void bulk_line(struct whois_conn *c, struct rasn_buf *b, const char *line, size_t len)
{
	struct rasn_whoisq q;
	rasn_whoisq_parse(line, len, c->opts, &q);
	switch (q.kind) {
	case RASN_WHOISQ_EMPTY:
	case RASN_WHOISQ_BEGIN:
		return;
	case RASN_WHOISQ_OPTION:
		c->opts = q.opts;
		return;
	case RASN_WHOISQ_END:
		finish(c);
		return;
	default:
		break;
	}
	c->line_no++;
	c->w->st.lines++;
	c->w->d->stats.bulk_rows++;
	if (q.kind == RASN_WHOISQ_IP) {
		rasnd_cymru_ip_answer(c->w->d, b, q.opts, &q.addr, &c->ip_header);
	} else if (q.kind == RASN_WHOISQ_AS) {
		rasnd_cymru_as_answer(c->w->d, b, q.opts, q.asn, &c->as_header);
	} else {
		c->w->d->stats.queries[RASN_Q_INVALID]++;
		rasn_buf_printf(b, "Error: no ASN or IP match on line %zu.\n", c->line_no);
	}
}

/* Answer the complete lines waiting (at the client's EOF, the last one without its LF too),
 * within the wakeup's budget and the output bound. */
static void process(struct whois_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct rasn_buf b;
	char line[RASN_WHOISQ_LINE_MAX + 2];
	int n;
	rasn_buf_init(&b);
	for (n = 0; n < LINES_PER_WAKEUP && !c->closing; n++) {
		if (evbuffer_get_length(out) + b.len > OUT_HIGH) {
			bufferevent_disable(c->bev, EV_READ); /* the write callback resumes */
			break;
		}
		size_t avail = evbuffer_get_length(in);
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t len;
		if (eol.pos >= 0)
			len = (size_t)eol.pos;
		else if (c->eof && avail)
			len = avail;
		else if (avail > RASN_WHOISQ_LINE_MAX)
			len = avail; /* no end in sight: refused below */
		else
			break;
		if (len > RASN_WHOISQ_LINE_MAX) {
			c->w->st.too_long++;
			rasn_buf_lit(&b, "Error: line too long.\n");
			finish(c);
			break;
		}
		evbuffer_remove(in, line, len);
		if (eol.pos >= 0)
			evbuffer_drain(in, 1);
		if (len && line[len - 1] == '\r')
			len--;
		if (c->bulk)
			bulk_line(c, &b, line, len);
		else
			single_line(c, &b, line, len);
	}
	put(c, &b);
	rasn_buf_free(&b);
	if (evbuffer_get_length(out) > c->w->st.queued_max)
		c->w->st.queued_max = evbuffer_get_length(out);
	if (c->eof && !c->closing && evbuffer_get_length(in) == 0)
		finish(c); /* the client has said all it will: a block without "end" ends here */
	if (!c->closing && n == LINES_PER_WAKEUP)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Called after process: once the answer is out, the connection goes. Input the client sent
 * that was never read would make close() send a reset, which can destroy the answer before the
 * client reads it; so unless the client has ended its side, ours is shut down first and its
 * input discarded until its EOF (or the timeout). Returns 1 if freed. */
static int maybe_close(struct whois_conn *c)
{
	if (!c->closing || evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return 0;
	if (c->eof) {
		conn_free(c);
		return 1;
	}
	if (!c->lingering) {
		c->lingering = 1;
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
	}
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct whois_conn *c = arg;
	(void)bev;
	if (!c->lingering)
		process(c);
	maybe_close(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct whois_conn *c = arg;
	if (maybe_close(c))
		return;
	if (!c->closing) {
		/* output drained below the mark: go on with the lines waiting (after an EOF too) */
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		process(c);
		maybe_close(c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct whois_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF && c->lingering) {
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF && !(what & BEV_EVENT_ERROR) && !c->closing) {
		/* the client has sent all: answer what is waiting (process() ends the connection
		 * once the input is used up; the output bound may make that take several passes) */
		c->eof = 1;
		process(c);
		maybe_close(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		c->w->st.timeouts++;
	conn_free(c);
}

static struct whois_conn *conn_new(struct rasnd_whois *w, int fd, const struct rasn_addr *peer, int refused);

/* Say why, then close as an answered connection does (so that no reset destroys the words).
 * Such connections are not counted, and are closed by the timeout at the latest. */
static void refuse(struct rasnd_whois *w, int fd, const struct rasn_addr *peer, const char *msg)
{
	if (w->n_refused >= w->d->cfg.whois.max_clients) {
		close(fd); /* as many already being told: no more descriptors spent on refusals */
		return;
	}
	struct whois_conn *c = conn_new(w, fd, peer, 1);
	if (!c)
		return;
	w->n_refused++;
	bufferevent_write(c->bev, msg, strlen(msg));
	finish(c);
}

static struct whois_conn *conn_new(struct rasnd_whois *w, int fd, const struct rasn_addr *peer, int refused)
{
	struct rasnd *d = w->d;
	const struct rasnd_netcfg *nc = &d->cfg.whois;
	struct whois_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = c ? bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		free(c);
		close(fd);
		return NULL;
	}
	rasnd_net_tune_conn(d, fd);
	c->w = w;
	c->bev = bev;
	c->peer = *peer;
	c->refused = refused;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	struct timeval tv = { (time_t)nc->timeout_s, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setwatermark(bev, EV_READ, 0, IN_HIGH);
	bufferevent_setwatermark(bev, EV_WRITE, OUT_HIGH / 2, 0);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct rasnd_whois *w = arg;
	struct rasnd *d = w->d;
	const struct rasnd_netcfg *nc = &d->cfg.whois;
	struct rasn_addr peer;
	double now = rasnd_net_now();
	(void)l;
	(void)salen;
	if (rasnd_net_peer(sa, &peer) < 0 || !rasn_peers_allowed(nc->allow, nc->n_allow, &peer)) {
		w->st.refused_allow++;
		close(fd);
		return;
	}
	if (d->draining || w->st.current >= nc->max_clients) {
		w->st.refused_clients++;
		refuse(w, fd, &peer, "Error: too many clients; try again later.\n");
		return;
	}
	if (rasn_peers_take(w->peers, &peer, (double)nc->rate, (double)nc->burst, now) < 0) {
		w->st.refused_rate++;
		refuse(w, fd, &peer, "Error: rate limited; try again later.\n");
		return;
	}
	if (rasn_peers_open(w->peers, &peer, nc->max_conns_per_addr, now) < 0) {
		w->st.refused_conns++;
		refuse(w, fd, &peer, "Error: too many connections from your address.\n");
		return;
	}
	if (!conn_new(w, fd, &peer, 0)) {
		rasn_peers_close(w->peers, &peer, now);
		return;
	}
	w->st.accepted++;
	w->st.current++;
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("whois: accept: %s", strerror(errno));
}

int rasnd_whois_start(struct rasnd *d, char *err, size_t errlen)
{
	const struct rasnd_netcfg *nc = &d->cfg.whois;
	size_t passed = rasnd_passed_count(d->passed, RASND_SOCK_WHOIS);
	if (nc->n_listen == 0 && passed == 0)
		return 0;
	struct rasnd_whois *w = calloc(1, sizeof(*w));
	if (!w || !(w->peers = rasn_peers_new(65536))) {
		free(w);
		snprintf(err, errlen, "whois: out of memory");
		return -1;
	}
	w->d = d;
	TAILQ_INIT(&w->conns);
	d->whois = w;
	if (passed && nc->n_listen)
		log_info("whois: serving the sockets passed by the service manager; not binding [whois] listen");
	for (size_t i = 0; i < (passed ? passed : nc->n_listen); i++) {
		char what[160];
		int fd = rasnd_net_open(d, passed ? RASND_SOCK_WHOIS : RASND_SOCK_ROLES, nc->listen[i], what, sizeof(what),
					err, errlen);
		if (fd < 0)
			return -1;
		w->l[i] = evconnlistener_new(d->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (!w->l[i]) {
			close(fd);
			snprintf(err, errlen, "whois: cannot serve %s", what);
			return -1;
		}
		evconnlistener_set_error_cb(w->l[i], on_listen_error);
		w->n_l++;
		log_info("whois: listening on %s", what);
	}
	return 0;
}

void rasnd_whois_drain(struct rasnd *d)
{
	struct rasnd_whois *w = d->whois;
	if (!w)
		return;
	for (size_t i = 0; i < w->n_l; i++)
		evconnlistener_free(w->l[i]);
	w->n_l = 0;
}

void rasnd_whois_stop(struct rasnd *d)
{
	struct rasnd_whois *w = d->whois;
	if (!w)
		return;
	rasnd_whois_drain(d);
	while (!TAILQ_EMPTY(&w->conns))
		conn_free(TAILQ_FIRST(&w->conns));
	rasn_peers_free(w->peers);
	free(w);
	d->whois = NULL;
}

void rasnd_whois_stats(struct rasnd *d, struct rasnd_net_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (d->whois)
		*out = d->whois->st;
}
