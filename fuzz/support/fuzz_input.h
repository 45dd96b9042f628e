/*
 * A structure-aware reader of fuzzer input: a target draws typed choices
 * (a flag, a number in a range, one of N actions, a run of bytes) instead
 * of parsing a format, so every input is a valid script and mutations of
 * one byte change one decision.
 *
 * Draws consume the input from the front, little-endian, and are a pure
 * function of the bytes: the same input gives the same choices on every
 * host and engine. Nothing is read past the end: a draw that runs out gets
 * zero bytes in place of the missing ones (so ranges give their low end,
 * picks give choice 0) and sets the exhausted flag, which a target may use
 * to stop its script.
 */
#ifndef XPV_FUZZ_INPUT_H
#define XPV_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
	const uint8_t *data;
	size_t size;
	size_t pos;	/* bytes consumed */
	bool exhausted; /* a draw wanted more bytes than were left */
};

void fuzz_input_init(struct fuzz_input *in, const uint8_t *data, size_t size);

/* One byte; true if its low bit is set. */
bool fuzz_bool(struct fuzz_input *in);
uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
uint64_t fuzz_u64(struct fuzz_input *in);

/* A value in [lo, hi], using only as many bytes as hi - lo needs (none if
 * lo == hi). lo > hi is a bug in the target: aborts with a message. */
uint64_t fuzz_range(struct fuzz_input *in, uint64_t lo, uint64_t hi);

/* One of n choices, 0..n-1; n == 0 aborts with a message. */
size_t fuzz_pick(struct fuzz_input *in, size_t n);

/* Copies len bytes to dst, zeros for those past the end. Returns how many
 * came from the input. */
size_t fuzz_bytes(struct fuzz_input *in, void *dst, size_t len);

/* A length in [0, max] is drawn, then that many bytes are taken in place
 * (fewer if the input ends first). Never NULL, even when *len is 0. */
const uint8_t *fuzz_run(struct fuzz_input *in, size_t max, size_t *len);

/* A run of at most cap - 1 bytes copied into buf and NUL-terminated (cap
 * >= 1). A NUL byte inside the run ends the string early, as it would for
 * any C consumer. Returns strlen(buf). */
size_t fuzz_string(struct fuzz_input *in, char *buf, size_t cap);

/* Everything not consumed yet (possibly 0 bytes); the input is then used
 * up, without setting the exhausted flag. Never NULL. */
const uint8_t *fuzz_rest(struct fuzz_input *in, size_t *len);

size_t fuzz_remaining(const struct fuzz_input *in);
bool fuzz_exhausted(const struct fuzz_input *in);

#endif /* XPV_FUZZ_INPUT_H */
