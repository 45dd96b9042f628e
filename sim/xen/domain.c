/*
 * Domains and their page frames: the Xen model's root (SIM_PART_XEN), the
 * frame index behind sim_page_lookup, the audit that turns what a domain
 * still holds into leak verdicts, and teardown.
 *
 * sim_domain_destroy audits; the part destructor at sim_destroy frees
 * silently, so a harness that audited (or destroyed) never sees a verdict
 * twice. Frames are real page-aligned host memory so the frontend under
 * test can use them directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check/check.h"
#include "../core/poison.h"
#include "xen_impl.h"

static void xen_destroy(void *part);

struct sim_xen *sim_xen_of(const struct sim *sim)
{
	return sim_part(sim, SIM_PART_XEN);
}

static struct sim_xen *xen_get(struct sim *sim)
{
	struct sim_xen *xen = sim_xen_of(sim);

	if (xen)
		return xen;
	xen = sim_xcalloc(1, sizeof(*xen));
	xen->sim = sim;
	sim_u64map_init(&xen->frames);
	/* A PVSCSI session's frames (bounce pages, rings) without growing. */
	sim_u64map_reserve(&xen->frames, 1024);
	sim_attach(sim, SIM_PART_XEN, xen, xen_destroy);
	return xen;
}

/* ---- domains ---- */

int sim_domain_create(struct sim *sim, sim_domid id, const char *name,
		      struct sim_domain **out)
{
	struct sim_xen *xen = xen_get(sim);
	struct sim_domain *d, **tail;

	if (sim_domain_get(sim, id))
		return -EEXIST;
	d = sim_xcalloc(1, sizeof(*d));
	d->xen = xen;
	d->id = id;
	d->name = sim_xstrdup(name ? name : "");
	/* Small nonzero gfns keep "frame 0" out of every grant entry. */
	d->next_gfn = 0x100;
	d->gt = sim_gnttab_new();
	/* Creation order keeps teardown (and its trace) deterministic. */
	for (tail = &xen->domains; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	sim_trace(sim, "dom-create", id, 0);
	if (out)
		*out = d;
	return 0;
}

struct sim_domain *sim_domain_get(struct sim *sim, sim_domid id)
{
	struct sim_xen *xen = sim_xen_of(sim);

