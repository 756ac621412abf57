/* See sdlisten.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "sdlisten.h"

/* A positive decimal number without sign, blanks or leading zeros beyond "0"; -1 otherwise. */
static long parse_positive(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (LONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 0 ? v : -1;
}

static int parse_names(const char *names, struct rasn_sdlisten *out, const char **why)
{
	int k = 0;
	/* systemd splits without coalescing ':': "a::b" is three names; "" is none */
	if (!*names)
		goto count;
	for (const char *p = names;; k++) {
		size_t len = strcspn(p, ":");
		if (k == out->n) {
			*why = "LISTEN_FDNAMES has more names than LISTEN_FDS sockets";
			return -EINVAL;
		}
		if (len > RASN_SDLISTEN_NAME_MAX) {
			*why = "a name in LISTEN_FDNAMES is longer than 255 bytes";
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i++)
			if (p[i] < 0x20 || p[i] > 0x7e) {
				*why = "a name in LISTEN_FDNAMES has a byte that is not printable ASCII";
				return -EINVAL;
			}
		memcpy(out->name[k], p, len);
		out->name[k][len] = '\0';
		if (!p[len]) {
			k++;
			break;
		}
		p += len + 1;
	}
count:
	if (k != out->n) {
		*why = "LISTEN_FDNAMES has fewer names than LISTEN_FDS sockets";
		return -EINVAL;
	}
	return 0;
}

int rasn_sdlisten_parse(const char *pid, const char *fds, const char *names, long self,
			struct rasn_sdlisten *out, const char **why)
{
	out->n = 0;
	out->named = 0;
	out->other_pid = 0;
	*why = NULL;
	if (!pid)
		return 0;
	long p = parse_positive(pid);
	if (p < 0) {
		*why = "LISTEN_PID is not a process id";
		return -EINVAL;
	}
	if (p != self) {
		out->other_pid = p;
		return 0;
	}
	if (!fds)
		return 0;
	long n = parse_positive(fds);
	if (n < 0) {
		*why = "LISTEN_FDS is not a positive number";
		return -EINVAL;
	}
	if (n > RASN_SDLISTEN_MAX) {
		*why = "LISTEN_FDS: more than 64 sockets";
		return -E2BIG;
	}
	out->n = (int)n;
	if (names) {
		out->named = 1;
		int rc = parse_names(names, out, why);
		if (rc < 0) {
			out->n = 0;
			return rc;
		}
	} else {
		for (int i = 0; i < out->n; i++)
			strcpy(out->name[i], "unknown");
	}
	return out->n;
}
