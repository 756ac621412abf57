/* Common definitions for librasn: error codes and the address integer type.
 * Every function returns 0 (or a count) on success and a negative errno or RASN_E* code on
 * failure. librasn holds no event loop and no globals. */
#ifndef RASN_RASN_H
#define RASN_RASN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 rasn_u128;

/* Custom error codes live in one reserved negative range, below any errno. */
#define RASN_EBASE 10000
enum {
	RASN_ESYNTAX = -(RASN_EBASE + 1),   /* malformed input */
	RASN_ERANGE = -(RASN_EBASE + 2),    /* value out of range */
	RASN_EFORMAT = -(RASN_EBASE + 3),   /* unknown or undetectable file format */
	RASN_EEMPTY = -(RASN_EBASE + 4),    /* nothing usable in the input */
	RASN_ETOOMANY = -(RASN_EBASE + 5),  /* more bad lines than allowed */
	RASN_EBUSY = -(RASN_EBASE + 6),     /* a bound is reached: try again later */
	RASN_EOPEN = -(RASN_EBASE + 7),     /* a circuit breaker is open: not tried */
};

/* Human text for 0, a negative errno or a RASN_E* code. Never NULL. */
const char *rasn_strerror(int err);

#define RASN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
