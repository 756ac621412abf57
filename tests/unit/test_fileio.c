/* Whole-file reads: both methods give the same bytes, and each failure has its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"

struct fixture {
	char dir[256];
	char path[300];
	enum rasn_io_method ring_method; /* what a non-forced read reports on this machine */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct io_uring ring;
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/rasn-fileio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/data", f->dir);
	/* Sandboxes may refuse rings; then the fallback is what must be reported. */
	if (io_uring_queue_init(4, &ring, 0) == 0) {
		io_uring_queue_exit(&ring);
		f->ring_method = RASN_IO_URING;
	} else {
		f->ring_method = RASN_IO_READ;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[400];
	unlink(f->path);
	snprintf(p, sizeof(p), "%s/fifo", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(fd, data + done, n - done);
		assert_true(r > 0);
		done += (size_t)r;
	}
	assert_int_equal(close(fd), 0);
}

/* Bytes that differ at every offset (a repeated pattern would hide misplaced chunks). */
static char *pattern(size_t n)
{
	char *p = malloc(n ? n : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (char)(x >> 24);
	}
	return p;
}

static void check_both_ways(struct fixture *f, size_t n)
{
	char *want = pattern(n);
	write_file(f->path, want, n);
	for (int force = 0; force < 2; force++) {
		char *buf = (char *)1;
		size_t len = 12345;
		enum rasn_io_method m = 0;
		assert_int_equal(rasn_file_read(f->path, 0, force, &buf, &len, &m), 0);
		assert_non_null(buf);
		assert_int_equal(len, n);
		assert_memory_equal(buf, want, n);
		assert_int_equal(buf[n], 0);
		if (force || n == 0)
			assert_int_equal(m, RASN_IO_READ);
		else
			assert_int_equal(m, f->ring_method);
		free(buf);
	}
	free(want);
}

static void test_small(void **state)
{
	check_both_ways(*state, 1);
	check_both_ways(*state, 4096);
	check_both_ways(*state, 300001);
}

static void test_large(void **state)
{
	/* Several 2 MiB chunks, more than the ring holds at once, and a short last one. */
	check_both_ways(*state, (size_t)21 * 1024 * 1024 + 7);
}

static void test_empty(void **state)
{
	check_both_ways(*state, 0);
}

static void test_method_null(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "abc", 3);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(rasn_file_read(f->path, 0, 0, &buf, &len, NULL), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "abc");
	free(buf);
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	char p[400], *buf = (char *)1;
	size_t len = 7;
	snprintf(p, sizeof(p), "%s/nope", f->dir);
	assert_int_equal(rasn_file_read(p, 0, 0, &buf, &len, NULL), -ENOENT);
	assert_null(buf);
	assert_int_equal(len, 0);
	buf = (char *)1;
	assert_int_equal(rasn_file_read(p, 0, 1, &buf, &len, NULL), -ENOENT);
	assert_null(buf);
}

static void test_not_regular(void **state)
{
	struct fixture *f = *state;
	char p[400], *buf = (char *)1;
	size_t len;
	assert_int_equal(rasn_file_read(f->dir, 0, 0, &buf, &len, NULL), -EINVAL);
	assert_null(buf);
	assert_int_equal(rasn_file_read("/dev/null", 0, 1, &buf, &len, NULL), -EINVAL);
	assert_null(buf);
	/* A FIFO with no writer must not hang the open. */
	snprintf(p, sizeof(p), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(rasn_file_read(p, 0, 0, &buf, &len, NULL), -EINVAL);
	assert_null(buf);
}

static void test_max_size(void **state)
{
	struct fixture *f = *state;
	char *data = pattern(1000), *buf = (char *)1;
	size_t len;
	write_file(f->path, data, 1000);
	for (int force = 0; force < 2; force++) {
		assert_int_equal(rasn_file_read(f->path, 999, force, &buf, &len, NULL), -EFBIG);
		assert_null(buf);
		assert_int_equal(rasn_file_read(f->path, 1000, force, &buf, &len, NULL), 0);
		assert_int_equal(len, 1000);
		assert_memory_equal(buf, data, 1000);
		free(buf);
	}
	free(data);
}

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(TEST_AUDIT_ARCH) && defined(__NR_io_uring_setup)
/* A seccomp filter failing io_uring_setup with EPERM, the way container runtimes refuse
 * rings: the set-up then really fails, and the read() fallback is what runs. */
static int refuse_rings(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* In a child (the filter cannot be lifted): exit 0 when the read fell back and is whole. */
static int child_read_without_rings(const char *path, const char *want, size_t n)
{
	struct io_uring ring;
	if (refuse_rings() < 0)
		return 10;
	if (io_uring_queue_init(4, &ring, 0) == 0)
		return 11; /* the filter did not take */
	char *buf = NULL;
	size_t len = 0;
	enum rasn_io_method m = 0;
	int rc = rasn_file_read(path, 0, 0, &buf, &len, &m);
	int ok = rc == 0 && m == RASN_IO_READ && len == n && memcmp(buf, want, n) == 0 && buf[n] == 0;
	free(buf);
	return rc != 0 ? 12 : m != RASN_IO_READ ? 13 : ok ? 0 : 14;
}
#endif

static void test_ring_setup_refused(void **state)
{
#if defined(TEST_AUDIT_ARCH) && defined(__NR_io_uring_setup)
	struct fixture *f = *state;
	size_t n = (size_t)5 * 1024 * 1024 + 3;
	char *want = pattern(n);
	write_file(f->path, want, n);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_read_without_rings(f->path, want, n));
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	free(want);
#else
	(void)state;
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_setup_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
