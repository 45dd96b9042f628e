/*
 * PVUSB end to end, the first slice: the reference frontend core
 * (drivers/usbfront) against the qusb model (sim/backends/usbback) and
 * simulated devices (sim/devices: a HID keyboard, a mass-storage stick on
 * an image file, a CDC-ACM adapter), reached through the
 * frontend-under-test interface (sim/fut), with the test playing the
 * guest's USB core and class drivers: hub polling, port reset, enumeration (GET_DESCRIPTOR at address
 * 0, SET_ADDRESS, descriptors, SET_CONFIGURATION), an interrupt-IN reader
 * and a Bulk-Only Transport initiator. The toolstack plugs and unplugs by writing the
 * backend's port/1 node, as `xl usbdev-attach` does. Every checker audits
 * the guest at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim/backends/usbback.h"
#include "sim/check/check.h"
#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_msc.h"
#include "tmpdir.h"
#include "sim/xenstore/xenstore.h"
#include "sim/fut/fut.h"

#define GUEST 1
#define FE "/local/domain/1/device/vusb/0"
#define BE "/local/domain/0/backend/qusb/1/0"
#define BUSID "3-1.5"
#define MS 1000000ull
#define ADDR 5

/* An URB as the test builds it, with its result. */
struct turb {
	uint8_t port, devaddr, ep;
	bool in;
	enum fut_usb_xfer type;
	uint16_t flags;
	uint8_t setup[8];
	uint16_t interval;
	void *buf;
	uint32_t len;
	/* set at giveback */
	int status;
	uint32_t actual;
	/* the harness' bookkeeping */
	uint64_t tag;
	bool back;
	struct turb *next;
};

struct pv {
	struct sim *sim;
	struct usbback *ub;
	struct usbback_config bc;
	struct sim_usb_device *usbdev; /* what BUSID names */
	struct fut *fut;
	struct turb *out; /* submitted, not back */
	uint64_t next_tag;
	unsigned done, port_changes, connected;
};

/* ---- the guest's side, through the frontend-under-test interface ----------- */

static void cb_giveback(void *arg, uint64_t tag,
			const struct fut_usb_result *res)
{
	struct pv *p = arg;
	struct turb **pp = &p->out;

	while (*pp && (*pp)->tag != tag)
		pp = &(*pp)->next;
	ck_assert_msg(*pp != NULL, "giveback of unknown tag %llu",
		      (unsigned long long)tag);
	(*pp)->status = res->status;
	(*pp)->actual = res->actual;
	(*pp)->back = true;
	*pp = (*pp)->next;
	p->done++;
}

static void cb_port_changed(void *arg, uint8_t port)
{
	(void)port;
	((struct pv *)arg)->port_changes++;
}

static void cb_connected(void *arg)
{
	((struct pv *)arg)->connected++;
}

static int submit(struct pv *p, struct turb *t)
{
	struct fut_usb_urb u = {
		.tag = ++p->next_tag, .port = t->port, .devaddr = t->devaddr,
		.ep = t->ep, .in = t->in, .type = t->type, .flags = t->flags,
		.interval = t->interval, .data = t->buf, .len = t->len,
	};
	int err;

	memcpy(u.setup, t->setup, sizeof(u.setup));
	t->tag = u.tag;
	t->back = false;
	t->next = p->out;
	p->out = t;
	err = fut_usb_submit(p->fut, &u);
	if (err)
		p->out = t->next;
	return err;
}

static bool in_error(struct pv *p)
{
	struct fut_stats st;

	fut_stats(p->fut, &st);
	return st.error;
}

static unsigned in_flight(struct pv *p)
{
	unsigned n = 0;

	for (struct turb *t = p->out; t; t = t->next)
		n++;
	return n;
}

/* Runs until the URB comes back (bounded: 10 simulated seconds). */
static int wait_urb(struct pv *p, unsigned before)
{
	uint64_t end = sim_now(p->sim) + 10000 * MS;

	while (p->done == before && sim_now(p->sim) < end)
		sim_run_until(p->sim, sim_now(p->sim) + MS);
	ck_assert_uint_eq(p->done, before + 1);
	return 0;
}

