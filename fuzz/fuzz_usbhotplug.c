/*
 * The fuzzer is the Dom0 toolstack and the PVUSB backend's conscience: it
 * plugs and unplugs simulated USB devices (a HID keyboard, a mass-storage
 * stick, a CDC-ACM and a CDC-ECM adapter, a UAC1 audio device, at the
 * speeds it chooses) into the ports of the real qusb model
 * (sim/backends/usbback.h) by writing port/<N> as `xl usbdev-attach`
 * does, writes junk there, sets num-ports and usb-ver before the probe,
 * tampers with both xenbus state nodes, saves and restores the guest, and
 * decides every misbehaviour of the backend (struct sim_fault_decider),
 * while a small guest USB core drives the reference frontend through
 * sim/fut: it polls the root hub, resets ports that report a connection,
 * enumerates what appears (GET_DESCRIPTOR at address 0, SET_ADDRESS,
 * SET_CONFIGURATION) and sends one class URB per device.
 *
 * Oracles: every simulator checker (sim/check/check.h, with the
 * exactly-once checker fed by the guest); each URB given back once and
 * never longer than asked (usb-giveback, usb-actual); the backend does
 * what its header promises for every port write (usb-backend: a shadow of
 * the qusb rules, compared with its counters after every scan); when the
 * frontend is in its sticky error state the backend misbehaved
 * (usb-error); a connected frontend whose backend is connected with no
 * conn event left to deliver shows CONNECTION, at the device's speed, on
 * exactly the ports where the backend has a device (usb-ports); once the
 * backend turns well-behaved every URB comes back (liveness).
 *
 * Input: a little-endian u16 L, then L bytes of script (fewer if the
 * input is shorter), then the backend's decisions. Script: num-ports and
 * usb-ver (hostile values need a byte's low four bits set), each
 * device's speed and class URB variant, an optional plug before the
 * probe, then steps of a delay and an action. Decisions: one byte per
 * consultation of the model, misbehaving when its low four bits are set
 * (as fuzz_scsifront's), then the details of a hit. When the script ends
 * the backend turns well-behaved, the run settles, and the guest closes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "fuzz_session.h"
#include "fuzz_target.h"
#include "sim/backends/usbback.h"
#include "sim/check/check.h"
#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_ecm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_msc.h"
#include "sim/fut/fut.h"
#include "sim/xenstore/xenstore.h"

#define GUEST 1
#define FE "/local/domain/1/device/vusb/0"
#define BE "/local/domain/0/backend/qusb/1/0"
#define MS 1000000ull
#define PORTS_MAX 31 /* usbif */
#define STEPS_MAX 64
#define URBS_MAX 48
#define BUF_MAX 1024
#define PKTS_MAX 4
#define EVENTS_MAX 4000000ull /* per run: beyond, a livelock */
/* The guest unlinks an URB out this long (Linux: 5 s for control; short
 * here, so that a NAKing endpoint costs few events). */
#define URB_TIMEOUT_NS (100 * MS)
/* Past the frontend's 5 s unlink timeout. */
#define SETTLE_NS (20000 * MS)

enum dev_kind { DEV_KBD, DEV_MSC, DEV_ACM, DEV_ECM, DEV_AUDIO, NDEV };

/* Host bus ids, one per device (qusb ignores a value without '-'). */
static const char *const busids[NDEV] = { "1-1", "1-2", "2-1.4", "3-1",
					  "3-2.1" };
static const uint16_t products[NDEV] = {
	SIM_USB_HID_KEYBOARD_PID, SIM_USB_MSC_PRODUCT, SIM_USB_ACM_PRODUCT,
	SIM_USB_ECM_PRODUCT, SIM_USB_AUDIO_PRODUCT,
};

/* Two keys early on: the keyboard's class URB gets a report. */
static const struct sim_usb_hid_key_event keys[] = {
	{ 2 * MS, 0, 0x04 },
	{ 40 * MS, 0, 0x05 },
};

enum gp_state {
	GP_IDLE,      /* nothing connected, or not looked at yet */
	GP_RESETTING, /* port reset asked, waiting for C_RESET */
	GP_DESC,      /* GET_DESCRIPTOR(device) at address 0 */
	GP_ADDR,      /* SET_ADDRESS */
	GP_CONFIG,    /* SET_CONFIGURATION(1) */
	GP_CLASS,     /* the class driver's URBs */
	GP_BOUND,     /* done */
	GP_FAILED,    /* given up until the next connection */
};

struct gport {
	enum gp_state st;
	uint32_t gen; /* bumped at every connection change */
	int kind;     /* from idProduct, -1 unknown */
	unsigned class_step;
	bool retried;
};

struct gurb {
	bool used; /* submitted, not given back */
	bool step; /* part of the port's enumeration or class work */
	uint64_t tag;
	uint32_t len;
	uint8_t port;
	uint32_t gen;
	uint32_t npk;
	struct fut_usb_iso_packet pk[PKTS_MAX];
	sim_event_id timeout;
	struct run *r;
};

/* What the backend must have done with its ports: qusb's rules
 * (usbback.h, "Ports") applied to what it reads at each scan. */
struct shadow {
	bool on;	      /* a probed, registered backend */
	unsigned nports, ver; /* as the backend read them */
	char *seen[PORTS_MAX + 1];
	int dev[PORTS_MAX + 1]; /* device index, -1 none */
	uint64_t plugs, unplugs, refused;
	bool dirty; /* a port was written since the last comparison */
};

