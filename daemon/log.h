/* One logger for the daemon and the libraries under it: one line per event on stderr, with a
 * syslog level prefix ("<6>") the journal understands when stderr is not a terminal. */
#ifndef RASND_LOG_H
#define RASND_LOG_H

enum {
	RASND_LOG_ERR = 3,
	RASND_LOG_WARN = 4,
	RASND_LOG_NOTICE = 5,
	RASND_LOG_INFO = 6,
	RASND_LOG_DEBUG = 7,
};

void rasnd_log_init(int level);
void rasnd_log_set_level(int level);
int rasnd_log_get_level(void);
/* "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int rasnd_log_level_parse(const char *s);
const char *rasnd_log_level_name(int level);
void rasnd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) rasnd_log(RASND_LOG_ERR, __VA_ARGS__)
#define log_warn(...) rasnd_log(RASND_LOG_WARN, __VA_ARGS__)
#define log_notice(...) rasnd_log(RASND_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) rasnd_log(RASND_LOG_INFO, __VA_ARGS__)
#define log_debug(...) rasnd_log(RASND_LOG_DEBUG, __VA_ARGS__)

#endif
