/* The shared cache level over hiredis (see rediscache.h; docs/redis-cache.md). A lookup is a
 * request in a queue; a zero-delay event flushes the queue as batches, each one MGET of every
 * key its requests need, sent back to back (pipelined) on the one connection. Each batch has
 * its own timer and breaker ticket. The values are lib/rediscodec's; a usable one is stored
 * in the local levels (without writing it back here) before its request is answered. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "breaker.h"
#include "cache.h"
#include "clock.h"
#include "log.h"
#include "rasnd.h"
#include "rediscache.h"
#include "rediscodec.h"
#include "clock.h"

#define SCHEMA "v1:"            /* in every key: a new layout of keys or values gets v2: */
#define BATCH_MAX 128           /* lookups per MGET */
#define KEYS_MAX 18             /* keys per address lookup (IPv6: 128, 64..48) */
#define PREFIX_MAX 64
#define RKEY_MAX (PREFIX_MAX + sizeof(SCHEMA) + 2 * (RASN_CACHE_NAME_MAX + 1))
#define VALUE_MAX 16384         /* lib/cache's default max_value */
#define PASSWORD_MAX 512

struct req {
	struct req *next;
	int is_addr;
	struct rasn_addr addr;
	uint8_t nkey[RASN_CACHE_NAME_MAX + 1]; /* 'N' | normalised name */
	size_t nklen;
	unsigned first, n;        /* this request's keys in the batch's MGET */
	rasnd_redis_cb cb;
	void *ud;
};

struct batch {
	struct rasnd_redis *r;
	struct req *reqs;
	size_t nkeys;
	uint64_t ticket;
	double sent_ms;           /* monotonic */
	struct event *timer;
	int answered;             /* its requests have had their answer (timeout) */
	int in_timer;             /* inside on_timeout: the reply callback must not free it */
	int replied;
};

struct rasnd_redis_stats {
	uint64_t lookups, hits, misses, skipped, errors, timeouts, garbage, version_mismatch;
	uint64_t rounds, round_keys, rounds_answered, writes, write_errors, writes_dropped, connects, auth_failures;
	double round_s_sum, round_s_max; /* rounds that answered */
};

struct rasnd_redis {
	struct rasnd *d;
	char host[256];           /* numeric address, or the socket path */
	unsigned port;            /* 0: Unix socket */
	char name[272];           /* for the log: as configured */
	char *password;           /* NULL: no AUTH */
	char prefix[PREFIX_MAX + 1];
	double timeout_ms;
	redisAsyncContext *ac;
	int connected;
	int auth_failed;          /* AUTH refused on this connection */
	int closing;              /* rasnd_redis_free: answers are misses, failures not counted */
	struct rasn_breaker br;
	enum rasn_breaker_state logged_state;
	struct req *q_head, *q_tail;
	struct event *flush_ev;
	char last_error[256];
	struct rasnd_redis_stats st;
};

static double mono_ms(void)
{
	return (double)rasn_clock_mono_us() / 1e3;
}

static uint64_t br_now(void) { return (uint64_t)mono_ms(); }

static uint64_t unix_ms(void) { return rasn_clock_wall_ms(); }

static const char *where(const struct rasnd_redis *r)
{
	return r->name;
}

/* Say so when the circuit changes: once per change, not once per failure. */
static void note_state(struct rasnd_redis *r)
{
	enum rasn_breaker_state s = rasn_breaker_state(&r->br, br_now());
	if (s == r->logged_state)
		return;
	if (s == RASN_BREAKER_OPEN)
		log_warn("redis: %s failing (%s); lookups go to the upstreams without it for %.1f s",
			 where(r), r->last_error[0] ? r->last_error : "unknown error",
			 (double)r->br.cfg.open_ms / 1000.0);
	else if (s == RASN_BREAKER_CLOSED)
		log_info("redis: %s answers again", where(r));
	r->logged_state = s;
}

static void failed(struct rasnd_redis *r, uint64_t ticket, const char *why)
{
	if (r->closing)
		return;
	if (why != r->last_error)
		snprintf(r->last_error, sizeof(r->last_error), "%s", why);
	r->st.errors++;
	if (ticket)
		rasn_breaker_failure(&r->br, ticket, br_now());
	note_state(r);
}

/* ---- keys ---- */

