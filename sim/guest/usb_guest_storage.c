/*
 * The guest's usb-storage, stood in for: a Bulk-Only Transport initiator
 * (USB MSC BOT 1.0) with the verified workload of usb_guest.h, and the
 * per-device map of what the guest wrote (usb_guest_written_blocks).
 *
 * One command at a time (BOT has no queueing): CBW, the data stage in
 * URBs of up to 64 KiB, CSW. A STALL in the data stage is cleared and
 * the CSW read; a stalled CSW is cleared and read once more; anything
 * else wrong (a bad or phase-error CSW, a second STALL, one of our
 * timeouts) gets the reset recovery (BOT 5.3.4) and the command fails as
 * a transport error, which the workload retries; the sixth transport
 * error of a binding takes the device offline (the binding ends). A
 * failure that says the device is gone (-19, -71, -108, an unlink we did
 * not ask for) ends the binding: nothing is retried on a port that is
 * gone.
 *
 * A write marks its blocks unknown when it is issued and stamps them
 * with its generation only when its CSW says passed, so the map never
 * holds a write that may not be on the medium.
 *
 * Random choices (read or write, which blocks) come from sim_rng, the
 * guest workloads' stream, which nothing on the backend side draws from
 * (sim/core/sim.h).
 */
#include "usb_guest_impl.h"

#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/devices/usb_msc.h"

#define ST_SCAN_TRIES  8 /* TUR and the scan commands, on UA or errors */
#define ST_IO_RETRIES  2 /* a workload command, after UA or recovery */
/* Transport errors (each one a reset recovery, most a 10 s timeout) a
 * binding takes before the device is given up, as the SCSI error handler
 * takes a device offline whose resets do not help: a backend that drops
 * requests would otherwise keep a workload busy for ever. */
#define ST_OFFLINE_AFTER 6
#define ST_SENSE_LEN   18
#define ST_URB_MAX     65536u	   /* the frontend's largest transfer */
#define ST_STAMP_MAGIC 0x55565058u /* "XPVU" */

enum st_step { S_MAXLUN, S_TUR, S_INQUIRY, S_CAPACITY, S_IO };

enum bot_phase {
	BOT_CBW,
	BOT_DATA,
	BOT_CLEAR_DATA, /* CLEAR_HALT after a stalled data stage */
	BOT_CSW,
	BOT_CLEAR_CSW, /* CLEAR_HALT after a stalled CSW */
	BOT_CSW_AGAIN,
	BOT_RESET,	    /* reset recovery: the class reset ... */
	BOT_RESET_CLEAR_IN, /* ... then CLEAR_HALT on both pipes */
	BOT_RESET_CLEAR_OUT,
};

enum bot_result {
	BOT_PASSED,
	BOT_FAILED,    /* CSW status 1: REQUEST SENSE tells why */
	BOT_TRANSPORT, /* recovered: the command did not run (or did) */
	BOT_DEAD,      /* the device is gone or unusable */
};

struct st_bind {
	int device;
	uint8_t iface;
	struct ug_ep in, out;
	enum st_step step;
	unsigned tries;
	bool sensing;		    /* the command out is REQUEST SENSE */
	enum bot_result sensed_for; /* the result REQUEST SENSE follows */
	uint8_t sense[ST_SENSE_LEN];
	/* the command in progress */
	uint8_t cdb[16];
	uint8_t cdb_len;
	bool data_in;
	uint32_t len, done, tag;
	enum bot_phase phase;
	uint8_t *data;
	uint32_t data_cap;
	/* the medium and the workload */
	uint64_t blocks;
	uint32_t bs;
	bool op_active; /* begun, not ended */
	bool op_write;
	uint64_t op_lba;
	uint32_t op_blocks, op_gen;
	unsigned op_retries;
	unsigned transport_errors; /* of this binding */
};

static void bot_csw(struct usb_guest *g, struct ug_port *p, struct st_bind *s);
static void bot_end(struct usb_guest *g, struct ug_port *p, struct st_bind *s,
		    enum bot_result r, uint32_t residue);
static void step_run(struct usb_guest *g, struct ug_port *p, struct st_bind *s);

static void put_le32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint32_t get_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* ---- data stamps ------------------------------------------------------------
 */

/* The contents a write of generation gen puts in block lba of device
 * `device`: a readable stamp, then words derived from it. */
