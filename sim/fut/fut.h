/*
 * The frontend-under-test interface: the one door through which harness
 * code (guest stand-ins, scenarios, the xpvsim runner, fuzz targets,
 * checkers) reaches a frontend. A frontend plugs in by filling a struct
 * fut_ops; the harness never includes a frontend's own headers.
 *
 * Lifecycle: fut_create() probes the frontend on a xenbus device whose
 * xenstore nodes the toolstack already wrote; the frontend connects on its
 * own and reports `connected`. Commands go in with fut_scsi_submit() and
 * come back exactly once each through `scsi_done`. LUNs the backend
 * offers arrive through `lun_added`, leave through `lun_removed`.
 * fut_suspend()/fut_resume() bracket a save/restore. fut_close() starts an
 * orderly disconnect (`closed` follows); fut_destroy() ends the frontend
 * now, whatever is in flight (disorderly teardown, or the final release
 * after `closed`).
 *
 * Rules every implementation keeps (the checkers hold them to it):
 *  - scsi_done is called once per accepted command, never for a refused
 *    one, and never from inside fut_scsi_submit;
 *  - a failed command (host != 0 or a status other than GOOD/CONDITION
 *    MET) delivers no data: `delivered` is 0 and the buffer is untouched;
 *  - delivered + residual <= data_len.
 * Callbacks may call back into the frontend (submit from scsi_done).
 *
 * USB frontends (type "vusb") offer a host controller instead: a root hub
 * whose ports the harness polls and drives (fut_usb_port_status /
 * fut_usb_port_feature, `usb_port_changed` when a change bit goes up),
 * and URBs that come back exactly once each through `usb_giveback`, never
 * from inside fut_usb_submit. A frontend implements the operations of its
 * type; the others are NULL.
 */
#ifndef SIM_FUT_FUT_H
#define SIM_FUT_FUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/core/sim.h"
#include "sim/xen/xen.h"

enum fut_dir {
	FUT_DIR_NONE,
	FUT_DIR_TO_DEVICE,   /* data-out: the buffer is written to the LUN */
	FUT_DIR_FROM_DEVICE, /* data-in */
};

/* Host byte values (XEN_VSCSIIF_RSLT_HOST_*, a subset). */
#define FUT_HOST_OK 0
#define FUT_HOST_NO_CONNECT 1
#define FUT_HOST_ABORT 5
#define FUT_HOST_ERROR 7
#define FUT_HOST_RESET 8

#define FUT_SENSE_MAX 96

struct fut_scsi_cmd {
	uint64_t tag; /* the harness' name for it, unique in the run */
	uint16_t channel, id, lun;
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum fut_dir dir;
	uint8_t *data; /* data_len bytes, owned by the harness */
	uint32_t data_len;
};

struct fut_scsi_result {
	uint8_t host;   /* FUT_HOST_* */
	uint8_t status; /* SCSI status */
	uint8_t sense_len;
	uint8_t sense[FUT_SENSE_MAX];
	uint32_t residual;  /* bytes not transferred */
	uint32_t delivered; /* data-in bytes placed in the buffer */
};

/* ---- USB (type "vusb") ---- */

enum fut_usb_xfer { /* usbif's pipe types */
	FUT_USB_ISO = 0,
	FUT_USB_INT = 1,
	FUT_USB_CTRL = 2,
	FUT_USB_BULK = 3,
};

#define FUT_USB_SHORT_NOT_OK 0x0001

struct fut_usb_iso_packet {
	uint32_t offset, length; /* within the URB's data */
	uint32_t actual;	 /* set at giveback */
	int status;		 /* set at giveback */
};

struct fut_usb_urb {
	uint64_t tag;	  /* the harness' name for it, unique in the run */
	uint8_t port;	  /* root-hub port, from 1 */
	uint8_t devaddr;  /* 0..127 */
	uint8_t ep;	  /* 0..15 */
	bool in;
	enum fut_usb_xfer type;
	uint16_t flags;	  /* FUT_USB_SHORT_NOT_OK */
	uint8_t setup[8]; /* control */
	uint16_t interval; /* interrupt and iso */
	uint8_t *data;	  /* len bytes, owned by the harness */
	uint32_t len;
	struct fut_usb_iso_packet *packets; /* iso: filled at giveback */
	uint32_t npackets;
};

