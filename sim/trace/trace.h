/*
 * The recorder: one record per event that crosses the frontend/backend
 * boundary (ring publications, event channels, grants, xenstore changes,
 * xenbus states, the data backends move in granted pages), plus a RUN
 * record describing a whole run, encoded as docs/trace-format.md says
 * and handed to a
 * sink (trace_pcap.h writes them to a pcap file). Attached to a struct
 * sim as SIM_PART_RECORDER; every hook below returns at once when no
 * recorder is attached, so recording costs a NULL check otherwise.
 *
 * Records carry simulated time and simulated data only, and the recorder
 * never feeds the trace hash, schedules or draws from the RNG: a recorded
 * run is the same run, and the same seed gives the same bytes.
 *
 * Ring publications. Backend models register each ring page they map
 * (sim_rec_ring_attach, after BACK_RING_INIT); the end of that mapping
 * (sim/xen/gnttab.c) unregisters it. The recorder keeps, per ring and
 * direction, the last producer index it recorded and compares it with
 * shared memory at every flush point: before any other record, after a
 * backend pushes responses (sim_rec_ring_pushed), at each frontend store
 * to shared memory (the shm observer calls sim_rec_flush), and before the
 * clock moves. The contract reports a frontend's req_prod store before
 * the store happens, so the publication is seen at the next flush point;
 * every flush point comes before anything else is recorded and before
 * time passes, so the records keep the publication's time and order.
 * Frontend cores are untouched by this.
 *
 * To record a new kind of event: add a type to enum sim_rec_type and its
 * payload to docs/trace-format.md, then a hook here that flushes first
 * (rec_get + rec_flush_rings in trace.c) and writes the payload.
 */
#ifndef SIM_TRACE_TRACE_H
#define SIM_TRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/sim.h"
#include "../xen/xen.h"

#define SIM_REC_VERSION	   1
#define SIM_REC_HDR_LEN	   32u
#define SIM_REC_MAX	   65535u /* largest record; the pcap snaplen */
#define SIM_REC_DOMID_NONE ((sim_domid)0x7ff4) /* DOMID_INVALID */

/* Header flags. */
#define SIM_REC_F_BEFORE_ATTACH 0x1u /* request published before attach */
#define SIM_REC_F_TRUNCATED	0x2u /* a string was cut to its limit */
#define SIM_REC_F_REWRITTEN	0x4u /* a published slot changed afterwards */

enum sim_rec_type {
	SIM_REC_RING_ATTACH = 1,
	SIM_REC_RING_DETACH = 2,
	SIM_REC_RING_ENTRY = 3,
	SIM_REC_RING_INDEX = 4,
	SIM_REC_RING_EVENT = 5,
	SIM_REC_EVTCHN_SEND = 16,
	SIM_REC_EVTCHN_DELIVER = 17,
	SIM_REC_EVTCHN_BIND = 18,
	SIM_REC_EVTCHN_CLOSE = 19,
	SIM_REC_EVTCHN_EOI = 20,
	SIM_REC_GNT_GRANT = 32,
	SIM_REC_GNT_END = 33,
	SIM_REC_GNT_MAP = 34,
	SIM_REC_GNT_UNMAP = 35,
	SIM_REC_GNT_COPY = 36,
	SIM_REC_DATA = 40,
	SIM_REC_XS_WRITE = 48,
	SIM_REC_XS_MKDIR = 49,
	SIM_REC_XS_RM = 50,
	SIM_REC_XS_SET_PERMS = 51,
	SIM_REC_XS_WATCH_FIRE = 52,
	SIM_REC_XENBUS_STATE = 53,
	SIM_REC_XS_WATCH = 54,
	SIM_REC_XS_UNWATCH = 55,
	SIM_REC_RUN = 64,
	SIM_REC_RUN_MORE = 65,
};

/* RUN flags. */
#define SIM_REC_RUN_F_SWARM	    0x1u /* the fault plan is drawn from the seed */
#define SIM_REC_RUN_F_CONFIG_ABSENT 0x2u /* the config's text could not be read */

enum sim_rec_run_kind {
	SIM_REC_RUN_PVSCSI = 1,
	SIM_REC_RUN_PVUSB = 2,
};

