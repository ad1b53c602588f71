/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "hash.h"
#include "net.h"
#include "audit-anomalies.h"

#include <time.h>

/* a session with no record for this long is over */
#define SESSION_IDLE_SECS (60 * 60)

struct seen_net {
	char *net;
	time_t last;
};

struct failure {
	time_t t;
	char *where;
};
ARRAY_DEFINE_TYPE(failure, struct failure);

struct failures {
	ARRAY_TYPE(failure) list;
	bool flagged;	/* until the count drops below the threshold */
};

struct session_state {
	char *key, *user, *session, *ip, *login_where, *first_where;
	char *first_read_where;
	time_t first, last;
	unsigned int messages;
	uoff_t bytes;
	bool bulk_flagged, pair_flagged;
};

struct user_state {
	char *user;
	ARRAY(struct seen_net) nets;
	unsigned int logins, hours[24];
	struct failures fails;
	ARRAY(struct session_state *) sessions;
};

struct stepup_anomalies {
	struct stepup_anomaly_settings set;
	char *since;
	stepup_anomaly_callback_t *callback;
	void *context;
	HASH_TABLE(char *, struct user_state *) users;
	HASH_TABLE(char *, struct failures *) addr_fails;
};

struct stepup_anomalies *
stepup_anomalies_init(const struct stepup_anomaly_settings *set,
		      const char *since, stepup_anomaly_callback_t *callback,
		      void *context)
{
	struct stepup_anomalies *an;

	an = i_new(struct stepup_anomalies, 1);
	an->set = *set;
	an->since = i_strdup(since);
	an->callback = callback;
	an->context = context;
	hash_table_create(&an->users, default_pool, 0, str_hash, strcmp);
	hash_table_create(&an->addr_fails, default_pool, 0, str_hash, strcmp);
	return an;
}

static void failures_free(struct failures *f)
{
	struct failure *fail;

	array_foreach_modifiable(&f->list, fail)
		i_free(fail->where);
	array_free(&f->list);
}

static void session_free(struct session_state *s)
{
	i_free(s->key);
	i_free(s->user);
	i_free(s->session);
	i_free(s->ip);
	i_free(s->login_where);
	i_free(s->first_where);
	i_free(s->first_read_where);
	i_free(s);
}

void stepup_anomalies_deinit(struct stepup_anomalies **_an)
{
	struct stepup_anomalies *an = *_an;
	struct hash_iterate_context *iter;
	struct user_state *us;
	struct failures *f;
	struct session_state *s;
	struct seen_net *net;
	char *key;

	*_an = NULL;
	iter = hash_table_iterate_init(an->users);
	while (hash_table_iterate(iter, an->users, &key, &us)) {
		array_foreach_modifiable(&us->nets, net)
			i_free(net->net);
		array_free(&us->nets);
		array_foreach_elem(&us->sessions, s)
			session_free(s);
		array_free(&us->sessions);
		failures_free(&us->fails);
		i_free(us->user);
		i_free(us);
	}
	hash_table_iterate_deinit(&iter);
	iter = hash_table_iterate_init(an->addr_fails);
	while (hash_table_iterate(iter, an->addr_fails, &key, &f)) {
		failures_free(f);
		i_free(f);
		i_free(key);
	}
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&an->users);
	hash_table_destroy(&an->addr_fails);
	i_free(an->since);
	i_free(an);
}

static struct user_state *user_get(struct stepup_anomalies *an,
				   const char *user)
{
	struct user_state *us = hash_table_lookup(an->users, user);

	if (us == NULL) {
		us = i_new(struct user_state, 1);
		us->user = i_strdup(user);
		i_array_init(&us->nets, 4);
		i_array_init(&us->fails.list, 4);
		i_array_init(&us->sessions, 4);
		hash_table_insert(an->users, us->user, us);
	}
	return us;
}

static void report(struct stepup_anomalies *an,
		   const struct stepup_audit_entry *e, const char *kind,
		   const char *detail, const char *const *records)
{
	struct stepup_anomaly a;

	if (an->since != NULL && strcmp(e->ts, an->since) < 0)
		return;
	i_zero(&a);
	a.kind = kind;
	a.user = e->rec.user;
	a.ts = e->ts;
	a.ip = e->rec.ip;
	a.session = e->rec.session;
	a.detail = detail;
	a.records = records;
	an->callback(&a, an->context);
}