	for (struct sim_domain *d = xen ? xen->domains : NULL; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

sim_domid sim_domain_id(const struct sim_domain *d)
{
	return d->id;
}

struct sim *sim_domain_sim(const struct sim_domain *d)
{
	return d->xen->sim;
}

static void pages_audit(struct sim_domain *d, const char *when)
{
	struct sim *sim = d->xen->sim;

	for (struct sim_page *pg = d->pages; pg; pg = pg->next) {
		/* Quarantine is the prescribed fate of a frame whose revoke
		 * failed; a refused free was already reported. */
		if (pg->quarantined || pg->free_refused)
			continue;
		sim_violation(sim, SIM_CHECK_PAGE_LEAK,
			      "dom%u: page gfn %#llx still allocated at %s",
			      d->id, (unsigned long long)pg->gfn, when);
	}
}

void sim_domain_audit(struct sim_domain *d, const char *when)
{
	sim_gnttab_audit(d, when);
	pages_audit(d, when);
	sim_evtchn_audit(d, when);
}

static void domain_unlink(struct sim_domain *d)
{
	struct sim_domain **pp = &d->xen->domains;

	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
}

/* Free d's frames (quarantined ones included) and d itself. Mappings d
 * holds must be gone and its ports closed. */
static void domain_free(struct sim_domain *d)
{
	struct sim_xen *xen = d->xen;
	struct sim_page *pg, *next;

	SIM_ASSERT(d->maps == NULL);
	sim_gnttab_orphan_maps(d);
	for (pg = d->pages; pg; pg = next) {
		next = pg->next;
		if (pg->nmaps) {
			/* Still mapped by a live peer: keep the frame so the
			 * peer's pointer stays valid, but stop tracking it. */
			sim_u64map_del(&xen->frames,
				       (uintptr_t)pg->data >> SIM_PAGE_SHIFT);
			pg->owner = NULL;
			pg->prev = NULL;
			pg->next = xen->zombies;
			if (xen->zombies)
				xen->zombies->prev = pg;
			xen->zombies = pg;
			continue;
		}
		sim_xen_page_release(xen, pg);
	}
	domain_unlink(d);
	sim_gnttab_free(d->gt);
	sim_evtchn_ports_free(d);
	free(d->name);
	free(d);
}

void sim_domain_destroy(struct sim_domain *d)
{
	struct sim *sim;

	if (!d)
		return;
	sim = d->xen->sim;
	sim_domain_audit(d, "destroy");
	sim_gnttab_unmap_all(d);
	sim_evtchn_close_all(d, true);
	sim_trace(sim, "dom-destroy", d->id, 0);
	domain_free(d);
}

/* Part destructor (sim_destroy): free everything, report nothing. Every
 * mapping goes first so no frame becomes a zombie. */
static void xen_destroy(void *part)
{
	struct sim_xen *xen = part;
	struct sim_domain *d;

	for (d = xen->domains; d; d = d->next)
		sim_gnttab_unmap_all(d);
	for (d = xen->domains; d; d = d->next)
		sim_evtchn_close_all(d, false);
	while (xen->domains)
		domain_free(xen->domains);
	SIM_ASSERT(xen->zombies == NULL);
	sim_u64map_fini(&xen->frames);
	free(xen);
}

/* ---- pages ---- */

/*
 * Freed frames are kept for reuse: a fuzz session allocates and frees
 * thousands (every bounce page of a frontend), and going back to malloc
 * and the kernel each time dominated its cost. Process-wide, since sessions
 * come and go; the simulator is single-threaded. Pooled memory is poisoned
 * under ASan, so a use after free is still reported.
 */
#define PAGE_POOL_MAX 8192 /* 32 MiB of frames at most */

static struct sim_page *page_pool;
static unsigned page_pool_len;

static struct sim_page *page_get(void)
{
	struct sim_page *pg = page_pool;
	uint8_t *data;

	if (!pg) {
		pg = sim_xcalloc(1, sizeof(*pg));
		pg->data = aligned_alloc(SIM_PAGE_SIZE, SIM_PAGE_SIZE);
		SIM_ASSERT(pg->data != NULL);
		memset(pg->data, 0, SIM_PAGE_SIZE);
		return pg;
	}
	SIM_UNPOISON(pg, sizeof(*pg));
	page_pool = pg->next;
	page_pool_len--;
	data = pg->data;
	SIM_UNPOISON(data, SIM_PAGE_SIZE);
	if (pg->dirty)
		memset(data, 0, SIM_PAGE_SIZE);
	if (pg->fetched_dirty)
		memset(pg->fetched, 0, sizeof(pg->fetched));
	memset(pg, 0, offsetof(struct sim_page, fetched));
	pg->data = data;
	return pg;
}

static void page_put(struct sim_page *pg)
{
	if (page_pool_len >= PAGE_POOL_MAX) {
		free(pg->data);
		free(pg);
		return;
	}
	pg->next = page_pool;
	page_pool = pg;
	page_pool_len++;
	SIM_POISON(pg->data, SIM_PAGE_SIZE);
	/* The link and the data pointer stay readable for page_get. */
	SIM_POISON(pg->fetched, sizeof(pg->fetched));
}

struct sim_page *sim_page_alloc(struct sim_domain *d)
{
	struct sim_page *pg;

	if (d->npages >= SIM_DOMAIN_PAGES_MAX)
		return NULL;
	pg = page_get();
	pg->owner = d;
	pg->gfn = d->next_gfn++;
	pg->next = d->pages;
	if (d->pages)
		d->pages->prev = pg;
	d->pages = pg;
	d->npages++;
	sim_u64map_put(&d->xen->frames, (uintptr_t)pg->data >> SIM_PAGE_SHIFT,
		       pg);
	return pg;
}

/* Unlink pg from its owner (or the zombie list) and free it. */
void sim_xen_page_release(struct sim_xen *xen, struct sim_page *pg)
{
	struct sim_domain *d = pg->owner;

	SIM_ASSERT(pg->nmaps == 0);
	if (pg->prev)
		pg->prev->next = pg->next;
	else if (d)
		d->pages = pg->next;
	else
		xen->zombies = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	if (d) {
		d->npages--;
		sim_u64map_del(&xen->frames,
			       (uintptr_t)pg->data >> SIM_PAGE_SHIFT);
	}
	page_put(pg);
}

void sim_page_free(struct sim_page *pg)
{
	struct sim_domain *d;

	if (!pg)
		return;
	d = pg->owner;
	SIM_ASSERT(d != NULL);
	if (pg->grants_active) {
		/* XSA-396 (CVE-2022-23041): the peer could still reach the
		 * frame, so it must not go back to the allocator. */
		if (pg->revoke_failed)
			sim_violation(d->xen->sim, SIM_CHECK_GRANT_REVOKE_REUSE,
				      "dom%u: page gfn %#llx freed after a "
				      "failed revoke", d->id,
				      (unsigned long long)pg->gfn);
		else
			sim_violation(d->xen->sim, SIM_CHECK_GRANT_FREE_GRANTED,
				      "dom%u: page gfn %#llx freed with %u "
				      "active grant(s)", d->id,
				      (unsigned long long)pg->gfn,
				      pg->grants_active);
		pg->free_refused = true;
		return;
	}
	sim_xen_page_release(d->xen, pg);
}

void sim_page_quarantine(struct sim_page *pg)
{
	pg->quarantined = true;
	sim_trace(pg->owner->xen->sim, "page-quarantine", pg->owner->id,
		  pg->gfn);
}

void *sim_page_data(const struct sim_page *pg)
{
	/* Handing out the bytes is what may dirty them (see dirty). */
	((struct sim_page *)pg)->dirty = true;
	return pg->data;
}

uint64_t sim_page_gfn(const struct sim_page *pg)
{
	return pg->gfn;
}

struct sim_domain *sim_page_owner(const struct sim_page *pg)
{
	return pg->owner;
}

struct sim_page *sim_page_lookup(struct sim *sim, const void *addr)
{
	struct sim_xen *xen = sim_xen_of(sim);
	uintptr_t key = (uintptr_t)addr >> SIM_PAGE_SHIFT;

	/* Key 0 is the map's empty marker; no frame lives at page 0. */
	if (!xen || key == 0)
		return NULL;
	return sim_u64map_get(&xen->frames, key);
}

uint32_t sim_page_grants_active(const struct sim_page *pg)
{
	return pg->grants_active;
}

void sim_page_set_outbound(struct sim_page *pg, bool outbound)
{
	pg->outbound = outbound;
}
