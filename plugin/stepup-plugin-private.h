#ifndef STEPUP_PLUGIN_PRIVATE_H
#define STEPUP_PLUGIN_PRIVATE_H

/* The mail plugin's objects, shared by its files (the acl plugin's
   layout): stepup-plugin.c the hooks, stepup-user.c the user and its
   session facts, stepup-mailbox.c the mailbox hooks, stepup-mailbox-list.c
   the listing hooks, stepup-mail.c the message reads. */

#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mailbox-list-private.h"
#include "seq-range-array.h"
#include "stepup-settings.h"
#include "stepup-audit.h"
#include "fetch-limit.h"
#include "stepup-policy.h"
#include "stepup-plugin.h"

#define MSG_NEED_TOTP \
	"This folder needs a recent two-step login: log in again with " \
	"your password followed by a one-time code."
#define MSG_NEED_APPROVAL \
	"This folder needs an approval, which is not available."
#define MSG_APPROVAL_ASK \
	"This folder needs an approval: open it (select it) to ask for one."
#define MSG_APPROVAL_PENDING \
	"This folder needs an approval and the request has not been " \
	"decided yet: open the folder again in a moment."
#define MSG_APPROVAL_DENIED \
	"The approval to open this folder was refused"
#define MSG_APPROVAL_FAILED \
	"This folder needs an approval, which cannot be obtained right " \
	"now: try again later."
#define MSG_NEED_TOTP_FIRST \
	"This folder needs a two-step login and then an approval: log in " \
	"again with your password followed by a one-time code."
#define MSG_OR_TOTP \
	" Or log in again with your password followed by a one-time " \
	"code: a two-step login opens it at once."
/* bytes of the endpoint's message shown to the user */
#define APPROVAL_MESSAGE_MAX 200
#define MSG_PROTECTED_CHILD \
	"This folder holds a protected folder: renaming or deleting it " \
	"needs the access that folder needs."
#define MSG_FETCH_LIMIT STEPUP_MSG_FETCH_LIMIT
#define MSG_NO_AUDIT \
	"This folder cannot be opened right now (audit log unavailable)."
#define MSG_NO_FACTS \
	"This folder cannot be opened right now (the server cannot " \
	"confirm how you logged in: tell your mail administrator)."
#define MSG_NO_POLICY \
	"This folder cannot be opened right now (access policy unavailable)."

struct stepup_counted {
	const char *vname;
	ARRAY_TYPE(seq_range) uids;
};

/* fetch_limit reads of one rule the stepup-audit service counted for
   the session ahead of time (audit/fetch-limit.h) */
struct stepup_rule_lease {
	const char *rule;
	struct stepup_fetch_lease lease;
};

struct stepup_user {
	union mail_user_module_context module_ctx;
	/* facts from the passdb (userdb fields stepup_*) */
	enum stepup_auth_level level;
	time_t mfa_time;
	const char *rule;
	/* deliveries, internal services (the FTS indexer) and admin tools
	   are not sessions of the user */
	bool delivery:1;
	bool admin:1;
	/* the passdb sent facts this process could not verify (no key,
	   no signature): a server problem, not the user's login */
	bool facts_unverified:1;
	/* in the stepup category, with its log prefix */
	struct event *event;
	struct stepup_policy_cache *policy_cache;
	/* folder decisions go to the audit log through this service */
	struct stepup_audit_client *audit;
	/* the session in every record: user, session, service, ip, auth */
	struct stepup_audit_record who;
	/* message bodies counted against a fetch_limit, each once */
	ARRAY(struct stepup_counted) counted;
	ARRAY(struct stepup_rule_lease) leases;
	/* reads refused by a fetch_limit so far (for imap_stepup) */
	unsigned int limit_refusals;
	/* the messages read in this session (plugin/stepup-reads.h) */
	struct stepup_reads *reads;
	/* the command being run may ask for an approval (SELECT, EXAMINE;
	   set by the imap_stepup plugin) */
	bool asking:1;
	/* the imap_stepup plugin: tells the client a request is pending,
	   and whose connection is watched while an open waits */
	stepup_approval_pending_callback_t *approval_pending;
	void *approval_context;
	int client_fd;
};

struct stepup_mailbox {
	union mailbox_module_context module_ctx;
	/* the fetch_limit of the rule that let the folder open: every
	   message body read from it is counted by the stepup-audit service,
	   each message once per session */
	const char *fetch_rule;
	unsigned int fetch_limit, fetch_window;
	bool fetch_enforce;
	/* message reads are recorded (a rule guards the folder, or
	   audit.reads = "all"), under this rule (NULL: none) */
	bool reads_audited;
	const char *reads_rule;
};

struct stepup_mailbox_list {
	union mailbox_list_module_context module_ctx;
};

#define STEPUP_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, stepup_user_module)
#define STEPUP_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_storage_module)
#define STEPUP_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_mail_module)
#define STEPUP_LIST_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_mailbox_list_module)

extern MODULE_CONTEXT_DEFINE(stepup_user_module, &mail_user_module_register);
extern MODULE_CONTEXT_DEFINE(stepup_mail_module, &mail_module_register);
extern MODULE_CONTEXT_DEFINE(stepup_storage_module,
			     &mail_storage_module_register);
extern MODULE_CONTEXT_DEFINE(stepup_mailbox_list_module,
			     &mailbox_list_module_register);

/* stepup-user.c */
void stepup_mail_user_created(struct mail_user *user);
/* The folder rule that applies to vname in ns for this session.
   -1 = no good policy (error_r). */
int stepup_user_folder_decide(struct mail_user *user,
			      struct stepup_user *suser,
			      struct mail_namespace *ns, const char *vname,
			      struct stepup_folder_decision *d_r,
			      const char **error_r);
/* A `deny` folder looks like no folder to the user's own sessions */
bool stepup_user_folder_is_hidden(struct mail_user *user,
				  struct mail_namespace *ns,
				  const char *vname);

/* stepup-mailbox.c */
void stepup_mailbox_allocated(struct mailbox *box);
/* Count the bodies read from box against the rule's fetch_limit. */
void stepup_mailbox_set_fetch_limit(struct mailbox *box,
				    const struct stepup_folder_decision *d);

/* stepup-mailbox-list.c */
void stepup_mailbox_list_created(struct mailbox_list *list);

/* stepup-mail.c */
void stepup_mail_allocated(struct mail *mail);
/* A message body is about to be read: -1 = refused (storage error set) */
int stepup_mail_count_read(struct mail *mail);
/* A message body is about to be read (how: "body", "binary", "copy to
   X"): a read record, once per message per session. -1 = refused
   (storage error set): a read that is not recorded is not given. */
int stepup_mail_record_read(struct mail *mail, const char *how);
/* The same for message uid of box (a search that reads every message) */
int stepup_mail_count_uid(struct mailbox *box, uint32_t uid);
/* gives back the fetch_limit reads counted ahead and not made (the
   session ends) */
void stepup_mail_release_leases(struct stepup_user *suser);

#endif
