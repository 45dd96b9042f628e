/*
 * The run report: a readable summary and the versioned --json form
 * (docs/json.md describes every field; bump PVSCSI_RUN_JSON_VERSION when
 * a field changes meaning or goes away).
 */
#include <inttypes.h>
#include <string.h>

#include "pvscsi_run.h"
#include "run_common.h"

static const char *type_name(uint8_t type)
{
	switch (type) {
	case 0x00:
		return "disk";
	case 0x05:
		return "cdrom";
	case 0x01:
		return "tape";
	default:
		return "other";
	}
}

static double work_seconds(const struct sg_work_stats *w)
{
	return w->last_ns > w->first_ns ? (double)(w->last_ns - w->first_ns) / 1e9
					: 0;
}

static void print_host(FILE *out, const struct pvscsi_host_result *h)
{
	uint64_t done = h->guest.completed ? h->guest.completed : 1;

	fprintf(out, "vscsi host %u: %s%s%s%s%s\n", h->host,
		h->connected ? "connected" : "never connected",
		h->resumed ? ", resumed" : "",
		h->front_error ? ", frontend in error state" : "",
		h->closed ? ", closed" : "",
		h->close_timed_out ? ", removed by force (no close in 10 s)"
				   : "");
	for (unsigned i = 0; i < h->nr_luns; i++) {
		const struct sg_lun_info *l = &h->luns[i];

		fprintf(out, "  LUN %u:%u:%u:%u %-5s %-8s %-16s ", h->host,
			l->channel, l->id, l->lun, type_name(l->type),
			l->vendor, l->product);
		if (l->scanned)
			fprintf(out, "%" PRIu64 " x %u B (%.1f MiB)%s\n",
				l->blocks, l->block_size,
				(double)l->blocks * l->block_size / 1048576.0,
				l->present ? "" : ", removed");
		else
			fprintf(out, "%s\n",
				l->scan_failed ? "scan failed" : "not scanned");
	}
	fprintf(out, "  commands %" PRIu64 " completed %" PRIu64
		     " failed %" PRIu64 "; notifications: %.2f to the backend"
		     " and %.2f interrupts per command\n",
		h->guest.commands, h->guest.completed, h->guest.failed,
		(double)h->fut.notifies_sent / (double)done,
		(double)h->fut.interrupts / (double)done);
}

static void print_work(FILE *out, const struct simcfg *cfg, unsigned i,
		       const struct sg_work_stats *w)
{
	const struct simcfg_workload *c = &cfg->workloads[i];
	double s = work_seconds(w);

	fprintf(out, "workload %u (%s on %u:%u:%u:%u, %u B, depth %u): ",
		i, simcfg_pattern_name(c->pattern), c->vdev.host,
		c->vdev.channel, c->vdev.id, c->vdev.lun, c->block, c->depth);
	if (c->pattern == SIMCFG_ABORT_RESET) {
		fprintf(out, "%" PRIu64 " rounds, aborts ok %" PRIu64
			     " failed %" PRIu64 ", resets ok %" PRIu64
			     " failed %" PRIu64 "\n",
			w->ops, w->aborts_ok, w->aborts_failed, w->resets_ok,
			w->resets_failed);
		return;
	}
	fprintf(out, "%" PRIu64 " ops, %" PRIu64 " ok, %" PRIu64
		     " failed, %" PRIu64 " retried; %.1f MiB verified",
		w->ops, w->ok, w->failed, w->retried,
		(double)w->verified_bytes / 1048576.0);
	if (s > 0)
		fprintf(out, "; %.0f IOPS, %.1f MB/s simulated",
			(double)w->ops / s, (double)w->bytes / s / 1e6);
	fprintf(out, "%s\n", w->stopped && !w->finished ? " (stopped)" : "");
}

