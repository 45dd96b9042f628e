/*
 * Event channels: per-domain ports (free, unbound, interdomain) with
 * pending and mask bits, delivered by simulator events after the
 * configured latency plus seeded jitter. A port has at most one delivery
 * scheduled; repeated sends before it runs coalesce into one, as pending
 * bits do in Xen. Late-EOI ports hold further deliveries until the EOI
 * (XSA-332/391), which is what lets a guest survive an event storm.
 *
 * Fault injection (delay, storm) enters in evtchn_inject() only.
 *
 * Randomness: the jitter and the fault draws of a delivery are charged to
 * the domain whose action made it due (the sender for a send, the port's
 * owner for an unmask, an EOI or a new handler): its own stream
 * (sim_rng_dom) and its (class, domain) fault streams, so one side's sends
 * never move the other side's draws (sim/core/sim.h, random streams). The
 * repeat a storm makes right after a delivery is charged to the port's
 * owner; on late-EOI ports (every frontend and backend model's) the repeat
 * waits for the owner's EOI, which draws as any EOI does.
 */
#include <errno.h>
#include <stdlib.h>

#include "../check/check.h"
#include "../core/fault.h"
#include "../trace/trace.h"
#include "xen_impl.h"

#define DELAY_FACTOR 1000u

void sim_evtchn_ports_free(struct sim_domain *d)
{
	for (uint32_t c = 0; c < SIM_EVTCHN_PORTS / SIM_EVTCHN_CHUNK; c++)
		free(d->port_chunks[c]);
}

/* Port i's slot, or NULL when its chunk was never needed. */
static struct sim_evtchn_port *port_at(const struct sim_domain *d, uint32_t i)
{
	struct sim_evtchn_port *chunk;

	SIM_ASSERT(i < SIM_EVTCHN_PORTS);
	chunk = d->port_chunks[i / SIM_EVTCHN_CHUNK];
	return chunk ? &chunk[i % SIM_EVTCHN_CHUNK] : NULL;
}

static void chunk_new(struct sim_domain *d, uint32_t c)
{
	struct sim_evtchn_port *chunk;

	chunk = sim_xcalloc(SIM_EVTCHN_CHUNK, sizeof(*chunk));
	for (uint32_t i = 0; i < SIM_EVTCHN_CHUNK; i++) {
		chunk[i].dom = d;
		chunk[i].port = c * SIM_EVTCHN_CHUNK + i;
	}
	d->port_chunks[c] = chunk;
}

static struct sim *port_sim(const struct sim_evtchn_port *p)
{
	return p->dom->xen->sim;
}

/* The open port `port` of d, or NULL. Port 0 is never valid. */
static struct sim_evtchn_port *port_get(const struct sim_domain *d,
					uint32_t port)
{
	struct sim_evtchn_port *p;

	if (port == 0 || port >= SIM_EVTCHN_PORTS)
		return NULL;
	p = port_at(d, port);
	return p && p->state != SIM_PORT_FREE ? p : NULL;
}

static struct sim_evtchn_port *port_new(struct sim_domain *d)
{
	for (uint32_t i = 1; i < SIM_EVTCHN_PORTS; i++) {
		if (!port_at(d, i))
			chunk_new(d, i / SIM_EVTCHN_CHUNK);
		if (port_at(d, i)->state != SIM_PORT_FREE)
			continue;
		if (i >= d->ports_hwm)
			d->ports_hwm = i + 1;
		return port_at(d, i);
	}
	return NULL;
}

/* Scans stop at the high-water mark: a domain uses a handful of its
 * SIM_EVTCHN_PORTS, and every session scans them at teardown. Every
 * chunk below it exists. */
static uint32_t ports_used_end(const struct sim_domain *d)
{
	SIM_ASSERT(d->ports_hwm <= SIM_EVTCHN_PORTS);
	return d->ports_hwm;
}

