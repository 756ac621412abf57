#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sysctl.h"

/* Reads a sysctl's first number (tcp_fastopen and friends hold one). Returns 0 or -errno. */
static int read_value(const char *path, uint64_t *v)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -EINVAL;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	*v = x;
	return 0;
}

static int write_value(const char *path, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, buf, (size_t)n);
	int e = errno;
	close(fd);
	return w == n ? 0 : w < 0 ? -e : -EIO;
}

/* How "at least the target" reads for each kind of key (the same rules as rasn-sysctl). */
enum order { NUMERIC, BITMASK, TW_REUSE };

/* tcp_tw_reuse: 0 off, 2 loopback only (the kernel's default), 1 everywhere */
static unsigned tw_rank(uint64_t v)
{
	return v == 1 ? 2 : v == 2 ? 1 : 0;
}

static int satisfied(enum order o, uint64_t cur, uint64_t want)
{
	switch (o) {
	case BITMASK: /* tcp_fastopen is a set of flags: every wanted bit must be on */
		return (cur & want) == want;
	case TW_REUSE:
		return tw_rank(cur) >= tw_rank(want);
	default:
		return cur >= want;
	}
}

int rasnd_sysctl_tune(const struct rasnd_config *c)
{
	const struct {
		const char *name;
		uint64_t target;
		enum order order;
	} keys[] = {
		{ "net.core.rmem_max", c->sysctl_rmem_max, NUMERIC },
		{ "net.core.wmem_max", c->sysctl_wmem_max, NUMERIC },
		{ "net.ipv4.tcp_window_scaling", c->sysctl_tcp_window_scaling, NUMERIC },
		{ "net.ipv4.tcp_fastopen", c->sysctl_tcp_fastopen, BITMASK },
		{ "net.core.somaxconn", c->sysctl_somaxconn, NUMERIC },
		{ "net.ipv4.tcp_tw_reuse", c->sysctl_tcp_tw_reuse, TW_REUSE },
	};
	int below = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "/proc/sys/%s", keys[i].name);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		uint64_t cur, want = keys[i].target;
		int rc = read_value(path, &cur);
		if (rc < 0) {
			log_warn("sysctl %s: cannot read %s: %s", keys[i].name, path, strerror(-rc));
			below++;
			continue;
		}
		if (satisfied(keys[i].order, cur, want)) {
			log_info("sysctl %s: kept at %" PRIu64 " (target %" PRIu64 ")", keys[i].name, cur, want);
			continue;
		}
		if (!c->sysctl_apply) {
			log_notice("sysctl %s: %" PRIu64 " is below the target %" PRIu64 "; [sysctl] apply is off "
				   "(run: sysctl -w %s=%" PRIu64 ")", keys[i].name, cur, want, keys[i].name, want);
			below++;
			continue;
		}
		uint64_t old = cur;
		if (keys[i].order == BITMASK)
			want |= cur; /* add the missing flags, keep the others */
		rc = write_value(path, want);
		if (rc == 0 && read_value(path, &cur) == 0 && satisfied(keys[i].order, cur, keys[i].target)) {
			log_notice("sysctl %s: raised from %" PRIu64 " to %" PRIu64, keys[i].name, old, cur);
			continue;
		}
		log_warn("sysctl %s: could not raise %" PRIu64 " to %" PRIu64 ": %s (run as root: sysctl -w %s=%" PRIu64
			 ", or install 60-rasn.conf in /etc/sysctl.d)", keys[i].name, cur, want,
			 rc < 0 ? strerror(-rc) : "value did not change", keys[i].name, want);
		below++;
	}
	return below;
}
