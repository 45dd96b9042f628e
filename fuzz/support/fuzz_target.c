/*
 * Failure reporting and small helpers shared by the fuzz targets; see
 * fuzz_target.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"

void fuzz_fail(const char *oracle, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz oracle %s failed: ", oracle);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s) {
		fprintf(stderr, "fuzz_strdup: out of memory for %zu bytes\n",
			size);
		abort();
	}
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *fuzz_quote(const char *s)
{
	enum { QUOTE_MAX = 200 }; /* input characters shown */
	static char buf[4 * QUOTE_MAX + 8];
	size_t n = 0;

	buf[n++] = '"';
	for (size_t i = 0; *s && i < QUOTE_MAX; s++, i++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "\\x%02x", ch);
	}
	if (*s)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "...");
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}