struct fut_usb_result {
	int status;	 /* 0 or a negative Linux errno (-104 unlinked) */
	uint32_t actual; /* <= len */
	uint32_t error_count;
	uint16_t start_frame;
};

/* wPortStatus / wPortChange bits and port features (USB 2.0 11.24). */
#define FUT_USB_PORT_CONNECTION 0x0001u
#define FUT_USB_PORT_ENABLE 0x0002u
#define FUT_USB_PORT_SUSPEND 0x0004u
#define FUT_USB_PORT_RESET 0x0010u
#define FUT_USB_PORT_POWER 0x0100u
#define FUT_USB_PORT_LOW_SPEED 0x0200u
#define FUT_USB_PORT_HIGH_SPEED 0x0400u
#define FUT_USB_C_CONNECTION 0x0001u
#define FUT_USB_C_ENABLE 0x0002u
#define FUT_USB_C_SUSPEND 0x0004u
#define FUT_USB_C_RESET 0x0010u
enum fut_usb_port_feature {
	FUT_USB_FEAT_ENABLE = 1,
	FUT_USB_FEAT_SUSPEND = 2,
	FUT_USB_FEAT_RESET = 4,
	FUT_USB_FEAT_POWER = 8,
	FUT_USB_FEAT_C_CONNECTION = 16,
	FUT_USB_FEAT_C_ENABLE = 17,
	FUT_USB_FEAT_C_SUSPEND = 18,
	FUT_USB_FEAT_C_RESET = 20,
};

/* How a frontend reports to the harness. */
struct fut_callbacks {
	void (*connected)(void *arg);
	void (*resumed)(void *arg);
	void (*error)(void *arg); /* entered its error state */
	void (*closed)(void *arg);
	/* 0 accepts the LUN; negative refuses it. */
	int (*lun_added)(void *arg, uint16_t channel, uint16_t id,
			 uint16_t lun);
	void (*lun_removed)(void *arg, uint16_t channel, uint16_t id,
			    uint16_t lun);
	void (*scsi_done)(void *arg, uint64_t tag,
			  const struct fut_scsi_result *res);
	/* An abort or reset finished: 0 success, negative errno otherwise
	 * (-ETIMEDOUT: no answer in time). */
	void (*tmr_done)(void *arg, uint64_t tmr_tag, int result);
	/* USB: an URB is back; a root-hub port has news. */
	void (*usb_giveback)(void *arg, uint64_t tag,
			     const struct fut_usb_result *res);
	void (*usb_port_changed)(void *arg, uint8_t port);
	void *arg;
};

/* Where the frontend runs: the device the toolstack created. */
struct fut_env {
	struct sim *sim;
	sim_domid guest, backend;
	const char *frontend_path; /* /local/domain/<g>/device/vscsi/<n> */
	const char *backend_path;
	FILE *log;     /* frontend log lines, or NULL */
	int log_level; /* 0 errors .. 3 debug */
};

struct fut_stats {
	uint64_t submitted, completed, failed;
	uint64_t notifies_sent;     /* frontend -> backend events */
	uint64_t interrupts;        /* backend -> frontend events handled */
	uint64_t spurious;          /* of which found no work */
	uint64_t clamped;           /* backend values the frontend clamped */
	uint64_t indirect;          /* requests with an indirect SG list */
	uint64_t abandoned;         /* requests given up on (TMR victims,
				     * timed-out TMRs) */
	uint64_t late_answers;      /* answers to those, recognised */
	bool error;
};

struct fut;

