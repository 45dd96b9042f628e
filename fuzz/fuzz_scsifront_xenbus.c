/*
 * The fuzzer is a hostile dom0 on xenstore: while the xen-scsiback model
 * serves the ring and a guest runs I/O through the reference frontend, the
 * input writes and removes the backend's keys in any order (its state,
 * skipped, repeated, regressing or nonsense; vscsi-devs entries appearing,
 * vanishing, changing state, with well-formed or malformed v-dev and
 * p-dev; feature-sg-grant at any value), makes the toolstack hot-add and
 * remove LUNs, and saves and restores the guest. Every simulator checker
 * is an oracle.
 *
 * Input: a header (feature-sg-grant, workload shape), then steps until the
 * input runs out, each a delay and one action. Afterwards nobody tampers
 * any more: the backend model is well-behaved, so every guest request must
 * complete; a stall with nothing outstanding is allowed (a backend can
 * always refuse to connect).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_input.h"
#include "fuzz_session.h"
#include "fuzz_target.h"
#include "sim/core/sim.h"
#include "sim/xenstore/xenstore.h"

#define DOM0 0
#define MAX_DEV 4 /* vscsi-devs/dev-0 .. dev-3 */

struct script {
	struct fuzz_input in;
	struct sim *sim;
	char be[256];
};

static const char *const garbage[] = {
	"", "-1", "4294967296", "3 ", " 4", "0x4", "4\n", "9", "255",
	"00004", "1:2:3", "naa.", "0:0:0:0:0", "65536:0:0:0", "a:b:c:d",
};

/* A value for a key that expects a number: often in range, sometimes not,
 * sometimes not a number at all. */
static void number_or_garbage(struct fuzz_input *in, unsigned hi, char *buf,
			      size_t len)
{
	switch (fuzz_pick(in, 3)) {
	case 0:
		snprintf(buf, len, "%u", (unsigned)fuzz_range(in, 0, hi));
		break;
	case 1:
		snprintf(buf, len, "%u", fuzz_u32(in));
		break;
	default:
		snprintf(buf, len, "%s",
			 garbage[fuzz_pick(in, sizeof(garbage) /
						   sizeof(garbage[0]))]);
	}
}

/* h:c:t:l, well formed or not. */
static void address(struct fuzz_input *in, char *buf, size_t len)
{
	if (fuzz_bool(in))
		snprintf(buf, len, "0:0:%u:%u", (unsigned)fuzz_range(in, 0, 70),
			 (unsigned)fuzz_range(in, 0, 3));
	else
		number_or_garbage(in, 8, buf, len);
}

static void put(struct script *s, const char *key, const char *val)
{
	char path[320];

	snprintf(path, sizeof(path), "%s%s%s", s->be, *key ? "/" : "", key);
	sim_xs_write(sim_xs(s->sim), DOM0, 0, path, val, (unsigned)strlen(val));
}

static void rm(struct script *s, const char *key)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", s->be, key);
	sim_xs_rm(sim_xs(s->sim), DOM0, 0, path);
}

/* One tampering step. */
static void step(struct script *s)
{
	struct fuzz_input *in = &s->in;
	unsigned dev = (unsigned)fuzz_range(in, 0, MAX_DEV - 1);
	char key[64], val[64];

	switch (fuzz_pick(in, 8)) {
	case 0: /* the backend's state */
		number_or_garbage(in, 9, val, sizeof(val));
		put(s, "state", val);
		break;
	case 1: /* a LUN's state */
		snprintf(key, sizeof(key), "vscsi-devs/dev-%u/state", dev);
		number_or_garbage(in, 9, val, sizeof(val));
		put(s, key, val);
		break;
	case 2:
		snprintf(key, sizeof(key), "vscsi-devs/dev-%u/v-dev", dev);
		address(in, val, sizeof(val));
		put(s, key, val);
		break;
	case 3:
		snprintf(key, sizeof(key), "vscsi-devs/dev-%u/p-dev", dev);
		address(in, val, sizeof(val));
		put(s, key, val);
		break;
	case 4:
		snprintf(key, sizeof(key), "vscsi-devs/dev-%u", dev);
		rm(s, key);
		break;
	case 5:
		number_or_garbage(in, 300, val, sizeof(val));
		put(s, "feature-sg-grant", val);
		break;
	case 6: /* host state: Reconfiguring / Reconfigured, in or out of turn */
		put(s, "state", fuzz_bool(in) ? "7" : "8");
		break;
	default:
		rm(s, fuzz_bool(in) ? "feature-sg-grant" : "vscsi-devs");
		break;
	}
}

static void step_event(struct sim *sim, void *arg)
{
	struct script *s = arg;

	step(s);
	if (!fuzz_exhausted(&s->in) && fuzz_remaining(&s->in) > 0)
		sim_schedule(sim, fuzz_range(&s->in, 0, 3000000), step_event,
			     s, "fuzz-dom0");
}

static void host_started(void *arg, struct sim *sim, uint16_t host,
			 const char *frontend_path, const char *backend_path)
{
	struct script *s = arg;

	(void)host;
	(void)frontend_path;
	s->sim = sim;
	snprintf(s->be, sizeof(s->be), "%s", backend_path);
	if (fuzz_remaining(&s->in) > 0)
		sim_schedule(sim, fuzz_range(&s->in, 0, 3000000), step_event,
			     s, "fuzz-dom0");
}

/* Toolstack actions from the header, at fixed times, so that hotplug and
 * save/restore interleave with the tampering. */
static void config_text(struct fuzz_input *in, char *buf, size_t len)
{
	static const unsigned sg[] = { 0, 26, 64, 128, 4096 };
	unsigned sg_grant = sg[fuzz_pick(in, 5)];
	bool add = fuzz_bool(in), remove = fuzz_bool(in);
	bool suspend = fuzz_bool(in);
	char timeline[256] = "";

	snprintf(timeline, sizeof(timeline), "%s%s%s",
		 add ? "'1ms lun-add 0:0:1:0 d1', " : "",
		 remove ? "'3ms lun-remove 0:0:0:0', " : "",
		 suspend ? "'2ms suspend', " : "");
	snprintf(buf, len,
		 "sim_scsi_targets = [ 'name=d0, image=%s/d0.img, size=4M', "
		 "'name=d1, image=%s/d1.img, size=1M' ]\n"
		 "vscsi = [ 'd0, 0:0:0:0' ]\n"
		 "sim_scsiback = 'sg_grant=%u, service_min=0, "
		 "service_max=100us, per_kib=0'\n"
		 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, block=8K, "
		 "depth=%u, ops=%u, span=4M' ]\n"
		 "sim_timeline = [ %s ]\n"
		 "sim_time_limit = \"600s\"\n",
		 fuzz_session_dir(), fuzz_session_dir(), sg_grant,
		 (unsigned)fuzz_range(in, 1, 16),
		 (unsigned)fuzz_range(in, 8, 64), timeline);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { 0 };
	struct pvscsi_run_options opt = { .host_started = host_started,
					  .hook_arg = &s };
	char text[1024];

	fuzz_input_init(&s.in, data, size);
	config_text(&s.in, text, sizeof(text));
	fuzz_session_run(text, &opt, NULL);
	return 0;
}
