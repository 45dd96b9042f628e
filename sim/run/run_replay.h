/*
 * A recorded run replayed (sim/replay/player.h): the run the trace's RUN
 * record describes (PVSCSI or PVUSB, seed, frontend, fault plan, limits)
 * played again with Dom0 taken from the trace.
 */
#ifndef SIM_RUN_RUN_REPLAY_H
#define SIM_RUN_RUN_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "sim/cli/simcfg.h"
#include "sim/replay/player.h"

/* Replays p's run on cfg (the configuration its RUN record carries):
 * the replay's own records go to tee as pcap when not NULL, the replayed
 * run's report to report when not NULL. 0 with the verdict in *res and
 * the guest side's checker violations in *violations; -1 with a message
 * in err when the run could not be set up. */
int run_replay(struct replay_player *p, const struct simcfg *cfg, FILE *tee,
	       FILE *report, struct replay_result *res, uint64_t *violations,
	       char *err, size_t errlen);

#endif /* SIM_RUN_RUN_REPLAY_H */
