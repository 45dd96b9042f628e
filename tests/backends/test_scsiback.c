/*
 * The scsiback model (sim/backends/scsiback.h) against a minimal frontend
 * built from simulator primitives: a guest domain with a granted ring
 * page, an unbound port, Xen's FRONT_RING macros, and xenstore writes
 * playing both the toolstack and the frontend. Targets are real simulated
 * disks on sparse images in a mkdtemp directory. Also the mock's push
 * notification hook and the backend fault classes' names.
 */
#include "check_main.h"
#include "tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#include "sim/backends/scsiback.h"
#include "sim/backends/xen_ring.h"
#include <xen/io/vscsiif.h>
#include <xen/io/xenbus.h>

#include "sim/core/fault.h"
#include "sim/xenstore/xenstore.h"

#define GUEST	((sim_domid)1)
#define FE	"/local/domain/1/device/vscsi/0"
#define BE	"/local/domain/0/backend/vscsi/1/0"
#define NDISK	3
#define MAX_RSP 4096
#define MS	1000000ull

#define HOST(h)	       ((uint32_t)(h) << 16)
#define OP_TUR	       0x00
#define OP_READ10      0x28
#define OP_WRITE10     0x2a
#define OP_REPORT_LUNS 0xa0
#define DMA_BIDI       0
#define DMA_TO	       1
#define DMA_FROM       2
#define DMA_NONE       3

struct fx {
	struct sim *sim;
	struct sim_domain *dom0, *guest;
	char dir[64];
	struct sim_scsi_target *disk[NDISK];
	struct scsiback_config cfg;
	struct scsiback *sb;
	/* the frontend */
	struct sim_page *ring_pg;
	uint32_t ring_ref, port;
	vscsiif_front_ring_t front;
	bool overflow_seen;
	vscsiif_response_t rsp[MAX_RSP];
	uint64_t rsp_ns[MAX_RSP];
	unsigned nrsp;
};

/* ---- targets ------------------------------------------------------------- */

/* "8:0:0:N" is disk N; "naa.600140500000000a:0" is disk 1. */
static struct sim_scsi_target *lookup(void *arg, const char *pdev)
{
	struct fx *f = arg;
	unsigned n;
	char tail;

	if (strcmp(pdev, "naa.600140500000000a:0") == 0)
		return f->disk[1];
	if (sscanf(pdev, "8:0:0:%u%c", &n, &tail) == 1 && n < NDISK)
		return f->disk[n];
	return NULL;
}

static void disks_open(struct fx *f)
{
	char err[128], img[128];

	xpv_tmpdir_make(f->dir, sizeof(f->dir), "scsiback");
	for (int i = 0; i < NDISK; i++) {
		struct sim_scsi_target_config tc = {
		    .kind = SIM_SCSI_DISK,
		    .image = img,
		    .create_size = 4 << 20,
		    .block_size = 512,
		};
		snprintf(img, sizeof(img), "%s/disk%d.img", f->dir, i);
		ck_assert_int_eq(
		    sim_scsi_target_open(&tc, &f->disk[i], err, sizeof(err)),
		    0);
	}
}

static void disks_close(struct fx *f)
{
	for (int i = 0; i < NDISK; i++)
		sim_scsi_target_close(f->disk[i]);
	xpv_tmpdir_remove(f->dir);
}

/* ---- xenstore as toolstack and frontend ---------------------------------- */

static void put(struct fx *f, sim_domid who, const char *dir, const char *key,
		const char *val)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	ck_assert_int_eq(
	    sim_xs_write(sim_xs(f->sim), who, 0, p, val, (unsigned)strlen(val)),
	    0);
}

static void be_put(struct fx *f, const char *key, const char *val)
{
	put(f, 0, BE, key, val);
}

static void fe_put(struct fx *f, const char *key, const char *val)
{
	put(f, GUEST, FE, key, val);
}

static void fe_state(struct fx *f, int state)
{
	char v[8];

	snprintf(v, sizeof(v), "%d", state);
	fe_put(f, "state", v);
}

/* The value at dir/key, or "(none)"; static buffer. */
static const char *get(struct fx *f, const char *dir, const char *key)
{
	static char out[128];
	char p[256], *v;
	unsigned len;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	if (sim_xs_read(sim_xs(f->sim), 0, 0, p, &v, &len))
		return "(none)";
	snprintf(out, sizeof(out), "%s", v);
	free(v);
	return out;
}

static int be_state(struct fx *f)
{
	return atoi(get(f, BE, "state"));
}

static int be_dev_state(struct fx *f, int n)
{
	char key[64];

	snprintf(key, sizeof(key), "vscsi-devs/dev-%d/state", n);
	return atoi(get(f, BE, key));
}

static void add_dev(struct fx *f, int n, const char *pdev, const char *vdev,
		    const char *state)
{
	char key[64];

	snprintf(key, sizeof(key), "vscsi-devs/dev-%d/p-dev", n);
	be_put(f, key, pdev);
	snprintf(key, sizeof(key), "vscsi-devs/dev-%d/v-dev", n);
	be_put(f, key, vdev);
	snprintf(key, sizeof(key), "vscsi-devs/dev-%d/state", n);
	be_put(f, key, state);
}

/* As libxl__device_generic_add, plus dev-0 -> disk 0 at 0:0:0:0. */
static void toolstack_add(struct fx *f)
{
	struct sim_xs *xs = sim_xs(f->sim);
	struct xs_permissions fe_perms[2] = {{GUEST, XS_PERM_NONE},
					     {0, XS_PERM_READ}};
	struct xs_permissions be_perms[2] = {{0, XS_PERM_NONE},
					     {GUEST, XS_PERM_READ}};

	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2), 0);
	put(f, 0, FE, "backend", BE);
	put(f, 0, FE, "backend-id", "0");
	put(f, 0, FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2), 0);
	be_put(f, "frontend", FE);
	be_put(f, "frontend-id", "1");
	be_put(f, "online", "1");
	be_put(f, "feature-host", "0");
	be_put(f, "state", "1");
	add_dev(f, 0, "8:0:0:0", "0:0:0:0", "1");
}

/* ---- fixture ------------------------------------------------------------- */

static void fx_init(struct fx *f, uint64_t seed)
{
	struct sim_config sc;

	memset(f, 0, sizeof(*f));
	sim_config_default(&sc, seed);
	f->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(f->sim, 0, "dom0", &f->dom0), 0);
	ck_assert_int_eq(sim_domain_create(f->sim, GUEST, "guest", &f->guest),
			 0);
	disks_open(f);
	scsiback_config_default(&f->cfg);
	f->cfg.sim = f->sim;
	f->cfg.self = 0;
	f->cfg.frontend = GUEST;
	f->cfg.path = BE;
	f->cfg.frontend_path = FE;
	f->cfg.lookup = lookup;
	f->cfg.lookup_arg = f;
	toolstack_add(f);
}

/* Probe; the toolstack's keys must be there first. */
static void fx_start(struct fx *f)
{
	ck_assert_int_eq(scsiback_create(&f->cfg, &f->sb), 0);
	sim_run(f->sim);
}

static void fx_fini(struct fx *f)
{
	scsiback_destroy(f->sb);
	sim_destroy(f->sim);
	disks_close(f);
}

static struct scsiback_stats stats(struct fx *f)
{
	struct scsiback_stats st;

	scsiback_stats(f->sb, &st);
	return st;
}

static struct sim_gnttab_stats gstats(struct fx *f)
{
	struct sim_gnttab_stats st;

	sim_gnttab_stats(f->guest, &st);
	return st;
}

/* ---- the frontend's ring ------------------------------------------------- */

