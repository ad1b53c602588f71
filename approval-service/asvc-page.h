#ifndef ASVC_PAGE_H
#define ASVC_PAGE_H

#include "asvc-request.h"

struct asvc_session;
struct asvc_rules;

/* The HTML of the approval page: server-side, no script, one style
   sheet (approval.css, relative, so the page works under a reverse
   proxy's prefix). Every string from a request or a person goes through
   asvc_html(). */

/* Every page: the document head, the header (who is signed in, the
   sign-out form; the links to the other pages for sessions signed in
   with a code), then <main>; asvc_page_end() closes it. */
void asvc_page_begin(string_t *out, const char *title,
		     const struct asvc_session *session);
void asvc_page_end(string_t *out);
/* notice: a sentence to show (NULL: none); error: as an error */
void asvc_page_notice(string_t *out, const char *notice, bool error);

/* notice: a sentence to show above the form (NULL: none); error: TRUE
   shows it as an error */
void asvc_page_signin(string_t *out, const char *csrf, const char *notice,
		      bool error);

/* The requests session may see, with their forms. */
void asvc_page_requests(string_t *out, const struct asvc_session *session,
			const ARRAY_TYPE(asvc_request_p) *requests,
			const struct asvc_rules *rules, const char *notice,
			bool error, time_t now);

/* A page with one message and a link back. */
void asvc_page_message(string_t *out, const char *title, const char *text);

/* "45 s", "3 min", "2 h 5 min", "3 d" */
const char *asvc_page_age(time_t secs);

#endif
