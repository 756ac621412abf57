/* Large allocations for tables and file buffers. On these machines first-touch page faults
 * cost more than the work done on the memory (about 3 ms per MB in a VM), so anything of a few
 * MiB or more is aligned to 2 MiB and marked for transparent huge pages: one fault per 2 MiB
 * instead of 512. Memory from here is released with free(). */
#ifndef RASN_MEM_H
#define RASN_MEM_H

#include <stddef.h>

/* Uninitialised; NULL on failure (or when n is 0). */
void *rasn_big_alloc(size_t n);
/* Zeroed; NULL on failure or overflow. */
void *rasn_big_calloc(size_t n, size_t size);
/* Grow (or shrink) to n bytes, keeping old_n bytes of content: realloc for small blocks, a
 * fresh huge-page block and a copy for large ones. On failure returns NULL and p is intact. */
void *rasn_big_realloc(void *p, size_t old_n, size_t n);

#endif
