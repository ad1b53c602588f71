#ifndef STEPUP_AUDIT_CLIENT_H
#define STEPUP_AUDIT_CLIENT_H

#include "audit-proto.h"

/* A mail process's connection to the stepup-audit service
   (service/stepup-audit.c), opened on first use and again after an
   error. Each record waits for the service's answer (5 s at most). */
/* Every connection starts with a hello for user and session with the
   session's audit token (NULL: none, e.g. doveadm; the service then
   accepts only admin records). */
struct stepup_audit_client *
stepup_audit_client_init(const char *socket_path, const char *user,
			 const char *session, const char *token);
void stepup_audit_client_deinit(struct stepup_audit_client **client);

/* 0 = the record is in the log; -1 = it is not (error_r). */
int stepup_audit_client_send(struct stepup_audit_client *client,
			     const struct stepup_audit_record *rec,
			     const char **error_r);

/* Count one message body read against a fetch_limit, and up to
   req->want - 1 more reads the session may make without asking (a lease
   good until end_r): 1 = granted_r reads counted, 0 = over the limit,
   -1 = no answer (error_r). */
int stepup_audit_client_fetch(struct stepup_audit_client *client,
			      const struct stepup_fetch_request *req,
			      unsigned int *granted_r, time_t *end_r,
			      const char **error_r);
/* Give back reads granted on the current connection and not made (the
   session ends). Without a connection nothing is sent: they stay
   counted. */
void stepup_audit_client_release(struct stepup_audit_client *client,
				 const struct stepup_fetch_release *rel);

/* A message body read (event "read", audit/audit-proto.h): 0 = recorded,
   -1 = not (error_r). */
int stepup_audit_client_read(struct stepup_audit_client *client,
			     const struct stepup_audit_record *rec,
			     const char **error_r);
/* Whether a live approval grant opens the folder (ask->create FALSE):
   answer NONE or APPROVED. -1 = no answer (error_r). */
int stepup_audit_client_grant(struct stepup_audit_client *client,
			      const struct stepup_approval_ask *ask,
			      struct stepup_approval_answer *answer_r,
			      const char **error_r);

/* Ask for an approval (ask->create TRUE) on a connection of its own and
   wait for the decision, at most ask->wait_secs and a few seconds more;
   code_callback is called when the service says a request is pending.
   While waiting, client_fd (the user's connection, -1: none) is watched:
   if the client closes it the wait ends with -1. */
typedef void stepup_approval_code_callback_t(const char *code, void *context);
int stepup_audit_client_approval(struct stepup_audit_client *client,
				 const struct stepup_approval_ask *ask,
				 int client_fd,
				 stepup_approval_code_callback_t *code_callback,
				 void *context,
				 struct stepup_approval_answer *answer_r,
				 const char **error_r);

#endif
