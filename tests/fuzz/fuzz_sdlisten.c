/* Fuzz target for lib/sdlisten.c: the input is LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 * separated by NUL bytes (a missing one is unset). The result must be consistent: names only
 * of printable ASCII without ':', as many as the count, their join equal to LISTEN_FDNAMES. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdlisten.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *var[3] = { NULL, NULL, NULL };
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	size_t k = 0;
	for (char *p = buf; k < 3 && p <= buf + size; k++) {
		var[k] = p;
		p += strlen(p) + 1;
	}
	static struct rasn_sdlisten l;
	const char *why = NULL;
	int rc = rasn_sdlisten_parse(var[0], var[1], var[2], 1234, &l, &why);
	check(rc == -EINVAL || rc == -E2BIG || (rc >= 0 && rc <= RASN_SDLISTEN_MAX));
	check((rc < 0) == (why != NULL));
	check(rc == (rc < 0 ? rc : l.n));
	if (rc > 0 && l.named) {
		char join[RASN_SDLISTEN_MAX * (RASN_SDLISTEN_NAME_MAX + 1) + 1];
		size_t n = 0;
		for (int i = 0; i < rc; i++) {
			size_t len = strlen(l.name[i]);
			check(len <= RASN_SDLISTEN_NAME_MAX);
			for (size_t j = 0; j < len; j++)
				check(l.name[i][j] >= 0x20 && l.name[i][j] <= 0x7e && l.name[i][j] != ':');
			if (i)
				join[n++] = ':';
			memcpy(join + n, l.name[i], len);
			n += len;
		}
		join[n] = '\0';
		check(strcmp(join, var[2]) == 0);
	}
	free(buf);
	return 0;
}
