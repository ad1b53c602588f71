/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* What can be done to a user's state, each under the user's lock:
   verification (single use, lockout, recovery codes), enrollment, reset,
   app passwords. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "randgen.h"
#include "sha2.h"
#include "hmac.h"
#include "net.h"
#include "safe-memset.h"
#include "stepup-totp.h"
#include "state-private.h"

#include <ctype.h>
#include <crypt.h>

/* 31 letters and digits without the look-alikes 0/o, 1/l/i */
static const char code_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
#define CODE_LETTERS 31

int
txn_begin(struct stepup_state *state, const char *user,
	  struct state_txn *txn_r, const char **error_r)
{
	string_t *text;
	int ret;

	i_zero(txn_r);
	txn_r->state = state;
	txn_r->user = user;
	txn_r->lock = -1;
	if (user[0] == '\0') {
		*error_r = "empty user name";
		return -1;
	}
	if (state->v->lock(state, user, &txn_r->lock, error_r) < 0)
		return -1;
	ret = state->v->read(state, user, &text, error_r);
	if (ret < 0) {
		state->v->unlock(state, &txn_r->lock);
		return -1;
	}
	if (ret == 0) {
		state_record_init(&txn_r->rec, user);
		return 0;
	}
	txn_r->exists = TRUE;
	ret = state_record_parse(str_c(text), user, &txn_r->rec, error_r);
	safe_memset(str_c_modifiable(text), 0, str_len(text));
	if (ret < 0) {
		state->v->unlock(state, &txn_r->lock);
		return -1;
	}
	return 0;
}

int txn_commit(struct state_txn *txn, const char **error_r)
{
	string_t *text;
	int ret;

	if (state_record_is_empty(&txn->rec))
		text = t_str_new(1);
	else
		text = state_record_format(&txn->rec);
	ret = txn->state->v->write(txn->state, txn->user, text, error_r);
	safe_memset(str_c_modifiable(text), 0, str_len(text));
	return ret;
}

void txn_end(struct state_txn *txn)
{
	state_record_wipe(&txn->rec);
	if (txn->lock != -1)
		txn->state->v->unlock(txn->state, &txn->lock);
}

int state_record_read(struct stepup_state *state, const char *user,
		      struct state_record *rec_r, const char **error_r)
{
	string_t *text;
	int ret;

	ret = state->v->read(state, user, &text, error_r);
	if (ret <= 0)
		return ret;
	ret = state_record_parse(str_c(text), user, rec_r, error_r);
	safe_memset(str_c_modifiable(text), 0, str_len(text));
	return ret < 0 ? -1 : 1;
}

int stepup_state_is_enrolled(struct stepup_state *state, const char *user,
			     const char **error_r)
{
	struct state_record rec;
	int ret;

	if ((ret = state_record_read(state, user, &rec, error_r)) <= 0)
		return ret;
	ret = rec.enrolled ? 1 : 0;
	state_record_wipe(&rec);
	return ret;
}

/* ---- codes */

/* groups of 4 letters joined by '-', uniformly drawn (rejection
   sampling): 12 letters are 59 bits, 32 are 158 bits */
static const char *random_code(unsigned int groups)
{
	unsigned char rnd[64];
	string_t *str = t_str_new(groups * 5);
	unsigned int n = 0, pos = sizeof(rnd);

	while (n < groups * 4) {
		if (pos == sizeof(rnd)) {
			random_fill(rnd, sizeof(rnd));
			pos = 0;
		}
		/* 248 = 8 * 31: bytes above would bias the draw */
		if (rnd[pos] >= 248) {
			pos++;
			continue;
		}
		if (n > 0 && n % 4 == 0)
			str_append_c(str, '-');
		str_append_c(str, code_alphabet[rnd[pos++] % CODE_LETTERS]);
		n++;
	}
	safe_memset(rnd, 0, sizeof(rnd));
	return str_c(str);
}

static bool code_shape(const char *str, unsigned int groups)
{
	unsigned int i;

	for (i = 0; i < groups * 5 - 1; i++) {
		if (i % 5 == 4) {
			if (str[i] != '-')
				return FALSE;
		} else if (str[i] == '\0' || str[i] == '-' ||
			   strchr(code_alphabet, i_tolower(str[i])) == NULL) {
			return FALSE;
		}
	}
	return str[i] == '\0';
}

