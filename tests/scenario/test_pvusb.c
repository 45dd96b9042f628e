/*
 * PVUSB end to end: the reference frontend core (drivers/usbfront) against
 * the qusb model (sim/backends/usbback) and simulated devices (sim/devices:
 * a HID keyboard, a mass-storage stick on an image file, a CDC-ACM
 * adapter, a CDC-ECM Ethernet reflector, a USB Audio 1.0 speaker and
 * microphone), reached through the frontend-under-test interface
 * (sim/fut) by the shared fixture (pvusb_fixture.h), with the test playing
 * the guest's USB core and class drivers: hub polling, port reset,
 * enumeration, an interrupt-IN reader, a Bulk-Only Transport initiator,
 * cdc_ether's and snd-usb-audio's parts. The toolstack plugs and unplugs
 * by writing the backend's port/<N> node, as `xl usbdev-attach` does.
 * Every checker audits the guest at the end. Backend misbehaviour has its
 * own file (test_pvusb_misbehave.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvusb_fixture.h"
#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_ecm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_msc.h"
#include "tmpdir.h"

#define MS PV_MS
#define ADDR PV_ADDR(1)

/* One 8-byte report from the keyboard's interrupt IN endpoint 1. */
static int read_report(struct pv *p, uint8_t report[8], uint64_t *at)
{
	struct turb u;

	pv_int_urb(&u, 1, 1, report, 8, 10);
	ck_assert_int_eq(pv_submit(p, &u), 0);
	pv_wait(p, &u);
	*at = sim_now(p->sim);
	return u.status;
}

/* 'a', 'b', 'c' typed 100 ms apart, from 200 ms on. */
static const struct sim_usb_hid_key_event keys[] = {
	{ 200 * MS, 0, 0x04 }, { 300 * MS, 0, 0x05 }, { 400 * MS, 0, 0x06 },
};

static struct sim_usb_device *keyboard(enum sim_usb_speed speed)
{
	struct sim_usb_device *d;
	char err[256];

	ck_assert_int_eq(sim_usb_hid_keyboard_new(speed, keys, 3, &d, err,
						  sizeof(err)), 0);
	return d;
}

/* ---- a Bulk-Only Transport initiator (usb-storage's part) ------------------ */