static size_t rkey(const struct rasnd_redis *r, const uint8_t *key, size_t klen, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = (size_t)snprintf(out, RKEY_MAX, "%s" SCHEMA, r->prefix);
	for (size_t i = 0; i < klen && n + 2 < RKEY_MAX; i++) {
		out[n++] = hex[key[i] >> 4];
		out[n++] = hex[key[i] & 15];
	}
	out[n] = 0;
	return n;
}

/* The prefix lengths asked for an address, longest first: every length an answer is stored
 * under (lib/cache.h: at least /24 or /48, or the address itself for a negative answer),
 * except IPv6 ones between /65 and /127, which are neither asked nor written. */
static unsigned addr_lengths(int family, unsigned *lens)
{
	unsigned n = 0;
	if (family == RASN_AF4) {
		for (unsigned l = 32; l >= 24; l--)
			lens[n++] = l;
	} else {
		lens[n++] = 128;
		for (unsigned l = 64; l >= 48; l--)
			lens[n++] = l;
	}
	return n;
}

static int shared_length(int family, unsigned len)
{
	return family == RASN_AF4 ? len >= 24 && len <= 32 : (len >= 48 && len <= 64) || len == 128;
}

/* ---- connection ---- */

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rasnd_redis *r = ac->data;
	if (!r || r->ac != ac)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees ac after this; the batches queued on it get NULL replies */
		snprintf(r->last_error, sizeof(r->last_error), "connect: %s", ac->errstr);
		r->ac = NULL;
		r->connected = 0;
		return;
	}
	r->connected = 1;
	r->st.connects++;
	log_info("redis: connected to %s", where(r));
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rasnd_redis *r = ac->data;
	if (!r || r->ac != ac)
		return;
	if (status != REDIS_OK)
		snprintf(r->last_error, sizeof(r->last_error), "connection lost: %s", ac->errstr);
	r->ac = NULL;
	r->connected = 0;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rasnd_redis *r = privdata;
	redisReply *rep = reply;
	if (!rep || rep->type != REDIS_REPLY_ERROR)
		return;
	r->st.auth_failures++;
	snprintf(r->last_error, sizeof(r->last_error), "AUTH refused: %s", rep->str);
	log_err("redis: %s refused the password from [cache] redis_password_file: %s", where(r), rep->str);
	/* the batches sent behind it get NOAUTH errors and open the circuit; its probe
	 * reconnects (send_batch) */
	if (r->ac == ac)
		r->auth_failed = 1;
}

