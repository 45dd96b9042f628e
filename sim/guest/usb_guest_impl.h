/*
 * Inside the guest USB stand-in (usb_guest.h): what the core (usb_guest.c:
 * URB table, checkers, hub driver, enumeration) shares with the class
 * drivers (usb_guest_storage.c, usb_guest_class.c).
 *
 * A class driver is a struct ug_class: start is called once the device is
 * configured, stop when the binding ends (disconnect, re-enumeration,
 * destroy) and must free what start allocated. Everything a driver does
 * is a chain of URBs: each is given a completion function, called once
 * when the URB comes back, unless the binding ended first (a stale
 * completion is counted and dropped by the core, so a driver never sees
 * a completion after its stop). To add a class: a struct ug_class, a case
 * in ug_class_for.
 */
#ifndef SIM_GUEST_USB_GUEST_IMPL_H
#define SIM_GUEST_USB_GUEST_IMPL_H

#include "usb_guest.h"

#define UG_MAX_URBS	   256	/* guest URBs alive at once (tag low 8 bits) */
#define UG_POISON	   0x6b /* IN buffers before submission */
#define UG_CTRL_TIMEOUT_NS 5000000000ull  /* usb_control_msg's 5 s */
#define UG_BULK_TIMEOUT_NS 10000000000ull /* usb-storage's 10 s and more */
#define UG_GEN_UNKNOWN	   UINT32_MAX	  /* a block whose write failed */
#define UG_TRACK_MAX	   (16ull << 20)  /* blocks tracked per medium */
#define UG_REBIND_GRACE_NS 1000000000ull  /* see expect_until_ns */

struct ug_port;
struct ug_urb;

typedef void ug_urb_done_fn(struct usb_guest *g, struct ug_port *p,
			    struct ug_urb *u, const struct fut_usb_result *res);

struct ug_urb {
	struct usb_guest *g;
	bool used;
	bool in_flight;	 /* accepted by the frontend, not given back */
	bool local_fail; /* refused at submission: fails from an event */
	bool timed_out;	 /* the guest unlinked it for its timeout */
	int local_status;
	struct ug_port *port;
	uint32_t bind_gen; /* the port's binding generation at submission */
	ug_urb_done_fn *done;
	uint64_t arg; /* the driver's note: which step, which direction */
	struct fut_usb_urb urb;
	uint8_t *buf;
	uint32_t cap;
	struct fut_usb_iso_packet *packets;
	uint32_t packets_cap;
	sim_event_id timer; /* the timeout, while in flight */
};

/* An endpoint of the active configuration, from its descriptor. */
struct ug_ep {
	uint8_t addr; /* bEndpointAddress */
	uint8_t attr; /* bmAttributes */
	uint16_t mps; /* wMaxPacketSize bits 0-10 */
	uint8_t interval;
};

struct ug_class {
	const char *name;
	void (*start)(struct usb_guest *g, struct ug_port *p);
	void (*stop)(struct usb_guest *g, struct ug_port *p);
};

/* What a binding interrupted by a resume leaves for the next binding of
 * the same device on the same port (Linux's reset-resume keeps the
 * driver bound; here the binding is rebuilt and carries on). */
struct ug_carry {
	bool valid;
	int device;
	uint64_t epoch;	   /* g->resume_epoch when that binding began */
	uint64_t ops_done; /* class ops completed by the binding */
};

struct ug_port {
	struct usb_guest *g;
	uint8_t num;
	struct ug_port_info info;
	uint32_t bind_gen; /* bumped whenever the port's device changes */
	bool change_pending;
	unsigned enum_tries;
	unsigned step;	    /* enumeration step */
	unsigned in_flight; /* URBs of this port the frontend holds */
	sim_event_id reset_timer;
	/* A device whose work was cut short may be back soon (a resume
	 * re-reports it): idleness waits until then. */
	uint64_t expect_until_ns;
	sim_event_id grace_timer;
	uint16_t langid;
	uint8_t dev_desc[18];
	uint8_t *config; /* the whole configuration descriptor */
	uint16_t config_len;
	uint8_t speed;
	/* The binding. */
	const struct ug_class *cls;
	/* A captured device (class capture): bound as the class of its
	 * first interface, with the entry seen through that class
	 * (simcfg_usb_capture_binding): what ug_port_cfg returns. */
	bool captured;
	struct simcfg_usb_device capture_view;
	void *cls_state;
	bool over;	      /* finished, or stopped for good */
	bool finished;	      /* all its work done */
	uint64_t ops_done;    /* class ops completed, the resume carry too */
	uint64_t bind_epoch;  /* g->resume_epoch at bind */
	uint8_t pending_addr; /* what SET_ADDRESS gives it */
	struct ug_carry carry;
};

struct ug_dev;

struct usb_guest {
	struct sim *sim;
	const struct simcfg *cfg;
	unsigned ctrl;
	struct usb_guest_hooks hooks;
	struct fut *fut;
	uint8_t nr_ports;
	struct ug_port ports[SIMCFG_USB_PORTS_MAX + 1]; /* [1..nr_ports] */
	struct ug_dev *devs; /* per cfg usb_devices entry */
	unsigned nr_devs;
	struct ug_urb urbs[UG_MAX_URBS];
	uint64_t next_seq;
	uint32_t next_gen; /* write generations, all devices */
	uint8_t next_addr;
	uint64_t resume_epoch;
	bool stopped, ever_plugged, idle_reported;
	sim_event_id hub_ev, idle_ev, fail_ev;
	struct ug_stats st;
};