/* ==== fault injection: the only place event-channel faults enter ==== */
/* Consulted once per scheduled delivery. EVTCHN_DELAY stretches this
 * delivery's latency 1000-fold; EVTCHN_STORM makes the delivery raise the
 * port again, so the handler sees a spurious event (XSA-391). */
static uint64_t evtchn_inject(struct sim_evtchn_port *p, uint64_t delay_ns,
			      sim_domid actor)
{
	struct sim_fault_plan *plan = sim_faults(port_sim(p));

	if (sim_fault_hit_dom(plan, SIM_FAULT_EVTCHN_DELAY, actor))
		delay_ns *= DELAY_FACTOR;
	if (sim_fault_hit_dom(plan, SIM_FAULT_EVTCHN_STORM, actor))
		p->storm = true;
	return delay_ns;
}
/* ==== end of fault injection ======================================== */

static void port_deliver(struct sim *sim, void *arg);

static bool port_deliverable(const struct sim_evtchn_port *p)
{
	return p->pending && !p->masked && !p->eoi_outstanding && p->fn;
}

static bool port_due(const struct sim_evtchn_port *p)
{
	return !p->ev && port_deliverable(p);
}

static void port_schedule(struct sim_evtchn_port *p, uint64_t delay_ns)
{
	p->ev = sim_schedule(port_sim(p), delay_ns, port_deliver, p,
			     "evtchn-deliver");
}

/* Schedule a delivery if one is due and none is scheduled yet; actor is
 * the domain whose action made it due, and draws for it. What was
 * scheduled goes to *out (when not NULL); false: nothing. */
static bool port_kick_at(struct sim_evtchn_port *p, sim_domid actor,
			 struct sim_rec_delivery *out)
{
	struct sim *sim = port_sim(p);
	uint64_t delay_ns;

	if (!port_due(p))
		return false;
	delay_ns = sim_config(sim)->evtchn_latency_ns +
		   sim_jitter(sim, sim_rng_dom(sim, actor));
	delay_ns = evtchn_inject(p, delay_ns, actor);
	port_schedule(p, delay_ns);
	if (out)
		*out = (struct sim_rec_delivery){ sim_now(sim) + delay_ns,
						  p->storm };
	return true;
}

static void port_kick(struct sim_evtchn_port *p, sim_domid actor)
{
	port_kick_at(p, actor, NULL);
}

static void port_deliver(struct sim *sim, void *arg)
{
	struct sim_evtchn_port *p = arg;
	bool storm = p->storm;

	p->ev = 0;
	p->storm = false;
	/* Masked or awaiting EOI since scheduling: unmask/EOI kicks again. */
	if (!port_deliverable(p))
		return;
	p->pending = false;
	if (p->lateeoi)
		p->eoi_outstanding = true;
	p->dom->evstats.deliveries++;
	sim_trace(sim, "evtchn-deliver", p->dom->id, p->port);
	sim_rec_evtchn_deliver(sim, p->dom->id, p->port,
			       p->peer ? p->peer->dom->id : SIM_REC_DOMID_NONE,
			       p->peer ? p->peer->port : 0);
	if (storm) {
		p->pending = true;
		port_kick(p, p->dom->id);
	}
	/* Last: the handler may close the port or send on it. */
	p->fn(sim, p->arg, p->port);
}

int sim_evtchn_alloc_unbound(struct sim_domain *d, sim_domid remote,
			     uint32_t *port)
{
	struct sim_evtchn_port *p = port_new(d);

	if (!p)
		return -ENOSPC;
	p->state = SIM_PORT_UNBOUND;
	p->remote_dom = remote;
	*port = p->port;
	sim_trace(port_sim(p), "evtchn-alloc", d->id, p->port);
	return 0;
}

