/* Whole-file reads (see fileio.h). The io_uring path keeps several chunk reads in flight so the
 * page-cache copy of a large dataset overlaps; read() stays as the fallback because rings are
 * often unavailable (seccomp, RLIMIT_MEMLOCK, old kernels). */
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "mem.h"

#define RING_DEPTH 8
#define CHUNK_SIZE (2u << 20)
/* Returned by read_uring when the ring cannot do the job and read() should. */
#define USE_READ 1
/* Returned by read_uring when reads may still be landing in the buffer. */
#define STUCK 2

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_KERNEL };

struct slot {
	enum slot_state state;
	size_t off, len;
};

/* Whole-file buffers come from rasn_big_alloc: a 24 MB dataset otherwise takes ~6000 page
 * faults while the kernel copies it in, which costs more than the copy itself. */
static char *alloc_buf(size_t n)
{
	return rasn_big_alloc(n);
}

int rasn_file_pread(int fd, char *buf, size_t want, uint64_t off, size_t *got)
{
	size_t done = 0;
	while (done < want) {
		ssize_t r = pread(fd, buf + done, want - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

/* Handle one completion. Returns 0 or a negative errno for the whole read. */
static int reap(struct io_uring_cqe *cqe, size_t *eof)
{
	struct slot *s = io_uring_cqe_get_data(cqe);
	int res = cqe->res;
	if (res == -EINTR || res == -EAGAIN) {
		s->state = SLOT_QUEUED;
		return 0;
	}
	if (res < 0) {
		s->state = SLOT_FREE;
		return res;
	}
	if (res == 0) {
		/* The file shrank since fstat: it ends here. */
		if (s->off < *eof)
			*eof = s->off;
		s->state = SLOT_FREE;
		return 0;
	}
	if ((size_t)res < s->len) {
		s->off += (size_t)res;
		s->len -= (size_t)res;
		s->state = SLOT_QUEUED;
		return 0;
	}
	s->state = SLOT_FREE;
	return 0;
}

/* Read size bytes into buf through the ring. *got is less than size when the file shrank.
 * Returns 0, USE_READ when the ring cannot read this file, or a negative errno. Never returns
 * while a read into buf is still in the kernel. */
static int read_uring(struct io_uring *ring, int fd, char *buf, size_t size, size_t *got)
{
	struct slot slots[RING_DEPTH] = { { 0 } };
	size_t next = 0, eof = size;
	unsigned in_kernel = 0, prepped = 0;
	int ret = 0;
	for (;;) {
		/* Stop issuing after an error, but drain: the kernel may still write into buf. */
		for (unsigned i = 0; ret == 0 && i < RING_DEPTH; i++) {
			struct slot *s = &slots[i];
			if (s->state == SLOT_FREE && next < size && next < eof) {
				s->off = next;
				s->len = size - next < CHUNK_SIZE ? size - next : CHUNK_SIZE;
				next += s->len;
				s->state = SLOT_QUEUED;
			}
			if (s->state != SLOT_QUEUED)
				continue;
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			if (!sqe)
				break;
			io_uring_prep_read(sqe, fd, buf + s->off, (unsigned)s->len, (uint64_t)s->off);
			io_uring_sqe_set_data(sqe, s);
			s->state = SLOT_KERNEL;
			prepped++;
		}
		if (prepped) {
			int r = io_uring_submit(ring);
			if (r > 0) {
				in_kernel += (unsigned)r;
				prepped -= (unsigned)r;
			} else if (r == -EINTR) {
				continue; /* the SQEs are still queued: submit again */
			} else if (r != -EAGAIN && r != -EBUSY) {
				ret = ret ? ret : USE_READ;
			} else if (in_kernel == 0) {
				/* Nothing to wait for, so waiting cannot free resources. */
				ret = ret ? ret : USE_READ;
			}
		}
		if (in_kernel == 0)
			break;
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			/* Cannot reap what is in flight, so the kernel may still write into buf: the
			 * caller must not free it. Not seen in practice (EINTR is the only real case). */
			return STUCK;
		}
		do {
			int e = reap(cqe, &eof);
			io_uring_cqe_seen(ring, cqe);
			in_kernel--;
			/* A kernel without IORING_OP_READ answers -EINVAL. */
			if (e == -EINVAL || e == -EOPNOTSUPP)
				e = USE_READ;
			if (e && !ret)
				ret = e;
		} while (in_kernel && io_uring_peek_cqe(ring, &cqe) == 0);
	}
	*got = eof;
	return ret;
}

/* Read whatever follows off: the file grew since fstat (or it reports size 0, as procfs
 * files do). Grows *bufp, bounded by max_size. */
static int read_tail(int fd, char **bufp, size_t *len, size_t max_size)
{
	char tmp[4096];
	size_t cap = *len + 1;
	for (;;) {
		ssize_t r = pread(fd, tmp, sizeof(tmp), (off_t)*len);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		if ((max_size && *len + (size_t)r > max_size) || *len + (size_t)r >= SIZE_MAX / 2)
			return -EFBIG;
		if (*len + (size_t)r + 1 > cap) {
			size_t ncap = cap * 2 > *len + (size_t)r + 1 ? cap * 2 : *len + (size_t)r + 1;
			char *nb = realloc(*bufp, ncap);
			if (!nb)
				return -ENOMEM;
			*bufp = nb;
			cap = ncap;
		}
		memcpy(*bufp + *len, tmp, (size_t)r);
		*len += (size_t)r;
	}
}

int rasn_file_read(const char *path, size_t max_size, int force_read,
		   char **bufp, size_t *lenp, enum rasn_io_method *method)
{
	enum rasn_io_method m = RASN_IO_READ;
	char *buf = NULL;
	size_t size = 0, len = 0;
	struct stat st;
	int ret = 0, fd;

	*bufp = NULL;
	*lenp = 0;
	/* O_NONBLOCK so a FIFO cannot hang the open; cleared once we know it is a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size >= SIZE_MAX / 2 ||
	    (max_size && (uint64_t)st.st_size > max_size)) {
		ret = -EFBIG;
		goto out;
	}
	size = (size_t)st.st_size;
	buf = alloc_buf(size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}

	ret = USE_READ;
	struct io_uring ring;
	if (size > 0 && !force_read && io_uring_queue_init(RING_DEPTH, &ring, 0) == 0) {
		ret = read_uring(&ring, fd, buf, size, &len);
		io_uring_queue_exit(&ring);
		if (ret == STUCK) {
			buf = NULL; /* leaked on purpose: a late write must not hit freed memory */
			ret = -EIO;
			goto out;
		}
		if (ret == 0)
			m = RASN_IO_URING;
	}
	if (ret == USE_READ)
		ret = rasn_file_pread(fd, buf, size, 0, &len);
	if (ret < 0)
		goto out;
	ret = read_tail(fd, &buf, &len, max_size);
	if (ret < 0)
		goto out;
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	if (method)
		*method = m;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}
