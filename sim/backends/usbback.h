/*
 * A model of QEMU's qusb, the Dom0 PVUSB (usbif) backend, for the
 * simulator. It speaks to xenstore only through libxenstore (<xenstore.h>,
 * the mock in sim/xenstore/xs_mock.c, woken by its push notification), to
 * the rings only through Xen's io/ring.h macros, maps grants with the
 * simulated grant table and hands transfers to simulated USB devices
 * (sim/devices/usb_device.h). The backend is the host controller: a device
 * answers each attempt at once; timing, NAK retries and per-endpoint
 * queues are the backend's, so answers return out of order across
 * endpoints and in order on one endpoint.
 *
 * Xenbus (protocol.md 2.3): probe watches the frontend's state and its own
 * directory, reads num-ports (1..31) and usb-ver (1 or 2) as strict
 * decimals, writes hotplug-status = connected and InitWait, and reads
 * every port/<N>. A bad num-ports or usb-ver is xenbus_dev_fatal
 * (error/<nodename>/error, then Closing) and the probe fails: the backend
 * does nothing more (a driver that failed its probe is not bound). FE 3 or
 * 4 while unconnected: read urb-ring-ref, conn-ring-ref and event-channel
 * (strict decimals), map both rings, bind the port (late EOI), queue a conn
 * event for each attached port, BE 4. A missing or bogus key, an
 * unmappable ring or an unbindable port is fatal. FE 3 or 4 with the same
 * keys while connected: nothing; with new ones, or FE 1 while connected: a
 * resume (the old rings went with the old frontend: in-flight requests are
 * dropped unanswered and unmapped, BE InitWait, then the new rings connect
 * as above). FE 5: in-flight requests answered, rings unmapped, port
 * closed, BE 5. FE 6: the same if still connected (missed Closing), BE 6,
 * and the device unregisters unless `online` reads 1. FE 2, 7, 8 or > 8:
 * fatal. FE unreadable after it was seen, or own directory removed:
 * unregister. `state` is written as xenbus_switch_state does.
 *
 * Ports: a write under port/ rescans port/1..num-ports; a port whose value
 * changed since it was last read is acted on. A non-empty value is a host
 * bus id ("3-1.5"): without '-' it is ignored (qusb); else the config's
 * lookup gives the device (NULL: ignored), which gets a port reset and is
 * attached at its speed, unless it is high speed on a usb-ver 1
 * controller (refused, no conn event, as qusb) or attached elsewhere. A
 * refused value is retried only when port/<N> changes. "" unplugs: every
 * in-flight request of the port is answered -EPROTO (-71), its addresses
 * leave the table, and a conn event with speed 0 follows. A new bus id on
 * an occupied port is ignored (qusb: remove first).
 *
 * Conn ring: the frontend posts requests; each plug or unplug event takes
 * one, echoes its id and carries portnum and the speed at the event's time
 * (qusb reads the speed when it sends). Events queue (up to
 * USBBACK_CONN_QUEUE_MAX, more are dropped and counted) while nothing is
 * posted and go out when the frontend posts more (qusb ignores req_prod
 * and writes unposted slots: gap I). Queued events go out before URB
 * requests are taken in, as in qusb.
 *
 * URB ring: req_prod (of either ring) more than RING_SIZE ahead halts the
 * connection: nothing more is taken in, no conn event goes out, no EOI;
 * requests already in flight still complete. Each slot is copied once
 * (RING_COPY_REQUEST); intake stops while RING_SIZE requests are
 * unanswered. Dispatch, first match wins (protocol.md 2.5):
 *   UNLINK bit       the port from the pipe (address 0) or the address
 *                    table; port 0, past num-ports or unknown address:
 *                    -ENODEV. The in-flight request of that port with
 *                    id == unlink_id is answered -EPROTO; the unlink is
 *                    answered 0, also when nothing matched.
 *   CTRL, address 0  port 0 or past num-ports (qusb: ports[-1], gap F) or
 *                    nothing attached: -ENODEV. GET_DESCRIPTOR: to the
 *                    port's device. SET_ADDRESS (standard, to the
 *                    device; qusb takes any bRequest 5, gap J): wValue >
 *                    127 is -EINVAL (qusb indexes its table with it),
 *                    else to the device; on OK the table maps wValue to
 *                    the port (its old addresses dropped). Anything else:
 *                    -EINVAL.
 *   other address 0, or an address not in the table: -ENODEV.
 *   addressed CTRL   to the device; SET_ADDRESS as above (moves the entry).
 *   segments         nr_buffer_segs (+ nr_frame_desc_segs for ISO) > 16,
 *                    offset + length > 4096, a grant that does not map
 *                    (buffers writable only for IN pipes, descriptor pages
 *                    always), ISO without descriptor pages, with 0 packets,
 *                    with descriptors past the descriptor pages or packets
 *                    past the buffer: -ESHUTDOWN.
 * Control transfers go to endpoint 0 whatever the pipe says (qusb); the
 * device sees the setup packet's direction, data reaches the guest only
 * for an IN pipe. Buffers are the concatenated buffer segments: data moves
 * by segment lengths, buffer_length is not used (gap D). OUT data is
 * copied once at intake.
 *
 * Isochronous transfers (qusb has none, gap H): number_of_packets frame
 * descriptors are read from the nr_frame_desc_segs segments after the
 * buffer's, taken as one byte stream, 16 bytes each: Linux's struct
 * usb_iso_packet_descriptor { u32 offset; u32 length; u32 actual_length;
 * s32 status; } (include/linux/usb.h), which xen-hcd grants as it lies in
 * the URB (a descriptor may straddle two segments). Offset and length are
 * read once at intake; actual_length and status are written back at
 * completion. The response has status 0 (or the whole transfer's error),
 * actual_length = the sum of the packets', error_count = packets with a
 * non-zero status, start_frame = the first packet's frame (full and low
 * speed: frame number mod 2048; high speed: microframe number mod 16384).
 * The request's start_frame and interval are not used: packets go as soon
 * as possible, at the endpoint's interval.
 *
 * Device answers: OK 0, STALL -32, BABBLE -75, IOERROR -71, NAK on a
 * bulk or interrupt endpoint is retried (timing below), anything else
 * (a NAK where a device may not give one) -108. A device that is gone is
 * -19 at routing: unplug answers its requests first, so no device goes
 * away under a request. An error moves no data (actual_length 0).
 * CLEAR_FEATURE(ENDPOINT_HALT) is passed to the device like any request,
 * which clears the halt. Every response slot is written whole (id,
 * start_frame, status, actual_length, error_count; XSA-216).
 *
 * Timing (all constants below, with sources). Every (micro)frame boundary
 * is a multiple of its length in simulated time. An endpoint serves one
 * request at a time, in arrival order; endpoints share no bandwidth (each
 * gets the ceiling). A transfer completes at
 *   attempt that the device answered + bus time + device_latency_ns:
 *   control    first attempt at once; bus time 2 stages (3 with a data
 *              stage) of one (micro)frame each
 *   bulk       first attempt at once, NAK retried one (micro)frame later;
 *              bus time ceil(bytes / per-frame ceiling) (micro)frames,
 *              at least one
 *   interrupt  first attempt at the next (micro)frame boundary, NAK
 *              retried every interval (low/full: bInterval ms; high:
 *              2^(bInterval-1) microframes); bus time one (micro)frame,
 *              plus an interval per further max-packet (x mult) chunk
 *   iso        first packet at the next (micro)frame boundary, one packet
 *              per interval (2^(bInterval-1) (micro)frames); bus time
 *              packets x interval
 *
 * Modelling choices where qusb differs or says nothing:
 * - SET_ADDRESS goes to the device through endpoint 0's queue and is
 *   answered with the device's status; qusb answers 0 itself and never
 *   tells the device. The device's chapter 9 state follows.
 * - xen-hcd resets root ports locally (protocol.md 2.4) and then talks to
 *   address 0. So a GET_DESCRIPTOR or SET_ADDRESS to address 0 that finds
 *   its device not in the default state (addressed or configured) first
 *   gives it the port reset it missed (qusb's usb-host device never sees
 *   one either, but qusb's local SET_ADDRESS hides that for addresses).
 * - A connection (first or after a resume) is a fresh controller: the
 *   address table is cleared and each attached device gets a port reset.
 * - Conn events carry the speed of their own event, not the current one.
 * - Closing answers in-flight requests -ESHUTDOWN before unmapping (qusb
 *   unmaps first, so its cancellations are never written).
 *
 * Misbehaviour (sim/core/fault.h, protocol.md 5.1), consulted in
 * usbback_inject.c only, one consultation per class per opportunity:
 *   every URB response (in this order, before writing the slot):
 *     be-bad-id      id := RING_SIZE (16) + random, never an id the
 *                    frontend may still wait for (in flight, being taken
 *                    in, published and not yet taken in, or answered
 *                    under no id of its own: be-no-answer, an earlier
 *                    be-bad-id) nor the response's own: with or without
 *                    a generation in the upper bits, no request has it
 *     be-usb-actual  actual_length := INT32_MIN..-1, or the request's
 *                    buffer (its segments' lengths) + 1 + random (< 1 MiB)
 *     be-usb-status  status := a value usbif does not define (an errno it
 *                    has no code for, or positive)
 *     be-garbage     random bytes over the slot past the 16-byte response
 *                    (the union entry's rest, the request's size); on a
 *                    non-iso response also a non-zero start_frame and
 *                    error_count (fields only iso gives a meaning)
 *   every URB response (after publishing it):
 *     be-rsp-rewrite   rewrite id/status of the slot 1 ns..2 latencies
 *                      later, unpublished (a second read is a double fetch)
 *     be-dup-rsp       the same response once more
 *     be-stale-id      an extra response (status 0) for an id not
 *                      awaited (as be-bad-id's): a recently answered one,
 *                      else the lowest such slot number
 *     be-rsp-overflow  rsp_prod := rsp_prod_pvt + RING_SIZE + 1 + random,
 *                      and as far ahead at every later publication on
 *                      that ring until the next connect
 *   every iso packet descriptor written back (before its transfer's
 *     response): be-usb-actual (its actual_length := negative, or its
 *     length + 1 + random), then be-usb-status (its status, as above);
 *   every conn event: be-conn-bad before writing the slot (portnum := 0,
 *     or num-ports + 1..255; or speed := 4..255), be-conn-overflow after
 *     publishing it (conn rsp_prod := rsp_prod_pvt + 512 + 1 + random,
 *     kept as be-rsp-overflow's);
 *   every URB request copied: be-req-rewrite (random bytes over its slot,
 *     unpublished; a frontend never reads requests back), then
 *     be-no-answer (dropped: never routed, mapped or answered);
 *   every answer of a request holding data mappings (completion, unlink,
 *     unplug, Closing): be-hold-grant (its mappings are kept until
 *     destroy);
 *   every disconnect but destroy's (Closing, Closed, unregister, resume):
 *     be-hold-ring (both ring pages, or the urb or the conn ring alone,
 *     kept mapped until destroy);
 *   probe, after num-ports and usb-ver were read, before InitWait:
 *     be-xs-values (one of them rewritten: "0", "32", "4x", "", " 4", ...;
 *     usb-ver "3", "-1", ...), for the frontend to read; the backend uses
 *     what it read;
 *   after each state change: be-bad-state (writes 6, 4, 7, 8, 2 or 9..255
 *     out of sequence);
 *   each resume reconnect (new rings while connected or after FE 1, or
 *     the first rings of a backend created `restored`):
 *     be-remove-after-resume (rm the BE directory right after mapping,
 *     before answering anything; the backend unregisters at once).
 * Not applicable: be-sense-len, be-residual, be-rslt-bits, be-late-tmr
 * (vscsiif fields and TMRs). Event storms and delays (protocol.md 5.1 #13)
 * are evtchn-storm and evtchn-delay, injected by sim/xen on every
 * delivery. After a dup or stale response rsp_prod_pvt runs ahead of
 * req_cons and the model stops taking requests in, as qusb would.
 *
 * Hostile frontend (protocol.md 5.2): nothing the frontend writes reaches
 * an assertion; loops over rings, segments, packets and ports are bounded.
 * Devices are the caller's and must outlive the backend; destroy the
 * backend before sim_destroy().
 */
