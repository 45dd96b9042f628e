/*
 * The fuzzer is the PVSCSI backend: every decision of the xen-scsiback
 * model (which responses go wrong and how, every field value it makes up,
 * service times and so the order of answers, duplicates, drops, extra and
 * stale responses, rsp_prod jumps, rewrites of published slots, grants
 * kept mapped, TMR answers, xenstore tampering) is drawn from the input,
 * while a guest scans a disk and runs verified I/O through the reference
 * frontend, and every simulator checker is an oracle.
 *
 * Input: a header of session choices (feature-sg-grant, block size, queue
 * depth, I/O count, abort/reset rounds, a save/restore), then one decision
 * per consultation of the model (sim/backends/scsiback.h lists them). A
 * consultation misbehaves when its byte's low four bits are all set, so
 * random bytes misbehave rarely and one mutated byte flips one decision.
 * When the input runs out the backend turns well-behaved and fast: then
 * every guest request must complete (liveness) and the run must end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "fuzz_session.h"
#include "fuzz_target.h"
#include "sim/backends/scsiback.h"

static const unsigned sg_grants[] = { 0, 26, 27, 64, 128, 1000 };
/* Up to 256 KiB: past 104 KiB (26 pages) a command needs indirect
 * segments, and 256 KiB at 26 segments is split in three; larger blocks
 * only make a run slower. */
static const unsigned blocks_k[] = { 4, 8, 64, 104, 108, 256 };

/* Session choices from the header. */
static void config_text(struct fuzz_input *in, char *buf, size_t len)
{
	unsigned sg = sg_grants[fuzz_pick(in, 6)];
	unsigned block = blocks_k[fuzz_pick(in, 6)];
	unsigned depth = (unsigned)fuzz_range(in, 1, 16);
	unsigned ops = (unsigned)fuzz_range(in, 8, 24);
	bool aborts = fuzz_bool(in), suspend = fuzz_bool(in);
	bool answered = fuzz_bool(in);

	snprintf(buf, len,
		 "sim_scsi_targets = [ 'name=d0, image=%s/d0.img, size=4M' ]\n"
		 "vscsi = [ 'd0, 0:0:0:0' ]\n"
		 "sim_scsiback = 'sg_grant=%u, service_min=0, "
		 "service_max=100us, per_kib=0%s'\n"
		 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, block=%uK, "
		 "depth=%u, ops=%u, span=4M'%s ]\n"
		 "sim_timeline = [ %s ]\n"
		 "sim_time_limit = \"600s\"\n",
		 fuzz_session_dir(), sg,
		 answered ? ", tmr_victims=answer" : "", block, depth, ops,
		 aborts ? ", 'lun=0:0:0:0, pattern=abort-reset, ops=2'" : "",
		 suspend ? "'200us suspend'" : "");
}

static bool decide_hit(void *arg, enum sim_fault f)
{
	struct fuzz_input *in = arg;

	(void)f;
	return (fuzz_u8(in) & 0x0f) == 0x0f;
}

static uint64_t decide_draw(void *arg, uint64_t bound)
{
	return fuzz_range(arg, 0, bound - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct sim_fault_decider d = { decide_hit, decide_draw, &in };
	struct pvscsi_run_options opt = { .decider = &d };
	char text[1024];

	fuzz_input_init(&in, data, size);
	config_text(&in, text, sizeof(text));
	fuzz_session_run(text, &opt, NULL);
	return 0;
}
