/*
 * The PVUSB scenario fixture: one simulated guest with the reference
 * frontend (reached through sim/fut only), the qusb model as its backend
 * and simulated USB devices behind host bus ids, with the test playing
 * the guest's USB core (hub polling, port reset, enumeration) and its
 * class drivers, and the toolstack (xenstore writes, as libxl does).
 *
 * A test describes its guest in a struct pv_config (seed, usb-ver,
 * num-ports, a fault plan, a device per port), starts it with
 * pv_start_cfg, drives URBs with pv_submit / pv_wait / pv_ctrl and the
 * URB builders, and ends with pv_finish (orderly close, every checker
 * clean) or pv_teardown (whatever state the frontend is in, every checker
 * clean but the one named). Every URB is marked with the exactly-once
 * checker (sim/check/check.h) at submission and giveback, so an URB
 * given back twice, or never, is a violation at the end.
 *
 * Device on port N: host bus id "3-1.<N + 4>" (pv_busid), USB address
 * PV_ADDR(N) once enumerated. The fixture owns the devices it is given:
 * they are freed at the end.
 */
#ifndef XPV_TESTS_SCENARIO_PVUSB_FIXTURE_H
#define XPV_TESTS_SCENARIO_PVUSB_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "check_main.h"
#include "sim/backends/usbback.h"
#include "sim/check/check.h"
#include "sim/devices/usb_device.h"
#include "sim/fut/fut.h"

#define PV_GUEST      1
#define PV_FE	      "/local/domain/1/device/vusb/0"
#define PV_BE	      "/local/domain/0/backend/qusb/1/0"
#define PV_MS	      1000000ull
#define PV_MAX_PORTS  8 /* the fixture's; usbif allows 31 */
#define PV_ADDR(port) ((uint8_t)(4 + (port)))
#define PV_NO_CHECK   (-1) /* pv_teardown: every checker must be clean */

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
	struct fut_usb_iso_packet *packets; /* iso: filled at giveback */
	uint32_t npackets;
	/* set at giveback */
	int status;
	uint32_t actual, error_count;
	uint16_t start_frame;
	uint64_t submit_ns, back_ns; /* simulated time */
	/* the harness' bookkeeping */
	uint64_t tag;
	bool back;
	struct turb *next;
};

struct pv_config {
	uint64_t seed;
	unsigned usb_ver;   /* backend usb-ver: 1 or 2 */
	unsigned num_ports; /* 1..PV_MAX_PORTS */
	/* Installed before the backend probes (countdowns count from
	 * there); NULL: no faults. pv_faults installs one later. */
	const char *faults;
	/* The backend's misbehaviour source; NULL: the fault plan. */
	const struct sim_fault_decider *decider;
	/* Plugged by pv_plug(port); the fixture frees them. */
	struct sim_usb_device *dev[PV_MAX_PORTS + 1];
	/* The frontend may refuse to connect (bad backend values): do not
	 * require the connected event. */
	bool connect_may_fail;
};

struct pv {
	struct sim *sim;
	struct usbback *ub; /* NULL once the test destroyed it */
	struct usbback_config bc;
	struct pv_config cfg;
	struct fut *fut;  /* NULL if fut_create failed */
	int create_err;	  /* fut_create's result */
	struct turb *out; /* submitted, not back */
	uint64_t next_tag;
	unsigned submitted, done, port_changes;
	unsigned connected, resumed, errors, closed;
	unsigned unknown_givebacks; /* tags not out: twice, or never sent */
};

/* seed 11, usb-ver 2, 2 ports, no faults, no devices. */
void pv_config_default(struct pv_config *cfg);
/* A guest as cfg says, the handshake run (10 simulated ms): connected
 * unless cfg->connect_may_fail. No device plugged yet. */
void pv_start_cfg(struct pv *p, const struct pv_config *cfg);
/* The default guest with dev behind port 1. */
void pv_start(struct pv *p, struct sim_usb_device *dev);
/* A restore: the old backend went with the old domain, the toolstack
 * starts a new one on the same nodes (state 1); restored: its first
 * connection is a resume (usbback_config.restored). */