static void fe_event(struct sim *sim, void *arg, uint32_t port)
{
	struct fx *f = arg;
	int more;

	do {
		RING_IDX prod = f->front.sring->rsp_prod;

		rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&f->front, prod)) {
			f->overflow_seen = true;
			return;
		}
		while (f->front.rsp_cons != prod) {
			if (f->nrsp < MAX_RSP) {
				RING_COPY_RESPONSE(&f->front, f->front.rsp_cons,
						   &f->rsp[f->nrsp]);
				f->rsp_ns[f->nrsp++] = sim_now(sim);
			}
			f->front.rsp_cons++;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&f->front, more);
	} while (more);
}

static uint32_t grant(struct fx *f, struct sim_page *pg, bool readonly)
{
	uint32_t ref;

	ck_assert_int_eq(sim_gnttab_claim(f->guest, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(f->guest, ref, 0, pg, readonly), 0);
	return ref;
}

static void fe_ring_new(struct fx *f)
{
	char v[16];

	f->ring_pg = sim_page_alloc(f->guest);
	f->ring_ref = grant(f, f->ring_pg, false);
	SHARED_RING_INIT((vscsiif_sring_t *)sim_page_data(f->ring_pg));
	FRONT_RING_INIT(&f->front, (vscsiif_sring_t *)sim_page_data(f->ring_pg),
			4096);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(f->guest, 0, &f->port), 0);
	ck_assert_int_eq(
	    sim_evtchn_set_handler(f->guest, f->port, fe_event, f, false), 0);
	snprintf(v, sizeof(v), "%u", f->ring_ref);
	fe_put(f, "ring-ref", v);
	snprintf(v, sizeof(v), "%u", f->port);
	fe_put(f, "event-channel", v);
}

/* scsifront_probe .. ADD_LUN: FE 3, then dev-0 and FE 4. */
static void fx_connect(struct fx *f)
{
	fe_ring_new(f);
	fe_state(f, XenbusStateInitialised);
	sim_run(f->sim);
	ck_assert_int_eq(be_state(f), XenbusStateConnected);
	ck_assert_int_eq(be_dev_state(f, 0), XenbusStateInitialised);
	fe_put(f, "vscsi-devs/dev-0/state", "4");
	fe_state(f, XenbusStateConnected);
	sim_run(f->sim);
	ck_assert_int_eq(be_dev_state(f, 0), XenbusStateConnected);
	ck_assert_int_eq(be_state(f), XenbusStateConnected);
}

static void fe_send(struct fx *f, const vscsiif_request_t *rq)
{
	int notify;

	memcpy(RING_GET_REQUEST(&f->front, f->front.req_prod_pvt), rq,
	       sizeof(*rq));
	f->front.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->front, notify);
	if (notify)
		sim_evtchn_send(f->guest, f->port);
}

static vscsiif_request_t req_new(uint16_t rqid, uint16_t lun, uint8_t dir,
				 uint8_t op, uint8_t cmd_len)
{
	vscsiif_request_t rq;

	memset(&rq, 0, sizeof(rq));
	rq.rqid = rqid;
	rq.act = VSCSIIF_ACT_SCSI_CDB;
	rq.cmd_len = cmd_len;
	rq.cmnd[0] = op;
	rq.lun = lun;
	rq.sc_data_direction = dir;
	return rq;
}

static vscsiif_request_t req_rw10(uint16_t rqid, uint16_t lun, bool write,
				  uint32_t lba, uint16_t blocks)
{
	vscsiif_request_t rq = req_new(rqid, lun, write ? DMA_TO : DMA_FROM,
				       write ? OP_WRITE10 : OP_READ10, 10);

	rq.cmnd[2] = (uint8_t)(lba >> 24);
	rq.cmnd[3] = (uint8_t)(lba >> 16);
	rq.cmnd[4] = (uint8_t)(lba >> 8);
	rq.cmnd[5] = (uint8_t)lba;
	rq.cmnd[7] = (uint8_t)(blocks >> 8);
	rq.cmnd[8] = (uint8_t)blocks;
	return rq;
}

/* The last response with this rqid, or NULL. */
static const vscsiif_response_t *rsp_for(struct fx *f, uint16_t rqid)
{
	for (unsigned i = f->nrsp; i-- > 0;)
		if (f->rsp[i].rqid == rqid)
			return &f->rsp[i];
	return NULL;
}

/* Send, run to idle, return the answer. */
static const vscsiif_response_t *cmd(struct fx *f, const vscsiif_request_t *rq)
{
	const vscsiif_response_t *r;

	fe_send(f, rq);
	sim_run(f->sim);
	r = rsp_for(f, rq->rqid);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* TEST UNIT READY until it is GOOD: pending UNIT ATTENTIONs consumed. */
static void clear_ua(struct fx *f, uint16_t lun)
{
	vscsiif_request_t rq = req_new(15, lun, DMA_NONE, OP_TUR, 6);

	for (int i = 0; i < 8; i++)
		if (cmd(f, &rq)->rslt == 0)
			return;
	ck_abort_msg("LUN %u keeps a UNIT ATTENTION", lun);
}

/* A page granted to dom0, filled with a pattern of seed. */
static uint32_t data_page(struct fx *f, struct sim_page **pg, bool readonly,
			  uint8_t seed)
{
	uint8_t *d;

	*pg = sim_page_alloc(f->guest);
	d = sim_page_data(*pg);
	for (int i = 0; i < 4096; i++)
		d[i] = (uint8_t)(seed + i * 7);
	return grant(f, *pg, readonly);
}

static uint8_t sense_key(const vscsiif_response_t *r)
{
	return r->sense_buffer[2] & 0x0f;
}

/* ---- handshake and data -------------------------------------------------- */

START_TEST(handshake_reaches_connected)
{
	struct fx f;

	fx_init(&f, 1);
	fx_start(&f);
	ck_assert_int_eq(be_state(&f), XenbusStateInitWait);
	ck_assert_str_eq(get(&f, BE, "feature-sg-grant"), "128");
	/* The toolstack's dev waits for the frontend. */
	ck_assert_int_eq(be_dev_state(&f, 0), XenbusStateInitialising);
	fx_connect(&f);
	ck_assert(stats(&f).connected);
	ck_assert_uint_eq(stats(&f).luns, 1);
	ck_assert_uint_eq(stats(&f).connects, 1);
	ck_assert_uint_eq(gstats(&f).mapped, 1); /* the ring */
	fx_fini(&f);
}
END_TEST

START_TEST(write_then_read_direct)
{
	struct fx f;
	struct sim_page *out[8], *in[8], *part;
	vscsiif_request_t rq;
	const vscsiif_response_t *r;
	uint8_t *d;

	fx_init(&f, 2);
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	rq = req_rw10(1, 0, true, 8, 64);
	rq.nr_segments = 8;
	for (int i = 0; i < 8; i++) {
		rq.seg[i].gref = data_page(&f, &out[i], true, (uint8_t)i);
		rq.seg[i].length = 4096;
	}
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, 0);
	ck_assert_uint_eq(r->residual_len, 0);
	rq = req_rw10(2, 0, false, 8, 64);
	rq.nr_segments = 8;
	for (int i = 0; i < 8; i++) {
		rq.seg[i].gref = data_page(&f, &in[i], false, 0xee);
		rq.seg[i].length = 4096;
	}
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, 0);
	for (int i = 0; i < 8; i++)
		ck_assert_mem_eq(sim_page_data(in[i]), sim_page_data(out[i]),
				 4096);
	/* A partial segment: blocks 9-10 land at offset 512 of a page. */
	rq = req_rw10(3, 0, false, 9, 2);
	rq.nr_segments = 1;
	rq.seg[0].gref = data_page(&f, &part, false, 0);
	rq.seg[0].offset = 512;
	rq.seg[0].length = 1024;
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, 0);
	d = sim_page_data(part);
	ck_assert_mem_eq(d + 512, (uint8_t *)sim_page_data(out[0]) + 512, 1024);
	ck_assert_uint_eq(d[0], 0); /* untouched outside the segment */
	ck_assert_uint_eq(stats(&f).bytes_out, 8 * 4096);
	ck_assert_uint_eq(stats(&f).bytes_in, 8 * 4096 + 1024);
	ck_assert_uint_eq(gstats(&f).mapped, 1); /* data unmapped */
	fx_fini(&f);
}
END_TEST