static void fill_block(uint8_t *dst, uint32_t bs, unsigned device, uint64_t lba,
		       uint32_t gen)
{
	uint64_t s = ug_mix64(lba * 0x9e3779b97f4a7c15ull ^
			      (uint64_t)device << 40 ^ gen);

	for (uint32_t i = 0; i < bs; i += 8) {
		uint64_t x = s + (uint64_t)i * 0x9e3779b97f4a7c15ull;

		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 29;
		memcpy(dst + i, &x, 8);
	}
	put_le32(dst, ST_STAMP_MAGIC);
	put_le32(dst + 4, device);
	put_le32(dst + 8, (uint32_t)lba);
	put_le32(dst + 12, gen);
}

/* ---- the written-block map
 * ------------------------------------------------------ */

static void map_mark(struct ug_dev *d, uint64_t lba, uint32_t n, uint32_t gen)
{
	SIM_ASSERT(n > 0 && lba + n <= d->tracked);
	for (uint32_t i = 0; i < n; i++)
		d->gen[lba + i] = gen;
	if (d->written_hi == 0 || lba < d->written_lo)
		d->written_lo = lba;
	if (lba + n > d->written_hi)
		d->written_hi = lba + n;
}

/* The map of a medium first seen now; false if it cannot be the one the
 * map describes (another block size). */
static bool map_open(struct ug_dev *d, uint64_t blocks, uint32_t bs)
{
	uint64_t want = blocks < UG_TRACK_MAX ? blocks : UG_TRACK_MAX;

	if (d->gen)
		return d->block_size == bs && blocks >= d->tracked;
	d->block_size = bs;
	d->tracked = want;
	d->gen = sim_xcalloc(want ? want : 1, sizeof(*d->gen));
	return true;
}

void ug_storage_free(struct ug_dev *d)
{
	free(d->gen);
	d->gen = NULL;
}

void ug_storage_written_blocks(struct ug_dev *d, unsigned device,
			       ug_block_fn *fn, void *arg)
{
	uint32_t bs = d->block_size;
	uint8_t *want;

	if (!d->gen || bs == 0)
		return;
	want = sim_xmalloc((size_t)UG_AUDIT_RUN * bs);
	SIM_ASSERT(d->written_hi <= d->tracked);
	for (uint64_t b = d->written_lo; b < d->written_hi;) {
		uint32_t n = 0;

		while (b + n < d->written_hi && n < UG_AUDIT_RUN &&
		       d->gen[b + n] != 0 && d->gen[b + n] != UG_GEN_UNKNOWN) {
			fill_block(want + (size_t)n * bs, bs, device, b + n,
				   d->gen[b + n]);
			n++;
		}
		if (n)
			fn(arg, b, n, bs, want);
		b += n ? n : 1;
	}
	free(want);
}

/* ---- Bulk-Only Transport
 * ------------------------------------------------------ */

static struct st_bind *bind_of(struct ug_port *p)
{
	SIM_ASSERT(p->cls == &ug_storage_class && p->cls_state);
	return p->cls_state;
}

static void bot_cbw_done(struct usb_guest *g, struct ug_port *p,
			 struct ug_urb *u, const struct fut_usb_result *res);
static void bot_data_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res);
static void bot_csw_done(struct usb_guest *g, struct ug_port *p,
			 struct ug_urb *u, const struct fut_usb_result *res);
static void bot_ctrl_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res);

/* A command through CBW, data and CSW; bot_end follows. */
static void bot_start(struct usb_guest *g, struct ug_port *p, struct st_bind *s,
		      const uint8_t *cdb, uint8_t cdb_len, bool in,
		      uint32_t len)
{
	uint8_t cbw[SIM_USB_MSC_CBW_LEN] = {0};

	SIM_ASSERT(cdb_len <= 16 && len <= s->data_cap);
	memcpy(s->cdb, cdb, cdb_len);
	s->cdb_len = cdb_len;
	s->data_in = in;
	s->len = len;
	s->done = 0;
	s->phase = BOT_CBW;
	put_le32(cbw, SIM_USB_MSC_CBW_SIGNATURE);
	put_le32(cbw + 4, ++s->tag);
	put_le32(cbw + 8, len);
	cbw[12] = in ? SIM_USB_MSC_CBW_DIR_IN : 0;
	cbw[14] = cdb_len;
	memcpy(cbw + 15, cdb, cdb_len);
	ug_transfer(g, p, &s->out, cbw, sizeof(cbw), bot_cbw_done, 0);
}

