/* What each request line gets: parse (lib/proto), look up (lib/table), format (lib/reply),
 * into the session's output in request order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "build_config.h"
#include "domain.h"
#include "rasnd.h"
#include "reply.h"
#include "runner.h"
#include "special.h"
#include "whoisq.h"
#include "srctable.h"
#include "query.h"
#include "refresh.h"
#include "reload.h"
#include "session.h"

static const char help_text[] =
	"rasnd " RASN_VERSION " answers one request per line, one JSON reply line each, in order.\n"
	"  8.8.8.8 | 2001:db8::1 | ip ADDR   origin AS, matched prefix and range, AS name\n"
	"  AS15169 | as 15169                 AS name, ranges and prefix counts\n"
	"  prefixes AS15169                   aggregated prefixes of an AS\n"
	"  org TEXT                           ASes whose name contains TEXT\n"
	"  example.com | domain NAME          A and AAAA (needs a resolver), each address answered\n"
	"                                     as an address lookup ([lookup] order, or @table)\n"
	"  ping | stats | help | reload       liveness, counters, this text, reload the dataset\n"
	"  refresh                            fetch [dataset] url now (conditional GET), swap in what changed\n"
	"  stats prometheus                   counters in the Prometheus text format, ending in # EOF\n"
	"  begin ... end                      Team Cymru bulk block (text rows)\n";

/* help_text's last line: the sources of the registry, each with what it answers asked alone,
 * wrapped under the text column. */
static void help_sources(struct rasn_buf *b)
{
	static const char head[] = "  QUERY @SOURCE                      ask one source only:";
	const size_t indent = 37, width = 100;
	size_t col = sizeof(head) - 1;
	rasn_buf_add(b, head, col);
	for (size_t i = 1; i <= rasnd_sources_n(); i++) {
		const struct rasnd_source *src = rasnd_source((int)i);
		const char *what = src->help ? src->help : src->name;
		size_t n = strlen(what) + (i < rasnd_sources_n());
		if (col + 1 + n > width) {
			rasn_buf_addc(b, '\n');
			for (col = 0; col < indent - 1; col++)
				rasn_buf_addc(b, ' ');
		}
		rasn_buf_addc(b, ' ');
		rasn_buf_adds(b, what);
		if (i < rasnd_sources_n())
			rasn_buf_addc(b, ';');
		col += 1 + n;
	}
	rasn_buf_addc(b, '\n');
}

static const char *const source_table = "table";

static int is_source(const struct rasn_request *r, const char *name)
{
	size_t n = strlen(name);
	return r->source && r->source_len == n && strncasecmp(r->source, name, n) == 0;
}

/* What a request type asks of a source (struct rasnd_source's `asked`); 0: only the table. */
static unsigned asked_of(enum rasn_qtype t)
{
	switch (t) {
	case RASN_Q_IP:
		return RASND_ANS_IP;
	case RASN_Q_AS:
		return RASND_ANS_AS;
	case RASN_Q_PREFIXES:
		return RASND_ANS_PREFIXES;
	case RASN_Q_ORG:
		return RASND_ANS_ORG;
	case RASN_Q_DOMAIN:
		return RASND_ANS_DOMAIN;
	default:
		return 0;
	}
}

/* What a "@NAME" suffix names: the id of a source this daemon has that answers the request's
 * type (RASND_SRC_TABLE without a suffix: the table answers everything), or 0 with why not
 * in msg. */
static int source_of(const struct rasn_request *r, char *msg, size_t cap)
{
	if (!r->source)
		return RASND_SRC_TABLE;
	int id = rasnd_source_find(r->source, r->source_len);
	const struct rasnd_source *src = rasnd_source(id);
	if (id == RASND_SRC_TABLE || (src && (src->asked & asked_of(r->type))))
		return id;
	if (src && src->asked_error) {
		snprintf(msg, cap, "%s", src->asked_error);
	} else if (src) {
		snprintf(msg, cap, "@%s does not answer %s requests", src->name, rasn_qtype_name(r->type));
	} else {
		size_t n = (size_t)snprintf(msg, cap, "unknown source (available: ");
		for (size_t i = 1; i <= rasnd_sources_n() && n < cap; i++)
			n += (size_t)snprintf(msg + n, cap - n, "%s%s", i > 1 ? ", " : "", rasnd_source((int)i)->name);
		if (n < cap)
			snprintf(msg + n, cap - n, ")");
	}
	return 0;
}

