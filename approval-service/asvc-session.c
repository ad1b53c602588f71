/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "hex-binary.h"
#include "randgen.h"
#include "sha2.h"
#include "safe-memset.h"
#include "asvc-enroll.h"
#include "asvc-session.h"

#define ASVC_TOKEN_BYTES 32
/* bounded: a flood of failed sign-ins cannot grow memory without end */
#define ASVC_MAX_FAILURE_KEYS 10000

struct asvc_session_entry {
	char key[SHA256_RESULTLEN * 2 + 1];
	char *user;
	struct asvc_session session;
};

struct asvc_failures {
	char *key;
	time_t window_start;
	unsigned int count;
};

struct asvc_sessions {
	struct asvc_session_settings set;
	pool_t pool;
	HASH_TABLE(const char *, struct asvc_session_entry *) by_key;
	HASH_TABLE(char *, struct asvc_failures *) failures;
};

struct asvc_sessions *
asvc_sessions_init(const struct asvc_session_settings *set)
{
	struct asvc_sessions *sessions = i_new(struct asvc_sessions, 1);

	sessions->set = *set;
	hash_table_create(&sessions->by_key, default_pool, 0, str_hash,
			  strcmp);
	hash_table_create(&sessions->failures, default_pool, 0, str_hash,
			  strcmp);
	return sessions;
}

static void session_entry_free(struct asvc_session_entry *entry)
{
	asvc_enroll_session_free(&entry->session.enroll);
	i_free(entry->user);
	safe_memset(entry->session.csrf, 0, sizeof(entry->session.csrf));
	i_free(entry);
}

void asvc_sessions_deinit(struct asvc_sessions **_sessions)
{
	struct asvc_sessions *sessions = *_sessions;
	struct hash_iterate_context *iter;
	struct asvc_session_entry *entry;
	struct asvc_failures *f;
	const char *key;
	char *fkey;

	*_sessions = NULL;
	iter = hash_table_iterate_init(sessions->by_key);
	while (hash_table_iterate(iter, sessions->by_key, &key, &entry))
		session_entry_free(entry);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&sessions->by_key);
	iter = hash_table_iterate_init(sessions->failures);
	while (hash_table_iterate(iter, sessions->failures, &fkey, &f)) {
		i_free(f->key);
		i_free(f);
	}
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&sessions->failures);
	i_free(sessions);
}

const char *asvc_token_new(void)
{
	unsigned char buf[ASVC_TOKEN_BYTES];
	const char *hex;

	random_fill(buf, sizeof(buf));
	hex = binary_to_hex(buf, sizeof(buf));
	safe_memset(buf, 0, sizeof(buf));
	return hex;
}

bool asvc_token_equals(const char *a, const char *b)
{
	if (a == NULL || b == NULL || strlen(a) != ASVC_TOKEN_HEX_LEN ||
	    strlen(b) != ASVC_TOKEN_HEX_LEN)
		return FALSE;
	return mem_equals_timing_safe(a, b, ASVC_TOKEN_HEX_LEN);
}

/* the table is keyed by the token's hash: a lookup leaks no timing
   about the token itself, and memory holds no usable cookie */
static const char *token_key(const char *token)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(token, strlen(token), digest);
	return binary_to_hex(digest, sizeof(digest));
}

static bool session_is_live(const struct asvc_sessions *sessions,
			    const struct asvc_session *session, time_t now)
{
	return now < session->created + (time_t)sessions->set.lifetime_secs &&
		now < session->last_used + (time_t)sessions->set.idle_secs &&
		now >= session->created;
}

static void sessions_expire(struct asvc_sessions *sessions, time_t now,
			    bool drop_oldest)
{
	struct hash_iterate_context *iter;
	struct asvc_session_entry *entry, *oldest = NULL;
	ARRAY(struct asvc_session_entry *) dead;
	struct asvc_session_entry *const *ep;
	const char *key;

	t_array_init(&dead, 8);
	iter = hash_table_iterate_init(sessions->by_key);
	while (hash_table_iterate(iter, sessions->by_key, &key, &entry)) {
		if (!session_is_live(sessions, &entry->session, now))
			array_push_back(&dead, &entry);
		else if (oldest == NULL ||
			 entry->session.last_used < oldest->session.last_used)
			oldest = entry;
	}
	hash_table_iterate_deinit(&iter);
	if (array_count(&dead) == 0 && drop_oldest && oldest != NULL)
		array_push_back(&dead, &oldest);
	array_foreach(&dead, ep) {
		hash_table_remove(sessions->by_key, (const char *)(*ep)->key);
		session_entry_free(*ep);
	}
}

