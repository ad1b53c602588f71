/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* A bounded exclusive flock(): the lock is tried without blocking and
   retried with a short backoff until the deadline; then the caller fails
   only that user's operation. */

#include "lib.h"
#include "stepup-flock.h"

#include <time.h>
#include <sys/file.h>

/* the longest single sleep between two tries */
#define STEPUP_FLOCK_MAX_SLEEP_USECS 10000

static long long monotonic_usecs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int stepup_flock_bounded(int fd, unsigned int timeout_msecs)
{
	long long deadline = monotonic_usecs() +
		(long long)timeout_msecs * 1000;
	long long now, left;
	unsigned int sleep_usecs = 250;
	struct timespec ts;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		now = monotonic_usecs();
		left = deadline - now;
		if (left <= 0)
			return 0;
		if ((long long)sleep_usecs > left)
			sleep_usecs = left;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)sleep_usecs * 1000;
		(void)nanosleep(&ts, NULL);
		if (sleep_usecs < STEPUP_FLOCK_MAX_SLEEP_USECS / 2)
			sleep_usecs *= 2;
		else
			sleep_usecs = STEPUP_FLOCK_MAX_SLEEP_USECS;
	}
}
