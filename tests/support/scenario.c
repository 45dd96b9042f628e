/*
 * The test-protocol scenario; see scenario.h. Everything here plays the
 * roles around the frontend: toolstack, guest workload, and the audit at
 * the end. The frontend is reached only through testfront's interface.
 */
#include "scenario.h"

#include <string.h>

#include "os/sim/xpv_sim.h"
#include "sim/core/fault.h"
#include "sim/xenstore/xenstore.h"
#include "testback.h"
#include "testproto.h"

#define GUEST 1
#define FE_PATH "/local/domain/1/device/xpvt/0"
#define BE_PATH "/local/domain/0/backend/xpvt/1/0"

struct run {
	const struct scenario_config *cfg;
	struct scenario_result *res;
	struct sim *sim;
	struct xpv_dev *dev;
	struct testfront *tf;
	struct testback *tb;
	uint64_t next_tag;
	bool submit_queued;
	bool closing;
};

void scenario_config_default(struct scenario_config *cfg, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->requests = 10000;
	cfg->depth = 32;
}

/* ---- toolstack ----------------------------------------------------------- */

static void write_node(struct sim_xs *xs, const char *dir, const char *key,
		       const char *fmt_value)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	SIM_ASSERT(sim_xs_write(xs, 0, 0, path, fmt_value,
				(unsigned)strlen(fmt_value)) == 0);
}

/* As libxl__device_generic_add: FE dir owned by the guest and readable
 * by the backend, BE dir owned by the backend and readable by the guest. */
static void toolstack_add(struct sim *sim)
{
	struct sim_xs *xs = sim_xs(sim);
	struct xs_permissions fe_perms[2] = { { GUEST, XS_PERM_NONE },
					      { 0, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE },
					      { GUEST, XS_PERM_READ } };

	SIM_ASSERT(sim_xs_mkdir(xs, 0, 0, FE_PATH) == 0);
	SIM_ASSERT(sim_xs_set_perms(xs, 0, 0, FE_PATH, fe_perms, 2) == 0);
	write_node(xs, FE_PATH, "backend", BE_PATH);
	write_node(xs, FE_PATH, "backend-id", "0");
	write_node(xs, FE_PATH, "state", "1");
	SIM_ASSERT(sim_xs_mkdir(xs, 0, 0, BE_PATH) == 0);
	SIM_ASSERT(sim_xs_set_perms(xs, 0, 0, BE_PATH, be_perms, 2) == 0);
	write_node(xs, BE_PATH, "frontend", FE_PATH);
	write_node(xs, BE_PATH, "frontend-id", "1");
	write_node(xs, BE_PATH, "online", "1");
	write_node(xs, BE_PATH, "state", "1");
}

/* ---- workload ------------------------------------------------------------ */

static void maybe_close(struct run *r);

static void submit_more(struct sim *sim, void *arg)
{
	struct run *r = arg;

	r->submit_queued = false;
	while (!r->closing && r->next_tag < r->cfg->requests &&
	       testfront_in_flight(r->tf) < r->cfg->depth) {
		uint8_t op = sim_rng_below(sim_rng(sim), 2) ? XPVT_OP_READ
							    : XPVT_OP_WRITE;
		uint32_t len = 1 + (uint32_t)sim_rng_below(sim_rng(sim),
							   XPV_PAGE_SIZE);
		int err = testfront_submit(r->tf, r->next_tag, op, len);
		if (err == -XPV_EBUSY)
			break; /* a completion will call us again */
		if (err) {
			r->closing = true; /* error state: stop the guest */
			break;
		}
		sim_check_request_begin(sim, r->next_tag);
		r->next_tag++;
		r->res->submitted++;
	}
	maybe_close(r);
}

static void queue_submit(struct run *r)
{
	if (!r->submit_queued) {
		r->submit_queued = true;
		sim_schedule(r->sim, 0, submit_more, r, "guest-submit");
	}
}

static void on_prepare(void *arg, xpv_u8 op, struct xpv_page *page,
		       xpv_u32 len, xpv_u32 seq)
{
	struct sim_page *pg = xpv_sim_page(page);
	uint8_t *data = sim_page_data(pg);

	sim_page_set_outbound(pg, op == XPVT_OP_WRITE);
	if (op == XPVT_OP_WRITE)
		for (uint32_t i = 0; i < len; i++)
			data[i] = xpvt_pattern(seq, i);
}

static void on_connected(void *arg)
{
	struct run *r = arg;
	r->res->connected = true;
	queue_submit(r);
}

