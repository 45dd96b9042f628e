/*
 * Guest SCSI stand-in; see scsi_guest.h. Everything runs as simulator
 * events: completions arrive from the frontend, new commands are issued
 * from a "pump" event so that scsi_done never nests submissions.
 * Random choices (read or write, which blocks) come from sim_rng, the
 * guest workloads' stream, which nothing on the backend side draws from
 * (sim/core/sim.h): another backend timing never changes them.
 */
#include "scsi_guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/devices/scsi_target.h"

#define SG_MAX_REQS 64          /* guest-side commands alive at once */
#define SG_SCAN_RETRIES 8       /* TUR / scan retries on UNIT ATTENTION */
#define SG_IO_RETRIES 4         /* a workload command retried on UA */
#define SG_BUSY_RETRY_NS 100000 /* poll after -EBUSY with nothing in flight, */
#define SG_BUSY_RETRY_MAX_NS 10000000 /* doubling while nothing changes */
/* A workload whose LUN has not appeared (and been scanned) this long after
 * its start, and after the connection, is given up (stopped). */
#define SG_LUN_WAIT_NS 10000000000ull
#define SG_GEN_UNKNOWN UINT32_MAX /* a failed write: contents unknown */
#define SG_POISON 0x5a
/* A command outstanding this long gets the error handler: a LUN reset
 * (Linux's midlayer times commands out after 30 s; the simulation uses a
 * shorter, still generous bound). */
#define SG_CMD_TIMEOUT_NS 1000000000ull
#define SG_WATCHDOG_NS 100000000ull
#define SG_TRACK_MAX (16ull << 20) /* blocks tracked per LUN */

enum sg_kind { SG_SCAN, SG_IO, SG_ABORTEE, SG_TMR };

enum scan_step { SCAN_TUR, SCAN_INQUIRY, SCAN_CAP10, SCAN_CAP16, SCAN_RLUNS };

struct sg_lun {
	struct sg_lun_info info;
	enum scan_step step;
	unsigned tries;
	bool scan_in_flight;
	bool eh_pending; /* a LUN reset from the watchdog is out */
	uint32_t *gen;   /* per block, tracked span only; 0: never written */
	uint8_t *busy;   /* per block: a command in flight covers it */
	uint64_t tracked; /* blocks in gen[] */
	uint64_t written_lo, written_hi; /* gen[] is 0 outside [lo, hi) */
};

/* One workload I/O of `block` bytes. Like the Linux block layer, the guest
 * splits an I/O bigger than the frontend's largest command into several
 * commands; the I/O completes when its last command does, and fails if
 * any of them failed. */
struct sg_io {
	bool used;
	bool all_issued; /* every command of it has been created */
	bool failed;
	uint32_t cmds_out; /* commands created and not yet finished */
};

#define SG_MAX_IOS 17 /* depth (<= 16) commands in flight + one being split */

struct sg_work {
	const struct simcfg_workload *cfg;
	struct sg_lun *lun; /* bound at start */
	struct sg_work_stats st;
	uint64_t issued;    /* I/Os begun */
	uint32_t in_flight; /* commands created and not finished */
	struct sg_io ios[SG_MAX_IOS];
	/* The I/O being split into commands, if any. */
	struct sg_io *cur;
	uint64_t cur_lba;
	uint32_t cur_left; /* blocks not yet in a command */
	uint32_t cur_gen;
	bool cur_write;
	uint64_t seq_next; /* next block for sequential patterns */
	bool started;
	/* abort-reset rounds */
	bool round_active, read_done, abort_done, reset_sent;
	uint64_t read_tag;
};

struct sg_req {
	bool used;
	uint64_t tag;
	enum sg_kind kind;
	struct sg_lun *lun;
	struct sg_work *work;
	struct sg_io *io; /* SG_IO: the workload I/O this command is part of */
	struct fut_scsi_cmd cmd;
	uint8_t *buf;
	uint32_t cap;
	bool write;
	uint64_t lba;
	uint32_t nblocks;
	uint32_t gen;
	unsigned retries;
	bool queued; /* waiting to be (re)submitted */
	uint64_t queued_ns; /* since when */
	uint64_t sent_ns;
};

struct scsi_guest {
	struct sim *sim;
	const struct simcfg *cfg;
	struct scsi_guest_hooks hooks;
	struct fut *fut;
	struct sg_lun luns[SG_MAX_LUNS];
	unsigned nr_luns;
	struct sg_work *works;
	unsigned nr_works;
	struct sg_req reqs[SG_MAX_REQS];
	uint64_t next_seq;
	uint32_t next_gen;
	bool pump_queued, stopped, idle_reported;
	uint64_t connected_ns; /* first connection */
	bool host_reset_wanted; /* a LUN reset failed: reset the host */
	sim_event_id busy_timer, watchdog;
	uint64_t busy_at; /* when busy_timer fires */
	uint64_t busy_retry_ns; /* the current -EBUSY poll interval */
	bool busy_timer_armed, watchdog_armed;
	struct sg_stats st;
};

static void pump_soon(struct scsi_guest *g);

/* ---- data patterns ------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The contents a write of generation gen puts in block lba. */
static void fill_block(uint8_t *dst, uint32_t bs, uint64_t lba, uint32_t gen)
{
	uint64_t s = mix64(lba * 0x9e3779b97f4a7c15ull + gen);

	/* Words independent of each other (no chain from one to the next),
	 * so the CPU computes several at once: every written and every
	 * verified block passes through here. */
	for (uint32_t i = 0; i < bs; i += 8) {
		uint64_t x = s + (uint64_t)i * 0x9e3779b97f4a7c15ull;

		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 29;
		memcpy(dst + i, &x, 8);
	}
}

