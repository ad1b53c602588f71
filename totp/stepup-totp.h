#ifndef STEPUP_TOTP_H
#define STEPUP_TOTP_H

#include "stepup-settings.h"

/* RFC 6238 TOTP over liboath, with the input checks liboath does not do
   (security-requirements §2.1): exact digit count, bounded window, no
   empty or short secrets, constant-time comparison. */

#define STEPUP_TOTP_SECRET_MIN 16	/* bytes; refused below */
#define STEPUP_TOTP_SECRET_MAX 64

/* Bytes of a new secret for the algorithm: 20, 32 or 64 (the HMAC's
   output size, RFC 6238 §5.1). */
size_t stepup_totp_secret_size(enum stepup_totp_algorithm alg);

/* TRUE if code is exactly `digits` ASCII digits. */
bool stepup_totp_code_is_valid(const char *code, unsigned int digits);

/* 1: code valid at now (within set->window steps), counter_r = its time
   step; 0: not valid; -1: bad input (secret too short/long, bad digits,
   window > 2 ...), error_r set. Never accepts a code twice on its own:
   callers compare counter_r with the last accepted one. */
int stepup_totp_verify(const struct stepup_totp_settings *set,
		       const unsigned char *secret, size_t secret_len,
		       time_t now, const char *code, uint64_t *counter_r,
		       const char **error_r);

/* The code for time t (tests, enrollment checks). */
int stepup_totp_generate(const struct stepup_totp_settings *set,
			 const unsigned char *secret, size_t secret_len,
			 time_t t, char code_r[9], const char **error_r);

/* RFC 4648 base32: canonical uppercase without padding. The decoder is
   strict: only A-Z and 2-7, no padding, canonical trailing bits. */
const char *stepup_base32_encode(const unsigned char *data, size_t size);
int stepup_base32_decode(const char *str, buffer_t *dest);

/* otpauth://totp/ISSUER:USER?secret=...&issuer=...&algorithm=...&digits=
   ...&period=... (Key URI format, percent-encoded). The result holds the
   secret: never log it. */
const char *stepup_totp_uri(const struct stepup_totp_settings *set,
			    const char *user, const unsigned char *secret,
			    size_t secret_len);

#endif
