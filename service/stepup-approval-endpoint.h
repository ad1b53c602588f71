#ifndef STEPUP_APPROVAL_ENDPOINT_H
#define STEPUP_APPROVAL_ENDPOINT_H

#include "stepup-enroll.h"

struct asvc_request;
struct asvc_rules;
struct stepup_policy;
struct stepup_policy_cache;
struct stepup_approval_keyring;

/* stepup-approval-policy.c: what the service takes from the policy */
void stepup_approval_rules_init(struct asvc_rules *rules,
				struct stepup_policy_cache *cache);
/* The keys of approval.keys / approval.key_file (read as root, at
   start). */
int stepup_approval_load_keys(const struct stepup_policy *policy,
			      struct stepup_approval_keyring **keyring_r,
			      const char **error_r);

/* stepup-approval-admin.c: the admin socket (stepup approval approve) */
struct asvc_store;
struct master_service_connection;
void stepup_approval_admin_init(struct asvc_store *store,
				const struct asvc_rules *rules,
				struct event *event);
void stepup_approval_admin_deinit(void);
void stepup_approval_admin_connected(struct master_service_connection *conn);

/* stepup-approval-webhook.c: POST each new request to webhook=URL */
void stepup_approval_webhook_init(const char *url, const char *ca_file,
				  unsigned int timeout_secs,
				  const struct stepup_approval_keyring *keyring,
				  struct event *event);
void stepup_approval_webhook_deinit(void);
void stepup_approval_webhook(const char *json);

/* stepup-approval-notify.c: tell approvers of a new request */
void stepup_approval_notify_init(const char *command,
				 unsigned int timeout_secs,
				 struct event *event);
void stepup_approval_notify_deinit(void);
void stepup_approval_notify(const struct asvc_request *req);

/* stepup-approval-notice.c: enrollment.notify for the enrollment page,
   delivered by a child process (the service never waits for LMTP);
   failed is called (in the service) for a notice that was not
   delivered */
typedef void stepup_approval_notice_failed_t(const char *user,
					     const char *error);
void stepup_approval_notice_init(stepup_approval_notice_failed_t *failed,
				 struct event *event);
void stepup_approval_notice_deinit(void);
void stepup_approval_notice_send(const char *lmtp,
				 enum stepup_notice_kind kind,
				 const char *user, const char *detail);

#endif
