/*
 * The PVUSB run report: a readable summary and the --json form
 * (docs/json.md, "PVUSB runs", describes every field).
 */
#include <inttypes.h>
#include <string.h>

#include "pvusb_run.h"
#include "run_common.h"

static const char *speed_name(uint8_t speed)
{
	switch (speed) {
	case SIM_USB_SPEED_LOW:
		return "low";
	case SIM_USB_SPEED_FULL:
		return "full";
	case SIM_USB_SPEED_HIGH:
		return "high";
	default:
		return "-";
	}
}

/* A byte count in the unit that shows it: B, KiB or MiB. */
static void print_bytes(FILE *out, uint64_t n)
{
	if (n < 1024)
		fprintf(out, "%" PRIu64 " B", n);
	else if (n < 1048576)
		fprintf(out, "%.1f KiB", (double)n / 1024.0);
	else
		fprintf(out, "%.1f MiB", (double)n / 1048576.0);
}

static const char *yes(bool b)
{
	return b ? "true" : "false";
}

static double dev_seconds(const struct ug_device_stats *g)
{
	return g->last_ns > g->first_ns ? (double)(g->last_ns - g->first_ns) / 1e9
					: 0;
}

static void print_ctrl(FILE *out, const struct pvusb_ctrl_result *c)
{
	uint64_t urbs = c->guest.completed ? c->guest.completed : 1;

	fprintf(out, "usbctrl %u (USB %s, %u ports): %s%s%s%s%s\n", c->devid,
		c->version == 1 ? "1.1" : "2.0", c->ports,
		c->connected ? "connected" : "never connected",
		c->resumed ? ", resumed" : "",
		c->front_error ? ", frontend in error state" : "",
		c->closed ? ", closed" : "",
		c->close_timed_out ? ", removed by force (no close in 10 s)"
				   : "");
	fprintf(out, "  URBs %" PRIu64 " completed %" PRIu64 " failed %" PRIu64
		     " unlinked %" PRIu64 "; plugs %" PRIu64 " unplugs %" PRIu64
		     " refused %" PRIu64 "; notifications: %.2f to the "
		     "backend and %.2f interrupts per URB\n",
		c->guest.urbs, c->guest.completed, c->guest.failed,
		c->guest.unlinks, c->be_plugs, c->be_unplugs,
		c->be_plug_refused, (double)c->fut.notifies_sent / (double)urbs,
		(double)c->fut.interrupts / (double)urbs);
}

/* The class's own words for its work. */
static void print_work(FILE *out, const struct simcfg_usb_device *c,
		       const struct pvusb_device_result *d)
{
	const struct ug_device_stats *g = &d->guest;
	double s = dev_seconds(g);

	switch (c->cls) {
	case SIMCFG_USB_CAPTURE:
		fprintf(out, "driver %s: ", g->driver ? g->driver : "-");
		if (!g->driver || strcmp(g->driver, "usbhid") != 0)
			break; /* ops of the class it was bound as */
		fprintf(out, "%" PRIu64 " reports (contents not checked)",
			g->reports);
		return;
	case SIMCFG_USB_KEYBOARD:
		fprintf(out, "%" PRIu64 " reports, %" PRIu64 " of %zu keys "
			     "in order, %" PRIu64 " lost",
			g->reports, g->keys_seen, strlen(c->keys), g->keys_lost);
		return;
	case SIMCFG_USB_MOUSE:
		fprintf(out, "%" PRIu64 " reports, %" PRIu64 " of %u moves "
			     "in order, %" PRIu64 " lost",
			g->reports, g->keys_seen, c->moves, g->keys_lost);
		return;
	case SIMCFG_USB_AUDIO:
		fprintf(out, "%" PRIu64 " iso URBs ok, %" PRIu64 " packets (%"
			     PRIu64 " bad), speaker stream %s",
			g->ops_ok, g->iso_packets, g->iso_packets_bad,
			!d->audio_checked ? "not compared"
			: d->audio_match  ? "matches"
					  : "DIFFERS");
		return;
	default:
		break;
	}
	fprintf(out, "%" PRIu64 " ops, %" PRIu64 " ok, %" PRIu64 " failed; ",
		g->ops, g->ops_ok, g->ops_failed);
	print_bytes(out, g->bytes);
	fprintf(out, " moved, ");
	print_bytes(out, g->verified_bytes);
	fprintf(out, " verified");
	if (s > 0)
		fprintf(out, "; %.2f MB/s simulated", (double)g->bytes / s / 1e6);
}