/* A "@NAME" suffix must name a source this daemon has. Returns its id (source_of), or 0 after
 * an error reply. */
static int check_source(struct rasnd_session *s, const struct rasn_request *r, const char *q, size_t qlen)
{
	char msg[320];
	int id = source_of(r, msg, sizeof(msg));
	if (!id)
		rasn_reply_error(rasnd_session_outbuf(s), q, qlen, rasn_qtype_name(r->type), msg);
	return id;
}

/* A reply slot for an asynchronous answer, or NULL after an error reply. */
static struct rasnd_slot *async_slot(struct rasnd_session *s, const char *q, size_t qlen, const char *type)
{
	struct rasnd_slot *slot = rasnd_session_slot(s, q, qlen, 0);
	if (!slot)
		rasn_reply_error(rasnd_session_outbuf(s), q, qlen, type, "out of memory");
	return slot;
}

/* Hand an address to the sources of the order from pos on, through a reply slot (answers
 * stay in order). */
static void ask_order_ip(struct rasnd_session *s, const struct rasn_addr *a, const char *q, size_t qlen, int pos)
{
	struct rasnd_slot *slot = async_slot(s, q, qlen, "ip");
	if (slot)
		rasnd_order_ip(s->d, slot, a, pos);
}

/* src: the id check_source gave; RASND_SRC_TABLE with r->source NULL means the order. */
static void do_ip(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		  const char *q, size_t qlen, int src)
{
	const struct rasnd_config *c = &s->d->cfg;
	if (rasnd_order_special(s->d, b, &r->addr, q, qlen))
		return;
	if (src != RASND_SRC_TABLE) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, "ip");
		if (slot)
			rasnd_source_ip(s->d, slot, src, &r->addr);
		return;
	}
	if (!r->source && !rasnd_order_table_alone(c, 0)) {
		ask_order_ip(s, &r->addr, q, qlen, 0);
		return;
	}
	struct rasn_match m;
	int found = rasnd_table_lookup(s->d, &r->addr, &m);
	if (!found && !r->source && rasnd_order_next(c, 0) >= 0) {
		ask_order_ip(s, &r->addr, q, qlen, 1);
		return;
	}
	rasn_reply_ip(b, q, qlen, &r->addr, found ? &m : NULL, source_table);
}

static void count_families(const struct rasn_prefix *p, long n, size_t *v4, size_t *v6)
{
	*v4 = *v6 = 0;
	for (long i = 0; i < n; i++)
		(p[i].family == RASN_AF4 ? (*v4)++ : (*v6)++);
}

/* The table's answer to "as ASN" or "prefixes ASN", written into b now. */
static void table_as_answer(struct rasnd *d, struct rasn_buf *b, const char *q, size_t qlen,
			    uint32_t asn, int prefixes)
{
	struct rasn_as_info info;
	int found = rasn_table_as(d->table, asn, &info);
	struct rasn_prefix *p = NULL;
	long n = 0;
	if (found) {
		d->stats.table_hits++;
		n = rasn_table_as_prefixes(d->table, asn, &p);
		if (n < 0) {
			rasn_reply_error(b, q, qlen, prefixes ? "prefixes" : "as", "out of memory");
			return;
		}
	} else {
		d->stats.table_misses++;
	}
	if (prefixes) {
		rasn_reply_prefixes(b, q, qlen, asn, found ? &info : NULL, p, (size_t)n, source_table);
	} else {
		size_t v4, v6;
		count_families(p, n, &v4, &v6);
		rasn_reply_as(b, q, qlen, asn, found ? &info : NULL, v4, v6, source_table);
	}
	free(p);
}

