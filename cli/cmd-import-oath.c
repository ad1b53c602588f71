/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup import-oath USERSFILE: migrate pam_oath / oathtool users.

   Lines: TYPE USER PASSWORD HEXSECRET [COUNTER [LASTOTP [TIME]]], where
   TYPE is HOTP/T30 or HOTP/T60, optionally followed by /6 or /8 (the
   time-based tokens; event-based HOTP is not supported). The PASSWORD
   column is ignored: Dovecot's own passdb checks passwords. Secrets
   shorter than 16 bytes are refused. Users already enrolled are left as
   they are. Each imported user gets new recovery codes, printed once. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "buffer.h"
#include "hex-binary.h"
#include "safe-memset.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-totp.h"

#include <stdio.h>
#include <time.h>

static int
parse_type(const char *type, struct stepup_totp_settings *set)
{
	const char *rest;

	if (str_begins_with(type, "HOTP/T30"))
		set->period = 30;
	else if (str_begins_with(type, "HOTP/T60"))
		set->period = 60;
	else
		return -1;
	rest = type + 8;
	if (*rest == '\0')
		set->digits = 6;
	else if (strcmp(rest, "/6") == 0)
		set->digits = 6;
	else if (strcmp(rest, "/8") == 0)
		set->digits = 8;
	else
		return -1;
	return 0;
}

int cmd_import_oath(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	struct stepup_totp_settings set;
	char line[1024];
	const char *const *f, *error, *const *codes;
	buffer_t *secret;
	unsigned int lineno = 0, imported = 0, skipped = 0, failed = 0, i;
	string_t *json;
	FILE *in;
	int ret;

	if (argc != 2)
		return stepup_cli_usage_error("usage: stepup import-oath USERSFILE");
	in = fopen(argv[1], "r");
	if (in == NULL)
		return stepup_cli_usage_error("%s: %s", argv[1],
					      strerror(errno));
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK) {
		fclose(in);
		return ret;
	}
	/* both grow inside the per-line data stack frames: not on the
	   data stack */
	json = str_new(default_pool, 1024);
	str_append(json, "{\"imported\":[");
	secret = buffer_create_dynamic(default_pool, 64);
	while (fgets(line, sizeof(line), in) != NULL) T_BEGIN {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		f = t_strsplit_spaces(line, " \t");
		if (f[0] == NULL || f[0][0] == '#') {
			/* blank or comment */
		} else if (str_array_length(f) < 4) {
			fprintf(stderr, "%s:%u: needs TYPE USER PASSWORD "
				"SECRET\n", argv[1], lineno);
			failed++;
		} else {
			set = *stepup_policy_get_totp(ctx.policy);
			set.algorithm = STEPUP_TOTP_SHA1;
			buffer_set_used_size(secret, 0);
			if (parse_type(f[0], &set) < 0) {
				fprintf(stderr, "%s:%u: %s: only time-based "
					"tokens (HOTP/T30, HOTP/T60) can be "
					"imported\n", argv[1], lineno, f[0]);
				failed++;
			} else if (!stepup_cli_user_valid(f[1])) {
				fprintf(stderr, "%s:%u: bad user name\n",
					argv[1], lineno);
				failed++;
			} else if (hex_to_binary(f[3], secret) < 0 ||
				   secret->used < STEPUP_TOTP_SECRET_MIN ||
				   secret->used > STEPUP_TOTP_SECRET_MAX) {
				fprintf(stderr, "%s:%u: %s: the secret must be "
					"16 to 64 bytes of hex\n", argv[1],
					lineno, f[1]);
				failed++;
			} else {
				ret = stepup_state_enroll(ctx.state, f[1], &set,
					secret->data, secret->used, 0,
					time(NULL), &codes, &error);
				if (ret < 0) {
					fprintf(stderr, "%s:%u: %s: %s\n",
						argv[1], lineno, f[1], error);
					failed++;
				} else if (ret == 0) {
					fprintf(stderr, "%s:%u: %s is already "
						"enrolled: skipped\n", argv[1],
						lineno, f[1]);
					skipped++;
				} else if (stepup_cli_audit(&ctx, "enroll",
						f[1], "allow", "imported from a "
						"pam_oath users file") < 0) {
					/* undo: no enrollment without its
					   record */
					if (stepup_state_reset(ctx.state, f[1],
							       &error) < 0) {
						fprintf(stderr, "stepup: undo "
							"failed: %s\n", error);
					}
					fprintf(stderr, "%s:%u: %s: not "
						"imported: its audit record "
						"could not be written\n",
						argv[1], lineno, f[1]);
					failed++;
				} else {
					str_printfa(json, "%s{\"user\":%s,"
						"\"recovery_codes\":[",
						imported == 0 ? "" : ",",
						stepup_cli_json_str(f[1]));
					if (!cli->json)
						printf("%s: imported; recovery "
						       "codes:", f[1]);
					for (i = 0; codes[i] != NULL; i++) {
						str_printfa(json, "%s\"%s\"",
							i == 0 ? "" : ",",
							codes[i]);
						if (!cli->json)
							printf(" %s", codes[i]);
					}
					str_append(json, "]}");
					if (!cli->json) {
						/* each user's codes as soon
						   as they exist */
						printf("\n");
						fflush(stdout);
					}
					imported++;
				}
			}
			if (secret->used > 0)
				safe_memset(buffer_get_modifiable_data(secret,
					NULL), 0, secret->used);
			safe_memset(line, 0, sizeof(line));
		}
	} T_END;
	fclose(in);
	buffer_free(&secret);
	str_printfa(json, "],\"skipped\":%u,\"failed\":%u}\n", skipped,
		    failed);
	if (cli->json)
		fputs(str_c(json), stdout);
	else
		printf("%u imported, %u skipped, %u refused\n", imported,
		       skipped, failed);
	/* the recovery codes were in it */
	safe_memset(str_c_modifiable(json), 0, str_len(json));
	str_free(&json);
	stepup_cli_ctx_deinit(&ctx);
	return failed > 0 ? STEPUP_EXIT_REFUSED : STEPUP_EXIT_OK;
}
