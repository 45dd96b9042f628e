/*
 * The guest USB stand-in (sim/guest/usb_guest.h) on the whole PVUSB stack:
 * the reference frontend (drivers/usbfront, through sim/fut) against the
 * qusb model (sim/backends/usbback) and the simulated devices
 * (sim/devices), in one simulated machine per test. The toolstack's
 * nodes are written as libxl writes them; devices are plugged and
 * unplugged by writing the backend's port/<N> node, as `xl
 * usbdev-attach` does. The configuration is built in memory (struct
 * simcfg), never parsed. Every test ends with every checker clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "sim/backends/usbback.h"
#include "sim/check/check.h"
#include "sim/core/fault.h"
#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_ecm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_msc.h"
#include "sim/fut/fut.h"
#include "sim/guest/usb_guest.h"
#include "sim/xenstore/xenstore.h"
#include "tmpdir.h"

#define GUEST	   1
#define FE	   "/local/domain/1/device/vusb/0"
#define BE	   "/local/domain/0/backend/qusb/1/0"
#define MS	   1000000ull
#define S	   (1000 * MS)
#define NPORTS	   4
#define MAXDEVS	   4
#define DISK_BYTES (8u << 20)

/* One simulated machine: dom0 with the qusb backend, a guest with the
 * frontend and the guest stand-in, devices the toolstack can plug. */
struct ut {
	struct sim *sim;
	struct usbback *ub;
	struct usbback_config bc;
	struct fut *fut;
	struct usb_guest *g;
	struct simcfg cfg;
	struct simcfg_usbctrl ctrl;
	struct simcfg_usb_device devs[MAXDEVS];
	struct sim_usb_device *usbdev[MAXDEVS];
	struct sim_scsi_target *disk[MAXDEVS];
	char image[MAXDEVS][128];
	int on_port[NPORTS + 1]; /* the toolstack's view: device or -1 */
	unsigned idles, closed;
	char dir[64];
};

/* ---- the toolstack ------------------------------------------------------- */

static void xs_put(struct ut *t, const char *dir, const char *key,
		   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ck_assert_int_eq(sim_xs_write(sim_xs(t->sim), 0, 0, path, val,
				      (unsigned)strlen(val)),
			 0);
}

/* libxl__device_usbctrl_add_xenstore: version 2, NPORTS ports. */
static void toolstack_add(struct ut *t)
{
	struct sim_xs *xs = sim_xs(t->sim);
	struct xs_permissions fe_perms[2] = {{GUEST, XS_PERM_NONE},
					     {0, XS_PERM_READ}};
	struct xs_permissions be_perms[2] = {{0, XS_PERM_NONE},
					     {GUEST, XS_PERM_READ}};
	char key[16], n[8];

	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2), 0);
	xs_put(t, FE, "backend", BE);
	xs_put(t, FE, "backend-id", "0");
	xs_put(t, FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2), 0);
	xs_put(t, BE, "frontend", FE);
	xs_put(t, BE, "frontend-id", "1");
	xs_put(t, BE, "online", "1");
	xs_put(t, BE, "state", "1");
	xs_put(t, BE, "type", "qusb");
	xs_put(t, BE, "usb-ver", "2");
	snprintf(n, sizeof(n), "%d", NPORTS);
	xs_put(t, BE, "num-ports", n);
	for (int i = 1; i <= NPORTS; i++) {
		snprintf(key, sizeof(key), "port/%d", i);
		xs_put(t, BE, key, "");
	}
}

static void busid(const struct simcfg_usb_device *d, char *buf, size_t len)
{
	snprintf(buf, len, "%u-%u", d->hostbus, d->hostaddr);
}

static struct sim_usb_device *lookup(void *arg, const char *id)
{
	struct ut *t = arg;
	char b[16];

	for (unsigned i = 0; i < t->cfg.nr_usb_devices; i++) {
		busid(&t->devs[i], b, sizeof(b));
		if (strcmp(b, id) == 0)
			return t->usbdev[i];
	}
	return NULL;
}

static void plug(struct ut *t, uint8_t port, unsigned dev)
{
	char key[16], b[16];

	t->on_port[port] = (int)dev;
	snprintf(key, sizeof(key), "port/%u", port);
	busid(&t->devs[dev], b, sizeof(b));
	xs_put(t, BE, key, b);
}

