/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "ioloop.h"
#include "str.h"
#include "str-sanitize.h"
#include "state-blob.h"
#include "asvc-store.h"

/* record names in the state store (state-blob.h) */
#define BLOB_INDEX "\nstepup-approval\nindex"
#define BLOB_NONCES "\nstepup-approval\nnonces"
#define BLOB_REQUEST_PREFIX "\nstepup-approval\nrequest\n"
#define INDEX_HEADER "stepup-approval-index 1"
#define NONCES_HEADER "stepup-approval-nonces 1"
/* bounded memory: a flood of signed requests cannot grow the store
   without end (older decided requests go first) */
#define ASVC_STORE_MAX_REQUESTS 10000
#define ASVC_STORE_MAX_NONCES 100000

struct asvc_nonce {
	char nonce[33];
	time_t seen;
};
ARRAY_DEFINE_TYPE(asvc_nonce, struct asvc_nonce);

struct asvc_store {
	struct stepup_state *state;
	struct event *event;
	ARRAY_TYPE(asvc_request_p) requests;
	HASH_TABLE(const char *, struct asvc_request *) by_id;
	ARRAY_TYPE(asvc_nonce) nonces;
};

static const char *request_blob(const char *id)
{
	return t_strconcat(BLOB_REQUEST_PREFIX, id, NULL);
}

static int store_write_index(struct asvc_store *store, const char **error_r)
{
	string_t *text = t_str_new(64 + array_count(&store->requests) * 33);
	struct asvc_request *const *reqp;

	str_append(text, INDEX_HEADER "\n");
	array_foreach(&store->requests, reqp)
		str_printfa(text, "%s\n", (*reqp)->id);
	return stepup_state_blob_write(store->state, BLOB_INDEX, text,
				       error_r);
}

static int store_write_request(struct asvc_store *store,
			       const struct asvc_request *req,
			       const char **error_r)
{
	string_t *text = t_str_new(1024);

	asvc_request_format(text, req);
	return stepup_state_blob_write(store->state, request_blob(req->id),
				       text, error_r);
}

static void store_insert(struct asvc_store *store, struct asvc_request *req)
{
	array_push_back(&store->requests, &req);
	hash_table_insert(store->by_id, req->id, req);
}

static void store_load_request(struct asvc_store *store, const char *id)
{
	struct asvc_request *req;
	string_t *text;
	const char *error;
	int ret;

	ret = stepup_state_blob_read(store->state, request_blob(id), &text,
				     &error);
	if (ret == 0)
		error = "record missing";
	if (ret > 0 && asvc_request_parse(str_c(text), &req, &error) == 0) {
		if (strcmp(req->id, id) == 0 &&
		    hash_table_lookup(store->by_id, id) == NULL) {
			store_insert(store, req);
			return;
		}
		error = "record of another request";
		asvc_request_free(&req);
	}
	e_error(store->event, "approval request %s left out: %s",
		str_sanitize(id, 64), error);
}

static int store_load(struct asvc_store *store, const char **error_r)
{
	const char *const *lines;
	string_t *text;
	unsigned int i;
	int ret;

	ret = stepup_state_blob_read(store->state, BLOB_INDEX, &text, error_r);
	if (ret <= 0)
		return ret;
	lines = t_strsplit(str_c(text), "\n");
	if (lines[0] == NULL || strcmp(lines[0], INDEX_HEADER) != 0) {
		*error_r = "approval index: unknown version";
		return -1;
	}
	for (i = 1; lines[i] != NULL; i++) {
		if (lines[i][0] != '\0')
			store_load_request(store, lines[i]);
	}
	return 0;
}

static void store_load_nonces(struct asvc_store *store)
{
	const char *const *lines, *error, *p;
	struct asvc_nonce *n;
	string_t *text;
	unsigned int i;
	intmax_t seen;
	int ret;

	ret = stepup_state_blob_read(store->state, BLOB_NONCES, &text, &error);
	if (ret < 0) {
		e_error(store->event, "approval nonces: %s", error);
		return;
	}
	if (ret == 0)
		return;
	lines = t_strsplit(str_c(text), "\n");
	if (lines[0] == NULL || strcmp(lines[0], NONCES_HEADER) != 0)
		return;
	for (i = 1; lines[i] != NULL; i++) {
		p = strchr(lines[i], ' ');
		if (p == NULL || p - lines[i] != 32 ||
		    str_to_intmax(p + 1, &seen) < 0)
			continue;
		n = array_append_space(&store->nonces);
		memcpy(n->nonce, lines[i], 32);
		n->seen = (time_t)seen;
	}
}

int asvc_store_init(struct stepup_state *state, struct event *event,
		    struct asvc_store **store_r, const char **error_r)
{
	struct asvc_store *store;

	store = i_new(struct asvc_store, 1);
	store->state = state;
	store->event = event;
	i_array_init(&store->requests, 64);
	hash_table_create(&store->by_id, default_pool, 0, str_hash, strcmp);
	i_array_init(&store->nonces, 128);
	if (store_load(store, error_r) < 0) {
		asvc_store_deinit(&store);
		return -1;
	}
	store_load_nonces(store);
	*store_r = store;
	return 0;
}

void asvc_store_deinit(struct asvc_store **_store)
{
	struct asvc_store *store = *_store;
	struct asvc_request **reqp;

	*_store = NULL;
	hash_table_destroy(&store->by_id);
	array_foreach_modifiable(&store->requests, reqp)
		asvc_request_free(reqp);
	array_free(&store->requests);
	array_free(&store->nonces);
	i_free(store);
}

struct asvc_request *asvc_store_find(struct asvc_store *store,
				     const char *id)
{
	return hash_table_lookup(store->by_id, id);
}