static void do_as(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		  const char *q, size_t qlen, int prefixes, int src)
{
	const struct rasnd_config *c = &s->d->cfg;
	int order = !prefixes && !r->source && (c->order_n > 1 || c->order_src[0] != RASND_SRC_TABLE);
	if (src != RASND_SRC_TABLE || order) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, prefixes ? "prefixes" : "as");
		if (!slot)
			return;
		if (prefixes && !rasnd_source(src)->prefixes) { /* `asked` says it does: a bug of the source */
			rasn_reply_error(&slot->reply, q, qlen, "prefixes", "the source does not answer this");
			rasnd_slot_complete(slot);
		} else if (prefixes)
			rasnd_source(src)->prefixes(s->d, slot, r->asn);
		else if (order)
			rasnd_order_as(s->d, slot, r->asn, 0);
		else
			rasnd_source_as(s->d, slot, src, r->asn);
		return;
	}
	table_as_answer(s->d, b, q, qlen, r->asn, prefixes);
}

/* The table's answer to "org TEXT", written into b now. */
static void table_org_answer(struct rasnd *d, struct rasn_buf *b, const char *q, size_t qlen,
			     const struct rasn_request *r)
{
	size_t cap = d->cfg.org_max_results;
	struct rasn_org_hit *hits = malloc(cap * sizeof(*hits));
	if (!hits) {
		rasn_reply_error(b, q, qlen, "org", "out of memory");
		return;
	}
	size_t total = rasn_table_org_search(d->table, r->arg, r->arg_len, hits, cap);
	rasn_reply_org(b, q, qlen, hits, total < cap ? total : cap, total, source_table);
	free(hits);
}

static void do_org(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		   const char *q, size_t qlen, int src)
{
	if (src != RASND_SRC_TABLE) {
		struct rasnd_slot *slot = async_slot(s, q, qlen, "org");
		if (slot && !rasnd_source(src)->org) { /* `asked` says it does: a bug of the source */
			rasn_reply_error(&slot->reply, q, qlen, "org", "the source does not answer this");
			rasnd_slot_complete(slot);
		} else if (slot) {
			rasnd_source(src)->org(s->d, slot, r->arg, r->arg_len);
		}
		return;
	}
	table_org_answer(s->d, b, q, qlen, r);
}

static void do_stats(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		     const char *q, size_t qlen)
{
	if (r->arg_len == 10 && strncasecmp(r->arg, "prometheus", 10) == 0) {
		/* text, many lines: the one reply that is not a JSON line; "# EOF" ends it */
		s->d->stats_prometheus(s->d, b);
		return;
	}
	if (r->arg_len && !(r->arg_len == 4 && strncasecmp(r->arg, "json", 4) == 0)) {
		rasn_reply_error(b, q, qlen, "stats", "unknown stats format (json, prometheus)");
		return;
	}
	rasn_reply_open(b, q, qlen, "stats", "ok");
	rasn_buf_lit(b, ",\"stats\":");
	s->d->stats_json(s->d, b);
	rasn_reply_close(b, NULL);
}

static void do_domain(struct rasnd_session *s, struct rasn_buf *b, const struct rasn_request *r,
		      const char *q, size_t qlen)
{
	struct rasnd *d = s->d;
	if (!d->dns || !d->up_dns) {
		rasn_reply_error(b, q, qlen, "domain", "domain lookups need a DNS resolver; none could be set up (see [dns] servers)");
		return;
	}
	struct rasnd_slot *slot = async_slot(s, q, qlen, "domain");
	if (slot)
		rasnd_domain_lookup(d, slot, r->arg, r->arg_len, is_source(r, "table"));
}

/* ---- Team Cymru bulk block ---- */

void rasnd_cymru_ip_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, const struct rasn_addr *a, int *header)
{
	d->stats.queries[RASN_Q_IP]++;
	if (!*header) {
		rasn_cymru_ip_header(b, opts);
		*header = 1;
	}
	struct rasn_match m;
	int found = 0;
	if (rasn_special_lookup(a))
		d->stats.special++; /* Team Cymru's row for these: all NA */
	else
		found = rasnd_table_lookup(d, a, &m);
	rasn_cymru_ip_rows(b, opts, a, found ? &m : NULL);
}

void rasnd_cymru_as_answer(struct rasnd *d, struct rasn_buf *b, unsigned opts, uint32_t asn, int *header)
{
	d->stats.queries[RASN_Q_AS]++;
	if (!*header) {
		rasn_cymru_as_header(b, opts);
		*header = 1;
	}
	struct rasn_as_info info;
	int found = rasn_table_as(d->table, asn, &info);
	rasn_cymru_as_row(b, opts, asn, found ? &info : NULL);
}