/* A bulk transfer on the storage class's endpoints, waited for. */
static int bulk(struct pv *p, bool in, void *buf, uint32_t len,
		uint32_t *actual)
{
	return pv_bulk(p, 1, in ? SIM_USB_MSC_EP_IN : SIM_USB_MSC_EP_OUT, in,
		       buf, len, actual);
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
	ck_assert_int_eq(pv_ctrl(p, 1, ADDR, 0x02, 1, 0,
				 0x80 | SIM_USB_MSC_EP_IN, NULL, 0, NULL),
			 0);
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
	pv_attach(&p, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * MS);
	ck_assert_uint_ge(p.port_changes, 1);
	pv_port_reset(&p, 1);
	pv_enumerate(&p, 1, 3);
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
	pv_plug(&p, 1, 3);
	pv_int_urb(&u, 1, 1, r, 8, 10);
	before = p.done;
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS); /* NAKed: waits */
	ck_assert_uint_eq(p.done, before);
	pv_detach(&p, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -71);
	fut_usb_port_status(p.fut, 1, &st, &ch);
	ck_assert(!(st & FUT_USB_PORT_CONNECTION));
	ck_assert(ch & FUT_USB_C_CONNECTION);
	fut_usb_port_feature(p.fut, 1, FUT_USB_FEAT_C_CONNECTION, false);
	pv_plug(&p, 1, 3);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert(!pv_in_error(&p));
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
	pv_plug(&p, 1, 8);
	ck_assert_int_eq(pv_ctrl(&p, 1, ADDR, 0xa1,
				 SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, &lun, 1,
				 &n),
			 0);
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
	pv_plug(p, 1, 8);
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
		pv_bulk_urb(&u[i], 1, SIM_USB_MSC_EP_IN, true, buf[i],
			 sizeof(buf[i]));
		ck_assert_int_eq(pv_submit(&p, &u[i]), 0);
	}
	sim_run_until(p.sim, sim_now(p.sim) + 200000); /* 200 us */
	ck_assert_msg(p.done == before, "%d %u / %d %u", u[0].status,
		      u[0].actual, u[1].status, u[1].actual);
	pv_detach(&p, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 2);
	ck_assert_int_eq(u[0].status, -71);
	ck_assert_int_eq(u[1].status, -71);
	ck_assert(!pv_in_error(&p));
	ck_assert_uint_eq(pv_in_flight(&p), 0);
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
	pv_plug(&p, 1, 3);
	pv_int_urb(&u, 1, 1, r, 8, 10);
	before = p.done;
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 30 * MS);
	ck_assert_uint_eq(p.done, before); /* nothing typed yet */
	ck_assert_int_eq(fut_usb_unlink(p.fut, u.tag), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -ECONNRESET);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert_uint_eq(r[2], keys[0].keycode);
	ck_assert(!pv_in_error(&p));
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
	pv_plug(&p, 1, 3);
	pv_int_urb(&u, 1, 1, r, 8, 7);
	before = p.done;
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	/* A restore: the old backend went with the old domain, the
	 * toolstack starts a new one with the same nodes. */
	ck_assert_int_eq(fut_suspend(p.fut), 0);
	pv_backend_restart(&p, false);
	ck_assert_int_eq(fut_resume(p.fut), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * MS);
	ck_assert_uint_eq(p.done, before + 1);
	ck_assert_int_eq(u.status, -ESHUTDOWN);
	pv_port_reset(&p, 1);
	pv_enumerate(&p, 1, 3);
	ck_assert_int_eq(read_report(&p, r, &at), 0);
	ck_assert_uint_eq(r[2], keys[0].keycode);
	ck_assert(!pv_in_error(&p));
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
	ck_assert(pv_in_error(&p));
	sim_gnttab_stats(sim_domain_get(p.sim, PV_GUEST), &gs);
	ck_assert_uint_eq(gs.quarantined, 2);
	pv_teardown(&p, PV_NO_CHECK);
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
	uint32_t got = 0;
	struct pv p;

	ck_assert_int_eq(sim_usb_acm_new(speeds[_i], &acm, err, sizeof(err)),
			 0);
	pv_start(&p, acm);
	pv_plug(&p, 1, 2);
	ck_assert_int_eq(pv_ctrl(&p, 1, ADDR, 0x21,
				 SIM_USB_ACM_SET_LINE_CODING, 0, 0,
				 (void *)coding, 7, NULL),
			 0);
	ck_assert_int_eq(pv_ctrl(&p, 1, ADDR, 0x21,
				 SIM_USB_ACM_SET_CONTROL_LINE_STATE,
				 SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS,
				 0, NULL, 0, NULL),
			 0);
	pv_int_urb(&u, 1, SIM_USB_ACM_EP_NOTIFY, note, sizeof(note), 8);
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	pv_wait(&p, &u);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.actual, SIM_USB_ACM_NOTIFY_LEN);
	ck_assert_uint_eq(note[1], SIM_USB_ACM_SERIAL_STATE);
	for (int w = 0; w < 3; w++) {
		for (int i = 0; i < 300; i++)
			out[w][i] = (uint8_t)(w * 300 + i);
		pv_bulk_urb(&u, 1, SIM_USB_ACM_EP_OUT, false, out[w], 300);
		ck_assert_int_eq(pv_submit(&p, &u), 0);
		pv_wait(&p, &u);
		ck_assert_int_eq(u.status, 0);
	}
	while (got < sizeof(in)) {
		pv_bulk_urb(&u, 1, SIM_USB_ACM_EP_IN, true, in + got,
			    (uint32_t)sizeof(in) - got);
		ck_assert_int_eq(pv_submit(&p, &u), 0);
		pv_wait(&p, &u);
		ck_assert_int_eq(u.status, 0);
		ck_assert_uint_gt(u.actual, 0);
		got += u.actual;
	}
	for (uint32_t i = 0; i < sizeof(in); i++)
		ck_assert_uint_eq(in[i], (uint8_t)i);
	sim_usb_acm_stats(acm, &as);
	ck_assert_uint_eq(as.line.rate, 115200);
	ck_assert_uint_eq(as.bytes_in, sizeof(in));
	pv_finish(&p);
}
END_TEST

