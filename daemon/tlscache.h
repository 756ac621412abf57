/* The HTTPS client's TLS session cache: client sessions kept per origin key ("host:port"),
 * most recently used first, at most `cap` of them, so that a new connection to a known
 * origin resumes (an abbreviated handshake). TLS 1.3 tickets arrive after the handshake,
 * during SSL_read, through SSL_CTX_sess_set_new_cb; OpenSSL's own client cache is off
 * (SSL_SESS_CACHE_NO_INTERNAL_STORE): this one is keyed by origin, not by session id. */
#ifndef RASND_TLSCACHE_H
#define RASND_TLSCACHE_H

#include <openssl/ssl.h>

struct rasnd_tlscache;

/* Sets ctx up for client session caching into a new cache of cap sessions; cap 0 turns
 * resumption off (no cache, no tickets asked for) and *out is NULL. The cache must be freed
 * after every SSL of ctx. Returns 0, -ENOMEM, or -EIO (no OpenSSL ex_data index). */
int rasnd_tlscache_new(SSL_CTX *ctx, unsigned cap, struct rasnd_tlscache **out);
void rasnd_tlscache_free(struct rasnd_tlscache *tc);
/* Before the handshake: ssl's new sessions are kept under key (a string that must outlive
 * ssl, or rasnd_tlscache_unbind before it goes), and a session cached under key is offered.
 * Returns 1 when a session was offered, 0 otherwise (tc NULL: nothing). */
int rasnd_tlscache_bind(struct rasnd_tlscache *tc, SSL *ssl, const char *key);
/* Before SSL_free: sessions that still arrive for ssl are not kept. */
void rasnd_tlscache_unbind(SSL *ssl);
/* Sessions kept now. */
size_t rasnd_tlscache_size(const struct rasnd_tlscache *tc);

#endif
