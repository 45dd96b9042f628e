/*
 * The guest side's randomness does not depend on the backend side's
 * (sim/core/sim.h, random streams): one PVSCSI guest run twice with the
 * scsiback model's service times drawn from two different ranges (so the
 * backend draws other values and answers at other times, with the same
 * answers) publishes the same commands in the same order; another seed
 * publishes others. The commands are read from the recorded trace
 * (RING_ENTRY requests of docs/trace-format.md): what a replay will
 * compare.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/vscsiif.h>

#include "check_main.h"
#include "sim/run/pvscsi_run.h"
#include "tmpdir.h"
#include "trace_test.h"

/* One random read/write workload with commands overlapping in flight
 * (depth 8), so completions come back in an order set by the backend's
 * service times; the span is wide enough that no two in flight choose
 * the same blocks (a collision would make the guest redraw, legitimately
 * depending on timing). %s: the sim_scsiback line. */
static const char config_fmt[] =
    "name = \"indep\"\n"
    "type = \"pv\"\n"
    "memory = 256\n"
    "sim_scsi_targets = [ 'name=data, type=disk, image=images/d.img, "
    "size=1G' ]\n"
    "vscsi = [ 'data, 0:0:0:0' ]\n"
    "sim_scsiback = '%s'\n"
    "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, block=4K, depth=8, "
    "ops=200, verify=1' ]\n"
    "sim_time_limit = \"5s\"\n";

static const char fast_backend[] = "service_min=20us, service_max=200us";
static const char slow_backend[] =
    "service_min=5us, service_max=3ms, per_kib=7us";

/* A request as the guest chose it: the parts of vscsiif_request_t that do
 * not depend on timing (rqid and grant refs do: they name free slots). */
struct cmd {
	uint8_t act, cmd_len, cmnd[VSCSIIF_MAX_COMMAND_SIZE];
	uint16_t channel, id, lun;
	uint8_t dir;
};

struct cmds {
	struct cmd *v;
	uint64_t *time_ns; /* when each was published */
	size_t n;
};

static void cmds_add(struct cmds *c, const vscsiif_request_t *rq,
		     uint64_t t)
{
	struct cmd *k;

	c->v = realloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->time_ns = realloc(c->time_ns, (c->n + 1) * sizeof(*c->time_ns));
	ck_assert(c->v && c->time_ns);
	k = &c->v[c->n];
	memset(k, 0, sizeof(*k));
	k->act = rq->act;
	k->cmd_len = rq->cmd_len;
	memcpy(k->cmnd, rq->cmnd, sizeof(k->cmnd));
	k->channel = rq->channel;
	k->id = rq->id;
	k->lun = rq->lun;
	k->dir = rq->sc_data_direction;
	c->time_ns[c->n++] = t;
}

static void cmds_free(struct cmds *c)
{
	free(c->v);
	free(c->time_ns);
	memset(c, 0, sizeof(*c));
}

/* Every vscsiif request the trace recorded, in publication order. */
static void collect(const struct tt_file *t, struct cmds *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < t->n; i++) {
		const struct tt_rec *r = &t->recs[i];
		const uint8_t *p = r->payload;

		if (r->type != SIM_REC_RING_ENTRY ||
		    p[2] != SIM_REC_RING_VSCSIIF || p[3] != SIM_REC_REQUEST)
			continue;
		vscsiif_request_t rq; /* an aligned copy of the entry */

		ck_assert_uint_ge(tt_u32(p + 16), sizeof(rq));
		memcpy(&rq, p + 20, sizeof(rq));
		cmds_add(c, &rq, r->time_ns);
	}
}

/* The config with `backend` run with seed, recorded; its commands. */
static void run(const char *backend, uint64_t seed, struct cmds *c)
{
	struct pvscsi_run_options opt = {.seed = seed, .has_seed = true};
	struct pvscsi_run_result res;
	char text[1024], dir[64], err[512];
	struct simcfg *cfg;
	struct tt_file t;
	FILE *pcap;

	snprintf(text, sizeof(text), config_fmt, backend);
	xpv_tmpdir_make(dir, sizeof(dir), "indep");
	if (simcfg_load_string(text, "indep.cfg", dir, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	ck_assert_ptr_nonnull(pcap = tmpfile());
	opt.trace_pcap = pcap;
	ck_assert_msg(pvscsi_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	ck_assert_uint_eq(res.violations_total, 0);
	pvscsi_run_result_free(&res);
	simcfg_free(cfg);
	xpv_tmpdir_remove(dir);
	tt_read(pcap, &t); /* closes it */
	tt_check_framing(&t);
	collect(&t, c);
	tt_free(&t);
}

static bool same_cmds(const struct cmds *a, const struct cmds *b)
{
	return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0;
}

/* READ(10) / WRITE(10) commands: the workload's own. */
static size_t rw_count(const struct cmds *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].cmnd[0] == 0x28 || c->v[i].cmnd[0] == 0x2a;
	return n;
}

START_TEST(backend_timing_leaves_guest_commands_alone)
{
	struct cmds fast, slow;

	run(fast_backend, 3, &fast);
	run(slow_backend, 3, &slow);
	/* The workload ran whole in both. */
	ck_assert_uint_eq(rw_count(&fast), 200);
	ck_assert_uint_eq(rw_count(&slow), 200);
	/* The backend did behave differently: the publications' times. */
	ck_assert(fast.n != slow.n ||
		  memcmp(fast.time_ns, slow.time_ns,
			 fast.n * sizeof(*fast.time_ns)) != 0);
	for (size_t i = 0; i < fast.n && i < slow.n; i++)
		ck_assert_msg(memcmp(&fast.v[i], &slow.v[i],
				     sizeof(fast.v[i])) == 0,
			      "command %zu differs: opcode %#x vs %#x", i,
			      fast.v[i].cmnd[0], slow.v[i].cmnd[0]);
	ck_assert(same_cmds(&fast, &slow));
	cmds_free(&fast);
	cmds_free(&slow);
}
END_TEST

START_TEST(another_seed_other_commands)
{
	struct cmds a, b, again;

	run(fast_backend, 3, &a);
	run(fast_backend, 4, &b);
	run(fast_backend, 3, &again);
	ck_assert(same_cmds(&a, &again));
	ck_assert(!same_cmds(&a, &b));
	cmds_free(&a);
	cmds_free(&b);
	cmds_free(&again);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rng_independence");
	TCase *tc = tcase_create("pvscsi");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, backend_timing_leaves_guest_commands_alone);
	tcase_add_test(tc, another_seed_other_commands);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