const ARRAY_TYPE(asvc_request_p) *asvc_store_get_all(struct asvc_store *store)
{
	return &store->requests;
}

static void store_remove_at(struct asvc_store *store, unsigned int idx)
{
	struct asvc_request *req =
		array_idx_elem(&store->requests, idx);
	const char *error;

	hash_table_remove(store->by_id, req->id);
	array_delete(&store->requests, idx, 1);
	if (stepup_state_blob_write(store->state, request_blob(req->id),
				    t_str_new(1), &error) < 0) {
		e_error(store->event, "approval request %s: %s", req->id,
			error);
	}
	asvc_request_free(&req);
}

/* Make room for one more: the oldest decided request goes. */
static int store_make_room(struct asvc_store *store, const char **error_r)
{
	struct asvc_request *const *reqs;
	unsigned int i, count;

	reqs = array_get(&store->requests, &count);
	if (count < ASVC_STORE_MAX_REQUESTS)
		return 0;
	for (i = 0; i < count; i++) {
		if (reqs[i]->status != ASVC_STATUS_PENDING &&
		    !(reqs[i]->status == ASVC_STATUS_APPROVED &&
		      reqs[i]->grant_until > ioloop_time)) {
			store_remove_at(store, i);
			return 0;
		}
	}
	*error_r = "too many pending requests";
	return -1;
}

int asvc_store_add(struct asvc_store *store, struct asvc_request *req,
		   const char **error_r)
{
	i_assert(hash_table_lookup(store->by_id, req->id) == NULL);

	if (store_make_room(store, error_r) < 0 ||
	    store_write_request(store, req, error_r) < 0) {
		asvc_request_free(&req);
		return -1;
	}
	store_insert(store, req);
	if (store_write_index(store, error_r) < 0) {
		/* not acknowledged: forget it */
		hash_table_remove(store->by_id, req->id);
		array_pop_back(&store->requests);
		asvc_request_free(&req);
		return -1;
	}
	return 0;
}

int asvc_store_update(struct asvc_store *store, struct asvc_request *req,
		      const char **error_r)
{
	i_assert(hash_table_lookup(store->by_id, req->id) == req);
	return store_write_request(store, req, error_r);
}

unsigned int asvc_store_expire(struct asvc_store *store, time_t now,
			       unsigned int lifetime_secs,
			       unsigned int keep_secs)
{
	struct asvc_request *req;
	const char *error;
	unsigned int i, changed = 0;
	bool removed = FALSE;
	time_t last;

	for (i = 0; i < array_count(&store->requests); ) {
		req = array_idx_elem(&store->requests, i);
		if ((req->status == ASVC_STATUS_PENDING &&
		     now >= req->received + (time_t)lifetime_secs) ||
		    (req->status == ASVC_STATUS_APPROVED &&
		     now >= req->grant_until)) {
			req->status = ASVC_STATUS_EXPIRED;
			if (req->decided == 0)
				req->decided = now;
			if (asvc_store_update(store, req, &error) < 0) {
				e_error(store->event, "approval request %s: %s",
					req->id, error);
			}
			changed++;
		}
		last = I_MAX(req->decided, req->grant_until);
		if (req->status != ASVC_STATUS_PENDING &&
		    req->status != ASVC_STATUS_APPROVED &&
		    now >= last + (time_t)keep_secs) {
			store_remove_at(store, i);
			removed = TRUE;
			continue;
		}
		i++;
	}
	if (removed && store_write_index(store, &error) < 0)
		e_error(store->event, "approval index: %s", error);
	return changed;
}

static int store_write_nonces(struct asvc_store *store, const char **error_r)
{
	string_t *text = t_str_new(64 + array_count(&store->nonces) * 48);
	const struct asvc_nonce *n;

	str_append(text, NONCES_HEADER "\n");
	array_foreach(&store->nonces, n)
		str_printfa(text, "%s %ld\n", n->nonce, (long)n->seen);
	return stepup_state_blob_write(store->state, BLOB_NONCES, text,
				       error_r);
}

int asvc_store_use_nonce(struct asvc_store *store, const char *nonce,
			 time_t now, unsigned int window_secs,
			 const char **error_r)
{
	struct asvc_nonce *n;
	unsigned int i;

	i_assert(strlen(nonce) == 32);
	for (i = 0; i < array_count(&store->nonces); ) {
		n = array_idx_modifiable(&store->nonces, i);
		if (n->seen + (time_t)window_secs <= now) {
			array_delete(&store->nonces, i, 1);
			continue;
		}
		if (strcmp(n->nonce, nonce) == 0)
			return 0;
		i++;
	}
	if (array_count(&store->nonces) >= ASVC_STORE_MAX_NONCES) {
		*error_r = "too many nonces within the window";
		return -1;
	}
	n = array_append_space(&store->nonces);
	memcpy(n->nonce, nonce, 32);
	n->seen = now;
	if (store_write_nonces(store, error_r) < 0) {
		array_pop_back(&store->nonces);
		return -1;
	}
	return 1;
}

int asvc_store_end_user(struct asvc_store *store, const char *user,
			time_t now, const char *reason, const char **error_r)
{
	struct asvc_request *const *reqp;
	struct asvc_request *req;
	int ret = 0;

	array_foreach(&store->requests, reqp) {
		req = *reqp;
		if (strcmp(req->user, user) != 0 ||
		    (req->status != ASVC_STATUS_PENDING &&
		     req->status != ASVC_STATUS_APPROVED))
			continue;
		req->status = ASVC_STATUS_EXPIRED;
		if (req->decided == 0)
			req->decided = now;
		if (req->grant_until > now)
			req->grant_until = now;
		req->reason = p_strdup(req->pool, reason);
		if (asvc_store_update(store, req, error_r) < 0)
			return -1;
		ret++;
	}
	return ret;
}
