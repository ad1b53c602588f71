/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The notice a user finds in their INBOX after their second factor
   changed (enrollment.notify): fixed ASCII headers, the user's name only
   in the body (or in To: when it is a plain address), never a secret. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "randgen.h"
#include "stepup-enroll.h"

#include <ctype.h>
#include <time.h>

/* atext of RFC 5322 plus '.', for one side of a plain address */
static bool addr_part_plain(const char *p, const char *end)
{
	if (p == end || *p == '.' || end[-1] == '.')
		return FALSE;
	for (; p < end; p++) {
		if (!i_isalnum(*p) && strchr(".!#$%&'*+/=?^_`{|}~-", *p) == NULL)
			return FALSE;
		if (*p == '.' && p[1] == '.')
			return FALSE;
	}
	return TRUE;
}

static bool addr_plain(const char *user)
{
	const char *at = strchr(user, '@');

	if (at == NULL || strchr(at + 1, '@') != NULL)
		return FALSE;
	return addr_part_plain(user, at) &&
		addr_part_plain(at + 1, user + strlen(user));
}

/* user data in the body: control characters become '?' */
static void append_text(string_t *str, const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++)
		str_append_c(str, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
}

static const char *host_plain(const char *hostname)
{
	const char *p;

	if (hostname == NULL || hostname[0] == '\0')
		return "localhost";
	for (p = hostname; *p != '\0'; p++) {
		if (!i_isalnum(*p) && *p != '.' && *p != '-')
			return "localhost";
	}
	return hostname;
}

static const char *what_happened(enum stepup_notice_kind kind)
{
	switch (kind) {
	case STEPUP_NOTICE_ENROLLED:
		return "Two-step verification was switched on for your "
			"account: an authenticator app now makes its codes.";
	case STEPUP_NOTICE_REENROLLED:
		return "Two-step verification was moved to a new "
			"authenticator app: the old one no longer works, and "
			"new recovery codes replace the old ones.";
	case STEPUP_NOTICE_RESET:
		return "Two-step verification was removed from your account "
			"(its authenticator app and recovery codes no longer "
			"work).";
	case STEPUP_NOTICE_APP_PASSWORD:
		return "A new app password was created for your account.";
	}
	i_unreached();
}

const char *stepup_notice_message(enum stepup_notice_kind kind,
				  const char *user, const char *detail,
				  bool by_self, const char *hostname,
				  time_t now)
{
	string_t *str = t_str_new(1024);
	unsigned char rnd[16];
	char date[64];
	struct tm tm;

	hostname = host_plain(hostname);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		     &tm) == 0)
		i_unreached();
	random_fill(rnd, sizeof(rnd));

	str_printfa(str, "From: Two-step verification <postmaster@%s>\r\n",
		    hostname);
	if (addr_plain(user))
		str_printfa(str, "To: <%s>\r\n", user);
	else
		str_append(str, "To: undisclosed-recipients:;\r\n");
	str_append(str, "Subject: Your account's two-step verification "
		   "changed\r\n");
	str_printfa(str, "Date: %s\r\n", date);
	str_printfa(str, "Message-ID: <stepup.%s@%s>\r\n",
		    binary_to_hex(rnd, sizeof(rnd)), hostname);
	str_append(str, "Auto-Submitted: auto-generated\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=utf-8\r\n"
		   "Content-Transfer-Encoding: 8bit\r\n\r\n");

	str_append(str, "Account: ");
	append_text(str, user);
	str_append(str, "\r\n");
	str_printfa(str, "When: %s (UTC)\r\n", date);
	str_printfa(str, "By: %s\r\n", by_self ? "you (self-service)" :
		    "an administrator");
	if (detail != NULL) {
		str_append(str, "Device: ");
		append_text(str, detail);
		str_append(str, "\r\n");
	}
	str_append(str, "\r\n");
	str_append(str, what_happened(kind));
	str_append(str, "\r\n\r\nIf this was not you, someone else may hold "
		   "your password: tell your administrator at once.\r\n");
	return str_c(str);
}
