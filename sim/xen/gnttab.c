/*
 * Grant table v1 with a ledger. The granting side (claim, grant, try-end)
 * is what a frontend drives through the contract; the mapping side (map,
 * unmap, copy) is what backend models do. Entries are Xen's own
 * grant_entry_v1_t, so GTF_reading/GTF_writing are visible exactly as a
 * guest would see them; a shadow beside each entry keeps what Xen and the
 * guest kernel know besides (frame pointer, mapping counts, ended refs).
 *
 * Verdicts: frontend mistakes (RW grant of outbound data, leaks) go to the
 * checkers; backend misuse (wrong domain, ended ref) is an error return and
 * a ledger count. Every operation is traced so the run hash covers it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check/check.h"
#include "../trace/trace.h"
#include "xen_impl.h"

#define GTF_MAPPED (GTF_reading | GTF_writing)

struct sim_gnttab *sim_gnttab_new(void)
{
	return sim_xcalloc(1, sizeof(struct sim_gnttab));
}

void sim_gnttab_free(struct sim_gnttab *gt)
{
	if (!gt)
		return;
	for (uint32_t f = 0; f < SIM_GNTTAB_FRAMES; f++)
		free(gt->frames[f]);
	free(gt);
}

/* Frames come into being when a ref in them is first claimed, as a guest's
 * table grows (Linux gnttab_expand): until then every entry reads as
 * unused. Only claimed refs are ever written. */
static const struct sim_gnt_frame frame_unused;

static const struct sim_gnt_frame *frame_of(const struct sim_gnttab *gt,
					    uint32_t ref)
{
	const struct sim_gnt_frame *f = gt->frames[ref / SIM_GNTTAB_FRAME_REFS];

	return f ? f : &frame_unused;
}

const grant_entry_v1_t *sim_gnttab_entry(const struct sim_gnttab *gt,
					 uint32_t ref)
{
	SIM_ASSERT(ref < SIM_GNTTAB_ENTRIES);
	return &frame_of(gt, ref)->entries[ref % SIM_GNTTAB_FRAME_REFS];
}

static const struct sim_gnt_shadow *shadow_at(const struct sim_gnttab *gt,
					      uint32_t ref)
{
	return &frame_of(gt, ref)->shadow[ref % SIM_GNTTAB_FRAME_REFS];
}

static struct sim_gnt_frame *frame_mut(struct sim_gnttab *gt, uint32_t ref)
{
	struct sim_gnt_frame *f = gt->frames[ref / SIM_GNTTAB_FRAME_REFS];

	SIM_ASSERT(f != NULL); /* a claimed ref's frame exists */
	return f;
}

static grant_entry_v1_t *entry_mut(struct sim_gnttab *gt, uint32_t ref)
{
	return &frame_mut(gt, ref)->entries[ref % SIM_GNTTAB_FRAME_REFS];
}

static struct sim_gnt_shadow *shadow_mut(struct sim_gnttab *gt, uint32_t ref)
{
	return &frame_mut(gt, ref)->shadow[ref % SIM_GNTTAB_FRAME_REFS];
}

static struct sim *dom_sim(const struct sim_domain *d)
{
	return d->xen->sim;
}

static bool ref_active(const struct sim_gnttab *gt, uint32_t ref)
{
	return sim_gnttab_entry(gt, ref)->flags & GTF_permit_access;
}

/* ---- granting side ---- */

static void claimed_set(struct sim_gnttab *gt, uint32_t ref, bool on)
{
	uint64_t bit = 1ull << (ref % 64);
	struct sim_gnt_frame **f = &gt->frames[ref / SIM_GNTTAB_FRAME_REFS];

	if (!*f)
		*f = sim_xcalloc(1, sizeof(**f));
	shadow_mut(gt, ref)->claimed = on;
	if (on)
		gt->claimed_bm[ref / 64] |= bit;
	else
		gt->claimed_bm[ref / 64] &= ~bit;
}

int sim_gnttab_claim(struct sim_domain *d, uint32_t *ref)
{
	struct sim_gnttab *gt = d->gt;

	/* Lowest free first: a just-ended ref is reused at once, as with
	 * Linux's free list, so a backend holding a stale ref is caught. */
	for (uint32_t w = 0; w < SIM_GNTTAB_ENTRIES / 64; w++) {
		uint64_t used = gt->claimed_bm[w];
		uint32_t r;

		if (w == 0) /* reserved refs are never handed out */
			used |= (1ull << SIM_GNTTAB_RESERVED) - 1;
		if (used == ~0ull)
			continue;
		r = w * 64 + (uint32_t)__builtin_ctzll(~used);
		SIM_ASSERT(!shadow_at(gt, r)->claimed);
		claimed_set(gt, r, true);
		*ref = r;
		return 0;
	}
	return -ENOSPC;
}

