/*
 * The shared-memory observer behind xpv_shm_fetch/store (drivers' only
 * door to backend-writable bytes). Each frame keeps one bit per byte: set
 * when the frontend fetched the byte, cleared when a backend publishes new
 * contents there. Fetching a set byte is a double fetch (XSA-155's bug
 * pattern, seen from the frontend side). Touching a frame whose grants have
 * all ended means the frontend still treats it as shared after revoking.
 *
 * Memory outside simulator frames (private buffers) is not observed.
 */
#include "../check/check.h"
#include "../trace/trace.h"
#include "xen_impl.h"

/* ---- per-byte bitmap ---- */

/* Mask of bits [lo, hi) within one 64-bit word, 0 <= lo < hi <= 64. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
	uint64_t upper = hi == 64 ? ~0ull : (1ull << hi) - 1;

	return upper & ~((1ull << lo) - 1);
}

/* First set bit in [off, off + len), or -1. len > 0, within the page. */
static int bits_first(const uint64_t *bm, unsigned off, unsigned len)
{
	unsigned end = off + len;

	while (off < end) {
		unsigned w = off / 64, lo = off % 64;
		unsigned hi = end - w * 64 < 64 ? end - w * 64 : 64;
		uint64_t hit = bm[w] & word_mask(lo, hi);

		if (hit)
			return (int)(w * 64 + (unsigned)__builtin_ctzll(hit));
		off = w * 64 + hi;
	}
	return -1;
}

static void bits_assign(uint64_t *bm, unsigned off, unsigned len, bool set)
{
	unsigned end = off + len;

	while (off < end) {
		unsigned w = off / 64, lo = off % 64;
		unsigned hi = end - w * 64 < 64 ? end - w * 64 : 64;

		if (set)
			bm[w] |= word_mask(lo, hi);
		else
			bm[w] &= ~word_mask(lo, hi);
		off = w * 64 + hi;
	}
}

/* ---- walking a range frame by frame ---- */

/* Every grant the frame ever had has ended, and it was not granted again. */
static bool page_grants_ended(const struct sim_page *pg)
{
	return pg->ever_granted && pg->grants_active == 0;
}

struct shm_walk {
	struct sim_page *page; /* NULL: memory outside simulator frames */
	unsigned off, len;     /* the part of the range in this frame */
};

/* Next frame-sized piece of [*addr, *addr + *left); false when done. */
static bool shm_next(struct sim *sim, uintptr_t *addr, size_t *left,
		     struct shm_walk *w)
{
	size_t room;

	if (*left == 0)
		return false;
	w->page = sim_page_lookup(sim, (const void *)*addr);
	w->off = (unsigned)(*addr & (SIM_PAGE_SIZE - 1));
	room = SIM_PAGE_SIZE - w->off;
	w->len = (unsigned)(*left < room ? *left : room);
	*addr += w->len;
	*left -= w->len;
	return true;
}

static void report_after_end(struct sim *sim, const char *what,
			     const struct sim_page *pg, unsigned off,
			     size_t len)
{
	sim_violation(sim, SIM_CHECK_GRANT_AFTER_END,
		      "shm %s of %zu bytes at gfn %#llx offset %u (dom%u) "
		      "after every grant on it ended", what, len,
		      (unsigned long long)pg->gfn, off, pg->owner->id);
}

void sim_shm_fetch(struct sim *sim, const void *addr, size_t len)
{
	struct sim_xen *xen = sim_xen_of(sim);
	uintptr_t a = (uintptr_t)addr;
	size_t left = len;
	struct shm_walk w;
	bool dbl = false, after_end = false;

	if (!xen)
		return;
	/* Bounded: one iteration per frame the range touches. */
	while (shm_next(sim, &a, &left, &w)) {
		int first;

		if (!w.page)
			continue;
		first = bits_first(w.page->fetched, w.off, w.len);
		if (first >= 0 && !dbl) {
			dbl = true;
			sim_violation(sim, SIM_CHECK_DOUBLE_FETCH,
				      "double fetch: %zu bytes from %p, byte "
				      "at gfn %#llx offset %d (dom%u) already "
				      "fetched since its publication", len,
				      addr, (unsigned long long)w.page->gfn,
				      first, w.page->owner->id);
		}
		bits_assign(w.page->fetched, w.off, w.len, true);
		w.page->fetched_dirty = true;
		if (!after_end && page_grants_ended(w.page)) {
			after_end = true;
			report_after_end(sim, "fetch", w.page, w.off, len);
		}
	}
	if (dbl)
		xen->double_fetches++;
}

void sim_shm_store(struct sim *sim, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	size_t left = len;
	struct shm_walk w;

	if (!sim_xen_of(sim))
		return;
	/* A frontend store: record what earlier stores published (this
	 * one lands after the call; trace.h). */
	sim_rec_flush(sim);
	while (shm_next(sim, &a, &left, &w)) {
		if (w.page && page_grants_ended(w.page)) {
			report_after_end(sim, "store", w.page, w.off, len);
			return;
		}
	}
}

void sim_shm_publish(struct sim *sim, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	size_t left = len;
	struct shm_walk w;

	if (!sim_xen_of(sim))
		return;
	while (shm_next(sim, &a, &left, &w))
		if (w.page)
			bits_assign(w.page->fetched, w.off, w.len, false);
}

uint64_t sim_shm_double_fetches(const struct sim *sim)
{
	const struct sim_xen *xen = sim_xen_of(sim);

	return xen ? xen->double_fetches : 0;
}
