/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The auth process serves every user, so it must never wait without bound
   for one user's lock (a stopped "stepup app-password add", a slow disk
   under another process): the lock is taken with stepup_flock_bounded(),
   and this sets its bound. */

#include "lib.h"
#include "state-private.h"

void stepup_state_set_lock_timeout(struct stepup_state *state,
				   unsigned int msecs)
{
	state->lock_timeout_msecs = msecs;
}
