/* The socket-activation environment of sd_listen_fds_with_names(3) without libsystemd (see
 * daemon/sdnotify.h): LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES as strings in, the number of
 * sockets passed to this process and their names out. No I/O and no getenv: the caller reads
 * the variables, checks the descriptors, and unsets the variables. */
#ifndef RASN_SDLISTEN_H
#define RASN_SDLISTEN_H

#define RASN_SDLISTEN_FDS_START 3   /* SD_LISTEN_FDS_START: the first passed descriptor */
#define RASN_SDLISTEN_MAX 64        /* more sockets than this is an error */
#define RASN_SDLISTEN_NAME_MAX 255  /* systemd's FDNAME_MAX */

struct rasn_sdlisten {
	int n;                          /* sockets: descriptors 3 .. 3 + n - 1 */
	int named;                      /* LISTEN_FDNAMES was set; else every name is "unknown" */
	long other_pid;                 /* LISTEN_PID named this other process (n is 0 then) */
	char name[RASN_SDLISTEN_MAX][RASN_SDLISTEN_NAME_MAX + 1];
};

/* Any of pid, fds, names may be NULL (unset). As sd_listen_fds_with_names: nothing for us
 * (n = 0) when LISTEN_PID is unset or another process's, or LISTEN_FDS is unset; an error when
 * LISTEN_PID or LISTEN_FDS is not a positive decimal number, or when LISTEN_FDNAMES (split at
 * ':', empty names kept) has another count than LISTEN_FDS. Stricter than systemd: at most
 * RASN_SDLISTEN_MAX sockets, names of printable ASCII without ':' up to 255 bytes (what
 * systemd accepts for FileDescriptorName=).
 * Returns n >= 0, or -EINVAL / -E2BIG with *why (static text). */
int rasn_sdlisten_parse(const char *pid, const char *fds, const char *names, long self,
			struct rasn_sdlisten *out, const char **why);

#endif