static void unplug(struct ut *t, uint8_t port)
{
	char key[16];

	snprintf(key, sizeof(key), "port/%u", port);
	xs_put(t, BE, key, "");
	t->on_port[port] = -1;
}

/* ---- the guest's hooks ------------------------------------------------------
 */

static void hook_idle(void *arg)
{
	((struct ut *)arg)->idles++;
}

static void hook_closed(void *arg)
{
	((struct ut *)arg)->closed++;
}

static int hook_device_at(void *arg, uint8_t port)
{
	struct ut *t = arg;

	return port <= NPORTS ? t->on_port[port] : -1;
}

/* ---- devices
 * ------------------------------------------------------------------ */

/* A configuration entry at bus address 3.(10 + i). */
static struct simcfg_usb_device *
dev_add(struct ut *t, enum simcfg_usb_class cls, enum sim_usb_speed speed)
{
	unsigned i = t->cfg.nr_usb_devices++;
	struct simcfg_usb_device *d = &t->devs[i];

	ck_assert_uint_lt(i, MAXDEVS);
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "dev%u", i);
	d->hostbus = 3;
	d->hostaddr = (uint8_t)(10 + i);
	d->cls = cls;
	d->speed = speed;
	d->verify = true;
	d->block_size = 512;
	d->size = DISK_BYTES;
	return d;
}

/* The simulated device for entry i, as the run builds it. */
static void dev_create(struct ut *t, unsigned i)
{
	struct simcfg_usb_device *d = &t->devs[i];
	struct sim_usb_hid_key_event keys[SIMCFG_USB_KEYS_MAX];
	struct sim_usb_hid_mouse_event moves[64];
	struct sim_scsi_target_config tc = {.kind = SIM_SCSI_DISK};
	char err[256];
	int n, rc = -1;

	switch (d->cls) {
	case SIMCFG_USB_STORAGE:
		snprintf(t->image[i], sizeof(t->image[i]), "%s/dev%u.img",
			 t->dir, i);
		tc.image = t->image[i];
		tc.create_size = d->size;
		tc.block_size = d->block_size;
		ck_assert_int_eq(
		    sim_scsi_target_open(&tc, &t->disk[i], err, sizeof(err)),
		    0);
		rc = sim_usb_msc_new(d->speed, t->disk[i], &t->usbdev[i], err,
				     sizeof(err));
		break;
	case SIMCFG_USB_KEYBOARD:
		n = usb_guest_keyboard_script(d, keys, SIMCFG_USB_KEYS_MAX);
		ck_assert_int_ge(n, 0);
		rc = sim_usb_hid_keyboard_new(d->speed, keys, (unsigned)n,
					      &t->usbdev[i], err, sizeof(err));
		break;
	case SIMCFG_USB_MOUSE:
		n = usb_guest_mouse_script(d, moves, 64);
		ck_assert_int_ge(n, 0);
		ck_assert_int_le(n, 64);
		rc = sim_usb_hid_mouse_new(d->speed, moves, (unsigned)n,
					   &t->usbdev[i], err, sizeof(err));
		break;
	case SIMCFG_USB_SERIAL:
		rc = sim_usb_acm_new(d->speed, &t->usbdev[i], err, sizeof(err));
		break;
	case SIMCFG_USB_ETHERNET:
		rc = sim_usb_ecm_new(d->speed, &t->usbdev[i], err, sizeof(err));
		break;
	case SIMCFG_USB_AUDIO:
		rc = sim_usb_audio_new(d->speed, &t->usbdev[i], err,
				       sizeof(err));
		break;
	case SIMCFG_USB_CAPTURE: /* whole runs test it (capture_run) */
		ck_abort_msg("device %u: class capture is not built here", i);
		break;
	}
	ck_assert_msg(rc == 0, "device %u: %s", i, err);
}

/* ---- the machine
 * -------------------------------------------------------------- */

static void ut_init(struct ut *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i <= NPORTS; i++)
		t->on_port[i] = -1;
	t->ctrl.devid = 0;
	t->ctrl.version = 2;
	t->ctrl.ports = NPORTS;
	t->cfg.usbctrls = &t->ctrl;
	t->cfg.nr_usbctrls = 1;
	t->cfg.usb_devices = t->devs;
	xpv_tmpdir_make(t->dir, sizeof(t->dir), "usbguest");
}