static int ctrl(struct pv *p, uint8_t addr, uint8_t type, uint8_t req,
		uint16_t value, uint16_t index, void *buf, uint16_t len,
		uint32_t *actual)
{
	struct turb u;
	unsigned before = p->done;

	memset(&u, 0, sizeof(u));
	u.port = 1;
	u.devaddr = addr;
	u.type = FUT_USB_CTRL;
	u.in = (type & 0x80) != 0;
	u.setup[0] = type;
	u.setup[1] = req;
	u.setup[2] = (uint8_t)value;
	u.setup[3] = (uint8_t)(value >> 8);
	u.setup[4] = (uint8_t)index;
	u.setup[5] = (uint8_t)(index >> 8);
	u.setup[6] = (uint8_t)len;
	u.setup[7] = (uint8_t)(len >> 8);
	u.buf = buf;
	u.len = len;
	ck_assert_int_eq(submit(p, &u), 0);
	wait_urb(p, before);
	if (actual)
		*actual = u.actual;
	return u.status;
}

/* The hub driver's part: see the connection, reset the port. */
static void port_reset(struct pv *p)
{
	uint16_t st, ch;

	ck_assert_int_eq(fut_usb_port_status(p->fut, 1, &st, &ch), 0);
	ck_assert(st & FUT_USB_PORT_CONNECTION);
	ck_assert(ch & FUT_USB_C_CONNECTION);
	fut_usb_port_feature(p->fut, 1, FUT_USB_FEAT_C_CONNECTION, false);
	fut_usb_port_feature(p->fut, 1, FUT_USB_FEAT_RESET, true);
	sim_run_until(p->sim, sim_now(p->sim) + 20 * MS);
	fut_usb_port_status(p->fut, 1, &st, &ch);
	ck_assert(st & FUT_USB_PORT_ENABLE);
	ck_assert(ch & FUT_USB_C_RESET);
	fut_usb_port_feature(p->fut, 1, FUT_USB_FEAT_C_RESET, false);
}

/* usb_new_device's sequence, as Linux's hub driver runs it; the first
 * interface must be of class iclass. */
static void enumerate(struct pv *p, uint8_t iclass)
{
	uint8_t dev[18], cfg[256];
	uint32_t n;

	ck_assert_int_eq(ctrl(p, 0, 0x80, 6, 0x0100, 0, dev, 8, &n), 0);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(dev[1], 1); /* DEVICE */
	ck_assert_int_eq(ctrl(p, 0, 0x00, 5, ADDR, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(ctrl(p, ADDR, 0x80, 6, 0x0100, 0, dev, 18, &n), 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(dev[0], 18);
	ck_assert_int_eq(ctrl(p, ADDR, 0x80, 6, 0x0200, 0, cfg, 9, &n), 0);
	ck_assert_uint_eq(cfg[1], 2); /* CONFIGURATION */
	uint16_t total = (uint16_t)(cfg[2] | cfg[3] << 8);
	ck_assert_uint_le(total, sizeof(cfg));
	ck_assert_int_eq(ctrl(p, ADDR, 0x80, 6, 0x0200, 0, cfg, total, &n),
			 0);
	ck_assert_uint_eq(n, total);
	ck_assert_uint_eq(cfg[9 + 5], iclass);
	ck_assert_int_eq(ctrl(p, ADDR, 0x00, 9, cfg[5], 0, NULL, 0, NULL), 0);
}

static void xs_put(struct pv *p, const char *dir, const char *key,
		   const char *val);

/* The toolstack plugs BUSID into port 1 (xl usbdev-attach); the hub
 * driver resets the port and enumerates; the first interface must be of
 * class iclass. */
static void plug(struct pv *p, uint8_t iclass)
{
	xs_put(p, BE, "port/1", BUSID);
	sim_run_until(p->sim, sim_now(p->sim) + 10 * MS);
	port_reset(p);
	enumerate(p, iclass);
}

/* An interrupt IN URB for the device at ADDR on port 1. */
static void int_urb(struct turb *u, uint8_t ep, void *buf, uint32_t len,
		    uint16_t interval)
{
	memset(u, 0, sizeof(*u));
	u->port = 1;
	u->devaddr = ADDR;
	u->ep = ep;
	u->in = true;
	u->type = FUT_USB_INT;
	u->interval = interval;
	u->buf = buf;
	u->len = len;
}

/* One 8-byte report from the keyboard's interrupt IN endpoint 1. */
static int read_report(struct pv *p, uint8_t report[8], uint64_t *at)
{
	struct turb u;
	unsigned before = p->done;

	int_urb(&u, 1, report, 8, 10);
	ck_assert_int_eq(submit(p, &u), 0);
	wait_urb(p, before);
	*at = sim_now(p->sim);
	return u.status;
}

/* ---- the toolstack -------------------------------------------------------- */

static void xs_put(struct pv *p, const char *dir, const char *key,
		   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ck_assert_int_eq(sim_xs_write(sim_xs(p->sim), 0, 0, path, val,
				      (unsigned)strlen(val)), 0);
}

/* libxl__device_usbctrl_add_xenstore, version 2, 2 ports. */
static void toolstack_add(struct pv *p)
{
	struct sim_xs *xs = sim_xs(p->sim);
	struct xs_permissions fe_perms[2] = { { GUEST, XS_PERM_NONE },
					      { 0, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE },
					      { GUEST, XS_PERM_READ } };

	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2), 0);
	xs_put(p, FE, "backend", BE);
	xs_put(p, FE, "backend-id", "0");
	xs_put(p, FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2), 0);
	xs_put(p, BE, "frontend", FE);
	xs_put(p, BE, "frontend-id", "1");
	xs_put(p, BE, "online", "1");
	xs_put(p, BE, "state", "1");
	xs_put(p, BE, "type", "qusb");
	xs_put(p, BE, "usb-ver", "2");
	xs_put(p, BE, "num-ports", "2");
	xs_put(p, BE, "port/1", "");
	xs_put(p, BE, "port/2", "");
}

