#ifndef STEPUP_STATE_BLOB_H
#define STEPUP_STATE_BLOB_H

#include "stepup-state.h"

/* Named records of other components in the state store (the approval
   service's requests), kept by the same backend as the users' records:
   files with the same owner and mode checks, or Redis. A name starts
   with "\n", which no user name can (auth_username_chars), so it never
   meets a user's record. */

#define STEPUP_STATE_BLOB_MAX (256 * 1024)

/* exclusive lock on name, held across read-modify-write */
int stepup_state_blob_lock(struct stepup_state *state, const char *name,
			   int *lock_r, const char **error_r);
void stepup_state_blob_unlock(struct stepup_state *state, int *lock);
/* 1 read (text_r from the data stack), 0 none, -1 error */
int stepup_state_blob_read(struct stepup_state *state, const char *name,
			   string_t **text_r, const char **error_r);
/* atomic replace; empty text removes the record */
int stepup_state_blob_write(struct stepup_state *state, const char *name,
			    const string_t *text, const char **error_r);

#endif