static void clear_halt(struct usb_guest *g, struct ug_port *p, uint8_t ep)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (d)
		d->st.clear_halts++;
	ug_control(g, p, SIM_USB_RECIP_ENDPOINT, SIM_USB_REQ_CLEAR_FEATURE,
		   SIM_USB_FEATURE_ENDPOINT_HALT, ep, NULL, 0, bot_ctrl_done,
		   0);
}

/* BOT 5.3.4: Bulk-Only Mass Storage Reset, then both halts cleared. */
static void bot_recover(struct usb_guest *g, struct ug_port *p,
			struct st_bind *s)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (d)
		d->st.reset_recoveries++;
	s->phase = BOT_RESET;
	ug_control(g, p, SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE,
		   SIM_USB_MSC_REQ_RESET, 0, s->iface, NULL, 0, bot_ctrl_done,
		   0);
}

static void count_stall(struct usb_guest *g, struct ug_port *p, int status)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (d && status == -32)
		d->st.stalls++;
}

/* A transfer failed: recover what can be, give up on the rest. */
static void bot_failed(struct usb_guest *g, struct ug_port *p,
		       struct st_bind *s, const struct ug_urb *u, int status)
{
	if (ug_status_recoverable(u, status))
		bot_recover(g, p, s);
	else
		bot_end(g, p, s, BOT_DEAD, 0);
}

static void bot_data(struct usb_guest *g, struct ug_port *p, struct st_bind *s)
{
	uint32_t chunk =
	    s->len - s->done < ST_URB_MAX ? s->len - s->done : ST_URB_MAX;

	s->phase = BOT_DATA;
	ug_transfer(g, p, s->data_in ? &s->in : &s->out,
		    s->data_in ? NULL : s->data + s->done, chunk, bot_data_done,
		    chunk);
}

static void bot_csw(struct usb_guest *g, struct ug_port *p, struct st_bind *s)
{
	if (s->phase != BOT_CLEAR_CSW)
		s->phase = BOT_CSW;
	else
		s->phase = BOT_CSW_AGAIN;
	ug_transfer(g, p, &s->in, NULL, SIM_USB_MSC_CSW_LEN, bot_csw_done, 0);
}

static void bot_cbw_done(struct usb_guest *g, struct ug_port *p,
			 struct ug_urb *u, const struct fut_usb_result *res)
{
	struct st_bind *s = bind_of(p);

	count_stall(g, p, res->status);
	if (res->status) {
		bot_failed(g, p, s, u, res->status);
		return;
	}
	if (s->len)
		bot_data(g, p, s);
	else
		bot_csw(g, p, s);
}

static void bot_data_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	struct st_bind *s = bind_of(p);
	uint32_t chunk = (uint32_t)u->arg;

	count_stall(g, p, res->status);
	if (res->status == -32) { /* the device had less: BOT 6.7.2 */
		s->phase = BOT_CLEAR_DATA;
		clear_halt(g, p, s->data_in ? s->in.addr : s->out.addr);
		return;
	}
	if (res->status) {
		bot_failed(g, p, s, u, res->status);
		return;
	}
	if (s->data_in)
		memcpy(s->data + s->done, u->buf, res->actual);
	s->done += res->actual;
	if (s->done < s->len && res->actual == chunk)
		bot_data(g, p, s);
	else
		bot_csw(g, p, s);
}

static void bot_csw_done(struct usb_guest *g, struct ug_port *p,
			 struct ug_urb *u, const struct fut_usb_result *res)
{
	struct st_bind *s = bind_of(p);
	const uint8_t *c = u->buf;

	count_stall(g, p, res->status);
	if (res->status == -32 && s->phase == BOT_CSW) {
		s->phase = BOT_CLEAR_CSW;
		clear_halt(g, p, s->in.addr);
		return;
	}
	if (res->status) {
		bot_failed(g, p, s, u, res->status);
		return;
	}
	/* BOT 6.3: a CSW that is not valid and meaningful, or a phase
	 * error, is answered with the reset recovery. */
	if (res->actual != SIM_USB_MSC_CSW_LEN ||
	    get_le32(c) != SIM_USB_MSC_CSW_SIGNATURE ||
	    get_le32(c + 4) != s->tag || c[12] > SIM_USB_MSC_STATUS_FAILED) {
		bot_recover(g, p, s);
		return;
	}
	bot_end(g, p, s,
		c[12] == SIM_USB_MSC_STATUS_PASSED ? BOT_PASSED : BOT_FAILED,
		get_le32(c + 8));
}