/* A connection, being made or made. 0, or -1 (r->last_error says why). */
static int ensure_connected(struct rasnd_redis *r)
{
	if (r->ac)
		return 0;
	redisAsyncContext *ac = r->port ? redisAsyncConnect(r->host, (int)r->port) : redisAsyncConnectUnix(r->host);
	if (!ac) {
		snprintf(r->last_error, sizeof(r->last_error), "connect: out of memory");
		return -1;
	}
	if (ac->err) {
		snprintf(r->last_error, sizeof(r->last_error), "connect: %s", ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	ac->data = r;
	if (redisLibeventAttach(ac, r->d->base) != REDIS_OK) {
		snprintf(r->last_error, sizeof(r->last_error), "connect: cannot attach to the loop");
		redisAsyncFree(ac);
		return -1;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	r->connected = 0;
	r->auth_failed = 0;
	if (r->password) {
		const char *argv[2] = { "AUTH", r->password };
		size_t lens[2] = { 4, strlen(r->password) };
		/* queued before the connection is up: hiredis sends it first */
		redisAsyncCommandArgv(ac, on_auth, r, 2, argv, lens);
	}
	return 0;
}

/* Drop the connection now (not from inside a hiredis callback): its batches get NULL replies. */
static void drop_connection(struct rasnd_redis *r)
{
	redisAsyncContext *ac = r->ac;
	if (!ac)
		return;
	r->ac = NULL;
	r->connected = 0;
	redisAsyncFree(ac);
}

/* ---- lookups ---- */

static void answer(struct req *q, int found)
{
	q->cb(q->ud, found);
	free(q);
}

static void answer_all(struct req *list, int found)
{
	for (struct req *q = list, *next; q; q = next) {
		next = q->next;
		answer(q, found);
	}
}

static void batch_free(struct batch *b)
{
	if (b->timer)
		event_free(b->timer);
	free(b);
}

/* The first value present decides: a usable entry (stored in the local levels) or a miss,
 * counted as garbage or another version; absent and expired keys are passed over. */
static int take(struct rasnd_redis *r, struct req *q, redisReply *rep, uint64_t now)
{
	for (unsigned i = 0; i < q->n; i++) {
		redisReply *e = rep->element[q->first + i];
		if (e->type == REDIS_REPLY_NIL)
			continue;
		uint8_t key[RASN_CACHE_NAME_MAX + 1];
		size_t klen = q->nklen;
		struct rasn_prefix p = { 0, 0, 0 };
		if (q->is_addr) {
			unsigned lens[KEYS_MAX];
			addr_lengths(q->addr.family, lens);
			p.family = q->addr.family;
			p.len = lens[i];
			p.addr = q->addr.v & ~rasn_hostmask(p.family, p.len);
			rasn_cache_key_prefix(p.family, p.addr, p.len, key);
			klen = RASN_CACHE_PKEY_LEN;
		} else {
			memcpy(key, q->nkey, klen);
		}
		struct rasn_rediscodec_entry en;
		int rc = e->type == REDIS_REPLY_STRING
				 ? rasn_rediscodec_decode((const uint8_t *)e->str, e->len, key, klen, VALUE_MAX, &en)
				 : -EBADMSG;
		if (rc == -EPROTONOSUPPORT) {
			r->st.version_mismatch++;
			return 0;
		}
		if (rc < 0) {
			r->st.garbage++;
			return 0;
		}
		if (en.expires_ms <= now)
			continue;
		struct rasn_cache_val v = { en.value, en.vlen, en.flags | RASN_CACHE_TTL_EXACT | RASN_CACHE_NO_HOOK };
		if (!r->d->cache)
			return 0;
		rc = q->is_addr ? rasn_cache_put_prefix(r->d->cache, &p, &v, now, en.expires_ms - now)
				: rasn_cache_put_name(r->d->cache, (const char *)q->nkey + 1, q->nklen - 1, &v, now,
						      en.expires_ms - now);
		return rc == 0;
	}
	return 0;
}

static void on_mget(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct batch *b = privdata;
	struct rasnd_redis *r = b->r;
	redisReply *rep = reply;
	b->replied = 1;
	if (b->answered) {
		if (!b->in_timer)
			batch_free(b);
		return;
	}
	b->answered = 1;
	struct req *list = b->reqs;
	b->reqs = NULL;
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != b->nkeys) {
		if (rep && rep->type == REDIS_REPLY_ERROR)
			failed(r, b->ticket, rep->str);
		else if (rep)
			failed(r, b->ticket, "unexpected reply to MGET");
		else
			failed(r, b->ticket, r->last_error[0] ? r->last_error : "connection closed");
		for (struct req *q = list; q; q = q->next)
			r->st.skipped++;
		answer_all(list, 0);
		batch_free(b);
		return;
	}
	double lat = (mono_ms() - b->sent_ms) / 1000.0;
	r->st.rounds_answered++;
	r->st.round_s_sum += lat;
	if (lat > r->st.round_s_max)
		r->st.round_s_max = lat;
	rasn_breaker_success(&r->br, b->ticket, br_now());
	note_state(r);
	uint64_t now = unix_ms();
	for (struct req *q = list, *next; q; q = next) {
		next = q->next;
		int found = take(r, q, rep, now);
		if (found)
			r->st.hits++;
		else
			r->st.misses++;
		answer(q, found);
	}
	batch_free(b);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct rasnd_redis *r = b->r;
	b->answered = 1;
	r->st.timeouts++;
	failed(r, b->ticket, "no answer within [cache] redis_timeout");
	struct req *list = b->reqs;
	b->reqs = NULL;
	for (struct req *q = list; q; q = q->next)
		r->st.skipped++;
	answer_all(list, 0);
	/* a slow server: drop the connection, whose replies would come too late for anyone */
	b->in_timer = 1;
	drop_connection(r);
	b->in_timer = 0;
	if (b->replied)
		batch_free(b);
}

/* Send one batch: MGET of every key of its requests. */
static void send_batch(struct rasnd_redis *r, struct batch *b)
{
	const char **argv = NULL;
	size_t *lens = NULL;
	char *keys = NULL;
	size_t argc = 1 + b->nkeys, k = 1;
	b->ticket = rasn_breaker_allow(&r->br, br_now());
	if (!b->ticket)
		goto miss;
	if (r->ac && r->auth_failed)
		drop_connection(r); /* a probe after AUTH was refused: connect and AUTH again */
	if (ensure_connected(r) < 0) {
		failed(r, b->ticket, r->last_error);
		goto miss;
	}
	argv = malloc(argc * sizeof(*argv));
	lens = malloc(argc * sizeof(*lens));
	keys = malloc(b->nkeys * RKEY_MAX);
	b->timer = evtimer_new(r->d->base, on_timeout, b);
	if (!argv || !lens || !keys || !b->timer) {
		rasn_breaker_cancel(&r->br, b->ticket, br_now());
		goto miss;
	}
	argv[0] = "MGET";
	lens[0] = 4;
	for (struct req *q = b->reqs; q; q = q->next) {
		uint8_t key[RASN_CACHE_PKEY_LEN];
		if (!q->is_addr) {
			argv[k] = keys + (k - 1) * RKEY_MAX;
			lens[k] = rkey(r, q->nkey, q->nklen, keys + (k - 1) * RKEY_MAX);
			k++;
			continue;
		}
		unsigned ls[KEYS_MAX], n = addr_lengths(q->addr.family, ls);
		for (unsigned i = 0; i < n; i++, k++) {
			rasn_cache_key_prefix(q->addr.family, q->addr.v & ~rasn_hostmask(q->addr.family, ls[i]), ls[i], key);
			argv[k] = keys + (k - 1) * RKEY_MAX;
			lens[k] = rkey(r, key, sizeof(key), keys + (k - 1) * RKEY_MAX);
		}
	}
	if (redisAsyncCommandArgv(r->ac, on_mget, b, (int)argc, argv, lens) != REDIS_OK) {
		failed(r, b->ticket, "cannot queue MGET");
		goto miss;
	}
	r->st.rounds++;
	r->st.round_keys += b->nkeys;
	b->sent_ms = mono_ms();
	struct timeval tv = { (time_t)(r->timeout_ms / 1000), (suseconds_t)((long)r->timeout_ms % 1000 * 1000) };
	evtimer_add(b->timer, &tv);
	free(argv);
	free(lens);
	free(keys);
	return;
miss:
	free(argv);
	free(lens);
	free(keys);
	for (struct req *q = b->reqs; q; q = q->next)
		r->st.skipped++;
	answer_all(b->reqs, 0);
	b->reqs = NULL;
	batch_free(b);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct rasnd_redis *r = arg;
	/* detached first: an answer may queue a new lookup (the next source asking), which then
	 * goes out with the next pass */
	struct req *list = r->q_head;
	r->q_head = r->q_tail = NULL;
	while (list) {
		struct batch *b = calloc(1, sizeof(*b));
		if (!b) {
			answer_all(list, 0);
			return;
		}
		b->r = r;
		struct req **tail = &b->reqs;
		for (size_t n = 0; list && n < BATCH_MAX; n++) {
			struct req *q = list;
			list = q->next;
			q->next = NULL;
			q->first = (unsigned)b->nkeys;
			b->nkeys += q->n;
			*tail = q;
			tail = &q->next;
		}
		send_batch(r, b);
	}
}

static int enqueue(struct rasnd_redis *r, struct req *q)
{
	r->st.lookups++;
	if (rasn_breaker_state(&r->br, br_now()) == RASN_BREAKER_OPEN) {
		r->st.skipped++;
		free(q);
		return -EAGAIN;
	}
	if (r->q_tail)
		r->q_tail->next = q;
	else
		r->q_head = q;
	r->q_tail = q;
	event_active(r->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

int rasnd_redis_get_addr(struct rasnd_redis *r, const struct rasn_addr *a, rasnd_redis_cb cb, void *ud)
{
	if (!r)
		return -EAGAIN;
	if (a->family != RASN_AF4 && a->family != RASN_AF6)
		return -EINVAL;
	struct req *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	unsigned lens[KEYS_MAX];
	q->is_addr = 1;
	q->addr = *a;
	q->n = addr_lengths(a->family, lens);
	q->cb = cb;
	q->ud = ud;
	return enqueue(r, q);
}

int rasnd_redis_get_name(struct rasnd_redis *r, const char *name, size_t len, rasnd_redis_cb cb, void *ud)
{
	if (!r)
		return -EAGAIN;
	struct req *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	int n = rasn_cache_key_name(name, len, (char *)q->nkey + 1);
	if (n < 0) {
		free(q);
		return n;
	}
	q->nkey[0] = RASN_CACHE_KEY_NAME;
	q->nklen = (size_t)n + 1;
	q->n = 1;
	q->cb = cb;
	q->ud = ud;
	return enqueue(r, q);
}

/* ---- writes ---- */

static void on_set(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rasnd_redis *r = privdata;
	redisReply *rep = reply;
	if (r && rep && rep->type == REDIS_REPLY_ERROR)
		r->st.write_errors++;
}

void rasnd_redis_on_store(void *ud, const uint8_t *key, size_t klen, const struct rasn_cache_val *v,
			  uint64_t expires_ms)
{
	struct rasnd *d = ud;
	struct rasnd_redis *r = d->redis;
	struct rasn_prefix p;
	if (!r)
		return;
	if (rasn_cache_key_prefix_decode(key, klen, &p) == 0 && !shared_length(p.family, p.len))
		return;
	uint64_t now = unix_ms();
	if (expires_ms <= now || v->len > VALUE_MAX)
		return;
	if (rasn_breaker_state(&r->br, br_now()) != RASN_BREAKER_CLOSED || ensure_connected(r) < 0) {
		r->st.writes_dropped++;
		return;
	}
	size_t cap = RASN_REDISCODEC_SIZE(klen, v->len);
	uint8_t *val = malloc(cap);
	char rk[RKEY_MAX], px[24];
	if (!val) {
		r->st.writes_dropped++;
		return;
	}
	struct rasn_rediscodec_entry e = { key, klen, v->data, v->len, v->flags & 0xff, expires_ms };
	int n = rasn_rediscodec_encode(&e, val, cap);
	if (n > 0) {
		const char *argv[5] = { "SET", rk, (const char *)val, "PX", px };
		size_t lens[5] = { 3, rkey(r, key, klen, rk), (size_t)n, 2, 0 };
		lens[4] = (size_t)snprintf(px, sizeof(px), "%llu", (unsigned long long)(expires_ms - now));
		if (redisAsyncCommandArgv(r->ac, on_set, r, 5, argv, lens) == REDIS_OK)
			r->st.writes++;
		else
			r->st.write_errors++;
	}
	free(val);
}

/* ---- set-up, stats ---- */

int rasnd_redis_parse_addr(const char *s, char *host, size_t hostlen, unsigned *port, const char **why)
{
	if (s[0] == '/') {
		if (strlen(s) >= hostlen || strlen(s) >= 108) {
			*why = "socket path too long";
			return -1;
		}
		snprintf(host, hostlen, "%s", s);
		*port = 0;
		return 0;
	}
	const char *colon = strrchr(s, ':');
	char h[64];
	size_t hl;
	if (!colon) {
		*why = "not HOST:PORT or an absolute socket path";
		return -1;
	}
	const char *hs = s;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']') {
			*why = "an IPv6 address goes in brackets: [::1]:6379";
			return -1;
		}
		hs = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(h) || hl >= hostlen) {
		*why = "no host";
		return -1;
	}
	memcpy(h, hs, hl);
	h[hl] = 0;
	unsigned char buf[16];
	if (inet_pton(AF_INET, h, buf) != 1 && inet_pton(AF_INET6, h, buf) != 1) {
		*why = "HOST must be a numeric IP address (no name lookups on the loop)";
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long pn = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || pn == 0 || pn > 65535) {
		*why = "PORT must be 1 to 65535";
		return -1;
	}
	snprintf(host, hostlen, "%s", h);
	*port = (unsigned)pn;
	return 0;
}

/* The first line of the file, without its line end: read once at start-up. */
static int read_password(const char *path, char **out, char *err, size_t errlen)
{
	char buf[PASSWORD_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "[cache] redis_password_file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) == 0 && (sb.st_mode & S_IROTH))
		log_warn("redis: [cache] redis_password_file %s is readable by every user", path);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "[cache] redis_password_file %s: %s", path, strerror(e));
		return -1;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0] || strlen(buf) > PASSWORD_MAX) {
		snprintf(err, errlen, "[cache] redis_password_file %s: %s", path,
			 buf[0] ? "password longer than 512 bytes" : "empty");
		return -1;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int rasnd_redis_new(struct rasnd *d, struct rasnd_redis **out, char *err, size_t errlen)
{
	const struct rasnd_config *c = &d->cfg;
	struct rasnd_redis *r = NULL;
	const char *why = NULL;
	int rc = -1;
	*out = NULL;
	if (!c->cache_redis || !c->cache_redis[0])
		return 0;
	if (!c->cache_enabled) {
		/* a Redis hit is answered through the local levels, which are off */
		log_warn("redis: [cache] enabled = no, so [cache] redis is not used");
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "redis: out of memory");
		goto done;
	}
	r->d = d;
	if (rasnd_redis_parse_addr(c->cache_redis, r->host, sizeof(r->host), &r->port, &why) < 0) {
		snprintf(err, errlen, "[cache] redis = %s: %s", c->cache_redis, why);
		goto done;
	}
	snprintf(r->name, sizeof(r->name), "%s", c->cache_redis);
	snprintf(r->prefix, sizeof(r->prefix), "%s", c->cache_redis_prefix ? c->cache_redis_prefix : "");
	r->timeout_ms = c->cache_redis_timeout * 1000.0;
	if (c->cache_redis_password_file && c->cache_redis_password_file[0] &&
	    read_password(c->cache_redis_password_file, &r->password, err, errlen) < 0)
		goto done;
	/* one failure opens it: a dead or slow Redis costs one timeout, then nothing until
	 * open_ms has passed and one probe finds it back */
	struct rasn_breaker_cfg bc = { 1, c->breaker_open_ms, 1, 1 };
	rasn_breaker_init(&r->br, &bc);
	r->logged_state = RASN_BREAKER_CLOSED;
	r->flush_ev = event_new(d->base, -1, 0, on_flush, r);
	if (!r->flush_ev) {
		snprintf(err, errlen, "redis: out of memory");
		goto done;
	}
	log_info("redis: shared cache level at %s, keys %s" SCHEMA "..., timeout %.3f s%s", where(r), r->prefix,
		 c->cache_redis_timeout, r->password ? ", with AUTH" : "");
	*out = r;
	r = NULL;
	rc = 0;
done:
	rasnd_redis_free(r);
	return rc;
}

void rasnd_redis_free(struct rasnd_redis *r)
{
	if (!r)
		return;
	r->closing = 1;
	struct req *list = r->q_head;
	r->q_head = r->q_tail = NULL;
	answer_all(list, 0);
	drop_connection(r); /* in-flight batches: NULL replies, their lookups answered */
	if (r->flush_ev)
		event_free(r->flush_ev);
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r);
}

