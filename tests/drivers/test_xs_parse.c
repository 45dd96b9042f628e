/*
 * The frontend cores' xenstore number parser (xpv/xs_parse.h): what a
 * backend may write and what it may not, and the round trip through
 * xpv_format_u32. The fuzz target xs_parse checks the same contract on
 * arbitrary strings; these are the cases a reader should see spelled out.
 */
#include <string.h>

#include <xpv/xs_parse.h>

#include "check_main.h"

static int parse(const char *s, xpv_u32 *v)
{
	return xpv_parse_u32(s, 0, 0xffffffffu, v);
}

START_TEST(plain_decimal_is_read)
{
	xpv_u32 v = 0;

	ck_assert_int_eq(parse("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse("4294967295", &v), 0);
	ck_assert_uint_eq(v, 4294967295u);
}
END_TEST

/* Decimal, as Linux's xenbus_scanf("%u") reads it: never octal. */
START_TEST(leading_zeros_are_decimal)
{
	xpv_u32 v = 0;

	ck_assert_int_eq(parse("007", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(parse("010", &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(parse("0000000000000004", &v), 0); /* 16 digits */
	ck_assert_uint_eq(v, 4);
	/* 17 characters: longer than anything the parser reads. */
	ck_assert_int_eq(parse("00000000000000004", &v), -XPV_EINVAL);
}
END_TEST

START_TEST(anything_else_is_malformed)
{
	const char *bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3",
			      "12a", "١" };
	xpv_u32 v = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &v) == -XPV_EINVAL, "'%s'", bad[i]);
	ck_assert_uint_eq(v, 99); /* untouched on failure */
}
END_TEST

START_TEST(range_is_checked)
{
	xpv_u32 v = 99;

	ck_assert_int_eq(parse("4294967296", &v), -XPV_ERANGE);
	ck_assert_int_eq(xpv_parse_u32("5", 1, 4, &v), -XPV_ERANGE);
	ck_assert_int_eq(xpv_parse_u32("0", 1, 4, &v), -XPV_ERANGE);
	ck_assert_uint_eq(v, 99);
	ck_assert_int_eq(xpv_parse_u32("4", 1, 4, &v), 0);
	ck_assert_uint_eq(v, 4);
}
END_TEST

START_TEST(format_round_trips_without_padding)
{
	const xpv_u32 vals[] = { 0, 7, 10, 4096, 4294967295u };
	char buf[11];
	xpv_u32 v;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		xpv_size n = xpv_format_u32(buf, vals[i]);

		ck_assert_uint_eq(n, strlen(buf));
		ck_assert(n == 1 || buf[0] != '0');
		ck_assert_int_eq(parse(buf, &v), 0);
		ck_assert_uint_eq(v, vals[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xs_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, plain_decimal_is_read);
	tcase_add_test(tc, leading_zeros_are_decimal);
	tcase_add_test(tc, anything_else_is_malformed);
	tcase_add_test(tc, range_is_checked);
	tcase_add_test(tc, format_round_trips_without_padding);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
