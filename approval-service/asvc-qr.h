#ifndef ASVC_QR_H
#define ASVC_QR_H

/* A QR code as inline SVG (libqrencode; the only file that includes it):
   no image request, no external service, nothing for the CSP to allow.
   The text (an otpauth:// URI: a secret) goes nowhere but into out.
   -1 if it cannot be encoded (too long). */
int asvc_qr_svg(string_t *out, const char *text);

#endif