#ifndef SIM_BACKENDS_USBBACK_H
#define SIM_BACKENDS_USBBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fault.h"
#include "../core/sim.h"
#include "../devices/usb_device.h"
#include "../xen/xen.h"

/* USB 2.0 8.4.3 (start-of-frame): 1 ms frames at full and low speed,
 * 125 us microframes (eight a frame) at high speed. */
#define USBBACK_FRAME_NS  1000000ull
#define USBBACK_UFRAME_NS 125000ull
/* Bulk ceilings, USB 2.0 tables 5-9 and 5-10: full speed 19 x 64-byte
 * packets per frame (1.216 MB/s), high speed 13 x 512-byte packets per
 * microframe (53.248 MB/s). Low speed has no bulk endpoints (5.8.3);
 * should a device have one, the full-speed figure is scaled by the bit
 * rates (12 / 1.5). */
#define USBBACK_HS_BULK_BYTES_PER_UFRAME (13u * 512u)
#define USBBACK_FS_BULK_BYTES_PER_FRAME	 (19u * 64u)
#define USBBACK_LS_BULK_BYTES_PER_FRAME	 (USBBACK_FS_BULK_BYTES_PER_FRAME / 8u)
/* Control: a stage (setup, data, status) per (micro)frame, the schedule
 * slot a UHCI/OHCI frame list or an EHCI async pass gives it. */