static void on_complete(void *arg, xpv_u64 tag, int status, xpv_u32 len)
{
	struct run *r = arg;

	sim_check_request_done(r->sim, tag);
	if (status == 0)
		r->res->completed_ok++;
	else
		r->res->completed_err++;
	queue_submit(r);
}

static void on_closed(void *arg)
{
	struct run *r = arg;
	r->res->closed = true;
}

static void maybe_close(struct run *r)
{
	bool done = r->next_tag == r->cfg->requests || r->closing ||
		    testfront_in_error(r->tf);

	if (done && testfront_in_flight(r->tf) == 0 &&
	    r->res->connected && !r->res->closed) {
		r->closing = true;
		testfront_close(r->tf);
	}
}

/* ---- the run -------------------------------------------------------------- */

static void setup_faults(struct sim *sim, const struct scenario_config *cfg,
			 struct scenario_result *res)
{
	struct sim_fault_plan *plan = sim_faults(sim);
	char err[128];

	if (cfg->swarm)
		sim_fault_plan_draw(plan, cfg->seed);
	else if (cfg->faults)
		SIM_ASSERT(sim_fault_plan_parse(plan, cfg->faults, err,
						sizeof(err)) == 0);
	sim_fault_plan_format(plan, res->faults, sizeof(res->faults));
}

static void start(struct run *r)
{
	struct xpv_sim_dev_config dc = {
		.sim = r->sim, .guest = GUEST, .backend = 0,
		.frontend_path = FE_PATH, .backend_path = BE_PATH,
		.log = r->cfg->log, .log_level = XPV_LOG_DEBUG,
	};
	struct testfront_ops ops = { on_connected, on_prepare, on_complete,
				     on_closed, r };
	struct testback_config bc = {
		.sim = r->sim, .self = 0, .frontend = GUEST, .path = BE_PATH,
		.frontend_path = FE_PATH, .service_min_ns = 1000,
		.service_max_ns = 20000,
		.hold_mapping_nth = r->cfg->hold_mapping_nth,
		.duplicate_nth = r->cfg->duplicate_nth,
	};

	toolstack_add(r->sim);
	SIM_ASSERT(testback_create(&bc, &r->tb) == 0);
	/* Faults start with the guest: the toolstack's set-up is not under
	 * test and must not fail. */
	setup_faults(r->sim, r->cfg, r->res);
	r->dev = xpv_sim_dev_create(&dc);
	r->res->start_error = testfront_create(r->dev, &ops, &r->cfg->breaks,
					       &r->tf);
	if (!r->res->start_error)
		r->res->start_error = testfront_start(r->tf);
}

static void finish(struct run *r, FILE *report)
{
	struct scenario_result *res = r->res;
	struct sim_gnttab_stats gs;
	struct testback_stats bs;

	if (r->tf) {
		res->front_error = testfront_in_error(r->tf);
		testfront_destroy(r->tf);
	}
	testback_stats(r->tb, &bs);
	res->backend_requests = bs.requests;
	testback_destroy(r->tb);
	xpv_sim_dev_destroy(r->dev);
	sim_check_requests_audit(r->sim, "teardown");
	struct sim_domain *guest = sim_domain_get(r->sim, GUEST);
	sim_gnttab_stats(guest, &gs);
	res->quarantined = gs.quarantined;
	res->revoke_while_mapped = gs.revoke_while_mapped;
	sim_domain_audit(guest, "teardown");
	res->events = sim_events_run(r->sim);
	res->sim_time_ns = sim_now(r->sim);
	res->trace_hash = sim_trace_hash(r->sim);
	for (int c = 0; c < SIM_CHECK__COUNT; c++)
		res->violations[c] = sim_violations(r->sim, c);
	res->violations_total = sim_violations_total(r->sim);
	if (report)
		sim_check_report(r->sim, report);
}

void scenario_run(const struct scenario_config *cfg,
		  struct scenario_result *res, FILE *report)
{
	struct sim_config sc;
	struct sim_domain *d;
	struct run r = { .cfg = cfg, .res = res };

	memset(res, 0, sizeof(*res));
	sim_config_default(&sc, cfg->seed);
	r.sim = sim_create(&sc);
	sim_trace_log(r.sim, cfg->trace);
	SIM_ASSERT(sim_domain_create(r.sim, 0, "dom0", &d) == 0);
	SIM_ASSERT(sim_domain_create(r.sim, GUEST, "guest", &d) == 0);
	start(&r);
	if (!res->start_error)
		sim_run(r.sim);
	finish(&r, report);
	sim_destroy(r.sim);
}
