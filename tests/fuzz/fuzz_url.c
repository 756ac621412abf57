/* Fuzz target for lib/url.c. The input is a URL as text. Whatever parses must hold the
 * invariants below, and its parts put back together (scheme, authority, path) must parse to
 * the same parts; rasn_url_authority must fit its documented size. Any broken one aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void invariants(const char *s, size_t n, const struct rasn_url *u)
{
	size_t hl = strlen(u->host);
	check(hl > 0 && hl <= RASN_URL_HOST_MAX);
	check(u->port != 0);
	check(!u->is_ip6 || u->is_ip);
	/* the path lies inside the input, printable, before any '#' */
	check(u->path >= s && u->path + u->path_len <= s + n);
	for (size_t i = 0; i < u->path_len; i++)
		check(u->path[i] > 0x20 && u->path[i] < 0x7f && u->path[i] != '#');
	check(u->path_len == 0 || u->path[0] == '/' || u->path[0] == '?');
	for (size_t i = 0; i < hl; i++)
		check(u->host[i] > 0x20 && u->host[i] < 0x7f && u->host[i] != '/' && u->host[i] != '@');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rasn_url u;
	if (rasn_url_parse(s, size, &u) < 0) {
		/* a failure leaves nothing behind */
		check(u.host[0] == '\0' && u.port == 0 && u.path == NULL);
		return 0;
	}
	invariants(s, size, &u);
	char auth[RASN_URL_HOST_MAX + 10];
	int al = rasn_url_authority(&u, auth, sizeof(auth));
	check(al > 0 && (size_t)al == strlen(auth));
	/* scheme, authority and path again: the same parts */
	size_t cap = 8 + (size_t)al + u.path_len + 1;
	char *again = malloc(cap);
	if (!again)
		return 0;
	memcpy(again, "https://", 8);
	memcpy(again + 8, auth, (size_t)al);
	if (u.path_len)
		memcpy(again + 8 + al, u.path, u.path_len);
	size_t an = 8 + (size_t)al + u.path_len;
	struct rasn_url v;
	check(rasn_url_parse(again, an, &v) == 0);
	check(strcmp(u.host, v.host) == 0 && u.port == v.port && u.is_ip == v.is_ip && u.is_ip6 == v.is_ip6);
	check(u.path_len == v.path_len && memcmp(u.path, v.path, u.path_len) == 0);
	free(again);
	return 0;
}