struct fut_ops {
	const char *name; /* e.g. "xpv-scsifront" */
	const char *type; /* xenbus device type: "vscsi" */
	int (*create)(const struct fut_env *env, const struct fut_callbacks *cb,
		      struct fut **out);
	/* 0 accepted; -EBUSY retry later (ring full, not connected,
	 * suspended); -EINVAL malformed; -EIO error state or closing. */
	int (*scsi_submit)(struct fut *f, const struct fut_scsi_cmd *cmd);
	/* -ENOENT: no such command in flight. */
	int (*scsi_abort)(struct fut *f, uint64_t cmd_tag, uint64_t tmr_tag);
	int (*scsi_reset)(struct fut *f, uint16_t channel, uint16_t id,
			  uint16_t lun, uint64_t tmr_tag);
	/* Give up on every command in flight without asking the backend
	 * (Linux's eh_host_reset_handler): each completes (scsi_done) before
	 * this returns; pending aborts/resets fail. 0, or -EIO if not
	 * connected. */
	int (*scsi_host_reset)(struct fut *f);
	uint32_t (*scsi_max_transfer)(struct fut *f);
	int (*suspend)(struct fut *f);
	int (*resume)(struct fut *f);
	void (*close)(struct fut *f);
	void (*destroy)(struct fut *f);
	void (*stats)(struct fut *f, struct fut_stats *st);
	/* USB. submit: 0 accepted (on the ring or queued); -EINVAL
	 * malformed; -E2BIG too many segments; -ENODEV nothing enabled on
	 * the port; -ESHUTDOWN error state, closing or not connected. */
	int (*usb_submit)(struct fut *f, const struct fut_usb_urb *urb);
	/* The URB comes back through usb_giveback (-104); -ENOENT: not in
	 * flight, or already completing. */
	int (*usb_unlink)(struct fut *f, uint64_t tag);
	uint8_t (*usb_num_ports)(struct fut *f); /* 0 before probe */
	int (*usb_port_status)(struct fut *f, uint8_t port, uint16_t *status,
			       uint16_t *change);
	int (*usb_port_feature)(struct fut *f, uint8_t port,
				enum fut_usb_port_feature feature, bool set);
};

/* Every implementation starts its instance with this. */
struct fut {
	const struct fut_ops *ops;
};

/* Registered frontends; NULL-terminated. */
extern const struct fut_ops *const fut_registry[];
const struct fut_ops *fut_find(const char *name);

static inline int fut_create(const struct fut_ops *ops,
			     const struct fut_env *env,
			     const struct fut_callbacks *cb, struct fut **out)
{
	return ops->create(env, cb, out);
}

static inline int fut_scsi_submit(struct fut *f,
				  const struct fut_scsi_cmd *cmd)
{
	return f->ops->scsi_submit(f, cmd);
}

static inline int fut_scsi_abort(struct fut *f, uint64_t cmd_tag,
				 uint64_t tmr_tag)
{
	return f->ops->scsi_abort(f, cmd_tag, tmr_tag);
}

static inline int fut_scsi_reset(struct fut *f, uint16_t channel,
				 uint16_t id, uint16_t lun, uint64_t tmr_tag)
{
	return f->ops->scsi_reset(f, channel, id, lun, tmr_tag);
}

static inline int fut_scsi_host_reset(struct fut *f)
{
	return f->ops->scsi_host_reset(f);
}

static inline uint32_t fut_scsi_max_transfer(struct fut *f)
{
	return f->ops->scsi_max_transfer(f);
}

static inline int fut_suspend(struct fut *f)
{
	return f->ops->suspend(f);
}

static inline int fut_resume(struct fut *f)
{
	return f->ops->resume(f);
}

static inline void fut_close(struct fut *f)
{
	f->ops->close(f);
}

static inline void fut_destroy(struct fut *f)
{
	f->ops->destroy(f);
}

static inline void fut_stats(struct fut *f, struct fut_stats *st)
{
	f->ops->stats(f, st);
}

static inline int fut_usb_submit(struct fut *f, const struct fut_usb_urb *u)
{
	return f->ops->usb_submit(f, u);
}

static inline int fut_usb_unlink(struct fut *f, uint64_t tag)
{
	return f->ops->usb_unlink(f, tag);
}

static inline uint8_t fut_usb_num_ports(struct fut *f)
{
	return f->ops->usb_num_ports(f);
}

static inline int fut_usb_port_status(struct fut *f, uint8_t port,
				      uint16_t *status, uint16_t *change)
{
	return f->ops->usb_port_status(f, port, status, change);
}

static inline int fut_usb_port_feature(struct fut *f, uint8_t port,
				       enum fut_usb_port_feature feature,
				       bool set)
{
	return f->ops->usb_port_feature(f, port, feature, set);
}

#endif /* SIM_FUT_FUT_H */
