/*
 * Fault injection: one mechanism for every fault the simulator can inject.
 *
 * A fault plan says which fault classes are on and how often each fires
 * (per million consultations). It is drawn from the seed (swarm testing:
 * each run enables a different subset) or set explicitly, and printed with
 * the seed so a failing run names its faults. Countdowns fail the Nth
 * consultation of a class (and, if persistent, every one after it): the
 * SQLite-style fault loop that walks every failure point of a path.
 *
 * Injection points (the sim contract, backend models) call sim_fault_hit()
 * or sim_fault_hit_dom() and act on a true answer. Checkers never look at
 * this state.
 *
 * Rate draws come from one stream per (class, domain), seeded from the
 * plan's seed and that key alone: consulting one class, or one domain's
 * side of a class, more or less often never moves another's draws (a
 * replay without the backend models draws the guest's faults as the
 * recorded run did). A consultation that names no domain
 * (sim_fault_hit) uses the class's SIM_FAULT_ANY_DOMAIN stream. Who
 * names a domain: evtchn-delay and evtchn-storm (the domain whose action
 * made the delivery due, sim/xen/evtchn.c), xs-eagain and xs-enomem (the
 * xenstore caller, sim/xenstore) and the backend models' be-* classes
 * (their own domain). alloc, grant-claim and evtchn-alloc are consulted
 * by the frontend's contract only (drivers/os/sim). Countdowns ("fail
 * the Nth") and the consulted/injected counters stay per class, over all
 * domains.
 */
#ifndef SIM_CORE_FAULT_H
#define SIM_CORE_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

enum sim_fault {
	SIM_FAULT_ALLOC,         /* xpv_mem_alloc / xpv_page_alloc: -ENOMEM */
	SIM_FAULT_GRANT_CLAIM,   /* xpv_grant_access: no free grant reference */
	SIM_FAULT_EVTCHN_ALLOC,  /* xpv_evtchn_alloc: no free port */
	SIM_FAULT_XS_EAGAIN,     /* xenstore write / txn end: -EAGAIN */
	SIM_FAULT_XS_ENOMEM,     /* xenstore write: -ENOMEM (quota) */
	SIM_FAULT_EVTCHN_DELAY,  /* event-channel delivery delayed 1000x */
	SIM_FAULT_EVTCHN_STORM,  /* spurious event-channel deliveries */
	/* Backend models misbehave (protocol.md 5.1, case number in
	 * brackets); each model consults the classes it can act on at the
	 * point named in its header (sim/backends/scsiback.h, usbback.h). */
	SIM_FAULT_BE_RSP_OVERFLOW,  /* [1] rsp_prod beyond the responses made */
	SIM_FAULT_BE_RSP_REWRITE,   /* [2] response slot rewritten later */
	SIM_FAULT_BE_REQ_REWRITE,   /* [3] request slot scribbled after copy */
	SIM_FAULT_BE_BAD_ID,        /* [4] response id >= ring size */
	SIM_FAULT_BE_DUP_RSP,       /* [5] a request answered twice */
	SIM_FAULT_BE_STALE_ID,      /* [5] a response for an id not in flight */
	SIM_FAULT_BE_SENSE_LEN,     /* [8] sense length over the buffer */
	SIM_FAULT_BE_RESIDUAL,      /* [8] residual over the data length */
	SIM_FAULT_BE_RSLT_BITS,     /* [9] reserved result bits, unknown host */
	SIM_FAULT_BE_HOLD_GRANT,    /* [10, 11] data grant kept mapped */
	SIM_FAULT_BE_HOLD_RING,     /* [12] ring kept mapped at disconnect */
	SIM_FAULT_BE_NO_ANSWER,     /* [20] a request never answered */
	SIM_FAULT_BE_LATE_TMR,      /* [19] abort/reset answered very late */
	SIM_FAULT_BE_GARBAGE,       /* [22] garbage in reserved fields */
	SIM_FAULT_BE_XS_VALUES,     /* [15] bogus xenstore values */
	SIM_FAULT_BE_BAD_STATE,     /* [18] out-of-sequence xenbus state */
	SIM_FAULT_BE_REMOVE_AFTER_RESUME, /* [21] device gone at resume */
	/* Appended, so a seed's swarm plan keeps drawing the same rates
	 * for every class above. */
	SIM_FAULT_BE_USB_ACTUAL,    /* [7] usb actual_length < 0 or too long */
	SIM_FAULT_BE_USB_STATUS,    /* [9] usb status no usbif value has */
	SIM_FAULT_BE_CONN_BAD,      /* [16] conn event port or speed invalid */
	SIM_FAULT_BE_CONN_OVERFLOW, /* [17] conn ring rsp_prod overflow */
	SIM_FAULT__COUNT,
};
#define SIM_FAULT_BE_FIRST SIM_FAULT_BE_RSP_OVERFLOW

