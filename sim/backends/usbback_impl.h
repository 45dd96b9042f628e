/*
 * Private to the usbback model: its state and the calls its files make to
 * each other. usbback.c owns the lifecycle, xenbus and the ports (plug and
 * unplug from xenstore), usbback_ring.c both rings, intake, dispatch and
 * every response, usbback_xfer.c a transfer's life on its endpoint
 * (mapping, attempts, timing, completion, cancellation), usbback_inject.c
 * every injected misbehaviour (the only place the fault plan is
 * consulted).
 *
 * Injection has one place per kind, so each class is one call where it
 * applies: ub_respond (response contents before ub_urb_put, extra or
 * rewritten slots after it), ub_consume and ub_intake (a request just
 * copied: rewrite, no answer), ub_iso_finish (packet descriptors),
 * ub_conn_send (conn event contents, conn rsp_prod), ub_answer and
 * ub_ring_disconnect (mappings kept), ub_switch_state (states out of
 * sequence), ub_probe (xenstore values) and ub_fe_connect (removal at
 * resume). usbback.h lists them in order.
 */
#ifndef SIM_BACKENDS_USBBACK_IMPL_H
#define SIM_BACKENDS_USBBACK_IMPL_H

#include "usbback.h"

#include "xen_ring.h"
#include <xen/io/usbif.h>
#include <xen/io/xenbus.h>

#define UB_PATH_MAX	256
#define UB_PAGE		4096u /* USBIF_RING_SIZE, XC_PAGE_SIZE */
#define UB_PORTS	USBIF_MAX_PORTNR
#define UB_SEGS		USBIF_MAX_SEGMENTS_PER_REQUEST
#define UB_ADDRS	128u /* address table (qusb's USB_DEV_ADDR_SIZE) */
#define UB_QUEUES	33u  /* per port: control, then 2 * ep + in + 1 */
#define UB_ISO_DESC	16u  /* struct usb_iso_packet_descriptor */
#define UB_DRAIN_PASSES 4u   /* ring passes per handler run */
#define UB_HISTORY	32u  /* answered / dropped ids kept (be-*-id) */
#define UB_HOLD_URB	1u   /* be-hold-ring: which ring pages are kept */
#define UB_HOLD_CONN	2u

struct xs_handle;
struct ub_req;

/* The requests of one endpoint, in arrival order; the head is on the bus. */
struct ub_queue {
	struct ub_req *head, *tail;
};

struct ub_port {
	struct sim_usb_device *dev; /* attached; NULL: nothing */
	uint8_t speed;		    /* usbif speed while attached */
	char *seen;		    /* port/<N> when last read; NULL: never */
	struct ub_queue q[UB_QUEUES];
};

/* A request taken in and not answered yet. */
struct ub_req {
	struct ub_req *next; /* in its endpoint queue */
	struct usbback *ub;
	usbif_urb_request_t rq; /* the one copy of the slot */
	unsigned portnum;
	unsigned qi;	  /* its queue in ports[portnum] */
	unsigned type;	  /* USBIF_PIPE_TYPE_* */
	bool pipe_in;	  /* the pipe's direction: buffers writable */
	bool dev_in;	  /* the direction the device sees */
	bool set_address; /* standard SET_ADDRESS, wValue <= 127 */
	bool addr0;	  /* control to address 0 */
	struct sim_usb_device *dev;
	struct sim_usb_setup setup;
	struct sim_grant_map *maps[UB_SEGS];
	unsigned nbuf, ndesc;
	uint32_t len; /* buffer bytes: the segments' lengths */
	uint8_t *buf; /* private copy of the buffer */
	struct sim_usb_iso_packet *packets;
	unsigned npackets;
	enum sim_usb_status answer; /* the device's, once it answered */
	bool answered;		    /* ev is the completion, not an attempt */
	uint32_t actual;
	uint64_t first_ns; /* iso: the first packet's (micro)frame */
	sim_event_id ev;
};

struct ub_conn_event {
	uint8_t port, speed;
};

/* A be-rsp-rewrite waiting to strike. */
struct ub_rewrite {
	struct ub_rewrite *next;
	struct usbback *ub;
	RING_IDX idx;
	sim_event_id ev;
};

struct usbback {
	struct usbback_config cfg;
	struct sim *sim;
	struct sim_domain *dom;
	struct xs_handle *xs;
	char path[UB_PATH_MAX], fpath[UB_PATH_MAX];
	bool probed;   /* num-ports and usb-ver were good */
	bool fe_seen;  /* the frontend's state was readable once */
	bool resuming; /* connection dropped by a resume: next is one */
	unsigned nports, usb_ver;
	struct ub_port ports[UB_PORTS + 1]; /* 1..nports */
	uint8_t addr[UB_ADDRS];		    /* address -> port; 0: none */
	/* the connection */
	uint32_t urb_ref, conn_ref, fe_port, port;
	struct sim_grant_map *urb_map, *conn_map;
	usbif_urb_back_ring_t urb;
	usbif_conn_back_ring_t conn;
	struct ub_conn_event connq[USBBACK_CONN_QUEUE_MAX];
	unsigned connq_head, connq_len;
	/* the request being taken in (ub_intake): awaited, in no queue */
	bool taking;
	uint16_t taking_id;
	/* misbehaviour */
	struct ub_rewrite *rewrites;
	/* be-rsp-overflow, be-conn-overflow: how far past rsp_prod_pvt
	 * every later publication on that ring puts rsp_prod; 0: honest */
	RING_IDX urb_lie, conn_lie;
	uint16_t history[UB_HISTORY]; /* ring buffer of answered ids */
	unsigned nhistory;
	/* ids taken in and never answered under their own id (be-no-answer,
	 * be-bad-id), newest UB_HISTORY: the frontend may still wait for
	 * them, so be-bad-id and be-stale-id avoid them */
	uint16_t unanswered[UB_HISTORY];
	unsigned nunanswered;
	struct sim_grant_map **held; /* kept by be-hold-*, until destroy */
	unsigned held_cap;
	struct usbback_stats st;
};