/* ---- request table -------------------------------------------------------- */

static struct sg_req *req_new(struct scsi_guest *g, enum sg_kind kind,
			      struct sg_lun *lun, uint32_t len)
{
	for (unsigned i = 0; i < SG_MAX_REQS; i++) {
		struct sg_req *r = &g->reqs[i];

		if (r->used)
			continue;
		if (r->cap < len) {
			free(r->buf);
			r->buf = sim_xmalloc(len);
			r->cap = len;
		}
		r->used = true;
		r->kind = kind;
		r->lun = lun;
		r->work = NULL;
		r->tag = (++g->next_seq << 8) | i;
		r->retries = 0;
		r->queued = true;
		r->queued_ns = sim_now(g->sim);
		memset(&r->cmd, 0, sizeof(r->cmd));
		r->cmd.channel = lun->info.channel;
		r->cmd.id = lun->info.id;
		r->cmd.lun = lun->info.lun;
		r->cmd.data = len ? r->buf : NULL;
		r->cmd.data_len = len;
		return r;
	}
	return NULL;
}

static struct sg_req *req_find(struct scsi_guest *g, uint64_t tag)
{
	struct sg_req *r = &g->reqs[tag & 0xff];

	if ((tag & 0xff) >= SG_MAX_REQS || !r->used || r->tag != tag)
		return NULL;
	return r;
}

static void cdb_set(struct sg_req *r, const uint8_t *cdb, uint8_t len,
		    enum fut_dir dir)
{
	memcpy(r->cmd.cdb, cdb, len);
	r->cmd.cdb_len = len;
	r->cmd.dir = dir;
}

/* Returns false if the frontend refused it for good (error state). */
static bool req_submit(struct scsi_guest *g, struct sg_req *r)
{
	int err;

	if (!g->fut)
		return false;
	if (r->cmd.dir == FUT_DIR_FROM_DEVICE)
		memset(r->buf, SG_POISON, r->cmd.data_len);
	r->cmd.tag = r->tag;
	err = fut_scsi_submit(g->fut, &r->cmd);
	if (err == -EBUSY) {
		g->st.busy_retries++;
		return true; /* stays queued */
	}
	if (err)
		return false;
	r->queued = false;
	r->sent_ns = sim_now(g->sim);
	g->st.commands++;
	sim_check_request_begin(g->sim, r->tag);
	return true;
}

/* ---- checks on every completion --------------------------------------- */

static bool result_ok(const struct fut_scsi_result *res)
{
	return res->host == FUT_HOST_OK &&
	       (res->status == SIM_SCSI_GOOD || res->status == 0x04);
}

static bool is_unit_attention(const struct fut_scsi_result *res)
{
	return res->host == FUT_HOST_OK &&
	       res->status == SIM_SCSI_CHECK_CONDITION && res->sense_len > 2 &&
	       (res->sense[2] & 0x0f) == SIM_SCSI_UNIT_ATTENTION;
}

static void check_completion(struct scsi_guest *g, const struct sg_req *r,
			     const struct fut_scsi_result *res)
{
	uint32_t len = r->cmd.data_len;

	if ((uint64_t)res->delivered + res->residual > len)
		sim_violation(g->sim, SIM_CHECK_COMPLETION_OVERLONG,
			      "tag %#llx: delivered %u + residual %u > %u",
			      (unsigned long long)r->tag, res->delivered,
			      res->residual, len);
	if (result_ok(res) || r->cmd.dir != FUT_DIR_FROM_DEVICE)
		return;
	if (res->delivered != 0)
		sim_violation(g->sim, SIM_CHECK_DATA_ON_FAILURE,
			      "tag %#llx failed (host %u status %#x) but "
			      "reports %u bytes delivered",
			      (unsigned long long)r->tag, res->host,
			      res->status, res->delivered);
	for (uint32_t i = 0; i < len; i++) {
		if (r->buf[i] != SG_POISON) {
			sim_violation(g->sim, SIM_CHECK_DATA_ON_FAILURE,
				      "tag %#llx failed but its buffer was "
				      "written (byte %u)",
				      (unsigned long long)r->tag, i);
			break;
		}
	}
}

/* ---- scan ------------------------------------------------------------------ */

