/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup enroll USER [--json]

   Generates a secret, shows the otpauth:// URI and a QR code, reads one
   code from standard input and only when it is right activates the
   enrollment and prints the recovery codes, once. The secret never
   appears in argv or in any log. With --json (provisioning portals) the
   first line is {"user","uri","qr"}; the portal then writes the code the
   user typed as one line to standard input and reads the result line. */

#include "lib.h"
#include "str.h"
#include "randgen.h"
#include "safe-memset.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "policy.h"
#include "state.h"
#include "totp.h"

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
	size_t len;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	return t_strdup(line);
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

int cmd_enroll(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const struct stepup_totp_settings *set;
	const char *user, *uri, *code, *error, *const *codes;
	unsigned char secret[STEPUP_TOTP_SECRET_MAX];
	size_t secret_len;
	uint64_t counter;
	unsigned int i;
	int ret;

	if (argc != 2)
		return stepup_cli_usage_error("usage: stepup enroll USER [--json]");
	user = argv[1];
	if (!stepup_cli_user_valid(user))
		return stepup_cli_usage_error("invalid user name");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	set = stepup_policy_get_totp(ctx.policy);

	ret = stepup_state_is_enrolled(ctx.state, user, &error);
	if (ret != 0) {
		if (ret < 0)
			fprintf(stderr, "stepup: %s\n", error);
		else {
			fprintf(stderr, "stepup: %s is already enrolled "
				"(stepup reset %s first)\n", user, user);
		}
		if (cli->json)
			print_result_json(FALSE, ret < 0 ? "state error" :
					  "already enrolled", NULL);
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}

	secret_len = stepup_totp_secret_size(set->algorithm);
	random_fill(secret, secret_len);
	uri = stepup_totp_uri(set, user, secret, secret_len);
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
	ret = code == NULL ? 0 :
		stepup_totp_verify(set, secret, secret_len, time(NULL), code,
				   &counter, &error);
	if (ret <= 0) {
		if (ret < 0)
			fprintf(stderr, "stepup: %s\n", error);
		fprintf(stderr, "stepup: wrong code: %s is not enrolled\n",
			user);
		if (cli->json)
			print_result_json(FALSE, "wrong code", NULL);
		stepup_cli_audit(&ctx, "enroll", user, "deny",
				 "wrong confirmation code");
		safe_memset(secret, 0, sizeof(secret));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_REFUSED;
	}
	ret = stepup_state_enroll(ctx.state, user, set, secret, secret_len,
				  counter, time(NULL), &codes, &error);
	safe_memset(secret, 0, sizeof(secret));
	if (ret <= 0) {
		fprintf(stderr, "stepup: %s\n", ret < 0 ? error :
			"enrolled meanwhile by someone else");
		if (cli->json)
			print_result_json(FALSE, "not enrolled", NULL);
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}
	stepup_cli_audit(&ctx, "enroll", user, "allow", "TOTP enrolled");
	if (cli->json)
		print_result_json(TRUE, NULL, codes);
	else {
		printf("\n%s is enrolled. Recovery codes (each works once in "
		       "place of a code; shown only now, keep them safe):\n",
		       user);
		for (i = 0; codes[i] != NULL; i++)
			printf("  %s\n", codes[i]);
	}
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
