/* The TLS client session cache (tlscache.h): a list in most-recently-used order; a lookup
 * walks it, which is fine for the few origins the daemon talks to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlscache.h"
#include "url.h"

#define KEY_MAX (RASN_URL_HOST_MAX + 16)

struct sess {
	struct sess *next, *prev;
	char key[KEY_MAX];
	SSL_SESSION *s;
};

struct rasnd_tlscache {
	struct sess *head, *tail;
	size_t n;
	unsigned cap;
};

/* OpenSSL's ex_data indexes are process-wide: one for the cache on the SSL_CTX, one for the
 * origin key on each SSL. */
static int ctx_idx = -1, ssl_idx = -1;

static struct sess *find(struct rasnd_tlscache *tc, const char *key)
{
	for (struct sess *s = tc->head; s; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static void unlink_sess(struct rasnd_tlscache *tc, struct sess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		tc->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		tc->tail = s->prev;
	s->next = s->prev = NULL;
	tc->n--;
}

static void push_front(struct rasnd_tlscache *tc, struct sess *s)
{
	s->prev = NULL;
	s->next = tc->head;
	if (tc->head)
		tc->head->prev = s;
	else
		tc->tail = s;
	tc->head = s;
	tc->n++;
}

/* OpenSSL hands us one reference; returning 1 keeps it. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct rasnd_tlscache *tc = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
	const char *key = SSL_get_ex_data(ssl, ssl_idx);
	if (!tc || !key || !SSL_SESSION_is_resumable(sess))
		return 0;
	struct sess *s = find(tc, key);
	if (s) {
		unlink_sess(tc, s);
		SSL_SESSION_free(s->s);
	} else {
		if (tc->n >= tc->cap && tc->tail) {
			s = tc->tail;
			unlink_sess(tc, s);
			SSL_SESSION_free(s->s);
		} else if (!(s = calloc(1, sizeof(*s)))) {
			return 0;
		}
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	s->s = sess;
	push_front(tc, s);
	return 1;
}

int rasnd_tlscache_new(SSL_CTX *ctx, unsigned cap, struct rasnd_tlscache **out)
{
	*out = NULL;
	if (ctx_idx < 0)
		ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ssl_idx < 0)
		ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ctx_idx < 0 || ssl_idx < 0)
		return -EIO;
	if (cap == 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		return 0;
	}
	struct rasnd_tlscache *tc = calloc(1, sizeof(*tc));
	if (!tc || !SSL_CTX_set_ex_data(ctx, ctx_idx, tc)) {
		free(tc);
		return -ENOMEM;
	}
	tc->cap = cap;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	*out = tc;
	return 0;
}

void rasnd_tlscache_free(struct rasnd_tlscache *tc)
{
	if (!tc)
		return;
	struct sess *s;
	while ((s = tc->head)) {
		unlink_sess(tc, s);
		SSL_SESSION_free(s->s);
		free(s);
	}
	free(tc);
}

int rasnd_tlscache_bind(struct rasnd_tlscache *tc, SSL *ssl, const char *key)
{
	if (!tc || !SSL_set_ex_data(ssl, ssl_idx, (void *)key))
		return 0;
	struct sess *s = find(tc, key);
	if (!s)
		return 0;
	SSL_set_session(ssl, s->s);
	unlink_sess(tc, s);
	push_front(tc, s);
	return 1;
}

void rasnd_tlscache_unbind(SSL *ssl)
{
	if (ssl_idx >= 0)
		SSL_set_ex_data(ssl, ssl_idx, NULL);
}

size_t rasnd_tlscache_size(const struct rasnd_tlscache *tc)
{
	return tc ? tc->n : 0;
}
