/*
 * The typed byte reader of fuzz_input.h. Every draw goes through take(),
 * the only place that looks at the input, so the bounds check is in one
 * spot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"

/* Returned for empty runs, so callers never get NULL. */
static const uint8_t empty_run[1];

/* A mistake in the target, not in the input: stop loudly. */
static void target_bug(const char *fn, const char *what)
{
	fprintf(stderr, "%s: %s (bug in the fuzz target)\n", fn, what);
	abort();
}

void fuzz_input_init(struct fuzz_input *in, const uint8_t *data, size_t size)
{
	in->data = size ? data : empty_run;
	in->size = size;
	in->pos = 0;
	in->exhausted = false;
}

size_t fuzz_remaining(const struct fuzz_input *in)
{
	return in->size - in->pos;
}

bool fuzz_exhausted(const struct fuzz_input *in)
{
	return in->exhausted;
}

/* Up to want bytes in place; fewer (and the flag) if the input ends. */
static const uint8_t *take(struct fuzz_input *in, size_t want, size_t *got)
{
	const uint8_t *p = in->data + in->pos;
	size_t left = fuzz_remaining(in);

	if (want > left) {
		in->exhausted = true;
		want = left;
	}
	in->pos += want;
	*got = want;
	return p;
}

/* n (<= 8) bytes as a little-endian number, zeros past the end. */
static uint64_t take_le(struct fuzz_input *in, size_t n)
{
	size_t got;
	const uint8_t *p = take(in, n, &got);
	uint64_t v = 0;

	for (size_t i = 0; i < got; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

bool fuzz_bool(struct fuzz_input *in)
{
	return take_le(in, 1) & 1;
}

uint8_t fuzz_u8(struct fuzz_input *in)
{
	return (uint8_t)take_le(in, 1);
}

uint16_t fuzz_u16(struct fuzz_input *in)
{
	return (uint16_t)take_le(in, 2);
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	return (uint32_t)take_le(in, 4);
}

uint64_t fuzz_u64(struct fuzz_input *in)
{
	return take_le(in, 8);
}

/* Bytes needed to hold every value up to span. */
static size_t bytes_for(uint64_t span)
{
	size_t n = 0;

	for (; span; span >>= 8)
		n++;
	return n;
}

uint64_t fuzz_range(struct fuzz_input *in, uint64_t lo, uint64_t hi)
{
	uint64_t span, raw;

	if (lo > hi)
		target_bug("fuzz_range", "lo is above hi");
	span = hi - lo;
	raw = take_le(in, bytes_for(span));
	/* The full 64-bit range has no span + 1; every raw value fits. */
	if (span == UINT64_MAX)
		return raw;
	return lo + raw % (span + 1);
}

size_t fuzz_pick(struct fuzz_input *in, size_t n)
{
	if (n == 0)
		target_bug("fuzz_pick", "no choices");
	return (size_t)fuzz_range(in, 0, n - 1);
}

size_t fuzz_bytes(struct fuzz_input *in, void *dst, size_t len)
{
	size_t got;
	const uint8_t *p = take(in, len, &got);

	if (got)
		memcpy(dst, p, got);
	memset((uint8_t *)dst + got, 0, len - got);
	return got;
}

const uint8_t *fuzz_run(struct fuzz_input *in, size_t max, size_t *len)
{
	size_t want = (size_t)fuzz_range(in, 0, max);
	const uint8_t *p = take(in, want, len);

	return *len ? p : empty_run;
}

size_t fuzz_string(struct fuzz_input *in, char *buf, size_t cap)
{
	const uint8_t *p;
	size_t len;

	if (cap == 0)
		target_bug("fuzz_string", "no room for the NUL");
	p = fuzz_run(in, cap - 1, &len);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return strlen(buf);
}

const uint8_t *fuzz_rest(struct fuzz_input *in, size_t *len)
{
	const uint8_t *p = take(in, fuzz_remaining(in), len);

	return *len ? p : empty_run;
}