/* The option words of a bulk block, as the whois listener takes them (lib/whoisq.c). */
static int bulk_option(struct rasnd_session *s, const char *w, size_t n)
{
	return rasn_whoisq_option(w, n, &s->bulk_opts);
}

static void bulk_line(struct rasnd_session *s, const char *line, size_t len)
{
	struct rasn_buf *b = rasnd_session_outbuf(s);
	while (len && (line[0] == ' ' || line[0] == '\t'))
		line++, len--;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return; /* Cymru skips blank lines in a block */
	if (bulk_option(s, line, len))
		return;
	s->bulk_line++;
	struct rasn_request r;
	rasn_proto_parse(line, len, &r);
	s->d->stats.bulk_rows++;
	if (r.type == RASN_Q_END) {
		s->in_bulk = 0;
		return;
	}
	if (r.type == RASN_Q_BEGIN)
		return;
	if (r.type == RASN_Q_IP) {
		rasnd_cymru_ip_answer(s->d, b, s->bulk_opts, &r.addr, &s->bulk_ip_header);
		return;
	}
	if (r.type == RASN_Q_AS) {
		rasnd_cymru_as_answer(s->d, b, s->bulk_opts, r.asn, &s->bulk_as_header);
		return;
	}
	s->d->stats.queries[RASN_Q_INVALID]++;
	rasn_buf_printf(b, "Error: no ASN or IP match on line %zu.\n", s->bulk_line);
}

static void do_begin(struct rasnd_session *s, struct rasn_buf *b)
{
	rasn_cymru_bulk_banner(b, time(NULL));
	s->in_bulk = 1;
	s->bulk_opts = 0;
	s->bulk_ip_header = s->bulk_as_header = 0;
	s->bulk_line = 0;
}

static void dispatch(struct rasnd_session *s, const char *line, size_t len, struct rasn_request *rq);

void rasnd_query_line(struct rasnd_session *s, const char *line, size_t len)
{
	s->d->stats.lines++;
	if (s->in_bulk) {
		bulk_line(s, line, len);
		return;
	}
	struct rasn_request r;
	rasn_proto_parse(line, len, &r);
	dispatch(s, line, len, &r);
}

/* Address lines waiting for one batched lookup; answered in order before anything else. */
struct pending_ips {
	struct rasn_addr addr[RASN_LOOKUP_BATCH];
	const char *line[RASN_LOOKUP_BATCH];
	size_t len[RASN_LOOKUP_BATCH];
	int explicit_table[RASN_LOOKUP_BATCH];  /* "@table": no other source */
	size_t n;
};

static void flush_ips(struct rasnd_session *s, struct pending_ips *p)
{
	if (!p->n)
		return;
	struct rasn_match m[RASN_LOOKUP_BATCH];
	int found[RASN_LOOKUP_BATCH];
	rasn_table_lookup_batch(s->d->table, p->addr, p->n, m, found);
	/* what the order does with an address, once per batch (the config is the same for all) */
	int alone = rasnd_order_table_alone(&s->d->cfg, 0), more = rasnd_order_next(&s->d->cfg, 0) >= 0;
	for (size_t k = 0; k < p->n; k++) {
		/* in the batch all the same (a special line must not cut it short); its table
		 * answer is not used */
		if (rasnd_order_special(s->d, rasnd_session_outbuf(s), &p->addr[k], p->line[k], p->len[k]))
			continue;
		if (found[k])
			s->d->stats.table_hits++;
		else
			s->d->stats.table_misses++;
		if (!p->explicit_table[k] && !alone) {
			/* Cymru enriches what the table answers and answers what it lacks */
			ask_order_ip(s, &p->addr[k], p->line[k], p->len[k], 0);
			continue;
		}
		if (!p->explicit_table[k] && !found[k] && more) {
			ask_order_ip(s, &p->addr[k], p->line[k], p->len[k], 1);
			continue;
		}
		/* fetched per reply: a slot opened above takes what follows it */
		struct rasn_buf *b = rasnd_session_outbuf(s);
		size_t before = b->len;
		rasn_reply_ip(b, p->line[k], p->len[k], &p->addr[k], found[k] ? &m[k] : NULL, source_table);
		s->pass_out += b->len - before;
	}
	p->n = 0;
}