/* n data pages listed in SG-list pages of per_page entries each. */
static void sg_build(struct fx *f, vscsiif_request_t *rq, struct sim_page **pg,
		     unsigned n, unsigned per_page, bool readonly, uint8_t seed)
{
	unsigned lists = (n + per_page - 1) / per_page;

	rq->nr_segments = (uint8_t)(VSCSIIF_SG_GRANT | lists);
	for (unsigned l = 0; l < lists; l++) {
		struct sim_page *lp;
		vscsiif_segment_t *e;
		unsigned cnt =
		    n - l * per_page < per_page ? n - l * per_page : per_page;

		rq->seg[l].gref = data_page(f, &lp, true, 0);
		rq->seg[l].offset = (uint16_t)(8 * l); /* any offset will do */
		rq->seg[l].length = (uint16_t)(cnt * sizeof(*e));
		e = (vscsiif_segment_t *)((uint8_t *)sim_page_data(lp) +
					  rq->seg[l].offset);
		for (unsigned i = 0; i < cnt; i++) {
			unsigned k = l * per_page + i;

			e[i].gref =
			    data_page(f, &pg[k], readonly, (uint8_t)(seed + k));
			e[i].offset = 0;
			e[i].length = 4096;
		}
	}
}

START_TEST(write_then_read_indirect)
{
	struct fx f;
	struct sim_page *out[40], *in[40];
	vscsiif_request_t rq;

	fx_init(&f, 3);
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	rq = req_rw10(1, 0, true, 100, 40 * 8);
	sg_build(&f, &rq, out, 40, 40, true, 3);
	ck_assert_int_eq(cmd(&f, &rq)->rslt, 0);
	rq = req_rw10(2, 0, false, 100, 40 * 8);
	sg_build(&f, &rq, in, 40, 20, false, 0x55); /* two SG-list pages */
	ck_assert_int_eq(cmd(&f, &rq)->rslt, 0);
	for (int i = 0; i < 40; i++)
		ck_assert_mem_eq(sim_page_data(in[i]), sim_page_data(out[i]),
				 4096);
	ck_assert_uint_eq(stats(&f).bad_requests, 0);
	ck_assert_uint_eq(gstats(&f).mapped, 1);
	fx_fini(&f);
}
END_TEST

/* ---- section 3.6 error answers, in both encodings ------------------------ */

struct bad_case {
	const char *what;
	enum scsiback_bad why;
};

static void expect_bad(struct fx *f, vscsiif_request_t *rq, uint16_t rqid,
		       enum scsiback_bad why, bool old)
{
	const vscsiif_response_t *r;
	uint32_t want;
	uint64_t before = stats(f).bad[why];
	static const uint8_t zero[sizeof(r->reserved)];

	if (why == SCSIBACK_BAD_NO_LUN)
		want =
		    old ? 0x01000000u : HOST(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
	else
		want = old ? 0x08000000u : HOST(XEN_VSCSIIF_RSLT_HOST_ERROR);
	rq->rqid = rqid;
	r = cmd(f, rq);
	ck_assert_msg((uint32_t)r->rslt == want, "rqid %u: rslt %#x want %#x",
		      rqid, (uint32_t)r->rslt, want);
	ck_assert_uint_eq(r->sense_len, 0);
	ck_assert_uint_eq(r->residual_len, 0);
	ck_assert_uint_eq(r->act, 0);
	ck_assert_mem_eq(r->reserved, zero, sizeof(zero)); /* XSA-216 */
	ck_assert_uint_eq(stats(f).bad[why], before + 1);
}

/* Connected, UA cleared; read1 reads a page into a writable grant, ro_ref
 * is a read-only grant. */
static void bad_setup(struct fx *f, bool old, vscsiif_request_t *read1,
		      uint32_t *ro_ref)
{
	struct sim_page *pg;

	fx_init(f, 4);
	f->cfg.old_result_encoding = old;
	fx_start(f);
	fx_connect(f);
	clear_ua(f, 0);
	*ro_ref = data_page(f, &pg, true, 0);
	*read1 = req_rw10(0, 0, false, 0, 8);
	read1->nr_segments = 1;
	read1->seg[0].gref = data_page(f, &pg, false, 0);
	read1->seg[0].length = 4096;
}

/* Nothing left mapped, and the ring still works. */
static void bad_finish(struct fx *f, vscsiif_request_t *read1, uint16_t n)
{
	ck_assert_uint_eq(stats(f).bad_requests, n);
	ck_assert_uint_eq(gstats(f).mapped, 1);
	read1->rqid = 99;
	ck_assert_int_eq(cmd(f, read1)->rslt, 0);
	fx_fini(f);
}

START_TEST(error_answers_request_fields)
{
	bool old = _i == 1;
	struct fx f;
	vscsiif_request_t rq, read1;
	uint32_t ro_ref;
	uint16_t id = 0;

	bad_setup(&f, old, &read1, &ro_ref);
	rq = req_new(0, 9, DMA_NONE, OP_TUR, 6); /* no translation */
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_NO_LUN, old);
	rq = req_new(0, 0, 4, OP_TUR, 6);
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_DIR, old);
	rq = req_new(0, 0, DMA_BIDI, OP_TUR, 6);
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_DIR, old);
	rq = req_new(0, 0, DMA_NONE, OP_TUR, 17);
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_CMD_LEN, old);
	rq = read1;
	rq.nr_segments = 27;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_NR_SEGS, old);
	rq.nr_segments = VSCSIIF_SG_GRANT | 27;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_NR_SEGS, old);
	/* Unknown acts, SG_PRESET included. */
	rq = req_new(0, 0, DMA_NONE, OP_TUR, 6);
	rq.act = 7;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_ACT, old);
	rq.act = VSCSIIF_ACT_SCSI_SG_PRESET;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_ACT, old);
	bad_finish(&f, &read1, id);
}
END_TEST

START_TEST(error_answers_segments)
{
	bool old = _i == 1;
	struct fx f;
	vscsiif_request_t rq, read1;
	uint32_t ro_ref;
	uint16_t id = 0;

	bad_setup(&f, old, &read1, &ro_ref);
	/* SG-list pages: length not a multiple of 8, crossing the page,
	 * more entries than feature-sg-grant (128) in total. */
	rq = read1;
	rq.nr_segments = VSCSIIF_SG_GRANT | 1;
	rq.seg[0].gref = ro_ref;
	rq.seg[0].length = 12;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SG_PAGE, old);
	rq.seg[0].offset = 4090;
	rq.seg[0].length = 16;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SG_PAGE, old);
	rq.nr_segments = VSCSIIF_SG_GRANT | 2;
	rq.seg[0].offset = 0;
	rq.seg[0].length = 64 * 8;
	rq.seg[1] = rq.seg[0];
	rq.seg[1].length = 65 * 8;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SG_PAGE, old);
	/* Data segments. */
	rq = read1;
	rq.seg[0].offset = 4096;
	rq.seg[0].length = 0;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SEG, old);
	rq.seg[0].offset = 0;
	rq.seg[0].length = 4097;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SEG, old);
	rq.seg[0].offset = 100;
	rq.seg[0].length = 4000;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_SEG, old);
	/* Grants: never granted; read-only for a FROM_DEVICE transfer; an
	 * SG-list page that does not map. */
	rq = read1;
	rq.seg[0].gref = 4000;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_GRANT, old);
	rq.seg[0].gref = ro_ref;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_GRANT, old);
	rq.nr_segments = VSCSIIF_SG_GRANT | 1;
	rq.seg[0].gref = 4001;
	rq.seg[0].length = 8;
	expect_bad(&f, &rq, id++, SCSIBACK_BAD_GRANT, old);
	bad_finish(&f, &read1, id);
}
END_TEST

