#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

/* The logger is the one process-wide state: libevent's callback carries no user data. */
static int log_level = RASND_LOG_INFO;
static int log_prefix = 1;

static const char *const names[] = {
	[RASND_LOG_ERR] = "err", [RASND_LOG_WARN] = "warning", [RASND_LOG_NOTICE] = "notice",
	[RASND_LOG_INFO] = "info", [RASND_LOG_DEBUG] = "debug",
};

static void log_from_libevent(int severity, const char *msg)
{
	int lv = severity == EVENT_LOG_ERR ? RASND_LOG_ERR
		 : severity == EVENT_LOG_WARN ? RASND_LOG_WARN
		 : severity == EVENT_LOG_MSG ? RASND_LOG_INFO : RASND_LOG_DEBUG;
	rasnd_log(lv, "libevent: %s", msg);
}

void rasnd_log_init(int level)
{
	log_level = level;
	log_prefix = !isatty(STDERR_FILENO);
	event_set_log_callback(log_from_libevent);
	/* libevent's own debug messages (event_add/del, epoll changes), at debug level only: off,
	 * they cost one integer test per call. libevent allows switching them only before the
	 * first event base, so a level changed by SIGHUP leaves them as they were at start. */
	if (level >= RASND_LOG_DEBUG)
		event_enable_debug_logging(EVENT_DBG_ALL);
}

void rasnd_log_set_level(int level) { log_level = level; }
int rasnd_log_get_level(void) { return log_level; }

int rasnd_log_level_parse(const char *s)
{
	for (int i = RASND_LOG_ERR; i <= RASND_LOG_DEBUG; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return RASND_LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return RASND_LOG_WARN;
	return -1;
}

const char *rasnd_log_level_name(int level)
{
	return level >= RASND_LOG_ERR && level <= RASND_LOG_DEBUG ? names[level] : "?";
}

void rasnd_log(int level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	char line[2048];
	int o = 0;
	if (log_prefix)
		o = snprintf(line, sizeof(line), "<%d>", level);
	else
		o = snprintf(line, sizeof(line), "rasnd: %s: ", names[level]);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + o, sizeof(line) - (size_t)o - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)o + (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* one event, one line: fold embedded line breaks */
	for (size_t i = (size_t)o; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	/* a single write() keeps lines whole even when several writers share stderr */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
