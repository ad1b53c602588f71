/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "asvc-html.h"
#include "asvc-session.h"
#include "asvc-decide.h"
#include "asvc-page.h"

/* the durations an approver may pick (minutes), cut at the rule's grant */
static const unsigned int durations_min[] = {
	5, 15, 30, 60, 120, 240, 480, 1440
};

void asvc_page_begin(string_t *out, const char *title,
		     const struct asvc_session *session)
{
	str_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		   "<meta charset=\"utf-8\">"
		   "<meta name=\"viewport\" content=\"width=device-width, "
		   "initial-scale=1\">"
		   "<meta name=\"referrer\" content=\"no-referrer\">"
		   "<title>");
	asvc_html_append(out, title);
	str_append(out, "</title><link rel=\"stylesheet\" "
		   "href=\"approval.css\"></head>\n<body><header>"
		   "<h1>Folder approvals</h1>");
	if (session != NULL) {
		str_append(out, "<form class=\"signout\" method=\"post\" "
			   "action=\"signout\"><span>");
		asvc_html_append(out, session->user);
		str_append(out, session->role == ASVC_ROLE_APPROVER ?
			   " (approver)" : "");
		str_printfa(out, "</span><input type=\"hidden\" name=\"csrf\" "
			    "value=\"%s\"><button type=\"submit\">Sign out"
			    "</button></form>", session->csrf);
	}
	str_append(out, "</header>\n");
	if (session != NULL && session->role != ASVC_ROLE_ENROLL) {
		/* signed in with a code: every page */
		str_append(out, "<nav><a href=\"./\">Requests</a> "
			   "<a href=\"enroll\">Two-step setup</a> "
			   "<a href=\"app-passwords\">App passwords</a></nav>\n");
	}
	str_append(out, "<main>\n");
}

void asvc_page_end(string_t *out)
{
	str_append(out, "</main></body></html>\n");
}

void asvc_page_notice(string_t *out, const char *notice, bool error)
{
	if (notice == NULL)
		return;
	str_printfa(out, "<p class=\"%s\" role=\"status\">",
		    error ? "notice error" : "notice");
	asvc_html_append(out, notice);
	str_append(out, "</p>\n");
}

void asvc_page_signin(string_t *out, const char *csrf, const char *notice,
		      bool error)
{
	asvc_page_begin(out, "Sign in — folder approvals", NULL);
	asvc_page_notice(out, notice, error);
	str_append(out,
		"<form class=\"card\" method=\"post\" action=\"signin\">"
		"<h2>Sign in</h2>"
		"<p>Approvers decide on requests to open protected folders. "
		"Everyone else can confirm their own requests, set up "
		"two-step verification and manage app passwords here.</p>"
		"<label>User name <input name=\"user\" "
		"autocomplete=\"username\" autocapitalize=\"none\" "
		"spellcheck=\"false\" required></label>"
		"<label>Password <input name=\"password\" type=\"password\" "
		"autocomplete=\"current-password\" required></label>"
		"<label>One-time code <input name=\"code\" "
		"inputmode=\"numeric\" pattern=\"[0-9]*\" "
		"autocomplete=\"one-time-code\" maxlength=\"10\">"
		"</label><p class=\"hint\">Not set up yet? Leave the code "
		"empty to set up two-step verification.</p>");
	str_printfa(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
		    csrf);
	str_append(out, "<button type=\"submit\">Sign in</button></form>\n");
	asvc_page_end(out);
}

const char *asvc_page_age(time_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		return t_strdup_printf("%ld s", (long)secs);
	if (secs < 3600)
		return t_strdup_printf("%ld min", (long)(secs / 60));
	if (secs < 86400) {
		return t_strdup_printf("%ld h %ld min", (long)(secs / 3600),
				       (long)(secs % 3600 / 60));
	}
	return t_strdup_printf("%ld d", (long)(secs / 86400));
}

static void field(string_t *out, const char *name, const char *value)
{
	str_append(out, "<dt>");
	asvc_html_append(out, name);
	str_append(out, "</dt><dd>");
	asvc_html_append(out, value[0] == '\0' ? "—" : value);
	str_append(out, "</dd>");
}

static void request_facts(string_t *out, const struct asvc_request *req,
			  time_t now, bool show_code)
{
	str_append(out, "<dl>");
	field(out, "User", req->user);
	field(out, "Folder", req->mailbox);
	field(out, "Address", req->remote_ip);
	field(out, "Client", req->client);
	field(out, "Level", req->auth);
	field(out, "Age", asvc_page_age(now - req->received));
	if (show_code)
		field(out, "Binding code", req->binding_code);
	field(out, "Rule", req->rule);
	str_append(out, "</dl>");
}

