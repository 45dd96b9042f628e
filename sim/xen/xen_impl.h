/*
 * Private state of the hypervisor models (the sim/xen sources only).
 *
 * One struct sim_xen per simulation, attached as SIM_PART_XEN on first
 * sim_domain_create. It owns the domains and a frame index (host address
 * >> 12 to struct sim_page) that every xpv_shm_* access goes through.
 * Ownership: a domain owns its pages, grant table and ports; a mapping
 * belongs to the mapping domain; a frame still mapped when its granter
 * dies becomes a zombie of the model until the last unmap (as in Xen,
 * where a dying domain's mapped pages outlive it).
 */
#ifndef SIM_XEN_XEN_IMPL_H
#define SIM_XEN_XEN_IMPL_H

#include <stdint.h>
#include <xen/grant_table.h>

#include "../core/u64map.h"
#include "xen.h"

#define SIM_PAGE_SIZE 4096u
#define SIM_PAGE_SHIFT 12
#define SIM_DOMAIN_PAGES_MAX 65536u
#define SIM_GNTTAB_RESERVED 8u
#define SIM_EVTCHN_PORTS 1024u
#define SIM_EVTCHN_CHUNK 64u

struct sim_page {
	struct sim_domain *owner;  /* NULL for a zombie */
	uint8_t *data;             /* SIM_PAGE_SIZE bytes, page aligned */
	uint64_t gfn;
	struct sim_page *prev, *next; /* owner's list, or the zombie list */
	uint32_t grants_active;    /* active grant entries naming this frame */
	uint32_t nmaps;            /* live sim_grant_map objects on it */
	bool outbound;
	bool quarantined;
	bool revoke_failed;        /* a try-end on it was refused (-EBUSY) */
	bool ever_granted;
	bool free_refused;         /* sim_page_free was refused (reported) */
	/* Its data may have been written since it was zeroed: set whenever
	 * the bytes are handed out (sim_page_data, a grant mapping, a grant
	 * copy), so a pooled frame nobody touched is not zeroed again. */
	bool dirty;
	bool fetched_dirty;        /* some bit of fetched[] was ever set */
	/* Bit set: byte fetched since its last publication (shm observer).
	 * Last, so a pooled frame clears only the fields above when no bit
	 * was ever set. */
	uint64_t fetched[SIM_PAGE_SIZE / 64];
};

/* Shadow of one grant entry: what Xen and the guest kernel know besides
 * the 8 bytes of the v1 entry itself. */
struct sim_gnt_shadow {
	struct sim_page *page;     /* frame of the active grant, or NULL */
	uint32_t maps_ro, maps_rw; /* peer mappings of the active grant */
	bool claimed;
	bool ended;                /* last grant on this ref was ended */
};

/* One v1 grant-table frame: 512 entries, and their shadows. */
#define SIM_GNTTAB_FRAME_REFS (4096u / sizeof(grant_entry_v1_t))
#define SIM_GNTTAB_FRAMES (SIM_GNTTAB_ENTRIES / SIM_GNTTAB_FRAME_REFS)

struct sim_gnt_frame {
	grant_entry_v1_t entries[SIM_GNTTAB_FRAME_REFS];
	struct sim_gnt_shadow shadow[SIM_GNTTAB_FRAME_REFS];
};

struct sim_gnttab {
	struct sim_gnt_frame *frames[SIM_GNTTAB_FRAMES]; /* NULL: never used */
	/* Bit set: ref claimed (mirrors shadow[].claimed) for a fast scan. */
	uint64_t claimed_bm[SIM_GNTTAB_ENTRIES / 64];
	struct sim_gnttab_stats stats; /* event counters; gauges computed */
};

struct sim_grant_map {
	struct sim_domain *mapper;
	struct sim_domain *granter; /* NULL once the granter was destroyed */
	struct sim_page *page;
	uint32_t ref;
	bool writable;
	struct sim_grant_map *prev, *next; /* mapper's list */
};

enum sim_port_state {
	SIM_PORT_FREE,
	SIM_PORT_UNBOUND,
	SIM_PORT_INTERDOMAIN,
};

struct sim_evtchn_port {
	struct sim_domain *dom;
	uint32_t port;
	enum sim_port_state state;
	sim_domid remote_dom;          /* unbound: who may bind */
	struct sim_evtchn_port *peer;  /* interdomain: the other end */
	sim_evtchn_fn *fn;
	void *arg;
	sim_event_id ev;               /* scheduled delivery, or 0 */
	bool pending, masked;
	bool lateeoi, eoi_outstanding;
	bool storm;                    /* injected: re-raise after delivery */
};

struct sim_domain {
	struct sim_xen *xen;
	sim_domid id;
	char *name;
	struct sim_domain *next;       /* model's list, creation order */
	struct sim_page *pages;        /* allocated frames, newest first */
	uint32_t npages;
	uint64_t next_gfn;
	struct sim_gnttab *gt;
	struct sim_grant_map *maps;    /* mappings this domain holds */
	/* SIM_EVTCHN_PORTS in chunks made on first use; port 0 unused. */
	struct sim_evtchn_port *port_chunks[SIM_EVTCHN_PORTS /
					    SIM_EVTCHN_CHUNK];
	uint32_t ports_hwm;            /* ports at or above it were never used */
	struct sim_evtchn_stats evstats;
};

struct sim_xen {
	struct sim *sim;
	struct sim_domain *domains;
	struct sim_u64map frames;      /* addr >> 12 -> struct sim_page */
	struct sim_page *zombies;
	uint64_t double_fetches;
};

/* The model of sim, or NULL if no domain was ever created. */
struct sim_xen *sim_xen_of(const struct sim *sim);

/* domain.c */
void sim_xen_page_release(struct sim_xen *xen, struct sim_page *pg);

/* gnttab.c */
struct sim_gnttab *sim_gnttab_new(void);
void sim_gnttab_free(struct sim_gnttab *gt);
/* The v1 entry of ref as the guest sees it (all zero in a frame never
 * used). */
const grant_entry_v1_t *sim_gnttab_entry(const struct sim_gnttab *gt,
					 uint32_t ref);
void sim_gnttab_audit(struct sim_domain *d, const char *when);
/* Drop every mapping d holds, without reporting. */
void sim_gnttab_unmap_all(struct sim_domain *d);
/* d is dying: mappings other domains hold on its grants lose their granter
 * and their frames become zombies. */
void sim_gnttab_orphan_maps(struct sim_domain *d);

/* evtchn.c */
void sim_evtchn_ports_free(struct sim_domain *d);
void sim_evtchn_audit(struct sim_domain *d, const char *when);
/* Close every port of d; cancel_events false at sim teardown. */
void sim_evtchn_close_all(struct sim_domain *d, bool cancel_events);

#endif /* SIM_XEN_XEN_IMPL_H */