#define USBBACK_CTRL_STAGE_FRAMES 1u
/* A NAKed bulk attempt is retried one (micro)frame later. EHCI revisits a
 * NAKing queue head on every pass of its async schedule, several times a
 * microframe; once a (micro)frame bounds the events a NAKing endpoint
 * costs the simulation while keeping the added latency small. */
#define USBBACK_BULK_RETRY_FRAMES 1u
/* Default per-transfer device latency: firmware turnaround, a stand-in. */
#define USBBACK_DEVICE_LATENCY_NS 10000ull
/* Conn events held while the frontend has posted nothing: the conn
 * ring's size. */
#define USBBACK_CONN_QUEUE_MAX 512u

struct usbback;


struct usbback_config {
	struct sim *sim;
	sim_domid self;		    /* backend domain */
	sim_domid frontend;	    /* frontend domain */
	const char *path;	    /* .../backend/qusb/<domid>/<devid> */
	const char *frontend_path;  /* .../device/vusb/<devid> */
	uint64_t device_latency_ns; /* added to every transfer a device ran */
	/* Created for a restored guest: its frontend's first connection is
	 * a resume (be-remove-after-resume applies to it). */
	bool restored;
	/* The model's misbehaviour and the details of a hit
	 * (sim/core/fault.h; the model's timing is not drawn). NULL: the
	 * fault plan and this backend domain's random stream
	 * (sim_rng_dom of `self`). */
	const struct sim_fault_decider *decider;
	/* Host bus id (port/<N>'s value) -> device; NULL: no such device.
	 * Devices outlive the backend; the backend resets them at plug and
	 * connect and never frees them. */
	struct sim_usb_device *(*lookup)(void *arg, const char *busid);
	void *lookup_arg;
};