void sim_gnttab_release(struct sim_domain *d, uint32_t ref)
{
	struct sim_gnttab *gt = d->gt;

	if (ref < SIM_GNTTAB_RESERVED || ref >= SIM_GNTTAB_ENTRIES ||
	    !shadow_at(gt, ref)->claimed || ref_active(gt, ref)) {
		sim_violation(dom_sim(d), SIM_CHECK_CONTRACT,
			      "dom%u: release of grant ref %u that is not "
			      "claimed or still granted", d->id, ref);
		return;
	}
	claimed_set(gt, ref, false);
}

/* A frame whose revoke failed may not be handed out again. */
static void check_grant_reuse(struct sim_domain *d, struct sim_page *pg)
{
	if (!pg->quarantined && !(pg->revoke_failed && pg->grants_active))
		return;
	sim_violation(dom_sim(d), SIM_CHECK_GRANT_REVOKE_REUSE,
		      "dom%u: page gfn %#llx granted again after a failed "
		      "revoke", d->id, (unsigned long long)pg->gfn);
}

int sim_gnttab_grant(struct sim_domain *d, uint32_t ref, sim_domid peer,
		     struct sim_page *pg, bool readonly)
{
	struct sim_gnttab *gt = d->gt;
	grant_entry_v1_t *e;

	if (ref < SIM_GNTTAB_RESERVED || ref >= SIM_GNTTAB_ENTRIES ||
	    !shadow_at(gt, ref)->claimed || ref_active(gt, ref) || !pg ||
	    pg->owner != d)
		return -EINVAL;
	if (!readonly && pg->outbound)
		sim_violation(dom_sim(d), SIM_CHECK_GRANT_RW_OUTBOUND,
			      "dom%u: outbound page gfn %#llx granted "
			      "writable to dom%u (ref %u)", d->id,
			      (unsigned long long)pg->gfn, peer, ref);
	check_grant_reuse(d, pg);
	e = entry_mut(gt, ref);
	/* Guest order: frame and domid first, then flags (grant_table.h). */
	e->frame = (uint32_t)pg->gfn;
	e->domid = peer;
	e->flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
	shadow_mut(gt, ref)->page = pg;
	shadow_mut(gt, ref)->ended = false;
	/* A frame granted afresh starts a new sharing epoch: bytes fetched
	 * under an earlier grant may be fetched once more. */
	if (pg->grants_active++ == 0)
		memset(pg->fetched, 0, sizeof(pg->fetched));
	pg->ever_granted = true;
	gt->stats.grants++;
	sim_trace(dom_sim(d), "gnt-grant", ref,
		  (uint64_t)peer << 32 | (uint64_t)readonly << 31 | d->id);
	sim_rec_gnt_grant(dom_sim(d), d->id, ref, peer, readonly, pg->gfn);
	return 0;
}

/* Clear an entry nobody maps: the compare-and-swap that succeeds. */
static void entry_end(struct sim_domain *d, uint32_t ref)
{
	struct sim_gnttab *gt = d->gt;
	struct sim_gnt_shadow *sh = shadow_mut(gt, ref);

	SIM_ASSERT(sh->maps_ro == 0 && sh->maps_rw == 0);
	SIM_ASSERT(sh->page && sh->page->grants_active > 0);
	memset(entry_mut(gt, ref), 0, sizeof(grant_entry_v1_t));
	/* The frame is private again once its last grant ends: what it
	 * held no longer counts as outbound data. */
	if (--sh->page->grants_active == 0)
		sh->page->outbound = false;
	sh->page = NULL;
	sh->ended = true;
	claimed_set(gt, ref, false);
}

int sim_gnttab_try_end(struct sim_domain *d, uint32_t ref)
{
	struct sim_gnttab *gt = d->gt;
	struct sim_gnt_shadow *sh;

	if (ref >= SIM_GNTTAB_ENTRIES || !ref_active(gt, ref)) {
		sim_rec_gnt_end(dom_sim(d), d->id, ref, -EINVAL);
		return -EINVAL;
	}
	sh = shadow_mut(gt, ref);
	/* Atomic per gnttab_try_end_foreign_access (XSA-396): flags are
	 * checked and cleared in one step, so the peer cannot map between a
	 * "still mapped?" test and the revoke. */
	if (sim_gnttab_entry(gt, ref)->flags & GTF_MAPPED) {
		gt->stats.revoke_while_mapped++;
		sh->page->revoke_failed = true;
		sim_trace(dom_sim(d), "gnt-end-busy", ref, d->id);
		sim_rec_gnt_end(dom_sim(d), d->id, ref, -EBUSY);
		return -EBUSY;
	}
	entry_end(d, ref);
	gt->stats.ends++;
	sim_trace(dom_sim(d), "gnt-end", ref, d->id);
	sim_rec_gnt_end(dom_sim(d), d->id, ref, 0);
	return 0;
}

