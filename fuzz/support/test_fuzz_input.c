/* The fuzz input reader: byte order, ranges, exhaustion, runs, and that
 * it never reads past the end (each input sits at the very end of its
 * allocation, so ASan builds catch a one-byte overread). */
#include <check.h>

#include "check_main.h"
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_input.h"

/* A copy of bytes in an allocation of exactly len bytes. */
static uint8_t *exact(const void *bytes, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, bytes, len);
	return p;
}

START_TEST(little_endian_in_order)
{
	static const uint8_t b[] = {0x01, 0x34, 0x12, 0x78, 0x56, 0x34,
				    0x12, 0x08, 0x07, 0x06, 0x05, 0x04,
				    0x03, 0x02, 0x01, 0xff};
	uint8_t *d = exact(b, sizeof(b));
	struct fuzz_input in;

	fuzz_input_init(&in, d, sizeof(b));
	ck_assert_uint_eq(fuzz_u8(&in), 0x01);
	ck_assert_uint_eq(fuzz_u16(&in), 0x1234);
	ck_assert_uint_eq(fuzz_u32(&in), 0x12345678);
	ck_assert_uint_eq(fuzz_u64(&in), 0x0102030405060708ull);
	ck_assert(fuzz_bool(&in)); /* 0xff: low bit set */
	ck_assert_uint_eq(fuzz_remaining(&in), 0);
	ck_assert(!fuzz_exhausted(&in));
	free(d);
}
END_TEST

