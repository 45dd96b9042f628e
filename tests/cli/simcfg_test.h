/*
 * Helpers of the configuration reader's tests (test_simcfg*.c): load a
 * text as "t.cfg" from directory /cfg, and expect success or an error.
 */
#ifndef XPV_TESTS_CLI_SIMCFG_TEST_H
#define XPV_TESTS_CLI_SIMCFG_TEST_H

#include <check.h>
#include <string.h>

#include "sim/cli/simcfg.h"

#define MS 1000000ull
#define US 1000ull

static char err[512];

/* Loads text as "t.cfg" in directory /cfg; must succeed. */
static inline struct simcfg *load_ok(const char *text)
{
	struct simcfg *cfg = NULL;
	int rc =
	    simcfg_load_string(text, "t.cfg", "/cfg", &cfg, err, sizeof(err));

	ck_assert_msg(rc == 0, "unexpected error: %s", err);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

/* Must fail with a message starting with want (e.g. "t.cfg:3: vscsi: "). */
static inline void load_err(const char *text, const char *want)
{
	struct simcfg *cfg = (struct simcfg *)1;
	int rc =
	    simcfg_load_string(text, "t.cfg", "/cfg", &cfg, err, sizeof(err));

	ck_assert_msg(rc == -1, "accepted, wanted '%s'", want);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "got '%s', wanted '%s...'", err, want);
}

/* Must fail with exactly the message want. */
static inline void load_err_exact(const char *text, const char *want)
{
	load_err(text, want);
	ck_assert_msg(strcmp(err, want) == 0, "got '%s', wanted '%s'", err,
		      want);
}

#endif /* XPV_TESTS_CLI_SIMCFG_TEST_H */