bool stepup_recovery_code_suffix(const char *password, size_t *start_r)
{
	size_t len = strlen(password);

	if (len <= STEPUP_RECOVERY_CODE_LEN ||
	    !code_shape(password + len - STEPUP_RECOVERY_CODE_LEN, 3))
		return FALSE;
	*start_r = len - STEPUP_RECOVERY_CODE_LEN;
	return TRUE;
}

bool stepup_app_password_shape(const char *password)
{
	return code_shape(password, 8);
}

static const char *recovery_hash(const char *salt, const char *code)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN];
	const char *p;

	sha256_init(&ctx);
	sha256_loop(&ctx, salt, strlen(salt));
	for (p = code; *p != '\0'; p++) {
		char c = i_tolower(*p);
		sha256_loop(&ctx, &c, 1);
	}
	sha256_result(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

static const char *const *
new_recovery_codes(struct state_record *rec)
{
	unsigned char salt[16];
	const char **codes;
	const char *hash;
	unsigned int i;

	random_fill(salt, sizeof(salt));
	rec->recovery_salt = binary_to_hex(salt, sizeof(salt));
	array_clear(&rec->recovery);
	codes = t_new(const char *, STEPUP_RECOVERY_CODES + 1);
	for (i = 0; i < STEPUP_RECOVERY_CODES; i++) {
		codes[i] = random_code(3);
		hash = recovery_hash(rec->recovery_salt, codes[i]);
		array_push_back(&rec->recovery, &hash);
	}
	return codes;
}

/* Constant time over every stored hash. */
static int recovery_find(struct state_record *rec, const char *code)
{
	const char *hash = recovery_hash(rec->recovery_salt, code);
	const char *const *h;
	int found = -1;
	unsigned int i = 0;

	array_foreach(&rec->recovery, h) {
		if (mem_equals_timing_safe(*h, hash, 64))
			found = i;
		i++;
	}
	return found;
}

int stepup_state_reconnect_hash(struct stepup_state *state, const char *user,
				const char *ip, const char *password,
				const char **hash_r, const char **error_r)
{
	struct hmac_context ctx;
	unsigned char digest[SHA256_RESULTLEN];
	const unsigned char *key;
	size_t key_size;

	if (state->v->get_key(state, &key, &key_size, error_r) < 0)
		return -1;
	hmac_init(&ctx, key, key_size, &hash_method_sha256);
	hmac_update(&ctx, user, strlen(user) + 1);
	hmac_update(&ctx, ip, strlen(ip) + 1);
	hmac_update(&ctx, password, strlen(password));
	hmac_final(&ctx, digest);
	*hash_r = binary_to_hex(digest, sizeof(digest));
	return 0;
}

/* Drop grants past reconnect or reconnect_idle; keep at most 32. */
static void grants_prune(struct state_record *rec,
			 const struct stepup_totp_settings *set, time_t now)
{
	const struct state_grant *g;
	unsigned int i;

	for (i = 0; i < array_count(&rec->grants); ) {
		g = array_idx(&rec->grants, i);
		if (set->reconnect_secs == 0 ||
		    now > g->created + (time_t)set->reconnect_secs ||
		    now > g->last_used + (time_t)set->reconnect_idle_secs ||
		    g->created > now + 60)
			array_delete(&rec->grants, i, 1);
		else
			i++;
	}
	while (array_count(&rec->grants) >= 32)
		array_delete(&rec->grants, 0, 1);
}

static struct state_grant *
grant_find(struct state_record *rec, const char *hash)
{
	struct state_grant *g, *found = NULL;

	array_foreach_modifiable(&rec->grants, g) {
		if (mem_equals_timing_safe(g->hash, hash, 64))
			found = g;
	}
	return found;
}

int stepup_state_verify_code(struct stepup_state *state, const char *user,
			     const struct stepup_totp_settings *set,
			     const char *code, time_t now,
			     struct stepup_verify_info *info_r,
			     const char **error_r)
{
	return stepup_state_verify_code_reconnect(state, user, set, code,
						  NULL, now, info_r, error_r);
}

int stepup_state_verify_code_reconnect(struct stepup_state *state,
				       const char *user,
				       const struct stepup_totp_settings *set,
				       const char *code,
				       const struct stepup_reconnect *rc,
				       time_t now,
				       struct stepup_verify_info *info_r,
				       const char **error_r)
{
	struct stepup_totp_settings rec_set;
	struct state_txn txn;
	struct state_record *rec;
	uint64_t counter = 0;
	int ret, idx;
	bool behind;

	i_zero(info_r);
	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	rec = &txn.rec;
	if (!rec->enrolled) {
		info_r->result = STEPUP_VERIFY_NOT_ENROLLED;
		txn_end(&txn);
		return 0;
	}
	if (rec->locked_until > now) {
		info_r->result = STEPUP_VERIFY_LOCKED;
		info_r->locked_until = rec->locked_until;
		info_r->failures = rec->failures;
		txn_end(&txn);
		return 0;
	}
	if (rec->locked_until != 0) {
		/* the lockout is over */
		info_r->lock_ended = rec->locked_until;
		rec->locked_until = 0;
		rec->failures = 0;
	}
	grants_prune(rec, set, now);
	if (rc != NULL && set->reconnect_secs > 0 &&
	    strlen(rc->hash) == 64) {
		struct state_grant *g = grant_find(rec, rc->hash);

		if (g != NULL) {
			g->last_used = now;
			info_r->result = STEPUP_VERIFY_RECONNECT;
			info_r->mfa_time = g->created;
			ret = txn_commit(&txn, error_r);
			txn_end(&txn);
			return ret < 0 ? -1 : 0;
		}
	}

	if (strlen(code) == STEPUP_RECOVERY_CODE_LEN && code_shape(code, 3) &&
	    rec->recovery_salt != NULL) {
		idx = recovery_find(rec, code);
		ret = idx < 0 ? 0 : 1;
		if (idx >= 0) {
			array_delete(&rec->recovery, idx, 1);
			info_r->recovery_code_used = TRUE;
		}
	} else {
		/* the enrollment's own parameters, the policy's limits */
		rec_set = *set;
		rec_set.algorithm = rec->algorithm;
		rec_set.digits = rec->digits;
		rec_set.period = rec->period;
		ret = stepup_totp_verify(&rec_set, rec->secret->data,
					 rec->secret->used, now, code,
					 &counter, error_r);
		behind = rec->last_counter > 0 && rec_set.period > 0 &&
			(uint64_t)now / rec_set.period < rec->last_counter;
		/* behind by more than a code within the window explains
		   (a phone a step ahead is not the server's clock) */
		info_r->clock_behind = behind &&
			(uint64_t)now / rec_set.period + rec_set.window <
			rec->last_counter;
		if (ret == 0 && behind) {
			/* This server's clock is behind the step of the last
			   accepted code (stepped back): the user's current
			   code is "in the future" here. Look around that
			   step instead: an older code is a replay, never a
			   failure; the next steps are codes the user really
			   sees now. */
			ret = stepup_totp_verify(&rec_set, rec->secret->data,
				rec->secret->used,
				(time_t)(rec->last_counter * rec_set.period),
				code, &counter, error_r);
		}
		if (ret < 0) {
			txn_end(&txn);
			return -1;
		}
		if (ret > 0 && counter <= rec->last_counter) {
			/* RFC 6238 §5.2: never accept a code twice */
			info_r->result = STEPUP_VERIFY_REPLAY;
			info_r->counter = counter;
			txn_end(&txn);
			return 0;
		}
	}
	info_r->recovery_codes_left = array_count(&rec->recovery);
	if (ret > 0) {
		if (counter > rec->last_counter)
			rec->last_counter = counter;
		rec->last_used = now;
		rec->failures = 0;
		info_r->result = STEPUP_VERIFY_OK;
		info_r->counter = counter;
		info_r->mfa_time = now;
		if (rc != NULL && set->reconnect_secs > 0 &&
		    strlen(rc->hash) == 64) {
			struct state_grant *g =
				array_append_space(&rec->grants);

			g->hash = t_strdup(rc->hash);
			g->ip = t_strdup(rc->ip);
			g->created = g->last_used = now;
		}
	} else {
		rec->failures++;
		if (rec->failures >= set->max_failures)
			rec->locked_until = now + set->lockout_secs;
		info_r->result = STEPUP_VERIFY_WRONG;
		info_r->failures = rec->failures;
		info_r->locked_until = rec->locked_until;
	}
	/* persisted before the answer */
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : 0;
}

/* ---- enrollment */

static int
state_enroll(struct stepup_state *state, const char *user,
	     const struct stepup_totp_settings *set,
	     const unsigned char *secret, size_t secret_len,
	     uint64_t confirmed_counter, time_t now, bool replace,
	     const char *const **recovery_codes_r, const char **error_r)
{
	struct state_txn txn;
	int ret;

	if (secret_len < STEPUP_TOTP_SECRET_MIN ||
	    secret_len > STEPUP_TOTP_SECRET_MAX) {
		*error_r = "bad secret length";
		return -1;
	}
	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	if (txn.rec.enrolled != replace) {
		txn_end(&txn);
		return 0;
	}
	/* a new enrollment replaces everything the old secret gave */
	state_buffer_wipe(txn.rec.secret);
	txn.rec.enrolled = TRUE;
	txn.rec.algorithm = set->algorithm;
	txn.rec.digits = set->digits;
	txn.rec.period = set->period;
	buffer_append(txn.rec.secret, secret, secret_len);
	txn.rec.enrolled_at = now;
	txn.rec.last_counter = confirmed_counter;
	txn.rec.failures = 0;
	txn.rec.locked_until = 0;
	array_clear(&txn.rec.grants);
	/* approval grants and pending requests too (SPEC: stepup reset
	   and a new enrollment end them) */
	array_clear(&txn.rec.approvals);
	*recovery_codes_r = new_recovery_codes(&txn.rec);
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : 1;
}

int stepup_state_enroll(struct stepup_state *state, const char *user,
			const struct stepup_totp_settings *set,
			const unsigned char *secret, size_t secret_len,
			uint64_t confirmed_counter, time_t now,
			const char *const **recovery_codes_r,
			const char **error_r)
{
	return state_enroll(state, user, set, secret, secret_len,
			    confirmed_counter, now, FALSE, recovery_codes_r,
			    error_r);
}

int stepup_state_reenroll(struct stepup_state *state, const char *user,
			  const struct stepup_totp_settings *set,
			  const unsigned char *secret, size_t secret_len,
			  uint64_t confirmed_counter, time_t now,
			  const char *const **recovery_codes_r,
			  const char **error_r)
{
	return state_enroll(state, user, set, secret, secret_len,
			    confirmed_counter, now, TRUE, recovery_codes_r,
			    error_r);
}

int stepup_state_new_recovery_codes(struct stepup_state *state,
				    const char *user,
				    const char *const **recovery_codes_r,
				    const char **error_r)
{
	struct state_txn txn;
	int ret;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	if (!txn.rec.enrolled) {
		txn_end(&txn);
		return 0;
	}
	*recovery_codes_r = new_recovery_codes(&txn.rec);
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : 1;
}

int stepup_state_reset(struct stepup_state *state, const char *user,
		       const char **error_r)
{
	struct state_txn txn;
	bool had;
	int ret;

	if (txn_begin(state, user, &txn, error_r) < 0) {
		/* a corrupt record is what reset is for */
		int lock;

		if (state->v->lock(state, user, &lock, error_r) < 0)
			return -1;
		ret = state->v->write(state, user, t_str_new(1), error_r);
		state->v->unlock(state, &lock);
		return ret < 0 ? -1 : 1;
	}
	had = txn.rec.enrolled || txn.rec.failures != 0 ||
		txn.rec.locked_until != 0;
	txn.rec.enrolled = FALSE;
	state_buffer_wipe(txn.rec.secret);
	txn.rec.recovery_salt = NULL;
	array_clear(&txn.rec.recovery);
	txn.rec.last_counter = 0;
	txn.rec.failures = 0;
	txn.rec.locked_until = 0;
	had = had || array_count(&txn.rec.grants) > 0 ||
		array_count(&txn.rec.approvals) > 0;
	array_clear(&txn.rec.grants);
	array_clear(&txn.rec.approvals);
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : (had ? 1 : 0);
}

int stepup_state_unlock(struct stepup_state *state, const char *user,
			const char **error_r)
{
	struct state_txn txn;
	bool had;
	int ret;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	had = txn.rec.failures != 0 || txn.rec.locked_until != 0;
	if (!had) {
		txn_end(&txn);
		return 0;
	}
	txn.rec.failures = 0;
	txn.rec.locked_until = 0;
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : 1;
}

int stepup_state_get_status(struct stepup_state *state, const char *user,
			    struct stepup_user_status *status_r,
			    const char **error_r)
{
	struct state_record rec;
	const struct state_app *app;
	int ret;

	i_zero(status_r);
	t_array_init(&status_r->app_passwords, 4);
	t_array_init(&status_r->grants, 4);
	t_array_init(&status_r->approvals, 4);
	if ((ret = state_record_read(state, user, &rec, error_r)) <= 0)
		return ret;
	status_r->enrolled = rec.enrolled;
	status_r->algorithm = rec.algorithm;
	status_r->digits = rec.digits;
	status_r->period = rec.period;
	status_r->enrolled_at = rec.enrolled_at;
	status_r->last_used = rec.last_used;
	status_r->failures = rec.failures;
	status_r->locked_until = rec.locked_until;
	status_r->recovery_codes_left = array_count(&rec.recovery);
	array_foreach(&rec.apps, app) {
		struct stepup_app_password_info *info =
			array_append_space(&status_r->app_passwords);

		info->label = app->label;
		info->created = app->created;
		info->expires = app->expires;
		info->last_used = app->last_used;
		info->last_ip = app->last_ip[0] == '\0' ? NULL : app->last_ip;
		info->networks = app->networks[0] == '\0' ? NULL :
			app->networks;
		info->protocols = app->protocols[0] == '\0' ? NULL :
			app->protocols;
	}
	{
		const struct state_grant *g;

		array_foreach(&rec.grants, g) {
			struct stepup_grant_info *gi =
				array_append_space(&status_r->grants);

			gi->ip = g->ip;
			gi->created = g->created;
			gi->last_used = g->last_used;
		}
	}
	array_append_array(&status_r->approvals, &rec.approvals);
	state_record_wipe(&rec);
	return 1;
}

/* ---- app passwords */

static bool list_has(const char *list, const char *item)
{
	const char *const *p;

	if (list[0] == '\0')
		return TRUE;
	if (item == NULL)
		return FALSE;
	for (p = t_strsplit(list, ","); *p != NULL; p++) {
		if (strcmp(*p, item) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool nets_have(const char *list, const struct ip_addr *ip)
{
	const char *const *p;
	struct ip_addr net;
	unsigned int bits;

	if (list[0] == '\0')
		return TRUE;
	if (ip == NULL || ip->family == 0)
		return FALSE;
	for (p = t_strsplit(list, ","); *p != NULL; p++) {
		if (net_parse_range(*p, &net, &bits) == 0 &&
		    net_is_in_network(ip, &net, bits))
			return TRUE;
	}
	return FALSE;
}

static bool crypt_matches(const char *password, const char *hash)
{
	struct crypt_data *data = i_new(struct crypt_data, 1);
	const char *out;
	bool ret;

	out = crypt_rn(password, hash, data, sizeof(*data));
	ret = out != NULL && out[0] != '*' && strlen(out) == strlen(hash) &&
		mem_equals_timing_safe(out, hash, strlen(hash));
	safe_memset(data, 0, sizeof(*data));
	i_free(data);
	return ret;
}

int stepup_state_verify_app_password(struct stepup_state *state,
				     const char *user, const char *password,
				     const struct ip_addr *remote_ip,
				     const char *protocol, time_t now,
				     const char **label_r,
				     const char **error_r)
{
	struct state_txn txn;
	struct state_app *app;
	int ret = 0;

	if (!stepup_app_password_shape(password))
		return 0;
	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	array_foreach_modifiable(&txn.rec.apps, app) {
		if (app->expires != 0 && app->expires <= now)
			continue;
		if (!list_has(app->protocols, protocol) ||
		    !nets_have(app->networks, remote_ip))
			continue;
		if (!crypt_matches(password, app->hash))
			continue;
		app->last_used = now;
		app->last_ip = remote_ip == NULL || remote_ip->family == 0 ?
			"" : net_ip2addr(remote_ip);
		*label_r = app->label;
		ret = txn_commit(&txn, error_r) < 0 ? -1 : 1;
		break;
	}
	txn_end(&txn);
	return ret;
}

int stepup_state_app_password_add(struct stepup_state *state,
				  const char *user, const char *label,
				  time_t expires, const char *networks,
				  const char *protocols, time_t now,
				  const char **password_r,
				  const char **error_r)
{
	struct crypt_data *data;
	struct state_txn txn;
	struct state_app *app;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *password, *hash;
	int ret;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	array_foreach_modifiable(&txn.rec.apps, app) {
		if (strcmp(app->label, label) == 0) {
			txn_end(&txn);
			return 0;
		}
	}
	password = random_code(8);
	data = i_new(struct crypt_data, 1);
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL ||
	    (hash = crypt_rn(password, setting, data, sizeof(*data))) == NULL ||
	    hash[0] == '*') {
		*error_r = "crypt() failed";
		i_free(data);
		txn_end(&txn);
		return -1;
	}
	app = array_append_space(&txn.rec.apps);
	app->label = t_strdup(label);
	app->hash = t_strdup(hash);
	safe_memset(data, 0, sizeof(*data));
	i_free(data);
	app->created = now;
	app->expires = expires;
	app->networks = networks == NULL ? "" : networks;
	app->protocols = protocols == NULL ? "" : protocols;
	app->last_ip = "";
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	if (ret < 0)
		return -1;
	*password_r = password;
	return 1;
}

int stepup_state_app_password_revoke(struct stepup_state *state,
				     const char *user, const char *label,
				     const char **error_r)
{
	struct state_txn txn;
	const struct state_app *app;
	unsigned int i = 0;
	int ret = 0;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	array_foreach(&txn.rec.apps, app) {
		if (strcmp(app->label, label) == 0) {
			array_delete(&txn.rec.apps, i, 1);
			ret = txn_commit(&txn, error_r) < 0 ? -1 : 1;
			break;
		}
		i++;
	}
	txn_end(&txn);
	return ret;
}

/* ---- invitations */

/* bound to the user: another user's code never matches */
static const char *invite_hash(const char *user, const char *code)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN];
	const char *p;

	sha256_init(&ctx);
	sha256_loop(&ctx, "stepup-invite", 14);
	sha256_loop(&ctx, user, strlen(user) + 1);
	for (p = code; *p != '\0'; p++) {
		char c = i_tolower(*p);
		sha256_loop(&ctx, &c, 1);
	}
	sha256_result(&ctx, digest);
	safe_memset(&ctx, 0, sizeof(ctx));
	return binary_to_hex(digest, sizeof(digest));
}

int stepup_state_invite_add(struct stepup_state *state, const char *user,
			    time_t expires, time_t now, const char **code_r,
			    const char **error_r)
{
	struct state_txn txn;
	const char *code;
	int ret;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	code = random_code(4);
	txn.rec.invite.hash = invite_hash(user, code);
	txn.rec.invite.created = now;
	txn.rec.invite.expires = expires;
	txn.rec.invite.used = 0;
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	if (ret < 0)
		return -1;
	*code_r = code;
	return 0;
}

int stepup_state_invite_check(struct stepup_state *state, const char *user,
			      const char *code, time_t now, bool redeem,
			      enum stepup_invite_result *result_r,
			      const char **error_r)
{
	struct state_txn txn;
	struct state_invite *inv;
	bool match;
	int ret = 0;

	*result_r = STEPUP_INVITE_WRONG;
	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	inv = &txn.rec.invite;
	match = inv->hash[0] != '\0' && code_shape(code, 4) &&
		mem_equals_timing_safe(inv->hash, invite_hash(user, code), 64);
	if (inv->hash[0] == '\0')
		*result_r = STEPUP_INVITE_NONE;
	else if (!match)
		*result_r = STEPUP_INVITE_WRONG;
	else if (inv->used != 0)
		*result_r = STEPUP_INVITE_USED;
	else if (inv->expires != 0 && inv->expires <= now)
		*result_r = STEPUP_INVITE_EXPIRED;
	else {
		*result_r = STEPUP_INVITE_OK;
		if (redeem) {
			inv->used = now;
			ret = txn_commit(&txn, error_r);
		}
	}
	txn_end(&txn);
	return ret < 0 ? -1 : 0;
}

const char *stepup_invite_result_reason(enum stepup_invite_result result)
{
	switch (result) {
	case STEPUP_INVITE_OK:
		return "invitation accepted";
	case STEPUP_INVITE_NONE:
		return "no invitation for this user";
	case STEPUP_INVITE_WRONG:
		return "wrong invitation code";
	case STEPUP_INVITE_USED:
		return "invitation code already used";
	case STEPUP_INVITE_EXPIRED:
		return "invitation code expired";
	}
	i_unreached();
}
