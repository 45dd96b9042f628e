/*
 * The guest's USB stack, stood in for: what sits above one PVUSB
 * controller (a vusb frontend) in a simulated guest. It reaches the
 * frontend only through the frontend-under-test interface (sim/fut/fut.h).
 *
 * Hub driver: a port-change callback reads the port's status; a new
 * connection is acknowledged (C_CONNECTION cleared) and the port reset;
 * when the reset completes (C_RESET) the device is enumerated as Linux's
 * usb_new_device does: GET_DESCRIPTOR(device, 8) at address 0,
 * SET_ADDRESS, GET_DESCRIPTOR(device, 18), the configuration (9 bytes,
 * then wTotalLength), the language list and the manufacturer, product and
 * serial strings, SET_CONFIGURATION. A failed step is retried once after
 * another port reset, then the port is given up (enum_failed). A
 * disconnection unbinds whatever is on the port: its URBs come back
 * (the frontend fails them) and its class driver stops.
 *
 * Class drivers, bound by the first interface's class (and subclass for
 * CDC), which must agree with the entry's class (a captured device's is
 * its own: "capture" below); what each does per
 * binding comes from the sim_usb_devices entry the hooks name for the
 * port (sim/cli/simcfg.h). A binding is finished when its work is done;
 * it stops early when a transfer fails in a way that says the device is
 * gone or broken (anything but a STALL the class recovers from, or the
 * guest's own timeout): nothing is retried on a port that may be gone.
 *   storage   Bulk-Only Transport: GET_MAX_LUN, TEST UNIT READY (retried
 *             on UNIT ATTENTION), INQUIRY, READ CAPACITY(10), then ops
 *             READ(10)/WRITE(10) commands of block bytes (a multiple of
 *             the medium's block size), one at a time (BOT has no
 *             queueing), at places the pattern says: seqread / seqwrite
 *             op i at slot i; seqrw writes slot i/2 then reads it back;
 *             randread / randwrite / randrw (half and half) at seeded
 *             random slots (slot = block bytes, aligned, within the
 *             medium's first 16 Mi blocks). Every write carries a stamp
 *             (device index, LBA, generation); every read of a block this
 *             guest wrote is verified byte for byte (state kept per
 *             device, so it survives unplug and re-plug); a read of a
 *             block never written, or whose last write did not pass, is
 *             not verified. The map records a write only once its CSW
 *             says passed. Failed commands get REQUEST SENSE; UNIT
 *             ATTENTION and transport errors (after the reset recovery)
 *             are retried twice. A STALL on a bulk pipe is cleared with
 *             CLEAR_FEATURE(ENDPOINT_HALT) and the CSW read again; a bad
 *             CSW, a phase error or a timed-out transfer gets the reset
 *             recovery (Bulk-Only Mass Storage Reset, CLEAR_HALT on both
 *             pipes).
 *   keyboard  SET_IDLE(0), SET_PROTOCOL(boot), then one interrupt URB
 *   mouse     always queued: 8-byte boot reports; every key press (a usage
 *             not in the previous report) must be the next of the
 *             entry's keys, every mouse report the next of its moves
 *             (usb_guest_mouse_script's), else data-corrupt. The position
 *             is kept per device: after a binding that ended early (a
 *             report may have been lost in flight, e.g. at a resume) the
 *             next event may skip ahead; the skipped ones count as
 *             keys_lost. Finished when every scripted event was seen or
 *             lost.
 *   serial    SET_LINE_CODING(115200 8N1), SET_CONTROL_LINE_STATE(DTR|
 *             RTS), then ops writes of block bytes (1..4096: the loop's
 *             size) on bulk OUT, each read back from bulk IN until all
 *             are there, and compared when verify.
 *   ethernet  the MAC address string, SET_INTERFACE(data, 1),
 *             SET_ETHERNET_PACKET_FILTER, the NETWORK_CONNECTION
 *             notification, then ops frames of block bytes (14..1514)
 *             from a made-up peer to the adapter's address, each
 *             reflection read (1536-byte buffer) and compared.
 *   audio     SET_INTERFACE(1) on both streaming interfaces, the sampling
 *             frequency on both endpoints, then ops isochronous URBs of
 *             block packets (192 bytes, 1 ms each) each way, one in
 *             flight per direction: OUT carries a deterministic signal,
 *             folded into out_hash (sim_usb_audio_hash from
 *             SIM_USB_AUDIO_HASH_INIT) for every URB that completed, so
 *             that with no URB failed it equals the device's hash_out;
 *             IN is checked sample by sample against
 *             sim_usb_audio_mic_sample (the position restarts at every
 *             binding, with the alternate setting); every frame
 *             descriptor's status and actual (192) are checked
 *             (iso_packets_bad).
 *   capture   a real device replayed from a capture (class capture in
 *             sim_usb_devices): no class of its own. It is bound as what
 *             its first interface is, as Linux picks a driver: class 8
 *             protocol 0x50 storage, class 3 boot subclass protocol 1
 *             keyboard and 2 mouse, class 2 subclass 2 serial and 6
 *             ethernet, class 1 audio; the driver sees the entry through
 *             that class (simcfg_usb_capture_binding: its defaults for
 *             block, ops, pattern). Anything else has no driver here: it
 *             counts as enumerated and its binding as finished at once.
 *             Nothing a captured device sends is verified (verify is off
 *             in that view), since it answers from a recording, not from
 *             what this guest sent: a difference is the replay's
 *             divergence (usb_replay.h), which the run reports, never
 *             data-corrupt. A captured HID device has no script: the
 *             reader takes ops reports (default 8), each an op, contents
 *             unchecked, and finishes early (nothing lost) when none
 *             came for 11 s (the replay holds an IN back for at most
 *             10 s); a STALLed SET_PROTOCOL is no failure (a capture of
 *             Linux's usbhid, which keeps the report protocol, has none
 *             to replay). The frontend checkers below apply as to any
 *             device.
 * An URB out for longer than its timeout (control 5 s, bulk 10 s,
 * interrupt and iso never) is unlinked, as usb_start_wait_urb does.
 *
 * Suspend and resume: the frontend fails what is in flight and reports
 * the still-attached devices again; each is enumerated afresh (Linux's
 * reset-resume) and a binding the resume interrupted carries on with its
 * remaining ops (the same device back on the same port after a resume).
 * An unplug and re-plug is a new binding, with all its ops. When the
 * frontend enters its error state the guest stops: no new work, bindings
 * end as their URBs come back.
 *
 * Idle: the idle hook is called (from an event of its own) each time the
 * guest becomes idle: at least one device was ever seen on a port, no
 * port is being reset or enumerated, no hub news is pending, and every
 * bound port's binding is finished or stopped, and no port lost a device
 * with unfinished work less than 1 s ago (a resume re-reports the devices
 * a moment after it dropped them; the work then carries on). It is not
 * called while no device was ever seen (the run knows whether one is
 * coming).
 *
 * The guest is also a checker: each URB is a request for the exactly-once
 * checker; a failed IN URB must leave its buffer untouched
 * (data-on-failure); actual may not exceed the length
 * (completion-overlong); verified data that differs is data-corrupt.
 */