static struct sim_usb_device *lookup(void *arg, const char *busid)
{
	struct pv *p = arg;

	return strcmp(busid, BUSID) == 0 ? p->usbdev : NULL;
}

/* 'a', 'b', 'c' typed 100 ms apart, from 200 ms on. */
static const struct sim_usb_hid_key_event keys[] = {
	{ 200 * MS, 0, 0x04 }, { 300 * MS, 0, 0x05 }, { 400 * MS, 0, 0x06 },
};

/* A connected guest with `dev` behind bus id BUSID, not plugged yet. */
static void pv_start(struct pv *p, struct sim_usb_device *dev)
{
	struct sim_config sc;
	struct sim_domain *d;
	struct usbback_config *bc = &p->bc;

	memset(p, 0, sizeof(*p));
	sim_config_default(&sc, 11);
	p->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(p->sim, 0, "dom0", &d), 0);
	ck_assert_int_eq(sim_domain_create(p->sim, GUEST, "guest", &d), 0);
	p->usbdev = dev;
	toolstack_add(p);
	usbback_config_default(bc);
	bc->sim = p->sim;
	bc->self = 0;
	bc->frontend = GUEST;
	bc->path = BE;
	bc->frontend_path = FE;
	bc->lookup = lookup;
	bc->lookup_arg = p;
	ck_assert_int_eq(usbback_create(bc, &p->ub), 0);
	const struct fut_env env = { .sim = p->sim, .guest = GUEST,
				     .backend = 0, .frontend_path = FE,
				     .backend_path = BE,
				     .log = getenv("PVUSB_LOG") ? stderr : NULL,
				     .log_level = 3 };
	const struct fut_callbacks cb = { .connected = cb_connected,
					  .usb_giveback = cb_giveback,
					  .usb_port_changed = cb_port_changed,
					  .arg = p };

	ck_assert_int_eq(fut_create(fut_find("xpv-usbfront"), &env, &cb,
				    &p->fut), 0);
	sim_run_until(p->sim, 10 * MS);
	ck_assert_uint_eq(p->connected, 1);
}