/* CLEAR_HALT and the reset recovery's requests. */
static void bot_ctrl_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	struct st_bind *s = bind_of(p);
	bool recovering = s->phase >= BOT_RESET;

	if (res->status) {
		/* Recovery that fails leaves nothing to try (Linux would
		 * reset the port; this guest gives the device up). */
		if (recovering || !ug_status_recoverable(u, res->status))
			bot_end(g, p, s, BOT_DEAD, 0);
		else
			bot_recover(g, p, s);
		return;
	}
	switch (s->phase) {
	case BOT_CLEAR_DATA:
	case BOT_CLEAR_CSW:
		bot_csw(g, p, s);
		return;
	case BOT_RESET:
		s->phase = BOT_RESET_CLEAR_IN;
		clear_halt(g, p, s->in.addr);
		return;
	case BOT_RESET_CLEAR_IN:
		s->phase = BOT_RESET_CLEAR_OUT;
		clear_halt(g, p, s->out.addr);
		return;
	case BOT_RESET_CLEAR_OUT:
		bot_end(g, p, s, BOT_TRANSPORT, 0);
		return;
	default:
		SIM_ASSERT(0); /* no other phase sends a control request */
	}
}

/* ---- the workload
 * -------------------------------------------------------------- */

static bool pattern_writes(struct usb_guest *g, enum simcfg_pattern pat,
			   uint64_t i)
{
	switch (pat) {
	case SIMCFG_SEQWRITE:
	case SIMCFG_RANDWRITE:
		return true;
	case SIMCFG_SEQREAD:
	case SIMCFG_RANDREAD:
		return false;
	case SIMCFG_RANDRW:
		return sim_rng_below(sim_rng(g->sim), 2) == 0;
	default: /* seqrw: write a range, then read it back */
		return i % 2 == 0;
	}
}

static uint64_t pattern_slot(struct usb_guest *g, enum simcfg_pattern pat,
			     uint64_t i, uint64_t slots)
{
	switch (pat) {
	case SIMCFG_RANDRW:
	case SIMCFG_RANDREAD:
	case SIMCFG_RANDWRITE:
		return sim_rng_below(sim_rng(g->sim), slots);
	case SIMCFG_SEQREAD:
	case SIMCFG_SEQWRITE:
		return i % slots;
	default:
		return i / 2 % slots;
	}
}

/* The command of the current op, first time or again. */
static void io_send(struct usb_guest *g, struct ug_port *p, struct st_bind *s)
{
	uint32_t lba = (uint32_t)s->op_lba, n = s->op_blocks;
	uint8_t cdb[10] = {s->op_write ? 0x2a : 0x28,
			   0,
			   (uint8_t)(lba >> 24),
			   (uint8_t)(lba >> 16),
			   (uint8_t)(lba >> 8),
			   (uint8_t)lba,
			   0,
			   (uint8_t)(n >> 8),
			   (uint8_t)n,
			   0};
	struct ug_dev *d = ug_port_dev(g, p);

	memset(s->sense, 0, sizeof(s->sense));
	if (s->op_write) {
		for (uint32_t i = 0; i < n; i++)
			fill_block(s->data + (size_t)i * s->bs, s->bs,
				   (unsigned)s->device, s->op_lba + i,
				   s->op_gen);
		/* Unknown until its CSW says passed. */
		map_mark(d, s->op_lba, n, UG_GEN_UNKNOWN);
	}
	bot_start(g, p, s, cdb, 10, !s->op_write, n * s->bs);
}

static void io_next(struct usb_guest *g, struct ug_port *p, struct st_bind *s)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ug_dev *d = ug_port_dev(g, p);
	uint64_t i = ug_ops_done(p), slots = d->tracked / s->op_blocks;

	if (i >= c->ops) {
		ug_bind_finished(g, p);
		return;
	}
	if (!ug_may_continue(g, p) || slots == 0) {
		ug_bind_stopped(g, p);
		return;
	}
	s->op_write = pattern_writes(g, c->pattern, i);
	s->op_lba = pattern_slot(g, c->pattern, i, slots) * s->op_blocks;
	s->op_retries = 0;
	if (s->op_write) {
		s->op_gen = ++g->next_gen;
		if (s->op_gen == UG_GEN_UNKNOWN || s->op_gen == 0)
			s->op_gen = g->next_gen = 1;
	}
	ug_op_begin(g, p);
	s->op_active = true;
	io_send(g, p, s);
}