/* Devices built, backend and frontend up, the guest connected. */
static void ut_start(struct ut *t, uint64_t seed)
{
	struct sim_config sc;
	struct sim_domain *d;
	struct fut_callbacks cb;
	const struct usb_guest_hooks hooks = {.idle = hook_idle,
					      .closed = hook_closed,
					      .device_at = hook_device_at,
					      .arg = t};
	struct ug_stats st;

	sim_config_default(&sc, seed);
	t->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(t->sim, 0, "dom0", &d), 0);
	ck_assert_int_eq(sim_domain_create(t->sim, GUEST, "guest", &d), 0);
	for (unsigned i = 0; i < t->cfg.nr_usb_devices; i++)
		dev_create(t, i);
	toolstack_add(t);
	usbback_config_default(&t->bc);
	t->bc.sim = t->sim;
	t->bc.self = 0;
	t->bc.frontend = GUEST;
	t->bc.path = BE;
	t->bc.frontend_path = FE;
	t->bc.lookup = lookup;
	t->bc.lookup_arg = t;
	ck_assert_int_eq(usbback_create(&t->bc, &t->ub), 0);
	t->g = usb_guest_create(t->sim, &t->cfg, 0, &hooks);
	usb_guest_callbacks(t->g, &cb);
	const struct fut_env env = {.sim = t->sim,
				    .guest = GUEST,
				    .backend = 0,
				    .frontend_path = FE,
				    .backend_path = BE,
				    .log = getenv("PVUSB_LOG") ? stderr : NULL,
				    .log_level = 3};
	ck_assert_int_eq(
	    fut_create(fut_find("xpv-usbfront"), &env, &cb, &t->fut), 0);
	usb_guest_attach(t->g, t->fut);
	sim_run_until(t->sim, 10 * MS);
	usb_guest_stats(t->g, &st);
	ck_assert(st.connected);
	ck_assert_uint_eq(t->idles, 0); /* nothing plugged: never idle */
}

/* Runs until the guest reports idle (at most limit_ns more). */
static void run_to_idle(struct ut *t, uint64_t limit_ns)
{
	unsigned before = t->idles;
	uint64_t end = sim_now(t->sim) + limit_ns;

	while (t->idles == before && sim_now(t->sim) < end)
		sim_run_until(t->sim, sim_now(t->sim) + MS);
	ck_assert_msg(t->idles > before, "not idle after %llu ms",
		      (unsigned long long)(limit_ns / MS));
}

static void dev_stats(struct ut *t, unsigned dev, struct ug_device_stats *st)
{
	usb_guest_device_stats(t->g, dev, st);
}

/* Runs until device dev has done at least ops_ok ops. */
static void run_to_ops(struct ut *t, unsigned dev, uint64_t ops_ok)
{
	struct ug_device_stats st;
	uint64_t end = sim_now(t->sim) + 30 * S;

	do {
		sim_run_until(t->sim, sim_now(t->sim) + MS / 4);
		dev_stats(t, dev, &st);
	} while (st.ops_ok < ops_ok && sim_now(t->sim) < end);
	ck_assert_uint_ge(st.ops_ok, ops_ok);
}

/* The guest's written-block map against the image, byte for byte. */
struct audit {
	int fd;
	uint64_t blocks;
};

static void audit_run(void *arg, uint64_t lba, uint32_t count, uint32_t bs,
		      const uint8_t *expected)
{
	struct audit *a = arg;
	uint8_t *buf = malloc((size_t)count * bs);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(
	    pread(a->fd, buf, (size_t)count * bs, (off_t)(lba * bs)),
	    (ssize_t)count * bs);
	ck_assert_msg(memcmp(buf, expected, (size_t)count * bs) == 0,
		      "blocks %llu+%u differ from the guest's map",
		      (unsigned long long)lba, count);
	a->blocks += count;
	free(buf);
}

static uint64_t audit_image(struct ut *t, unsigned dev)
{
	struct audit a = {.fd = open(t->image[dev], O_RDONLY)};

	ck_assert_int_ge(a.fd, 0);
	usb_guest_written_blocks(t->g, dev, audit_run, &a);
	close(a.fd);
	return a.blocks;
}

