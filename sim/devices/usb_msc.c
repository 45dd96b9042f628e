/*
 * USB mass storage, Bulk-Only Transport (usb_msc.h), as a class of the
 * USB device core: the descriptors, the two class requests, and the
 * CBW / data / CSW state machine on the bulk endpoints in front of a
 * SCSI unit.
 *
 * Everything on the bulk pipes and in setup packets is the host's and
 * hostile: a CBW's lengths are checked before they size anything, and
 * every mistake ends in a STALL or a phase error, never an assertion.
 * The 13 cases are decided once, when the CBW arrives (msc_decide); the
 * data stage then only counts bytes. To teach the device what another
 * command intends, extend block_count (or add a decoder next to it).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_class.h"
#include "sim/devices/usb_msc.h"

#define MSC_MAGIC	0x4d534331u /* "MSC1" */
#define MSC_EP_IN_ADDR	(SIM_USB_DIR_IN | SIM_USB_MSC_EP_IN)
#define MSC_EP_OUT_ADDR SIM_USB_MSC_EP_OUT
#define MSC_CONFIG_LEN	(9 + 9 + 7 + 7)
#define MSC_CB_MAX	16

enum msc_phase {
	PHASE_CBW,	/* a CBW is due on bulk OUT */
	PHASE_DATA_OUT, /* the data stage, host to device */
	PHASE_DATA_IN,	/* the data stage, device to host */
	PHASE_CSW,	/* the CSW is due on bulk IN */
};

struct msc {
	uint32_t magic;
	struct sim_scsi_target *t; /* the caller's */
	enum msc_phase phase;
	/* A CBW was not valid or not meaningful: both bulk endpoints stall
	 * whatever CLEAR_FEATURE says, until Bulk-Only Mass Storage Reset. */
	bool need_reset;
	/* The command in progress, from its CBW. */
	uint32_t tag;
	uint32_t host_len; /* dCBWDataTransferLength */
	enum sim_scsi_dir host_dir;
	uint8_t cb[MSC_CB_MAX];
	uint8_t cb_len;
	bool phase_error; /* decided at the CBW: the command does not run */
	bool executed;	  /* data-in: the command has run */
	uint32_t keep;	  /* most data bytes the command moves */
	uint32_t moved;	  /* data-stage bytes so far */
	uint32_t avail;	  /* data-in: what the command returned */
	/* The CSW, once the command is over. */
	uint8_t status;
	uint32_t residue;
	uint8_t *buf; /* the data stage, buf_size >= keep */
	uint32_t buf_size;
	struct sim_usb_msc_stats st;
};

static const char *const msc_strings[] = {"xpv", "xpv mass storage",
					  "5850564D5343"};

static struct msc *msc_of(const struct sim_usb_device *d)
{
	struct msc *m = sim_usb_device_class_priv(d);

	SIM_ASSERT(m && m->magic == MSC_MAGIC);
	return m;
}

static uint32_t get_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* ---- what the device intends (BOT 6.7: Dn, Di, Do) ---- */

/*
 * READ and WRITE state their data in the CDB: a block count. False for
 * any other opcode, and for a CB too short for its opcode (the unit
 * rejects that itself). READ(6) and WRITE(6) count 0 as 256 (SBC).
 */
static bool block_count(const uint8_t *cb, uint8_t cb_len, uint64_t *n,
			bool *write)
{
	*write = false;
	switch (cb[0]) {
	case 0x0a: /* WRITE(6) */
		*write = true;
		/* fall through */
	case 0x08: /* READ(6) */
		*n = cb[4] ? cb[4] : 256;
		return cb_len >= 6;
	case 0x2a: /* WRITE(10) */
		*write = true;
		/* fall through */
	case 0x28: /* READ(10) */
		*n = get_be(cb + 7, 2);
		return cb_len >= 10;
	case 0xaa: /* WRITE(12) */
		*write = true;
		/* fall through */
	case 0xa8: /* READ(12) */
		*n = get_be(cb + 6, 4);
		return cb_len >= 12;
	case 0x8a: /* WRITE(16) */
		*write = true;
		/* fall through */
	case 0x88: /* READ(16) */
		*n = get_be(cb + 10, 4);
		return cb_len >= 16;
	}
	return false;
}

/* A command the device cannot size takes the host's word for its
 * direction and length: the unit bounds data-in by its allocation
 * length and refuses a direction that is wrong for the opcode. */
