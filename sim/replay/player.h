/*
 * Replaying a recorded run (`xpvsim replay FILE`): Dom0 played from the
 * trace alone, the guest side real.
 *
 * The run (sim/run) rebuilds the guest side from the trace's RUN record
 * (configuration text, seed, frontend, fault plan): the guest domain, the
 * frontend under test and the guest stand-in above it, and the timeline's
 * guest-side actions. No backend, device model, image or toolstack runs.
 * Everything Dom0 did is played from the records instead, at the recorded
 * times: its xenstore writes, removals, permission changes, watches and
 * unwatches, grant maps and unmaps, ring attaches, the responses it
 * published (entries written into their slots, then rsp_prod), response
 * slots it rewrote, its req_event moves, the bytes it wrote into granted
 * pages, its event-channel binds and closes, and its sends and late EOIs
 * (each with its delivery at the recorded time).
 *
 * The replay records itself through a recorder whose sink compares: every
 * record the guest side makes in the replay (requests published, rsp_event
 * moves, event sends and EOIs, binds and closes, grants and ends, xenstore
 * changes and watches) and everything that follows from both sides'
 * actions (event deliveries, watch firings) must be the recorded one, in
 * the recorded order, at the recorded time, byte for byte (the sequence
 * number aside). The bytes Dom0 read from granted pages (a write's data,
 * segment lists) are checked against the guest's pages when they are
 * read. The first difference ends the replay and is reported with its
 * time, the record, the ring and slot for a ring entry, the field, and
 * the expected and replayed values.
 *
 * Order. A Dom0 record is played once every compared record before it in
 * the file has been seen in the replay and its time has come, in the
 * event a model acted in: the player's port handler (a delivery to Dom0),
 * a watch client's notification (Dom0's watches are registered again,
 * grouped by their recorded client), a poll at the record's time (a
 * model's own timer), or, where the run acts as Dom0 in the middle of
 * guest-side work (set-up, save/restore, a device destroyed, hotplug,
 * teardown), right there (replay_sync).
 *
 * What a trace cannot tell, and is documented as a limit (docs/replay.md):
 * fault-plan countdowns of classes both sides consult (xs-eagain@N,
 * evtchn-delay@N, evtchn-storm@N count Dom0's consultations too, which a
 * replay does not make).
 */
#ifndef SIM_REPLAY_PLAYER_H
#define SIM_REPLAY_PLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/core/sim.h"
#include "sim/xen/xen.h"

#define REPLAY_MSG_MAX 1024

struct replay_player;

/* What the RUN record says; strings owned by the player. */
struct replay_run {
	int kind; /* enum sim_rec_run_kind */
	uint64_t seed, ops_limit, time_limit_ns;
	bool swarm;
	const char *frontend;
	const char *faults; /* NULL: none */
	const char *config_path;
	const char *config_text; /* NUL-terminated */
	size_t config_len;
};

/* Opens a trace and reads its RUN record: 0, or -1 with a message naming
 * the file, record and byte offset (trace_read.h) in err (at least
 * REPLAY_MSG_MAX). A trace without a RUN record (not from a whole run),
 * without its configuration text, or written before replays were
 * possible (event sends without their delivery) is refused. */
int replay_open(const char *path, struct replay_player **out, char *err,
		size_t errlen);
/* The same on f (read from its start, owned by the player from now on,
 * closed here on failure), named name in messages. */
int replay_fopen(FILE *f, const char *name, struct replay_player **out,
		 char *err, size_t errlen);
const struct replay_run *replay_run_info(const struct replay_player *p);

/* Starts playing on sim, whose domains dom0 and guest exist: the comparing
 * recorder is attached (the replay's own records also go to tee as a pcap
 * file when tee is not NULL). 0, or -1 with a message. */
int replay_attach(struct replay_player *p, struct sim *sim, sim_domid dom0,
		  sim_domid guest, FILE *tee, char *err, size_t errlen);

/* Dom0's watches with this token are the run's own (it registers them in
 * the replay too); the player registers every other watch Dom0's models
 * registered. The string must outlive the player. */
void replay_own_watches(struct replay_player *p, const char *token);

/* Plays now every Dom0 record that is due (its time has come and every
 * guest record before it was seen). The run calls it where it would act
 * as Dom0 itself. */
void replay_sync(struct replay_player *p);

/* Whether the replay has found a difference (and stopped the simulation). */
bool replay_diverged(const struct replay_player *p);

struct replay_result {
	bool identical;
	bool read_error; /* the trace broke off (message in divergence) */
	uint64_t records;     /* records of the trace read */
	uint64_t played;      /* Dom0 records played */
	uint64_t compared;    /* guest records compared */
	uint64_t requests;    /* ... of which ring requests */
	uint64_t data_checked; /* DATA records read by Dom0, checked */
	uint64_t not_played;  /* Dom0 records left when the run ended */
	char divergence[REPLAY_MSG_MAX]; /* "" when identical */
};

/* After the run: the recorder detached (its tee finished; -1 with a
 * message if that failed), the rest of the trace checked for guest
 * records the replay did not make, and the verdict. */
int replay_finish(struct replay_player *p, struct replay_result *res,
		  char *err, size_t errlen);
void replay_close(struct replay_player *p);

#endif /* SIM_REPLAY_PLAYER_H */
