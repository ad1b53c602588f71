#ifndef STEPUP_APPROVAL_CONFIG_H
#define STEPUP_APPROVAL_CONFIG_H

#include "stepup-policy.h"
#include "approval-key.h"

/* The policy's approval block seen by the approval client: syntax checks
   the policy parser runs, the file checks of "stepup policy check", and
   loading the keys. */

#define STEPUP_APPROVAL_PINS_MAX 16

/* approval.pin: 1..16 values "sha256//" + the base64 of 32 bytes,
   separated by ';' (what CURLOPT_PINNEDPUBLICKEY takes). */
int stepup_approval_pin_check(const char *pin, const char **error_r);

/* What "stepup policy check" looks at beyond the syntax (run it as the
   user of the stepup-audit service, or as root): the URL, every key file
   (owner, mode, 32..4096 bytes), the CA file and the client certificate
   (regular files not writable by others, holding a PEM certificate), the
   client key (a secret: not readable by others; a PEM private key).
   Appends one line per problem to problems (data stack). */
void stepup_approval_settings_check(const struct stepup_approval_settings *set,
				    ARRAY_TYPE(const_string) *problems);

/* Load every listed key, in order (the first signs). */
int stepup_approval_keyring_load(const struct stepup_approval_settings *set,
				 struct stepup_approval_keyring **keyring_r,
				 const char **error_r);

#endif