const char *sim_fault_name(enum sim_fault f);
/* Parses a name as printed by sim_fault_name; -1 if unknown. */
int sim_fault_from_name(const char *name);

struct sim_fault_plan;

/* The plan sim_create() attached to sim: all classes off. */
struct sim_fault_plan *sim_faults(struct sim *sim);

/* Swarm: each class on with probability 1/2, at a rate drawn from a small
 * log-spaced set; uses its own stream derived from `seed`. */
void sim_fault_plan_draw(struct sim_fault_plan *plan, uint64_t seed);
void sim_fault_plan_clear(struct sim_fault_plan *plan);
void sim_fault_set_rate(struct sim_fault_plan *plan, enum sim_fault f,
			uint32_t per_million);
uint32_t sim_fault_rate(const struct sim_fault_plan *plan, enum sim_fault f);

/* Fail the nth consultation of f from now (1: the next one); persistent:
 * and every consultation after it. nth 0 removes the countdown. */
void sim_fault_countdown(struct sim_fault_plan *plan, enum sim_fault f,
			 uint64_t nth, bool persistent);
/* The countdown of f as "fail the nth consultation from now": false when
 * there is none (a persistent one that fired reads as nth 1). */
bool sim_fault_countdown_get(const struct sim_fault_plan *plan,
			     enum sim_fault f, uint64_t *nth,
			     bool *persistent);

/* The injection point: consult the plan for class f on behalf of domid
 * (its rate draw comes from the (f, domid) stream), or of no domain in
 * particular (sim_fault_hit: domid SIM_FAULT_ANY_DOMAIN). */
#define SIM_FAULT_ANY_DOMAIN 0x7ff4u /* DOMID_INVALID */
bool sim_fault_hit_dom(struct sim_fault_plan *plan, enum sim_fault f,
		       uint16_t domid);
bool sim_fault_hit(struct sim_fault_plan *plan, enum sim_fault f);

/* Where a model's misbehaviour comes from (the backend models take one in
 * their config): whether each injection point misbehaves, and the details
 * of a hit. NULL: the simulation's fault plan (rates, countdowns) and the
 * model's domain's random stream (sim_rng_dom). A fuzz target supplies its
 * own, so its input decides both (a decider that says no and draws 0
 * makes a well-behaved model). */
struct sim_fault_decider {
	bool (*hit)(void *arg, enum sim_fault f);
	uint64_t (*draw)(void *arg, uint64_t bound); /* a value < bound */
	void *arg;
};
/* One consultation of class f by domain domid through d (NULL: the
 * plan, sim_fault_hit_dom). */
bool sim_fault_decide(struct sim *sim, const struct sim_fault_decider *d,
		      enum sim_fault f, uint16_t domid);
/* A value below bound for domain domid through d (NULL: the domain's
 * stream, sim_rng_dom). */
uint64_t sim_fault_draw(struct sim *sim, const struct sim_fault_decider *d,
			uint16_t domid, uint64_t bound);

uint64_t sim_fault_consulted(const struct sim_fault_plan *plan,
			     enum sim_fault f);
uint64_t sim_fault_injected(const struct sim_fault_plan *plan,
			    enum sim_fault f);

/* Items separated by commas: NAME=RATE, a rate per million consultations
 * (0..1000000); NAME@N, fail the Nth consultation of the class (N
 * 1..1000000000) counted from when the plan takes effect; NAME@N+, the
 * Nth and every one after. Both kinds may name one class. "none" (or "")
 * when all are off.
 *   "alloc=1000,xs-eagain=50000"   "be-bad-id@3"   "alloc=100,alloc@7+"
 * Format prints every rate, then every countdown (from now). */
#define SIM_FAULT_PLAN_MAX 2047 /* longest spec parse takes, in chars */
#define SIM_FAULT_NTH_MAX 1000000000u
void sim_fault_plan_format(const struct sim_fault_plan *plan, char *buf,
			   size_t len);
/* Inverse of format. Returns 0, or -1 with a message naming the bad item. */
int sim_fault_plan_parse(struct sim_fault_plan *plan, const char *spec,
			 char *err, size_t errlen);

#endif /* SIM_CORE_FAULT_H */
