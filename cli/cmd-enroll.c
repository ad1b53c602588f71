/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup enroll USER [--self [--ip IP]] [--json]

   Generates a secret, shows the otpauth:// URI and a QR code, reads one
   code from standard input and only when it is right activates the
   enrollment and prints the recovery codes, once. The secret never
   appears in argv or in any log. With --json (provisioning portals) the
   first line is {"user","uri","qr"}; the portal then writes the code the
   user typed as one line to standard input and reads the result line.
   With --self (a portal acting for the user, as the enrollment page
   does) the policy's enrollment block applies: the first line on
   standard input is the invitation code, or for a user who is enrolled
   a current code or a recovery code (re-enrollment). */

#include "lib.h"
#include "str.h"
#include "randgen.h"
#include "safe-memset.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-totp.h"
#include "stepup-enroll.h"

#include <stdio.h>
#include <time.h>
#include <qrencode.h>

/* A QR code in UTF-8 half blocks: two modules per character cell, with
   a quiet zone. */
static const char *qr_text(const char *data)
{
	QRcode *qr;
	string_t *str;
	int x, y, w, quiet = 2;

	qr = QRcode_encodeString(data, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		return "";
	w = qr->width;
	str = t_str_new((w + 2 * quiet) * (w / 2 + quiet + 1) * 3 + 64);
	for (y = -quiet; y < w + quiet; y += 2) {
		for (x = -quiet; x < w + quiet; x++) {
			bool top = x >= 0 && x < w && y >= 0 && y < w &&
				(qr->data[y * w + x] & 1) != 0;
			bool bottom = x >= 0 && x < w && y + 1 >= 0 &&
				y + 1 < w && (qr->data[(y + 1) * w + x] & 1) != 0;
			/* dark modules as spaces on a light background */
			if (top && bottom)
				str_append_c(str, ' ');
			else if (top)
				str_append(str, "\xe2\x96\x84");	/* ▄ */
			else if (bottom)
				str_append(str, "\xe2\x96\x80");	/* ▀ */
			else
				str_append(str, "\xe2\x96\x88");	/* █ */
		}
		str_append_c(str, '\n');
	}
	QRcode_free(qr);
	return str_c(str);
}

static const char *read_code_line(void)
{
	char line[128];
	const char *ret;
	size_t len;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	ret = t_strdup(line);
	safe_memset(line, 0, sizeof(line));
	return ret;
}

static void print_result_json(bool enrolled, const char *error,
			      const char *const *codes)
{
	string_t *out = t_str_new(512);
	unsigned int i;

	str_printfa(out, "{\"enrolled\":%s", enrolled ? "true" : "false");
	if (error != NULL)
		str_printfa(out, ",\"error\":%s", stepup_cli_json_str(error));
	if (codes != NULL) {
		str_append(out, ",\"recovery_codes\":[");
		for (i = 0; codes[i] != NULL; i++) {
			str_printfa(out, "%s\"%s\"", i == 0 ? "" : ",",
				    codes[i]);
		}
		str_append_c(out, ']');
	}
	str_append(out, "}\n");
	fputs(str_c(out), stdout);
	fflush(stdout);
}

/* --self: the invitation code (not enrolled) or a current code (enrolled)
   comes first on standard input */
static const char *read_self_proof(struct stepup_cli_ctx *ctx,
				   const char *user, bool json,
				   bool *enrolled_r)
{
	const char *error;
	int ret;

	ret = stepup_state_is_enrolled(ctx->state, user, &error);
	*enrolled_r = ret > 0;
	if (ret < 0 || json)
		return read_code_line();
	if (ret > 0) {
		printf("%s is enrolled: type a current code or a recovery "
		       "code of the old authenticator: ", user);
	} else if (stepup_policy_get_enrollment(ctx->policy)->invite) {
		printf("Type the invitation code: ");
	} else {
		return NULL;
	}
	fflush(stdout);
	return read_code_line();
}

int cmd_enroll(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const struct stepup_totp_settings *set;
	struct stepup_enroll_env env;
	struct stepup_enrollment *enr;
	const char *user = NULL, *ip = NULL, *uri, *code, *error, *reason;
	const char *proof = NULL, *const *codes;
	bool self = FALSE, enrolled = FALSE, reenroll;
	const struct stepup_cli_option opts[] = {
		{ "--self", NULL, &self },
		{ "--ip", &ip, NULL },
		{ NULL, NULL, NULL }
	};
	unsigned int i;
	int ret;

	if (stepup_cli_parse_options(argc, argv, 1, opts, &user) < 0 ||
	    user == NULL || (ip != NULL && !self))
		return stepup_cli_usage_error("usage: stepup enroll USER "
					      "[--self [--ip IP]] [--json]");
	if (!stepup_cli_user_valid(user))
		return stepup_cli_usage_error("invalid user name");
	i_zero(&env);
	if (ip != NULL && net_addr2ip(ip, &env.remote_ip) < 0)
		return stepup_cli_usage_error("--ip: not an IP address");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	set = stepup_policy_get_totp(ctx.policy);
	env.policy = ctx.policy;
	env.state = ctx.state;
	env.audit = ctx.audit;
	env.service = "stepup";
	env.by_self = self;

	if (self)
		proof = read_self_proof(&ctx, user, cli->json, &enrolled);
	ret = stepup_enroll_begin(&env, user, enrolled ? NULL : proof,
				  enrolled ? proof : NULL, &enr, &reason,
				  &error);
	if (proof != NULL)
		safe_memset((char *)proof, 0, strlen(proof));
	if (ret <= 0) {
		if (ret < 0)
			fprintf(stderr, "stepup: %s\n", error);
		else if (!self && strstr(reason, "already enrolled") != NULL) {
			fprintf(stderr, "stepup: %s is already enrolled "
				"(stepup reset %s first)\n", user, user);
		} else {
			fprintf(stderr, "stepup: %s: %s\n", user, reason);
		}
		if (cli->json)
			print_result_json(FALSE, ret < 0 ? "state error" :
					  (!self && strstr(reason,
					   "already enrolled") != NULL ?
					   "already enrolled" : reason), NULL);
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}

	uri = stepup_enrollment_uri(enr);
	reenroll = stepup_enrollment_is_reenroll(enr);
	if (cli->json) {
		printf("{\"user\":%s,\"uri\":%s,\"qr\":%s}\n",
		       stepup_cli_json_str(user), stepup_cli_json_str(uri),
		       stepup_cli_json_str(qr_text(uri)));
	} else {
		printf("Scan this with an authenticator app, or enter the "
		       "URI below:\n\n%s\n%s\n\n", qr_text(uri), uri);
		printf("Then type the %u-digit code it shows: ", set->digits);
	}
	fflush(stdout);

	code = read_code_line();
	ret = stepup_enroll_finish(&env, enr, code, &codes, &reason, &error);
	if (code != NULL)
		safe_memset((char *)code, 0, strlen(code));
	stepup_enroll_free(&enr);
	if (ret <= 0) {
		if (ret < 0)
			fprintf(stderr, "stepup: %s\n", error);
		else if (strcmp(reason, "wrong confirmation code") == 0) {
			fprintf(stderr, "stepup: wrong code: %s is not "
				"enrolled\n", user);
		} else {
			fprintf(stderr, "stepup: %s: %s\n", user, reason);
		}
		if (cli->json)
			print_result_json(FALSE, ret < 0 ? "not enrolled" :
					  (strcmp(reason, "wrong confirmation "
						  "code") == 0 ? "wrong code" :
					   reason), NULL);
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}
	if (cli->json)
		print_result_json(TRUE, NULL, codes);
	else {
		printf("\n%s is enrolled. Recovery codes (each works once in "
		       "place of a code; shown only now, keep them safe):\n",
		       user);
		for (i = 0; codes[i] != NULL; i++)
			printf("  %s\n", codes[i]);
	}
	fflush(stdout);
	stepup_cli_notify(&ctx, reenroll ? STEPUP_NOTICE_REENROLLED :
			  STEPUP_NOTICE_ENROLLED, user, NULL, self);
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