int sim_evtchn_bind_interdomain(struct sim_domain *d, sim_domid remote,
				uint32_t remote_port, uint32_t *port)
{
	struct sim_domain *r = sim_domain_get(d->xen->sim, remote);
	struct sim_evtchn_port *rp, *p;

	if (!r)
		return -ESRCH;
	rp = port_get(r, remote_port);
	if (!rp || rp->state != SIM_PORT_UNBOUND || rp->remote_dom != d->id)
		return -EINVAL;
	p = port_new(d);
	if (!p)
		return -ENOSPC;
	p->state = rp->state = SIM_PORT_INTERDOMAIN;
	p->remote_dom = remote;
	rp->remote_dom = d->id;
	p->peer = rp;
	rp->peer = p;
	*port = p->port;
	sim_trace(port_sim(p), "evtchn-bind",
		  (uint64_t)d->id << 32 | p->port,
		  (uint64_t)remote << 32 | remote_port);
	sim_rec_evtchn_bind(port_sim(p), d->id, p->port, remote, remote_port);
	return 0;
}

int sim_evtchn_set_handler(struct sim_domain *d, uint32_t port,
			   sim_evtchn_fn *fn, void *arg, bool lateeoi)
{
	struct sim_evtchn_port *p = port_get(d, port);

	if (!p)
		return -EINVAL;
	p->fn = fn;
	p->arg = arg;
	p->lateeoi = lateeoi;
	if (!lateeoi)
		p->eoi_outstanding = false;
	/* An event that arrived before the handler is delivered now. */
	port_kick(p, d->id);
	return 0;
}

int sim_evtchn_send(struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn_port *p = port_get(d, port);
	struct sim_evtchn_port *peer;
	struct sim_rec_delivery dl;
	bool sent;

	if (!p)
		return -EINVAL;
	d->evstats.sends++;
	if (p->state != SIM_PORT_INTERDOMAIN) {
		/* The peer closed: Xen drops the event silently. */
		d->evstats.dropped++;
		sim_trace(port_sim(p), "evtchn-send-drop", d->id, port);
		sim_rec_evtchn_send(port_sim(p), d->id, port, false,
				    SIM_REC_DOMID_NONE, 0, NULL);
		return 0;
	}
	peer = p->peer;
	sim_trace(port_sim(p), "evtchn-send", (uint64_t)d->id << 32 | port,
		  (uint64_t)peer->dom->id << 32 | peer->port);
	/* Kicked before it is recorded (a kick only schedules), so the
	 * record can say which delivery this send made due. */
	peer->pending = true;
	sent = port_kick_at(peer, d->id, &dl);
	sim_rec_evtchn_send(port_sim(p), d->id, port, true, peer->dom->id,
			    peer->port, sent ? &dl : NULL);
	return 0;
}

int sim_evtchn_send_replayed(struct sim_domain *d, uint32_t port,
			     const struct sim_rec_delivery *delivery)
{
	struct sim_evtchn_port *p = port_get(d, port);
	struct sim_evtchn_port *peer;
	struct sim *sim;

	if (!p)
		return -EINVAL;
	if (p->state != SIM_PORT_INTERDOMAIN)
		return sim_evtchn_send(d, port); /* dropped, as recorded */
	peer = p->peer;
	sim = port_sim(p);
	peer->pending = true;
	if (port_due(peer) != (delivery != NULL))
		return 1; /* the receiver's port is not as it was */
	d->evstats.sends++;
	sim_trace(sim, "evtchn-send", (uint64_t)d->id << 32 | port,
		  (uint64_t)peer->dom->id << 32 | peer->port);
	if (delivery) {
		if (delivery->at_ns < sim_now(sim))
			return 1;
		peer->storm = delivery->storm;
		port_schedule(peer, delivery->at_ns - sim_now(sim));
	}
	sim_rec_evtchn_send(sim, d->id, port, true, peer->dom->id, peer->port,
			    delivery);
	return 0;
}

int sim_evtchn_mask(struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn_port *p = port_get(d, port);

	if (!p)
		return -EINVAL;
	p->masked = true;
	return 0;
}

int sim_evtchn_unmask(struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn_port *p = port_get(d, port);

	if (!p)
		return -EINVAL;
	p->masked = false;
	port_kick(p, d->id);
	return 0;
}