/* Orderly teardown, then every checker. */
static void ut_finish(struct ut *t)
{
	struct usbback_stats bs;
	struct ug_stats st;

	if (t->fut) {
		fut_close(t->fut);
		sim_run_until(t->sim, sim_now(t->sim) + 1 * S);
		usbback_stats(t->ub, &bs);
		ck_assert_int_eq(bs.state, 6);
		ck_assert_uint_eq(bs.in_flight, 0);
		usb_guest_stats(t->g, &st);
		ck_assert(st.closed);
		ck_assert_uint_eq(t->closed, 1);
	}
	if (t->ub)
		usbback_destroy(t->ub);
	if (t->fut)
		fut_destroy(t->fut);
	usb_guest_detach(t->g);
	usb_guest_destroy(t->g);
	for (unsigned i = 0; i < t->cfg.nr_usb_devices; i++) {
		sim_usb_device_free(t->usbdev[i]);
		if (t->disk[i])
			sim_scsi_target_close(t->disk[i]);
	}
	sim_check_requests_audit(t->sim, "teardown");
	sim_domain_audit(sim_domain_get(t->sim, GUEST), "teardown");
	sim_check_report(t->sim, stderr);
	ck_assert_uint_eq(sim_violations_total(t->sim), 0);
	sim_destroy(t->sim);
	xpv_tmpdir_remove(t->dir);
}

static void assert_port(struct ut *t, uint8_t port, enum ug_port_state state,
			int device)
{
	struct ug_port_info pi;

	usb_guest_port(t->g, port, &pi);
	ck_assert_int_eq(pi.state, state);
	ck_assert_int_eq(pi.device, device);
}

/* ---- scenarios
 * ------------------------------------------------------------------ */

/* A stick at full and high speed: a verified seqrw binding, then, after
 * a re-plug, a randrw one over a small span; every read of a written
 * block verified, the guest's map equal to the image. */
START_TEST(storage_verified_workloads)
{
	static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
						    SIM_USB_SPEED_HIGH};
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_STORAGE, speeds[_i]);
	d->size = 256 * 1024; /* 64 slots of 4 KiB: randrw reads hit writes */
	d->pattern = SIMCFG_SEQRW;
	d->block = 4096;
	d->ops = 40;
	ut_start(&t, 21);
	plug(&t, 1, 0);
	run_to_idle(&t, 20 * S);
	assert_port(&t, 1, UG_PORT_BOUND, 0);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.enumerations, 1);
	ck_assert_uint_eq(st.bindings_finished, 1);
	ck_assert_uint_eq(st.ops, 40);
	ck_assert_uint_eq(st.ops_ok, 40);
	ck_assert_uint_eq(st.bytes, 40 * 4096);
	/* seqrw reads back each range it wrote: 20 reads, all verified */
	ck_assert_uint_eq(st.verified_bytes, 20 * 4096);
	ck_assert_uint_eq(st.vendor, SIM_USB_MSC_VENDOR);
	ck_assert_uint_eq(st.product, SIM_USB_MSC_PRODUCT);
	ck_assert_str_eq(st.product_name, "xpv mass storage");
	ck_assert_uint_eq(st.speed, speeds[_i]);
	ck_assert_uint_le(st.first_ns, st.last_ns);
	ck_assert_uint_eq(audit_image(&t, 0), 20 * 8);

	unplug(&t, 1);
	run_to_idle(&t, 1 * S);
	assert_port(&t, 1, UG_PORT_EMPTY, -1);
	d->pattern = SIMCFG_RANDRW;
	d->ops = 100;
	plug(&t, 1, 0);
	run_to_idle(&t, 60 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.enumerations, 2);
	ck_assert_uint_eq(st.bindings_finished, 2);
	ck_assert_uint_eq(st.ops_ok, 140);
	ck_assert_uint_gt(st.verified_bytes, 20 * 4096);
	ck_assert_uint_eq(st.unplugged_busy, 0);
	ck_assert_uint_ge(audit_image(&t, 0), 20 * 8);
	ut_finish(&t);
}
END_TEST

/* A keyboard at each speed HID allows: the typed string arrives in
 * order, each key once. */