/* ---- mapping side ---- */

/* The permission checks shared by map and copy. On success *granter is
 * the granting domain. Refusals are counted on the granter's ledger. */
static int access_check(struct sim_domain *caller, sim_domid granter,
			uint32_t ref, bool writable, struct sim_domain **out)
{
	struct sim_domain *g = sim_domain_get(dom_sim(caller), granter);
	struct sim_gnttab *gt;
	uint16_t flags;

	if (!g)
		return -ESRCH;
	gt = g->gt;
	if (ref >= SIM_GNTTAB_ENTRIES) {
		gt->stats.map_refusals++;
		return -EINVAL;
	}
	flags = sim_gnttab_entry(gt, ref)->flags;
	if (!(flags & GTF_permit_access)) {
		gt->stats.map_refusals++;
		if (shadow_at(gt, ref)->ended)
			gt->stats.access_after_end++;
		return -ENOENT;
	}
	if (sim_gnttab_entry(gt, ref)->domid != caller->id ||
	    (writable && (flags & GTF_readonly))) {
		gt->stats.map_refusals++;
		return -EACCES;
	}
	*out = g;
	return 0;
}

int sim_gnttab_map(struct sim_domain *mapper, sim_domid granter, uint32_t ref,
		   bool writable, struct sim_grant_map **out)
{
	struct sim_domain *g;
	struct sim_gnt_shadow *sh;
	struct sim_grant_map *map;
	int err;

	err = access_check(mapper, granter, ref, writable, &g);
	sim_trace(dom_sim(mapper), "gnt-map", ref,
		  (uint64_t)granter << 32 | (uint64_t)writable << 31 |
		  (uint32_t)-err);
	sim_rec_gnt_map(dom_sim(mapper), mapper->id, granter, ref, writable,
			err);
	if (err)
		return err;
	sh = shadow_mut(g->gt, ref);
	map = sim_xcalloc(1, sizeof(*map));
	map->mapper = mapper;
	map->granter = g;
	map->page = sh->page;
	map->ref = ref;
	map->writable = writable;
	map->next = mapper->maps;
	if (mapper->maps)
		mapper->maps->prev = map;
	mapper->maps = map;
	/* Xen sets GTF_reading for every mapping, GTF_writing for RW ones. */
	if (writable)
		sh->maps_rw++;
	else
		sh->maps_ro++;
	entry_mut(g->gt, ref)->flags |= GTF_reading | (writable ? GTF_writing : 0);
	sh->page->nmaps++;
	g->gt->stats.maps++;
	*out = map;
	return 0;
}

void *sim_grant_map_addr(const struct sim_grant_map *map)
{
	map->page->dirty = true;
	return map->page->data;
}

bool sim_grant_map_writable(const struct sim_grant_map *map)
{
	return map->writable;
}

/* Remove map from the granter's view: counts and GTF flags. */
static void map_detach(struct sim_grant_map *map)
{
	struct sim_gnttab *gt = map->granter->gt;
	struct sim_gnt_shadow *sh = shadow_mut(gt, map->ref);
	grant_entry_v1_t *e = entry_mut(gt, map->ref);

	if (map->writable) {
		SIM_ASSERT(sh->maps_rw > 0);
		sh->maps_rw--;
	} else {
		SIM_ASSERT(sh->maps_ro > 0);
		sh->maps_ro--;
	}
	if (sh->maps_rw == 0)
		e->flags &= ~GTF_writing;
	if (sh->maps_rw == 0 && sh->maps_ro == 0)
		e->flags &= ~GTF_reading;
	map->granter = NULL;
}

static void map_free(struct sim_grant_map *map)
{
	struct sim_domain *m = map->mapper;
	struct sim_page *pg = map->page;

	/* First: a ring registered on this mapping is read one last time. */
	sim_rec_map_gone(dom_sim(m), map);
	if (map->granter)
		map_detach(map);
	if (map->prev)
		map->prev->next = map->next;
	else
		m->maps = map->next;
	if (map->next)
		map->next->prev = map->prev;
	SIM_ASSERT(pg->nmaps > 0);
	pg->nmaps--;
	/* A dead granter's frame lives only as long as its mappings. */
	if (!pg->owner && pg->nmaps == 0)
		sim_xen_page_release(m->xen, pg);
	free(map);
}

