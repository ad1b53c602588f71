/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "asvc-html.h"
#include "asvc-session.h"
#include "asvc-page.h"
#include "asvc-page-apppw.h"

#include <time.h>

/* the lifetimes offered (days), cut at the policy's maximum */
static const unsigned int lifetimes_days[] = { 7, 30, 90, 180, 365 };

static const char *date_str(time_t t)
{
	struct tm *tm = gmtime(&t);
	char buf[32];

	if (t == 0 || tm == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d", tm) == 0)
		return "—";
	return t_strdup(buf);
}

static void cell(string_t *out, const char *text)
{
	str_append(out, "<td>");
	asvc_html_append(out, text == NULL || text[0] == '\0' ? "any" : text);
	str_append(out, "</td>");
}

static void list(string_t *out, const struct asvc_session *session,
		 const ARRAY_TYPE(stepup_app_password_info) *apps, time_t now)
{
	const struct stepup_app_password_info *app;

	str_append(out, "<section class=\"card\" id=\"app-passwords\">"
		   "<h2>Your app passwords</h2>");
	if (apps == NULL || array_count(apps) == 0) {
		str_append(out, "<p class=\"empty\">None.</p></section>\n");
		return;
	}
	str_append(out, "<table><thead><tr><th>Device</th><th>Expires</th>"
		   "<th>Last used</th><th>Networks</th><th>Protocols</th>"
		   "<th></th></tr></thead><tbody>");
	array_foreach(apps, app) {
		str_append(out, "<tr>");
		cell(out, app->label);
		cell(out, app->expires == 0 ? "never" : app->expires <= now ?
		     t_strconcat(date_str(app->expires), " (expired)", NULL) :
		     date_str(app->expires));
		cell(out, app->last_used == 0 ? "never" :
		     t_strconcat(date_str(app->last_used), app->last_ip == NULL ?
				 "" : " from ", app->last_ip, NULL));
		cell(out, app->networks);
		cell(out, app->protocols);
		str_printfa(out, "<td><form method=\"post\" action=\"app-"
			    "password-revoke\"><input type=\"hidden\" "
			    "name=\"csrf\" value=\"%s\"><input type=\"hidden\" "
			    "name=\"label\" value=\"", session->csrf);
		asvc_html_append(out, app->label);
		str_append(out, "\"><button type=\"submit\" class=\"deny\">"
			   "Revoke</button></form></td></tr>");
	}
	str_append(out, "</tbody></table></section>\n");
}

static void add_form(string_t *out, const struct asvc_session *session,
		     const char *const *protocols, unsigned int max_days)
{
	unsigned int i;
	bool cap_listed = FALSE;

	str_append(out, "<form class=\"card\" id=\"app-password-new\" "
		   "method=\"post\" action=\"app-password-add\">"
		   "<h2>New app password</h2><p>For a device or program that "
		   "cannot ask for a code (a phone's mail app, a calendar). "
		   "It works only for your account, only where you allow it, "
		   "until it expires or you revoke it.</p>"
		   "<label>Device name <input name=\"label\" maxlength=\"64\" "
		   "autocomplete=\"off\" required></label>"
		   "<label>Expires after <select name=\"days\">");
	for (i = 0; i < N_ELEMENTS(lifetimes_days); i++) {
		if (lifetimes_days[i] > max_days)
			break;
		cap_listed = lifetimes_days[i] == max_days;
		str_printfa(out, "<option value=\"%u\"%s>%u days</option>",
			    lifetimes_days[i], lifetimes_days[i] == 90 ||
			    cap_listed ? " selected" : "", lifetimes_days[i]);
	}
	if (!cap_listed && (i == N_ELEMENTS(lifetimes_days) ||
			    lifetimes_days[i] > max_days)) {
		str_printfa(out, "<option value=\"%u\">%u days</option>",
			    max_days, max_days);
	}
	str_append(out, "</select></label><label>Only from these networks "
		   "(optional) <input name=\"networks\" maxlength=\"400\" "
		   "placeholder=\"192.0.2.0/24, 2001:db8::/32\" "
		   "autocapitalize=\"none\" spellcheck=\"false\"></label>"
		   "<fieldset><legend>Only for (none ticked: all)</legend>");
	for (; *protocols != NULL; protocols++) {
		str_printfa(out, "<label><input type=\"checkbox\" "
			    "name=\"proto_%s\" value=\"1\"> %s</label>",
			    *protocols, *protocols);
	}
	str_printfa(out, "</fieldset><input type=\"hidden\" name=\"csrf\" "
		    "value=\"%s\"><button type=\"submit\">Create</button>"
		    "</form>\n", session->csrf);
}

void asvc_page_apppw(string_t *out, const struct asvc_session *session,
		     const ARRAY_TYPE(stepup_app_password_info) *apps,
		     const char *const *protocols, unsigned int max_days,
		     const char *label, const char *password,
		     const char *notice, bool error, time_t now)
{
	asvc_page_begin(out, "App passwords", session);
	asvc_page_notice(out, notice, error);
	if (password != NULL) {
		str_append(out, "<section class=\"card\" id=\"app-password-"
			   "created\"><h2>App password for ");
		asvc_html_append(out, label);
		str_append(out, "</h2><p>Type it on that device in place of "
			   "your password (no code). It is shown only now."
			   "</p><p class=\"secret\" id=\"app-password\">");
		asvc_html_append(out, password);
		str_append(out, "</p></section>\n");
	}
	list(out, session, apps, now);
	add_form(out, session, protocols, max_days);
	asvc_page_end(out);
}