/* ---- REPORT LUNS, task management ---------------------------------------- */

START_TEST(report_luns_lists_the_virtual_view)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	const vscsiif_response_t *r;
	const uint8_t *d;

	fx_init(&f, 5);
	add_dev(&f, 1, "8:0:0:1", "0:0:0:3", "1");
	add_dev(&f, 2, "8:0:0:2", "0:0:1:0", "1"); /* another target id */
	fx_start(&f);
	fx_connect(&f);
	ck_assert_uint_eq(stats(&f).luns, 3);
	rq = req_new(1, 0, DMA_FROM, OP_REPORT_LUNS, 12);
	rq.cmnd[9] = 64; /* allocation length */
	rq.nr_segments = 1;
	rq.seg[0].gref = data_page(&f, &pg, false, 0xff);
	rq.seg[0].length = 64;
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, 0); /* no UNIT ATTENTION for REPORT LUNS */
	ck_assert_uint_eq(r->residual_len, 64 - 24);
	d = sim_page_data(pg);
	ck_assert_uint_eq(d[3], 16); /* two LUNs, 8 bytes each */
	ck_assert_uint_eq(d[8 + 1], 0);
	ck_assert_uint_eq(d[16 + 1], 3);
	ck_assert_uint_eq(d[24], (uint8_t)(0xff + 24 * 7)); /* untouched */
	/* Allocation length < 16: ILLEGAL REQUEST, INVALID FIELD IN CDB. */
	rq.rqid = 2;
	rq.cmnd[9] = 8;
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, SIM_SCSI_CHECK_CONDITION);
	ck_assert_uint_eq(sense_key(r), SIM_SCSI_ILLEGAL_REQUEST);
	ck_assert_uint_eq(r->sense_buffer[12], 0x24);
	ck_assert_uint_eq(stats(&f).report_luns, 1);
	fx_fini(&f);
}
END_TEST

static vscsiif_request_t read_page(struct fx *f, uint16_t rqid, uint16_t lun,
				   struct sim_page **pg)
{
	vscsiif_request_t rq = req_rw10(rqid, lun, false, 0, 8);

	rq.nr_segments = 1;
	rq.seg[0].gref = data_page(f, pg, false, 0);
	rq.seg[0].length = 4096;
	return rq;
}

static vscsiif_request_t tmr(uint16_t rqid, uint8_t act, uint16_t lun,
			     uint16_t ref)
{
	vscsiif_request_t rq = req_new(rqid, lun, DMA_NONE, 0, 0);

	rq.act = act;
	rq.ref_rqid = ref;
	return rq;
}

/* Connected, LUN 0 without its UNIT ATTENTION, 1 ms per command. */
static void tmr_fixture(struct fx *f, bool victims_answered)
{
	fx_init(f, 6);
	f->cfg.tmr_victims_answered = victims_answered;
	f->cfg.service_min_ns = f->cfg.service_max_ns = MS;
	fx_start(f);
	fx_connect(f);
	clear_ua(f, 0);
	f->nrsp = 0;
}

START_TEST(abort_answers_the_victim_first)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	uint32_t data_ref;

	tmr_fixture(&f, true);
	rq = read_page(&f, 3, 0, &pg);
	data_ref = rq.seg[0].gref;
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	ck_assert_uint_eq(stats(&f).in_service, 1);
	rq = tmr(4, VSCSIIF_ACT_SCSI_ABORT, 0, 3);
	fe_send(&f, &rq);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(f.rsp[0].rqid, 3);
	ck_assert_int_eq(f.rsp[0].rslt, HOST(XEN_VSCSIIF_RSLT_HOST_ABORT));
	ck_assert_uint_eq(f.rsp[0].residual_len, 4096);
	ck_assert_uint_eq(f.rsp[1].rqid, 4);
	ck_assert_int_eq(f.rsp[1].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	ck_assert_uint_eq(((uint8_t *)sim_page_data(pg))[0], 0); /* unread */
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, data_ref),
			 0); /* unmapped */
	/* Nothing in service with that id. */
	rq = tmr(5, VSCSIIF_ACT_SCSI_ABORT, 0, 3);
	ck_assert_int_eq(cmd(&f, &rq)->rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
	ck_assert_uint_eq(stats(&f).tmr_abort, 2);
	ck_assert_uint_eq(stats(&f).aborted, 1);
	ck_assert_uint_eq(gstats(&f).mapped, 1);
	fx_fini(&f);
}
END_TEST

/* The default, as LIO treats the session that sent the TMR: the victims of
 * an ABORT or a LUN RESET are never answered and stay mapped. */
START_TEST(tmr_victims_dropped_and_kept_mapped_by_default)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	uint32_t ref3, ref5;

	tmr_fixture(&f, false);
	rq = read_page(&f, 3, 0, &pg);
	ref3 = rq.seg[0].gref;
	fe_send(&f, &rq);
	rq = read_page(&f, 5, 0, &pg);
	ref5 = rq.seg[0].gref;
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	ck_assert_uint_eq(stats(&f).in_service, 2);
	rq = tmr(4, VSCSIIF_ACT_SCSI_ABORT, 0, 3);
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	ck_assert_uint_eq(f.nrsp, 1);
	ck_assert_uint_eq(f.rsp[0].rqid, 4);
	ck_assert_int_eq(f.rsp[0].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	rq = tmr(6, VSCSIIF_ACT_SCSI_RESET, 0, 0);
	fe_send(&f, &rq);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(f.rsp[1].rqid, 6);
	ck_assert_int_eq(f.rsp[1].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	ck_assert_uint_eq(stats(&f).in_service, 0);
	ck_assert_uint_eq(stats(&f).aborted, 1);
	ck_assert_uint_eq(stats(&f).reset, 1);
	ck_assert_uint_eq(stats(&f).dropped, 2);
	ck_assert_uint_eq(stats(&f).held_maps, 2);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, ref3), -EBUSY);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, ref5), -EBUSY);
	fx_fini(&f);
}
END_TEST