static void scan_issue(struct scsi_guest *g, struct sg_lun *l)
{
	static const uint8_t tur[6] = { 0x00 };
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	static const uint8_t cap10[10] = { 0x25 };
	static const uint8_t cap16[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0,
					   0,    0,    0, 0, 0, 32, 0, 0 };
	static const uint8_t rluns[12] = { 0xa0, 0, 0, 0, 0, 0,
					   0,    0, 16, 0, 0, 0 }; /* 4 KiB */
	struct sg_req *r;

	if (l->scan_in_flight || l->info.scanned || l->info.scan_failed)
		return;
	r = req_new(g, SG_SCAN, l, 4096);
	if (!r)
		return; /* the pump tries again */
	switch (l->step) {
	case SCAN_TUR:
		cdb_set(r, tur, 6, FUT_DIR_NONE);
		r->cmd.data_len = 0;
		r->cmd.data = NULL;
		break;
	case SCAN_INQUIRY:
		cdb_set(r, inq, 6, FUT_DIR_FROM_DEVICE);
		r->cmd.data_len = 96;
		break;
	case SCAN_CAP10:
		cdb_set(r, cap10, 10, FUT_DIR_FROM_DEVICE);
		r->cmd.data_len = 8;
		break;
	case SCAN_CAP16:
		cdb_set(r, cap16, 16, FUT_DIR_FROM_DEVICE);
		r->cmd.data_len = 32;
		break;
	case SCAN_RLUNS:
		cdb_set(r, rluns, 12, FUT_DIR_FROM_DEVICE);
		r->cmd.data_len = 4096;
		break;
	}
	l->scan_in_flight = true;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void copy_text(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

/* The last write to blocks [lba, lba + n) ended: gen, or unknown. */
static void written_mark(struct sg_lun *l, uint64_t lba, uint32_t n,
			 uint32_t gen)
{
	SIM_ASSERT(n > 0 && lba + n <= l->tracked);
	for (uint32_t i = 0; i < n; i++)
		l->gen[lba + i] = gen;
	if (l->written_hi == 0 || lba < l->written_lo)
		l->written_lo = lba;
	if (lba + n > l->written_hi)
		l->written_hi = lba + n;
}

static void track_alloc(struct scsi_guest *g, struct sg_lun *l)
{
	uint64_t want = l->info.blocks;

	/* Workloads stay within the tracked blocks: a huge LUN is used
	 * (and verified) only in its first 16 Mi blocks. */
	if (want > SG_TRACK_MAX)
		want = SG_TRACK_MAX;
	l->tracked = want;
	l->gen = sim_xcalloc(want ? want : 1, sizeof(*l->gen));
	l->busy = sim_xcalloc(want ? want : 1, 1);
}

/* Bytes a scan step needs before it may look at the data. */
static uint32_t scan_need(enum scan_step step)
{
	static const uint32_t need[] = { [SCAN_TUR] = 0, [SCAN_INQUIRY] = 32,
					 [SCAN_CAP10] = 8, [SCAN_CAP16] = 12,
					 [SCAN_RLUNS] = 8 };
	return need[step];
}

static bool block_size_sane(uint32_t bs)
{
	return bs >= 512 && bs <= 65536 && (bs & (bs - 1)) == 0;
}

static void scan_step_done(struct scsi_guest *g, struct sg_lun *l,
			   const struct sg_req *r)
{
	const uint8_t *d = r->buf;

	switch (l->step) {
	case SCAN_TUR:
		l->step = SCAN_INQUIRY;
		break;
	case SCAN_INQUIRY:
		l->info.type = d[0] & 0x1f;
		copy_text(l->info.vendor, d + 8, 8);
		copy_text(l->info.product, d + 16, 16);
		l->step = SCAN_CAP10;
		break;
	case SCAN_CAP10:
		l->info.block_size = be32(d + 4);
		l->info.blocks = (uint64_t)be32(d) + 1;
		l->step = be32(d) == 0xffffffffu ? SCAN_CAP16 : SCAN_RLUNS;
		break;
	case SCAN_CAP16:
		l->info.blocks = be64(d) + 1;
		l->info.block_size = be32(d + 8);
		l->step = SCAN_RLUNS;
		break;
	case SCAN_RLUNS:
		l->info.report_luns = be32(d) / 8;
		if (!block_size_sane(l->info.block_size) || !l->info.blocks) {
			l->info.scan_failed = true;
			break;
		}
		l->info.scanned = true;
		track_alloc(g, l);
		break;
	}
	l->tries = 0;
}

static void scan_done(struct scsi_guest *g, struct sg_req *r,
		      const struct fut_scsi_result *res)
{
	struct sg_lun *l = r->lun;

	l->scan_in_flight = false;
	if (result_ok(res) && res->delivered >= scan_need(l->step)) {
		scan_step_done(g, l, r);
	} else if (++l->tries > SG_SCAN_RETRIES || !l->info.present ||
		   (!is_unit_attention(res) && res->host != FUT_HOST_OK &&
		    res->host != FUT_HOST_RESET && res->host != FUT_HOST_ERROR)) {
		l->info.scan_failed = true;
	}
}

/* ---- workloads ---------------------------------------------------------------- */

static bool work_done(const struct sg_work *w)
{
	return w->st.finished || w->st.stopped;
}

static void work_finish_check(struct scsi_guest *g, struct sg_work *w)
{
	bool all_issued = w->issued >= w->cfg->ops || w->st.stopped;

	if (!w->st.finished && all_issued && w->in_flight == 0 &&
	    !w->cur && !w->round_active) {
		w->st.finished = true;
		w->st.last_ns = sim_now(g->sim);
	}
}

/* Blocks in one command at most: the frontend's max transfer. */
static uint32_t cmd_max_blocks(const struct scsi_guest *g,
			       const struct sg_work *w)
{
	uint32_t bs = w->lun->info.block_size;
	uint32_t max = g->fut ? fut_scsi_max_transfer(g->fut) / bs : 0;

	return max ? max : 1;
}

/* Blocks in one workload I/O. */
static uint32_t io_blocks(const struct sg_work *w)
{
	uint32_t n = w->cfg->block / w->lun->info.block_size;

	return n ? n : 1;
}

static uint64_t work_span(const struct sg_work *w)
{
	uint64_t blocks = w->lun->tracked;
	uint32_t bs = w->lun->info.block_size;

	if (w->cfg->span && w->cfg->span / bs < blocks)
		blocks = w->cfg->span / bs;
	return blocks;
}

static bool range_free(const struct sg_lun *l, uint64_t lba, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (l->busy[lba + i])
			return false;
	return true;
}

static void range_busy(struct sg_lun *l, uint64_t lba, uint32_t n, bool on)
{
	for (uint32_t i = 0; i < n; i++)
		l->busy[lba + i] = on;
}

static bool pattern_is_random(enum simcfg_pattern p)
{
	return p == SIMCFG_RANDRW || p == SIMCFG_RANDREAD ||
	       p == SIMCFG_RANDWRITE;
}

static bool choose_write(struct scsi_guest *g, const struct sg_work *w)
{
	switch (w->cfg->pattern) {
	case SIMCFG_RANDWRITE:
	case SIMCFG_SEQWRITE:
		return true;
	case SIMCFG_RANDREAD:
	case SIMCFG_SEQREAD:
		return false;
	default:
		return sim_rng_below(sim_rng(g->sim), 100) >= w->cfg->read_pct;
	}
}

/* Pick a free, aligned block range; false if none now. */
static bool choose_lba(struct scsi_guest *g, struct sg_work *w, uint32_t n,
		       uint64_t *lba)
{
	uint64_t slots = work_span(w) / n;

	if (slots == 0)
		return false;
	if (pattern_is_random(w->cfg->pattern)) {
		for (int tries = 0; tries < 4; tries++) {
			*lba = sim_rng_below(sim_rng(g->sim), slots) * n;
			if (range_free(w->lun, *lba, n))
				return true;
		}
		return false;
	}
	*lba = (w->seq_next % slots) * n;
	if (!range_free(w->lun, *lba, n))
		return false;
	w->seq_next++;
	return true;
}

/* READ/WRITE(10) where they reach (every MMC device has them), else 16. */
static void rw_cdb(struct sg_req *r, bool write, uint64_t lba, uint32_t n)
{
	uint8_t c[16] = { write ? 0x8a : 0x88 }; /* WRITE(16) / READ(16) */

	if (lba <= UINT32_MAX && n <= UINT16_MAX) {
		uint8_t c10[10] = { write ? 0x2a : 0x28, 0,
				    (uint8_t)(lba >> 24), (uint8_t)(lba >> 16),
				    (uint8_t)(lba >> 8), (uint8_t)lba, 0,
				    (uint8_t)(n >> 8), (uint8_t)n, 0 };

		cdb_set(r, c10, 10,
			write ? FUT_DIR_TO_DEVICE : FUT_DIR_FROM_DEVICE);
		return;
	}
	for (int i = 0; i < 8; i++)
		c[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c[10 + i] = (uint8_t)(n >> (24 - 8 * i));
	cdb_set(r, c, 16, write ? FUT_DIR_TO_DEVICE : FUT_DIR_FROM_DEVICE);
}

static struct sg_io *io_alloc(struct sg_work *w)
{
	for (unsigned i = 0; i < SG_MAX_IOS; i++)
		if (!w->ios[i].used) {
			memset(&w->ios[i], 0, sizeof(w->ios[i]));
			w->ios[i].used = true;
			return &w->ios[i];
		}
	return NULL;
}

/* Begin a new workload I/O: pick its blocks and direction. */
static bool io_begin(struct scsi_guest *g, struct sg_work *w)
{
	uint32_t n = io_blocks(w);
	uint64_t lba;

	SIM_ASSERT(w->cur == NULL);
	if (!choose_lba(g, w, n, &lba))
		return false;
	w->cur = io_alloc(w);
	SIM_ASSERT(w->cur != NULL); /* at most depth I/Os have commands out */
	w->cur_lba = lba;
	w->cur_left = n;
	w->cur_write = choose_write(g, w);
	if (w->cur_write) {
		w->cur_gen = ++g->next_gen;
		if (w->cur_gen == SG_GEN_UNKNOWN)
			w->cur_gen = g->next_gen = 1;
	}
	range_busy(w->lun, lba, n, true);
	w->issued++;
	if (!w->st.first_ns)
		w->st.first_ns = sim_now(g->sim) ? sim_now(g->sim) : 1;
	return true;
}

/* Create the next command of the current I/O (beginning one if none). */
static bool io_issue(struct scsi_guest *g, struct sg_work *w)
{
	uint32_t bs = w->lun->info.block_size, n;
	struct sg_req *r;

	if (!w->cur && (w->issued >= w->cfg->ops || !io_begin(g, w)))
		return false;
	n = w->cur_left < cmd_max_blocks(g, w) ? w->cur_left
					       : cmd_max_blocks(g, w);
	r = req_new(g, SG_IO, w->lun, n * bs);
	if (!r)
		return false;
	r->work = w;
	r->io = w->cur;
	r->write = w->cur_write;
	r->lba = w->cur_lba;
	r->nblocks = n;
	r->gen = w->cur_gen;
	rw_cdb(r, r->write, r->lba, n);
	for (uint32_t i = 0; r->write && i < n; i++)
		fill_block(r->buf + (size_t)i * bs, bs, r->lba + i, r->gen);
	w->cur->cmds_out++;
	w->cur_lba += n;
	w->cur_left -= n;
	if (w->cur_left == 0) {
		w->cur->all_issued = true;
		w->cur = NULL;
	}
	w->in_flight++;
	return true;
}

/* An I/O whose last command finished (or that was given up) is counted. */
static void io_account(struct scsi_guest *g, struct sg_work *w,
		       struct sg_io *io)
{
	if (!io->all_issued || io->cmds_out > 0)
		return;
	w->st.ops++;
	if (io->failed)
		w->st.failed++;
	else
		w->st.ok++;
	io->used = false;
	w->st.last_ns = sim_now(g->sim);
}

/* Stopping mid-split: the rest of the current I/O is never sent, and the
 * I/O counts as failed. */
static void io_abandon_current(struct scsi_guest *g, struct sg_work *w)
{
	struct sg_io *io = w->cur;

	if (!io)
		return;
	range_busy(w->lun, w->cur_lba, w->cur_left, false);
	w->cur = NULL;
	w->cur_left = 0;
	io->all_issued = true;
	io->failed = true;
	io_account(g, w, io);
}

static void verify_read(struct scsi_guest *g, const struct sg_req *r,
			const struct fut_scsi_result *res)
{
	struct sg_lun *l = r->lun;
	uint32_t bs = l->info.block_size;
	uint8_t *want = sim_xmalloc(bs);

	for (uint32_t i = 0; i < r->nblocks; i++) {
		uint32_t gen = l->gen[r->lba + i];

		if ((uint64_t)(i + 1) * bs > res->delivered)
			break;
		if (gen == 0 || gen == SG_GEN_UNKNOWN)
			continue;
		fill_block(want, bs, r->lba + i, gen);
		if (memcmp(want, r->buf + (size_t)i * bs, bs) != 0)
			sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
				      "%u:%u:%u block %llu read back differs "
				      "from write generation %u",
				      l->info.channel, l->info.id, l->info.lun,
				      (unsigned long long)(r->lba + i), gen);
		else
			r->work->st.verified_bytes += bs;
	}
	free(want);
}

/* A workload command finished: returns true if it is to be sent again. */
static bool io_done(struct scsi_guest *g, struct sg_req *r,
		    const struct fut_scsi_result *res)
{
	struct sg_work *w = r->work;
	struct sg_lun *l = r->lun;
	bool ok = result_ok(res) && res->residual == 0;

	/* Retried as the midlayer does: after UNIT ATTENTION and for a
	 * command a LUN reset took down (host RESET). */
	if (!ok && (is_unit_attention(res) || res->host == FUT_HOST_RESET) &&
	    r->retries < SG_IO_RETRIES && !g->stopped && l->info.present) {
		r->retries++;
		w->st.retried++;
		return true;
	}
	range_busy(l, r->lba, r->nblocks, false);
	SIM_ASSERT(w->in_flight > 0 && r->io && r->io->cmds_out > 0);
	w->in_flight--;
	r->io->cmds_out--;
	if (ok)
		w->st.bytes += r->cmd.data_len;
	else
		r->io->failed = true;
	if (r->write)
		written_mark(l, r->lba, r->nblocks, ok ? r->gen : SG_GEN_UNKNOWN);
	if (ok && !r->write && w->cfg->verify)
		verify_read(g, r, res);
	io_account(g, w, r->io);
	return false;
}

/* ---- abort and reset rounds ------------------------------------------------------ */

static void round_start(struct scsi_guest *g, struct sg_work *w)
{
	uint32_t n = io_blocks(w) < cmd_max_blocks(g, w) ? io_blocks(w)
						       : cmd_max_blocks(g, w);
	struct sg_req *r = req_new(g, SG_ABORTEE, w->lun,
				   n * w->lun->info.block_size);
	struct sg_req *t;

	if (!r)
		return;
	r->work = w;
	r->lba = 0;
	r->nblocks = n;
	rw_cdb(r, false, 0, r->nblocks);
	if (!req_submit(g, r) || r->queued) {
		r->used = false;
		return;
	}
	w->round_active = true;
	w->read_done = w->abort_done = w->reset_sent = false;
	w->read_tag = r->tag;
	w->issued++;
	if (!w->st.first_ns)
		w->st.first_ns = sim_now(g->sim) ? sim_now(g->sim) : 1;
	t = req_new(g, SG_TMR, w->lun, 0);
	SIM_ASSERT(t != NULL);
	t->work = w;
	t->queued = false;
	if (fut_scsi_abort(g->fut, r->tag, t->tag) != 0) {
		t->used = false; /* already answered: nothing to abort */
		w->abort_done = true;
		w->st.aborts_failed++;
	}
}

static void round_next(struct scsi_guest *g, struct sg_work *w)
{
	struct sg_req *t;

	if (!w->read_done || !w->abort_done || w->reset_sent)
		return;
	t = req_new(g, SG_TMR, w->lun, 0);
	SIM_ASSERT(t != NULL);
	t->work = w;
	t->queued = false;
	w->reset_sent = true;
	if (fut_scsi_reset(g->fut, w->lun->info.channel, w->lun->info.id,
			   w->lun->info.lun, t->tag) != 0) {
		t->used = false;
		w->st.resets_failed++;
		w->round_active = false;
	}
}

static void tmr_done(void *arg, uint64_t tag, int result)
{
	struct scsi_guest *g = arg;
	struct sg_req *t = req_find(g, tag);
	struct sg_work *w;

	SIM_ASSERT(t && t->kind == SG_TMR);
	w = t->work;
	t->used = false;
	if (!w) { /* the watchdog's reset */
		t->lun->eh_pending = false;
		/* Unanswered or refused: escalate, as the midlayer does. */
		if (result != 0)
			g->host_reset_wanted = true;
		pump_soon(g);
		return;
	}
	if (!w->abort_done) {
		w->abort_done = true;
		if (result == 0)
			w->st.aborts_ok++;
		else
			w->st.aborts_failed++;
		round_next(g, w);
	} else {
		if (result == 0)
			w->st.resets_ok++;
		else
			w->st.resets_failed++;
		w->round_active = false;
		w->st.last_ns = sim_now(g->sim);
	}
	pump_soon(g);
}

/* ---- the pump --------------------------------------------------------------------- */

static struct sg_lun *lun_by_vdev(struct scsi_guest *g,
				  const struct simcfg_vdev *v)
{
	for (unsigned i = g->nr_luns; i-- > 0;) {
		struct sg_lun *l = &g->luns[i];

		if (l->info.present && l->info.channel == v->channel &&
		    l->info.id == v->id && l->info.lun == v->lun)
			return l;
	}
	return NULL;
}

/* When a workload not started yet gives up waiting for its LUN. */
static uint64_t lun_deadline(const struct scsi_guest *g,
			     const struct sg_work *w)
{
	uint64_t from = w->cfg->start_ns > g->connected_ns ? w->cfg->start_ns
							   : g->connected_ns;

	return from + SG_LUN_WAIT_NS;
}

/* Binds a workload to its scanned LUN; false while it must wait. */
static bool work_start(struct scsi_guest *g, struct sg_work *w)
{
	struct sg_lun *l;

	if (sim_now(g->sim) < w->cfg->start_ns)
		return false;
	l = lun_by_vdev(g, &w->cfg->vdev);
	if (l && l->info.scanned) {
		w->lun = l;
		w->started = true;
		return true;
	}
	/* A LUN that fails its scan or never comes: nothing to run on. */
	if ((l && l->info.scan_failed) ||
	    sim_now(g->sim) >= lun_deadline(g, w))
		w->st.stopped = true;
	return false;
}

static void work_pump(struct scsi_guest *g, struct sg_work *w)
{
	if (work_done(w))
		return;
	if (!w->started && !work_start(g, w))
		return;
	if (g->stopped || !w->lun->info.present) {
		io_abandon_current(g, w);
		w->st.stopped = w->in_flight == 0 && !w->round_active;
		return;
	}
	if (w->cfg->pattern == SIMCFG_ABORT_RESET) {
		if (!w->round_active && w->issued < w->cfg->ops)
			round_start(g, w);
	} else {
		while (w->in_flight < w->cfg->depth && io_issue(g, w))
			;
	}
	work_finish_check(g, w);
}

static bool all_idle(struct scsi_guest *g)
{
	for (unsigned i = 0; i < g->nr_luns; i++) {
		const struct sg_lun *l = &g->luns[i];

		if (!g->stopped && l->info.present && !l->info.scanned &&
		    !l->info.scan_failed)
			return false;
	}
	for (unsigned w = 0; w < g->nr_works; w++)
		if (!work_done(&g->works[w]))
			return false;
	return true;
}

/* The next time a workload not started yet needs a look: its start, or
 * the end of its wait for a LUN. UINT64_MAX: none. */
static uint64_t next_start(struct scsi_guest *g)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < g->nr_works; i++) {
		const struct sg_work *w = &g->works[i];
		uint64_t at = w->cfg->start_ns > sim_now(g->sim)
				      ? w->cfg->start_ns
				      : lun_deadline(g, w);

		if (!w->started && !work_done(w) && at < t)
			t = at;
	}
	return t;
}