void pv_backend_restart(struct pv *p, bool restored);
/* Replace the sim's fault plan now (countdowns count from here). */
void pv_faults(struct pv *p, const char *spec);

/* ---- the toolstack ---- */
void pv_xs_put(struct pv *p, const char *dir, const char *key, const char *val);
/* "3-1.<port + 4>" into buf (16 bytes). */
const char *pv_busid(unsigned port, char *buf);
/* xl usbdev-attach / -detach: the backend's port/<port> node. */
void pv_attach(struct pv *p, unsigned port);
void pv_detach(struct pv *p, unsigned port);

/* ---- URBs ---- */
/* 0, or the submission error (the URB is then not out). */
int pv_submit(struct pv *p, struct turb *t);
/* Runs until t is back (bounded: 10 simulated seconds). */
void pv_wait(struct pv *p, struct turb *t);
/* Runs until nothing is out or `ns` pass; true if nothing is out. */
bool pv_wait_all(struct pv *p, uint64_t ns);
void pv_ctrl_urb(struct turb *u, uint8_t port, uint8_t addr, uint8_t type,
		 uint8_t req, uint16_t value, uint16_t index, void *buf,
		 uint16_t len);
/* A control transfer, waited for; its status, *actual if asked. */
int pv_ctrl(struct pv *p, uint8_t port, uint8_t addr, uint8_t type, uint8_t req,
	    uint16_t value, uint16_t index, void *buf, uint16_t len,
	    uint32_t *actual);
void pv_int_urb(struct turb *u, uint8_t port, uint8_t ep, void *buf,
		uint32_t len, uint16_t interval);
void pv_bulk_urb(struct turb *u, uint8_t port, uint8_t ep, bool in, void *buf,
		 uint32_t len);
/* npackets packets of `each` bytes back to back in buf. */
void pv_iso_urb(struct turb *u, uint8_t port, uint8_t ep, bool in, void *buf,
		struct fut_usb_iso_packet *packets, uint32_t npackets,
		uint32_t each, uint16_t interval);
/* One bulk transfer, waited for; its status. */
int pv_bulk(struct pv *p, uint8_t port, uint8_t ep, bool in, void *buf,
	    uint32_t len, uint32_t *actual);

/* ---- the hub driver ---- */
/* See the connection on port, reset it (enabled afterwards). */
void pv_port_reset(struct pv *p, uint8_t port);
/* usb_new_device: descriptors at address 0, SET_ADDRESS PV_ADDR(port),
 * descriptors, SET_CONFIGURATION; the first interface is of iclass. */
void pv_enumerate(struct pv *p, uint8_t port, uint8_t iclass);
/* Attach, wait for the conn event, reset, enumerate. */
void pv_plug(struct pv *p, uint8_t port, uint8_t iclass);
/* SET_INTERFACE(iface, alt) on the device at port. */
void pv_set_interface(struct pv *p, uint8_t port, uint16_t iface, uint16_t alt);

/* ---- state ---- */
bool pv_in_error(struct pv *p);
unsigned pv_in_flight(const struct pv *p);
struct usbback_stats pv_be_stats(const struct pv *p);
struct fut_stats pv_fe_stats(struct pv *p);

/* ---- the end ---- */
/* Orderly: the guest closes, both ends reach Closed with nothing in
 * flight, then pv_teardown(p, PV_NO_CHECK). */
void pv_finish(struct pv *p);
/* Whatever state things are in: backend and frontend destroyed (URBs
 * still out are given back), devices freed, the guest audited, every URB
 * back exactly once; every checker clean but `expect` (an enum sim_check,
 * or PV_NO_CHECK), which must have tripped. Destroys the sim. */
void pv_teardown(struct pv *p, int expect);

#endif /* XPV_TESTS_SCENARIO_PVUSB_FIXTURE_H */