static void form_begin(string_t *out, const char *action,
		       const struct asvc_session *session,
		       const struct asvc_request *req)
{
	str_printfa(out, "<form method=\"post\" action=\"%s\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<input type=\"hidden\" name=\"id\" value=\"%s\">",
		    action, session->csrf, asvc_html(req->id));
}

static void approver_forms(string_t *out, const struct asvc_session *session,
			   const struct asvc_request *req,
			   const struct asvc_rules *rules)
{
	unsigned int i, max_min = asvc_max_grant_secs(rules, req) / 60;
	bool cap_listed = FALSE;

	if (max_min == 0)
		max_min = 1;
	form_begin(out, "approve", session, req);
	str_append(out, "<label>Approve for <select name=\"minutes\">");
	for (i = 0; i < N_ELEMENTS(durations_min); i++) {
		if (durations_min[i] > max_min)
			break;
		cap_listed = durations_min[i] == max_min;
		str_printfa(out, "<option value=\"%u\"%s>%s</option>",
			    durations_min[i], cap_listed ? " selected" : "",
			    asvc_page_age(durations_min[i] * 60));
	}
	if (!cap_listed) {
		str_printfa(out, "<option value=\"%u\" selected>%s</option>",
			    max_min, asvc_page_age(max_min * 60));
	}
	str_append(out, "</select></label>"
		   "<label>Reason <input name=\"reason\" maxlength=\"200\">"
		   "</label><button type=\"submit\" class=\"approve\">"
		   "Approve</button></form>");
	form_begin(out, "deny", session, req);
	str_append(out, "<label>Reason <input name=\"reason\" "
		   "maxlength=\"200\"></label><button type=\"submit\" "
		   "class=\"deny\">Deny</button></form>");
}

static void self_forms(string_t *out, const struct asvc_session *session,
		       const struct asvc_request *req)
{
	form_begin(out, "confirm", session, req);
	str_append(out, "<label>Code shown in your mail program "
		   "<input name=\"code\" inputmode=\"numeric\" "
		   "pattern=\"[0-9]*\" maxlength=\"2\" autocomplete=\"off\" "
		   "required></label><button type=\"submit\" "
		   "class=\"approve\">Confirm</button></form>");
	form_begin(out, "deny", session, req);
	str_append(out, "<input type=\"hidden\" name=\"reason\" "
		   "value=\"not requested by the user\"><button "
		   "type=\"submit\" class=\"deny\">This was not me</button>"
		   "</form>");
}

void asvc_page_requests(string_t *out, const struct asvc_session *session,
			const ARRAY_TYPE(asvc_request_p) *requests,
			const struct asvc_rules *rules, const char *notice,
			bool error, time_t now)
{
	struct asvc_request *const *reqp;
	const struct asvc_request *req;
	bool own, approver = session->role == ASVC_ROLE_APPROVER;
	unsigned int shown = 0;

	asvc_page_begin(out, "Pending requests — folder approvals", session);
	asvc_page_notice(out, notice, error);
	str_append(out, "<h2>Pending requests</h2>\n");
	array_foreach(requests, reqp) {
		req = *reqp;
		if (req->status != ASVC_STATUS_PENDING)
			continue;
		own = strcmp(req->user, session->user) == 0;
		if (own) {
			/* nobody approves their own request; some rules let
			   the user confirm it with the binding code */
			if (!asvc_self_approve_allowed(rules, req))
				continue;
		} else if (!approver) {
			continue;
		}
		str_printfa(out, "<section class=\"card\" id=\"r-%s\">",
			    asvc_html(req->id));
		/* the user must type the code their client shows: it is
		   not shown to them here */
		request_facts(out, req, now, !own);
		if (own)
			self_forms(out, session, req);
		else
			approver_forms(out, session, req, rules);
		str_append(out, "</section>\n");
		shown++;
	}
	if (shown == 0)
		str_append(out, "<p class=\"empty\">No pending requests.</p>\n");
	str_append(out, "<p><a href=\"./\">Refresh</a></p>\n");
	asvc_page_end(out);
}

void asvc_page_message(string_t *out, const char *title, const char *text)
{
	asvc_page_begin(out, title, NULL);
	str_append(out, "<section class=\"card\"><h2>");
	asvc_html_append(out, title);
	str_append(out, "</h2><p>");
	asvc_html_append(out, text);
	str_append(out, "</p><p><a href=\"./\">Back</a></p></section>\n");
	asvc_page_end(out);
}