static bool any_queued(const struct scsi_guest *g)
{
	for (unsigned i = 0; i < SG_MAX_REQS; i++)
		if (g->reqs[i].used && g->reqs[i].queued)
			return true;
	return false;
}

static void busy_fire(struct sim *sim, void *arg)
{
	struct scsi_guest *g = arg;

	g->busy_timer_armed = false;
	if (g->busy_retry_ns < SG_BUSY_RETRY_MAX_NS)
		g->busy_retry_ns *= 2;
	pump_soon(g);
}

/* One wake-up at a time, the earliest asked for. */
static void arm_poll(struct scsi_guest *g, uint64_t at)
{
	uint64_t now = sim_now(g->sim);

	if (g->busy_timer_armed) {
		if (g->busy_at <= at)
			return;
		sim_cancel(g->sim, g->busy_timer);
	}
	g->busy_timer_armed = true;
	g->busy_at = at > now ? at : now;
	g->busy_timer = sim_schedule(g->sim, g->busy_at - now, busy_fire, g,
				     "guest-poll");
}

/* A command that never went out: failed here, as the midlayer fails one
 * whose error handling cannot reach the device. */
static void fail_unsent(struct scsi_guest *g, struct sg_req *r)
{
	struct fut_scsi_result res = { .host = FUT_HOST_ERROR };

	r->queued = false;
	if (r->kind == SG_IO)
		io_done(g, r, &res);
	else if (r->kind == SG_SCAN)
		scan_done(g, r, &res);
	r->used = false;
	pump_soon(g); /* workloads and idleness are looked at again */
}

