/*
 * xpvsim bench CONFIG... [--seed N] [--frontend NAME] [--repeat N]
 *
 * Runs each configuration --repeat times (default 3) and prints, per
 * workload, the simulated IOPS and MB/s, notifications per command and the
 * host CPU time per simulated command (median of the repeats). A PVUSB
 * configuration (one with usbctrl) gets a row per storage device instead:
 * simulated MB/s and its share of the bus's bulk ceiling (usbback.h:
 * 53.248 MB/s at high speed, 1.216 MB/s at full speed), then notifications
 * and host CPU per URB. CPU time is read here, around whole runs, never
 * inside the simulator. Every repeat must be clean and identical (the
 * same trace hash).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/backends/usbback.h"
#include "sim/cli/simcfg.h"
#include "sim/cli/xpvsim.h"

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Totals over every vscsi host of a run. */
struct bench_totals {
	uint64_t commands, notifies, interrupts;
};

static void bench_totals(const struct pvscsi_run_result *res,
			 struct bench_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < res->nr_hosts; i++) {
		t->commands += res->hosts[i].guest.commands;
		t->notifies += res->hosts[i].fut.notifies_sent;
		t->interrupts += res->hosts[i].fut.interrupts;
	}
}

/* The config's file name without directory and ".cfg". */
static void bench_name(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base);

	if (len > 4 && strcmp(base + len - 4, ".cfg") == 0)
		len -= 4;
	snprintf(out, n, "%.*s", (int)len, base);
}

/* One line per workload; the per-command columns (the whole run's) on the
 * config's first line. */
static void bench_rows(const char *path, const struct simcfg *cfg,
		       const struct pvscsi_run_result *res, double cpu)
{
	struct bench_totals t;
	char name[64];
	double per_cmd;

	bench_totals(res, &t);
	bench_name(path, name, sizeof(name));
	per_cmd = t.commands ? 1.0 / (double)t.commands : 0;
	for (unsigned w = 0; w < res->nr_workloads; w++) {
		const struct sg_work_stats *st = &res->works[w];
		const struct simcfg_workload *c = &cfg->workloads[w];
		double s = st->last_ns > st->first_ns
				   ? (double)(st->last_ns - st->first_ns) / 1e9
				   : 0;

		printf("%-26s %-9s %6uK %3u %8" PRIu64 " %9.0f %9.1f", name,
		       simcfg_pattern_name(c->pattern), c->block / 1024,
		       c->depth, st->ops, s > 0 ? (double)st->ops / s : 0,
		       s > 0 ? (double)st->bytes / s / 1e6 : 0);
		if (w == 0)
			printf(" %9" PRIu64 " %7.3f %7.3f %9.2f\n", t.commands,
			       (double)t.notifies * per_cmd,
			       (double)t.interrupts * per_cmd,
			       cpu * per_cmd * 1e6);
		else
			printf("\n");
	}
}

/* One run of either kind, its result kept for the rows. */
struct bench_run {
	bool usb;
	struct pvscsi_run_result scsi;
	struct pvusb_run_result pvusb;
};

static int bench_run_once(const struct xpvsim_args *a, const char *path,
			  const struct simcfg *cfg, struct bench_run *br)
{
	char err[512];
	int e;

	br->usb = cfg->nr_usbctrls > 0;
	if (br->usb) {
		struct pvusb_run_options opt;

		xpvsim_usb_run_options(a, &opt);
		e = pvusb_run(cfg, &opt, &br->pvusb, err, sizeof(err));
	} else {
		struct pvscsi_run_options opt;

		xpvsim_run_options(a, &opt);
		e = pvscsi_run(cfg, &opt, &br->scsi, err, sizeof(err));
	}
	if (e)
		fprintf(stderr, "xpvsim: %s: %s\n", path, err);
	return e;
}

static uint64_t bench_violations(const struct bench_run *br)
{
	return br->usb ? br->pvusb.violations_total
		       : br->scsi.violations_total;
}

static uint64_t bench_hash(const struct bench_run *br)
{
	return br->usb ? br->pvusb.trace_hash : br->scsi.trace_hash;
}

static void bench_print(const struct simcfg *cfg, const struct bench_run *br)
{
	if (br->usb)
		pvusb_run_print(stderr, cfg, &br->pvusb);
	else
		pvscsi_run_print(stderr, cfg, &br->scsi);
}

static void bench_free(struct bench_run *br)
{
	if (br->usb)
		pvusb_run_result_free(&br->pvusb);
	else
		pvscsi_run_result_free(&br->scsi);
}

/* The bulk ceiling of a device's speed, bytes per second (usbback.h). */
static double bulk_ceiling(enum sim_usb_speed speed)
{
	if (speed == SIM_USB_SPEED_HIGH)
		return USBBACK_HS_BULK_BYTES_PER_UFRAME * 1e9 /
		       (double)USBBACK_UFRAME_NS;
	return USBBACK_FS_BULK_BYTES_PER_FRAME * 1e9 /
	       (double)USBBACK_FRAME_NS;
}

/* One line per storage device of a PVUSB run; the per-URB columns are the
 * whole run's. */