struct run {
	struct fuzz_input script, decisions;
	bool calm; /* the backend behaves from now on */
	struct sim *sim;
	struct fut *fut;
	struct usbback *be;
	struct usbback_config bc;
	struct sim_fault_decider decider;
	struct sim_scsi_target *disk;
	struct sim_usb_device *devs[NDEV];
	enum sim_usb_speed speed[NDEV];
	unsigned variant[NDEV];
	struct fut_usb_urb raw[NDEV]; /* each class's variant 2 */
	char ports_val[32], ver_val[16];
	unsigned nports; /* the frontend's */
	struct shadow sh;
	/* the guest */
	struct gport port[PORTS_MAX + 1];
	struct gurb urbs[URBS_MAX];
	uint64_t next_tag;
	sim_event_id hub_ev;
	bool stopping;
	bool fe_up, fe_closed;
	/* the toolstack wrote a state node: ports may legitimately
	 * disagree */
	bool tampered;
	uint64_t misbehaved; /* by backends destroyed at a restore */
};

static uint8_t bufs[URBS_MAX][BUF_MAX];

/* ---- the backend's decisions ------------------------------------------------- */

static bool decide_hit(void *arg, enum sim_fault f)
{
	struct run *r = arg;

	(void)f;
	return !r->calm && (fuzz_u8(&r->decisions) & 0x0f) == 0x0f;
}

static uint64_t decide_draw(void *arg, uint64_t bound)
{
	struct run *r = arg;

	return r->calm ? 0 : fuzz_range(&r->decisions, 0, bound - 1);
}

static uint64_t misbehaved(const struct usbback_stats *st)
{
	uint64_t n = 0;

	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		n += st->misbehaved[f];
	return n;
}

/* ---- xenstore ---------------------------------------------------------------- */

static void xs_put(struct run *r, const char *dir, const char *key,
		   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	sim_xs_write(sim_xs(r->sim), 0, 0, path, val, (unsigned)strlen(val));
}

static void put_port(struct run *r, unsigned port, const char *val)
{
	char key[16];

	snprintf(key, sizeof(key), "port/%u", port);
	xs_put(r, BE, key, val);
	r->sh.dirty = true;
}

static char *xs_get(struct run *r, const char *dir, const char *key)
{
	char path[256], *val;
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (sim_xs_read(sim_xs(r->sim), 0, 0, path, &val, &len))
		return NULL;
	return val;
}

static int xs_state(struct run *r, const char *dir)
{
	int st;

	if (sim_xenbus_read_state(sim_xs(r->sim), 0, dir, &st))
		return -1;
	return st;
}

/* ---- the shadow of the backend's ports ----------------------------------- */

static int dev_of_busid(const char *busid)
{
	for (int i = 0; i < NDEV; i++)
		if (strcmp(busid, busids[i]) == 0)
			return i;
	return -1;
}

static bool attached_elsewhere(const struct shadow *sh, int dev)
{
	for (unsigned p = 1; p <= sh->nports; p++)
		if (sh->dev[p] == dev)
			return true;
	return false;
}

static void shadow_scan_port(struct run *r, unsigned p, char *val)
{
	struct shadow *sh = &r->sh;
	int dev;

	free(sh->seen[p]);
	sh->seen[p] = val;
	if (!*val) {
		if (sh->dev[p] >= 0)
			sh->unplugs++;
		sh->dev[p] = -1;
		return;
	}
	dev = dev_of_busid(val);
	if (sh->dev[p] >= 0 || !strchr(val, '-') || dev < 0 ||
	    attached_elsewhere(sh, dev) ||
	    (r->speed[dev] == SIM_USB_SPEED_HIGH && sh->ver < 2)) {
		sh->refused++;
		return;
	}
	sh->dev[p] = dev;
	sh->plugs++;
}

/* What a scan of every port reads now: the backend scanned at the same
 * store contents, since only this harness writes ports and it does so
 * between simulator runs. */
static void shadow_scan(struct run *r)
{
	struct shadow *sh = &r->sh;

	for (unsigned p = 1; p <= sh->nports; p++) {
		char key[16], *val;

		snprintf(key, sizeof(key), "port/%u", p);
		val = xs_get(r, BE, key);
		if (!val)
			continue; /* unreadable: ignored, as qusb does */
		if (sh->seen[p] && strcmp(sh->seen[p], val) == 0)
			free(val);
		else
			shadow_scan_port(r, p, val);
	}
}

static void shadow_reset(struct shadow *sh)
{
	for (unsigned p = 0; p <= PORTS_MAX; p++) {
		free(sh->seen[p]);
		sh->seen[p] = NULL;
		sh->dev[p] = -1;
	}
	sh->on = false;
	sh->plugs = sh->unplugs = sh->refused = 0;
	sh->dirty = false;
}

/* Right after usbback_create: it scanned every port if its probe took
 * num-ports and usb-ver. */
static void shadow_start(struct run *r)
{
	struct usbback_stats st;

	shadow_reset(&r->sh);
	usbback_stats(r->be, &st);
	if (st.unregistered)
		return;
	/* The backend's strict parser took them: strtoul reads the same. */
	r->sh.nports = (unsigned)strtoul(r->ports_val, NULL, 10);
	r->sh.ver = (unsigned)strtoul(r->ver_val, NULL, 10);
	if (r->sh.nports < 1 || r->sh.nports > PORTS_MAX)
		fuzz_fail("usb-backend", "probe took num-ports %s",
			  fuzz_quote(r->ports_val));
	r->sh.on = true;
	shadow_scan(r); /* the probe's own scan, done by now */
}