/* device_latency_ns USBBACK_DEVICE_LATENCY_NS; the rest zero. */
void usbback_config_default(struct usbback_config *cfg);

/* Responses by status. */
enum usbback_status {
	USBBACK_ST_OK,	     /* 0 */
	USBBACK_ST_NODEV,    /* -19 */
	USBBACK_ST_INVAL,    /* -22 */
	USBBACK_ST_STALL,    /* -32 */
	USBBACK_ST_PROTO,    /* -71: IOERROR, cancelled (unlink, unplug) */
	USBBACK_ST_BABBLE,   /* -75 */
	USBBACK_ST_SHUTDOWN, /* -108: bad request, device or closing */
	USBBACK_ST__COUNT,
};

struct usbback_stats {
	uint64_t requests;  /* URB slots consumed */
	uint64_t responses; /* URB slots produced, hostile extras included */
	uint64_t notifies;  /* event-channel sends */
	uint64_t status[USBBACK_ST__COUNT];
	uint64_t unlinks;     /* unlink requests */
	uint64_t unlinked;    /* requests they cancelled */
	uint64_t naks;	      /* NAKed attempts (then retried) */
	uint64_t port_resets; /* given at plug, connect and address 0 */
	uint64_t plugs, unplugs, plug_refused;
	uint64_t conn_events;  /* conn responses written */
	uint64_t conn_dropped; /* events over USBBACK_CONN_QUEUE_MAX */
	uint64_t iso_packets;
	uint64_t bytes_in;  /* data written into the guest */
	uint64_t bytes_out; /* data taken from the guest by a device */
	uint64_t connects, fatal_errors;
	uint32_t conn_queued; /* events waiting for a posted request */
	uint32_t in_flight;   /* requests taken in and not answered */
	uint32_t attached;    /* ports with a device */
	uint32_t held_maps;   /* mappings kept by be-hold-* */
	int state;	      /* backend state last written */
	bool connected, ring_halted, unregistered;
	/* Misbehaviour injected, by fault class (backend classes only). */
	uint64_t misbehaved[SIM_FAULT__COUNT];
};

/* Opens its xenstore connection and probes (see above). -errno if the
 * backend domain does not exist or a watch or a state write fails; a bad
 * num-ports or usb-ver is not an error here (the backend exists, fatal,
 * unbound: stats say so). */
int usbback_create(const struct usbback_config *cfg, struct usbback **out);
/* Cancels its events, closes its connection and port, unmaps everything
 * (held mappings too), frees. In-flight requests are not answered; devices
 * are left alone. */
void usbback_destroy(struct usbback *ub);
void usbback_stats(const struct usbback *ub, struct usbback_stats *st);

#endif /* SIM_BACKENDS_USBBACK_H */
