#ifndef ASVC_HTML_H
#define ASVC_HTML_H

/* Text into HTML: every string of the page goes through here. Invalid
   UTF-8 becomes U+FFFD, control characters are dropped, and & < > " '
   become entities, so a folder or client name cannot become markup in
   text or in a (quoted) attribute value. */
void asvc_html_append(string_t *dest, const char *text);
const char *asvc_html(const char *text);

/* application/x-www-form-urlencoded: the value of key (data stack), or
   NULL if absent or malformed. A key given twice is malformed. */
const char *asvc_form_get(const char *body, const char *key);

/* The value of a cookie in a Cookie header, or NULL. */
const char *asvc_cookie_get(const char *header, const char *name);

#endif
