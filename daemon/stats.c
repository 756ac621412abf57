/* The counters, one tree, two spellings: `stats` (JSON, grouped) and `stats prometheus` (the
 * Prometheus text format), the second generated from the first (metrics_prom.c), so that every
 * number `stats` shows is in both. collect() lists the flat counters with their HELP texts;
 * the nested parts (per file, per resolver, per upstream and endpoint, per origin) come from
 * their modules and are described in `nested` below. */
#include <stdio.h>
#include <string.h>

#include "build_config.h"
#include "lifecycle.h"
#include "rasnd.h"
#include "dns.h"
#include "cache.h"
#include "rediscache.h"
#include "upstream.h"
#include "http.h"
#include "log.h"
#include "dnsserver.h"
#include "metrics.h"
#include "runner.h"
#include "clock.h"
#include "refresh.h"
#include "stats.h"
#include "httpapi.h"
#include "whois.h"

struct metric {
	const char *group;  /* JSON object; NULL: top level */
	const char *key;
	const char *label;  /* Prometheus label name for a family (its JSON key is the value) */
	int counter;        /* counter (monotonic) or gauge */
	double value;
	const char *help;
	char own_key[48], own_help[128]; /* key and help of counters named after a source */
};

#define MAX_METRICS 320

/* A counter named after a source: "NAME_what", its HELP "pre NAME post". */
static size_t per_source(struct metric *m, size_t n, const char *name, const char *what, uint64_t v,
			 const char *pre, const char *post)
{
	m[n] = (struct metric){ "upstream", m[n].own_key, NULL, 1, (double)v, m[n].own_help };
	snprintf(m[n].own_key, sizeof(m[n].own_key), "%s_%s", name, what);
	snprintf(m[n].own_help, sizeof(m[n].own_help), "%s%s%s", pre, name, post);
	return n + 1;
}

/* 1 when src is in [lookup] order now (with auto: after a positive probe). */
static int in_order(const struct rasnd_config *c, int src)
{
	for (int i = 0; i < c->order_n; i++)
		if (c->order_src[i] == src)
			return 1;
	return 0;
}