/* Sends queued commands in order until the frontend says -EBUSY. One it
 * refuses for good, or that stays queued past the command timeout (the
 * frontend suspended or never reconnecting), fails. */
static void submit_queued(struct scsi_guest *g)
{
	bool blocked = false;

	for (unsigned i = 0; i < SG_MAX_REQS; i++) {
		struct sg_req *r = &g->reqs[i];

		if (!r->used || !r->queued || r->kind == SG_TMR)
			continue;
		if (!blocked) {
			if (!req_submit(g, r)) {
				fail_unsent(g, r);
				continue;
			}
			if (!r->queued)
				continue; /* sent */
			blocked = true;
		}
		if (sim_now(g->sim) - r->queued_ns >= SG_CMD_TIMEOUT_NS)
			fail_unsent(g, r);
	}
}

static unsigned in_flight(const struct scsi_guest *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SG_MAX_REQS; i++)
		n += g->reqs[i].used && !g->reqs[i].queued;
	return n;
}

/* The error handler: a LUN whose command timed out is reset. */
static void watchdog_fire(struct sim *sim, void *arg)
{
	struct scsi_guest *g = arg;
	bool busy = false;

	g->watchdog_armed = false;
	for (unsigned i = 0; i < SG_MAX_REQS && g->fut; i++) {
		struct sg_req *r = &g->reqs[i];
		struct sg_req *t;

		if (!r->used || r->queued || r->kind == SG_TMR)
			continue;
		busy = true;
		if (sim_now(sim) - r->sent_ns < SG_CMD_TIMEOUT_NS ||
		    r->lun->eh_pending)
			continue;
		t = req_new(g, SG_TMR, r->lun, 0);
		if (!t)
			break;
		t->queued = false;
		if (fut_scsi_reset(g->fut, r->lun->info.channel,
				   r->lun->info.id, r->lun->info.lun,
				   t->tag) == 0) {
			r->lun->eh_pending = true;
		} else {
			/* Could not even be sent: the host reset is next. */
			t->used = false;
			g->host_reset_wanted = true;
			pump_soon(g);
		}
	}
	if (busy) {
		g->watchdog_armed = true;
		g->watchdog = sim_schedule(sim, SG_WATCHDOG_NS, watchdog_fire,
					   g, "guest-watchdog");
	}
}

