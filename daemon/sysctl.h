/* Kernel tuning at start-up (docs/operations.md, Kernel settings): for each sysctl with a
 * target, read the current value, raise it when below target and [sysctl] apply is on and the
 * kernel lets us, never lower it, and log one line per key saying what happened and, when it
 * could not be raised, the command that would. scripts/rasn-sysctl does the same from a
 * shell. */
#ifndef RASND_SYSCTL_H
#define RASND_SYSCTL_H

#include "config.h"

/* Returns the number of keys still below target. */
int rasnd_sysctl_tune(const struct rasnd_config *c);

#endif
