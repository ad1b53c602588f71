/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "state-private.h"
#include "state-blob.h"

static bool blob_name_is_valid(const char *name)
{
	return name[0] == '\n' && name[1] != '\0';
}

int stepup_state_blob_lock(struct stepup_state *state, const char *name,
			   int *lock_r, const char **error_r)
{
	i_assert(blob_name_is_valid(name));
	return state->v->lock(state, name, lock_r, error_r);
}

void stepup_state_blob_unlock(struct stepup_state *state, int *lock)
{
	state->v->unlock(state, lock);
}

int stepup_state_blob_read(struct stepup_state *state, const char *name,
			   string_t **text_r, const char **error_r)
{
	i_assert(blob_name_is_valid(name));
	return state->v->read(state, name, text_r, error_r);
}

int stepup_state_blob_write(struct stepup_state *state, const char *name,
			    const string_t *text, const char **error_r)
{
	i_assert(blob_name_is_valid(name));
	if (str_len(text) > STEPUP_STATE_BLOB_MAX) {
		*error_r = "record too large";
		return -1;
	}
	return state->v->write(state, name, text, error_r);
}