static void verify_read(struct usb_guest *g, struct ug_port *p,
			struct st_bind *s)
{
	struct ug_dev *d = ug_port_dev(g, p);
	uint8_t *want = sim_xmalloc(s->bs);

	for (uint32_t i = 0; i < s->op_blocks; i++) {
		uint32_t gen = d->gen[s->op_lba + i];

		if (gen == 0 || gen == UG_GEN_UNKNOWN)
			continue;
		fill_block(want, s->bs, (unsigned)s->device, s->op_lba + i,
			   gen);
		if (memcmp(want, s->data + (size_t)i * s->bs, s->bs) != 0)
			sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
				      "usb storage device %d block %llu read "
				      "back differs from write generation %u",
				      s->device,
				      (unsigned long long)(s->op_lba + i), gen);
		else
			d->st.verified_bytes += s->bs;
	}
	free(want);
}

static void io_done(struct usb_guest *g, struct ug_port *p, struct st_bind *s,
		    enum bot_result r, uint32_t residue)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ug_dev *d = ug_port_dev(g, p);
	bool ok = r == BOT_PASSED && residue == 0 && s->done == s->len;
	bool ua = r == BOT_FAILED && (s->sense[2] & 0x0f) == 0x06;
	bool offline = r == BOT_TRANSPORT &&
		       ++s->transport_errors >= ST_OFFLINE_AFTER;

	if (!ok && !offline && (ua || r == BOT_TRANSPORT) &&
	    s->op_retries < ST_IO_RETRIES && ug_may_continue(g, p)) {
		s->op_retries++;
		d->st.retried++;
		io_send(g, p, s);
		return;
	}
	if (ok && s->op_write)
		map_mark(d, s->op_lba, s->op_blocks, s->op_gen);
	if (ok && !s->op_write && c->verify)
		verify_read(g, p, s);
	s->op_active = false;
	ug_op_end(g, p, ok, ok ? s->len : 0);
	if (r == BOT_DEAD || offline)
		ug_bind_stopped(g, p);
	else
		io_next(g, p, s);
}

/* ---- the scan
 * --------------------------------------------------------------------- */

static bool block_size_sane(uint32_t bs)
{
	return bs >= 512 && bs <= 65536 && (bs & (bs - 1)) == 0;
}

/* READ CAPACITY(10) read: the workload's geometry, checked. */
static bool capacity_take(struct usb_guest *g, struct ug_port *p,
			  struct st_bind *s)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ug_dev *d = ug_port_dev(g, p);
	uint32_t need;

	if (s->done != 8)
		return false;
	s->blocks = (uint64_t)get_be32(s->data) + 1;
	s->bs = get_be32(s->data + 4);
	if (!block_size_sane(s->bs) || c->block == 0 || c->block % s->bs ||
	    c->block / s->bs > UINT16_MAX || c->block > SIM_USB_MSC_MAX_XFER)
		return false;
	if (!map_open(d, s->blocks, s->bs))
		return false;
	s->op_blocks = c->block / s->bs;
	need = c->block;
	if (need > s->data_cap) {
		free(s->data);
		s->data = sim_xmalloc(need);
		s->data_cap = need;
	}
	return true;
}

static void scan_retry(struct usb_guest *g, struct ug_port *p,
		       struct st_bind *s)
{
	if (++s->tries > ST_SCAN_TRIES || !ug_may_continue(g, p))
		ug_bind_stopped(g, p);
	else
		step_run(g, p, s);
}

static void scan_done(struct usb_guest *g, struct ug_port *p, struct st_bind *s,
		      enum bot_result r)
{
	if (r == BOT_DEAD) {
		ug_bind_stopped(g, p);
		return;
	}
	if (r != BOT_PASSED) {
		scan_retry(g, p, s);
		return;
	}
	switch (s->step) {
	case S_TUR:
		s->step = S_INQUIRY;
		break;
	case S_INQUIRY:
		if (s->done < 5) {
			scan_retry(g, p, s);
			return;
		}
		s->step = S_CAPACITY;
		break;
	case S_CAPACITY:
		if (!capacity_take(g, p, s)) {
			ug_bind_stopped(g, p);
			return;
		}
		s->step = S_IO;
		io_next(g, p, s);
		return;
	default:
		SIM_ASSERT(0);
	}
	s->tries = 0;
	step_run(g, p, s);
}