static void pump(struct sim *sim, void *arg)
{
	struct scsi_guest *g = arg;
	uint64_t t;

	g->pump_queued = false;
	if (!g->fut || !g->st.connected)
		return;
	if (g->host_reset_wanted) {
		g->host_reset_wanted = false;
		if (fut_scsi_host_reset(g->fut) == 0)
			g->st.host_resets++;
	}
	for (unsigned i = 0; i < g->nr_luns && !g->stopped; i++)
		if (g->luns[i].info.present)
			scan_issue(g, &g->luns[i]);
	for (unsigned w = 0; w < g->nr_works; w++)
		work_pump(g, &g->works[w]);
	submit_queued(g);
	if (!g->watchdog_armed && in_flight(g) > 0) {
		g->watchdog_armed = true;
		g->watchdog = sim_schedule(sim, SG_WATCHDOG_NS, watchdog_fire,
					   g, "guest-watchdog");
	}
	/* Wake up for -EBUSY retries with nothing in flight to complete, or
	 * for a workload's start or LUN deadline. */
	t = next_start(g);
	if (in_flight(g) == 0 && any_queued(g) &&
	    sim_now(g->sim) + g->busy_retry_ns < t)
		t = sim_now(g->sim) + g->busy_retry_ns;
	if (t != UINT64_MAX)
		arm_poll(g, t);
	if (all_idle(g) && !g->idle_reported && in_flight(g) == 0) {
		g->idle_reported = true;
		if (g->hooks.idle)
			g->hooks.idle(g->hooks.arg);
	}
}

