/*
 * Feeds any file image to the replay player (sim/replay/player.h) as a
 * recorded trace and replays it: Dom0 played from records that may lie
 * (data beyond a page, responses on rings never attached, maps of grants
 * never given, binds to ports that do not exist, odd RUN records, records
 * out of order), the real frontend and guest stand-in under it.
 *
 * Input: the pcap file image, read through fmemopen as `xpvsim replay`
 * reads a file; then the path xpvsim takes (sim/cli/xpvsim_replay.c):
 * replay_fopen, simcfg_load_string of the RUN record's configuration,
 * run_replay, replay_close. Oracles beyond "no crash, no sanitizer report,
 * no simulator or frontend assertion": every refusal and verdict is one
 * printable line of its documented form (`replay-message`): a trace
 * refused at opening names "fuzz.pcap: " (and, for a record, "record N
 * (byte offset O): "); a refused configuration names its path as the
 * configuration reader prints it; a run that cannot be set up says why; a
 * read error during the replay is "fuzz.pcap: record N (byte offset O):
 * ..." with N no more than the records read; a divergence is "divergence
 * at S.NNNNNNNNN s: ..."; an identical replay has no message. The counts
 * add up (`replay-counts`): guest records compared, Dom0 records played
 * and Dom0 records left unplayed are disjoint sets of the records read,
 * ring requests are compared records, and Dom0's checked reads are played
 * records. The guest side's checker violations are not an oracle: a
 * backend that lies may legitimately leave commands unanswered.
 *
 * Speed: the player stops at the first divergence, and when the trace ends
 * the guest's next record is one, so a run lasts about as long as its
 * trace, whatever simulated time its configuration or RUN record allows:
 * a guest waiting on a backend that never answers spends simulated time
 * only on its own timeouts (a clock jump each), and each retry is a
 * record. Measured on the seeds and a campaign's corpus (fuzz/README.md):
 * no input near a second, so the target bounds nothing itself.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_target.h"
#include "sim/cli/simcfg.h"
#include "sim/replay/player.h"
#include "sim/run/run_replay.h"

#define NAME "fuzz.pcap"

static void check_line(const char *what, const char *msg)
{
	if (!msg[0])
		fuzz_fail("replay-message", "%s: an empty message", what);
	for (size_t i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			fuzz_fail("replay-message", "%s: %s has a control byte",
				  what, fuzz_quote(msg));
}

/* "fuzz.pcap: record N (byte offset O): ..." with N <= max_records
 * (the trace reader's form, sim/trace/trace_read.h): O is 0 for the file
 * header (N 0), else a record's offset, after the 24-byte file header
 * and the N pcap record headers (16 bytes each) before it. */
static void check_record_message(const char *what, const char *msg,
				 uint64_t max_records)
{
	unsigned long long n = 0, o = 0;
	char prefix[96];
	size_t len;

	/* Parsed loosely, then printed back and compared exactly. */
	sscanf(msg, NAME ": record %llu (byte offset %llu)", &n, &o);
	len = (size_t)snprintf(prefix, sizeof(prefix),
			       NAME ": record %llu (byte offset %llu): ", n, o);
	if (strncmp(msg, prefix, len) != 0 || n > max_records ||
	    (o == 0 ? n != 0 : o < 24 + 16 * n))
		fuzz_fail("replay-message",
			  "%s: %s is not \"" NAME ": record N (byte offset O): "
			  "...\" with N <= %" PRIu64 " and O 0 or >= 24 + 16 N",
			  what, fuzz_quote(msg), max_records);
}

/* A trace replay_fopen refused: the reader's record form, or a RUN record
 * without its configuration (which names the file only). */
static void check_open_refusal(const char *err)
{
	check_line("open", err);
	if (strncmp(err, NAME ": ", strlen(NAME) + 2) != 0)
		fuzz_fail("replay-message", "open: %s does not name the file",
			  fuzz_quote(err));
	if (strncmp(err, NAME ": record ", strlen(NAME) + 9) == 0)
		check_record_message("open", err, UINT64_MAX);
}

/* The configuration reader names the file as it was given (the RUN
 * record's path), with bytes outside printable ASCII shown as '?'
 * (sim/cli/simcfg.c), then ':'; a path of up to 65535 bytes may fill the
 * message, cut at errlen. */
static void check_config_refusal(const char *err, size_t errlen,
				 const char *path)
{
	size_t i;

	check_line("configuration", err);
	for (i = 0; path[i]; i++) {
		unsigned char ch = (unsigned char)path[i];
		char shown = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;

		if (err[i] != shown)
			break;
	}
	if (path[i] ? err[i] || i + 1 != errlen : err[i] != ':')
		fuzz_fail("replay-message",
			  "configuration: %s does not start with the path "
			  "and ':'",
			  fuzz_quote(err));
}

/* "divergence at S.NNNNNNNNN s: ..." */
static void check_divergence(const char *msg)
{
	unsigned long long s = 0;
	char frac[10] = "", prefix[64];
	size_t len;

	sscanf(msg, "divergence at %llu.%9[0-9] s: ", &s, frac);
	len = (size_t)snprintf(prefix, sizeof(prefix),
			       "divergence at %llu.%s s: ", s, frac);
	if (strlen(frac) != 9 || strncmp(msg, prefix, len) != 0 || !msg[len])
		fuzz_fail("replay-message",
			  "verdict: %s is not \"divergence at S.NNNNNNNNN s: "
			  "...\"",
			  fuzz_quote(msg));
}

static void check_verdict(const struct replay_result *res)
{
	if (res->identical) {
		if (res->divergence[0] || res->read_error)
			fuzz_fail("replay-message",
				  "identical, yet %s (read error %d)",
				  fuzz_quote(res->divergence), res->read_error);
		return;
	}
	check_line("verdict", res->divergence);
	if (res->read_error)
		check_record_message("read error", res->divergence,
				     res->records);
	else
		check_divergence(res->divergence);
}

static void check_counts(const struct replay_result *res)
{
	if (res->requests > res->compared || res->data_checked > res->played ||
	    res->compared > res->records || res->played > res->records ||
	    res->compared + res->played + res->not_played > res->records)
		fuzz_fail("replay-counts",
			  "records %" PRIu64 ", compared %" PRIu64
			  " (requests %" PRIu64 "), played %" PRIu64
			  " (data checked %" PRIu64 "), not played %" PRIu64,
			  res->records, res->compared, res->requests,
			  res->played, res->data_checked, res->not_played);
}

/* The run the RUN record describes, replayed. */
static void replay_loaded(struct replay_player *p)
{
	const struct replay_run *run = replay_run_info(p);
	struct replay_result res;
	struct simcfg *cfg;
	uint64_t violations = 0;
	char err[REPLAY_MSG_MAX] = "";

	if (simcfg_load_string(run->config_text, run->config_path, NULL, &cfg,
			       err, sizeof(err))) {
		check_config_refusal(err, sizeof(err), run->config_path);
		return;
	}
	if (run_replay(p, cfg, NULL, NULL, &res, &violations, err,
		       sizeof(err))) {
		check_line("set-up", err);
	} else {
		check_verdict(&res);
		check_counts(&res);
	}
	simcfg_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REPLAY_MSG_MAX] = "";
	struct replay_player *p;
	FILE *f;

	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	if (replay_fopen(f, NAME, &p, err, sizeof(err))) {
		check_open_refusal(err);
		return 0;
	}
	replay_loaded(p);
	replay_close(p);
	return 0;
}
