/* Whole-file reads through io_uring, with read() as the fallback when a ring cannot be set up
 * (old kernel, seccomp, RLIMIT_MEMLOCK). */
#ifndef RASN_FILEIO_H
#define RASN_FILEIO_H

#include "rasn.h"

enum rasn_io_method { RASN_IO_URING = 1, RASN_IO_READ = 2 };

/* Read the whole regular file at path into a fresh malloc'd buffer (one extra NUL byte after
 * the data, not counted in *len). max_size bounds the file (0 = no bound): larger is -EFBIG.
 * force_read skips io_uring. *method (may be NULL) says how it was read.
 * Returns 0 or a negative errno; on failure *buf is NULL. */
int rasn_file_read(const char *path, size_t max_size, int force_read,
		   char **buf, size_t *len, enum rasn_io_method *method);

/* pread into buf from offset off until n bytes or the end of the file (EINTR and EAGAIN
 * retried); *got says how many came. Returns 0 or a negative errno. */
int rasn_file_pread(int fd, char *buf, size_t n, uint64_t off, size_t *got);

#endif