/* A captured device's speed is the one its replay was given: the
 * configured one, or what it inferred from the descriptors. */
static uint8_t device_speed(const struct simcfg_usb_device *c,
			    const struct pvusb_device_result *d)
{
	return d->captured ? (uint8_t)d->replay.speed : (uint8_t)c->speed;
}

static void print_device(FILE *out, const struct simcfg_usb_device *c,
			 const struct pvusb_device_result *d)
{
	const struct ug_device_stats *g = &d->guest;

	fprintf(out, "device %s (%s, %s speed, bus id %u-%u): %u "
		     "enumeration(s)",
		c->name, simcfg_usb_class_name(c->cls),
		speed_name(device_speed(c, d)), c->hostbus, c->hostaddr,
		g->enumerations);
	if (g->enumerations)
		fprintf(out, " as %04x:%04x \"%s\"", g->vendor, g->product,
			g->product_name);
	if (g->enum_failed)
		fprintf(out, ", %u failed", g->enum_failed);
	if (g->unplugged_busy)
		fprintf(out, ", %u binding(s) cut short by a disconnect",
			g->unplugged_busy);
	fprintf(out, "\n  ");
	print_work(out, c, d);
	fprintf(out, "\n  URBs %" PRIu64 " ok %" PRIu64 " failed %" PRIu64
		     " unlinked %" PRIu64 ", stalls %" PRIu64
		     " cleared %" PRIu64 "\n",
		g->urbs, g->urbs_ok, g->urbs_failed, g->urbs_unlinked,
		g->stalls, g->clear_halts);
	if (d->captured)
		fprintf(out, "  capture: %s\n", d->replay_report);
}

static void outcome_of(const struct pvusb_run_result *res,
		       struct run_outcome *o)
{
	*o = (struct run_outcome){
		.kind = "pvusb", .json_version = PVUSB_RUN_JSON_VERSION,
		.frontend = res->frontend, .faults = res->faults,
		.seed = res->seed, .sim_time_ns = res->sim_time_ns,
		.events = res->events, .trace_hash = res->trace_hash,
		.time_limit_hit = res->time_limit_hit, .stalled = res->stalled,
		.blocks_audited = res->blocks_audited,
		.blocks_audit_bad = res->blocks_audit_bad,
		.quarantined = res->quarantined, .violations = res->violations,
		.violations_total = res->violations_total,
		.report = res->report,
	};
}

void pvusb_run_print(FILE *out, const struct simcfg *cfg,
		     const struct pvusb_run_result *res)
{
	struct run_outcome o;

	outcome_of(res, &o);
	run_print_head(out, cfg->path, cfg->name, &o);
	for (unsigned i = 0; i < res->nr_ctrls; i++)
		print_ctrl(out, &res->ctrls[i]);
	for (unsigned d = 0; d < res->nr_devices; d++)
		print_device(out, &cfg->usb_devices[d], &res->devices[d]);
	run_print_tail(out, &o);
}

static void json_ctrl(FILE *out, const struct pvusb_ctrl_result *c)
{
	fprintf(out, "{\"devid\":%u,\"version\":%u,\"ports\":%u,"
		     "\"connected\":%s,\"resumed\":%s,\"error_state\":%s,"
		     "\"closed\":%s,\"close_timed_out\":%s,\"urbs\":%" PRIu64
		     ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64
		     ",\"unlinks\":%" PRIu64 ",\"timeouts\":%" PRIu64
		     ",\"notifies_sent\":%" PRIu64 ",\"interrupts\":%" PRIu64
		     ",\"spurious\":%" PRIu64 ",\"clamped\":%" PRIu64
		     ",\"plugs\":%" PRIu64 ",\"unplugs\":%" PRIu64
		     ",\"plugs_refused\":%" PRIu64 ",\"conn_events\":%" PRIu64
		     ",\"backend_misbehaviours\":%" PRIu64 "}",
		c->devid, c->version, c->ports, yes(c->connected),
		yes(c->resumed), yes(c->front_error), yes(c->closed),
		yes(c->close_timed_out), c->guest.urbs, c->guest.completed,
		c->guest.failed, c->guest.unlinks, c->guest.timeouts,
		c->fut.notifies_sent, c->fut.interrupts, c->fut.spurious,
		c->fut.clamped, c->be_plugs, c->be_unplugs, c->be_plug_refused,
		c->be_conn_events, c->be_misbehaved);
}

