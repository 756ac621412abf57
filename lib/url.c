/* https URL parsing (see url.h). Every byte is looked at through the length, so the input
 * needs no NUL; the host is checked by the address parsers of lib/addr.c. */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "url.h"

static int lower_eq(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static int is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int ends_authority(char c)
{
	return c == ':' || c == '/' || c == '?' || c == '#';
}

int rasn_url_parse(const char *s, size_t len, struct rasn_url *out)
{
	static const char scheme[] = "https://";
	const size_t sl = sizeof(scheme) - 1;
	int rc = RASN_ESYNTAX;
	memset(out, 0, sizeof(*out));
	if (len < sl || !lower_eq(s, scheme, sl))
		goto fail;
	size_t i = sl, hs, he;
	if (i < len && s[i] == '[') {
		hs = ++i;
		while (i < len && s[i] != ']')
			i++;
		if (i == len)
			goto fail;
		he = i++;
		out->is_ip = out->is_ip6 = 1;
	} else {
		hs = i;
		while (i < len && !ends_authority(s[i])) {
			if (!is_name_char((unsigned char)s[i]))
				goto fail; /* '@' (userinfo), spaces, anything else */
			i++;
		}
		he = i;
	}
	size_t hl = he - hs;
	if (hl == 0)
		goto fail;
	if (hl > RASN_URL_HOST_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (out->is_ip6) {
		rasn_u128 v6;
		if (rasn_addr_parse6(s + hs, hl, &v6) < 0)
			goto fail;
	} else {
		uint32_t v4;
		out->is_ip = rasn_addr_parse4(s + hs, hl, &v4) == 0;
	}
	memcpy(out->host, s + hs, hl);
	out->host[hl] = '\0';
	out->port = 443;
	if (i < len && s[i] == ':') {
		unsigned long v = 0;
		size_t digits = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			v = v * 10 + (unsigned long)(s[i] - '0');
			if (v > 65535)
				goto fail;
		}
		if (!digits || v == 0)
			goto fail;
		out->port = (uint16_t)v;
	}
	if (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
		goto fail;
	size_t ps = i;
	while (i < len && s[i] != '#') {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			goto fail;
		i++;
	}
	out->path = s + ps;
	out->path_len = i - ps;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return rc;
}

int rasn_url_authority(const struct rasn_url *u, char *buf, size_t cap)
{
	int n;
	if (u->port == 443)
		n = snprintf(buf, cap, u->is_ip6 ? "[%s]" : "%s", u->host);
	else
		n = snprintf(buf, cap, u->is_ip6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}
