/*
 * What every fuzz target shares: the entry point both engines and the
 * replay driver call, and the way an oracle reports a failure. An oracle
 * failure aborts, so libFuzzer, AFL++ and ctest all record it as a crash,
 * with a message saying which property broke and on what value.
 */
#ifndef XPV_FUZZ_TARGET_H
#define XPV_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's interface: 0, or -1 to keep an input out of the corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz oracle ORACLE failed: MESSAGE" to stderr and aborts. */
void fuzz_fail(const char *oracle, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* The input as a C string: a malloc'd copy with a NUL appended (an
 * embedded NUL ends the string early, as for any C caller). Aborts if
 * memory runs out: that is the host's failure, not the input's. */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* s quoted for a message, non-printable bytes as \xNN, at most 200
 * input characters. The buffer is static: use before the next call. */
const char *fuzz_quote(const char *s);

#endif /* XPV_FUZZ_TARGET_H */