static void intent(const struct msc *m, enum sim_scsi_dir *dir, uint64_t *len)
{
	uint64_t n;
	bool write;

	if (!block_count(m->cb, m->cb_len, &n, &write)) {
		*dir = m->host_dir;
		*len = m->host_len;
		return;
	}
	*len = n * sim_scsi_target_block_size(m->t);
	*dir = !n      ? SIM_SCSI_DIR_NONE
	       : write ? SIM_SCSI_DIR_TO_DEVICE
		       : SIM_SCSI_DIR_FROM_DEVICE;
}

/* The 13 cases, from the host's expectation (the CBW) and the intent. */
static void msc_decide(struct msc *m)
{
	enum sim_scsi_dir dir;
	uint64_t len;

	intent(m, &dir, &len);
	if (dir != SIM_SCSI_DIR_NONE && dir != m->host_dir)
		m->phase_error = true; /* cases 2, 3, 8, 10 */
	else if (len > m->host_len)
		m->phase_error = true; /* cases 7, 13 */
	else if (len > SIM_USB_MSC_MAX_XFER)
		m->phase_error = true; /* more than the device can hold */
	if (m->phase_error || dir == SIM_SCSI_DIR_NONE)
		return;
	m->keep = (uint32_t)len;
	if (m->keep > m->buf_size) {
		free(m->buf);
		m->buf = sim_xmalloc(m->keep);
		m->buf_size = m->keep;
	}
}

/* ---- phases ---- */

static void msc_csw_due(struct msc *m, uint8_t status, uint32_t residue)
{
	m->phase = PHASE_CSW;
	m->status = status;
	m->residue = residue;
	if (status == SIM_USB_MSC_STATUS_FAILED)
		m->st.failed++;
	else if (status == SIM_USB_MSC_STATUS_PHASE)
		m->st.phase_errors++;
}

static void msc_phase_error(struct msc *m)
{
	msc_csw_due(m, SIM_USB_MSC_STATUS_PHASE, m->host_len);
}

/* Run the command on the first keep bytes of buf; returns what the unit
 * moved, and the CSW status it earned. */
static uint32_t msc_exec(struct msc *m, enum sim_scsi_dir dir, uint8_t *status)
{
	struct sim_scsi_cmd cmd = {
	    .cdb = m->cb,
	    .cdb_len = m->cb_len,
	    .dir = m->keep ? dir : SIM_SCSI_DIR_NONE,
	    .data = m->keep ? m->buf : NULL,
	    .data_len = m->keep,
	};
	struct sim_scsi_result res;

	sim_scsi_target_exec(m->t, &cmd, &res);
	SIM_ASSERT(res.transferred <= m->keep);
	*status = res.status == SIM_SCSI_GOOD ? SIM_USB_MSC_STATUS_PASSED
					      : SIM_USB_MSC_STATUS_FAILED;
	return res.transferred;
}

/* Halt ep as the answer to this attempt. */
static enum sim_usb_status msc_stall(struct sim_usb_device *d, uint8_t ep,
				     bool in)
{
	sim_usb_device_halt(d, ep, in);
	return SIM_USB_STALL;
}

/* BOT 6.2.1 (valid) and 6.2.2 (meaningful); the caller has checked the
 * length. Reserved bits must be 0: flags 0-6, LUN 4-7, CB length 5-7. */
static bool cbw_ok(const uint8_t *c)
{
	return usb_get_le32(c) == SIM_USB_MSC_CBW_SIGNATURE &&
	       !(c[12] & 0x7f) && c[13] == 0 && c[14] >= 1 &&
	       c[14] <= MSC_CB_MAX;
}

/* What the host expects: nothing when dCBWDataTransferLength is 0,
 * whatever the direction bit says (BOT 5.1). */
static enum sim_scsi_dir cbw_dir(const uint8_t *c)
{
	if (!usb_get_le32(c + 8))
		return SIM_SCSI_DIR_NONE;
	if (c[12] & SIM_USB_MSC_CBW_DIR_IN)
		return SIM_SCSI_DIR_FROM_DEVICE;
	return SIM_SCSI_DIR_TO_DEVICE;
}

/* BOT 6.6.1: stall both pipes until Reset Recovery. The CBW transaction
 * itself went through; the next attempt on either pipe meets the STALL. */
static enum sim_usb_status msc_bad_cbw(struct sim_usb_device *d, struct msc *m)
{
	m->st.invalid_cbws++;
	m->need_reset = true;
	sim_usb_device_halt(d, SIM_USB_MSC_EP_IN, true);
	sim_usb_device_halt(d, SIM_USB_MSC_EP_OUT, false);
	return SIM_USB_OK;
}