START_TEST(keyboard_types_in_order)
{
	static const enum sim_usb_speed speeds[] = {
	    SIM_USB_SPEED_LOW, SIM_USB_SPEED_FULL, SIM_USB_SPEED_HIGH};
	static const char text[] = "hello world 42";
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct sim_usb_hid_stats hs;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_KEYBOARD, speeds[_i]);
	strcpy(d->keys, text);
	d->keys_at_ns = 100 * MS;
	d->key_interval_ns = 15 * MS;
	ut_start(&t, 5);
	plug(&t, 2, 0);
	run_to_idle(&t, 5 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.keys_seen, strlen(text));
	ck_assert_uint_eq(st.keys_lost, 0);
	ck_assert_uint_eq(st.reports, 2 * strlen(text)); /* press, release */
	ck_assert_uint_eq(st.bindings_finished, 1);
	ck_assert_uint_eq(st.product, SIM_USB_HID_KEYBOARD_PID);
	ck_assert_uint_eq(st.speed, speeds[_i]);
	ck_assert_uint_ge(st.last_ns, 100 * MS + 13 * 15 * MS);
	sim_usb_hid_stats(t.usbdev[0], &hs);
	ck_assert_uint_eq(hs.events_done, strlen(text));
	ck_assert_uint_eq(hs.protocol, 0); /* the guest asked for boot */
	ut_finish(&t);
}
END_TEST

/* A mouse: every movement arrives, in order. */
START_TEST(mouse_moves_in_order)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_MOUSE, SIM_USB_SPEED_FULL);
	d->moves = 25;
	d->keys_at_ns = 50 * MS;
	d->key_interval_ns = 8 * MS;
	ut_start(&t, 6);
	plug(&t, 1, 0);
	run_to_idle(&t, 5 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.keys_seen, 25);
	ck_assert_uint_eq(st.reports, 25);
	ck_assert_uint_eq(st.product, SIM_USB_HID_MOUSE_PID);
	ut_finish(&t);
}
END_TEST

/* A CDC-ACM adapter with its loopback plug: every write comes back. */
START_TEST(serial_loopback_verified)
{
	static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
						    SIM_USB_SPEED_HIGH};
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct sim_usb_acm_stats as;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_SERIAL, speeds[_i]);
	d->block = 700;
	d->ops = 12;
	ut_start(&t, 7);
	plug(&t, 3, 0);
	run_to_idle(&t, 10 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.ops_ok, 12);
	ck_assert_uint_eq(st.bytes, 12 * 700);
	ck_assert_uint_eq(st.verified_bytes, 12 * 700);
	sim_usb_acm_stats(t.usbdev[0], &as);
	ck_assert_uint_eq(as.bytes_in, 12 * 700);
	ck_assert_uint_eq(as.line.rate, 115200);
	ck_assert_uint_eq(as.control,
			  SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS);
	ut_finish(&t);
}
END_TEST

/* A CDC-ECM reflector: frames of the largest and a small size, each
 * reflection compared. */
START_TEST(ethernet_reflection_verified)
{
	static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
						    SIM_USB_SPEED_HIGH};
	static const uint32_t sizes[] = {60, SIM_USB_ECM_FRAME_MAX};
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct sim_usb_ecm_stats es;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_ETHERNET, speeds[_i]);
	d->block = sizes[_i];
	d->ops = 15;
	ut_start(&t, 8);
	plug(&t, 1, 0);
	run_to_idle(&t, 10 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.ops_ok, 15);
	ck_assert_uint_eq(st.verified_bytes, 15 * sizes[_i]);
	sim_usb_ecm_stats(t.usbdev[0], &es);
	ck_assert_uint_eq(es.frames_in, 15);
	ck_assert_uint_eq(es.filtered, 0);
	ck_assert(es.link_up);
	ut_finish(&t);
}
END_TEST

/* UAC1 at full speed: iso URBs each way; the microphone's samples
 * verified packet by packet, the speaker's hash equal on both sides. */
START_TEST(audio_iso_verified)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct sim_usb_audio_stats as;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_AUDIO, SIM_USB_SPEED_FULL);
	d->block = 10; /* packets per URB */
	d->ops = 12;
	ut_start(&t, 9);
	plug(&t, 4, 0);
	run_to_idle(&t, 10 * S);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.ops_ok, 24); /* 12 URBs each way */
	ck_assert_uint_eq(st.iso_packets, 240);
	ck_assert_uint_eq(st.iso_packets_bad, 0);
	ck_assert_uint_eq(st.verified_bytes, 120 * SIM_USB_AUDIO_PACKET);
	sim_usb_audio_stats(t.usbdev[0], &as);
	ck_assert_uint_eq(as.packets_out, 120);
	ck_assert_uint_eq(as.bad_len_out, 0);
	ck_assert_uint_eq(as.packets_in, 120);
	ck_assert_uint_eq(st.out_hash, as.hash_out);
	ck_assert_uint_ne(st.out_hash, SIM_USB_AUDIO_HASH_INIT);
	ut_finish(&t);
}
END_TEST

