/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "safe-memset.h"
#include "asvc-qr.h"

#include <qrencode.h>

/* modules of white border around the code (the standard's quiet zone) */
#define QR_QUIET 4

int asvc_qr_svg(string_t *out, const char *text)
{
	QRcode *qr;
	unsigned int x, y, run, w, size;

	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		return -1;
	w = (unsigned int)qr->width;
	size = w + 2 * QR_QUIET;
	str_printfa(out, "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" "
		    "viewBox=\"0 0 %u %u\" width=\"%u\" height=\"%u\" "
		    "role=\"img\" aria-label=\"QR code of the setup link\" "
		    "shape-rendering=\"crispEdges\">"
		    "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>"
		    "<path fill=\"#000\" d=\"", size, size, size * 6, size * 6,
		    size, size);
	/* one horizontal run of dark modules per path segment */
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x += run) {
			run = 1;
			if ((qr->data[y * w + x] & 1) == 0)
				continue;
			while (x + run < w && (qr->data[y * w + x + run] & 1) != 0)
				run++;
			str_printfa(out, "M%u %uh%uv1h-%uz", x + QR_QUIET,
				    y + QR_QUIET, run, run);
		}
	}
	str_append(out, "\"/></svg>");
	safe_memset(qr->data, 0, (size_t)w * w);
	QRcode_free(qr);
	return 0;
}