static enum sim_usb_status msc_cbw(struct sim_usb_device *d, struct msc *m,
				   const struct sim_usb_xfer *x)
{
	const uint8_t *c = x->data;
	uint8_t status;

	if (x->len != SIM_USB_MSC_CBW_LEN || !cbw_ok(c))
		return msc_bad_cbw(d, m);
	m->st.commands++;
	m->tag = usb_get_le32(c + 4);
	m->host_len = usb_get_le32(c + 8);
	m->host_dir = cbw_dir(c);
	m->cb_len = c[14];
	memset(m->cb, 0, sizeof(m->cb));
	memcpy(m->cb, c + 15, m->cb_len);
	m->phase_error = m->executed = false;
	m->keep = m->moved = m->avail = 0;
	msc_decide(m);
	if (m->host_dir == SIM_SCSI_DIR_FROM_DEVICE) {
		m->phase = PHASE_DATA_IN;
	} else if (m->host_dir == SIM_SCSI_DIR_TO_DEVICE) {
		m->phase = PHASE_DATA_OUT;
	} else if (m->phase_error) {
		msc_phase_error(m); /* cases 2, 3: no data stage to stall */
	} else {
		msc_exec(m, SIM_SCSI_DIR_NONE, &status);
		msc_csw_due(m, status, 0);
	}
	return SIM_USB_OK;
}

/* Bytes past keep are accepted and dropped (cases 9, 11); the command
 * runs when the last one is in. */
static enum sim_usb_status msc_data_out(struct sim_usb_device *d, struct msc *m,
					const struct sim_usb_xfer *x)
{
	uint32_t take = 0, done;
	uint8_t status;

	if (m->phase_error) {
		msc_phase_error(m);
		return msc_stall(d, SIM_USB_MSC_EP_OUT, false);
	}
	/* More than the CBW announced: the host lost count. */
	if (x->len > m->host_len - m->moved) {
		msc_phase_error(m);
		return msc_stall(d, SIM_USB_MSC_EP_OUT, false);
	}
	if (m->moved < m->keep)
		take =
		    x->len < m->keep - m->moved ? x->len : m->keep - m->moved;
	if (take)
		memcpy(m->buf + m->moved, x->data, take);
	m->moved += x->len;
	m->st.bytes_out += x->len;
	if (m->moved == m->host_len) {
		done = msc_exec(m, SIM_SCSI_DIR_TO_DEVICE, &status);
		msc_csw_due(m, status, m->host_len - done);
	}
	return SIM_USB_OK;
}

/* Data-in runs the command at the first attempt. Less than the host
 * expects (cases 4, 5) ends with a halt of bulk IN: after the transfer
 * that carries the last byte, or at once when there is none. */
static enum sim_usb_status msc_data_in(struct sim_usb_device *d, struct msc *m,
				       struct sim_usb_xfer *x)
{
	uint32_t n;

	if (m->phase_error) {
		msc_phase_error(m);
		return msc_stall(d, SIM_USB_MSC_EP_IN, true);
	}
	if (!m->executed) {
		m->avail = msc_exec(m, SIM_SCSI_DIR_FROM_DEVICE, &m->status);
		m->executed = true;
	}
	if (m->avail == 0) {
		msc_csw_due(m, m->status, m->host_len);
		return msc_stall(d, SIM_USB_MSC_EP_IN, true);
	}
	n = m->avail - m->moved;
	if (n > x->len)
		n = x->len;
	if (n)
		memcpy(x->data, m->buf + m->moved, n);
	x->actual = n;
	m->moved += n;
	m->st.bytes_in += n;
	if (m->moved == m->avail) {
		msc_csw_due(m, m->status, m->host_len - m->avail);
		if (m->avail < m->host_len)
			sim_usb_device_halt(d, SIM_USB_MSC_EP_IN, true);
	}
	return SIM_USB_OK;
}

/* BOT 5.2: one 13-byte packet; a smaller buffer overflows. */
static enum sim_usb_status msc_send_csw(struct msc *m, struct sim_usb_xfer *x)
{
	uint8_t *c = x->data;

	if (x->len < SIM_USB_MSC_CSW_LEN)
		return SIM_USB_BABBLE;
	usb_put_le32(c, SIM_USB_MSC_CSW_SIGNATURE);
	usb_put_le32(c + 4, m->tag);
	usb_put_le32(c + 8, m->residue);
	c[12] = m->status;
	x->actual = SIM_USB_MSC_CSW_LEN;
	m->phase = PHASE_CBW;
	return SIM_USB_OK;
}