/* What a DATA record's bytes are. */
enum sim_rec_data_kind {
	SIM_REC_DATA_IO = 1,	   /* I/O data: SCSI data, a USB transfer buffer */
	SIM_REC_DATA_SEG_LIST = 2, /* a vscsiif indirect segment list */
	SIM_REC_DATA_ISO_DESC = 3, /* usbif isochronous frame descriptors */
};

enum sim_rec_ring_kind {
	SIM_REC_RING_VSCSIIF = 1,
	SIM_REC_RING_USBIF_URB = 2,
	SIM_REC_RING_USBIF_CONN = 3,
};

enum sim_rec_dir {
	SIM_REC_REQUEST = 0,
	SIM_REC_RESPONSE = 1,
};

/* Which event index of a ring a RING_EVENT record is about. */
enum sim_rec_event_idx {
	SIM_REC_REQ_EVENT = 0, /* req_event: the backend (consumer) writes it */
	SIM_REC_RSP_EVENT = 1, /* rsp_event: the frontend writes it */
};

/* EVTCHN_SEND delivery flags. */
#define SIM_REC_SEND_SCHEDULED 0x1u /* this send scheduled a delivery */
#define SIM_REC_SEND_STORM     0x2u /* ... which repeats (evtchn-storm) */

/* ---- the recorder and its sink ------------------------------------------ */

/* Takes one whole record (header and payload) stamped time_ns; returns 0
 * or a negative errno, remembered and reported by sim_recorder_stop. */
typedef int sim_rec_write_fn(void *ctx, uint64_t time_ns, const void *rec,
			     size_t len);
/* Ends the output; 0 or a negative errno. */
typedef int sim_rec_close_fn(void *ctx);

struct sim_rec_sink {
	sim_rec_write_fn *write;
	sim_rec_close_fn *close;
	void *ctx;
};

/* Attach a recorder writing to sink. -EEXIST if one is attached. */
int sim_recorder_start(struct sim *sim, const struct sim_rec_sink *sink);
/* Flush, close the sink and detach. 0, or the first error the sink
 * reported; 0 when no recorder is attached. sim_destroy stops an attached
 * recorder first (ignoring errors). */
int sim_recorder_stop(struct sim *sim);
bool sim_recorder_attached(const struct sim *sim);
/* Records written so far (the next record's seq). */
uint64_t sim_recorder_records(const struct sim *sim);

/* ---- hooks ------------------------------------------------------------- */

/* A ring page a backend mapped. Pointers are into the mapped page and
 * stay valid while `map` exists; the paths are copied. */
struct sim_rec_ring {
	enum sim_rec_ring_kind kind;
	const struct sim_grant_map *map; /* unregistered when it ends */
	const volatile uint32_t *req_prod, *rsp_prod;
	/* The event indices (RING_EVENT records); NULL: not watched. */
	const volatile uint32_t *req_event, *rsp_event;
	const volatile void *entries; /* entry 0 */
	uint32_t entry_size, nr_ents, gref;
	sim_domid frontend, backend;
	const char *frontend_path, *backend_path;
};
void sim_rec_ring_attach(struct sim *sim, const struct sim_rec_ring *ring);
/* A backend rewrote the response at idx after publishing it (the
 * be-rsp-rewrite injection): recorded as a RING_ENTRY flagged
 * REWRITTEN with the slot's bytes now. */
void sim_rec_ring_rewritten(struct sim *sim, const struct sim_grant_map *map,
			    uint32_t idx);
/* A backend pushed responses (after RING_PUSH_RESPONSES*). */
void sim_rec_ring_pushed(struct sim *sim);
/* Record ring publications seen since the last flush. */
void sim_rec_flush(struct sim *sim);
/* The mapping ended: a ring registered on it is detached. */
void sim_rec_map_gone(struct sim *sim, const struct sim_grant_map *map);

/* sent false: the port had no peer and the event was dropped. When the
 * send scheduled a delivery on the remote port, delivery says when (and
 * whether it storms); NULL: it scheduled none (one was already due, or
 * the port was masked, awaiting EOI or without a handler). */
struct sim_rec_delivery {
	uint64_t at_ns;
	bool storm;
};
void sim_rec_evtchn_send(struct sim *sim, sim_domid dom, uint32_t port,
			 bool sent, sim_domid remote, uint32_t remote_port,
			 const struct sim_rec_delivery *delivery);