/* ---- cdc_ether's part ------------------------------------------------------- */

/* One notification from the ECM interrupt endpoint: its bytes in n. */
static uint32_t ecm_notification(struct pv *p, bool high, uint8_t n[16])
{
	struct turb u;

	/* bInterval 16 frames, or 2^(8-1) microframes: 16 ms. */
	pv_int_urb(&u, 1, SIM_USB_ECM_EP_NOTIFY, n, 16, high ? 128 : 16);
	ck_assert_int_eq(pv_submit(p, &u), 0);
	pv_wait(p, &u);
	ck_assert_int_eq(u.status, 0);
	return u.actual;
}

/* A frame from the host (source: the adapter's address, which the host
 * uses as its own) to a peer, len bytes, with a payload of its own. */
static void ecm_frame(uint8_t *f, uint32_t len, unsigned seed)
{
	static const uint8_t mac[6] = SIM_USB_ECM_MAC;
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x42 };

	memcpy(f, peer, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* IEEE 802 local experimental EtherType */
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
}

/* A CDC-ECM adapter at full and high speed, driven as Linux's cdc_ether
 * does: data interface alternate 1 (the link comes up), the packet
 * filter, the NETWORK_CONNECTION and CONNECTION_SPEED_CHANGE
 * notifications, then frames of several sizes (header only, minimum
 * Ethernet, odd, maximum) each written on bulk OUT and its reflection
 * (addresses swapped) read from bulk IN and compared byte for byte. */
START_TEST(ecm_reflects_frames)
{
	static const enum sim_usb_speed speeds[] = { SIM_USB_SPEED_FULL,
						     SIM_USB_SPEED_HIGH };
	static const uint32_t sizes[] = { 14, 60, 333, 1514 };
	bool high = speeds[_i] == SIM_USB_SPEED_HIGH;
	uint8_t n[16], out[1514], want[1514], in[1514];
	struct sim_usb_ecm_stats es;
	struct sim_usb_device *ecm;
	char err[256];
	uint32_t got;
	struct pv p;

	ck_assert_int_eq(sim_usb_ecm_new(speeds[_i], &ecm, err, sizeof(err)),
			 0);
	pv_start(&p, ecm);
	pv_plug(&p, 1, 2);
	pv_set_interface(&p, 1, SIM_USB_ECM_DATA_IFACE, 1);
	ck_assert_int_eq(pv_ctrl(&p, 1, ADDR, 0x21,
				 SIM_USB_ECM_SET_PACKET_FILTER,
				 SIM_USB_ECM_FILTER_DIRECTED |
				     SIM_USB_ECM_FILTER_BROADCAST,
				 SIM_USB_ECM_COMM_IFACE, NULL, 0, NULL),
			 0);
	/* NETWORK_CONNECTION, connected (wValue 1), to interface 0. */
	ck_assert_uint_eq(ecm_notification(&p, high, n),
			  SIM_USB_ECM_NETWORK_CONNECTION_LEN);
	ck_assert_mem_eq(n, ((uint8_t[]){ 0xa1, 0x00, 1, 0, 0, 0, 0, 0 }), 8);
	/* CONNECTION_SPEED_CHANGE: 10 or 100 Mbit/s both ways. */
	ck_assert_uint_eq(ecm_notification(&p, high, n),
			  SIM_USB_ECM_CONNECTION_SPEED_LEN);
	ck_assert_uint_eq(n[1], SIM_USB_ECM_CONNECTION_SPEED_CHANGE);
	ck_assert_uint_eq(get_le32(n + 8), high ? 100000000u : 10000000u);
	ck_assert_uint_eq(get_le32(n + 12), get_le32(n + 8));
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint32_t len = sizes[k];

		ecm_frame(out, len, k);
		memcpy(want, out + 6, 6); /* the reflection swaps them */
		memcpy(want + 6, out, 6);
		memcpy(want + 12, out + 12, len - 12);
		ck_assert_int_eq(pv_bulk(&p, 1, SIM_USB_ECM_EP_OUT, false, out,
					 len, &got),
				 0);
		ck_assert_uint_eq(got, len);
		memset(in, 0xee, sizeof(in));
		ck_assert_int_eq(pv_bulk(&p, 1, SIM_USB_ECM_EP_IN, true, in,
					 sizeof(in), &got),
				 0);
		ck_assert_uint_eq(got, len);
		ck_assert_mem_eq(in, want, len);
	}
	sim_usb_ecm_stats(ecm, &es);
	ck_assert(es.link_up);
	ck_assert_uint_eq(es.filter_sets, 1);
	ck_assert_uint_eq(es.frames_out, 4);
	ck_assert_uint_eq(es.frames_in, 4);
	ck_assert_uint_eq(es.dropped + es.filtered + es.flushed, 0);
	ck_assert(!pv_in_error(&p));
	pv_finish(&p);
}
END_TEST