/* The core passes only bulk IN 1 and bulk OUT 2, not halted. */
static enum sim_usb_status msc_data(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	struct msc *m = msc_of(d);

	SIM_ASSERT(x->type == SIM_USB_EP_BULK &&
		   x->ep == (x->in ? SIM_USB_MSC_EP_IN : SIM_USB_MSC_EP_OUT));
	if (m->need_reset)
		return msc_stall(d, x->ep, x->in);
	switch (m->phase) {
	case PHASE_CBW:
		return x->in ? msc_stall(d, x->ep, true) : msc_cbw(d, m, x);
	case PHASE_DATA_OUT:
		return x->in ? msc_stall(d, x->ep, true)
			     : msc_data_out(d, m, x);
	case PHASE_DATA_IN:
		return x->in ? msc_data_in(d, m, x)
			     : msc_stall(d, x->ep, false);
	case PHASE_CSW:
		return x->in ? msc_send_csw(m, x) : msc_stall(d, x->ep, false);
	}
	SIM_ASSERT(0);
	return SIM_USB_STALL;
}

/* ---- class requests (BOT 3.1, 3.2), interface 0 only ---- */

/* Ready for a CBW; halts stay (BOT 3.1) until CLEAR_FEATURE. */
static void msc_transport_reset(struct msc *m)
{
	m->phase = PHASE_CBW;
	m->need_reset = false;
	m->phase_error = m->executed = false;
	m->keep = m->moved = m->avail = 0;
}

static enum sim_usb_status msc_control(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	struct msc *m = msc_of(d);
	const uint8_t out = SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE;
	const uint8_t in = SIM_USB_DIR_IN | out;

	if (s->bmRequestType == out && s->bRequest == SIM_USB_MSC_REQ_RESET) {
		if (s->wValue || s->wLength)
			return SIM_USB_STALL;
		msc_transport_reset(m);
		m->st.resets++;
		return SIM_USB_OK;
	}
	if (s->bmRequestType == in &&
	    s->bRequest == SIM_USB_MSC_REQ_GET_MAX_LUN) {
		if (s->wValue || s->wLength != 1)
			return SIM_USB_STALL;
		x->data[0] = 0; /* the highest LUN: one LUN */
		x->actual = 1;
		return SIM_USB_OK;
	}
	return SIM_USB_STALL;
}

/* Bus reset, configuration or interface change: the command is gone. */
static void msc_reset(struct sim_usb_device *d)
{
	msc_transport_reset(msc_of(d));
}

static void msc_destroy(struct sim_usb_device *d)
{
	struct msc *m = msc_of(d);

	m->magic = 0;
	free(m->buf);
	free(m);
}

static const struct sim_usb_class msc_class = {
    .name = "msc",
    .control = msc_control,
    .data = msc_data,
    .reset = msc_reset,
    .destroy = msc_destroy,
};

/* ---- construction ---- */

/* Class 0 in the device descriptor: the interface says what it is (BOT
 * 4.1.1 wants the serial number string). One configuration, bus powered
 * (100 mA), one BOT interface; high-speed bulk OUT never NAKs
 * (bInterval 0). */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	uint16_t mps = usb_class_bulk_mps(speed);
	uint8_t *p;

	p = usb_desc_config(c, MSC_CONFIG_LEN, 1, 0x80); /* no remote wakeup */
	/* mass storage, SCSI transparent command set, Bulk-Only Transport */
	p = usb_desc_iface(p, 0, 0, 2, 0x08, 0x06, 0x50);
	p = usb_desc_ep(p, MSC_EP_IN_ADDR, SIM_USB_EP_BULK, mps, 0);
	p = usb_desc_ep(p, MSC_EP_OUT_ADDR, SIM_USB_EP_BULK, mps, 0);
	SIM_ASSERT(p == c + MSC_CONFIG_LEN);
}

int sim_usb_msc_new(enum sim_usb_speed speed, struct sim_scsi_target *t,
		    struct sim_usb_device **out, char *err, size_t errlen)
{
	uint8_t dev[USB_CLASS_DEVICE_LEN], config[MSC_CONFIG_LEN];
	struct msc *m;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	rc = usb_class_need_bulk("msc", "mass storage", speed, err, errlen);
	if (rc)
		return rc;
	if (!t)
		return usb_class_fail(err, errlen, "usb msc: no SCSI unit");
	m = sim_xcalloc(1, sizeof(*m));
	m->magic = MSC_MAGIC;
	m->t = t;
	usb_desc_device(dev, speed, 0, SIM_USB_MSC_VENDOR, SIM_USB_MSC_PRODUCT);
	build_config(speed, config);
	rc = usb_class_device_new(dev, config, msc_strings, 3, speed,
				  &msc_class, m, out, err, errlen);
	if (rc)
		free(m);
	return rc;
}

void sim_usb_msc_stats(const struct sim_usb_device *d,
		       struct sim_usb_msc_stats *st)
{
	*st = msc_of(d)->st;
}