static void pv_finish(struct pv *p)
{
	struct usbback_stats st;

	fut_close(p->fut);
	sim_run_until(p->sim, sim_now(p->sim) + 1000 * MS);
	usbback_stats(p->ub, &st);
	ck_assert_int_eq(st.state, 6);
	ck_assert_uint_eq(st.in_flight, 0);
	usbback_destroy(p->ub);
	fut_destroy(p->fut);
	sim_usb_device_free(p->usbdev);
	sim_domain_audit(sim_domain_get(p->sim, GUEST), "teardown");
	sim_check_report(p->sim, stderr);
	ck_assert_uint_eq(sim_violations_total(p->sim), 0);
	sim_destroy(p->sim);
}

static struct sim_usb_device *keyboard(enum sim_usb_speed speed)
{
	struct sim_usb_device *d;
	char err[256];

	ck_assert_int_eq(sim_usb_hid_keyboard_new(speed, keys, 3, &d, err,
						  sizeof(err)), 0);
	return d;
}

/* ---- a Bulk-Only Transport initiator (usb-storage's part) ------------------ */

static void bulk_urb(struct turb *u, uint8_t ep, bool in, void *buf,
		     uint32_t len)
{
	memset(u, 0, sizeof(*u));
	u->port = 1;
	u->devaddr = ADDR;
	u->ep = ep;
	u->in = in;
	u->type = FUT_USB_BULK;
	u->buf = buf;
	u->len = len;
}

/* A bulk transfer on the storage class's endpoints, waited for. */
static int bulk(struct pv *p, bool in, void *buf, uint32_t len,
		uint32_t *actual)
{
	struct turb u;
	unsigned before = p->done;

	bulk_urb(&u, in ? SIM_USB_MSC_EP_IN : SIM_USB_MSC_EP_OUT, in, buf,
		 len);
	ck_assert_int_eq(submit(p, &u), 0);
	wait_urb(p, before);
	*actual = u.actual;
	return u.status;
}

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

/* CLEAR_FEATURE(ENDPOINT_HALT) on bulk IN: usb-storage's recovery from a
 * stalled data or status stage. */
static void clear_halt_in(struct pv *p)
{
	ck_assert_int_eq(ctrl(p, ADDR, 0x02, 1, 0, 0x80 | SIM_USB_MSC_EP_IN,
			      NULL, 0, NULL), 0);
}

/* One command through CBW, data and CSW. Data moves in URBs of up to
 * 64 KiB; a stalled bulk IN is cleared and the CSW read again. Returns
 * the CSW status; *residue its dCSWDataResidue. */
static int bot(struct pv *p, const uint8_t *cdb, uint8_t cdb_len, bool in,
	       uint8_t *data, uint32_t len, uint32_t *residue)
{
	static uint32_t tag = 1;
	uint8_t cbw[SIM_USB_MSC_CBW_LEN] = { 0 }, csw[SIM_USB_MSC_CSW_LEN];
	uint32_t n, done = 0;
	int st;

	put_le32(cbw, SIM_USB_MSC_CBW_SIGNATURE);
	put_le32(cbw + 4, ++tag);
	put_le32(cbw + 8, len);
	cbw[12] = in ? SIM_USB_MSC_CBW_DIR_IN : 0;
	cbw[14] = cdb_len;
	memcpy(cbw + 15, cdb, cdb_len);
	ck_assert_int_eq(bulk(p, false, cbw, sizeof(cbw), &n), 0);
	while (done < len) {
		uint32_t chunk = len - done < 65536 ? len - done : 65536;

		st = bulk(p, in, data + done, chunk, &n);
		if (st == -32) { /* the device had less: stalled */
			clear_halt_in(p);
			break;
		}
		ck_assert_int_eq(st, 0);
		done += n;
		if (n < chunk)
			break; /* short: the data stage ended */
	}
	st = bulk(p, true, csw, sizeof(csw), &n);
	if (st == -32) {
		clear_halt_in(p);
		st = bulk(p, true, csw, sizeof(csw), &n);
	}
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, SIM_USB_MSC_CSW_LEN);
	ck_assert_uint_eq(get_le32(csw), SIM_USB_MSC_CSW_SIGNATURE);
	ck_assert_uint_eq(get_le32(csw + 4), tag);
	*residue = get_le32(csw + 8);
	return csw[12];
}