void rasnd_redis_stats_json(struct rasnd_redis *r, struct rasn_buf *b)
{
	if (!r)
		return;
	struct rasn_breaker_stats bs;
	enum rasn_breaker_state s = rasn_breaker_state(&r->br, br_now());
	rasn_breaker_stats(&r->br, &bs);
	const struct rasnd_redis_stats *st = &r->st;
	rasn_buf_printf(b, ",\"redis\":{\"state\":\"%s\",\"connected\":%d,\"lookups\":%llu,\"hits\":%llu,"
			"\"misses\":%llu,\"skipped\":%llu,\"errors\":%llu,\"timeouts\":%llu,\"garbage\":%llu,"
			"\"version_mismatch\":%llu,\"rounds\":%llu,\"round_keys\":%llu,\"rounds_answered\":%llu,"
			"\"round_seconds\":%.6f,\"round_seconds_max\":%.6f,\"writes\":%llu,\"write_errors\":%llu,\"writes_dropped\":%llu,"
			"\"connects\":%llu,\"auth_failures\":%llu,\"opened\":%llu}",
			rasn_breaker_state_name(s), r->connected, (unsigned long long)st->lookups,
			(unsigned long long)st->hits, (unsigned long long)st->misses, (unsigned long long)st->skipped,
			(unsigned long long)st->errors, (unsigned long long)st->timeouts,
			(unsigned long long)st->garbage, (unsigned long long)st->version_mismatch,
			(unsigned long long)st->rounds, (unsigned long long)st->round_keys,
			(unsigned long long)st->rounds_answered, st->round_s_sum, st->round_s_max, (unsigned long long)st->writes, (unsigned long long)st->write_errors,
			(unsigned long long)st->writes_dropped, (unsigned long long)st->connects,
			(unsigned long long)st->auth_failures, (unsigned long long)bs.opened);
}