/* the address, or its network of the configured prefix */
static const char *network_of(const struct stepup_anomalies *an,
			      const char *ip)
{
	struct ip_addr addr, net;
	unsigned int bits;

	if (net_addr2ip(ip, &addr) < 0)
		return ip;
	bits = IPADDR_IS_V4(&addr) ? an->set.network_prefix_v4 :
		an->set.network_prefix_v6;
	if (bits >= (IPADDR_IS_V4(&addr) ? 32U : 128U))
		return net_ip2addr(&addr);
	net = addr;
	if (IPADDR_IS_V4(&net)) {
		net.u.ip4.s_addr &= htonl(bits == 0 ? 0 :
					  0xffffffffU << (32 - bits));
	} else {
		unsigned char *b = (unsigned char *)&net.u.ip6;
		unsigned int i;

		for (i = 0; i < 16; i++) {
			if (bits >= 8)
				bits -= 8;
			else {
				b[i] &= (unsigned char)(0xff << (8 - bits));
				bits = 0;
			}
		}
	}
	return t_strdup_printf("%s/%u", net_ip2addr(&net),
			       IPADDR_IS_V4(&addr) ? an->set.network_prefix_v4 :
			       an->set.network_prefix_v6);
}

static void check_new_address(struct stepup_anomalies *an,
			      struct user_state *us,
			      const struct stepup_audit_entry *e,
			      const char *where, time_t t)
{
	const char *net = network_of(an, e->rec.ip);
	time_t horizon = t - (time_t)an->set.new_address_days * 86400;
	struct seen_net *seen, *found = NULL;
	bool baseline = FALSE;

	array_foreach_modifiable(&us->nets, seen) {
		if (seen->last >= horizon)
			baseline = TRUE;
		if (strcmp(seen->net, net) == 0)
			found = seen;
	}
	if (baseline && (found == NULL || found->last < horizon)) {
		const char *records[] = { where, NULL };

		report(an, e, "new_address", t_strdup_printf(
			"login from %s, not seen for this user in the last "
			"%u days", net, an->set.new_address_days), records);
	}
	if (found == NULL) {
		struct seen_net new_net = { .net = i_strdup(net), .last = t };

		array_push_back(&us->nets, &new_net);
	} else {
		found->last = t;
	}
}

static void check_hours(struct stepup_anomalies *an, struct user_state *us,
			const struct stepup_audit_entry *e, const char *where,
			time_t t)
{
	unsigned int hour = (unsigned int)((t / 3600) % 24), d;
	int i;
	bool usual = FALSE;

	if (us->logins >= an->set.usual_hours_min_logins) {
		for (i = -(int)an->set.hours_margin;
		     i <= (int)an->set.hours_margin; i++) {
			d = (hour + 24 + i) % 24;
			if (us->hours[d] > 0)
				usual = TRUE;
		}
		if (!usual) {
			const char *records[] = { where, NULL };

			report(an, e, "unusual_hour", t_strdup_printf(
				"login at %02u h UTC: none of the user's %u "
				"logins before was within %u h of it", hour,
				us->logins, an->set.hours_margin), records);
		}
	}
	us->logins++;
	us->hours[hour]++;
}

/* one more failure; TRUE (with its records) when it reaches limit */
static bool failures_add(struct failures *f, time_t t, const char *where,
			 unsigned int window, unsigned int limit,
			 const char *const **records_r)
{
	struct failure fail, *old;
	ARRAY_TYPE(const_string) records;

	while (array_count(&f->list) > 0) {
		old = array_front_modifiable(&f->list);
		if (old->t + (time_t)window > t)
			break;
		i_free(old->where);
		array_pop_front(&f->list);
	}
	fail.t = t;
	fail.where = i_strdup(where);
	array_push_back(&f->list, &fail);
	if (array_count(&f->list) < limit) {
		f->flagged = FALSE;
		return FALSE;
	}
	if (f->flagged)
		return FALSE;
	f->flagged = TRUE;
	t_array_init(&records, array_count(&f->list) + 1);
	array_foreach_modifiable(&f->list, old)
		array_push_back(&records, (const char **)&old->where);
	array_append_zero(&records);
	*records_r = array_front(&records);
	return TRUE;
}

static void check_failed_code(struct stepup_anomalies *an,
			      struct user_state *us,
			      const struct stepup_audit_entry *e,
			      const char *where, time_t t)
{
	const struct stepup_anomaly_settings *set = &an->set;
	const char *const *records;
	struct failures *f;

	if (failures_add(&us->fails, t, where, set->failed_window_secs,
			 set->failed_codes_account, &records)) {
		report(an, e, "failed_codes", t_strdup_printf(
			"%u wrong codes for this account within %u s",
			set->failed_codes_account, set->failed_window_secs),
		       records);
	}
	if (e->rec.ip == NULL)
		return;
	f = hash_table_lookup(an->addr_fails, e->rec.ip);
	if (f == NULL) {
		f = i_new(struct failures, 1);
		i_array_init(&f->list, 4);
		hash_table_insert(an->addr_fails, i_strdup(e->rec.ip), f);
	}
	if (failures_add(f, t, where, set->failed_window_secs,
			 set->failed_codes_address, &records)) {
		report(an, e, "failed_codes", t_strdup_printf(
			"%u wrong codes from %s within %u s (any account)",
			set->failed_codes_address, e->rec.ip,
			set->failed_window_secs), records);
	}
}