static void shadow_compare(struct run *r)
{
	struct shadow *sh = &r->sh;
	struct usbback_stats st;
	unsigned attached = 0;

	usbback_stats(r->be, &st);
	if (st.unregistered) {
		/* Unbound: it forgot its devices and reads no more ports. */
		for (unsigned p = 1; p <= PORTS_MAX; p++)
			sh->dev[p] = -1;
		sh->on = false;
	}
	if (sh->on && sh->dirty)
		shadow_scan(r);
	sh->dirty = false;
	for (unsigned p = 1; p <= PORTS_MAX; p++)
		attached += sh->dev[p] >= 0;
	if (st.plugs != sh->plugs || st.unplugs != sh->unplugs ||
	    st.plug_refused != sh->refused || st.attached != attached)
		fuzz_fail("usb-backend",
			  "plugs %llu unplugs %llu refused %llu attached %u, "
			  "expected %llu %llu %llu %u",
			  (unsigned long long)st.plugs,
			  (unsigned long long)st.unplugs,
			  (unsigned long long)st.plug_refused, st.attached,
			  (unsigned long long)sh->plugs,
			  (unsigned long long)sh->unplugs,
			  (unsigned long long)sh->refused, attached);
}

/* ---- simulated time ------------------------------------------------------------ */

/* Every run of the simulator goes through here: the backend has scanned
 * what the toolstack wrote before it, and its counters must say so. */
static void advance(struct run *r, uint64_t ns)
{
	enum sim_run_result res = sim_run_until(r->sim, sim_now(r->sim) + ns);

	if (res == SIM_RUN_EVENT_LIMIT)
		fuzz_fail("liveness", "%llu events by %.6f s simulated: a "
			  "livelock", (unsigned long long)sim_events_run(r->sim),
			  (double)sim_now(r->sim) / 1e9);
	if (r->be)
		shadow_compare(r);
}

/* ---- the guest: URBs ------------------------------------------------------------- */

static struct gurb *urb_of_tag(struct run *r, uint64_t tag)
{
	for (unsigned i = 0; i < URBS_MAX; i++)
		if (r->urbs[i].used && r->urbs[i].tag == tag)
			return &r->urbs[i];
	return NULL;
}

static unsigned outstanding(const struct run *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < URBS_MAX; i++)
		n += r->urbs[i].used;
	return n;
}

/* Linux's usb_start_wait_urb: an URB out too long is unlinked. */
static void urb_timeout(struct sim *sim, void *arg)
{
	struct gurb *u = arg;

	(void)sim;
	u->timeout = 0;
	if (u->used)
		fut_usb_unlink(u->r->fut, u->tag);
}

/* 0, or the submission's error; the slot is the guest's until giveback.
 * fu->data, when set, is what an OUT URB carries: copied into the slot's
 * buffer, which the URB then uses. */
static int submit(struct run *r, struct fut_usb_urb *fu, bool step)
{
	struct gurb *u = NULL;
	uint8_t *buf;
	int err;

	for (unsigned i = 0; i < URBS_MAX && !u; i++)
		if (!r->urbs[i].used)
			u = &r->urbs[i];
	if (!u)
		return -EBUSY;
	if (fu->len > BUF_MAX)
		fuzz_fail("harness", "URB of %u bytes", fu->len);
	buf = bufs[u - r->urbs];
	if (fu->data)
		memcpy(buf, fu->data, fu->len);
	fu->data = buf;
	fu->tag = ++r->next_tag;
	u->npk = fu->type == FUT_USB_ISO ? fu->npackets : 0;
	for (uint32_t i = 0; i < u->npk; i++)
		u->pk[i] = (struct fut_usb_iso_packet){
			.offset = i * (fu->len / u->npk),
			.length = fu->len / u->npk };
	fu->packets = u->npk ? u->pk : NULL;
	err = fut_usb_submit(r->fut, fu);
	if (err)
		return err;
	/* Never given back from inside fut_usb_submit (fut.h). */
	u->used = true;
	u->step = step;
	u->tag = fu->tag;
	u->len = fu->len;
	u->port = fu->port;
	u->gen = r->port[fu->port].gen;
	u->r = r;
	u->timeout = sim_schedule(r->sim, URB_TIMEOUT_NS, urb_timeout, u,
				  "guest-urb-timeout");
	sim_check_request_begin(r->sim, fu->tag);
	return 0;
}

static void ctrl_setup(struct fut_usb_urb *fu, uint8_t type, uint8_t req,
		       uint16_t value, uint16_t index, uint16_t len)
{
	fu->type = FUT_USB_CTRL;
	fu->in = (type & 0x80) != 0;
	fu->setup[0] = type;
	fu->setup[1] = req;
	fu->setup[2] = (uint8_t)value;
	fu->setup[3] = (uint8_t)(value >> 8);
	fu->setup[4] = (uint8_t)index;
	fu->setup[5] = (uint8_t)(index >> 8);
	fu->setup[6] = (uint8_t)len;
	fu->setup[7] = (uint8_t)(len >> 8);
	fu->len = len;
}

/* ---- the guest: hub driver and enumeration ------------------------------------- */

static uint8_t addr_of(unsigned port)
{
	return (uint8_t)port; /* 1..31: unique per port, below 128 */
}

/* Only a connected port completes a reset (C_RESET). */
static void port_reset(struct run *r, unsigned p)
{
	uint16_t st, ch;

	if (fut_usb_port_status(r->fut, (uint8_t)p, &st, &ch) ||
	    !(st & FUT_USB_PORT_CONNECTION)) {
		r->port[p].st = GP_IDLE;
		return;
	}
	r->port[p].st = GP_RESETTING;
	fut_usb_port_feature(r->fut, (uint8_t)p, FUT_USB_FEAT_RESET, true);
}

static void step_failed(struct run *r, unsigned p)
{
	struct gport *gp = &r->port[p];

	if (gp->retried || r->stopping) {
		gp->st = GP_FAILED;
		return;
	}
	gp->retried = true; /* hub_port_init: once more after a reset */
	port_reset(r, p);
}

static void step_submit(struct run *r, unsigned p, struct fut_usb_urb *fu,
			enum gp_state next)
{
	fu->port = (uint8_t)p;
	r->port[p].st = next;
	if (r->stopping || submit(r, fu, true) != 0)
		r->port[p].st = GP_FAILED;
}

