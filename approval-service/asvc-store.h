#ifndef ASVC_STORE_H
#define ASVC_STORE_H

#include "asvc-request.h"

struct stepup_state;

/* The approval service's requests, decisions and grants, and the nonces
   it has seen: in memory, and persisted in the state store
   (state/state-blob.h) before any change is acknowledged, so they
   survive a restart. One service process owns the store. */
struct asvc_store;

/* Loads what a previous run persisted. A request record that cannot be
   read is logged through event and left out (it can no longer be
   approved: fail closed). */
int asvc_store_init(struct stepup_state *state, struct event *event,
		    struct asvc_store **store_r, const char **error_r);
void asvc_store_deinit(struct asvc_store **store);

/* NULL if unknown */
struct asvc_request *asvc_store_find(struct asvc_store *store,
				     const char *id);
/* Every request, oldest first. */
const ARRAY_TYPE(asvc_request_p) *asvc_store_get_all(struct asvc_store *store);

/* Takes ownership of req (also on error: then it is freed). */
int asvc_store_add(struct asvc_store *store, struct asvc_request *req,
		   const char **error_r);
/* Persist a changed request (it is already in the store). */
int asvc_store_update(struct asvc_store *store, struct asvc_request *req,
		      const char **error_r);

/* Pending requests received more than lifetime_secs ago, and grants past
   their end, become expired (and are persisted); decided requests older
   than keep_secs are forgotten. Returns the number changed. */
unsigned int asvc_store_expire(struct asvc_store *store, time_t now,
			       unsigned int lifetime_secs,
			       unsigned int keep_secs);

/* The user's pending requests and live grants end (expired, with
   reason): after a re-enrollment or a reset nothing the old secret
   opened stays open. Returns how many, -1 if one could not be
   persisted. */
int asvc_store_end_user(struct asvc_store *store, const char *user,
			time_t now, const char *reason, const char **error_r);

/* Remember a request nonce. 1: first use (persisted), 0: seen before
   (a replay), -1: it could not be persisted (refuse the exchange).
   Nonces older than window_secs are dropped. */
int asvc_store_use_nonce(struct asvc_store *store, const char *nonce,
			 time_t now, unsigned int window_secs,
			 const char **error_r);

#endif