static void pump_soon(struct scsi_guest *g)
{
	if (g->pump_queued)
		return;
	g->pump_queued = true;
	sim_schedule(g->sim, 0, pump, g, "guest-pump");
}

/* ---- fut callbacks --------------------------------------------------------------- */

static void on_scsi_done(void *arg, uint64_t tag,
			 const struct fut_scsi_result *res)
{
	struct scsi_guest *g = arg;
	struct sg_req *r = req_find(g, tag);

	sim_check_request_done(g->sim, tag);
	g->busy_retry_ns = SG_BUSY_RETRY_NS; /* progress: poll soon again */
	if (!r || r->queued) {
		sim_violation(g->sim, SIM_CHECK_COMPLETION_UNKNOWN,
			      "scsi_done for tag %#llx not in flight",
			      (unsigned long long)tag);
		return;
	}
	g->st.completed++;
	if (!result_ok(res))
		g->st.failed++;
	check_completion(g, r, res);
	switch (r->kind) {
	case SG_SCAN:
		scan_done(g, r, res);
		r->used = false;
		break;
	case SG_IO:
		if (io_done(g, r, res)) {
			r->queued = true;
			r->queued_ns = sim_now(g->sim);
			r->tag = (++g->next_seq << 8) | (uint64_t)(r - g->reqs);
		} else {
			r->used = false;
		}
		break;
	case SG_ABORTEE:
		r->work->read_done = true;
		r->work->st.ops++;
		r->used = false;
		round_next(g, r->work);
		break;
	case SG_TMR:
		SIM_ASSERT(0);
	}
	pump_soon(g);
}

