/*
 * A main() that measures how fast a target runs: one input (a file, or the
 * empty input) through LLVMFuzzerTestOneInput again and again for a while,
 * on one core, then the rate. For the session targets one run is a whole
 * session: connect, scan, the I/O, disconnect and every checker's audit.
 *
 *   fuzz_NAME_bench [--seconds N] [FILE]
 *
 * The wall clock is read here, around whole runs, never inside the
 * simulator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_target.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*size = n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	double seconds = 5, start, elapsed;
	uint8_t *data = NULL;
	size_t size = 0;
	unsigned long runs = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			fprintf(stderr, "usage: %s [--seconds N] [FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "bench: --seconds: want (0, 3600]\n");
		return 2;
	}
	if (path)
		data = read_file(path, &size);
	LLVMFuzzerTestOneInput(data, size); /* warm-up: images, pools */
	start = now_s();
	do {
		LLVMFuzzerTestOneInput(data, size);
		runs++;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	printf("%s: %lu runs of %s in %.2f s: %.0f runs/s on one core\n",
	       argv[0], runs, path ? path : "the empty input", elapsed,
	       (double)runs / elapsed);
	free(data);
	return 0;
}