/* A Bulk-Only CBW of TEST UNIT READY (no data stage). */
static const uint8_t cbw_tur[SIM_USB_MSC_CBW_LEN] = {
	0x55, 0x53, 0x42, 0x43, /* dCBWSignature "USBC" */
	0x01, 0x00, 0x00, 0x00, /* dCBWTag */
	0x00, 0x00, 0x00, 0x00, /* dCBWDataTransferLength */
	0x00, 0x00, 0x06,	/* bmCBWFlags, bCBWLUN, bCBWCBLength */
};

/* The class driver's URB number n for the device on port p; false when
 * it has none left. Variant 2 is the raw URB drawn at the start. */
static bool class_urb(struct run *r, unsigned p, unsigned n,
		      struct fut_usb_urb *fu)
{
	int kind = r->port[p].kind;
	unsigned v;

	if (kind < 0 || n > 1 || (n == 1 && kind != DEV_AUDIO))
		return false;
	v = r->variant[kind];
	if (v == 2) {
		if (n > 0)
			return false;
		*fu = r->raw[kind];
		fu->devaddr = addr_of(p);
		return true;
	}
	memset(fu, 0, sizeof(*fu));
	fu->devaddr = addr_of(p);
	switch (kind * 2 + (int)v) {
	case DEV_KBD * 2 + 0: /* a boot report */
		fu->type = FUT_USB_INT;
		fu->ep = 1;
		fu->in = true;
		fu->interval = 10;
		fu->len = 8;
		break;
	case DEV_KBD * 2 + 1:
		ctrl_setup(fu, 0x21, SIM_USB_HID_SET_IDLE, 0, 0, 0);
		break;
	case DEV_MSC * 2 + 0:
		ctrl_setup(fu, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, 1);
		break;
	case DEV_MSC * 2 + 1:
		fu->type = FUT_USB_BULK;
		fu->ep = SIM_USB_MSC_EP_OUT;
		fu->data = (uint8_t *)cbw_tur;
		fu->len = sizeof(cbw_tur);
		break;
	case DEV_ACM * 2 + 0:
		ctrl_setup(fu, 0x21, SIM_USB_ACM_SET_CONTROL_LINE_STATE,
			   SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS, 0, 0);
		break;
	case DEV_ACM * 2 + 1:
		fu->type = FUT_USB_BULK;
		fu->ep = SIM_USB_ACM_EP_OUT;
		fu->len = 64;
		break;
	case DEV_ECM * 2 + 0:
		ctrl_setup(fu, 0x01, SIM_USB_REQ_SET_INTERFACE, 1,
			   SIM_USB_ECM_DATA_IFACE, 0);
		break;
	case DEV_ECM * 2 + 1:
		ctrl_setup(fu, 0x21, SIM_USB_ECM_SET_PACKET_FILTER,
			   SIM_USB_ECM_FILTER_DEFAULT, SIM_USB_ECM_COMM_IFACE,
			   0);
		break;
	default: {
		/* Audio: the microphone (0) or the speaker (1), alternate 1,
		 * then four 1 ms packets. */
		bool mic = v == 0;

		if (n == 0) {
			ctrl_setup(fu, 0x01, SIM_USB_REQ_SET_INTERFACE, 1,
				   mic ? SIM_USB_AUDIO_MIC_IFACE
				       : SIM_USB_AUDIO_SPK_IFACE,
				   0);
			break;
		}
		fu->type = FUT_USB_ISO;
		fu->ep = mic ? SIM_USB_AUDIO_EP_IN : SIM_USB_AUDIO_EP_OUT;
		fu->in = mic;
		fu->interval = 1;
		fu->len = PKTS_MAX * SIM_USB_AUDIO_PACKET;
		fu->npackets = PKTS_MAX;
		break;
	}
	}
	return true;
}

static void class_next(struct run *r, unsigned p)
{
	struct gport *gp = &r->port[p];
	struct fut_usb_urb fu;

	if (!class_urb(r, p, gp->class_step, &fu)) {
		gp->st = GP_BOUND;
		return;
	}
	gp->class_step++;
	step_submit(r, p, &fu, GP_CLASS);
}

static int kind_of_product(uint16_t product)
{
	for (int i = 0; i < NDEV; i++)
		if (products[i] == product)
			return i;
	return -1;
}

/* usb_new_device's steps, one per giveback. */
static void enum_next(struct run *r, unsigned p, int status, uint32_t actual,
		      const uint8_t *buf)
{
	struct gport *gp = &r->port[p];
	struct fut_usb_urb fu = { .devaddr = 0 };

	switch (gp->st) {
	case GP_DESC:
		if (status || actual < 12 || buf[1] != SIM_USB_DT_DEVICE) {
			step_failed(r, p);
			return;
		}
		gp->kind = kind_of_product((uint16_t)(buf[10] | buf[11] << 8));
		ctrl_setup(&fu, 0x00, SIM_USB_REQ_SET_ADDRESS, addr_of(p), 0, 0);
		step_submit(r, p, &fu, GP_ADDR);
		return;
	case GP_ADDR:
		if (status) {
			step_failed(r, p);
			return;
		}
		fu.devaddr = addr_of(p);
		ctrl_setup(&fu, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0);
		step_submit(r, p, &fu, GP_CONFIG);
		return;
	case GP_CONFIG:
		if (status) {
			step_failed(r, p);
			return;
		}
		gp->class_step = 0;
		class_next(r, p);
		return;
	case GP_CLASS:
		/* A failed class step ends the binding, not the port. */
		if (status)
			gp->st = GP_BOUND;
		else
			class_next(r, p);
		return;
	default:
		return;
	}
}

