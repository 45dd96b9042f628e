/*
 * Hypervisor models: domains and their page frames, grant table v1 with a
 * ledger, event channels, and the shared-memory observer behind the
 * frontend contract's xpv_shm_* calls.
 *
 * Error returns are 0 or a negative errno (<errno.h>). Violations that are a
 * frontend's fault go to the checkers (sim/check/check.h); misuse by a
 * backend model is an error return plus a ledger count, since backends are
 * allowed to be hostile.
 */
#ifndef SIM_XEN_XEN_H
#define SIM_XEN_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/sim.h"

typedef uint16_t sim_domid;
#define SIM_DOMID_DOM0 ((sim_domid)0)

struct sim_domain;
struct sim_page;
struct sim_grant_map;

/* ---- domains ------------------------------------------------------------ */

/* Creates the Xen model on first use (SIM_PART_XEN). -EEXIST if id is taken. */
int sim_domain_create(struct sim *sim, sim_domid id, const char *name,
		      struct sim_domain **out);
struct sim_domain *sim_domain_get(struct sim *sim, sim_domid id);
sim_domid sim_domain_id(const struct sim_domain *d);
struct sim *sim_domain_sim(const struct sim_domain *d);
/* Audits the domain (sim_domain_audit "destroy"), releases its quarantine,
 * closes its ports, frees its pages and removes it. */
void sim_domain_destroy(struct sim_domain *d);
/* Report as violations: active grants (GRANT_LEAK; quarantined ones are
 * counted apart), pages still allocated (PAGE_LEAK), open ports
 * (EVTCHN_LEAK). `when` names the moment in the messages. */
void sim_domain_audit(struct sim_domain *d, const char *when);

/* ---- pages ------------------------------------------------------------- */

/* A zeroed 4 KiB frame owned by d, 4096-aligned in host memory. NULL only
 * when the domain's page budget (65536 frames) is exhausted. */
struct sim_page *sim_page_alloc(struct sim_domain *d);
/* Frees the frame. Freeing one with an active grant is a violation
 * (GRANT_FREE_GRANTED; a failed revoke makes it GRANT_REVOKE_REUSE) and
 * the frame is kept, not freed. */
void sim_page_free(struct sim_page *pg);
/* The frame's grant could not be revoked: keep it until the domain dies.
 * Quarantined frames are reported apart from leaks and are not leaks for
 * LeakSanitizer (the domain still references them). */
void sim_page_quarantine(struct sim_page *pg);
void *sim_page_data(const struct sim_page *pg);
uint64_t sim_page_gfn(const struct sim_page *pg);
struct sim_domain *sim_page_owner(const struct sim_page *pg);
/* The frame containing host address addr, or NULL. */
struct sim_page *sim_page_lookup(struct sim *sim, const void *addr);
/* Harness: this frame carries data the guest sends; the backend must never
 * get write access to it (a writable grant is GRANT_RW_OUTBOUND). */
void sim_page_set_outbound(struct sim_page *pg, bool outbound);
/* Active grant entries naming this frame. */
uint32_t sim_page_grants_active(const struct sim_page *pg);

/* ---- grant table v1: the granting domain ------------------------------- */

#define SIM_GNTTAB_ENTRIES 4096u /* eight v1 frames: a vscsi ring at full
				   * depth with SG-list pages needs 2065 */

/* Claim an unused reference (refs 0-7 are reserved, as in Linux).
 * -ENOSPC when every reference is claimed. */
int sim_gnttab_claim(struct sim_domain *d, uint32_t *ref);
/* Give a claimed, ungranted reference back. */
void sim_gnttab_release(struct sim_domain *d, uint32_t ref);
/* Fill the entry: frame of pg, peer domain, GTF_permit_access (+readonly). */
int sim_gnttab_grant(struct sim_domain *d, uint32_t ref, sim_domid peer,
		     struct sim_page *pg, bool readonly);
/* Atomic try-revoke (gnttab_try_end_foreign_access): clears the entry only
 * if the peer has no mapping (GTF_reading/GTF_writing clear). 0: ended and
 * the reference is free again. -EBUSY: still mapped, nothing changed, the
 * ledger counts a revoke-while-mapped attempt and marks the page so that
 * reusing it is a violation. -EINVAL: not an active grant. */
int sim_gnttab_try_end(struct sim_domain *d, uint32_t ref);

/* ---- grant table v1: the mapping domain (backends) ---------------------- */

/* gnttab_map_grant_ref: permission checks against the granter's entry
 * (peer must be the mapper, permit_access set, readonly refuses writable).
 * -ENOENT: no such active grant (also counted as access after end when the
 * reference was ended); -EACCES: refused. Sets GTF_reading/GTF_writing. */