size_t rasnd_query_lines(struct rasnd_session *s, const struct rasnd_line *ln, size_t n)
{
	struct pending_ips p;
	p.n = 0;
	for (size_t i = 0; i < n; i++) {
		if (ln[i].len > RASN_LINE_MAX) {
			flush_ips(s, &p);
			rasnd_query_long_line(s, ln[i].p, ln[i].len);
			continue;
		}
		if (s->in_bulk) {
			flush_ips(s, &p);
			rasnd_query_line(s, ln[i].p, ln[i].len);
			continue;
		}
		struct rasn_request r;
		rasn_proto_parse(ln[i].p, ln[i].len, &r);
		s->d->stats.lines++;
		if (r.type == RASN_Q_IP && (is_source(&r, "table") ||
					    (!r.source && s->d->cfg.order_src[0] == RASND_SRC_TABLE))) {
			s->d->stats.queries[RASN_Q_IP]++;
			p.explicit_table[p.n] = r.source != NULL;
			p.addr[p.n] = r.addr;
			p.line[p.n] = ln[i].p;
			p.len[p.n] = ln[i].len;
			if (++p.n == RASN_LOOKUP_BATCH) {
				flush_ips(s, &p);
				if (rasnd_session_pass_over(s))
					return i + 1;
			}
			continue;
		}
		flush_ips(s, &p);
		/* what the reply adds counts against the pass's bound, by its size (a big AS's
		 * prefixes, stats prometheus); an answer that comes later counts when it comes */
		struct rasn_buf *b = rasnd_session_outbuf(s);
		size_t before = b->len;
		dispatch(s, ln[i].p, ln[i].len, &r);
		if (rasnd_session_outbuf(s) == b && b->len > before)
			s->pass_out += b->len - before;
		if (rasnd_session_stalled(s) || s->closed || rasnd_session_pass_over(s))
			return i + 1; /* a barrier (reload), the pending bound, or the pass's bound */
	}
	flush_ips(s, &p);
	return n;
}

static void dispatch(struct rasnd_session *s, const char *line, size_t len, struct rasn_request *rq)
{
	struct rasnd *d = s->d;
	struct rasn_request r = *rq;
	d->stats.queries[r.type]++;
	struct rasn_buf *b = rasnd_session_outbuf(s);
	int src = RASND_SRC_TABLE;
	if (r.type != RASN_Q_INVALID && !(src = check_source(s, &r, line, len)))
		return;
	switch (r.type) {
	case RASN_Q_IP:
		do_ip(s, b, &r, line, len, src);
		break;
	case RASN_Q_AS:
		do_as(s, b, &r, line, len, 0, src);
		break;
	case RASN_Q_PREFIXES:
		do_as(s, b, &r, line, len, 1, src);
		break;
	case RASN_Q_ORG:
		do_org(s, b, &r, line, len, src);
		break;
	case RASN_Q_DOMAIN:
		do_domain(s, b, &r, line, len);
		break;
	case RASN_Q_PING:
		rasn_reply_open(b, line, len, "ping", "ok");
		rasn_buf_lit(b, ",\"version\":\"" RASN_VERSION "\"");
		rasn_reply_close(b, NULL);
		break;
	case RASN_Q_HELP:
		rasn_reply_open(b, line, len, "help", "ok");
		rasn_buf_lit(b, ",\"help\":");
		{
			struct rasn_buf h;
			rasn_buf_init(&h);
			rasn_buf_add(&h, help_text, sizeof(help_text) - 1);
			help_sources(&h);
			if (h.oom)
				rasn_buf_json_str(b, help_text, sizeof(help_text) - 1);
			else
				rasn_buf_json_str(b, h.data, h.len);
			rasn_buf_free(&h);
		}
		rasn_reply_close(b, NULL);
		break;
	case RASN_Q_STATS:
		do_stats(s, b, &r, line, len);
		break;
	case RASN_Q_RELOAD: {
		struct rasnd_slot *slot = rasnd_session_slot(s, line, len, 1);
		if (!slot) {
			rasn_reply_error(b, line, len, "reload", "out of memory");
			break;
		}
		rasnd_reload_start(d, slot);
		break;
	}
	case RASN_Q_REFRESH: {
		struct rasnd_slot *slot = rasnd_session_slot(s, line, len, 1);
		if (!slot) {
			rasn_reply_error(b, line, len, "refresh", "out of memory");
			break;
		}
		rasnd_refresh_start(d, slot);
		break;
	}
	case RASN_Q_BEGIN:
		do_begin(s, b);
		break;
	case RASN_Q_END:
		rasn_reply_error(b, line, len, "end", "end without begin");
		break;
	case RASN_Q_INVALID:
		rasn_reply_error(b, line, len, "invalid", r.error ? r.error : "bad request");
		break;
	}
}