static void enum_start(struct run *r, unsigned p)
{
	struct fut_usb_urb fu = { .devaddr = 0 };

	r->port[p].kind = -1;
	ctrl_setup(&fu, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
		   SIM_USB_DT_DEVICE << 8, 0, 18);
	step_submit(r, p, &fu, GP_DESC);
}

/* hub_event for one port: acknowledge changes, reset new connections,
 * start enumeration when a reset completes. */
static void hub_port(struct run *r, unsigned p)
{
	struct gport *gp = &r->port[p];
	uint16_t st, ch;

	if (fut_usb_port_status(r->fut, (uint8_t)p, &st, &ch)) {
		gp->st = GP_IDLE; /* no root hub any more */
		return;
	}
	if (ch & FUT_USB_C_CONNECTION) {
		fut_usb_port_feature(r->fut, (uint8_t)p,
				     FUT_USB_FEAT_C_CONNECTION, false);
		gp->gen++;
		gp->retried = false;
		gp->st = GP_IDLE;
	}
	if (ch & FUT_USB_C_RESET) {
		fut_usb_port_feature(r->fut, (uint8_t)p, FUT_USB_FEAT_C_RESET,
				     false);
		if (gp->st == GP_RESETTING) {
			if ((st & FUT_USB_PORT_ENABLE) && !r->stopping)
				enum_start(r, p);
			else
				gp->st = GP_FAILED;
		}
	}
	if (ch & FUT_USB_C_ENABLE)
		fut_usb_port_feature(r->fut, (uint8_t)p, FUT_USB_FEAT_C_ENABLE,
				     false);
	if (ch & FUT_USB_C_SUSPEND)
		fut_usb_port_feature(r->fut, (uint8_t)p,
				     FUT_USB_FEAT_C_SUSPEND, false);
	if (!(st & FUT_USB_PORT_CONNECTION) && gp->st != GP_IDLE) {
		gp->gen++; /* what was there is gone */
		gp->st = GP_IDLE;
	}
	if ((st & FUT_USB_PORT_CONNECTION) && gp->st == GP_IDLE &&
	    !r->stopping)
		port_reset(r, p);
}

static void hub_poll(struct run *r)
{
	for (unsigned p = 1; p <= r->nports; p++)
		hub_port(r, p);
}

static void hub_event(struct sim *sim, void *arg)
{
	struct run *r = arg;

	(void)sim;
	r->hub_ev = 0;
	hub_poll(r);
}

static void cb_port_changed(void *arg, uint8_t port)
{
	struct run *r = arg;

	(void)port;
	if (!r->hub_ev) /* the hub's work item, from any context */
		r->hub_ev = sim_schedule(r->sim, 0, hub_event, r, "guest-hub");
}

static void cb_giveback(void *arg, uint64_t tag,
			const struct fut_usb_result *res)
{
	struct run *r = arg;
	struct gurb *u = urb_of_tag(r, tag);

	if (!u)
		fuzz_fail("usb-giveback", "URB %llu given back twice or never "
			  "submitted", (unsigned long long)tag);
	if (res->actual > u->len)
		fuzz_fail("usb-actual", "URB %llu: %u bytes back of %u",
			  (unsigned long long)tag, res->actual, u->len);
	for (uint32_t i = 0; i < u->npk; i++)
		if (u->pk[i].actual > u->pk[i].length)
			fuzz_fail("usb-actual", "URB %llu packet %u: %u bytes "
				  "back of %u", (unsigned long long)tag, i,
				  u->pk[i].actual, u->pk[i].length);
	sim_check_request_done(r->sim, tag);
	u->used = false;
	if (u->timeout)
		sim_cancel(r->sim, u->timeout);
	u->timeout = 0;
	if (u->step && u->gen == r->port[u->port].gen)
		enum_next(r, u->port, res->status, res->actual,
			  bufs[u - r->urbs]);
}

static void cb_up(void *arg)
{
	((struct run *)arg)->fe_up = true;
}

static void cb_closed(void *arg)
{
	struct run *r = arg;

	r->fe_up = false;
	r->fe_closed = true;
}

/* ---- the toolstack's actions ------------------------------------------------------ */

static bool hostile(struct fuzz_input *in)
{
	return (fuzz_u8(in) & 0x0f) == 0x0f;
}

static unsigned draw_port(struct run *r)
{
	/* One past the last port too: nobody may act on it. */
	return (unsigned)fuzz_range(&r->script, 1, r->nports + 1);
}

static void act_plug(struct run *r)
{
	unsigned port = draw_port(r);

	put_port(r, port, busids[fuzz_pick(&r->script, NDEV)]);
}

static void act_junk(struct run *r)
{
	static const char *const junk[] = {
		"11", "9-9", " 1-1", "1-1 ", "-", "1-1\n", "1--1", "1-1.",
	};
	static char big[3000];
	unsigned port = draw_port(r);
	size_t k = fuzz_pick(&r->script, sizeof(junk) / sizeof(junk[0]) + 1);

	if (k < sizeof(junk) / sizeof(junk[0])) {
		put_port(r, port, junk[k]);
		return;
	}
	/* Oversized, with a '-' so that it gets as far as the lookup. */
	memset(big, 'x', sizeof(big) - 1);
	big[1] = '-';
	put_port(r, port, big);
}

/* Plug, unplug, plug of one port: in one batch the backend sees only the
 * last value; with the simulator run between, all three. */
static void act_rapid(struct run *r)
{
	unsigned port = draw_port(r);
	const char *id = busids[fuzz_pick(&r->script, NDEV)];
	bool apart = fuzz_bool(&r->script);

	put_port(r, port, id);
	if (apart)
		advance(r, 0);
	put_port(r, port, "");
	if (apart)
		advance(r, 0);
	put_port(r, port, id);
}

