#ifndef STEPUP_FLOCK_H
#define STEPUP_FLOCK_H

/* flock(LOCK_EX), retried without blocking until timeout_msecs passed:
   the auth process and the stepup-audit service serve every user, so they
   never wait without bound for a lock another process holds (a stopped
   CLI, any member of the file's group holding LOCK_SH). Returns 1 locked,
   0 still held by another process, -1 error (errno set). */
int stepup_flock_bounded(int fd, unsigned int timeout_msecs);

#endif
