/*
 * A model of Linux xen-scsiback, the Dom0 PVSCSI (vscsiif) backend, for
 * the simulator. It speaks to xenstore only through libxenstore
 * (<xenstore.h>, the mock in sim/xenstore/xs_mock.c, woken by its push
 * notification), to the ring only through Xen's io/ring.h macros, maps
 * grants with the simulated grant table and passes commands to simulated
 * SCSI targets (sim/devices/scsi_target.h). Answers come after a seeded
 * service time, so they return out of order.
 *
 * Xenbus (protocol.md 3.3-3.4, 3.6): probe writes feature-sg-grant and
 * InitWait. FE 3: read ring-ref and event-channel (strict decimals), map
 * the ring, bind the port (late EOI), hotplug pass ADD_OR_DEL over
 * vscsi-devs (dev state 1: add, BE dev 3, or 6 on failure or duplicate
 * virtual id; 4: re-add, 3 on success as in Linux, silent on failure; 5:
 * delete, 6), BE 4. A missing or bogus key, an unmappable ring or an
 * unbindable port is xenbus_dev_fatal: error/<nodename>/error, then
 * Closing. FE 4: devs 3 -> 4, BE 4. FE 7 (after the toolstack wrote host
 * state 7): ADD_OR_DEL pass, BE 8. FE 5: every request in service is
 * answered now, ring unmapped, port closed, BE 5. FE 6: the same if still
 * connected (missed Closing), BE 6, and the device unregisters unless
 * `online` reads 1. FE 2, 8 or > 8: fatal. FE unreadable after it was
 * seen, or own directory removed: unregister. FE 1, or FE 3 with a new
 * ring-ref or port, while connected is a resume: the old ring is gone, so
 * in-service requests are dropped unanswered, mappings and translations
 * too, BE goes InitWait (a fresh backend: the frontend sees it reach 4
 * again) and FE 3 reconnects, re-adding devs in state 4. `state` is
 * written as xenbus_switch_state does: in a transaction, only if the
 * directory still exists, and not when unchanged.
 *
 * Requests (3.6): req_prod more than RING_SIZE ahead halts the ring (no
 * EOI afterwards); each slot is copied once (RING_COPY_REQUEST) and only
 * the copy is used. Checks in Linux's order: translation (else host
 * NO_CONNECT), direction, cmd_len, act; for CDBs the segments. Error
 * answers are host ERROR, or in the old encoding DID_NO_CONNECT << 24 and
 * DRIVER_ERROR << 24. Data segments are mapped at intake (writable only
 * for FROM_DEVICE), held in service, gathered into a private buffer at
 * completion, scattered back and published for FROM_DEVICE. Response:
 * rslt = status | host << 16, sense (<= 96 B), residual_len = data length
 * - transferred; the whole slot is written (XSA-216).
 *
 * Modelling choices where Linux/LIO differ or say nothing:
 * - Direction 0 (BIDIRECTIONAL, valid for Linux) and cmd_len 0 on a CDB
 *   are answered ERROR: the targets have no bidirectional commands, and
 *   LIO fails an empty CDB anyway.
 * - v-dev and p-dev are parsed strictly ("%u:%u:%u:%u" with nothing else,
 *   channel, id and lun <= 65535; p-dev "h:c:t:l" or "naa.<hex>:<lun>",
 *   lun < 512); anything else fails the dev (state 6).
 * - REPORT LUNS is answered by the backend: every virtual LUN translated
 *   for that (channel, id), the guest's view (LIO reports the physical
 *   TPG's LUNs). A hot-added LUN raises UNIT ATTENTION 3Fh/0Eh on the
 *   other LUNs of its (channel, id).
 * - ABORT (act 2) finds the in-service CDB with rqid == ref_rqid on the
 *   same (channel, id, lun): it is not executed, and the TMR gets 0x2002;
 *   no such request: 0x2003. RESET (act 3) takes every in-service CDB of
 *   that LUN the same way, resets the target, then answers 0x2002. What
 *   happens to the CDBs taken down (the victims) follows
 *   tmr_victims_answered: by default, as LIO does for the session that
 *   sent the TMR (scsiback's aborted_task does nothing), they are never
 *   answered and their data mappings are kept until destroy; otherwise
 *   each is answered with host ABORT / RESET before the TMR's answer and
 *   unmapped. TMRs need a translation too.
 * - Commands execute when their service time ends; Closing completes them
 *   at once instead of waiting (Linux waits for nr_unreplied_reqs == 0).
 *
 * Misbehaviour (sim/core/fault.h, protocol.md 5.1), consulted here:
 *   every response (in this order, before writing the slot):
 *     be-bad-id     rqid := RING_SIZE + random (>= ring size)
 *     be-sense-len  sense_len := 97..255
 *     be-residual   residual_len := data length + 1 + random
 *     be-rslt-bits  random bits 24-31, or 8-15, or host byte 21..255
 *     be-garbage    random act, reserved[] and sense bytes past sense_len
 *   every response (after publishing it):
 *     be-rsp-rewrite   rewrite rqid/rslt of the slot 1 ns..2 latencies
 *                      later, unpublished (a second read is a double fetch)
 *     be-dup-rsp       the same response once more
 *     be-stale-id      an extra response for an rqid not in service
 *                      (a recently answered one)
 *     be-rsp-overflow  rsp_prod := rsp_prod_pvt + RING_SIZE + 1 + random
 *   every request copied: be-req-rewrite (random bytes over its slot,
 *     unpublished), then be-no-answer (dropped, never answered);
 *   every TMR: be-late-tmr (performed and answered 30 s later);
 *   every data-request completion: be-hold-grant (its data mappings are
 *     kept until destroy); every disconnect: be-hold-ring (likewise);
 *   probe: be-xs-values (feature-sg-grant := "4294967295", "-1", "12abc"
 *     ...); each ADD_OR_DEL pass: be-xs-values (a new dev-N, state 3, with
 *     an unparsable v-dev);
 *   after each state change and each dev of a hotplug pass: be-bad-state
 *     (writes 6, 4, 7, 8, 2 or 9..255 out of sequence);
 *   each resume reconnect (a new ring while connected, or the first ring
 *     of a backend created `restored`): be-remove-after-resume (rm the BE
 *     directory right after mapping, before answering anything;
 *     unregisters).
 * After a dup or stale response rsp_prod_pvt can run ahead of req_cons; the
 * model then stops consuming, as a real backend would.
 *
 * Hostile frontend (5.2): nothing the frontend writes reaches an
 * assertion; loops over ring, SG lists and xenstore are bounded.
 * Destroy the backend before sim_destroy().
 */
