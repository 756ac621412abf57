/* The systemd service protocol without libsystemd: readiness notification as a datagram to
 * $NOTIFY_SOCKET (sd_notify(3)), and socket activation through LISTEN_FDS and LISTEN_FDNAMES
 * (sd_listen_fds_with_names(3); which listener takes which socket: daemon/sockact.h).
 * Both are documented, stable interfaces; outside systemd they are no-ops. */
#ifndef RASND_SDNOTIFY_H
#define RASND_SDNOTIFY_H

/* Send "KEY=VALUE\n..." to $NOTIFY_SOCKET. Returns 1 sent, 0 no socket set, negative errno. */
int rasnd_notify(const char *msg);
/* printf-style; the STATUS= line etc. */
int rasnd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct rasn_sdlisten;

/* sd_listen_fds_with_names(3): LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES parsed by
 * lib/sdlisten.h; FD_CLOEXEC set on each passed descriptor; the three variables unset in every
 * case, so that nothing rasnd starts inherits them. Returns the number of sockets passed to
 * this process (0: none, or LISTEN_PID names another process: out->other_pid), or -EINVAL,
 * -E2BIG or -EBADF (a passed descriptor is not open) with a message in err. */
int rasnd_listen_fds(struct rasn_sdlisten *out, char *err, size_t errlen);

#endif