static void act_state(struct run *r)
{
	static const char *const states[] = { "1", "2", "3", "4", "5",
					      "6", "7", "8", "0", "9",
					      "x", "" };

	const char *dir;

	if (!hostile(&r->script))
		return;
	r->tampered = true;
	/* Draws in sequence: argument order is the compiler's. */
	dir = fuzz_bool(&r->script) ? FE : BE;
	xs_put(r, dir, "state",
	       states[fuzz_pick(&r->script,
				sizeof(states) / sizeof(states[0]))]);
}

/* Save/restore: the old backend goes with the old domain; the toolstack
 * starts a new one on the same nodes, which scans every port afresh. */
static void act_restore(struct run *r)
{
	struct usbback_stats st;

	if (!hostile(&r->script))
		return;
	fut_suspend(r->fut);
	usbback_stats(r->be, &st);
	r->misbehaved += misbehaved(&st);
	usbback_destroy(r->be);
	r->be = NULL;
	xs_put(r, BE, "state", "1");
	r->bc.restored = true;
	if (usbback_create(&r->bc, &r->be) != 0)
		fuzz_fail("session-setup", "usbback_create at a restore");
	shadow_start(r);
	r->fe_up = false;
	fut_resume(r->fut);
	advance(r, MS);
}

static void act_guest(struct run *r)
{
	static const enum fut_usb_port_feature feats[] = {
		FUT_USB_FEAT_RESET,   FUT_USB_FEAT_SUSPEND,
		FUT_USB_FEAT_ENABLE,  FUT_USB_FEAT_POWER,
		FUT_USB_FEAT_C_CONNECTION,
	};
	struct gurb *u;
	unsigned port;
	enum fut_usb_port_feature f;

	switch (fuzz_pick(&r->script, 3)) {
	case 0:
		u = &r->urbs[fuzz_pick(&r->script, URBS_MAX)];
		if (u->used)
			fut_usb_unlink(r->fut, u->tag);
		break;
	case 1: /* draws in sequence: argument order is the compiler's */
		port = draw_port(r);
		f = feats[fuzz_pick(&r->script,
				    sizeof(feats) / sizeof(feats[0]))];
		fut_usb_port_feature(r->fut, (uint8_t)port, f,
				     fuzz_bool(&r->script));
		break;
	default:
		hub_poll(r);
		break;
	}
}

static void steps(struct run *r)
{
	static const uint64_t delays[] = { 0, 50000, MS, 3 * MS, 10 * MS,
					   30 * MS };
	struct fuzz_input *in = &r->script;

	for (unsigned n = 0; n < STEPS_MAX && !fuzz_exhausted(in) &&
			     fuzz_remaining(in) > 0; n++) {
		advance(r, delays[fuzz_pick(in, 6)]);
		switch (fuzz_pick(in, 11)) {
		case 0:
		case 1:
		case 2:
			act_plug(r);
			break;
		case 3:
		case 4:
			put_port(r, draw_port(r), "");
			break;
		case 5:
			act_junk(r);
			break;
		case 6:
			act_rapid(r);
			break;
		case 7:
			act_state(r);
			break;
		case 8:
			act_restore(r);
			break;
		case 9:
			act_guest(r);
			break;
		default:
			advance(r, 100 * MS);
			break;
		}
	}
}

/* ---- oracles after the script ----------------------------------------------------- */

static bool guest_busy(const struct run *r)
{
	for (unsigned p = 1; p <= r->nports; p++)
		if (r->port[p].st > GP_IDLE && r->port[p].st < GP_BOUND)
			return true;
	return outstanding(r) > 0;
}

/* The backend behaves from now on: every URB must come back. */
static void settle(struct run *r)
{
	uint64_t end = sim_now(r->sim) + SETTLE_NS;

	r->calm = true;
	advance(r, 10 * MS);
	while (guest_busy(r) && sim_now(r->sim) < end)
		advance(r, 10 * MS);
	advance(r, 10 * MS); /* the last conn events reach the hub */
	if (outstanding(r)) {
		struct fut_stats st;

		fut_stats(r->fut, &st);
		fuzz_fail("liveness", "%u URBs not back %.1f s after the "
			  "backend turned well-behaved (frontend %s)",
			  outstanding(r), (double)SETTLE_NS / 1e9,
			  st.error ? "in its error state" : "working");
	}
}

/* Whether the frontend and the backend both claim a live connection with
 * nothing left to tell: then the root hub must mirror the backend. */
static bool ports_comparable(struct run *r, const struct usbback_stats *st)
{
	return r->fe_up && !r->tampered && r->sh.on && st->connected &&
	       !st->ring_halted && !st->unregistered && st->conn_queued == 0 &&
	       st->conn_dropped == 0 && st->state == 4 &&
	       xs_state(r, FE) == 4 && xs_state(r, BE) == 4;
}

