/* The systemd service protocol without libsystemd: readiness notification as a datagram to
 * $NOTIFY_SOCKET (sd_notify(3)), and socket activation through LISTEN_FDS (sd_listen_fds(3)).
 * Both are documented, stable interfaces; outside systemd they are no-ops. */
#ifndef RASND_SDNOTIFY_H
#define RASND_SDNOTIFY_H

/* Send "KEY=VALUE\n..." to $NOTIFY_SOCKET. Returns 1 sent, 0 no socket set, negative errno. */
int rasnd_notify(const char *msg);
/* printf-style; the STATUS= line etc. */
int rasnd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first socket passed by the service manager (fd 3) when LISTEN_PID is us and
 * LISTEN_FDS >= 1; -1 when none. Clears the variables so children do not inherit them. */
int rasnd_listen_fd(void);

#endif