static void rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
}

/* ---- scenarios -------------------------------------------------------------- */

/* A keyboard at each speed HID allows: plugged, enumerated, its three
 * keys read in order, each press no earlier than it was typed. */
START_TEST(keyboard_enumerates_and_types)
{
	static const enum sim_usb_speed speeds[] = {
		SIM_USB_SPEED_LOW, SIM_USB_SPEED_FULL, SIM_USB_SPEED_HIGH
	};
	struct pv p;
	uint8_t r[8];
	uint64_t at;

	pv_start(&p, keyboard(speeds[_i]));
	xs_put(&p, BE, "port/1", BUSID);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * MS);
	ck_assert_uint_ge(p.port_changes, 1);
	port_reset(&p);
	enumerate(&p, 3);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(read_report(&p, r, &at), 0);
		ck_assert_uint_eq(r[2], keys[k].keycode); /* press */
		ck_assert_uint_ge(at, keys[k].at_ns);
		ck_assert_int_eq(read_report(&p, r, &at), 0);
		ck_assert_uint_eq(r[2], 0); /* release */
	}
	pv_finish(&p);
}
END_TEST

/* Unplug with an interrupt URB waiting: it comes back once (-EPROTO,
 * qusb's cancellation), the port reports the disconnect, and a re-plug
 * enumerates again. */
START_TEST(unplug_and_replug)
{
	struct pv p;
	struct turb u;
	uint8_t r[8];
	unsigned before;
	uint16_t st, ch;
	uint64_t at;

	pv_start(&p, keyboard(SIM_USB_SPEED_FULL));
	plug(&p, 3);
	int_urb(&u, 1, r, 8, 10);
	before = p.done;
	ck_assert_int_eq(submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS); /* NAKed: waits */
	ck_assert_uint_eq(p.done, before);
	xs_put(&p, BE, "port/1", "");
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -71);
	fut_usb_port_status(p.fut, 1, &st, &ch);
	ck_assert(!(st & FUT_USB_PORT_CONNECTION));
	ck_assert(ch & FUT_USB_C_CONNECTION);
	fut_usb_port_feature(p.fut, 1, FUT_USB_FEAT_C_CONNECTION, false);
	plug(&p, 3);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert(!in_error(&p));
	pv_finish(&p);
}
END_TEST

/* A storage stick at full and high speed: Get Max LUN, the power-on unit
 * attention cleared by REQUEST SENSE, 256 KiB written and read back
 * verified, and a short INQUIRY whose stalled data stage is recovered
 * with CLEAR_FEATURE(HALT) (BOT case 4). */