struct asvc_session *
asvc_session_create(struct asvc_sessions *sessions, const char *user,
		    enum asvc_role role, time_t now, const char **token_r)
{
	struct asvc_session_entry *entry;
	const char *token = asvc_token_new();

	if (hash_table_count(sessions->by_key) >= sessions->set.max_sessions)
		sessions_expire(sessions, now, TRUE);
	entry = i_new(struct asvc_session_entry, 1);
	i_strocpy(entry->key, token_key(token), sizeof(entry->key));
	entry->user = i_strdup(user);
	entry->session.user = entry->user;
	entry->session.role = role;
	entry->session.created = now;
	entry->session.last_used = now;
	i_strocpy(entry->session.csrf, asvc_token_new(),
		  sizeof(entry->session.csrf));
	hash_table_insert(sessions->by_key, (const char *)entry->key, entry);
	*token_r = token;
	return &entry->session;
}

struct asvc_session *
asvc_session_lookup(struct asvc_sessions *sessions, const char *token,
		    time_t now)
{
	struct asvc_session_entry *entry;
	const char *key;

	if (token == NULL || strlen(token) != ASVC_TOKEN_HEX_LEN)
		return NULL;
	key = token_key(token);
	entry = hash_table_lookup(sessions->by_key, key);
	if (entry == NULL)
		return NULL;
	if (!session_is_live(sessions, &entry->session, now)) {
		hash_table_remove(sessions->by_key, (const char *)entry->key);
		session_entry_free(entry);
		return NULL;
	}
	entry->session.last_used = now;
	return &entry->session;
}

void asvc_session_destroy(struct asvc_sessions *sessions, const char *token)
{
	struct asvc_session_entry *entry;

	if (token == NULL || strlen(token) != ASVC_TOKEN_HEX_LEN)
		return;
	entry = hash_table_lookup(sessions->by_key, token_key(token));
	if (entry != NULL) {
		hash_table_remove(sessions->by_key, (const char *)entry->key);
		session_entry_free(entry);
	}
}

bool asvc_session_csrf_ok(const struct asvc_session *session,
			  const char *csrf)
{
	return asvc_token_equals(session->csrf, csrf);
}

static struct asvc_failures *
failures_get(struct asvc_sessions *sessions, const char *key, time_t now,
	     bool create)
{
	struct asvc_failures *f;

	f = hash_table_lookup(sessions->failures, key);
	if (f != NULL && now >= f->window_start +
	    (time_t)sessions->set.window_secs) {
		f->window_start = now;
		f->count = 0;
	}
	if (f == NULL && create) {
		if (hash_table_count(sessions->failures) >=
		    ASVC_MAX_FAILURE_KEYS) {
			/* full: forget every finished window */
			struct hash_iterate_context *iter;
			struct asvc_failures *old;
			char *k;

			iter = hash_table_iterate_init(sessions->failures);
			while (hash_table_iterate(iter, sessions->failures,
						  &k, &old)) {
				if (now >= old->window_start +
				    (time_t)sessions->set.window_secs) {
					hash_table_remove(sessions->failures,
							  k);
					i_free(old->key);
					i_free(old);
				}
			}
			hash_table_iterate_deinit(&iter);
		}
		f = i_new(struct asvc_failures, 1);
		f->key = i_strdup(key);
		f->window_start = now;
		hash_table_insert(sessions->failures, f->key, f);
	}
	return f;
}

static const char *user_key(const char *user)
{
	return t_strconcat("u:", user, NULL);
}

static const char *ip_key(const char *ip)
{
	return t_strconcat("a:", ip, NULL);
}

bool asvc_signin_allowed(struct asvc_sessions *sessions, const char *user,
			 const char *ip, time_t now)
{
	struct asvc_failures *f;

	f = failures_get(sessions, user_key(user), now, FALSE);
	if (f != NULL && f->count >= sessions->set.max_failures_user)
		return FALSE;
	f = failures_get(sessions, ip_key(ip), now, FALSE);
	if (f != NULL && f->count >= sessions->set.max_failures_ip)
		return FALSE;
	return TRUE;
}

void asvc_signin_failed(struct asvc_sessions *sessions, const char *user,
			const char *ip, time_t now)
{
	failures_get(sessions, user_key(user), now, TRUE)->count++;
	failures_get(sessions, ip_key(ip), now, TRUE)->count++;
}
