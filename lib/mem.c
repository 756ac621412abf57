#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

#define HUGE_MIN ((size_t)2 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

void *rasn_big_alloc(size_t n)
{
	void *p;
	if (n == 0)
		return NULL;
	if (n < HUGE_MIN)
		return malloc(n);
	if (posix_memalign(&p, HUGE_ALIGN, n) != 0)
		return NULL;
	/* Only a hint: kernels without THP say EINVAL and the memory works the same. The
	 * range stays inside the block: the tail short of 2 MiB keeps small pages. */
	(void)madvise(p, n & ~(HUGE_ALIGN - 1), MADV_HUGEPAGE);
	return p;
}

void *rasn_big_calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	size_t len = n * size;
	/* calloc knows when its memory is fresh from the kernel (already zero) and skips the
	 * memset; the huge-page hint then covers the 2 MiB-aligned part, before first touch. */
	char *p = calloc(len ? len : 1, 1);
	if (p && len >= HUGE_MIN) {
		uintptr_t a = ((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1);
		uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)(HUGE_ALIGN - 1);
		if (e > a)
			(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
	}
	return p;
}

void *rasn_big_realloc(void *p, size_t old_n, size_t n)
{
	if (n < HUGE_MIN)
		return realloc(p, n ? n : 1);
	void *q = rasn_big_alloc(n);
	if (!q)
		return NULL;
	if (p)
		memcpy(q, p, old_n < n ? old_n : n);
	free(p);
	return q;
}