START_TEST(mass_storage_verified_io)
{
	static const enum sim_usb_speed speeds[] = { SIM_USB_SPEED_FULL,
						     SIM_USB_SPEED_HIGH };
	static uint8_t wbuf[256 * 1024], rbuf[256 * 1024];
	struct sim_scsi_target_config tc = { .kind = SIM_SCSI_DISK,
					     .create_size = 8u << 20,
					     .block_size = 512 };
	struct sim_scsi_target *disk;
	struct sim_usb_device *stick;
	struct sim_usb_msc_stats ms;
	struct usbback_stats bs;
	uint8_t cdb[16], lun = 0xff, sense[18], inq[64];
	char dir[64], path[128], err[256];
	uint32_t n, residue;
	struct pv p;

	xpv_tmpdir_make(dir, sizeof(dir), "pvusb");
	snprintf(path, sizeof(path), "%s/stick.img", dir);
	tc.image = path;
	ck_assert_int_eq(sim_scsi_target_open(&tc, &disk, err, sizeof(err)),
			 0);
	ck_assert_int_eq(sim_usb_msc_new(speeds[_i], disk, &stick, err,
					 sizeof(err)), 0);
	pv_start(&p, stick);
	plug(&p, 8);
	ck_assert_int_eq(ctrl(&p, ADDR, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0,
			      0, &lun, 1, &n), 0);
	ck_assert_uint_eq(lun, 0);
	memset(cdb, 0, sizeof(cdb)); /* TEST UNIT READY */
	ck_assert_int_eq(bot(&p, cdb, 6, false, NULL, 0, &residue), 1);
	cdb[0] = 0x03; /* REQUEST SENSE */
	cdb[4] = sizeof(sense);
	ck_assert_int_eq(bot(&p, cdb, 6, true, sense, sizeof(sense),
			     &residue), 0);
	ck_assert_uint_eq(sense[2] & 0xf, 0x6); /* UNIT ATTENTION */
	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 31 + i / 512);
	rw10(cdb, 0x2a, 100, sizeof(wbuf) / 512);
	ck_assert_int_eq(bot(&p, cdb, 10, false, wbuf, sizeof(wbuf),
			     &residue), 0);
	ck_assert_uint_eq(residue, 0);
	rw10(cdb, 0x28, 100, sizeof(rbuf) / 512);
	ck_assert_int_eq(bot(&p, cdb, 10, true, rbuf, sizeof(rbuf),
			     &residue), 0);
	ck_assert_uint_eq(residue, 0);
	ck_assert_int_eq(memcmp(wbuf, rbuf, sizeof(wbuf)), 0);
	memset(cdb, 0, sizeof(cdb)); /* INQUIRY for 36, host expects 64 */
	cdb[0] = 0x12;
	cdb[4] = 36;
	ck_assert_int_eq(bot(&p, cdb, 6, true, inq, sizeof(inq), &residue),
			 0);
	ck_assert_uint_eq(residue, sizeof(inq) - 36);
	sim_usb_msc_stats(stick, &ms);
	ck_assert_uint_eq(ms.phase_errors, 0);
	usbback_stats(p.ub, &bs);
	ck_assert_uint_eq(bs.status[USBBACK_ST_STALL], 1); /* the INQUIRY's */
	ck_assert_uint_eq(ms.bytes_out, sizeof(wbuf));
	pv_finish(&p);
	sim_scsi_target_close(disk);
	xpv_tmpdir_remove(dir);
}
END_TEST

/* TEST UNIT READY meets the power-on UNIT ATTENTION; REQUEST SENSE
 * clears it, as a host's scan does. */
static void clear_unit_attention(struct pv *p)
{
	uint8_t cdb[6] = { 0 }, sense[18];
	uint32_t residue;

	ck_assert_int_eq(bot(p, cdb, 6, false, NULL, 0, &residue), 1);
	cdb[0] = 0x03;
	cdb[4] = sizeof(sense);
	ck_assert_int_eq(bot(p, cdb, 6, true, sense, sizeof(sense), &residue),
			 0);
	ck_assert_uint_eq(sense[2] & 0xf, 0x6);
}

static struct pv *plugged_stick(struct pv *p, enum sim_usb_speed speed,
				char *dir, size_t dirlen,
				struct sim_scsi_target **disk)
{
	struct sim_scsi_target_config tc = { .kind = SIM_SCSI_DISK,
					     .create_size = 8u << 20,
					     .block_size = 512 };
	struct sim_usb_device *stick;
	char path[128], err[256];

	xpv_tmpdir_make(dir, dirlen, "pvusb");
	snprintf(path, sizeof(path), "%s/stick.img", dir);
	tc.image = path;
	ck_assert_int_eq(sim_scsi_target_open(&tc, disk, err, sizeof(err)),
			 0);
	ck_assert_int_eq(sim_usb_msc_new(speed, *disk, &stick, err,
					 sizeof(err)), 0);
	pv_start(p, stick);
	plug(p, 8);
	clear_unit_attention(p);
	return p;
}

/* Hot unplug in the middle of a 64 KiB read: the URB on the ring comes
 * back once (-EPROTO), the one queued behind it too, the port reports the
 * disconnect, nothing leaks. */
