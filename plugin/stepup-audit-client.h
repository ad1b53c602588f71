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

/* Count one message body read against a fetch_limit: 1 = within the
   limit, 0 = over it, -1 = no answer (error_r). */
int stepup_audit_client_fetch(struct stepup_audit_client *client,
			      const struct stepup_fetch_request *req,
			      const char **error_r);

/* A message body read (event "read", audit/audit-proto.h): 0 = recorded,
   -1 = not (error_r). */
int stepup_audit_client_read(struct stepup_audit_client *client,
			     const struct stepup_audit_record *rec,
			     const char **error_r);

#endif