/* The driver bound and, for class capture, the replay's report (zeros,
 * false and null for the other classes): flat, as every summary object. */
static void json_replay(FILE *out, const struct pvusb_device_result *d)
{
	const struct sim_usb_replay_stats *r = &d->replay;

	fprintf(out, ",\"driver\":");
	run_json_str(out, d->guest.driver ? d->guest.driver : "");
	fprintf(out, ",\"captured\":%s,\"replay_transfers\":%u,"
		     "\"replay_scripted\":%u,\"replay_by_descriptors\":%u,"
		     "\"replay_not_replayed\":%u,\"replay_replayed\":%u,"
		     "\"replay_skipped\":%u,\"replay_polls_past_end\":%u,"
		     "\"replay_diverged\":%s,\"replay_divergence\":",
		yes(d->captured), r->transfers, r->scripted, r->by_descriptors,
		r->not_replayed, r->replayed, r->skipped, r->polls_past_end,
		yes(r->diverged));
	if (r->diverged)
		run_json_str(out, d->divergence);
	else
		fprintf(out, "null");
}

static void json_device(FILE *out, const struct simcfg_usb_device *c,
			const struct pvusb_device_result *d)
{
	const struct ug_device_stats *g = &d->guest;
	double s = dev_seconds(g);

	fprintf(out, "{\"name\":");
	run_json_str(out, c->name);
	fprintf(out, ",\"class\":\"%s\",\"speed\":\"%s\",\"busid\":\"%u-%u\","
		     "\"product_name\":",
		simcfg_usb_class_name(c->cls), speed_name(device_speed(c, d)),
		c->hostbus, c->hostaddr);
	run_json_str(out, g->product_name);
	fprintf(out, ",\"enumerations\":%u,\"enum_failed\":%u,"
		     "\"unplugged_busy\":%u,\"urbs\":%" PRIu64
		     ",\"urbs_ok\":%" PRIu64 ",\"urbs_failed\":%" PRIu64
		     ",\"urbs_unlinked\":%" PRIu64 ",\"stalls\":%" PRIu64
		     ",\"clear_halts\":%" PRIu64 ",\"ops\":%" PRIu64
		     ",\"ops_ok\":%" PRIu64 ",\"ops_failed\":%" PRIu64
		     ",\"bytes\":%" PRIu64 ",\"verified_bytes\":%" PRIu64
		     ",\"reports\":%" PRIu64 ",\"keys_seen\":%" PRIu64
		     ",\"keys_lost\":%" PRIu64
		     ",\"iso_packets\":%" PRIu64 ",\"iso_packets_bad\":%" PRIu64
		     ",\"audio_checked\":%s,\"audio_match\":%s"
		     ",\"sim_seconds\":%.9f,\"mb_per_s\":%.3f",
		g->enumerations, g->enum_failed, g->unplugged_busy, g->urbs,
		g->urbs_ok, g->urbs_failed, g->urbs_unlinked, g->stalls,
		g->clear_halts, g->ops, g->ops_ok, g->ops_failed, g->bytes,
		g->verified_bytes, g->reports, g->keys_seen, g->keys_lost,
		g->iso_packets,
		g->iso_packets_bad, yes(d->audio_checked), yes(d->audio_match),
		s, s > 0 ? (double)g->bytes / s / 1e6 : 0);
	json_replay(out, d);
	fputc('}', out);
}


void pvusb_run_json(FILE *out, const struct simcfg *cfg,
		    const struct pvusb_run_result *res)
{
	struct run_outcome o;

	outcome_of(res, &o);
	run_json_head(out, cfg->path, cfg->name, &o);
	fprintf(out, ",\"controllers\":[");
	for (unsigned i = 0; i < res->nr_ctrls; i++) {
		if (i)
			fputc(',', out);
		json_ctrl(out, &res->ctrls[i]);
	}
	fprintf(out, "],\"devices\":[");
	for (unsigned d = 0; d < res->nr_devices; d++) {
		if (d)
			fputc(',', out);
		json_device(out, &cfg->usb_devices[d], &res->devices[d]);
	}
	fputc(']', out);
	run_json_tail(out, &o);
}
