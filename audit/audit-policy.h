#ifndef AUDIT_POLICY_H
#define AUDIT_POLICY_H

#include "stepup-audit.h"

struct stepup_policy;

/* A "policy" record: the policy at path was loaded (old NULL), reloaded
   (old the one before), or a reload was refused (new_policy NULL, error
   why; the old one stays). The reason names the file's SHA-256 and a
   change of mode. service names the process ("auth"). */
int stepup_audit_policy_change(struct stepup_audit *audit, const char *path,
			       const char *service,
			       const struct stepup_policy *old,
			       const struct stepup_policy *new_policy,
			       const char *error, const char **error_r);

#endif