static void check_ports(struct run *r)
{
	static const uint16_t speed_bits[] = {
		[SIM_USB_SPEED_LOW] = FUT_USB_PORT_LOW_SPEED,
		[SIM_USB_SPEED_FULL] = 0,
		[SIM_USB_SPEED_HIGH] = FUT_USB_PORT_HIGH_SPEED,
	};
	struct usbback_stats st;
	struct fut_stats fs;

	usbback_stats(r->be, &st);
	fut_stats(r->fut, &fs);
	if (getenv("XPV_FUZZ_LOG"))
		fprintf(stderr,
			"usbhotplug: frontend %s%s%s, backend %s%s, states "
			"%d/%d, %u attached (%llu plugs, %llu unplugs, %llu "
			"refused), %llu misbehaved, conn queued %u\n",
			r->fe_up ? "up" : "down", fs.error ? ", error" : "",
			r->tampered ? ", tampered" : "",
			st.connected ? "connected" : "not connected",
			st.unregistered ? ", unregistered" : "",
			xs_state(r, FE), xs_state(r, BE), st.attached,
			(unsigned long long)st.plugs,
			(unsigned long long)st.unplugs,
			(unsigned long long)st.plug_refused,
			(unsigned long long)(r->misbehaved + misbehaved(&st)),
			st.conn_queued);
	if (fs.error) {
		/* A toolstack that rewrote a state node can make the backend
		 * drop requests unanswered (FE Initialising: a resume; FE
		 * unreadable: unregister): the frontend may give up too. */
		if (!r->tampered && r->misbehaved + misbehaved(&st) == 0)
			fuzz_fail("usb-error", "frontend in its error state, "
				  "backend never misbehaved");
		return;
	}
	if (!ports_comparable(r, &st))
		return;
	if (r->nports != r->sh.nports)
		fuzz_fail("usb-ports", "frontend has %u ports, backend %u",
			  r->nports, r->sh.nports);
	for (unsigned p = 1; p <= r->nports; p++) {
		uint16_t status, change, want = 0;
		int dev = r->sh.dev[p];

		fut_usb_port_status(r->fut, (uint8_t)p, &status, &change);
		if (dev >= 0)
			want = FUT_USB_PORT_CONNECTION | speed_bits[r->speed[dev]];
		if ((status & (FUT_USB_PORT_CONNECTION |
			       FUT_USB_PORT_LOW_SPEED |
			       FUT_USB_PORT_HIGH_SPEED)) != want)
			fuzz_fail("usb-ports", "port %u: status 0x%04x, the "
				  "backend has %s", p, status,
				  dev >= 0 ? busids[dev] : "nothing");
	}
}

/* ---- the session ------------------------------------------------------------------ */

/* libxl's usbctrl add (qusb), with the script's num-ports and usb-ver. */
static void toolstack(struct run *r)
{
	static const char *const ports_ok[] = { "2", "4", "1", "8", "31" };
	static const char *const ports_bad[] = { "0", "32", "x", "", "08",
						 "+2", " 4", "4294967298" };
	static const char *const vers_ok[] = { "2", "1" };
	static const char *const vers_bad[] = { "3", "0", "", "02", "x" };
	struct sim_xs *xs = sim_xs(r->sim);
	struct fuzz_input *in = &r->script;
	struct xs_permissions fe_perms[2] = { { GUEST, XS_PERM_NONE },
					      { 0, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE },
					      { GUEST, XS_PERM_READ } };

	snprintf(r->ports_val, sizeof(r->ports_val), "%s",
		 hostile(in) ? ports_bad[fuzz_pick(in, 8)]
			     : ports_ok[fuzz_pick(in, 5)]);
	snprintf(r->ver_val, sizeof(r->ver_val), "%s",
		 hostile(in) ? vers_bad[fuzz_pick(in, 5)]
			     : vers_ok[fuzz_pick(in, 2)]);
	sim_xs_mkdir(xs, 0, 0, FE);
	sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2);
	xs_put(r, FE, "backend", BE);
	xs_put(r, FE, "backend-id", "0");
	xs_put(r, FE, "state", "1");
	sim_xs_mkdir(xs, 0, 0, BE);
	sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2);
	xs_put(r, BE, "frontend", FE);
	xs_put(r, BE, "frontend-id", "1");
	xs_put(r, BE, "online", "1");
	xs_put(r, BE, "state", "1");
	xs_put(r, BE, "type", "qusb");
	xs_put(r, BE, "num-ports", r->ports_val);
	xs_put(r, BE, "usb-ver", r->ver_val);
}

static struct sim_usb_device *lookup(void *arg, const char *busid)
{
	struct run *r = arg;
	int dev = dev_of_busid(busid);

	return dev >= 0 ? r->devs[dev] : NULL;
}

static void device_new(struct run *r, int kind)
{
	struct sim_scsi_target_config tc = { .kind = SIM_SCSI_DISK,
					     .create_size = 1u << 20,
					     .block_size = 512 };
	char err[256], path[320];
	enum sim_usb_speed sp = r->speed[kind];
	int rc = -1;

	switch (kind) {
	case DEV_KBD:
		rc = sim_usb_hid_keyboard_new(sp, keys, 2, &r->devs[kind], err,
					      sizeof(err));
		break;
	case DEV_MSC:
		/* The image is made once per process; the class URBs never
		 * write it, so every run sees the same medium. */
		snprintf(path, sizeof(path), "%s/d1.img", fuzz_session_dir());
		tc.image = path;
		rc = sim_scsi_target_open(&tc, &r->disk, err, sizeof(err));
		if (!rc)
			rc = sim_usb_msc_new(sp, r->disk, &r->devs[kind], err,
					     sizeof(err));
		break;
	case DEV_ACM:
		rc = sim_usb_acm_new(sp, &r->devs[kind], err, sizeof(err));
		break;
	case DEV_ECM:
		rc = sim_usb_ecm_new(sp, &r->devs[kind], err, sizeof(err));
		break;
	default:
		rc = sim_usb_audio_new(sp, &r->devs[kind], err, sizeof(err));
		break;
	}
	if (rc)
		fuzz_fail("session-setup", "device %d: %s", kind, err);
}

/* An URB the device may not expect at all: any type, endpoint,
 * direction and length, a control request of any kind. */
static void draw_raw(struct fuzz_input *in, struct fut_usb_urb *fu)
{
	memset(fu, 0, sizeof(*fu));
	fu->type = (enum fut_usb_xfer)fuzz_pick(in, 4);
	fu->ep = (uint8_t)fuzz_pick(in, 4);
	fu->in = fuzz_bool(in);
	fu->flags = fuzz_bool(in) ? FUT_USB_SHORT_NOT_OK : 0;
	fu->interval = (uint16_t)fuzz_range(in, 1, 16);
	fu->len = (uint32_t)fuzz_range(in, 0, PKTS_MAX * 192);
	if (fu->type == FUT_USB_CTRL) {
		fuzz_bytes(in, fu->setup, sizeof(fu->setup));
		fu->ep = 0;
		fu->in = (fu->setup[0] & 0x80) != 0;
	}
	if (fu->type == FUT_USB_ISO)
		fu->npackets = (uint32_t)fuzz_range(in, 1, PKTS_MAX);
}