static void bench_usb_rows(const char *path, const struct simcfg *cfg,
			   const struct pvusb_run_result *res, double cpu)
{
	uint64_t urbs = 0, notifies = 0, irqs = 0;
	char name[64];

	bench_name(path, name, sizeof(name));
	for (unsigned i = 0; i < res->nr_ctrls; i++) {
		urbs += res->ctrls[i].guest.completed;
		notifies += res->ctrls[i].fut.notifies_sent;
		irqs += res->ctrls[i].fut.interrupts;
	}
	for (unsigned d = 0; d < res->nr_devices; d++) {
		const struct simcfg_usb_device *c = &cfg->usb_devices[d];
		const struct ug_device_stats *g = &res->devices[d].guest;
		double s = g->last_ns > g->first_ns
				   ? (double)(g->last_ns - g->first_ns) / 1e9
				   : 0;
		double bps = s > 0 ? (double)g->bytes / s : 0;

		if (c->cls != SIMCFG_USB_STORAGE)
			continue;
		printf("%-26s %-9s %6uK %5s %8" PRIu64 " %9.2f %6.1f%% %9" PRIu64
		       " %7.3f %7.3f %9.2f\n",
		       name, simcfg_pattern_name(c->pattern), c->block / 1024,
		       c->speed == SIM_USB_SPEED_HIGH ? "high" : "full", g->ops,
		       bps / 1e6, 100.0 * bps / bulk_ceiling(c->speed), urbs,
		       urbs ? (double)notifies / (double)urbs : 0,
		       urbs ? (double)irqs / (double)urbs : 0,
		       urbs ? cpu / (double)urbs * 1e6 : 0);
	}
}

/* Runs one configuration a->repeat times; 0, 1 (checkers or determinism
 * failed) or 2 (error). */
static int bench_config(const struct xpvsim_args *a, const char *path,
			bool usb)
{
	struct bench_run first, br;
	double cpu[XPVSIM_MAX_REPEAT];
	struct simcfg *cfg;
	char err[512];
	int rc = 0;

	if (simcfg_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	if ((cfg->nr_usbctrls > 0) != usb) {
		simcfg_free(cfg);
		return 0; /* the other table's */
	}
	for (unsigned r = 0; r < a->repeat && rc == 0; r++) {
		double t0 = cpu_seconds();

		if (bench_run_once(a, path, cfg, &br) != 0) {
			rc = 2;
			break;
		}
		cpu[r] = cpu_seconds() - t0;
		if (bench_violations(&br)) {
			bench_print(cfg, &br);
			rc = 1;
		} else if (r > 0 && bench_hash(&br) != bench_hash(&first)) {
			fprintf(stderr, "xpvsim: %s: run %u differs from run 1 "
					"(trace %016" PRIx64 " vs %016" PRIx64
					")\n",
				path, r + 1, bench_hash(&br), bench_hash(&first));
			rc = 1;
		}
		if (r == 0)
			first = br;
		else
			bench_free(&br);
	}
	if (rc == 0) {
		qsort(cpu, a->repeat, sizeof(cpu[0]), cmp_double);
		if (usb)
			bench_usb_rows(path, cfg, &first.pvusb,
				       cpu[a->repeat / 2]);
		else
			bench_rows(path, cfg, &first.scsi, cpu[a->repeat / 2]);
	}
	if (a->repeat > 0 && rc != 2)
		bench_free(&first);
	simcfg_free(cfg);
	return rc;
}

/* The configurations of one kind, one table; the worst status. */
static int bench_table(const struct xpvsim_args *a, bool usb)
{
	int worst = 0;

	for (unsigned i = 0; i < a->nr_configs && worst < 2; i++) {
		int rc = bench_config(a, a->configs[i], usb);

		worst = rc > worst ? rc : worst;
	}
	return worst;
}

int xpvsim_bench(const struct xpvsim_args *a)
{
	int worst, rc;

	printf("xpvsim bench: frontend %s; per command: notifications to the "
	       "backend,\ninterrupts taken, host CPU (median of %" PRIu64
	       " runs, whole run / commands)\n",
	       a->frontend ? a->frontend : "xpv-scsifront", a->repeat);
	printf("%-26s %-9s %7s %3s %8s %9s %9s %9s %7s %7s %9s\n", "config",
	       "pattern", "block", "qd", "I/Os", "sim IOPS", "sim MB/s",
	       "commands", "notify", "irq", "CPU us");
	worst = bench_table(a, false);
	if (worst == 2)
		return worst;
	printf("\nPVUSB mass storage (frontend %s); %% of the bus's bulk "
	       "ceiling; per URB:\nnotifications, interrupts, host CPU\n",
	       a->frontend ? a->frontend : "xpv-usbfront");
	printf("%-26s %-9s %7s %5s %8s %9s %7s %9s %7s %7s %9s\n", "config",
	       "pattern", "block", "speed", "commands", "sim MB/s", "ceil",
	       "URBs", "notify", "irq", "CPU us");
	rc = bench_table(a, true);
	return rc > worst ? rc : worst;
}