#ifndef SIM_GUEST_USB_GUEST_H
#define SIM_GUEST_USB_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/cli/simcfg.h"
#include "sim/devices/usb_hid.h"
#include "sim/fut/fut.h"

struct usb_guest;
struct usbmon;

enum ug_port_state {
	UG_PORT_EMPTY,
	UG_PORT_RESETTING,
	UG_PORT_ENUMERATING,
	UG_PORT_BOUND,	/* a class driver runs (or has finished) */
	UG_PORT_FAILED, /* enumeration given up, or no driver for it */
};

/* Per sim_usb_devices entry, summed over every binding on this guest. */
struct ug_device_stats {
	uint32_t enumerations, enum_failed, bindings_finished;
	uint32_t unplugged_busy; /* disconnects of an unfinished binding */
	uint64_t urbs, urbs_ok, urbs_failed, urbs_unlinked;
	uint64_t stalls, clear_halts, reset_recoveries;
	/* The class work: storage commands, serial writes, frames, iso
	 * URBs; HID reports received. */
	uint64_t ops, ops_ok, ops_failed, retried; /* audio: each way */
	uint64_t bytes, verified_bytes;
	uint64_t reports, keys_seen, keys_lost;
	uint64_t iso_packets, iso_packets_bad; /* both ways */
	uint64_t out_hash; /* audio: sim_usb_audio_hash of what was sent */
	uint64_t first_ns, last_ns; /* first class op submitted, last done
				     * (HID: reader started, last report) */
	uint16_t vendor, product;   /* from the device descriptor */
	uint8_t speed;		    /* enum sim_usb_speed at the last bind */
	/* The class driver of the last binding ("usbhid", "usb-storage",
	 * "cdc-acm", "cdc_ether", "snd-usb-audio"; "none": a captured
	 * device of another class), NULL: never bound. */
	const char *driver;
	char product_name[64];	    /* string descriptor, ASCII */
};