/* dom bound its port to remote_port of remote (an interdomain bind). */
void sim_rec_evtchn_bind(struct sim *sim, sim_domid dom, uint32_t port,
			 sim_domid remote, uint32_t remote_port);
/* dom gave the late EOI of its port; delivery: the delivery that made
 * due (an event that came meanwhile, or a storm's repeat), or NULL. */
void sim_rec_evtchn_eoi(struct sim *sim, sim_domid dom, uint32_t port,
			const struct sim_rec_delivery *delivery);
/* dom closed its port; remote SIM_REC_DOMID_NONE: it had no peer. */
void sim_rec_evtchn_close(struct sim *sim, sim_domid dom, uint32_t port,
			  sim_domid remote, uint32_t remote_port);
/* remote SIM_REC_DOMID_NONE: the peer has closed. */
void sim_rec_evtchn_deliver(struct sim *sim, sim_domid dom, uint32_t port,
			    sim_domid remote, uint32_t remote_port);

void sim_rec_gnt_grant(struct sim *sim, sim_domid granter, uint32_t ref,
		       sim_domid peer, bool readonly, uint64_t gfn);
void sim_rec_gnt_end(struct sim *sim, sim_domid granter, uint32_t ref,
		     int result);
void sim_rec_gnt_map(struct sim *sim, sim_domid mapper, sim_domid granter,
		     uint32_t ref, bool writable, int result);
void sim_rec_gnt_unmap(struct sim *sim, sim_domid mapper, sim_domid granter,
		       uint32_t ref, bool writable);
void sim_rec_gnt_copy(struct sim *sim, sim_domid caller, sim_domid granter,
		      uint32_t ref, bool to_granted, uint16_t offset,
		      uint16_t len, int result);

/* ---- what a replay needs -------------------------------------------------- */

/* The first record of a whole run's file (sim/run): how to rebuild the
 * guest side without the original files. */
struct sim_rec_run {
	enum sim_rec_run_kind kind;
	uint64_t seed;
	uint64_t ops_limit;	/* --ops-limit; 0: as configured */
	uint64_t time_limit_ns; /* the run's bound on simulated time */
	bool swarm;		/* the fault plan is drawn from the seed */
	const char *frontend;	/* fut name, e.g. "xpv-scsifront" */
	const char *faults;	/* the plan's spec as parsed; NULL: none */
	const char *config_path; /* as the configuration reader got it */
	/* The configuration's text as the reader read it, config_len
	 * bytes; NULL: none (flagged CONFIG_ABSENT). */
	const char *config_text;
	size_t config_len;
};
/* Write the RUN record (and RUN_MORE records for a configuration too long
 * for one record). Call right after the recorder starts. */
void sim_rec_run(struct sim *sim, const struct sim_rec_run *run);

/* A backend model (mover) moved len bytes at offset of the page granted
 * by granter as ref: written into it (to_granted) or read from it.
 * Recorded as DATA records of at most SIM_REC_DATA_CHUNK bytes each. */
#define SIM_REC_DATA_CHUNK 4096u
void sim_rec_data(struct sim *sim, sim_domid mover, sim_domid granter,
		  uint32_t ref, bool to_granted, enum sim_rec_data_kind what,
		  uint32_t offset, const void *bytes, uint32_t len);

/* Changes applied to the live store; a write of a xenbus state key also
 * gets a XENBUS_STATE record. */
void sim_rec_xs_write(struct sim *sim, sim_domid dom, const char *path,
		      const void *val, unsigned len);
void sim_rec_xs_mkdir(struct sim *sim, sim_domid dom, const char *path);
void sim_rec_xs_rm(struct sim *sim, sim_domid dom, const char *path);
struct xs_permissions;
void sim_rec_xs_perms(struct sim *sim, sim_domid dom, const char *path,
		      const struct xs_permissions *perms, unsigned num);
/* dom registered (added) or removed a watch; client: the store's client
 * it belongs to (sim_xs_watch_client; 0: none). */
void sim_rec_xs_watch(struct sim *sim, sim_domid dom, const char *path,
		      const char *token, uint32_t client, bool added);
/* A watch event about to be delivered to `dom`'s watch. */
void sim_rec_xs_watch_fire(struct sim *sim, sim_domid dom, const char *path,
			   const char *token);

#endif /* SIM_TRACE_TRACE_H */
