/*
 * The plain main() every fuzz target gets in a build without a fuzzing
 * engine: it replays files through LLVMFuzzerTestOneInput, so ctest checks
 * the corpus and every crash ever found in the ordinary gcc build too.
 *
 *   fuzz_NAME [--skip-missing] [--min-inputs N] [--expect-crash] PATH...
 *
 * A PATH is a file (one input) or a directory (each regular file in it,
 * by name; names starting with '.' are skipped). Each input is handed over
 * in a buffer of exactly its size, as the engines do, so sanitizers see
 * any read past its end. A crash kills the process after the name of the
 * input is printed. --skip-missing: a PATH that does not exist is empty
 * (regression directories appear with the first bug). --min-inputs N:
 * fewer inputs is a failure (a real target must ship seeds).
 * --expect-crash: each input runs in a child process that must die or
 * fail (the canary's check that the pipeline notices a crash).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_target.h"

/* Present only when a sanitizer runtime is linked in. */
extern void __sanitizer_set_death_callback(void (*cb)(void))
    __attribute__((weak));

struct replay {
	bool skip_missing, expect_crash;
	unsigned long min_inputs;
	unsigned long ran, failed;
};

/* The program's name and the input being run, for messages. */
static const char *prog = "replay";
static const char *current_input;

static void complain(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void complain(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void say_crashed(void)
{
	static const char msg[] = ": crashed on input ";
	const char *p = current_input ? current_input : "(none)";

	/* write(2) only: this may run inside a signal handler. */
	if (write(2, prog, strlen(prog)) < 0 ||
	    write(2, msg, sizeof(msg) - 1) < 0 || write(2, p, strlen(p)) < 0 ||
	    write(2, "\n", 1) < 0)
		return;
}

static void on_fatal_signal(int sig)
{
	say_crashed();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Sanitizers own SIGSEGV and friends and report through their death
 * callback; abort() (assertions, the canary) reaches the signal handler in
 * every build. */
static void catch_crashes(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};

	signal(SIGABRT, on_fatal_signal);
	if (__sanitizer_set_death_callback) {
		__sanitizer_set_death_callback(say_crashed);
		return;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_fatal_signal);
}

/* The whole file in a buffer of exactly its size; NULL on error. */
static uint8_t *read_input(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	const char *why = NULL;
	uint8_t *buf = NULL;
	struct stat st;

	if (!f || fstat(fileno(f), &st) < 0)
		why = strerror(errno);
	else if (!(buf = malloc((size_t)st.st_size)))
		why = "out of memory";
	else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		why = "short read";
	if (f)
		fclose(f);
	if (why) {
		complain("%s: %s", path, why);
		free(buf);
		return NULL;
	}
	*size = (size_t)st.st_size;
	return buf;
}

static bool run_here(const char *path, const uint8_t *data, size_t size)
{
	int rc;

	current_input = path;
	rc = LLVMFuzzerTestOneInput(data, size);
	current_input = NULL;
	/* libFuzzer's rule: 0, or -1 to keep the input out of the corpus. */
	if (rc != 0 && rc != -1) {
		complain("%s: target returned %d (want 0 or -1)", path, rc);
		return false;
	}
	return true;
}

/* The canary's mode: true if running the input killed or failed a child. */
static bool crashes_in_child(const char *path, const uint8_t *data, size_t size)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		complain("fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0)
		_exit(run_here(path, data, size) ? 0 : 1);
	if (waitpid(pid, &status, 0) < 0) {
		complain("waitpid: %s", strerror(errno));
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		complain("%s: did not crash, but a crash was expected", path);
		return false;
	}
	return true;
}

static void run_file(struct replay *r, const char *path)
{
	size_t size;
	uint8_t *data = read_input(path, &size);
	bool ok;

	if (!data) {
		r->failed++;
		return;
	}
	ok = r->expect_crash ? crashes_in_child(path, data, size)
			     : run_here(path, data, size);
	free(data);
	r->ran++;
	if (!ok)
		r->failed++;
}

static int visible_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void run_dir(struct replay *r, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, visible_entry, alphasort);
	struct stat st;
	char path[4096];

	if (n < 0) {
		complain("%s: %s", dir, strerror(errno));
		r->failed++;
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(r, path);
		free(names[i]);
	}
	free(names);
}

static void run_path(struct replay *r, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT && r->skip_missing)
			return;
		complain("%s: %s", path, strerror(errno));
		r->failed++;
	} else if (S_ISDIR(st.st_mode)) {
		run_dir(r, path);
	} else {
		run_file(r, path);
	}
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s [--skip-missing] [--min-inputs N] [--expect-crash] "
		"PATH...\n"
		"Replays each file (or each file of a directory) through the "
		"fuzz target once.\n",
		prog);
	return 2;
}

/* Options first, then paths; returns the index of the first path, or -1. */
static int parse_options(struct replay *r, int argc, char **argv)
{
	int i = 1;
	char *end;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--skip-missing") == 0) {
			r->skip_missing = true;
		} else if (strcmp(argv[i], "--expect-crash") == 0) {
			r->expect_crash = true;
		} else if (strcmp(argv[i], "--min-inputs") == 0 &&
			   i + 1 < argc) {
			r->min_inputs = strtoul(argv[++i], &end, 10);
			if (*end || !*argv[i]) {
				complain("--min-inputs '%s': want a count",
					 argv[i]);
				return -1;
			}
		} else {
			complain("unknown option '%s'", argv[i]);
			return -1;
		}
	}
	if (i == argc)
		complain("no PATH given");
	return i < argc ? i : -1;
}

int main(int argc, char **argv)
{
	struct replay r = {0};
	int first;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	first = parse_options(&r, argc, argv);
	if (first < 0)
		return usage();
	catch_crashes();
	for (int i = first; i < argc; i++)
		run_path(&r, argv[i]);
	printf("%s: %lu input%s ran%s, %lu failed\n", prog, r.ran,
	       r.ran == 1 ? "" : "s",
	       r.expect_crash ? " (each expected to crash)" : "", r.failed);
	if (r.ran < r.min_inputs) {
		complain("%lu inputs ran, at least %lu wanted: is the corpus "
			 "missing?",
			 r.ran, r.min_inputs);
		return 1;
	}
	return r.failed ? 1 : 0;
}