/* ---- snd-usb-audio's part ----------------------------------------------------- */

#define AUDIO_NPK 8 /* packets per URB, as snd-usb-audio's nrpacks */

/* Sampling frequency SET_CUR (3 bytes of Hz) on an iso endpoint. */
static int audio_set_rate(struct pv *p, uint16_t ep_addr, uint32_t hz)
{
	uint8_t b[3] = { (uint8_t)hz, (uint8_t)(hz >> 8), (uint8_t)(hz >> 16) };

	return pv_ctrl(p, 1, ADDR, 0x22, SIM_USB_AUDIO_SET_CUR,
		       SIM_USB_AUDIO_SAMPLING_FREQ << 8, ep_addr, b, 3, NULL);
}

/* Every packet of u: status 0, all of its 192 bytes; the URB the sum. */
static void audio_expect_packets(const struct turb *u)
{
	ck_assert_int_eq(u->status, 0);
	ck_assert_uint_eq(u->error_count, 0);
	ck_assert_uint_eq(u->actual, AUDIO_NPK * SIM_USB_AUDIO_PACKET);
	for (uint32_t i = 0; i < u->npackets; i++) {
		ck_assert_int_eq(u->packets[i].status, 0);
		ck_assert_uint_eq(u->packets[i].actual, SIM_USB_AUDIO_PACKET);
	}
}

/* The backend's timing (usbback.h): an iso transfer's first packet goes
 * at the (micro)frame boundary after the request arrives, one packet per
 * interval (1 ms here at both speeds), and an endpoint serves one
 * transfer at a time. start_frame counts frames (full speed, mod 2048)
 * or microframes (high speed, mod 16384). For URBs queued together on
 * one endpoint: the first starts one or two (micro)frames after its
 * submission (the request's delivery takes microseconds), and each next
 * one at the boundary after the previous one's last interval and the
 * device's latency (10 us, under a microframe): AUDIO_NPK intervals and
 * one (micro)frame later. Each takes AUDIO_NPK ms plus less than two
 * (micro)frames from submission to giveback, or longer by the
 * transfers queued before it. */
static void audio_expect_timing(struct turb *u, unsigned n, bool high)
{
	uint64_t frame_ns = high ? 125000 : PV_MS;
	uint32_t span = high ? 16384 : 2048;
	uint32_t ival = high ? 8 : 1; /* (micro)frames per packet */
	uint32_t s = (uint32_t)(u[0].submit_ns / frame_ns % span);
	uint32_t d = (u[0].start_frame + span - s) % span;

	ck_assert_msg(d == 1 || d == 2, "start_frame %u, submitted in %u",
		      u[0].start_frame, s);
	for (unsigned k = 0; k < n; k++) {
		uint64_t took = u[k].back_ns - u[k].submit_ns;
		uint64_t queued = k * (AUDIO_NPK * PV_MS + frame_ns);

		ck_assert_uint_ge(took, AUDIO_NPK * PV_MS + queued);
		ck_assert_uint_lt(took, AUDIO_NPK * PV_MS + queued +
						2 * frame_ns);
		if (k == 0)
			continue;
		ck_assert_uint_eq(u[k].start_frame,
				  (u[k - 1].start_frame + AUDIO_NPK * ival + 1) %
				      span);
	}
}