/* usbback.c */
int ub_switch_state(struct usbback *ub, int state);
/* Writes `state` unconditionally (still only if the directory exists). */
int ub_write_state(struct usbback *ub, int state);
int ub_write_key(struct usbback *ub, const char *rel, const char *val);
/* Keeps map mapped until destroy (be-hold-*). */
void ub_hold_map(struct usbback *ub, struct sim_grant_map *map);
bool ub_parse_uint(const char *s, unsigned long long max,
		   unsigned long long *out);
/* Drops every address that leads to port. */
void ub_addr_forget(struct usbback *ub, unsigned port);
/* The port reset a device gets at plug, at connect, and when the frontend
 * talks to address 0 after resetting the port locally. */
void ub_port_reset(struct usbback *ub, unsigned port);

/* usbback_ring.c */
int ub_ring_connect(struct usbback *ub, uint32_t urb_ref, uint32_t conn_ref,
		    uint32_t fe_port);
/* finish: answer in-flight requests -ESHUTDOWN first; else drop them.
 * may_hold: be-hold-ring applies (every disconnect but destroy's). */
void ub_ring_disconnect(struct usbback *ub, bool finish, bool may_hold);
bool ub_ring_connected(const struct usbback *ub);
/* Conn events first, then URB requests, as the event handler does. */
void ub_ring_kick(struct usbback *ub);
void ub_conn_queue(struct usbback *ub, unsigned port, uint8_t speed);
/* Queued conn events only (a plug or unplug, as qusb's hotplug_enq). */
void ub_conn_kick(struct usbback *ub);
/* The one way a URB request (rq, the copy taken in) is answered. */
void ub_respond(struct usbback *ub, const usbif_urb_request_t *rq,
		int32_t status, uint32_t actual, uint16_t start_frame,
		uint32_t errors);
/* Writes rsp into the next slot, publishes, pushes, notifies: no
 * misbehaviour (the hostile extras go through here). */
void ub_urb_put(struct usbback *ub, const usbif_urb_response_t *rsp);
void ub_notify(struct usbback *ub);

/* usbback_xfer.c */
/* -ESHUTDOWN-worthy trouble with segments, grants or descriptors: false. */
bool ub_xfer_map(struct usbback *ub, struct ub_req *req);
/* Queues a mapped request on its endpoint; starts it if first. */
void ub_xfer_submit(struct usbback *ub, struct ub_req *req);
/* Takes req off its queue and answers it with status, unmapped. */
void ub_xfer_cancel(struct usbback *ub, struct ub_req *req, int32_t status);
/* Every request of a port, answered status (or dropped, answer false). */
void ub_xfer_cancel_port(struct usbback *ub, unsigned port, int32_t status,
			 bool answer);
struct ub_req *ub_xfer_find(struct usbback *ub, unsigned port, uint16_t id);
void ub_req_free(struct ub_req *req);

/* usbback_inject.c: each acts (or returns true) when its class hits. */
/* A value below bound: the decider's, else from the backend domain's
 * stream. */
uint64_t ub_draw(struct usbback *ub, uint64_t bound);
/* be-bad-id, be-usb-actual, be-usb-status, be-garbage on rsp, the answer
 * to rq; true: be-garbage hit (the slot's rest follows at publication). */
bool ub_inject_rsp_content(struct usbback *ub, const usbif_urb_request_t *rq,
			   usbif_urb_response_t *rsp);
/* be-rsp-rewrite, be-dup-rsp, be-stale-id, be-rsp-overflow; rsp was
 * published in slot idx. */
void ub_inject_rsp_published(struct usbback *ub, RING_IDX idx,
			     const usbif_urb_response_t *rsp, bool garbage);
/* An iso packet descriptor's actual_length and status, before they are
 * written back; length: the packet's. */
void ub_inject_iso_packet(struct usbback *ub, int32_t *actual, int32_t *status,
			  uint32_t length);
void ub_inject_conn_content(struct usbback *ub, usbif_conn_response_t *rsp);
void ub_inject_conn_published(struct usbback *ub);
void ub_inject_req_rewrite(struct usbback *ub, RING_IDX idx);
bool ub_inject_no_answer(struct usbback *ub, uint16_t id);
bool ub_inject_hold_grant(struct usbback *ub);
/* UB_HOLD_* bits: the ring pages to keep mapped; 0: none. */
unsigned ub_inject_hold_ring(struct usbback *ub);
void ub_inject_xs_config(struct usbback *ub);
void ub_inject_bad_state(struct usbback *ub);
bool ub_inject_remove_after_resume(struct usbback *ub);
void ub_rewrites_cancel(struct usbback *ub);

#endif /* SIM_BACKENDS_USBBACK_IMPL_H */
