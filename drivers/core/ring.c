// SPDX-License-Identifier: MIT
/*
 * Frontend side of a Xen shared ring; see xpv/front_ring.h for the rules.
 * Every access to the shared page goes through the xpv_shm_* calls of the
 * contract, so the simulator sees each one and kernel glue adds barriers.
 */
#include <xpv/front_ring.h>

static volatile xpv_u8 *slot_addr(const struct xpv_front_ring *ring,
				  xpv_u32 idx)
{
	return ring->slots + (xpv_size)(idx & (ring->nr_slots - 1)) *
				     ring->entry_size;
}

static xpv_bool is_power_of_two(xpv_u32 x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

void xpv_front_ring_init(struct xpv_front_ring *ring, struct xpv_dev *dev,
			 void *page, xpv_u32 entry_size, xpv_u32 req_size,
			 xpv_u32 rsp_size)
{
	volatile struct xpv_sring_hdr *sring = page;
	struct xpv_sring_hdr hdr;

	XPV_ASSERT(page != XPV_NULL);
	XPV_ASSERT(req_size <= entry_size && rsp_size <= entry_size);
	XPV_ASSERT(entry_size <= XPV_PAGE_SIZE - XPV_RING_HDR_SIZE);

	/* SHARED_RING_INIT: the backend sees the ring only after we grant
	 * the page, so one store of the whole header is enough. */
	xpv_memset(&hdr, 0, sizeof(hdr));
	hdr.req_event = 1;
	hdr.rsp_event = 1;
	xpv_shm_store(dev, sring, &hdr, sizeof(hdr));

	ring->dev = dev;
	ring->sring = sring;
	ring->slots = (volatile xpv_u8 *)page + XPV_RING_HDR_SIZE;
	ring->nr_slots = XPV_RING_SLOTS(entry_size);
	ring->entry_size = entry_size;
	ring->req_size = req_size;
	ring->rsp_size = rsp_size;
	ring->req_prod_pvt = 0;
	ring->req_prod_pushed = 0;
	ring->rsp_cons = 0;
	ring->rsp_prod_seen = 0;
	ring->broken = XPV_FALSE;
	XPV_ASSERT(is_power_of_two(ring->nr_slots));
}

xpv_u32 xpv_front_ring_outstanding(const struct xpv_front_ring *ring)
{
	xpv_u32 n = ring->req_prod_pvt - ring->rsp_cons;

	XPV_ASSERT(n <= ring->nr_slots);
	return n;
}

xpv_bool xpv_front_ring_full(const struct xpv_front_ring *ring)
{
	return xpv_front_ring_outstanding(ring) == ring->nr_slots;
}

int xpv_front_ring_put(struct xpv_front_ring *ring, const void *req)
{
	if (ring->broken)
		return -XPV_EPROTO;
	if (xpv_front_ring_full(ring))
		return -XPV_ENOSPC;
	xpv_shm_store(ring->dev, slot_addr(ring, ring->req_prod_pvt), req,
		      ring->req_size);
	ring->req_prod_pvt++;
	return 0;
}

void xpv_front_ring_push(struct xpv_front_ring *ring, xpv_bool *notify)
{
	struct xpv_dev *dev = ring->dev;
	/* The previous value comes from private memory: req_prod is ours,
	 * and a backend that rewrote it must not steer us. */
	xpv_u32 old = ring->req_prod_pushed;
	xpv_u32 new = ring->req_prod_pvt;

	xpv_shm_wmb(dev); /* slots before the index that publishes them */
	xpv_shm_write_idx(dev, &ring->sring->req_prod, new);
	ring->req_prod_pushed = new;
	xpv_shm_mb(dev);  /* index before reading the backend's req_event */
	xpv_u32 event = xpv_shm_read_idx(dev, &ring->sring->req_event);
	*notify = (xpv_u32)(new - event) < (xpv_u32)(new - old);
}

int xpv_front_ring_poll(struct xpv_front_ring *ring, xpv_u32 *ready)
{
	*ready = 0;
	if (ring->broken)
		return -XPV_EPROTO;
	xpv_u32 prod = xpv_shm_read_idx(ring->dev, &ring->sring->rsp_prod);
	/* RING_RESPONSE_PROD_OVERFLOW, tightened: the backend may not
	 * answer more requests than we have outstanding. */
	if ((xpv_u32)(prod - ring->rsp_cons) >
	    (xpv_u32)(ring->req_prod_pvt - ring->rsp_cons)) {
		ring->broken = XPV_TRUE;
		xpv_log(ring->dev, XPV_LOG_ERR,
			"ring: rsp_prod %u beyond %u outstanding from %u",
			prod, ring->req_prod_pvt - ring->rsp_cons,
			ring->rsp_cons);
		return -XPV_EPROTO;
	}
	xpv_shm_rmb(ring->dev); /* index before the slots it covers */
	ring->rsp_prod_seen = prod;
	*ready = prod - ring->rsp_cons;
	return 0;
}

int xpv_front_ring_take(struct xpv_front_ring *ring, void *rsp)
{
	if (ring->broken)
		return -XPV_EPROTO;
	/* Only what the last validated poll made ready. */
	XPV_ASSERT(ring->rsp_cons != ring->rsp_prod_seen);
	xpv_shm_fetch(ring->dev, rsp, slot_addr(ring, ring->rsp_cons),
		      ring->rsp_size);
	ring->rsp_cons++;
	return 0;
}

int xpv_front_ring_final_check(struct xpv_front_ring *ring, xpv_bool *more)
{
	xpv_u32 ready;
	int err;

	*more = XPV_FALSE;
	if (ring->broken)
		return -XPV_EPROTO;
	if (ring->rsp_prod_seen != ring->rsp_cons) {
		*more = XPV_TRUE; /* the last poll left some unconsumed */
		return 0;
	}
	xpv_shm_write_idx(ring->dev, &ring->sring->rsp_event,
			  ring->rsp_cons + 1);
	xpv_shm_mb(ring->dev); /* rsp_event before re-reading rsp_prod */
	err = xpv_front_ring_poll(ring, &ready);
	if (err)
		return err;
	*more = ready != 0;
	return 0;
}
