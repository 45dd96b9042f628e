/*
 * Private to the scsiback model: its state and the calls its files make to
 * each other. scsiback.c owns the lifecycle and xenbus, scsiback_lun.c the
 * translations and hotplug passes, scsiback_ring.c the ring, requests and
 * answers, scsiback_inject.c every injected misbehaviour (the only place
 * the fault plan is consulted).
 */
#ifndef SIM_BACKENDS_SCSIBACK_IMPL_H
#define SIM_BACKENDS_SCSIBACK_IMPL_H

#include "scsiback.h"

#include "xen_ring.h"
#include <xen/io/vscsiif.h>
#include <xen/io/xenbus.h>

#define SB_PATH_MAX	  256
#define SB_ENT_MAX	  64	/* a vscsi-devs entry name */
#define SB_DEVS_MAX	  1024u /* vscsi-devs entries looked at per pass */
#define SB_HISTORY	  32u	/* answered rqids kept (be-stale-id) */
#define SB_DRAIN_PASSES	  4u	/* ring passes per handler run */
#define SB_DID_NO_CONNECT 0x01u /* old encoding, bits 24-31 */
#define SB_DRIVER_ERROR	  0x08u
#define SB_PAGE		  4096u /* VSCSIIF_PAGE_SIZE */

struct xs_handle;

/* A virtual LUN and what it maps to. */
struct sb_lun {
	struct sb_lun *next;
	uint16_t chn, tgt, lun;
	struct sim_scsi_target *target;
};

/* A request in service: a CDB waiting for its completion time, or a TMR
 * delayed by be-late-tmr. */
struct sb_req {
	struct sb_req *next;
	struct scsiback *sb;
	vscsiif_request_t rq; /* the one copy of the slot */
	struct sim_scsi_target *target;
	vscsiif_segment_t *segs;     /* data segments, copied once */
	struct sim_grant_map **maps; /* one per data segment */
	unsigned nsegs;
	uint32_t data_len;
	sim_event_id ev;
	bool tmr;
};

/* A be-rsp-rewrite waiting to strike. */
struct sb_rewrite {
	struct sb_rewrite *next;
	struct scsiback *sb;
	RING_IDX idx;
	sim_event_id ev;
};

struct scsiback {
	struct scsiback_config cfg;
	struct sim *sim;
	struct sim_domain *dom;
	struct xs_handle *xs;
	char path[SB_PATH_MAX], fpath[SB_PATH_MAX];
	bool fe_seen;  /* the frontend's state was readable once */
	bool resuming; /* connection dropped by a resume: next is one */
	/* the connection */
	uint32_t ring_ref, fe_port, port;
	struct sim_grant_map *ring_map;
	vscsiif_back_ring_t ring;
	struct sb_req *service; /* in intake order */
	struct sb_rewrite *rewrites;
	uint16_t history[SB_HISTORY]; /* ring buffer of answered rqids */
	unsigned nhistory;
	/* rqids taken in and never to be answered (be-no-answer, dropped
	 * TMR victims), newest SB_HISTORY: a frontend may still wait on
	 * them, so be-bad-id must not name them. */
	uint16_t unanswered[SB_HISTORY];
	unsigned nunanswered;
	struct sb_lun *luns;
	struct sim_grant_map **held;
	unsigned held_cap;
	struct scsiback_stats st;
};

/* scsiback.c */
int sb_switch_state(struct scsiback *sb, int state);
/* Writes `state` unconditionally (still only if the directory exists). */
int sb_write_state(struct scsiback *sb, int state);
int sb_write_key(struct scsiback *sb, const char *rel, const char *val);
void sb_hold_map(struct scsiback *sb, struct sim_grant_map *map);

/* scsiback_lun.c */
enum sb_pass { SB_PASS_ADD_OR_DEL, SB_PASS_UPDATE_STATE };
void sb_lun_pass(struct scsiback *sb, enum sb_pass op, bool hot);
struct sb_lun *sb_lun_find(struct scsiback *sb, unsigned chn, unsigned tgt,
			   unsigned lun);
void sb_luns_free(struct scsiback *sb);
/* Fills data (len bytes) with the REPORT LUNS answer for req. */
void sb_report_luns(struct scsiback *sb, const struct sb_req *req,
		    uint8_t *data, uint32_t len, struct sim_scsi_result *res);
bool sb_parse_uint(const char *s, unsigned long long max,
		   unsigned long long *out);

/* scsiback_ring.c */
int sb_ring_connect(struct scsiback *sb, uint32_t ref, uint32_t fe_port);
/* finish: answer what is in service (Closing); else drop it unanswered. */
void sb_ring_disconnect(struct scsiback *sb, bool finish, bool may_hold);
bool sb_ring_connected(const struct scsiback *sb);
void sb_ring_drain(struct scsiback *sb);
/* Writes rsp into the next slot, publishes, pushes, notifies: no
 * misbehaviour (the hostile extras go through here). */
void sb_ring_put(struct scsiback *sb, const vscsiif_response_t *rsp);
bool sb_rqid_in_service(const struct scsiback *sb, uint16_t rqid);
/* rqid was taken in and left unanswered on purpose. */
void sb_rqid_unanswered_add(struct scsiback *sb, uint16_t rqid);
/* In service, or left unanswered: the frontend may be waiting for it. */
bool sb_rqid_awaited(const struct scsiback *sb, uint16_t rqid);

/* scsiback_inject.c: each returns true (or acts) when its class hits. */
void sb_inject_rsp_content(struct scsiback *sb, vscsiif_response_t *rsp,
			   uint32_t data_len);
void sb_inject_rsp_published(struct scsiback *sb, RING_IDX idx,
			     const vscsiif_response_t *rsp);
void sb_inject_req_rewrite(struct scsiback *sb, RING_IDX idx);
bool sb_inject_no_answer(struct scsiback *sb);
bool sb_inject_late_tmr(struct scsiback *sb);
bool sb_inject_hold_grant(struct scsiback *sb);
/* A value below bound: the decider's, else from the backend domain's
 * stream. */
uint64_t sb_draw(struct scsiback *sb, uint64_t bound);
bool sb_inject_hold_ring(struct scsiback *sb);
/* NULL, or a bogus feature-sg-grant value to write instead. */
const char *sb_inject_sg_grant(struct scsiback *sb);
void sb_inject_bogus_dev(struct scsiback *sb, char **names, unsigned n);
void sb_inject_bad_state(struct scsiback *sb);
bool sb_inject_remove_after_resume(struct scsiback *sb);
void sb_rewrites_cancel(struct scsiback *sb);

#endif /* SIM_BACKENDS_SCSIBACK_IMPL_H */
