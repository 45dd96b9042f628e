/*
 * A scripted PVUSB backend: the Dom0 side of a vusb device with no mind of
 * its own. Its caller maps the frontend's rings (usbscript_connect), takes
 * each URB request as the frontend published it and writes whatever
 * response it likes, in any order, with any field values; it posts conn
 * events with any port, speed and id, moves rsp_prod anywhere, and
 * notifies when it chooses. Unit tests use it to make exact hostile
 * answers, and the usbfront fuzz target to let the input make all of them.
 *
 * It uses Xen's own io/ring.h and io/usbif.h macros and publishes every
 * byte it writes into guest pages (sim_shm_publish), so the simulator's
 * shared-memory observer sees a backend, not a ghost. Xenbus states are
 * the caller's business (sim_xenbus_switch_state on the backend path).
 */
#ifndef SIM_BACKENDS_USBSCRIPT_H
#define SIM_BACKENDS_USBSCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/sim.h"
#include "../xen/xen.h"
#include "xen_ring.h"
#include <xen/io/usbif.h>

struct usbscript;

struct usbscript_config {
	struct sim *sim;
	sim_domid self, frontend;
	const char *frontend_path; /* where urb-ring-ref & co are */
};

struct usbscript *usbscript_create(const struct usbscript_config *cfg);
/* Unmaps the rings and closes the port if connected; frees. */
void usbscript_destroy(struct usbscript *s);

/* Reads urb-ring-ref, conn-ring-ref and event-channel (strict decimals),
 * maps both rings writable and binds the port (late EOI, acknowledged at
 * once). 0, or a negative errno (nothing stays mapped). */
int usbscript_connect(struct usbscript *s);
void usbscript_disconnect(struct usbscript *s);
bool usbscript_connected(const struct usbscript *s);

/* The next URB request, copied once; false when none is waiting. */
bool usbscript_request(struct usbscript *s, usbif_urb_request_t *req);
/* Writes rsp into the next response slot (the whole entry) and pushes;
 * notify: also send an event. */
void usbscript_respond(struct usbscript *s, const usbif_urb_response_t *rsp,
		       bool notify);
/* Sets the URB ring's rsp_prod to rsp_prod_pvt + delta and notifies (a
 * hostile jump). */
void usbscript_rsp_jump(struct usbscript *s, uint32_t delta);

/* Conn requests the frontend posted and the script has not used. */
unsigned usbscript_conn_posted(const struct usbscript *s);
/* Takes a posted conn request and answers it with port and speed; its id
 * is echoed unless id_override >= 0. -EAGAIN when nothing is posted. */
int usbscript_conn_event(struct usbscript *s, uint8_t port, uint8_t speed,
			 int id_override);
void usbscript_conn_jump(struct usbscript *s, uint32_t delta);

void usbscript_notify(struct usbscript *s);

/* Segment i of req, through a mapping of its grant: copies the segment's
 * bytes into buf (write false) or buf into it (write true, published).
 * 0, or the map error (the segment is left alone). */
int usbscript_seg(struct usbscript *s, const usbif_urb_request_t *req,
		  unsigned i, uint8_t *buf, bool write);

#endif /* SIM_BACKENDS_USBSCRIPT_H */