/* Each device at a speed its class allows. */
static void devices(struct run *r)
{
	static const enum sim_usb_speed all[] = { SIM_USB_SPEED_FULL,
						  SIM_USB_SPEED_HIGH,
						  SIM_USB_SPEED_LOW };

	for (int k = 0; k < NDEV; k++) {
		size_t n = k == DEV_KBD ? 3 : k == DEV_AUDIO ? 1 : 2;

		r->speed[k] = all[fuzz_pick(&r->script, n)];
		r->variant[k] = (unsigned)fuzz_pick(&r->script, 3);
		if (r->variant[k] == 2)
			draw_raw(&r->script, &r->raw[k]);
		device_new(r, k);
	}
}

static void setup(struct run *r)
{
	struct sim_config sc;
	struct sim_domain *d;

	sim_config_default(&sc, 1); /* the input decides; the seed fills gaps */
	sc.max_events = EVENTS_MAX;
	r->sim = sim_create(&sc);
	fuzz_session_trace_begin(r->sim);
	if (getenv("XPV_FUZZ_LOG"))
		sim_trace_log(r->sim, stderr);
	sim_domain_create(r->sim, 0, "dom0", &d);
	sim_domain_create(r->sim, GUEST, "guest", &d);
	toolstack(r);
	devices(r);
	if (fuzz_bool(&r->script)) /* attached before the backend probes */
		put_port(r, 1, busids[fuzz_pick(&r->script, NDEV)]);
	r->decider = (struct sim_fault_decider){ decide_hit, decide_draw, r };
	usbback_config_default(&r->bc);
	r->bc.sim = r->sim;
	r->bc.self = 0;
	r->bc.frontend = GUEST;
	r->bc.path = BE;
	r->bc.frontend_path = FE;
	r->bc.decider = &r->decider;
	r->bc.lookup = lookup;
	r->bc.lookup_arg = r;
	if (usbback_create(&r->bc, &r->be) != 0)
		fuzz_fail("session-setup", "usbback_create");
	shadow_start(r);
}

static void check_checkers(struct run *r, const char *when)
{
	if (!sim_violations_total(r->sim))
		return;
	sim_check_report(r->sim, stderr);
	fuzz_fail("checkers", "%llu violations %s",
		  (unsigned long long)sim_violations_total(r->sim), when);
}

/* Devices outlive the backend (usbback.h). */
static void teardown(struct run *r)
{
	usbback_destroy(r->be);
	r->be = NULL;
	for (int k = 0; k < NDEV; k++)
		sim_usb_device_free(r->devs[k]);
	if (r->disk)
		sim_scsi_target_close(r->disk);
	shadow_reset(&r->sh);
}

/* The guest closes the device; whatever state the ends are in, every URB
 * comes back by the frontend's removal and nothing leaks. */
static void finish(struct run *r)
{
	r->stopping = true;
	fut_close(r->fut);
	for (unsigned i = 0; i < 700 && !r->fe_closed; i++)
		advance(r, 10 * MS);
	teardown(r);
	fut_destroy(r->fut);
	if (outstanding(r))
		fuzz_fail("usb-giveback", "%u URBs never given back",
			  outstanding(r));
	sim_check_requests_audit(r->sim, "teardown");
	sim_domain_audit(sim_domain_get(r->sim, GUEST), "teardown");
	check_checkers(r, "at teardown");
	sim_destroy(r->sim);
	fuzz_session_trace_end();
}

/* The script and the decisions, each a stream of its own. */
static void split_input(struct run *r, const uint8_t *data, size_t size)
{
	struct fuzz_input head;
	size_t len;

	memset(r, 0, sizeof(*r));
	for (unsigned p = 0; p <= PORTS_MAX; p++)
		r->sh.dev[p] = -1;
	fuzz_input_init(&head, data, size);
	len = fuzz_u16(&head);
	if (len > fuzz_remaining(&head))
		len = fuzz_remaining(&head);
	fuzz_input_init(&r->script, data + head.pos, len);
	fuzz_input_init(&r->decisions, data + head.pos + len,
			size - head.pos - len);
}

/* The guest's frontend probes: 0, or it refused num-ports or usb-ver. */
static int frontend_create(struct run *r)
{
	const struct fut_env env = { .sim = r->sim, .guest = GUEST,
				     .backend = 0, .frontend_path = FE,
				     .backend_path = BE,
				     .log = getenv("XPV_FUZZ_LOG") ? stderr
								   : NULL,
				     .log_level = 3 };
	const struct fut_callbacks cb = { .connected = cb_up,
					  .resumed = cb_up,
					  .closed = cb_closed,
					  .usb_giveback = cb_giveback,
					  .usb_port_changed = cb_port_changed,
					  .arg = r };

	if (fut_create(fut_find("xpv-usbfront"), &env, &cb, &r->fut) != 0)
		return -1;
	r->nports = fut_usb_num_ports(r->fut);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;

	fuzz_session_init();
	split_input(&r, data, size);
	setup(&r);
	if (frontend_create(&r) != 0) {
		advance(&r, 10 * MS);
		teardown(&r);
		check_checkers(&r, "after a refused probe");
		sim_destroy(r.sim);
		fuzz_session_trace_end();
		return 0;
	}
	advance(&r, 10 * MS);
	steps(&r);
	settle(&r);
	check_ports(&r);
	finish(&r);
	return 0;
}