struct ug_stats {
	uint64_t urbs, completed, failed, unlinks, timeouts;
	uint64_t port_changes, port_resets;
	bool connected, resumed, error, closed;
};

struct ug_port_info {
	enum ug_port_state state;
	int device; /* sim_usb_devices index the hooks named, -1 */
	uint8_t address;
	uint8_t iclass; /* first interface's class */
};

struct usb_guest_hooks {
	/* Every bound device's work is finished and no port is being
	 * reset or enumerated (the exact rule: "Idle" above). */
	void (*idle)(void *arg);
	void (*closed)(void *arg);
	/* Which sim_usb_devices entry is on this port of this controller
	 * now, -1 none (the toolstack knows). */
	int (*device_at)(void *arg, uint8_t port);
	void *arg;
	/* Where every URB is recorded as usbmon records (sim/trace/
	 * usbmon.h) with this bus number: its submission (or refusal) and
	 * its giveback, with the buffer as the guest submitted or received
	 * it. NULL: nowhere. */
	struct usbmon *usbmon;
	uint16_t usbmon_bus;
};

/* A guest for cfg's usbctrls[ctrl]. */
struct usb_guest *usb_guest_create(struct sim *sim, const struct simcfg *cfg,
				   unsigned ctrl,
				   const struct usb_guest_hooks *hooks);
/* The callbacks to hand to fut_create (arg is the guest). */
void usb_guest_callbacks(struct usb_guest *g, struct fut_callbacks *cb);
void usb_guest_attach(struct usb_guest *g, struct fut *f);
/* The frontend is gone (destroyed): forget it and its URBs. */
void usb_guest_detach(struct usb_guest *g);
/* Start no new class work (teardown is coming). */
void usb_guest_stop(struct usb_guest *g);
void usb_guest_destroy(struct usb_guest *g);

void usb_guest_stats(const struct usb_guest *g, struct ug_stats *st);
void usb_guest_port(const struct usb_guest *g, uint8_t port,
		    struct ug_port_info *out);
void usb_guest_device_stats(const struct usb_guest *g, unsigned device,
			    struct ug_device_stats *out);

/* What this guest believes is on storage device `device`'s medium: fn is
 * called for every block whose last write completed successfully (its
 * CSW said passed), with
 * the bytes that write carried; consecutive blocks come in one call (at
 * most UG_AUDIT_RUN), in increasing order. */
#define UG_AUDIT_RUN 128u
typedef void ug_block_fn(void *arg, uint64_t lba, uint32_t count,
			 uint32_t block_size, const uint8_t *expected);
void usb_guest_written_blocks(struct usb_guest *g, unsigned device,
			      ug_block_fn *fn, void *arg);

/* The script a configured keyboard (mouse) types, for the run to build
 * the device with sim_usb_hid_keyboard_new (_mouse_new): the entry's
 * keys (moves movements), the first at keys_at_ns, one every
 * key_interval_ns. Fills at most max events; returns how many the script
 * has, or -1 if a key is not one the keyboard can type. */
int usb_guest_keyboard_script(const struct simcfg_usb_device *d,
			      struct sim_usb_hid_key_event *ev, unsigned max);
int usb_guest_mouse_script(const struct simcfg_usb_device *d,
			   struct sim_usb_hid_mouse_event *ev, unsigned max);

#endif /* SIM_GUEST_USB_GUEST_H */