#ifndef SIM_BACKENDS_SCSIBACK_H
#define SIM_BACKENDS_SCSIBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fault.h"
#include "../core/sim.h"
#include "../devices/scsi_target.h"
#include "../xen/xen.h"

#define SCSIBACK_LATE_TMR_NS  30000000000ull /* be-late-tmr: 30 s */

struct scsiback;


struct scsiback_config {
	struct sim *sim;
	sim_domid self;		   /* backend domain */
	sim_domid frontend;	   /* frontend domain */
	const char *path;	   /* .../backend/vscsi/<domid>/<vhost> */
	const char *frontend_path; /* .../device/vscsi/<vhost> */
	uint32_t sg_grant;	   /* feature-sg-grant; 0: not written and
				    * indirect SG lists refused */
	bool old_result_encoding;  /* setup failures as result << 24 */
	/* Commands a successful ABORT or LUN RESET takes down: false (the
	 * default, LIO's behaviour for the issuing session: TAS is not set)
	 * drops them unanswered with their data grants kept mapped until
	 * destroy; true answers each with host ABORT / RESET first. */
	bool tmr_victims_answered;
	/* Created for a restored guest: its frontend's first connection is
	 * a resume (be-remove-after-resume applies to it). */
	bool restored;
	/* The model's decisions (sim/core/fault.h): misbehaviour, the
	 * details of a hit and each command's service time (a decider that
	 * says no and draws 0 makes a well-behaved, fast backend). NULL:
	 * the fault plan and this backend domain's random stream
	 * (sim_rng_dom of `self`). */
	const struct sim_fault_decider *decider;
	uint64_t service_min_ns;   /* per request, plus per_kib_ns per KiB */
	uint64_t service_max_ns;
	uint64_t per_kib_ns;
	/* p-dev -> target; NULL: no such device. Targets outlive the
	 * backend. */
	struct sim_scsi_target *(*lookup)(void *arg, const char *pdev);
	void *lookup_arg;
};

/* sg_grant 128 (SG_ALL), 10-100 us per request plus 250 ns per KiB;
 * the rest zero. */
void scsiback_config_default(struct scsiback_config *cfg);

/* Why a request got an error answer. */
enum scsiback_bad {
	SCSIBACK_BAD_NO_LUN,  /* no translation: NO_CONNECT */
	SCSIBACK_BAD_DIR,     /* sc_data_direction not 1, 2 or 3 */
	SCSIBACK_BAD_CMD_LEN, /* cmd_len > 16 (or 0 on a CDB) */
	SCSIBACK_BAD_NR_SEGS, /* nr_segments & 0x7f > 26 */
	SCSIBACK_BAD_SG_PAGE, /* SG-list page layout or entry total */
	SCSIBACK_BAD_SEG,     /* data segment offset/length */
	SCSIBACK_BAD_GRANT,   /* a grant that would not map */
	SCSIBACK_BAD_ACT,     /* unknown act */
	SCSIBACK_BAD__COUNT,
};

struct scsiback_stats {
	uint64_t requests;  /* slots consumed */
	uint64_t responses; /* slots produced, hostile extras included */
	uint64_t notifies;  /* event-channel sends */
	uint64_t bad_requests, bad[SCSIBACK_BAD__COUNT];
	uint64_t tmr_abort, tmr_reset;
	uint64_t aborted, reset; /* CDBs taken down by ABORT / RESET */
	uint64_t dropped;        /* of those, never answered */
	uint64_t report_luns;	 /* answered by the backend itself */
	uint64_t bytes_in;	 /* data written into the guest (reads) */
	uint64_t bytes_out;	 /* data taken from the guest (writes) */
	uint64_t connects, fatal_errors;
	uint32_t luns; /* translations present */
	uint32_t in_service;
	uint32_t held_maps; /* mappings kept by be-hold-* */
	int state;	    /* backend state last written */
	bool connected, ring_halted, unregistered;
	/* Misbehaviour injected, by fault class (backend classes only). */
	uint64_t misbehaved[SIM_FAULT__COUNT];
};

/* Opens its xenstore connection, watches the frontend's state and its own
 * directory, writes feature-sg-grant and InitWait. -errno if the backend
 * domain does not exist or the initial writes fail. */
int scsiback_create(const struct scsiback_config *cfg, struct scsiback **out);
/* Cancels its events, closes its connection and port, unmaps everything
 * (held mappings too), frees. Requests in service are not answered. */
void scsiback_destroy(struct scsiback *sb);
void scsiback_stats(const struct scsiback *sb, struct scsiback_stats *st);

#endif /* SIM_BACKENDS_SCSIBACK_H */