START_TEST(lun_reset_answers_its_lun_and_resets)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	const vscsiif_response_t *r;

	fx_init(&f, 7);
	add_dev(&f, 1, "8:0:0:1", "0:0:0:1", "1");
	f.cfg.tmr_victims_answered = true;
	f.cfg.service_min_ns = f.cfg.service_max_ns = MS;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	clear_ua(&f, 1);
	f.nrsp = 0;
	rq = read_page(&f, 1, 0, &pg);
	fe_send(&f, &rq);
	rq = read_page(&f, 2, 0, &pg);
	fe_send(&f, &rq);
	rq = read_page(&f, 5, 1, &pg); /* another LUN: unaffected */
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	rq = tmr(3, VSCSIIF_ACT_SCSI_RESET, 0, 0);
	fe_send(&f, &rq);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 4);
	ck_assert_uint_eq(f.rsp[0].rqid, 1);
	ck_assert_int_eq(f.rsp[0].rslt, HOST(XEN_VSCSIIF_RSLT_HOST_RESET));
	ck_assert_uint_eq(f.rsp[1].rqid, 2);
	ck_assert_int_eq(f.rsp[1].rslt, HOST(XEN_VSCSIIF_RSLT_HOST_RESET));
	ck_assert_uint_eq(f.rsp[2].rqid, 3);
	ck_assert_int_eq(f.rsp[2].rslt, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
	ck_assert_uint_eq(f.rsp[3].rqid, 5);
	ck_assert_int_eq(f.rsp[3].rslt, 0);
	/* 29h/00h: POWER ON, RESET OR BUS DEVICE RESET OCCURRED */
	rq = req_new(6, 0, DMA_NONE, OP_TUR, 6);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->rslt, SIM_SCSI_CHECK_CONDITION);
	ck_assert_uint_eq(sense_key(r), SIM_SCSI_UNIT_ATTENTION);
	ck_assert_uint_eq(r->sense_buffer[12], 0x29);
	ck_assert_uint_eq(stats(&f).tmr_reset, 1);
	ck_assert_uint_eq(stats(&f).reset, 2);
	fx_fini(&f);
}
END_TEST

/* ---- LUN hotplug --------------------------------------------------------- */

START_TEST(lun_hot_add_and_removal)
{
	struct fx f;
	vscsiif_request_t rq;
	const vscsiif_response_t *r;

	fx_init(&f, 8);
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	/* Toolstack: host state 7 and a new dev; the backend waits for the
	 * frontend. Failing devs: duplicate virtual id, unknown p-dev, bad
	 * v-dev, bad p-dev; one by WWN. */
	be_put(&f, "state", "7");
	add_dev(&f, 1, "8:0:0:1", "0:0:0:1", "1");
	add_dev(&f, 2, "8:0:0:2", "0:0:0:0", "1");
	add_dev(&f, 3, "8:0:0:9", "0:0:0:9", "1");
	add_dev(&f, 4, "8:0:0:2", "0:0:0", "1");
	add_dev(&f, 5, "foo", "0:0:0:5", "1");
	add_dev(&f, 6, "naa.600140500000000a:0", "0:0:2:0", "1");
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 1), 1);
	fe_state(&f, XenbusStateReconfiguring);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateReconfigured);
	ck_assert_int_eq(be_dev_state(&f, 1), XenbusStateInitialised);
	for (int n = 2; n <= 5; n++)
		ck_assert_int_eq(be_dev_state(&f, n), XenbusStateClosed);
	ck_assert_int_eq(be_dev_state(&f, 6), XenbusStateInitialised);
	ck_assert_uint_eq(stats(&f).luns, 3);
	fe_put(&f, "vscsi-devs/dev-1/state", "4");
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 1), XenbusStateConnected);
	ck_assert_int_eq(be_state(&f), XenbusStateConnected);
	/* 3Fh/0Eh: REPORTED LUNS DATA HAS CHANGED, on the old LUN. */
	rq = req_new(1, 0, DMA_NONE, OP_TUR, 6);
	r = cmd(&f, &rq);
	ck_assert_uint_eq(sense_key(r), SIM_SCSI_UNIT_ATTENTION);
	ck_assert_uint_eq(r->sense_buffer[12], 0x3f);
	ck_assert_uint_eq(r->sense_buffer[13], 0x0e);
	clear_ua(&f, 1);
	/* Removal. */
	be_put(&f, "state", "7");
	be_put(&f, "vscsi-devs/dev-1/state", "5");
	fe_state(&f, XenbusStateReconfiguring);
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 1), XenbusStateClosed);
	ck_assert_int_eq(be_state(&f), XenbusStateReconfigured);
	ck_assert_uint_eq(stats(&f).luns, 2);
	rq = req_new(2, 1, DMA_NONE, OP_TUR, 6);
	ck_assert_int_eq(cmd(&f, &rq)->rslt,
			 HOST(XEN_VSCSIIF_RSLT_HOST_NO_CONNECT));
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateConnected);
	fx_fini(&f);
}
END_TEST

/* ---- hostile frontend and teardown --------------------------------------- */

START_TEST(req_prod_overflow_halts_the_ring)
{
	struct fx f;
	vscsiif_request_t rq = req_new(1, 0, DMA_NONE, OP_TUR, 6);

	fx_init(&f, 9);
	fx_start(&f);
	fx_connect(&f);
	f.front.sring->req_prod = RING_SIZE(&f.front) + 1;
	sim_evtchn_send(f.guest, f.port);
	sim_run(f.sim);
	ck_assert(stats(&f).ring_halted);
	ck_assert_uint_eq(stats(&f).requests, 0);
	/* Halted for good: no EOI, so even a sane ring is not looked at. */
	f.front.sring->req_prod = 0;
	f.front.req_prod_pvt = 0;
	fe_send(&f, &rq);
	sim_evtchn_send(f.guest, f.port);
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).requests, 0);
	ck_assert_uint_eq(f.nrsp, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(closing_answers_then_unmaps)
{
	struct fx f;
	struct sim_page *pg[3];
	vscsiif_request_t rq;
	uint64_t t0;
	struct sim_evtchn_stats es;

	fx_init(&f, 10);
	f.cfg.service_min_ns = f.cfg.service_max_ns = 50 * MS;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	f.nrsp = 0;
	for (uint16_t i = 0; i < 3; i++) {
		rq = read_page(&f, i, 0, &pg[i]);
		fe_send(&f, &rq);
	}
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	t0 = sim_now(f.sim);
	ck_assert_uint_eq(stats(&f).in_service, 3);
	fe_state(&f, XenbusStateClosing);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_uint_eq(f.nrsp, 3); /* answered now, not after 50 ms */
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(f.rsp[i].rslt, 0);
		ck_assert_uint_lt(f.rsp_ns[i], t0 + MS);
	}
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, f.ring_ref), 0);
	sim_evtchn_stats(f.dom0, &es);
	ck_assert_uint_eq(es.open, 0);
	fe_state(&f, XenbusStateClosed);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosed);
	ck_assert(!stats(&f).unregistered); /* online = 1 */
	/* The frontend comes back (driver reload): a fresh connection. */
	sim_evtchn_close(f.guest, f.port);
	fe_state(&f, XenbusStateInitialising);
	sim_run(f.sim);
	fe_ring_new(&f);
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateConnected);
	ck_assert_uint_eq(stats(&f).connects, 2);
	rq = req_new(9, 0, DMA_NONE, OP_TUR, 6);
	ck_assert_int_eq(cmd(&f, &rq)->rslt, 0);
	/* Removal by the toolstack: online 0, then the frontend closes. */
	be_put(&f, "online", "0");
	fe_state(&f, XenbusStateClosing);
	sim_run(f.sim);
	fe_state(&f, XenbusStateClosed);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosed);
	ck_assert(stats(&f).unregistered);
	ck_assert_uint_eq(stats(&f).luns, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(resume_reconnects_to_the_new_ring)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	uint32_t old_ref;

	fx_init(&f, 11);
	f.cfg.service_min_ns = f.cfg.service_max_ns = MS;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	f.nrsp = 0;
	rq = read_page(&f, 1, 0, &pg);
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	/* scsifront_resume: a new ring and port, FE 3 straight from 4. */
	old_ref = f.ring_ref;
	fe_ring_new(&f);
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 0); /* the old ring is gone */
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, old_ref), 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, rq.seg[0].gref), 0);
	ck_assert_int_eq(be_state(&f), XenbusStateConnected);
	/* dev-0 (4) re-added: 3 as in Linux's scsiback_do_add_lun, then 4
	 * once the frontend is back. */
	ck_assert_int_eq(be_dev_state(&f, 0), XenbusStateInitialised);
	ck_assert_uint_eq(stats(&f).luns, 1);
	ck_assert_uint_eq(stats(&f).connects, 2);
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 0), XenbusStateConnected);
	rq = req_new(2, 0, DMA_NONE, OP_TUR, 6);
	ck_assert_int_eq(cmd(&f, &rq)->rslt, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(bogus_frontend_keys_are_fatal)
{
	struct fx f;

	fx_init(&f, 12);
	fx_start(&f);
	fe_put(&f, "ring-ref", "12abc");
	fe_put(&f, "event-channel", "5");
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_str_eq(
	    get(&f, "/local/domain/0/error/backend/vscsi/1/0", "error"),
	    "22 reading " FE " ring");
	ck_assert(!stats(&f).connected);
	/* An unmappable ring: not granted. */
	fe_put(&f, "ring-ref", "3000");
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(stats(&f).fatal_errors, 2);
	/* A state no frontend may be in. */
	fe_state(&f, 42);
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).fatal_errors, 3);
	fx_fini(&f);
}
END_TEST