void rasnd_query_long_line(struct rasnd_session *s, const char *line, size_t len)
{
	char msg[96];
	s->d->stats.lines++;
	s->d->stats.long_lines++;
	s->d->stats.queries[RASN_Q_INVALID]++;
	snprintf(msg, sizeof(msg), "line too long (more than %d bytes)", RASN_LINE_MAX);
	rasn_reply_error(rasnd_session_outbuf(s), line, len < 64 ? len : 64, "invalid", msg);
}

const struct rasnd_proto rasnd_query_proto = {
	rasnd_query_lines,
	rasnd_query_line,
	rasnd_query_long_line,
};

/* ---- answers outside any session (the HTTP API) ---- */

int rasnd_query_bad_request(const char *line, size_t len)
{
	struct rasn_request r;
	char msg[320];
	rasn_proto_parse(line, len, &r);
	return r.type == RASN_Q_INVALID || !source_of(&r, msg, sizeof(msg));
}

void rasnd_query_answer(struct rasnd *d, struct rasnd_slot *slot, const char *line, size_t len)
{
	struct rasn_request r;
	struct rasn_buf *b = &slot->reply;
	char msg[320];
	rasn_proto_parse(line, len, &r);
	d->stats.queries[r.type]++;
	slot->qlen = len < sizeof(slot->query) ? len : sizeof(slot->query) - 1;
	memcpy(slot->query, line, slot->qlen);
	int src = r.type == RASN_Q_INVALID ? 0 : source_of(&r, msg, sizeof(msg));
	if (!src) {
		rasn_reply_error(b, line, len, rasn_qtype_name(r.type),
				 r.type == RASN_Q_INVALID ? (r.error ? r.error : "bad request") : msg);
		rasnd_slot_complete(slot);
		return;
	}
	const struct rasnd_source *one = src != RASND_SRC_TABLE ? rasnd_source(src) : NULL;
	switch (r.type) {
	case RASN_Q_IP:
		if (rasnd_order_special(d, b, &r.addr, line, len)) {
			rasnd_slot_complete(slot);
		} else if (one) {
			rasnd_source_ip(d, slot, src, &r.addr);
		} else if (r.source) { /* @table */
			rasnd_table_ip_reply(d, slot, &r.addr);
			rasnd_slot_complete(slot);
		} else {
			rasnd_order_ip(d, slot, &r.addr, 0);
		}
		return;
	case RASN_Q_AS:
		if (one)
			rasnd_source_as(d, slot, src, r.asn);
		else if (!r.source)
			rasnd_order_as(d, slot, r.asn, 0);
		else
			break;
		return;
	case RASN_Q_PREFIXES:
		if (one && one->prefixes) {
			one->prefixes(d, slot, r.asn);
			return;
		}
		break;
	case RASN_Q_ORG:
		if (one && one->org) {
			one->org(d, slot, r.arg, r.arg_len);
			return;
		}
		table_org_answer(d, b, line, len, &r);
		rasnd_slot_complete(slot);
		return;
	case RASN_Q_DOMAIN:
		if (!d->dns || !d->up_dns) {
			rasn_reply_error(b, line, len, "domain", "domain lookups need a DNS resolver; none could be set up (see [dns] servers)");
			rasnd_slot_complete(slot);
			return;
		}
		rasnd_domain_lookup(d, slot, r.arg, r.arg_len, r.source != NULL);
		return;
	default:
		rasn_reply_error(b, line, len, rasn_qtype_name(r.type), "not answered here");
		rasnd_slot_complete(slot);
		return;
	}
	table_as_answer(d, b, line, len, r.asn, r.type == RASN_Q_PREFIXES);
	rasnd_slot_complete(slot);
}