static struct session_state *
session_get(struct user_state *us, const struct stepup_audit_entry *e,
	    const char *where, time_t t)
{
	struct session_state *s, *const *sp;
	unsigned int i;

	/* sessions over are forgotten */
	for (i = 0; i < array_count(&us->sessions); ) {
		sp = array_idx(&us->sessions, i);
		if ((*sp)->last + SESSION_IDLE_SECS < t &&
		    strcmp((*sp)->session, e->rec.session) != 0) {
			session_free(*sp);
			array_delete(&us->sessions, i, 1);
		} else {
			i++;
		}
	}
	array_foreach_elem(&us->sessions, s) {
		if (strcmp(s->session, e->rec.session) == 0 &&
		    strcmp(s->ip, e->rec.ip) == 0)
			return s;
	}
	s = i_new(struct session_state, 1);
	s->user = i_strdup(e->rec.user);
	s->session = i_strdup(e->rec.session);
	s->ip = i_strdup(e->rec.ip);
	s->first_where = i_strdup(where);
	s->first = t;
	s->last = t;
	array_push_back(&us->sessions, &s);
	return s;
}

static void check_two_addresses(struct stepup_anomalies *an,
				struct user_state *us,
				struct session_state *s,
				const struct stepup_audit_entry *e)
{
	struct session_state *other;

	if (s->pair_flagged)
		return;
	array_foreach_elem(&us->sessions, other) {
		if (other == s || strcmp(other->ip, s->ip) == 0 ||
		    other->last < s->first)
			continue;
		{
			const char *records[] = {
				other->first_where, s->first_where, NULL
			};

			report(an, e, "two_addresses", t_strdup_printf(
				"active from %s (session %s) and from %s "
				"(session %s) at once", other->ip,
				other->session, s->ip, s->session), records);
		}
		s->pair_flagged = TRUE;
		other->pair_flagged = TRUE;
		return;
	}
}

static void check_bulk(struct stepup_anomalies *an, struct session_state *s,
		       const struct stepup_audit_entry *e, const char *where)
{
	const struct stepup_audit_record *r = &e->rec;

	if (s->first_read_where == NULL)
		s->first_read_where = i_strdup(where);
	s->messages += r->count > 0 ? r->count : 1;
	s->bytes += r->size;
	if (s->bulk_flagged ||
	    (s->messages <= an->set.bulk_messages &&
	     s->bytes <= (uoff_t)an->set.bulk_mb * 1024 * 1024))
		return;
	s->bulk_flagged = TRUE;
	{
		const char *records[] = {
			s->login_where != NULL ? s->login_where :
				s->first_where,
			s->first_read_where, where, NULL
		};

		report(an, e, "bulk_read", t_strdup_printf(
			"session read %u messages (%"PRIuUOFF_T" bytes) from "
			"audited folders: more than %u messages or %u MB",
			s->messages, s->bytes, an->set.bulk_messages,
			an->set.bulk_mb), records);
	}
}

void stepup_anomalies_add(struct stepup_anomalies *an,
			  const struct stepup_audit_entry *e,
			  const char *where)
{
	const struct stepup_audit_record *r = &e->rec;
	struct user_state *us;
	struct session_state *s = NULL;
	time_t t = stepup_audit_ts_parse(e->ts);
	bool login_allow;

	if (t < 0 || r->user == NULL)
		return;
	us = user_get(an, r->user);
	login_allow = strcmp(r->event, "login") == 0 &&
		null_strcmp(r->decision, "allow") == 0 && r->ip != NULL;
	if (strcmp(r->event, "login") == 0 &&
	    null_strcmp(r->decision, "deny") == 0 && r->reason != NULL &&
	    str_begins_with(r->reason, "wrong code"))
		check_failed_code(an, us, e, where, t);

	if (r->session != NULL && r->ip != NULL &&
	    (login_allow || strcmp(r->event, "open") == 0 ||
	     strcmp(r->event, "read") == 0)) {
		s = session_get(us, e, where, t);
		s->last = t;
		if (login_allow && s->login_where == NULL)
			s->login_where = i_strdup(where);
		check_two_addresses(an, us, s, e);
	}
	if (login_allow) {
		check_new_address(an, us, e, where, t);
		check_hours(an, us, e, where, t);
	}
	if (s != NULL && strcmp(r->event, "read") == 0)
		check_bulk(an, s, e, where);
}
