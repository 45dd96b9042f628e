/*
 * The one way a Check test program runs its suite: every test main() ends
 * with `return xpv_check_run(suite);`. CK_FORK=no is set by ctest
 * (cmake/XpvTesting.cmake) so sanitizers see the whole run in one process.
 */
#ifndef XPV_TESTS_CHECK_MAIN_H
#define XPV_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int xpv_check_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* XPV_TESTS_CHECK_MAIN_H */
