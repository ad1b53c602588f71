#ifndef ASVC_PAGE_APPPW_H
#define ASVC_PAGE_APPPW_H

#include "stepup-state.h"

struct asvc_session;

/* The HTML of the app passwords page: the new password once (label and
   password set), the list with a revoke form each (apps NULL: none
   could be read), the form for a new one. */
void asvc_page_apppw(string_t *out, const struct asvc_session *session,
		     const ARRAY_TYPE(stepup_app_password_info) *apps,
		     const char *const *protocols, unsigned int max_days,
		     const char *label, const char *password,
		     const char *notice, bool error, time_t now);

#endif
