/*
 * One whole simulated PVUSB guest, from a configuration (sim/cli/simcfg.h):
 * Dom0 with a toolstack that writes the vusb/qusb xenstore nodes as libxl
 * does, one qusb backend model per usbctrl entry (sim/backends/usbback.h),
 * the simulated host USB devices of sim_usb_devices (storage on image
 * files, keyboard, mouse, serial, Ethernet, audio, and real devices
 * replayed from captures: sim/devices/usb_replay.h, whose report each
 * captured device's result carries); the guest with one
 * frontend under test (sim/fut) and one USB stack stand-in (sim/guest/
 * usb_guest.h) per controller. usbdev entries are plugged before the
 * backends probe; the timeline plugs (usb-attach: the bus id written to
 * the backend's port/N, as `xl usbdev-attach` does) and unplugs
 * (usb-detach: port/N emptied), changes the fault plan, saves and
 * restores, and tears down. When every controller's guest is idle and the
 * timeline is over, the run ends with an orderly close; then every
 * checker audits what is left, every block the guest saw written to a
 * storage device is read back from its image (from the guest of the
 * controller the device was last attached to), and the audio streams the
 * guest sent are compared with what the devices heard.
 *
 * Used by `xpvsim run`, `xpvsim bench` and the scenario tests.
 */
#ifndef SIM_RUN_PVUSB_RUN_H
#define SIM_RUN_PVUSB_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/check/check.h"
#include "sim/cli/simcfg.h"
#include "sim/devices/usb_replay.h"
#include "sim/guest/usb_guest.h"
#include "sim/replay/player.h"

struct sim_fault_decider;

#define PVUSB_RUN_MAX_CTRLS 8
#define PVUSB_RUN_JSON_VERSION 1 /* docs/json.md */

struct pvusb_run_options {
	uint64_t seed; /* used when has_seed, else the config's, else 1 */
	bool has_seed;
	const char *frontend; /* fut name; NULL: "xpv-usbfront" */
	FILE *log;	      /* frontend log lines, or NULL */
	int log_level;	      /* 0..3 */
	FILE *trace;	      /* every trace record, or NULL */
	/* The run recorded as pcap (docs/trace-format.md), or NULL; as
	 * pvscsi_run_options', trace_flags too. */
	FILE *trace_pcap;
	unsigned trace_flags;
	/* The guests' USB traffic as a usbmon pcap (sim/trace/usbmon.h),
	 * or NULL; bus number = the usbctrl's devid + 1. Stays the
	 * caller's to close; pvusb_run fails (-1) if it cannot be
	 * written. */
	FILE *usbmon;
	/* Overrides, as pvscsi_run_options': a fault plan ("none": no
	 * faults), a swarm plan from the seed, at most ops_limit ops per
	 * device binding, a time limit of at least min_time_limit_ns. */
	const char *faults;
	bool swarm;
	uint64_t ops_limit;
	uint64_t min_time_limit_ns;
	/* The backends' decisions (sim/backends/usbback.h); NULL: the fault
	 * plan and the seed. */
	const struct sim_fault_decider *decider;
	/* Replay (sim/replay/player.h): Dom0 is played from this trace's
	 * records instead of run (no backend, device, image or toolstack
	 * write); trace_pcap, when set, receives the replay's own records.
	 * The verdict goes to the result's replay. NULL: an ordinary run. */
	struct replay_player *replay;
};

struct pvusb_ctrl_result {
	uint16_t devid;
	uint8_t version, ports;
	bool connected, resumed, front_error, closed;
	bool close_timed_out; /* no orderly close in 10 s: removed by force */
	struct ug_stats guest;
	struct fut_stats fut;
	/* The backend model, summed over its instances (a save/restore
	 * starts a new one). */
	uint64_t be_requests, be_responses, be_notifies;
	uint64_t be_plugs, be_unplugs, be_plug_refused, be_conn_events;
	uint64_t be_bytes_in, be_bytes_out, be_iso_packets;
	uint64_t be_misbehaved;
	/* Of those, answers that may have handed the guest other data than
	 * the device's (a lied actual_length, bad, stale or duplicated ids,
	 * rewritten slots): such a backend can make the data checkers fail
	 * on its own. */
	uint64_t be_misattributed;
};

struct pvusb_device_result {
	struct ug_device_stats guest; /* summed over the controllers */
	/* audio: the speaker heard exactly the bytes the guest sent */
	bool audio_checked, audio_match;
	int last_ctrl; /* index of the controller it was last attached to */
	unsigned ctrls_bound; /* controllers whose guest enumerated it */
	/* class capture: the replay at the end of the run (transfers in
	 * the capture, replayed, skipped, diverged, the speed it was
	 * given), its one-line report (sim_usb_replay_report) and, after a
	 * divergence, where: "at T ns on endpoint N IN: expected ..., got
	 * ... (capture record R)"; "" when it did not diverge. */
	bool captured;
	struct sim_usb_replay_stats replay;
	char replay_report[768];
	char divergence[512];
};

struct pvusb_run_result {
	uint64_t seed;
	char faults[512];
	char frontend[32];
	uint64_t sim_time_ns, events, trace_hash;
	bool time_limit_hit; /* stopped by sim_time_limit, events pending */
	bool stalled;	     /* stopped with nothing left to happen */
	struct replay_result replay; /* with options' replay */
	unsigned nr_ctrls;
	struct pvusb_ctrl_result ctrls[PVUSB_RUN_MAX_CTRLS];
	unsigned nr_devices;
	struct pvusb_device_result *devices; /* one per sim_usb_devices */
	uint64_t blocks_audited, blocks_audit_bad;
	uint32_t quarantined;
	uint64_t violations[SIM_CHECK__COUNT];
	uint64_t violations_total;
	char *report; /* checker messages (malloc'd), NULL when clean */
};

/* Runs cfg (which must have usbctrl entries and no vscsi) to the end. 0,
 * or -1 with a message in err when the run could not be set up (a
 * capture that cannot be read or replayed: "sim_usb_devices 'NAME':
 * " and the importer's message) or its usbmon file could not be
 * written. */
int pvusb_run(const struct simcfg *cfg, const struct pvusb_run_options *opt,
	      struct pvusb_run_result *res, char *err, size_t errlen);
void pvusb_run_result_free(struct pvusb_run_result *res);

/* The human report and the --json summary (docs/json.md, "PVUSB"). */
void pvusb_run_print(FILE *out, const struct simcfg *cfg,
		     const struct pvusb_run_result *res);
void pvusb_run_json(FILE *out, const struct simcfg *cfg,
		    const struct pvusb_run_result *res);

#endif /* SIM_RUN_PVUSB_RUN_H */