START_TEST(past_the_end_gives_zeros_and_the_flag)
{
	static const uint8_t b[] = {0xaa, 0xbb, 0xcc};
	uint8_t *d = exact(b, sizeof(b));
	uint8_t out[6];
	struct fuzz_input in;

	fuzz_input_init(&in, d, sizeof(b));
	ck_assert_uint_eq(fuzz_u16(&in), 0xbbaa);
	ck_assert(!fuzz_exhausted(&in));
	/* one byte left: the u32 gets it, then zeros */
	ck_assert_uint_eq(fuzz_u32(&in), 0xcc);
	ck_assert(fuzz_exhausted(&in));
	ck_assert_uint_eq(fuzz_u64(&in), 0);
	ck_assert(!fuzz_bool(&in));
	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(fuzz_bytes(&in, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert_uint_eq(fuzz_pick(&in, 7), 0);
	ck_assert_uint_eq(fuzz_range(&in, 10, 20), 10);
	free(d);
}
END_TEST

START_TEST(empty_input)
{
	struct fuzz_input in;
	size_t len = 99;
	char s[4] = "xyz";

	fuzz_input_init(&in, NULL, 0);
	ck_assert_uint_eq(fuzz_u32(&in), 0);
	ck_assert(fuzz_exhausted(&in));
	ck_assert_ptr_nonnull(fuzz_run(&in, 10, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(fuzz_string(&in, s, sizeof(s)), 0);
	ck_assert_str_eq(s, "");
	ck_assert_ptr_nonnull(fuzz_rest(&in, &len));
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(range_uses_only_the_bytes_it_needs)
{
	static const uint8_t b[] = {200, 0x10, 0x27, 5, 9};
	uint8_t *d = exact(b, sizeof(b));
	struct fuzz_input in;

	fuzz_input_init(&in, d, sizeof(b));
	/* span 0: nothing consumed */
	ck_assert_uint_eq(fuzz_range(&in, 42, 42), 42);
	ck_assert_uint_eq(fuzz_remaining(&in), 5);
	/* span 9 fits a byte: 200 % 10 */
	ck_assert_uint_eq(fuzz_range(&in, 1, 10), 1 + 200 % 10);
	/* span 9999 needs two bytes: 0x2710 = 10000, % 10000 = 0 */
	ck_assert_uint_eq(fuzz_range(&in, 0, 9999), 0);
	/* a pick of 3 takes one byte: 5 % 3 */
	ck_assert_uint_eq(fuzz_pick(&in, 3), 2);
	ck_assert_uint_eq(fuzz_pick(&in, 1), 0); /* no byte needed */
	ck_assert_uint_eq(fuzz_remaining(&in), 1);
	free(d);
}
END_TEST

/* Every 1- and 2-byte input stays within bounds, for awkward ranges. */
START_TEST(range_always_in_bounds)
{
	static const uint64_t bounds[][2] = {
	    {0, 0},	     {0, 1},
	    {5, 255},	     {0, 256},
	    {100, 65635},    {UINT64_MAX - 3, UINT64_MAX},
	    {0, UINT64_MAX}, {1, UINT64_MAX - 1},
	};

	for (size_t k = 0; k < sizeof(bounds) / sizeof(bounds[0]); k++) {
		for (unsigned v = 0; v < 65536; v += 7) {
			uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
			struct fuzz_input in;
			uint64_t r;

			fuzz_input_init(&in, b, 1 + (v & 1));
			r = fuzz_range(&in, bounds[k][0], bounds[k][1]);
			ck_assert(r >= bounds[k][0] && r <= bounds[k][1]);
		}
	}
}
END_TEST

START_TEST(full_range_is_the_raw_u64)
{
	static const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 0x80};
	struct fuzz_input in;

	fuzz_input_init(&in, b, sizeof(b));
	ck_assert_uint_eq(fuzz_range(&in, 0, UINT64_MAX),
			  0x8007060504030201ull);
}
END_TEST

START_TEST(runs_and_strings)
{
	static const uint8_t b[] = {3, 'a', 'b', 'c', 'd', 5,  'x',
				    0, 'y', 'z', 'w', 9,   'q'};
	uint8_t *d = exact(b, sizeof(b));
	struct fuzz_input in;
	const uint8_t *p;
	char s[16];
	size_t len;

	fuzz_input_init(&in, d, sizeof(b));
	p = fuzz_run(&in, 10, &len); /* length byte 3 */
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(p, "abc", 3) == 0);
	ck_assert_uint_eq(fuzz_u8(&in), 'd');
	/* length 5 taken, but the NUL ends the string */
	ck_assert_uint_eq(fuzz_string(&in, s, sizeof(s)), 1);
	ck_assert_str_eq(s, "x");
	ck_assert_uint_eq(fuzz_remaining(&in), 2);
	ck_assert(!fuzz_exhausted(&in));
	/* wants 9, only 'q' is left: short run and the flag */
	p = fuzz_run(&in, 100, &len);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(p[0], 'q');
	ck_assert(fuzz_exhausted(&in));
	free(d);
}
END_TEST

START_TEST(string_respects_capacity)
{
	static const uint8_t b[] = {200, 'a', 'b', 'c', 'd', 'e', 'f'};
	uint8_t *d = exact(b, sizeof(b));
	struct fuzz_input in;
	char s[4];

	fuzz_input_init(&in, d, sizeof(b));
	/* at most 3 characters: 200 % 4 = 0 */
	ck_assert_uint_eq(fuzz_string(&in, s, sizeof(s)), 0);
	fuzz_input_init(&in, d + 1, sizeof(b) - 1); /* length byte 'a' */
	ck_assert_uint_eq(fuzz_string(&in, s, sizeof(s)), 'a' % 4);
	ck_assert_str_eq(s, "b");
	free(d);
}
END_TEST

START_TEST(rest_takes_everything)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	uint8_t *d = exact(b, sizeof(b));
	struct fuzz_input in;
	const uint8_t *p;
	size_t len;

	fuzz_input_init(&in, d, sizeof(b));
	fuzz_u8(&in);
	p = fuzz_rest(&in, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(p[2], 4);
	ck_assert(!fuzz_exhausted(&in));
	ck_assert_uint_eq(fuzz_remaining(&in), 0);
	free(d);
}
END_TEST

/* The same bytes give the same draws: the engines' reproducibility. */
START_TEST(deterministic)
{
	uint8_t b[64];
	uint64_t first[16];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 11);
	for (int round = 0; round < 2; round++) {
		struct fuzz_input in;

		fuzz_input_init(&in, b, sizeof(b));
		for (int i = 0; i < 16; i++) {
			uint64_t v = i % 2 ? fuzz_range(&in, 3, 70000)
					   : fuzz_pick(&in, 5);

			if (round == 0)
				first[i] = v;
			else
				ck_assert_uint_eq(v, first[i]);
		}
	}
}
END_TEST

/* Runs fn in a child (CK_FORK=no keeps Check from forking for us): true
 * if it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the message is expected: keep the test log clean */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void bad_range(void)
{
	struct fuzz_input in;

	fuzz_input_init(&in, NULL, 0);
	fuzz_range(&in, 2, 1);
}

static void pick_of_nothing(void)
{
	struct fuzz_input in;

	fuzz_input_init(&in, NULL, 0);
	fuzz_pick(&in, 0);
}

/* Target bugs stop the run instead of drawing something arbitrary. */
START_TEST(target_bugs_abort)
{
	ck_assert(aborts(bad_range));
	ck_assert(aborts(pick_of_nothing));
}
END_TEST

static Suite *fuzz_input_suite(void)
{
	Suite *s = suite_create("fuzz_input");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, little_endian_in_order);
	tcase_add_test(tc, past_the_end_gives_zeros_and_the_flag);
	tcase_add_test(tc, empty_input);
	tcase_add_test(tc, range_uses_only_the_bytes_it_needs);
	tcase_add_test(tc, range_always_in_bounds);
	tcase_add_test(tc, full_range_is_the_raw_u64);
	tcase_add_test(tc, runs_and_strings);
	tcase_add_test(tc, string_respects_capacity);
	tcase_add_test(tc, rest_takes_everything);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, target_bugs_abort);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(fuzz_input_suite());
}