START_TEST(unplug_during_storage_io)
{
	static uint8_t buf[2][65536];
	uint8_t cbw[SIM_USB_MSC_CBW_LEN] = { 0 }, cdb[10];
	struct sim_scsi_target *disk;
	struct turb u[2];
	char dir[64];
	uint32_t n;
	unsigned before;
	struct pv p;

	plugged_stick(&p, SIM_USB_SPEED_HIGH, dir, sizeof(dir), &disk);
	rw10(cdb, 0x28, 0, 256); /* READ(10) of 128 KiB */
	put_le32(cbw, SIM_USB_MSC_CBW_SIGNATURE);
	put_le32(cbw + 4, 77);
	put_le32(cbw + 8, sizeof(buf));
	cbw[12] = SIM_USB_MSC_CBW_DIR_IN;
	cbw[14] = 10;
	memcpy(cbw + 15, cdb, 10);
	ck_assert_int_eq(bulk(&p, false, cbw, sizeof(cbw), &n), 0);
	before = p.done;
	for (int i = 0; i < 2; i++) {
		bulk_urb(&u[i], SIM_USB_MSC_EP_IN, true, buf[i],
			 sizeof(buf[i]));
		ck_assert_int_eq(submit(&p, &u[i]), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 200000); /* 200 us */
	ck_assert_msg(p.done == before, "%d %u / %d %u", u[0].status,
		      u[0].actual, u[1].status, u[1].actual);
	xs_put(&p, BE, "port/1", "");
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 2);
	ck_assert_int_eq(u[0].status, -71);
	ck_assert_int_eq(u[1].status, -71);
	ck_assert(!in_error(&p));
	ck_assert_uint_eq(in_flight(&p), 0);
	pv_finish(&p);
	sim_scsi_target_close(disk);
	xpv_tmpdir_remove(dir);
}
END_TEST

/* Unlink of an interrupt URB the keyboard keeps NAKing: it comes back
 * once with -ECONNRESET, and the endpoint serves the next URB. */
START_TEST(unlink_waiting_urb)
{
	struct pv p;
	struct turb u;
	uint8_t r[8];
	uint64_t at;
	unsigned before;

	pv_start(&p, keyboard(SIM_USB_SPEED_FULL));
	plug(&p, 3);
	int_urb(&u, 1, r, 8, 10);
	before = p.done;
	ck_assert_int_eq(submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 30 * MS);
	ck_assert_uint_eq(p.done, before); /* nothing typed yet */
	ck_assert_int_eq(fut_usb_unlink(p.fut, u.tag), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -ECONNRESET);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert_uint_eq(r[2], keys[0].keycode);
	ck_assert(!in_error(&p));
	pv_finish(&p);
}
END_TEST

/* Save/restore with an URB in flight: it fails once (-ESHUTDOWN), the
 * rings are rebuilt, the backend reports the still attached keyboard
 * again, and it enumerates and types as before. */