static int on_lun_added(void *arg, uint16_t channel, uint16_t id,
			uint16_t lun)
{
	struct scsi_guest *g = arg;
	struct sg_lun *l;

	if (g->nr_luns == SG_MAX_LUNS)
		return -ENOSPC;
	l = &g->luns[g->nr_luns++];
	memset(l, 0, sizeof(*l));
	l->info.present = true;
	l->info.channel = channel;
	l->info.id = id;
	l->info.lun = lun;
	l->info.target = g->hooks.lun_target
				 ? g->hooks.lun_target(g->hooks.arg, channel,
						       id, lun)
				 : -1;
	g->st.luns_added++;
	g->idle_reported = false;
	pump_soon(g);
	return 0;
}

static void on_lun_removed(void *arg, uint16_t channel, uint16_t id,
			   uint16_t lun)
{
	struct scsi_guest *g = arg;
	struct simcfg_vdev v = { 0, channel, id, lun };
	struct sg_lun *l = lun_by_vdev(g, &v);

	if (!l)
		return;
	l->info.present = false;
	g->st.luns_removed++;
	pump_soon(g);
}

static void on_connected(void *arg)
{
	struct scsi_guest *g = arg;

	if (!g->st.connected)
		g->connected_ns = sim_now(g->sim);
	g->st.connected = true;
	pump_soon(g);
}

static void on_resumed(void *arg)
{
	struct scsi_guest *g = arg;

	g->st.resumed = true;
	pump_soon(g);
}

static void on_error(void *arg)
{
	struct scsi_guest *g = arg;

	g->st.error = true;
	scsi_guest_stop(g);
}

static void on_closed(void *arg)
{
	struct scsi_guest *g = arg;

	g->st.closed = true;
	if (g->hooks.closed)
		g->hooks.closed(g->hooks.arg);
}

/* ---- public ---------------------------------------------------------------------- */

struct scsi_guest *scsi_guest_create(struct sim *sim,
				     const struct simcfg *cfg,
				     const struct scsi_guest_hooks *hooks)
{
	struct scsi_guest *g = sim_xcalloc(1, sizeof(*g));

	g->sim = sim;
	g->cfg = cfg;
	g->busy_retry_ns = SG_BUSY_RETRY_NS;
	g->hooks = *hooks;
	g->nr_works = cfg->nr_workloads;
	g->works = sim_xcalloc(g->nr_works ? g->nr_works : 1,
			       sizeof(*g->works));
	for (unsigned w = 0; w < g->nr_works; w++)
		g->works[w].cfg = &cfg->workloads[w];
	return g;
}

void scsi_guest_callbacks(struct scsi_guest *g, struct fut_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->connected = on_connected;
	cb->resumed = on_resumed;
	cb->error = on_error;
	cb->closed = on_closed;
	cb->lun_added = on_lun_added;
	cb->lun_removed = on_lun_removed;
	cb->scsi_done = on_scsi_done;
	cb->tmr_done = tmr_done;
	cb->arg = g;
}

void scsi_guest_attach(struct scsi_guest *g, struct fut *f)
{
	g->fut = f;
}

void scsi_guest_detach(struct scsi_guest *g)
{
	g->fut = NULL;
	g->stopped = true;
}

void scsi_guest_stop(struct scsi_guest *g)
{
	g->stopped = true;
	for (unsigned w = 0; w < g->nr_works; w++)
		if (!g->works[w].started)
			g->works[w].st.stopped = true;
	pump_soon(g);
}

void scsi_guest_destroy(struct scsi_guest *g)
{
	if (g->busy_timer_armed)
		sim_cancel(g->sim, g->busy_timer);
	if (g->watchdog_armed)
		sim_cancel(g->sim, g->watchdog);
	for (unsigned i = 0; i < g->nr_luns; i++) {
		free(g->luns[i].gen);
		free(g->luns[i].busy);
	}
	for (unsigned i = 0; i < SG_MAX_REQS; i++)
		free(g->reqs[i].buf);
	free(g->works);
	free(g);
}

void scsi_guest_stats(const struct scsi_guest *g, struct sg_stats *st)
{
	*st = g->st;
}

unsigned scsi_guest_nr_luns(const struct scsi_guest *g)
{
	return g->nr_luns;
}

void scsi_guest_lun(const struct scsi_guest *g, unsigned i,
		    struct sg_lun_info *out)
{
	SIM_ASSERT(i < g->nr_luns);
	*out = g->luns[i].info;
}

void scsi_guest_work_stats(const struct scsi_guest *g, unsigned w,
			   struct sg_work_stats *out)
{
	SIM_ASSERT(w < g->nr_works);
	*out = g->works[w].st;
}

void scsi_guest_written_blocks(struct scsi_guest *g, unsigned i,
			       sg_block_fn *fn, void *arg)
{
	const struct sg_lun *l = &g->luns[i];
	uint32_t bs = l->info.block_size;
	uint8_t *want;

	if (!l->gen || bs == 0)
		return;
	want = sim_xmalloc((size_t)SG_AUDIT_RUN * bs);
	/* Only the span writes touched: the medium is often far larger. */
	SIM_ASSERT(l->written_hi <= l->tracked);
	for (uint64_t b = l->written_lo; b < l->written_hi;) {
		uint32_t n = 0;

		while (b + n < l->written_hi && n < SG_AUDIT_RUN &&
		       l->gen[b + n] != 0 && l->gen[b + n] != SG_GEN_UNKNOWN) {
			fill_block(want + (size_t)n * bs, bs, b + n,
				   l->gen[b + n]);
			n++;
		}
		if (n)
			fn(arg, b, n, bs, want);
		b += n ? n : 1;
	}
	free(want);
}