static size_t collect(struct rasnd *d, struct metric *m)
{
	const struct rasnd_stats *st = &d->stats;
	struct rasn_table_info ti;
	rasn_table_info(d->table, &ti);
	size_t n = 0;
/* a TCP listener's counters (daemon/netlisten.h) */
#define NET_STATS(g, st, who)                                                                              \
	do {                                                                                               \
		G(g, "connections", st.current, who " connections open now.");                            \
		C(g, "accepted", st.accepted, who " connections let in.");                                 \
		C(g, "refused_allow", st.refused_allow, who " clients refused: address not in allow.");   \
		C(g, "refused_clients", st.refused_clients, who " clients refused: max_clients reached."); \
		C(g, "refused_conns", st.refused_conns, who " clients refused: max_conns_per_addr reached."); \
		C(g, "refused_rate", st.refused_rate, who " requests refused: the address's rate limit."); \
		C(g, "refused_busy", st.refused_busy, who " requests refused: too many answers pending."); \
		C(g, "requests", st.requests, who " requests answered.");                                  \
		C(g, "lines", st.lines, who " bulk lines answered.");                                      \
		C(g, "timeouts", st.timeouts, who " connections closed by the timeout.");                  \
		C(g, "too_long", st.too_long, who " lines over the length limit.");                        \
		G(g, "queued_max_bytes", st.queued_max, who ": most bytes of answers held for one client."); \
	} while (0)
#define C(g, k, v, h) m[n++] = (struct metric){ g, k, NULL, 1, (double)(v), h }
#define G(g, k, v, h) m[n++] = (struct metric){ g, k, NULL, 0, (double)(v), h }
	G(NULL, "uptime_seconds", rasnd_uptime(d), "Seconds since rasnd started.");
	G("connections", "current", d->n_sessions, "Clients connected now.");
	G("connections", "peak", st->conns_peak, "Most clients connected at once since start-up.");
	C("connections", "accepted", st->conns_accepted, "Client connections accepted.");
	C("connections", "closed", st->conns_closed, "Client connections closed.");
	C("connections", "rejected", st->conns_rejected, "Connections refused past max_clients.");
	C("connections", "evicted", st->conns_evicted, "Idle clients closed to admit a new one at max_clients.");
	C("connections", "idle_closed", st->conns_idle_closed, "Idle clients closed after [server] idle_timeout.");
	C("connections", "pass_yields", st->pass_yields, "Times a client's lines were left for a later pass (the per-pass budget).");
	C("connections", "write_errors", st->conns_write_errors, "Clients gone while replies were being written.");
	C("connections", "read_pauses", st->read_pauses, "Times a client was not read because its unread replies passed the high-water mark.");
	C("connections", "accept_pauses", st->accept_pauses, "Times accepting paused for lack of file descriptors.");
	for (int t = RASN_Q_INVALID; t <= RASN_Q_END; t++)
		m[n++] = (struct metric){ "queries", rasn_qtype_name((enum rasn_qtype)t), "type", 1,
					  (double)st->queries[t], "Requests by type (invalid: bad requests)." };
	C(NULL, "lines", st->lines, "Request lines read.");
	C(NULL, "long_lines", st->long_lines, "Request lines over the length limit.");
	C(NULL, "bulk_rows", st->bulk_rows, "Lines inside Team Cymru bulk blocks.");
	C(NULL, "bytes_in", st->bytes_in, "Bytes read from clients.");
	C(NULL, "bytes_out", st->bytes_out, "Bytes written to clients.");
	G("lookup", "auto", d->cfg.order_auto, "1 when [lookup] order is auto.");
	/* each source but the table, from the registry (daemon/runner.c) */
	for (size_t i = RASND_SRC_TABLE + 1; i <= rasnd_sources_n(); i++) {
		const struct rasnd_source *src = rasnd_source((int)i);
		m[n] = (struct metric){ "lookup", src->name, NULL, 0, in_order(&d->cfg, (int)i), m[n].own_help };
		snprintf(m[n].own_help, sizeof(m[n].own_help), "1 when %s is in the lookup order now.", src->name);
		n++;
	}
	C(NULL, "special_addresses", st->special, "Address lookups answered not_found as special-purpose (private-use, loopback, ...): never sent to a source.");
	C("table", "hits", st->table_hits, "Lookups answered from the table.");
	C("table", "misses", st->table_misses, "Lookups the table had no answer for.");
	G("table", "ranges_v4", ti.ranges_v4, "IPv4 ranges in the table.");
	G("table", "ranges_v6", ti.ranges_v6, "IPv6 ranges in the table.");
	G("table", "rows", ti.rows, "Dataset rows the table was built from.");
	G("table", "overlapping_rows", ti.overlaps, "Rows that overlapped another (resolved narrowest first).");
	G("table", "asns", ti.asns, "AS numbers in the table.");
	G("table", "names", ti.names, "Distinct AS names in the table.");
	G("table", "bytes", ti.bytes, "Memory held by the table.");
	G("table", "loaded_at", d->table_loaded_at, "Unix time the table was loaded.");
	G("table", "load_seconds", d->last_load_ms / 1000.0, "Seconds the last load took.");
	G("table", "from_snapshot", ti.from_snapshot, "1 when the table was read from its snapshot image, 0 when parsed from the files.");
	C("reloads", "ok", st->reloads_ok, "Reloads that swapped in a new table.");
	C("reloads", "failed", st->reloads_failed, "Reloads that failed (the old table stayed).");
	G("reloads", "running", d->reload.running, "1 while a reload is building a table.");
	G("dns", "in_flight", d->dns ? rasnd_dns_in_flight(d->dns) : 0, "DNS queries waiting for an answer.");
	C("dns", "domain_errors", st->domain_errors, "Domain lookups answered with an error.");
	/* per source with an upstream, from the registry (daemon/runner.c) */
	for (size_t i = 1; i <= rasnd_sources_n(); i++) {
		const struct rasnd_source *src = rasnd_source((int)i);
		if (!src->upstream)
			continue;
		struct rasnd_upstream *up = src->upstream(d);
		struct rasnd_upstream_counters uc;
		memset(&uc, 0, sizeof(uc));
		if (up)
			rasnd_upstream_counters(up, &uc);
		const char *nm = src->name;
		m[n] = (struct metric){ "upstream", src->name, NULL, 1, (double)(src->sent ? src->sent(d) : 0), src->sent_help };
		n++;
		n = per_source(m, n, nm, "calls", uc.calls, "Calls the ", " upstream made (one per distinct key flushed).");
		n = per_source(m, n, nm, "coalesced", uc.coalesced, "Lookups that joined a ", " call for the same key.");
		n = per_source(m, n, nm, "batches", uc.batches, "Batches the ", " upstream flushed.");
		n = per_source(m, n, nm, "retries", uc.retries, "Tries of ", " repeated after a failure.");
		n = per_source(m, n, nm, "give_ups", uc.give_ups, "Calls of ", " given up after retrying.");
		n = per_source(m, n, nm, "busy", uc.busy, "Lookups answered busy: the ", " queue was full.");
		n = per_source(m, n, nm, "unavailable", uc.unavailable, "Lookups answered at once: every ", " circuit open.");
	}
	struct rasnd_http_stats hs;
	memset(&hs, 0, sizeof(hs));
	if (d->httpc)
		rasnd_http_stats(d->httpc, &hs);
	C("http", "conns_opened", hs.conns_opened, "HTTPS connections opened.");
	C("http", "conns_reused", hs.conns_reused, "Requests sent on a connection that had carried one before.");
	C("http", "closed_idle", hs.closed_idle, "Connections closed after the idle timeout.");
	C("http", "closed_ping", hs.closed_ping, "Connections closed for an unanswered HTTP/2 PING.");
	C("http", "closed_peer", hs.closed_peer, "Connections the server closed (EOF, GOAWAY).");
	C("http", "closed_error", hs.closed_error, "Connections closed on an error.");
	C("http", "closed_oneshot", hs.closed_oneshot, "Connections closed after one request ([http] reuse = no).");
	C("http", "closed_shutdown", hs.closed_shutdown, "Connections closed at shutdown.");
	C("http", "tls_full", hs.tls_full, "Full TLS handshakes.");
	C("http", "tls_resumed", hs.tls_resumed, "TLS handshakes that resumed a cached session.");
	C("http", "tls_failed", hs.tls_failed, "TLS handshakes that failed (certificate refused, ...).");
	C("http", "h2_conns", hs.h2_conns, "Connections that negotiated HTTP/2.");
	C("http", "h1_conns", hs.h1_conns, "Connections that fell back to HTTP/1.1.");
	C("http", "requests", hs.requests, "HTTP requests started.");
	C("http", "responses", hs.responses, "HTTP responses received (any status).");
	C("http", "status_2xx", hs.status_2xx, "Responses with a 2xx status.");
	C("http", "status_3xx", hs.status_3xx, "Responses with a 3xx status (304 for refresh).");
	C("http", "status_4xx", hs.status_4xx, "Responses with a 4xx status.");
	C("http", "status_5xx", hs.status_5xx, "Responses with a 5xx status.");
	G("http", "streams_max", hs.streams_max, "Most requests one connection has carried.");
	G("http", "streams_mean", hs.conns_closed ? (double)hs.streams_total_closed / (double)hs.conns_closed : 0,
	  "Mean requests per connection, over closed connections.");
	C("http", "pings_sent", hs.pings_sent, "HTTP/2 PINGs sent on idle connections.");
	C("http", "pings_acked", hs.pings_acked, "HTTP/2 PING ACKs received.");
	C("http", "bytes_in", hs.bytes_in, "Bytes read from HTTPS servers (TLS records).");
	C("http", "bytes_out", hs.bytes_out, "Bytes written to HTTPS servers (TLS records).");
	G("http", "queued_max", hs.queued_max, "Most requests ever waiting for a free stream.");
	G("http", "conns_open", hs.conns_open, "HTTPS connections open now.");
	G("http", "conns_idle", hs.conns_idle, "Open connections with no request in flight.");
	G("http", "in_flight", hs.in_flight, "HTTP requests in flight now.");
	G("http", "queued", hs.queued, "HTTP requests waiting for a free stream now.");
	C("http", "errors_url", hs.errors[RASND_HTTP_EURL], "HTTP requests refused: not an https URL.");
	C("http", "errors_connect", hs.errors[RASND_HTTP_ECONNECT], "HTTP requests that could not connect.");
	C("http", "errors_timeout", hs.errors[RASND_HTTP_ETIMEOUT], "HTTP requests that timed out (connect, handshake or response).");
	C("http", "errors_tls", hs.errors[RASND_HTTP_ETLS], "HTTP requests whose TLS handshake failed (certificate refused, ...).");
	C("http", "errors_protocol", hs.errors[RASND_HTTP_EPROTO], "HTTP requests that hit a protocol error.");
	C("http", "errors_closed", hs.errors[RASND_HTTP_ECLOSED], "HTTP requests whose connection closed before the response ended.");
	C("http", "errors_too_big", hs.errors[RASND_HTTP_ETOOBIG], "HTTP responses over [http] max_body.");
	C("http", "errors_busy", hs.errors[RASND_HTTP_EBUSY], "HTTP requests refused: the origin's queue was full.");
	C("http", "errors_nomem", hs.errors[RASND_HTTP_ENOMEM], "HTTP requests that failed for lack of memory.");
	C("http", "errors_shutdown", hs.errors[RASND_HTTP_ESHUTDOWN], "HTTP requests cut short by shutdown.");
	struct rasn_cache_stats cs;
	memset(&cs, 0, sizeof(cs));
	if (d->cache)
		rasn_cache_stats(d->cache, &cs);
	struct rasnd_dnss_counters ds;
	rasnd_dnsserver_counters(d, &ds);
	G("dns_server", "listeners", ds.listeners, "DNS listeners ([dns_server] listen), each UDP and TCP.");
	C("dns_server", "queries_udp", ds.queries_udp, "DNS queries read over UDP.");
	C("dns_server", "queries_tcp", ds.queries_tcp, "DNS queries read over TCP.");
	C("dns_server", "answers", ds.answers, "DNS answers with data (NOERROR).");
	C("dns_server", "nodata", ds.nodata, "DNS answers NOERROR without data (NODATA).");
	C("dns_server", "nxdomain", ds.nxdomain, "DNS answers NXDOMAIN.");
	C("dns_server", "refused", ds.refused, "DNS queries REFUSED: outside the zones, another class, zone transfers.");
	C("dns_server", "formerr", ds.formerr, "DNS queries answered FORMERR.");
	C("dns_server", "notimp", ds.notimp, "DNS queries answered NOTIMP (opcode, meta types).");
	C("dns_server", "badvers", ds.badvers, "DNS queries with an EDNS version other than 0.");
	C("dns_server", "dropped", ds.dropped, "DNS packets not answered (responses, runts).");
	C("dns_server", "truncated", ds.truncated, "DNS answers cut to TC=1 (too big for the client's UDP size).");
	C("dns_server", "edns", ds.edns, "DNS queries with EDNS.");
	C("dns_server", "allow_refused", ds.allow_refused, "DNS queries REFUSED because the client is outside the listener's allow list.");
	C("dns_server", "rrl_dropped", ds.rrl_dropped, "DNS answers dropped by response rate limiting.");
	C("dns_server", "rrl_slipped", ds.rrl_slipped, "DNS answers sent truncated by response rate limiting (slip).");
	C("dns_server", "from_table", ds.from_table, "DNS records answered from the table.");
	C("dns_server", "from_cache", ds.from_cache, "DNS records answered from the cache of upstream answers.");
	C("dns_server", "udp_batches", ds.udp_batches, "recvmmsg calls that returned queries.");
	G("dns_server", "udp_batch_max", ds.udp_batch_max, "Most queries one recvmmsg call returned.");
	C("dns_server", "udp_send_errors", ds.udp_send_errors, "UDP answers lost to a full socket buffer or a send error.");
	C("dns_server", "tcp_accepted", ds.tcp_accepted, "DNS TCP connections accepted.");
	C("dns_server", "tcp_rejected", ds.tcp_rejected, "DNS TCP connections refused past tcp_max_clients.");
	C("dns_server", "tcp_idle_closed", ds.tcp_idle_closed, "DNS TCP connections closed after tcp_idle_timeout.");
	C("dns_server", "tcp_read_pauses", ds.tcp_read_pauses, "Times a DNS TCP client was not read because its unread answers passed 256 KiB.");
	G("dns_server", "tcp_current", ds.tcp_current, "DNS TCP connections open now.");
	C("dns_server", "bytes_in", ds.bytes_in, "Bytes of DNS queries read.");
	C("dns_server", "bytes_out", ds.bytes_out, "Bytes of DNS answers written.");
	C("cache", "answers", st->cache_hits, "Upstream answers given from the cache.");
	G("cache", "l1_entries", cs.l1_entries, "Entries in the memory cache.");
	C("cache", "l1_hits", cs.l1_hits, "Memory cache hits.");
	C("cache", "l1_misses", cs.l1_misses, "Memory cache misses.");
	C("cache", "l1_evictions", cs.l1_evictions, "Entries evicted from memory (LRU).");
	C("cache", "l1_expirations", cs.l1_expirations, "Entries expired in memory.");
	C("cache", "l2_hits", cs.l2_hits, "Disk cache (RocksDB) hits.");
	C("cache", "l2_misses", cs.l2_misses, "Disk cache misses.");
	C("cache", "l2_writes", cs.l2_writes, "Disk cache writes.");
	C("cache", "l2_errors", cs.l2_errors, "Disk cache errors.");
	C("cache", "l2_recoveries", cs.l2_recoveries, "Damaged disk caches moved aside.");
	G("cache", "l2_active", cs.l2_active, "1 while the disk cache is open.");
	struct rasnd_net_stats ws, as;
	rasnd_whois_stats(d, &ws);
	rasnd_api_stats(d, &as);
	NET_STATS("whois", ws, "whois");
	NET_STATS("http_api", as, "HTTP API");
	C("http_api", "status_200", as.status_200, "HTTP API responses 200 (bulk included).");
	C("http_api", "status_400", as.status_400, "HTTP API responses 400: bad input.");
	C("http_api", "status_403", as.status_403, "HTTP API responses 403: address not in allow.");
	C("http_api", "status_404", as.status_404, "HTTP API responses 404: not found, or no such endpoint.");
	C("http_api", "status_405", as.status_405, "HTTP API responses 405: wrong method.");
	C("http_api", "status_429", as.status_429, "HTTP API responses 429: rate or connection limit.");
	C("http_api", "status_503", as.status_503, "HTTP API responses 503: busy, or an upstream failed.");
#undef C
#undef G
	return n;
}