START_TEST(random_requests_never_break_it)
{
	struct fx f;
	struct sim_rng *rng;
	uint32_t refs[8];
	struct sim_page *pg;

	fx_init(&f, (uint64_t)_i + 100);
	/* Every request answered: the invariants below count on it. */
	f.cfg.tmr_victims_answered = true;
	add_dev(&f, 1, "8:0:0:1", "0:0:0:1", "1");
	fx_start(&f);
	fx_connect(&f);
	if (_i >= 2) /* swarm: misbehaviour of every kind too */
		sim_fault_plan_draw(sim_faults(f.sim), (uint64_t)_i);
	rng = sim_rng(f.sim);
	for (int i = 0; i < 8; i++)
		refs[i] = data_page(&f, &pg, i % 2, (uint8_t)i);
	for (int n = 0; n < 3000; n++) {
		vscsiif_request_t rq;
		uint8_t *b = (uint8_t *)&rq;

		for (size_t k = 0; k < sizeof(rq); k++)
			b[k] = (uint8_t)sim_rng_below(rng, 256);
		/* Mostly plausible, so the deep paths are reached. */
		rq.act = (uint8_t)(1 + sim_rng_below(rng, 4));
		rq.channel = rq.id = 0;
		rq.lun = (uint16_t)sim_rng_below(rng, 3);
		rq.cmd_len = (uint8_t)sim_rng_below(rng, 18);
		rq.sc_data_direction = (uint8_t)sim_rng_below(rng, 5);
		rq.nr_segments &= 0x83;
		for (int s = 0; s < VSCSIIF_SG_TABLESIZE; s++)
			if (sim_rng_below(rng, 4))
				rq.seg[s].gref = refs[sim_rng_below(rng, 8)];
		if (f.front.req_prod_pvt - f.front.rsp_cons <
		    RING_SIZE(&f.front))
			fe_send(&f, &rq);
		sim_run_until(f.sim,
			      sim_now(f.sim) + sim_rng_below(rng, 50000));
	}
	sim_run(f.sim);
	if (_i < 2) {
		ck_assert(!stats(&f).ring_halted);
		ck_assert_uint_eq(stats(&f).responses, stats(&f).requests);
		ck_assert_uint_eq(gstats(&f).mapped, 1);
	}
	scsiback_destroy(f.sb);
	f.sb = NULL;
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	sim_destroy(f.sim);
	disks_close(&f);
}
END_TEST

/* ---- injected misbehaviour ----------------------------------------------- */

static void fx_ready(struct fx *f, uint64_t seed)
{
	fx_init(f, seed);
	fx_start(f);
	fx_connect(f);
	clear_ua(f, 0);
	f->nrsp = 0;
}

static void arm(struct fx *f, enum sim_fault c, uint64_t nth)
{
	sim_fault_countdown(sim_faults(f->sim), c, nth, false);
}

static const vscsiif_response_t *tur(struct fx *f, uint16_t rqid)
{
	vscsiif_request_t rq = req_new(rqid, 0, DMA_NONE, OP_TUR, 6);

	return cmd(f, &rq);
}

START_TEST(inject_response_contents)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	const vscsiif_response_t *r;
	uint32_t rslt;

	fx_ready(&f, 20);
	arm(&f, SIM_FAULT_BE_BAD_ID, 1);
	fe_send(&f, &(vscsiif_request_t){.rqid = 1,
					 .act = 1,
					 .cmd_len = 6,
					 .sc_data_direction = DMA_NONE});
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 1);
	ck_assert_uint_ge(f.rsp[0].rqid, RING_SIZE(&f.front));

	arm(&f, SIM_FAULT_BE_SENSE_LEN, 1);
	ck_assert_uint_gt(tur(&f, 2)->sense_len, VSCSIIF_SENSE_BUFFERSIZE);

	arm(&f, SIM_FAULT_BE_RESIDUAL, 1);
	rq = read_page(&f, 3, 0, &pg);
	ck_assert_uint_gt(cmd(&f, &rq)->residual_len, 4096);

	arm(&f, SIM_FAULT_BE_RSLT_BITS, 1);
	rslt = (uint32_t)tur(&f, 4)->rslt;
	ck_assert_msg((rslt & 0xff00ff00u) || XEN_VSCSIIF_RSLT_HOST(rslt) > 20,
		      "rslt %#x", rslt);

	arm(&f, SIM_FAULT_BE_GARBAGE, 1);
	r = tur(&f, 5);
	ck_assert_uint_ne(r->act, 0);
	ck_assert_uint_eq(r->sense_len, 0);
	ck_assert_int_eq(r->rslt, 0); /* the real fields stay right */
	ck_assert(r->reserved[0] | r->reserved[17] | r->reserved[35] |
		  r->sense_buffer[0]);

	for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++)
		ck_assert_uint_eq(stats(&f).misbehaved[c],
				  c == SIM_FAULT_BE_BAD_ID ||
				      c == SIM_FAULT_BE_SENSE_LEN ||
				      c == SIM_FAULT_BE_RESIDUAL ||
				      c == SIM_FAULT_BE_RSLT_BITS ||
				      c == SIM_FAULT_BE_GARBAGE);
	fx_fini(&f);
}
END_TEST

/* A decider that misbehaves with the classes in `classes` and draws
 * `value` wherever that is in range (else 0). */
struct pick {
	uint64_t classes; /* bit per enum sim_fault */
	uint64_t value;
};

static bool pick_hit(void *arg, enum sim_fault f)
{
	return ((struct pick *)arg)->classes >> f & 1;
}

static uint64_t pick_draw(void *arg, uint64_t bound)
{
	uint64_t v = ((struct pick *)arg)->value;

	return v < bound ? v : 0;
}

/* Misbehaviour #4 must stay detectable: a bad id never names a request
 * the frontend may still be waiting for (one the backend dropped, one in
 * service) nor the response's own. */