int sim_evtchn_eoi(struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn_port *p = port_get(d, port);
	struct sim_rec_delivery dl;
	bool due;

	if (!p)
		return -EINVAL;
	p->eoi_outstanding = false;
	due = port_kick_at(p, d->id, &dl);
	sim_rec_evtchn_eoi(port_sim(p), d->id, port, due ? &dl : NULL);
	return 0;
}

int sim_evtchn_eoi_replayed(struct sim_domain *d, uint32_t port,
			    const struct sim_rec_delivery *delivery)
{
	struct sim_evtchn_port *p = port_get(d, port);
	struct sim *sim;

	if (!p)
		return -EINVAL;
	sim = port_sim(p);
	p->eoi_outstanding = false;
	if (port_due(p) != (delivery != NULL) ||
	    (delivery && delivery->at_ns < sim_now(sim)))
		return 1; /* the port is not as it was */
	if (delivery) {
		p->storm = delivery->storm;
		port_schedule(p, delivery->at_ns - sim_now(sim));
	}
	sim_rec_evtchn_eoi(sim, d->id, port, delivery);
	return 0;
}

bool sim_evtchn_is_pending(const struct sim_domain *d, uint32_t port)
{
	const struct sim_evtchn_port *p = port_get(d, port);

	return p && p->pending;
}

/* Return p to the free state; its pending event is dropped. */
static void port_reset(struct sim_evtchn_port *p, bool cancel_event)
{
	if (p->ev && cancel_event)
		sim_cancel(port_sim(p), p->ev);
	if (p->pending)
		p->dom->evstats.dropped++;
	p->state = SIM_PORT_FREE;
	p->remote_dom = 0;
	p->peer = NULL;
	p->fn = NULL;
	p->arg = NULL;
	p->ev = 0;
	p->pending = p->masked = false;
	p->lateeoi = p->eoi_outstanding = p->storm = false;
}

static void port_close(struct sim_evtchn_port *p, bool cancel_event)
{
	struct sim_evtchn_port *peer = p->peer;

	/* Xen: the other end stays allocated and becomes unbound, bindable
	 * again by this domain; its own pending state is untouched. */
	if (p->state == SIM_PORT_INTERDOMAIN) {
		peer->state = SIM_PORT_UNBOUND;
		peer->remote_dom = p->dom->id;
		peer->peer = NULL;
	}
	port_reset(p, cancel_event);
}

int sim_evtchn_close(struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn_port *p = port_get(d, port);

	if (!p)
		return -EINVAL;
	sim_trace(port_sim(p), "evtchn-close", d->id, port);
	sim_rec_evtchn_close(port_sim(p), d->id, port,
			     p->peer ? p->peer->dom->id : SIM_REC_DOMID_NONE,
			     p->peer ? p->peer->port : 0);
	port_close(p, true);
	return 0;
}

void sim_evtchn_close_all(struct sim_domain *d, bool cancel_events)
{
	for (uint32_t i = 1; i < ports_used_end(d); i++)
		if (port_at(d, i)->state != SIM_PORT_FREE)
			port_close(port_at(d, i), cancel_events);
}

void sim_evtchn_stats(const struct sim_domain *d, struct sim_evtchn_stats *st)
{
	*st = d->evstats;
	st->open = 0;
	for (uint32_t i = 1; i < ports_used_end(d); i++)
		if (port_at(d, i)->state != SIM_PORT_FREE)
			st->open++;
}

void sim_evtchn_audit(struct sim_domain *d, const char *when)
{
	for (uint32_t i = 1; i < ports_used_end(d); i++) {
		struct sim_evtchn_port *p = port_at(d, i);

		if (p->state == SIM_PORT_FREE)
			continue;
		sim_violation(d->xen->sim, SIM_CHECK_EVTCHN_LEAK,
			      "dom%u: event channel port %u (%s, remote dom%u) "
			      "still open at %s", d->id, i,
			      p->state == SIM_PORT_UNBOUND ? "unbound" :
							     "interdomain",
			      p->remote_dom, when);
	}
}