/* Per sim_usb_devices entry: what survives its bindings. */
struct ug_dev {
	struct ug_device_stats st;
	/* storage: the written-block map */
	uint32_t *gen; /* per block; 0: never written */
	uint64_t tracked, written_lo, written_hi;
	uint32_t block_size;
	/* HID: the next script event expected, and whether a gap (an
	 * interrupted binding) may have lost some */
	unsigned hid_next;
	bool hid_gap;
	/* audio: the signal's position */
	uint64_t out_pos;
};

/* ---- core services for the class drivers (usb_guest.c) ---- */

/* The entry on port p (a captured device's: as its bound class). */
const struct simcfg_usb_device *ug_port_cfg(const struct usb_guest *g,
					    const struct ug_port *p);
struct ug_dev *ug_port_dev(struct usb_guest *g, const struct ug_port *p);

/* A free URB for port p's binding with room for len bytes (and npackets
 * iso descriptors). NULL when the table is full: the port's binding (or
 * enumeration) has then been stopped, and the caller just returns. */
struct ug_urb *ug_urb_new(struct usb_guest *g, struct ug_port *p, uint32_t len,
			  uint32_t npackets);
/* Hand it to the frontend; done follows exactly once (a refusal comes
 * back from an event with the frontend's error). IN buffers are
 * poisoned here. timeout_ns 0: none. */
void ug_urb_submit(struct usb_guest *g, struct ug_urb *u, uint64_t timeout_ns,
		   ug_urb_done_fn *done, uint64_t arg);
/* A control request (5 s timeout); data (OUT, len bytes) is copied.
 * false: no URB (see ug_urb_new), nothing will complete. */
bool ug_control(struct usb_guest *g, struct ug_port *p, uint8_t type,
		uint8_t req, uint16_t value, uint16_t index, const void *data,
		uint16_t len, ug_urb_done_fn *done, uint64_t arg);
/* A bulk (10 s timeout) or interrupt (none) transfer on endpoint ep;
 * data (OUT, len bytes) is copied. false as ug_control. */
bool ug_transfer(struct usb_guest *g, struct ug_port *p, const struct ug_ep *ep,
		 const void *data, uint32_t len, ug_urb_done_fn *done,
		 uint64_t arg);
/* The same with a timeout of its own (0: none). */
bool ug_transfer_timeout(struct usb_guest *g, struct ug_port *p,
			 const struct ug_ep *ep, const void *data, uint32_t len,
			 ug_urb_done_fn *done, uint64_t arg,
			 uint64_t timeout_ns);

/* Descriptors of the active configuration. */
bool ug_find_ep(const struct ug_port *p, uint8_t iface, uint8_t alt,
		uint8_t type, bool in, struct ug_ep *out);
/* The first interface (alternate 0) of class cls (sub -1: any). */
int ug_find_iface(const struct ug_port *p, uint8_t cls, int sub);
/* A class-specific interface descriptor (type 0x24) of iface with this
 * subtype, or NULL; *len its bLength. */
const uint8_t *ug_find_cs(const struct ug_port *p, uint8_t iface,
			  uint8_t subtype, uint8_t *len);

/* The binding's end: finished (all its work done) or stopped (a failure,
 * the device gone, the guest stopping). */
void ug_bind_finished(struct usb_guest *g, struct ug_port *p);
void ug_bind_stopped(struct usb_guest *g, struct ug_port *p);
/* Whether the binding may start another piece of work. */
bool ug_may_continue(const struct usb_guest *g, const struct ug_port *p);
/* Class ops bookkeeping (stats, first/last times). */
void ug_op_begin(struct usb_guest *g, struct ug_port *p);
void ug_op_end(struct usb_guest *g, struct ug_port *p, bool ok, uint64_t bytes);
/* Class ops completed by this binding, the resume carry included. */
uint64_t ug_ops_done(const struct ug_port *p);

/* Device-gone style failures end a binding; a STALL or the guest's own
 * timeout are recoverable. */
static inline bool ug_status_recoverable(const struct ug_urb *u, int status)
{
	return status == -32 || (status == -104 && u->timed_out);
}

uint64_t ug_mix64(uint64_t x);

/* ---- class drivers ---- */

extern const struct ug_class ug_storage_class; /* usb_guest_storage.c */
extern const struct ug_class ug_hid_class;     /* usb_guest_class.c */
extern const struct ug_class ug_serial_class;
extern const struct ug_class ug_ethernet_class;
extern const struct ug_class ug_audio_class;

/* The storage map's helpers (usb_guest_storage.c). */
void ug_storage_free(struct ug_dev *d);
void ug_storage_written_blocks(struct ug_dev *d, unsigned device,
			       ug_block_fn *fn, void *arg);

#endif /* SIM_GUEST_USB_GUEST_IMPL_H */