START_TEST(inject_bad_id_names_no_awaited_request)
{
	struct pick p = { 0, 0 };
	struct sim_fault_decider d = { pick_hit, pick_draw, &p };
	struct fx f;
	RING_IDX slots;

	fx_init(&f, 27);
	f.cfg.decider = &d;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	f.nrsp = 0;
	slots = RING_SIZE(&f.front);
	p.classes = 1ull << SIM_FAULT_BE_NO_ANSWER;
	fe_send(&f, &(vscsiif_request_t){ .rqid = 100, .act = 1, .cmd_len = 6,
					  .sc_data_direction = DMA_NONE });
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 0);
	/* The draw names 100 (dropped), then 101 (the response's own). */
	p.classes = 1ull << SIM_FAULT_BE_BAD_ID;
	p.value = 100 - slots;
	fe_send(&f, &(vscsiif_request_t){ .rqid = 101, .act = 1, .cmd_len = 6,
					  .sc_data_direction = DMA_NONE });
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 1);
	ck_assert_uint_eq(f.rsp[0].rqid, 102);
	fx_fini(&f);
}
END_TEST

/* One fixture each: after an extra response the model's rsp_prod_pvt is
 * ahead of req_cons and it stops consuming. */
START_TEST(inject_extra_responses)
{
	struct fx f;

	fx_ready(&f, 21);
	arm(&f, SIM_FAULT_BE_DUP_RSP, 1);
	tur(&f, 1);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_mem_eq(&f.rsp[0], &f.rsp[1], sizeof(f.rsp[0]));
	ck_assert_uint_eq(stats(&f).responses - stats(&f).requests, 1);
	fx_fini(&f);
	/* A response for rqid 1, answered before and not in service. */
	fx_ready(&f, 21);
	tur(&f, 1);
	arm(&f, SIM_FAULT_BE_STALE_ID, 1);
	tur(&f, 2);
	ck_assert_uint_eq(f.nrsp, 3);
	ck_assert_uint_eq(f.rsp[1].rqid, 2);
	ck_assert_uint_eq(f.rsp[2].rqid, 1);
	ck_assert_uint_eq(stats(&f).responses - stats(&f).requests, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(inject_rsp_prod_overflow)
{
	struct fx f;

	fx_ready(&f, 22);
	arm(&f, SIM_FAULT_BE_RSP_OVERFLOW, 1);
	fe_send(&f, &(vscsiif_request_t){.rqid = 1,
					 .act = 1,
					 .cmd_len = 6,
					 .sc_data_direction = DMA_NONE});
	sim_run(f.sim);
	ck_assert(f.overflow_seen);
	ck_assert_uint_gt(f.front.sring->rsp_prod - f.front.rsp_cons,
			  RING_SIZE(&f.front));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_slot_rewrites)
{
	struct fx f;
	vscsiif_request_t rq = req_new(1, 0, DMA_NONE, OP_TUR, 6), *slot;
	vscsiif_response_t *rslot;
	RING_IDX idx;

	fx_init(&f, 23);
	f.cfg.service_min_ns = f.cfg.service_max_ns = MS;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	/* Request slot scribbled right after the copy. */
	arm(&f, SIM_FAULT_BE_REQ_REWRITE, 1);
	idx = f.front.req_prod_pvt;
	fe_send(&f, &rq);
	sim_run_until(f.sim, sim_now(f.sim) + 10000);
	slot = RING_GET_REQUEST(&f.front, idx);
	ck_assert(memcmp(slot, &rq, sizeof(rq)) != 0);
	sim_run(f.sim);
	ck_assert_int_eq(rsp_for(&f, 1)->rslt, 0); /* the copy was used */
	/* Response slot rewritten after publication, not republished: a
	 * frontend reading it twice is a double fetch. */
	arm(&f, SIM_FAULT_BE_RSP_REWRITE, 1);
	rq.rqid = 2;
	idx = f.front.req_prod_pvt;
	fe_send(&f, &rq);
	for (uint64_t before = stats(&f).responses;
	     stats(&f).responses == before;)
		ck_assert(sim_step(f.sim)); /* up to the publication */
	rslot = RING_GET_RESPONSE(&f.front, idx);
	ck_assert_uint_eq(rslot->rqid, 2);
	sim_shm_fetch(f.sim, rslot, sizeof(*rslot));
	sim_run(f.sim);
	ck_assert(rslot->rqid != 2 || rslot->rslt != 0);
	sim_shm_fetch(f.sim, rslot, sizeof(*rslot));
	ck_assert_uint_eq(sim_shm_double_fetches(f.sim), 1);
	fx_fini(&f);
}
END_TEST

START_TEST(inject_no_answer_and_late_tmr)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;
	uint64_t t0;

	fx_init(&f, 24);
	f.cfg.service_min_ns = f.cfg.service_max_ns = MS;
	fx_start(&f);
	fx_connect(&f);
	clear_ua(&f, 0);
	f.nrsp = 0;
	arm(&f, SIM_FAULT_BE_NO_ANSWER, 1);
	rq = read_page(&f, 1, 0, &pg);
	fe_send(&f, &rq);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 0);
	ck_assert_uint_eq(stats(&f).in_service, 0);
	ck_assert_uint_eq(gstats(&f).mapped, 1);
	/* The abort of a request in service comes 30 s late: by then the
	 * request has completed, so the TMR fails. */
	rq = read_page(&f, 2, 0, &pg);
	fe_send(&f, &rq);
	t0 = sim_now(f.sim);
	arm(&f, SIM_FAULT_BE_LATE_TMR, 1);
	rq = tmr(3, VSCSIIF_ACT_SCSI_ABORT, 0, 2);
	fe_send(&f, &rq);
	sim_run(f.sim);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(f.rsp[0].rqid, 2);
	ck_assert_int_eq(f.rsp[0].rslt, 0);
	ck_assert_uint_eq(f.rsp[1].rqid, 3);
	ck_assert_int_eq(f.rsp[1].rslt, XEN_VSCSIIF_RSLT_RESET_FAILED);
	ck_assert_uint_ge(f.rsp_ns[1], t0 + SCSIBACK_LATE_TMR_NS);
	fx_fini(&f);
}
END_TEST

START_TEST(inject_held_mappings)
{
	struct fx f;
	struct sim_page *pg;
	vscsiif_request_t rq;

	fx_ready(&f, 25);
	arm(&f, SIM_FAULT_BE_HOLD_GRANT, 1);
	rq = read_page(&f, 1, 0, &pg);
	ck_assert_int_eq(cmd(&f, &rq)->rslt, 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, rq.seg[0].gref), -EBUSY);
	arm(&f, SIM_FAULT_BE_HOLD_RING, 1);
	fe_state(&f, XenbusStateClosing);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, f.ring_ref), -EBUSY);
	ck_assert_uint_eq(stats(&f).held_maps, 2);
	/* Destroy lets go of everything. */
	scsiback_destroy(f.sb);
	f.sb = NULL;
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, f.ring_ref), 0);
	sim_destroy(f.sim);
	disks_close(&f);
}
END_TEST

/* "%u:%u:%u:%u" and nothing else, each field a 32-bit decimal. */
static bool vdev_parses(const char *v)
{
	for (int i = 0; i < 4; i++) {
		char *end;
		unsigned long long x;

		if (*v < '0' || *v > '9')
			return false;
		x = strtoull(v, &end, 10);
		if (x > UINT32_MAX || *end != (i < 3 ? ':' : '\0'))
			return false;
		v = end + (i < 3);
	}
	return true;
}