/* n iso URBs of AUDIO_NPK packets on ep, submitted together. */
static void audio_stream(struct pv *p, bool high, bool in, uint8_t *buf,
			 struct turb *u,
			 struct fut_usb_iso_packet (*pk)[AUDIO_NPK],
			 unsigned n)
{
	uint8_t ep = in ? SIM_USB_AUDIO_EP_IN : SIM_USB_AUDIO_EP_OUT;
	uint32_t bytes = AUDIO_NPK * SIM_USB_AUDIO_PACKET;

	for (unsigned k = 0; k < n; k++) {
		pv_iso_urb(&u[k], 1, ep, in, buf + k * bytes, pk[k], AUDIO_NPK,
			   SIM_USB_AUDIO_PACKET, high ? 8 : 1);
		ck_assert_int_eq(pv_submit(p, &u[k]), 0);
	}
	for (unsigned k = 0; k < n; k++) {
		pv_wait(p, &u[k]);
		audio_expect_packets(&u[k]);
	}
	audio_expect_timing(u, n, high);
}

/* The speaker and microphone at full and high speed, as snd-usb-audio
 * starts them: both streaming interfaces to alternate 1, the sampling
 * frequency set on each endpoint, then iso OUT URBs (checked against the
 * speaker's hash of what it consumed) and iso IN URBs (checked sample by
 * sample against the microphone's pattern, continuous across URBs), each
 * packet's status and length, start frames and the 1 ms spacing. */
START_TEST(audio_streams)
{
	static const enum sim_usb_speed speeds[] = { SIM_USB_SPEED_FULL,
						     SIM_USB_SPEED_HIGH };
	enum { NOUT = 3, NIN = 2, BYTES = AUDIO_NPK * SIM_USB_AUDIO_PACKET };
	bool high = speeds[_i] == SIM_USB_SPEED_HIGH;
	static uint8_t out[NOUT * BYTES], in[NIN * BYTES];
	struct fut_usb_iso_packet pk[NOUT][AUDIO_NPK];
	struct sim_usb_audio_stats as;
	struct sim_usb_device *audio;
	struct turb u[NOUT];
	char err[256];
	struct pv p;

	ck_assert_int_eq(sim_usb_audio_new(speeds[_i], &audio, err,
					   sizeof(err)),
			 0);
	pv_start(&p, audio);
	pv_plug(&p, 1, 1);
	pv_set_interface(&p, 1, SIM_USB_AUDIO_SPK_IFACE, 1);
	pv_set_interface(&p, 1, SIM_USB_AUDIO_MIC_IFACE, 1);
	ck_assert_int_eq(audio_set_rate(&p, SIM_USB_AUDIO_EP_OUT, 48000), 0);
	ck_assert_int_eq(audio_set_rate(&p, 0x80 | SIM_USB_AUDIO_EP_IN,
					48000),
			 0);
	for (uint32_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 13 + (i >> 9));
	audio_stream(&p, high, false, out, u, pk, NOUT);
	memset(in, 0xee, sizeof(in));
	audio_stream(&p, high, true, in, u, pk, NIN);
	for (uint32_t f = 0; f < sizeof(in) / SIM_USB_AUDIO_FRAME_SIZE; f++) {
		int16_t l, r;

		sim_usb_audio_mic_sample(f, &l, &r);
		ck_assert_int_eq((int16_t)(in[4 * f] | in[4 * f + 1] << 8), l);
		ck_assert_int_eq((int16_t)(in[4 * f + 2] | in[4 * f + 3] << 8),
				 r);
	}
	sim_usb_audio_stats(audio, &as);
	ck_assert_uint_eq(as.freq_sets, 2);
	ck_assert_uint_eq(as.packets_out, NOUT * AUDIO_NPK);
	ck_assert_uint_eq(as.hash_out,
			  sim_usb_audio_hash(SIM_USB_AUDIO_HASH_INIT, out,
					     sizeof(out)));
	ck_assert_uint_eq(as.bad_len_out + as.underruns + as.bad_len_in, 0);
	ck_assert_uint_eq(as.packets_in, NIN * AUDIO_NPK);
	ck_assert_uint_eq(as.mic_position, NIN * AUDIO_NPK * 48);
	ck_assert_uint_eq(pv_be_stats(&p).iso_packets,
			  (NOUT + NIN) * AUDIO_NPK);
	ck_assert(!pv_in_error(&p));
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
	tcase_add_loop_test(tc, ecm_reflects_frames, 0, 2);
	tcase_add_loop_test(tc, audio_streams, 0, 2);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
