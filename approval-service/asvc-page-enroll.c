/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "asvc-html.h"
#include "asvc-qr.h"
#include "asvc-session.h"
#include "asvc-page.h"
#include "asvc-page-enroll.h"

#define TITLE "Two-step setup"

static void csrf_field(string_t *out, const struct asvc_session *session)
{
	str_printfa(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
		    session->csrf);
}

void asvc_page_enroll_start(string_t *out, const struct asvc_session *session,
			    bool enrolled, bool invite, const char *notice,
			    bool error)
{
	asvc_page_begin(out, TITLE, session);
	asvc_page_notice(out, notice, error);
	str_append(out, "<form class=\"card\" id=\"enroll-start\" "
		   "method=\"post\" action=\"enroll-begin\">");
	if (enrolled) {
		str_append(out, "<h2>New phone</h2><p>Two-step verification "
			"is on for your account. To move it to a new phone, "
			"give a code from your current authenticator app, or "
			"one of your unused recovery codes. The old phone's "
			"codes, your recovery codes and every approval and "
			"remembered login then stop working.</p>"
			"<label>Current code or recovery code <input "
			"name=\"proof\" autocomplete=\"one-time-code\" "
			"autocapitalize=\"none\" spellcheck=\"false\" "
			"maxlength=\"20\" required></label>");
	} else {
		str_append(out, "<h2>Set up two-step verification</h2>"
			"<p>You need an authenticator app on your phone "
			"(FreeOTP, Aegis, Google Authenticator, Microsoft "
			"Authenticator, a password manager with codes "
			"...).</p>");
		if (invite) {
			str_append(out, "<label>Invitation code (from your "
				"administrator's letter) <input name=\"invite\" "
				"autocomplete=\"off\" autocapitalize=\"none\" "
				"spellcheck=\"false\" maxlength=\"40\" "
				"required></label>");
		}
	}
	csrf_field(out, session);
	str_append(out, "<button type=\"submit\">Continue</button></form>\n");
	asvc_page_end(out);
}

void asvc_page_enroll_scan(string_t *out, const struct asvc_session *session,
			   const char *uri, const char *secret,
			   const char *notice, bool error)
{
	asvc_page_begin(out, TITLE, session);
	asvc_page_notice(out, notice, error);
	str_append(out, "<section class=\"card\" id=\"enroll-scan\">"
		   "<h2>Scan this code with your authenticator app</h2>");
	if (asvc_qr_svg(out, uri) < 0)
		str_append(out, "<p>(No QR code: type the key below.)</p>");
	str_append(out, "<p>Or, on the phone itself, open this link, or type "
		   "the key into the app:</p><p class=\"uri\" id=\"uri\">"
		   "<a href=\"");
	asvc_html_append(out, uri);
	str_append(out, "\">");
	asvc_html_append(out, uri);
	str_append(out, "</a></p><p>Key: <span class=\"secret\">");
	asvc_html_append(out, secret);
	str_append(out, "</span></p>"
		   "<form method=\"post\" action=\"enroll-confirm\">"
		   "<label>Code the app shows now <input name=\"code\" "
		   "inputmode=\"numeric\" pattern=\"[0-9]*\" "
		   "autocomplete=\"one-time-code\" maxlength=\"10\" required>"
		   "</label>");
	csrf_field(out, session);
	str_append(out, "<button type=\"submit\" class=\"approve\">Confirm"
		   "</button></form><p class=\"hint\">Nothing changes until "
		   "you confirm.</p></section>\n");
	asvc_page_end(out);
}

void asvc_page_enroll_done(string_t *out, const struct asvc_session *session,
			   const char *const *codes, const char *download,
			   bool reenroll)
{
	asvc_page_begin(out, TITLE, session);
	asvc_page_notice(out, reenroll ? "Two-step verification moved to "
			 "your new phone." : "Two-step verification is on.",
			 FALSE);
	str_append(out, "<section class=\"card\" id=\"enroll-done\">"
		   "<h2>Your recovery codes</h2><p>Each works once in place "
		   "of a code when you do not have your phone. Write them "
		   "down or download them now: they are shown only on this "
		   "page, and the download link works once.</p>"
		   "<ol class=\"codes\" id=\"recovery-codes\">");
	for (; *codes != NULL; codes++) {
		str_append(out, "<li>");
		asvc_html_append(out, *codes);
		str_append(out, "</li>");
	}
	str_append(out, "</ol>");
	if (download != NULL) {
		str_printfa(out, "<p><a id=\"download\" href=\"recovery-codes/"
			    "%s\" download=\"recovery-codes.txt\">Download "
			    "as text</a></p>", download);
	}
	str_append(out, "<p>Logging in to mail from now on: type your "
		   "password immediately followed by the code the app shows, "
		   "with no space.</p>");
	if (session->role == ASVC_ROLE_ENROLL) {
		str_append(out, "<p>To create app passwords for devices that "
			   "cannot ask for a code, sign out and sign in again "
			   "with your password and a code.</p>");
	}
	str_append(out, "</section>\n");
	asvc_page_end(out);
}

void asvc_page_enroll_signin_again(string_t *out,
				   const struct asvc_session *session,
				   const char *notice, bool error)
{
	asvc_page_begin(out, TITLE, session);
	asvc_page_notice(out, notice, error);
	str_append(out, "<section class=\"card\"><h2>Two-step verification "
		   "is on</h2><p>Sign out, then sign in with your password "
		   "and a code from your authenticator app.</p></section>\n");
	asvc_page_end(out);
}