void sim_gnttab_unmap(struct sim_grant_map *map)
{
	if (!map)
		return;
	sim_trace(dom_sim(map->mapper), "gnt-unmap", map->ref,
		  (uint64_t)(map->granter ? map->granter->id : 0xffff) << 32 |
		  map->mapper->id);
	sim_rec_gnt_unmap(dom_sim(map->mapper), map->mapper->id,
			  map->granter ? map->granter->id : SIM_REC_DOMID_NONE,
			  map->ref, map->writable);
	map_free(map);
}

void sim_gnttab_unmap_all(struct sim_domain *d)
{
	while (d->maps)
		map_free(d->maps);
}

void sim_gnttab_orphan_maps(struct sim_domain *d)
{
	for (struct sim_domain *o = d->xen->domains; o; o = o->next)
		for (struct sim_grant_map *m = o->maps; m; m = m->next)
			if (m->granter == d)
				map_detach(m);
}

int sim_gnttab_copy(struct sim_domain *caller, sim_domid granter, uint32_t ref,
		    uint16_t offset, void *buf, uint16_t len, bool to_granted)
{
	struct sim_domain *g;
	uint8_t *frame;
	int err;

	if ((uint32_t)offset + len > SIM_PAGE_SIZE || (len && !buf))
		err = -EINVAL;
	else
		err = access_check(caller, granter, ref, to_granted, &g);
	sim_trace(dom_sim(caller), "gnt-copy", ref,
		  (uint64_t)granter << 48 | (uint64_t)to_granted << 47 |
		  (uint64_t)offset << 24 | (uint64_t)len << 8 | (uint8_t)-err);
	sim_rec_gnt_copy(dom_sim(caller), caller->id, granter, ref, to_granted,
			 offset, len, err);
	if (err)
		return err;
	frame = shadow_at(g->gt, ref)->page->data;
	shadow_at(g->gt, ref)->page->dirty |= to_granted;
	if (to_granted)
		memcpy(frame + offset, buf, len);
	else
		memcpy(buf, frame + offset, len);
	return 0;
}

/* ---- ledger ---- */

/* The first claimed ref at or after from, or SIM_GNTTAB_ENTRIES. Every
 * active ref is claimed, so scans for active grants walk the bitmap. */
static uint32_t next_claimed(const struct sim_gnttab *gt, uint32_t from)
{
	for (uint32_t w = from / 64; w < SIM_GNTTAB_ENTRIES / 64; w++) {
		uint64_t bits = gt->claimed_bm[w];

		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits)
			return w * 64 + (uint32_t)__builtin_ctzll(bits);
	}
	return SIM_GNTTAB_ENTRIES;
}

void sim_gnttab_stats(const struct sim_domain *d, struct sim_gnttab_stats *st)
{
	const struct sim_gnttab *gt = d->gt;

	*st = gt->stats;
	st->active = st->mapped = st->quarantined = 0;
	for (uint32_t r = next_claimed(gt, 0); r < SIM_GNTTAB_ENTRIES;
	     r = next_claimed(gt, r + 1)) {
		if (!ref_active(gt, r))
			continue;
		st->active++;
		if (sim_gnttab_entry(gt, r)->flags & GTF_MAPPED)
			st->mapped++;
		if (shadow_at(gt, r)->page->quarantined)
			st->quarantined++;
	}
}

void sim_gnttab_audit(struct sim_domain *d, const char *when)
{
	struct sim_gnttab *gt = d->gt;
	struct sim *sim = dom_sim(d);
	uint32_t quarantined = 0;

	for (uint32_t r = next_claimed(gt, 0); r < SIM_GNTTAB_ENTRIES;
	     r = next_claimed(gt, r + 1)) {
		struct sim_page *pg = shadow_at(gt, r)->page;

		if (!ref_active(gt, r))
			continue;
		/* Quarantine is the correct answer to a failed revoke. */
		if (pg->quarantined) {
			quarantined++;
			continue;
		}
		sim_violation(sim, SIM_CHECK_GRANT_LEAK,
			      "dom%u: grant ref %u (gfn %#llx, to dom%u%s) "
			      "still active at %s", d->id, r,
			      (unsigned long long)pg->gfn,
			      sim_gnttab_entry(gt, r)->domid,
			      sim_gnttab_entry(gt, r)->flags & GTF_MAPPED ? ", mapped" :
								  "", when);
	}
	if (quarantined)
		sim_trace(sim, "gnt-audit-quarantined", d->id, quarantined);
}