/* Hot unplug in the middle of a sequential write: the command in flight
 * fails, the binding stops, the port empties. Re-plugged on the same
 * port it enumerates again, and a seqread binding verifies every block
 * the first binding wrote and saw passed. */
START_TEST(unplug_during_storage_io_then_replug)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	uint64_t ok_before;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_STORAGE, SIM_USB_SPEED_HIGH);
	d->pattern = SIMCFG_SEQWRITE;
	d->block = 4096;
	d->ops = 2000;
	ut_start(&t, 31);
	plug(&t, 2, 0);
	run_to_ops(&t, 0, 24);
	unplug(&t, 2);
	run_to_idle(&t, 3 * S); /* the guest waits 1 s for it to return */
	assert_port(&t, 2, UG_PORT_EMPTY, -1);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.unplugged_busy, 1);
	ck_assert_uint_eq(st.bindings_finished, 0);
	ck_assert_uint_ge(st.ops_failed, 1); /* the one the unplug cut */
	ck_assert_uint_eq(st.ops, st.ops_ok + st.ops_failed);
	ok_before = st.ops_ok;
	ck_assert_uint_eq(audit_image(&t, 0), ok_before * 8);

	d->pattern = SIMCFG_SEQREAD;
	d->ops = ok_before;
	plug(&t, 2, 0);
	run_to_idle(&t, 20 * S);
	assert_port(&t, 2, UG_PORT_BOUND, 0);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.enumerations, 2);
	ck_assert_uint_eq(st.bindings_finished, 1);
	ck_assert_uint_eq(st.ops_ok, 2 * ok_before);
	ck_assert_uint_eq(st.verified_bytes, ok_before * 4096);
	ut_finish(&t);
}
END_TEST

/* Two devices on two ports at once, each at its own address, both
 * finished. */
START_TEST(two_devices_at_once)
{
	struct simcfg_usb_device *a, *b;
	struct ug_device_stats sa, sb;
	struct ug_port_info p1, p3;
	struct ut t;

	ut_init(&t);
	a = dev_add(&t, SIMCFG_USB_STORAGE, SIM_USB_SPEED_FULL);
	a->pattern = SIMCFG_SEQRW;
	a->block = 8192;
	a->ops = 30;
	b = dev_add(&t, SIMCFG_USB_SERIAL, SIM_USB_SPEED_FULL);
	b->block = 64;
	b->ops = 30;
	ut_start(&t, 41);
	plug(&t, 1, 0);
	plug(&t, 3, 1);
	run_to_idle(&t, 20 * S);
	dev_stats(&t, 0, &sa);
	dev_stats(&t, 1, &sb);
	ck_assert_uint_eq(sa.bindings_finished, 1);
	ck_assert_uint_eq(sb.bindings_finished, 1);
	ck_assert_uint_eq(sa.verified_bytes, 15 * 8192);
	ck_assert_uint_eq(sb.verified_bytes, 30 * 64);
	usb_guest_port(t.g, 1, &p1);
	usb_guest_port(t.g, 3, &p3);
	ck_assert_uint_ne(p1.address, 0);
	ck_assert_uint_ne(p3.address, 0);
	ck_assert_uint_ne(p1.address, p3.address);
	ck_assert_uint_eq(p1.iclass, 8);
	ck_assert_uint_eq(p3.iclass, 2);
	/* Overlapping in time, not one after the other. */
	ck_assert_uint_lt(sa.first_ns, sb.last_ns);
	ck_assert_uint_lt(sb.first_ns, sa.last_ns);
	ut_finish(&t);
}
END_TEST

/* The backend drops one request (be-no-answer) during the storage
 * workload: the guest's timeout unlinks it, the reset recovery runs, the
 * command is retried, and the workload ends verified. */
