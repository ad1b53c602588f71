#ifndef AUDIT_JSON_H
#define AUDIT_JSON_H

/* Reading one audit record: a JSON object whose values are strings,
   integers (read records' uid, count, size) or null, with Dovecot's JSON
   reader (one file per Dovecot version: audit-json-23.c,
   audit-json-24.c). */

/* value is NULL for a JSON null, an integer in decimal; key and value
   live on the data stack until stepup_audit_json_members() returns. */
typedef void stepup_audit_json_member_t(void *context, const char *key,
					const char *value);

/* Calls member() for each member of the object in text. Returns 0, -1 if a
   value is neither a string, a non-negative integer nor null, -2 with error_r if text is not a
   JSON object. */
int stepup_audit_json_members(const char *text,
			      stepup_audit_json_member_t *member,
			      void *context, const char **error_r);

#endif