static void outcome_of(const struct pvscsi_run_result *res,
		       struct run_outcome *o)
{
	*o = (struct run_outcome){
		.kind = "pvscsi", .json_version = PVSCSI_RUN_JSON_VERSION,
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

void pvscsi_run_print(FILE *out, const struct simcfg *cfg,
		      const struct pvscsi_run_result *res)
{
	struct run_outcome o;

	outcome_of(res, &o);
	run_print_head(out, cfg->path, cfg->name, &o);
	for (unsigned i = 0; i < res->nr_hosts; i++)
		print_host(out, &res->hosts[i]);
	for (unsigned w = 0; w < res->nr_workloads; w++)
		print_work(out, cfg, w, &res->works[w]);
	run_print_tail(out, &o);
}

static void json_host(FILE *out, const struct pvscsi_host_result *h)
{
	fprintf(out, "{\"host\":%u,\"connected\":%s,\"resumed\":%s,"
		     "\"error_state\":%s,\"closed\":%s,"
		     "\"close_timed_out\":%s,\"commands\":%" PRIu64
		     ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64
		     ",\"notifies_sent\":%" PRIu64 ",\"interrupts\":%" PRIu64
		     ",\"spurious\":%" PRIu64 ",\"clamped\":%" PRIu64
		     ",\"backend_misbehaviours\":%" PRIu64 ",\"luns\":[",
		h->host, h->connected ? "true" : "false",
		h->resumed ? "true" : "false",
		h->front_error ? "true" : "false",
		h->closed ? "true" : "false",
		h->close_timed_out ? "true" : "false", h->guest.commands,
		h->guest.completed, h->guest.failed, h->fut.notifies_sent,
		h->fut.interrupts, h->fut.spurious, h->fut.clamped,
		h->be_misbehaved);
	for (unsigned i = 0; i < h->nr_luns; i++) {
		const struct sg_lun_info *l = &h->luns[i];

		fprintf(out, "%s{\"vdev\":\"%u:%u:%u:%u\",\"type\":\"%s\","
			     "\"vendor\":",
			i ? "," : "", h->host, l->channel, l->id, l->lun,
			type_name(l->type));
		run_json_str(out, l->vendor);
		fprintf(out, ",\"product\":");
		run_json_str(out, l->product);
		fprintf(out, ",\"blocks\":%" PRIu64 ",\"block_size\":%u,"
			     "\"scanned\":%s,\"present\":%s}",
			l->blocks, l->block_size, l->scanned ? "true" : "false",
			l->present ? "true" : "false");
	}
	fprintf(out, "]}");
}

static void json_work(FILE *out, const struct simcfg *cfg, unsigned i,
		      const struct sg_work_stats *w)
{
	const struct simcfg_workload *c = &cfg->workloads[i];
	double s = work_seconds(w);

	fprintf(out, "{\"pattern\":\"%s\",\"vdev\":\"%u:%u:%u:%u\","
		     "\"block\":%u,\"depth\":%u,\"ops\":%" PRIu64 ",\"ok\":%" PRIu64
		     ",\"failed\":%" PRIu64 ",\"retried\":%" PRIu64
		     ",\"bytes\":%" PRIu64 ",\"verified_bytes\":%" PRIu64
		     ",\"aborts_ok\":%" PRIu64 ",\"aborts_failed\":%" PRIu64
		     ",\"resets_ok\":%" PRIu64 ",\"resets_failed\":%" PRIu64
		     ",\"sim_seconds\":%.9f,\"iops\":%.1f,\"mb_per_s\":%.3f,"
		     "\"finished\":%s}",
		simcfg_pattern_name(c->pattern), c->vdev.host, c->vdev.channel,
		c->vdev.id, c->vdev.lun, c->block, c->depth, w->ops, w->ok,
		w->failed, w->retried, w->bytes, w->verified_bytes,
		w->aborts_ok, w->aborts_failed, w->resets_ok, w->resets_failed,
		s, s > 0 ? (double)w->ops / s : 0,
		s > 0 ? (double)w->bytes / s / 1e6 : 0,
		w->finished ? "true" : "false");
}

void pvscsi_run_json(FILE *out, const struct simcfg *cfg,
		     const struct pvscsi_run_result *res)
{
	struct run_outcome o;

	outcome_of(res, &o);
	run_json_head(out, cfg->path, cfg->name, &o);
	fprintf(out, ",\"hosts\":[");
	for (unsigned i = 0; i < res->nr_hosts; i++) {
		if (i)
			fputc(',', out);
		json_host(out, &res->hosts[i]);
	}
	fprintf(out, "],\"workloads\":[");
	for (unsigned w = 0; w < res->nr_workloads; w++) {
		if (w)
			fputc(',', out);
		json_work(out, cfg, w, &res->works[w]);
	}
	fputc(']', out);
	run_json_tail(out, &o);
}