START_TEST(inject_xs_values)
{
	struct fx f;
	const char *v;
	char **names;
	unsigned n;

	fx_init(&f, 26);
	arm(&f, SIM_FAULT_BE_XS_VALUES, 1); /* probe's feature-sg-grant */
	fx_start(&f);
	v = get(&f, BE, "feature-sg-grant");
	ck_assert_str_ne(v, "128");
	ck_assert_str_ne(v, "(none)");
	arm(&f, SIM_FAULT_BE_XS_VALUES, 1); /* the connect's hotplug pass */
	fe_ring_new(&f);
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 1), XenbusStateInitialised);
	ck_assert_int_eq(
	    sim_xs_directory(sim_xs(f.sim), 0, 0, BE "/vscsi-devs", &names, &n),
	    0);
	ck_assert_uint_eq(n, 2);
	free(names);
	v = get(&f, BE, "vscsi-devs/dev-1/v-dev");
	ck_assert_msg(!vdev_parses(v), "v-dev '%s' parses", v);
	/* The backend's next pass fails it, as Linux does. */
	fe_put(&f, "vscsi-devs/dev-0/state", "4");
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_int_eq(be_dev_state(&f, 1), XenbusStateClosed);
	ck_assert_uint_eq(stats(&f).luns, 1);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_XS_VALUES], 2);
	fx_fini(&f);
}
END_TEST

START_TEST(inject_bad_state)
{
	struct fx f;
	int s;

	fx_init(&f, 27 + (uint64_t)_i);
	arm(&f, SIM_FAULT_BE_BAD_STATE, 1); /* right after InitWait */
	fx_start(&f);
	s = be_state(&f);
	ck_assert_int_eq(s, stats(&f).state);
	ck_assert_msg(s == 6 || s == 4 || s == 7 || s == 8 || s == 2 ||
			  (s >= 9 && s <= 255),
		      "state %d", s);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_BAD_STATE], 1);
	fx_fini(&f);
}
END_TEST

START_TEST(inject_remove_after_resume)
{
	struct fx f;
	uint32_t old_ref;
	char *v;
	unsigned len;

	fx_ready(&f, 28);
	arm(&f, SIM_FAULT_BE_REMOVE_AFTER_RESUME, 1);
	old_ref = f.ring_ref;
	fe_ring_new(&f);
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert_int_eq(sim_xs_read(sim_xs(f.sim), 0, 0, BE, &v, &len),
			 -ENOENT);
	ck_assert(stats(&f).unregistered);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, old_ref), 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, f.ring_ref), 0);
	fx_fini(&f);
}
END_TEST

/* ---- the fault classes, the notify hook ---------------------------------- */

START_TEST(backend_fault_names_round_trip)
{
	struct sim_config sc;
	struct sim *sim;
	struct sim_fault_plan *p;
	char all[1024], small[64], err[128];

	sim_config_default(&sc, 1);
	sim = sim_create(&sc);
	p = sim_faults(sim);
	for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++) {
		ck_assert(strncmp(sim_fault_name(c), "be-", 3) == 0);
		ck_assert_int_eq(sim_fault_from_name(sim_fault_name(c)), c);
		sim_fault_set_rate(p, c, 1000000);
	}
	ck_assert_int_eq(sim_fault_from_name("backend"), -1);
	sim_fault_set_rate(p, SIM_FAULT_ALLOC, 1000);
	sim_fault_plan_format(p, all, sizeof(all));
	ck_assert_int_eq(sim_fault_plan_parse(p, all, err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_BE_REMOVE_AFTER_RESUME),
			  1000000);
	/* A buffer too short gets whole items only. */
	sim_fault_plan_format(p, small, sizeof(small));
	ck_assert_int_eq(sim_fault_plan_parse(p, small, err, sizeof(err)), 0);
	sim_destroy(sim);
}
END_TEST

struct notified {
	struct xs_handle *h;
	unsigned calls, events;
	bool drain;
};

static void on_notify(void *arg)
{
	struct notified *n = arg;
	char **vec;
	unsigned num;

	n->calls++;
	while (n->drain && (vec = xs_read_watch(n->h, &num)) != NULL) {
		n->events++;
		free(vec);
	}
}

START_TEST(xs_notify_hook)
{
	struct sim_config sc;
	struct sim *sim;
	struct sim_xs *xs;
	struct notified n = {.drain = true};

	sim_config_default(&sc, 1);
	sim = sim_create(&sc);
	xs = sim_xs(sim);
	n.h = sim_xs_mock_open(xs, 0);
	sim_xs_mock_set_notify(n.h, on_notify, &n);
	ck_assert(xs_watch(n.h, "/a", "t"));
	ck_assert_uint_eq(n.calls, 0); /* an event, never a direct call */
	sim_run(sim);
	ck_assert_uint_eq(n.calls, 1);
	ck_assert_uint_eq(n.events, 1); /* the registration event */
	/* Three changes, one wake-up that drains all three. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sim_xs_write(xs, 0, 0, "/a", "v", 1), 0);
	ck_assert_uint_eq(n.calls, 1);
	sim_run(sim);
	ck_assert_uint_eq(n.calls, 2);
	ck_assert_uint_eq(n.events, 4);
	/* Off: events queue silently; on again: a wake-up for them. */
	sim_xs_mock_set_notify(n.h, NULL, NULL);
	ck_assert_int_eq(sim_xs_write(xs, 0, 0, "/a", "w", 1), 0);
	sim_run(sim);
	ck_assert_uint_eq(n.calls, 2);
	sim_xs_mock_set_notify(n.h, on_notify, &n);
	sim_run(sim);
	ck_assert_uint_eq(n.calls, 3);
	ck_assert_uint_eq(n.events, 5);
	/* A wake-up pending at close is cancelled. */
	ck_assert_int_eq(sim_xs_write(xs, 0, 0, "/a", "x", 1), 0);
	ck_assert(sim_step(sim)); /* the store's event queues it */
	xs_close(n.h);
	sim_run(sim);
	ck_assert_uint_eq(n.calls, 3);
	/* A pending wake-up when the store goes with the simulation. */
	n.h = sim_xs_mock_open(xs, 0);
	sim_xs_mock_set_notify(n.h, on_notify, &n);
	ck_assert(xs_watch(n.h, "/a", "t"));
	ck_assert(sim_step(sim));
	sim_destroy(sim);
	xs_close(n.h);
	ck_assert_uint_eq(n.calls, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scsiback");
	TCase *tc = tcase_create("scsiback");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake_reaches_connected);
	tcase_add_test(tc, write_then_read_direct);
	tcase_add_test(tc, write_then_read_indirect);
	tcase_add_loop_test(tc, error_answers_request_fields, 0, 2);
	tcase_add_loop_test(tc, error_answers_segments, 0, 2);
	tcase_add_test(tc, report_luns_lists_the_virtual_view);
	tcase_add_test(tc, abort_answers_the_victim_first);
	tcase_add_test(tc, tmr_victims_dropped_and_kept_mapped_by_default);
	tcase_add_test(tc, lun_reset_answers_its_lun_and_resets);
	tcase_add_test(tc, lun_hot_add_and_removal);
	tcase_add_test(tc, req_prod_overflow_halts_the_ring);
	tcase_add_test(tc, closing_answers_then_unmaps);
	tcase_add_test(tc, resume_reconnects_to_the_new_ring);
	tcase_add_test(tc, bogus_frontend_keys_are_fatal);
	tcase_add_loop_test(tc, random_requests_never_break_it, 0, 6);
	tcase_add_test(tc, inject_response_contents);
	tcase_add_test(tc, inject_bad_id_names_no_awaited_request);
	tcase_add_test(tc, inject_extra_responses);
	tcase_add_test(tc, inject_rsp_prod_overflow);
	tcase_add_test(tc, inject_slot_rewrites);
	tcase_add_test(tc, inject_no_answer_and_late_tmr);
	tcase_add_test(tc, inject_held_mappings);
	tcase_add_test(tc, inject_xs_values);
	tcase_add_loop_test(tc, inject_bad_state, 0, 4);
	tcase_add_test(tc, inject_remove_after_resume);
	tcase_add_test(tc, backend_fault_names_round_trip);
	tcase_add_test(tc, xs_notify_hook);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