START_TEST(timeout_unlinks_and_recovers)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct ug_stats gs;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_STORAGE, SIM_USB_SPEED_FULL);
	d->pattern = SIMCFG_SEQRW;
	d->block = 2048;
	d->ops = 30;
	ut_start(&t, 51);
	/* The 40th URB request from here on: past enumeration and the
	 * scan, inside the workload's commands. */
	sim_fault_countdown(sim_faults(t.sim), SIM_FAULT_BE_NO_ANSWER, 40,
			    false);
	plug(&t, 1, 0);
	run_to_idle(&t, 60 * S);
	usb_guest_stats(t.g, &gs);
	ck_assert_uint_eq(
	    sim_fault_injected(sim_faults(t.sim), SIM_FAULT_BE_NO_ANSWER), 1);
	ck_assert_uint_eq(gs.timeouts, 1);
	ck_assert_uint_ge(gs.unlinks, 1);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.urbs_unlinked, 1);
	ck_assert_uint_eq(st.reset_recoveries, 1);
	ck_assert_uint_eq(st.retried, 1);
	ck_assert_uint_eq(st.ops_ok, 30);
	ck_assert_uint_eq(st.verified_bytes, 15 * 2048);
	ck_assert_uint_eq(st.bindings_finished, 1);
	/* it waited its 10 s */
	ck_assert_uint_ge(st.last_ns - st.first_ns, 10 * S);
	ut_finish(&t);
}
END_TEST

/* Save/restore in the middle of the storage workload: in-flight URBs
 * fail, the new backend reports the stick again, the guest enumerates it
 * afresh and the binding finishes its remaining ops. */
START_TEST(resume_reenumerates_and_continues)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct ug_stats gs;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_STORAGE, SIM_USB_SPEED_HIGH);
	d->pattern = SIMCFG_SEQRW;
	d->block = 4096;
	d->ops = 120;
	ut_start(&t, 61);
	plug(&t, 1, 0);
	run_to_ops(&t, 0, 30);
	ck_assert_int_eq(fut_suspend(t.fut), 0);
	usbback_destroy(t.ub);
	xs_put(&t, BE, "state", "1");
	ck_assert_int_eq(usbback_create(&t.bc, &t.ub), 0);
	ck_assert_int_eq(fut_resume(t.fut), 0);
	run_to_idle(&t, 30 * S);
	usb_guest_stats(t.g, &gs);
	ck_assert(gs.resumed);
	ck_assert(!gs.error);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.enumerations, 2);
	ck_assert_uint_eq(st.bindings_finished, 1);
	ck_assert_uint_le(st.ops_failed, 1); /* the one the resume cut */
	ck_assert_uint_ge(st.ops_ok, 119);
	ck_assert_uint_le(st.ops, 121);
	ck_assert_uint_gt(st.verified_bytes, 50 * 4096);
	ut_finish(&t);
}
END_TEST

/* A hostile backend puts the frontend in its error state mid-workload:
 * the guest stops cleanly, every URB comes back, nothing leaks. */
START_TEST(frontend_error_stops_guest)
{
	struct simcfg_usb_device *d;
	struct ug_device_stats st;
	struct ug_stats gs;
	struct fut_stats fs;
	struct ut t;

	ut_init(&t);
	d = dev_add(&t, SIMCFG_USB_STORAGE, SIM_USB_SPEED_HIGH);
	d->pattern = SIMCFG_RANDRW;
	d->block = 4096;
	d->ops = 500;
	ut_start(&t, 71);
	sim_fault_countdown(sim_faults(t.sim), SIM_FAULT_BE_BAD_ID, 60, false);
	plug(&t, 1, 0);
	run_to_idle(&t, 10 * S);
	fut_stats(t.fut, &fs);
	ck_assert(fs.error);
	usb_guest_stats(t.g, &gs);
	ck_assert(gs.error);
	dev_stats(&t, 0, &st);
	ck_assert_uint_eq(st.bindings_finished, 0);
	ck_assert_uint_lt(st.ops, 500);
	ck_assert_uint_eq(sim_check_requests_open(t.sim), 0);
	/* The error state is for good: tear down without an orderly
	 * close. */
	usbback_destroy(t.ub);
	t.ub = NULL;
	fut_destroy(t.fut);
	t.fut = NULL;
	ut_finish(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usb_guest");
	TCase *tc = tcase_create("scenario");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, storage_verified_workloads, 0, 2);
	tcase_add_loop_test(tc, keyboard_types_in_order, 0, 3);
	tcase_add_test(tc, mouse_moves_in_order);
	tcase_add_loop_test(tc, serial_loopback_verified, 0, 2);
	tcase_add_loop_test(tc, ethernet_reflection_verified, 0, 2);
	tcase_add_test(tc, audio_iso_verified);
	tcase_add_test(tc, unplug_during_storage_io_then_replug);
	tcase_add_test(tc, two_devices_at_once);
	tcase_add_test(tc, timeout_unlinks_and_recovers);
	tcase_add_test(tc, resume_reenumerates_and_continues);
	tcase_add_test(tc, frontend_error_stops_guest);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
