/*
 * A whole simulated PVSCSI session for a fuzz target: a configuration in
 * xpvsim's syntax (docs/config.md) is run by sim/run with the target's
 * backend decisions, and every simulator checker becomes an oracle: a
 * violation, a run that does not end by itself (liveness), or a frontend
 * assertion aborts with a message naming the checker.
 */
#ifndef XPV_FUZZ_SESSION_H
#define XPV_FUZZ_SESSION_H

#include "sim/run/pvscsi_run.h"

/* What every session target needs once per process, before its first
 * session: the heap kept between sessions and XPV_BREAK read from the
 * environment (a deliberately broken frontend, xpv_sim.h). Idempotent;
 * fuzz_session_run calls it. */
void fuzz_session_init(void);

/* XPV_FUZZ_TRACE=FILE: each session also records its simulation as a
 * trace (docs/trace-format.md), rewriting FILE, every record written out
 * at once so an input that crashes leaves its whole session so far: run
 * one input with it to open a finding in Wireshark
 * (tools/wireshark/xpvtrace.lua). fuzz_session_run does this itself;
 * targets that build their own simulator call trace_begin right after
 * sim_create and trace_end right after sim_destroy. trace_file gives the
 * stream for a run's options (NULL when unset). */
FILE *fuzz_session_trace_file(void);
void fuzz_session_trace_begin(struct sim *sim);
void fuzz_session_trace_end(void);

/* A scratch directory for this process's image files, made on first use
 * and removed at exit. Images are reused by every session of the process:
 * what a session reads from blocks it did not write is never checked, and
 * nothing a frontend does depends on data contents. */
const char *fuzz_session_dir(void);

/* Runs the configuration text with the target's decider and hooks from
 * base (seed and logging are set here); the result is handed to check (may
 * be NULL) for target-specific oracles before it is freed. */
void fuzz_session_run(const char *config_text,
		      const struct pvscsi_run_options *base,
		      void (*check)(const struct pvscsi_run_result *res));

#endif /* XPV_FUZZ_SESSION_H */