static void num(struct rasn_buf *b, double v)
{
	if (v == (double)(uint64_t)v && v < 1e18)
		rasn_buf_u64(b, (uint64_t)v);
	else
		rasn_buf_printf(b, "%.3f", v);
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* What a JSON group holds beyond its numbers, written just before it closes. */
static void group_extras(struct rasnd *d, struct rasn_buf *b, const char *group)
{
	if (same(group, "table")) {
		struct rasn_table_info ti;
		rasn_table_info(d->table, &ti);
		rasn_buf_lit(b, ",\"files\":[");
		for (size_t k = 0; k < ti.n_files; k++) {
			const struct rasn_table_file *tf = &ti.files[k];
			if (k)
				rasn_buf_addc(b, ',');
			rasn_buf_lit(b, "{\"path\":");
			rasn_buf_json_str(b, tf->path, strlen(tf->path));
			rasn_buf_printf(b, ",\"format\":\"%s\",\"rows\":%zu,\"bad_lines\":%zu,\"skipped\":%zu,\"io\":\"%s\"}",
					rasn_ds_format_name(tf->format), tf->rows, tf->bad, tf->skipped,
					tf->method == RASN_IO_URING ? "io_uring" : "read");
		}
		rasn_buf_addc(b, ']');
	} else if (same(group, "dns") && d->dns) {
		struct rasnd_dns_server_stats sv[16];
		size_t ns = rasnd_dns_stats(d->dns, sv, 16);
		rasn_buf_lit(b, ",\"servers\":[");
		for (size_t k = 0; k < ns && k < 16; k++)
			rasn_buf_printf(b, "%s{\"server\":\"%s\",\"sent\":%llu,\"answers\":%llu,\"nxdomain\":%llu,"
					"\"servfail\":%llu,\"timeouts\":%llu,\"errors\":%llu}", k ? "," : "", sv[k].addr,
					(unsigned long long)sv[k].sent, (unsigned long long)sv[k].answers,
					(unsigned long long)sv[k].nxdomain, (unsigned long long)sv[k].servfail,
					(unsigned long long)sv[k].timeouts, (unsigned long long)sv[k].errors);
		uint64_t ch[256];
		size_t nc = rasnd_dns_channel_sent(d->dns, ch, 256);
		rasn_buf_lit(b, "],\"channel_sent\":[");
		for (size_t k = 0; k < nc && k < 256; k++)
			rasn_buf_printf(b, "%s%llu", k ? "," : "", (unsigned long long)ch[k]);
		rasn_buf_lit(b, "],\"sockets\":");
		rasnd_dns_sockets_json(d->dns, b);
	} else if (same(group, "reloads")) {
		rasn_buf_lit(b, ",\"last_error\":");
		rasn_buf_json_str(b, d->last_reload_error, strlen(d->last_reload_error));
		rasn_buf_lit(b, ",\"refresh\":");
		rasnd_refresh_stats_json(d, b);
	} else if (same(group, "cache")) {
		rasnd_redis_stats_json(d->redis, b);
	} else if (same(group, "http") && d->httpc) {
		rasn_buf_lit(b, ",\"origins\":");
		rasnd_http_origins_json(d->httpc, b);
	}
}

void rasnd_stats_json(struct rasnd *d, struct rasn_buf *b)
{
	struct metric m[MAX_METRICS];
	size_t n = collect(d, m);
	const char *open = NULL;
	rasn_buf_lit(b, "{\"version\":\"" RASN_VERSION "\"");
	for (size_t i = 0; i < n; i++) {
		int first = 0;
		if (!same(m[i].group, open)) {
			if (open) {
				group_extras(d, b, open);
				rasn_buf_addc(b, '}');
			}
			if (m[i].group)
				rasn_buf_printf(b, ",\"%s\":{", m[i].group);
			open = m[i].group;
			first = open != NULL;
		}
		if (!first)
			rasn_buf_addc(b, ',');
		rasn_buf_printf(b, "\"%s\":", m[i].key);
		num(b, m[i].value);
	}
	if (open) {
		group_extras(d, b, open);
		rasn_buf_addc(b, '}');
	}
	/* per upstream: batches, coalescing, retries by cause, breakers and their transitions */
	rasn_buf_lit(b, ",\"upstreams\":{");
	size_t k = 0;
	for (size_t i = 1; i <= rasnd_sources_n() + 1; i++) {
		/* the sources' upstreams, then domain lookups' */
		const struct rasnd_source *src = i <= rasnd_sources_n() ? rasnd_source((int)i) : NULL;
		const struct rasnd_upstream *u = src ? (src->upstream ? src->upstream(d) : NULL) : d->up_dns;
		if (!u)
			continue;
		rasn_buf_printf(b, "%s\"%s\":", k++ ? "," : "", src ? src->name : "dns");
		rasnd_upstream_stats_json(u, b);
	}
	rasn_buf_lit(b, "}}");
}

/* What the walk in metrics_prom.c cannot tell from the JSON alone, for the parts of the tree
 * that collect() does not list (those are described from collect() itself): which objects
 * are maps and which arrays name their elements, the type and HELP of each number. A number
 * added to the tree without an entry here still appears, untyped; add its entry. */
static const char *const breaker_states[] = { "closed", "open", "half-open", NULL };

static const struct rasnd_prom_desc nested[] = {
	{ "version", RASND_PROM_GAUGE, "rasnd's version (in the label); always 1." },
	{ "table.files", RASND_PROM_LIST, NULL, NULL, { "path", "format", "io" } },
	{ "table.files[].rows", RASND_PROM_GAUGE, "Rows read from a dataset file." },
	{ "table.files[].bad_lines", RASND_PROM_GAUGE, "Malformed lines in a dataset file." },
	{ "table.files[].skipped", RASND_PROM_GAUGE, "Rows skipped on purpose (ASN 0) in a dataset file." },
	{ "reloads.last_error", RASND_PROM_SKIP },  /* a text for humans; reloads.failed counts */
	{ "reloads.refresh.urls", RASND_PROM_GAUGE, "Dataset files refreshed from a URL." },
	{ "reloads.refresh.every_seconds", RASND_PROM_GAUGE, "Seconds between dataset refreshes (0: on request only)." },
	{ "reloads.refresh.running", RASND_PROM_GAUGE, "1 while a dataset refresh runs." },
	{ "reloads.refresh.runs", RASND_PROM_COUNTER, "Dataset refreshes run." },
	{ "reloads.refresh.not_modified", RASND_PROM_COUNTER, "Refresh downloads answered 304 Not Modified." },
	{ "reloads.refresh.downloaded", RASND_PROM_COUNTER, "Refresh downloads that brought a new file." },
	{ "reloads.refresh.download_errors", RASND_PROM_COUNTER, "Refresh downloads that failed." },
	{ "reloads.refresh.swapped", RASND_PROM_COUNTER, "Refreshes whose files were swapped in." },
	{ "reloads.refresh.rejected", RASND_PROM_COUNTER, "Refreshes whose files did not load (the table stayed)." },
	{ "reloads.refresh.last_run_at", RASND_PROM_GAUGE, "Unix time the last refresh ran (0: never)." },
	{ "reloads.refresh.last_ok_at", RASND_PROM_GAUGE, "Unix time of the last refresh that succeeded (0: never)." },
	{ "reloads.refresh.last_error", RASND_PROM_SKIP },
	{ "dns.servers", RASND_PROM_LIST, NULL, NULL, { "server" } },
	{ "dns.servers[].sent", RASND_PROM_COUNTER, "DNS queries sent to a resolver." },
	{ "dns.servers[].answers", RASND_PROM_COUNTER, "DNS answers from a resolver." },
	{ "dns.servers[].nxdomain", RASND_PROM_COUNTER, "NXDOMAIN answers from a resolver." },
	{ "dns.servers[].servfail", RASND_PROM_COUNTER, "SERVFAIL answers from a resolver." },
	{ "dns.servers[].timeouts", RASND_PROM_COUNTER, "DNS queries to a resolver that timed out." },
	{ "dns.servers[].errors", RASND_PROM_COUNTER, "DNS queries to a resolver that failed otherwise." },
	{ "dns.channel_sent", RASND_PROM_LIST, NULL, "channel" },
	{ "dns.channel_sent[]", RASND_PROM_COUNTER, "DNS queries sent per c-ares channel." },
	/* the resolver sockets open now, as the kernel reports their options */
	{ "dns.sockets", RASND_PROM_LIST, NULL, "socket" },
	{ "dns.sockets[].proto", RASND_PROM_GAUGE, "An open resolver socket (protocol in the label)." },
	{ "dns.sockets[].sndbuf", RASND_PROM_GAUGE, "SO_SNDBUF of an open resolver socket." },
	{ "dns.sockets[].rcvbuf", RASND_PROM_GAUGE, "SO_RCVBUF of an open resolver socket." },
	{ "dns.sockets[].nodelay", RASND_PROM_GAUGE, "TCP_NODELAY of an open resolver socket." },
	{ "dns.sockets[].keepalive", RASND_PROM_GAUGE, "SO_KEEPALIVE of an open resolver socket." },
	{ "dns.sockets[].keepidle", RASND_PROM_GAUGE, "TCP_KEEPIDLE of an open resolver socket." },
	{ "dns.sockets[].keepintvl", RASND_PROM_GAUGE, "TCP_KEEPINTVL of an open resolver socket." },
	{ "dns.sockets[].keepcnt", RASND_PROM_GAUGE, "TCP_KEEPCNT of an open resolver socket." },
	/* the shared level (daemon/rediscache.c), when [cache] redis is set */
	{ "cache.redis.state", RASND_PROM_ENUM, "Circuit breaker state of the shared cache level (Redis).", "state",
	  .values = breaker_states },
	{ "cache.redis.connected", RASND_PROM_GAUGE, "1 while connected to Redis." },
	{ "cache.redis.lookups", RASND_PROM_COUNTER, "Lookups that missed memory and disk and were for Redis." },
	{ "cache.redis.hits", RASND_PROM_COUNTER, "Lookups Redis answered with a usable entry." },
	{ "cache.redis.misses", RASND_PROM_COUNTER, "Lookups Redis answered with nothing usable." },
	{ "cache.redis.skipped", RASND_PROM_COUNTER, "Lookups Redis did not answer: circuit open, error or timeout." },
	{ "cache.redis.errors", RASND_PROM_COUNTER, "Redis round trips that failed (timeouts included)." },
	{ "cache.redis.timeouts", RASND_PROM_COUNTER, "Redis round trips that took longer than redis_timeout." },
	{ "cache.redis.garbage", RASND_PROM_COUNTER, "Values from Redis that did not decode (ignored)." },
	{ "cache.redis.version_mismatch", RASND_PROM_COUNTER, "Values from Redis of another format version (ignored)." },
	{ "cache.redis.rounds", RASND_PROM_COUNTER, "MGET round trips sent to Redis." },
	{ "cache.redis.round_keys", RASND_PROM_COUNTER, "Keys asked in MGET round trips." },
	{ "cache.redis.rounds_answered", RASND_PROM_COUNTER, "MGET round trips Redis answered." },
	{ "cache.redis.round_seconds", RASND_PROM_COUNTER, "Seconds spent in MGET round trips Redis answered (over rounds_answered: the mean)." },
	{ "cache.redis.round_seconds_max", RASND_PROM_GAUGE, "Longest MGET round trip Redis answered, in seconds." },
	{ "cache.redis.writes", RASND_PROM_COUNTER, "Entries written through to Redis." },
	{ "cache.redis.write_errors", RASND_PROM_COUNTER, "Writes to Redis that failed." },
	{ "cache.redis.writes_dropped", RASND_PROM_COUNTER, "Writes not sent: circuit not closed or no connection." },
	{ "cache.redis.connects", RASND_PROM_COUNTER, "Connections made to Redis." },
	{ "cache.redis.auth_failures", RASND_PROM_COUNTER, "Times Redis refused the password." },
	{ "cache.redis.opened", RASND_PROM_COUNTER, "Times the Redis circuit opened." },
	{ "http.origins", RASND_PROM_LIST, NULL, NULL, { "origin" } },
	{ "http.origins[].open", RASND_PROM_GAUGE, "HTTPS connections open to an origin." },
	{ "http.origins[].idle", RASND_PROM_GAUGE, "Idle HTTPS connections to an origin." },
	{ "http.origins[].in_flight", RASND_PROM_GAUGE, "Requests in flight to an origin." },
	{ "http.origins[].queued", RASND_PROM_GAUGE, "Requests waiting for a free stream to an origin." },
	{ "http.origins[].max_streams", RASND_PROM_GAUGE, "Concurrent streams an origin's server allows per connection." },
	{ "upstreams", RASND_PROM_MAP, NULL, "upstream" },
	{ "upstreams.*.submitted", RASND_PROM_COUNTER, "Lookups submitted to an upstream." },
	{ "upstreams.*.calls", RASND_PROM_COUNTER, "Upstream calls made (one per distinct key flushed)." },
	{ "upstreams.*.tries", RASND_PROM_COUNTER, "Upstream tries (first tries and retries)." },
	{ "upstreams.*.retries", RASND_PROM_COUNTER, "Upstream tries repeated after a failure." },
	{ "upstreams.*.give_ups", RASND_PROM_COUNTER, "Upstream calls given up after retrying." },
	{ "upstreams.*.answers", RASND_PROM_COUNTER, "Upstream calls that ended with an answer." },
	{ "upstreams.*.failures", RASND_PROM_COUNTER, "Upstream calls that ended in failure." },
	{ "upstreams.*.busy", RASND_PROM_COUNTER, "Lookups answered busy: the upstream's queue was full." },
	{ "upstreams.*.unavailable", RASND_PROM_COUNTER, "Lookups answered at once: every circuit of the upstream open." },
	{ "upstreams.*.coalesced", RASND_PROM_COUNTER, "Lookups that joined a call for the same key." },
	{ "upstreams.*.batches", RASND_PROM_COUNTER, "Batches flushed." },
	{ "upstreams.*.batched_keys", RASND_PROM_COUNTER, "Keys flushed in batches." },
	{ "upstreams.*.mean_batch", RASND_PROM_GAUGE, "Mean keys per batch." },
	{ "upstreams.*.queued", RASND_PROM_GAUGE, "Keys queued for the next batch now." },
	{ "upstreams.*.in_flight", RASND_PROM_GAUGE, "Keys in flight now." },
	{ "upstreams.*.waiters", RASND_PROM_GAUGE, "Lookups waiting on queued or in-flight keys now." },
	{ "upstreams.*.batch_hist", RASND_PROM_HIST_POW2, "Keys per flushed batch.", .sum = "batched_keys" },
	{ "upstreams.*.retries_by", RASND_PROM_MAP, NULL, "reason" },
	{ "upstreams.*.retries_by.*", RASND_PROM_COUNTER, "Upstream retries by the failure that caused them." },
	{ "upstreams.*.endpoints", RASND_PROM_LIST, NULL, NULL, { "name=endpoint" } },
	{ "upstreams.*.endpoints[].state", RASND_PROM_ENUM, "Circuit breaker state of an endpoint (1 for the current one).",
	  "state", .values = breaker_states },
	{ "upstreams.*.endpoints[].open_remaining_seconds", RASND_PROM_GAUGE, "Seconds an open circuit stays open." },
	{ "upstreams.*.endpoints[].allowed", RASND_PROM_COUNTER, "Calls the endpoint's breaker let through." },
	{ "upstreams.*.endpoints[].rejected", RASND_PROM_COUNTER, "Calls the endpoint's breaker refused." },
	{ "upstreams.*.endpoints[].successes", RASND_PROM_COUNTER, "Successes reported to the endpoint's breaker." },
	{ "upstreams.*.endpoints[].failures", RASND_PROM_COUNTER, "Failures reported to the endpoint's breaker." },
	{ "upstreams.*.endpoints[].late_results", RASND_PROM_COUNTER, "Results reported while the circuit was open (ignored)." },
	{ "upstreams.*.endpoints[].opened", RASND_PROM_COUNTER, "Times the endpoint's circuit opened." },
	{ "upstreams.*.endpoints[].transitions_total", RASND_PROM_COUNTER, "Breaker state changes of the endpoint." },
	/* a log of the last few changes with their times, for people; transitions_total counts them */
	{ "upstreams.*.endpoints[].transitions", RASND_PROM_SKIP },
};

/* collect()'s list as descriptions: "group.key" (or "key"); a labelled family is a map. */
static size_t flat_descs(const struct metric *m, size_t n, struct rasnd_prom_desc *out, char (*paths)[64])
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		enum rasnd_prom_kind kind = m[i].counter ? RASND_PROM_COUNTER : RASND_PROM_GAUGE;
		if (m[i].label) {
			if (i && m[i - 1].label && same(m[i - 1].group, m[i].group))
				continue; /* one map per family */
			out[k++] = (struct rasnd_prom_desc){ m[i].group, RASND_PROM_MAP, NULL, m[i].label };
			snprintf(paths[k], sizeof(paths[k]), "%s.*", m[i].group);
		} else if (m[i].group) {
			snprintf(paths[k], sizeof(paths[k]), "%s.%s", m[i].group, m[i].key);
		} else {
			snprintf(paths[k], sizeof(paths[k]), "%s", m[i].key);
		}
		out[k] = (struct rasnd_prom_desc){ paths[k], kind, m[i].help };
		k++;
	}
	return k;
}

void rasnd_stats_prometheus(struct rasnd *d, struct rasn_buf *b)
{
	struct metric m[MAX_METRICS];
	size_t n = collect(d, m);
	struct rasnd_prom_desc desc[MAX_METRICS * 2];
	char paths[MAX_METRICS * 2][64];
	size_t nd = flat_descs(m, n, desc, paths);
	struct rasn_buf j;
	rasn_buf_init(&j);
	rasnd_stats_json(d, &j);
	if (j.oom) {
		rasn_buf_lit(b, "# rasnd: cannot write the metrics: out of memory\n# EOF\n");
	} else {
		int rc = rasnd_prom_from_json(j.data, j.len, desc, nd, nested, sizeof(nested) / sizeof(nested[0]), b);
		if (rc < 0)
			log_warn("stats prometheus: %s", strerror(-rc));
	}
	rasn_buf_free(&j);
}