int sim_gnttab_map(struct sim_domain *mapper, sim_domid granter, uint32_t ref,
		   bool writable, struct sim_grant_map **out);
void *sim_grant_map_addr(const struct sim_grant_map *map);
bool sim_grant_map_writable(const struct sim_grant_map *map);
/* Drops the mapping and clears the reading/writing state once unused. */
void sim_gnttab_unmap(struct sim_grant_map *map);
/* GNTTABOP_copy against one granted frame, with the same checks as map:
 * to_granted writes buf into the frame (needs a writable grant). */
int sim_gnttab_copy(struct sim_domain *caller, sim_domid granter, uint32_t ref,
		    uint16_t offset, void *buf, uint16_t len, bool to_granted);

struct sim_gnttab_stats {
	uint32_t active;              /* entries with GTF_permit_access */
	uint32_t mapped;              /* active entries mapped by a peer */
	uint32_t quarantined;         /* active entries on quarantined frames */
	uint64_t grants;              /* sim_gnttab_grant calls that succeeded */
	uint64_t ends;                /* successful try-ends */
	uint64_t revoke_while_mapped; /* try-end refused with -EBUSY */
	uint64_t maps, map_refusals;  /* backend side */
	uint64_t access_after_end;    /* backend map/copy of an ended ref */
};
void sim_gnttab_stats(const struct sim_domain *d, struct sim_gnttab_stats *st);

/* ---- event channels ---------------------------------------------------- */

typedef void sim_evtchn_fn(struct sim *sim, void *arg, uint32_t port);

/* EVTCHNOP_alloc_unbound: a port of d that `remote` may bind to. */
int sim_evtchn_alloc_unbound(struct sim_domain *d, sim_domid remote,
			     uint32_t *port);
/* EVTCHNOP_bind_interdomain: bind a new port of d to remote's unbound port,
 * which must have been allocated for d. */
int sim_evtchn_bind_interdomain(struct sim_domain *d, sim_domid remote,
				uint32_t remote_port, uint32_t *port);
/* Deliveries call fn; lateeoi: the port masks itself at each delivery until
 * sim_evtchn_eoi(). */
int sim_evtchn_set_handler(struct sim_domain *d, uint32_t port,
			   sim_evtchn_fn *fn, void *arg, bool lateeoi);
/* Sets pending at the other end; if unmasked, a delivery event runs after
 * the configured latency plus jitter. Sends to a closed peer are dropped. */
int sim_evtchn_send(struct sim_domain *d, uint32_t port);
/* A send played from a recording (sim/replay): the delivery it makes due
 * is the recorded one (time and storm; NULL: it made none due) instead
 * of a draw. 0; 1 when the receiving port is not in the state the
 * recording implies (a delivery due that was not, or one in the past);
 * -EINVAL for no such port. */
struct sim_rec_delivery;
int sim_evtchn_send_replayed(struct sim_domain *d, uint32_t port,
			     const struct sim_rec_delivery *delivery);
/* The same for a late EOI: the delivery it makes due is the recorded
 * one. Same returns. */
int sim_evtchn_eoi_replayed(struct sim_domain *d, uint32_t port,
			    const struct sim_rec_delivery *delivery);
int sim_evtchn_mask(struct sim_domain *d, uint32_t port);
/* Unmasking with an event pending delivers it. */
int sim_evtchn_unmask(struct sim_domain *d, uint32_t port);
int sim_evtchn_eoi(struct sim_domain *d, uint32_t port);
bool sim_evtchn_is_pending(const struct sim_domain *d, uint32_t port);
int sim_evtchn_close(struct sim_domain *d, uint32_t port);

struct sim_evtchn_stats {
	uint32_t open;
	uint64_t sends, deliveries, dropped;
};
void sim_evtchn_stats(const struct sim_domain *d, struct sim_evtchn_stats *st);

/* ---- shared-memory observer ------------------------------------------- */
/* The sim contract forwards every xpv_shm_* access here. A fetch of a byte
 * that was already fetched since its last publication is a double fetch;
 * backends publish what they write (a response slot, inbound data) with
 * sim_shm_publish. Accesses to a frame whose every grant has ended are
 * GRANT_AFTER_END. Addresses outside simulator frames are not tracked. */
void sim_shm_fetch(struct sim *sim, const void *addr, size_t len);
void sim_shm_store(struct sim *sim, const void *addr, size_t len);
void sim_shm_publish(struct sim *sim, const void *addr, size_t len);
uint64_t sim_shm_double_fetches(const struct sim *sim);

#endif /* SIM_XEN_XEN_H */