START_TEST(resume_with_urb_in_flight)
{
	struct pv p;
	struct turb u;
	uint8_t r[8];
	uint64_t at;
	unsigned before;

	pv_start(&p, keyboard(SIM_USB_SPEED_HIGH));
	plug(&p, 3);
	int_urb(&u, 1, r, 8, 7);
	before = p.done;
	ck_assert_int_eq(submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	/* A restore: the old backend went with the old domain, the
	 * toolstack starts a new one with the same nodes. */
	ck_assert_int_eq(fut_suspend(p.fut), 0);
	usbback_destroy(p.ub);
	xs_put(&p, BE, "state", "1");
	ck_assert_int_eq(usbback_create(&p.bc, &p.ub), 0);
	ck_assert_int_eq(fut_resume(p.fut), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -ESHUTDOWN);
	port_reset(&p);
	enumerate(&p, 3);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert_uint_eq(r[2], keys[0].keycode);
	ck_assert(!in_error(&p));
	pv_finish(&p);
}
END_TEST

/* Misbehaviour 12 at a resume: the old backend still maps both rings.
 * The frontend quarantines the pages and enters its error state; the
 * checkers stay clean (quarantine is the right answer). */
START_TEST(resume_with_rings_still_mapped)
{
	struct pv p;
	struct sim_gnttab_stats gs;

	pv_start(&p, keyboard(SIM_USB_SPEED_FULL));
	ck_assert_int_eq(fut_suspend(p.fut), 0);
	ck_assert_int_eq(fut_resume(p.fut), 0); /* backend stays */
	ck_assert(in_error(&p));
	sim_gnttab_stats(sim_domain_get(p.sim, GUEST), &gs);
	ck_assert_uint_eq(gs.quarantined, 2);
	usbback_destroy(p.ub);
	p.ub = NULL;
	fut_destroy(p.fut);
	sim_usb_device_free(p.usbdev);
	sim_domain_audit(sim_domain_get(p.sim, GUEST), "teardown");
	sim_check_report(p.sim, stderr);
	ck_assert_uint_eq(sim_violations_total(p.sim), 0);
	sim_destroy(p.sim);
}
END_TEST

/* A CDC-ACM serial adapter at full and high speed: line coding, DTR and
 * its SERIAL_STATE notification, then several writes looped back in
 * order. */
START_TEST(acm_loopback)
{
	static const enum sim_usb_speed speeds[] = { SIM_USB_SPEED_FULL,
						     SIM_USB_SPEED_HIGH };
	static const uint8_t coding[7] = { 0x00, 0xc2, 0x01, 0x00, 0, 0, 8 };
	struct sim_usb_device *acm;
	struct sim_usb_acm_stats as;
	struct turb u;
	uint8_t note[16], out[3][300], in[900];
	char err[256];
	uint32_t n, got = 0;
	unsigned before;
	struct pv p;

	ck_assert_int_eq(sim_usb_acm_new(speeds[_i], &acm, err, sizeof(err)),
			 0);
	pv_start(&p, acm);
	plug(&p, 2);
	ck_assert_int_eq(ctrl(&p, ADDR, 0x21, SIM_USB_ACM_SET_LINE_CODING, 0,
			      0, (void *)coding, 7, NULL), 0);
	ck_assert_int_eq(ctrl(&p, ADDR, 0x21,
			      SIM_USB_ACM_SET_CONTROL_LINE_STATE,
			      SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS, 0,
			      NULL, 0, NULL), 0);
	int_urb(&u, SIM_USB_ACM_EP_NOTIFY, note, sizeof(note), 8);
	before = p.done;
	ck_assert_int_eq(submit(&p, &u), 0);
	wait_urb(&p, before);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.actual, SIM_USB_ACM_NOTIFY_LEN);
	ck_assert_uint_eq(note[1], SIM_USB_ACM_SERIAL_STATE);
	for (int w = 0; w < 3; w++) {
		for (int i = 0; i < 300; i++)
			out[w][i] = (uint8_t)(w * 300 + i);
		bulk_urb(&u, SIM_USB_ACM_EP_OUT, false, out[w], 300);
		before = p.done;
		ck_assert_int_eq(submit(&p, &u), 0);
		wait_urb(&p, before);
		ck_assert_int_eq(u.status, 0);
	}
	while (got < sizeof(in)) {
		bulk_urb(&u, SIM_USB_ACM_EP_IN, true, in + got,
			 (uint32_t)sizeof(in) - got);
		before = p.done;
		ck_assert_int_eq(submit(&p, &u), 0);
		wait_urb(&p, before);
		ck_assert_int_eq(u.status, 0);
		ck_assert_uint_gt(u.actual, 0);
		got += u.actual;
	}
	for (uint32_t i = 0; i < sizeof(in); i++)
		ck_assert_uint_eq(in[i], (uint8_t)i);
	sim_usb_acm_stats(acm, &as);
	ck_assert_uint_eq(as.line.rate, 115200);
	ck_assert_uint_eq(as.bytes_in, sizeof(in));
	(void)n;
	pv_finish(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pvusb");
	TCase *tc = tcase_create("scenario");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, keyboard_enumerates_and_types, 0, 3);
	tcase_add_test(tc, unplug_and_replug);
	tcase_add_loop_test(tc, mass_storage_verified_io, 0, 2);
	tcase_add_test(tc, unplug_during_storage_io);
	tcase_add_test(tc, unlink_waiting_urb);
	tcase_add_test(tc, resume_with_urb_in_flight);
	tcase_add_test(tc, resume_with_rings_still_mapped);
	tcase_add_loop_test(tc, acm_loopback, 0, 2);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