static void request_sense(struct usb_guest *g, struct ug_port *p,
			  struct st_bind *s, enum bot_result r)
{
	static const uint8_t cdb[6] = {0x03, 0, 0, 0, ST_SENSE_LEN, 0};

	s->sensing = true;
	s->sensed_for = r;
	memset(s->sense, 0, sizeof(s->sense));
	bot_start(g, p, s, cdb, 6, true, ST_SENSE_LEN);
}

/* Every command ends here: REQUEST SENSE after a failed one (as the
 * SCSI midlayer's auto-sense), then the step it belongs to. */
static void bot_end(struct usb_guest *g, struct ug_port *p, struct st_bind *s,
		    enum bot_result r, uint32_t residue)
{
	if (s->sensing) {
		s->sensing = false;
		if (r == BOT_DEAD)
			s->sensed_for = BOT_DEAD;
		else if (r == BOT_PASSED && s->done >= 3)
			memcpy(s->sense, s->data, ST_SENSE_LEN);
		r = s->sensed_for;
		residue = 0;
		s->done = 0;
	} else if (r == BOT_FAILED && ug_may_continue(g, p)) {
		request_sense(g, p, s, r);
		return;
	}
	if (s->step == S_IO)
		io_done(g, p, s, r, residue);
	else
		scan_done(g, p, s, r);
}

static void maxlun_done(struct usb_guest *g, struct ug_port *p,
			struct ug_urb *u, const struct fut_usb_result *res)
{
	struct st_bind *s = bind_of(p);

	(void)u;
	/* BOT 3.2: a device with one LUN may STALL Get Max LUN. */
	if ((res->status && res->status != -32) || !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	s->step = S_TUR;
	step_run(g, p, s);
}

static void step_run(struct usb_guest *g, struct ug_port *p, struct st_bind *s)
{
	static const uint8_t tur[6] = {0x00};
	static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 36, 0};
	static const uint8_t capacity[10] = {0x25};

	memset(s->sense, 0, sizeof(s->sense));
	switch (s->step) {
	case S_MAXLUN:
		ug_control(g, p,
			   SIM_USB_DIR_IN | SIM_USB_TYPE_CLASS |
			       SIM_USB_RECIP_INTERFACE,
			   SIM_USB_MSC_REQ_GET_MAX_LUN, 0, s->iface, NULL, 1,
			   maxlun_done, 0);
		return;
	case S_TUR:
		bot_start(g, p, s, tur, 6, false, 0);
		return;
	case S_INQUIRY:
		bot_start(g, p, s, inquiry, 6, true, 36);
		return;
	case S_CAPACITY:
		bot_start(g, p, s, capacity, 10, true, 8);
		return;
	case S_IO:
		SIM_ASSERT(0); /* io_next drives the workload */
	}
}

static void storage_start(struct usb_guest *g, struct ug_port *p)
{
	struct st_bind *s = sim_xcalloc(1, sizeof(*s));
	int iface = ug_find_iface(p, 8, -1);

	p->cls_state = s;
	s->device = p->info.device;
	s->data_cap = 64;
	s->data = sim_xmalloc(s->data_cap);
	if (iface < 0 ||
	    !ug_find_ep(p, (uint8_t)iface, 0, SIM_USB_EP_BULK, true, &s->in) ||
	    !ug_find_ep(p, (uint8_t)iface, 0, SIM_USB_EP_BULK, false,
			&s->out) ||
	    !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	s->iface = (uint8_t)iface;
	s->step = S_MAXLUN;
	step_run(g, p, s);
}

static void storage_stop(struct usb_guest *g, struct ug_port *p)
{
	struct st_bind *s = bind_of(p);

	if (s->op_active) /* cut short: it failed */
		ug_op_end(g, p, false, 0);
	free(s->data);
	free(s);
	p->cls_state = NULL;
}

const struct ug_class ug_storage_class = {
    .name = "usb-storage",
    .start = storage_start,
    .stop = storage_stop,
};
