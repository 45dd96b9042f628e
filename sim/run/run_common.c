/*
 * What the PVSCSI and PVUSB runs share; see run_common.h.
 */
#include "run_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/cli/simcfg.h"
#include "sim/core/fault.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_pcap.h"
#include "sim/xenstore/xenstore.h"

void run_xs_put(struct sim *sim, uint32_t txn, const char *dir,
		const char *key, const char *value)
{
	char p[RUN_PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	SIM_ASSERT(sim_xs_write(sim_xs(sim), RUN_DOM0, txn, p, value,
				strlen(value)) == 0);
}

void run_toolstack_device_dirs(struct sim *sim, sim_domid guest,
			       const char *fe, const char *be)
{
	struct sim_xs *xs = sim_xs(sim);
	struct xs_permissions fe_perms[2] = {
		{ .id = guest, .perms = XS_PERM_NONE },
		{ .id = RUN_DOM0, .perms = XS_PERM_READ },
	};
	struct xs_permissions be_perms[2] = {
		{ .id = RUN_DOM0, .perms = XS_PERM_NONE },
		{ .id = guest, .perms = XS_PERM_READ },
	};
	char id[16];

	SIM_ASSERT(sim_xs_mkdir(xs, RUN_DOM0, 0, fe) == 0);
	SIM_ASSERT(sim_xs_set_perms(xs, RUN_DOM0, 0, fe, fe_perms, 2) == 0);
	run_xs_put(sim, 0, fe, "backend", be);
	run_xs_put(sim, 0, fe, "backend-id", "0");
	run_xs_put(sim, 0, fe, "state", "1");
	SIM_ASSERT(sim_xs_mkdir(xs, RUN_DOM0, 0, be) == 0);
	SIM_ASSERT(sim_xs_set_perms(xs, RUN_DOM0, 0, be, be_perms, 2) == 0);
	run_xs_put(sim, 0, be, "frontend", fe);
	snprintf(id, sizeof(id), "%u", guest);
	run_xs_put(sim, 0, be, "frontend-id", id);
	run_xs_put(sim, 0, be, "online", "1");
}

int run_image_dir_create(const char *image, uint64_t size, char *err,
			 size_t errlen)
{
	char dir[4096];
	char *slash;

	if (size == 0 ||
	    snprintf(dir, sizeof(dir), "%s", image) >= (int)sizeof(dir))
		return 0;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
fail:
	snprintf(err, errlen, "%s: cannot create directory %s: %s", image,
		 dir, strerror(errno));
	return -1;
}

int run_setup_faults(struct sim *sim, const char *opt_faults, bool swarm,
		     const char *cfg_faults, uint64_t seed, char *out,
		     char *err, size_t errlen)
{
	struct sim_fault_plan *plan = sim_faults(sim);
	const char *spec = opt_faults ? opt_faults : cfg_faults;
	char why[256];

	if (!opt_faults && swarm) {
		sim_fault_plan_draw(plan, seed);
	} else if (spec &&
		   sim_fault_plan_parse(plan, spec, why, sizeof(why))) {
		snprintf(err, errlen, "fault plan: %s", why);
		return -1;
	}
	sim_fault_plan_format(plan, out, RUN_FAULTS_MAX);
	return 0;
}

void run_replace_faults(struct sim *sim, const char *spec, char *out)
{
	char err[256];

	sim_fault_plan_clear(sim_faults(sim));
	if (sim_fault_plan_parse(sim_faults(sim), spec, err, sizeof(err)) != 0)
		fprintf(stderr, "xpvsim: faults: %s\n", err);
	sim_fault_plan_format(sim_faults(sim), out, RUN_FAULTS_MAX);
}

int run_audit_open(struct run_audit *a, const char *image)
{
	a->image = image;
	a->fd = open(image, O_RDONLY);
	return a->fd < 0 ? -1 : 0;
}

void run_audit_close(struct run_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

/* Every block whose write the guest saw complete must be on the image: a
 * run of them is read at once, and each bad block is reported. */
void run_audit_blocks(void *arg, uint64_t lba, uint32_t count, uint32_t bs,
		      const uint8_t *expected)
{
	struct run_audit *a = arg;
	size_t len = (size_t)count * bs;
	ssize_t n;

	SIM_ASSERT(a->fd >= 0);
	if (a->cap < len) {
		free(a->buf);
		a->buf = sim_xmalloc(len);
		a->cap = len;
	}
	a->audited += count;
	n = pread(a->fd, a->buf, len, (off_t)(lba * bs));
	if (n == (ssize_t)len && memcmp(a->buf, expected, len) == 0)
		return;
	for (uint32_t i = 0; i < count; i++) {
		size_t off = (size_t)i * bs;

		if (n >= (ssize_t)(off + bs) &&
		    memcmp(a->buf + off, expected + off, bs) == 0)
			continue;
		a->bad++;
		sim_violation(a->sim, SIM_CHECK_DATA_CORRUPT,
			      "%s: block %llu does not hold the last completed "
			      "write", a->image, (unsigned long long)(lba + i));
	}
}

void run_audit_free(struct run_audit *a)
{
	run_audit_close(a);
	free(a->buf);
	a->buf = NULL;
	a->cap = 0;
}

void run_collect_checks(struct sim *sim,
			uint64_t violations[SIM_CHECK__COUNT],
			uint64_t *total, char **report)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	for (int c = 0; c < SIM_CHECK__COUNT; c++)
		violations[c] = sim_violations(sim, c);
	*total = sim_violations_total(sim);
	*report = NULL;
	if (!*total)
		return;
	mem = open_memstream(&buf, &len);
	if (!mem)
		return;
	sim_check_report(sim, mem);
	fclose(mem);
	*report = buf;
}

void run_force_end(struct sim *sim, enum sim_run_result why, bool *stalled,
		   bool *time_limit_hit, const char *what)
{
	uint64_t open = sim_check_requests_open(sim);
	uint64_t limit = sim_config(sim)->max_time_ns;

	if (why == SIM_RUN_IDLE)
		*stalled = true;
	else
		*time_limit_hit = true;
	/* A run cut off by its time limit ran until the limit: the clock
	 * goes there whatever the last event was (a replay, which has no
	 * backend or toolstack events that make no records, ends at the
	 * same time as its recording). */
	if (why == SIM_RUN_TIME_LIMIT && limit > sim_now(sim))
		sim_run_until(sim, limit);
	if (open)
		sim_violation(sim, SIM_CHECK_LIVENESS,
			      "run %s at %.3f s simulated: %llu %s outstanding",
			      why == SIM_RUN_IDLE ? "stalled" : "did not finish",
			      (double)sim_now(sim) / 1e9,
			      (unsigned long long)open, what);
}

void run_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void run_print_head(FILE *out, const char *config_path, const char *guest,
		    const struct run_outcome *o)
{
	fprintf(out, "xpvsim run %s: guest '%s', frontend %s, seed %" PRIu64
		     ", faults %s\n",
		config_path ? config_path : "-", guest, o->frontend, o->seed,
		o->faults);
}

void run_print_tail(FILE *out, const struct run_outcome *o)
{
	fprintf(out, "images: %" PRIu64 " written blocks read back, %" PRIu64
		     " wrong\n",
		o->blocks_audited, o->blocks_audit_bad);
	fprintf(out, "simulated %.6f s, %" PRIu64 " events, trace %016" PRIx64
		     "%s\n",
		(double)o->sim_time_ns / 1e9, o->events, o->trace_hash,
		o->time_limit_hit ? " (time limit hit)"
		: o->stalled	  ? " (stalled: nothing left to happen)"
				  : "");
	fprintf(out, "grant pages quarantined: %u\n", o->quarantined);
	if (o->violations_total == 0) {
		fprintf(out, "checkers: clean\n");
		return;
	}
	fprintf(out, "checkers: %" PRIu64 " violations\n%s",
		o->violations_total, o->report ? o->report : "");
}

static const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

void run_json_head(FILE *out, const char *config_path, const char *guest,
		   const struct run_outcome *o)
{
	fprintf(out, "{\"version\":%d,\"kind\":", o->json_version);
	run_json_str(out, o->kind);
	fprintf(out, ",\"config\":");
	run_json_str(out, config_path ? config_path : "");
	fprintf(out, ",\"guest\":");
	run_json_str(out, guest);
	fprintf(out, ",\"frontend\":");
	run_json_str(out, o->frontend);
	fprintf(out, ",\"seed\":%" PRIu64 ",\"faults\":", o->seed);
	run_json_str(out, o->faults);
	fprintf(out, ",\"sim_time_ns\":%" PRIu64 ",\"events\":%" PRIu64
		     ",\"trace_hash\":\"%016" PRIx64 "\",\"time_limit_hit\":%s"
		     ",\"stalled\":%s",
		o->sim_time_ns, o->events, o->trace_hash,
		json_bool(o->time_limit_hit), json_bool(o->stalled));
}

void run_json_tail(FILE *out, const struct run_outcome *o)
{
	fprintf(out, ",\"images\":{\"blocks_audited\":%" PRIu64
		     ",\"blocks_wrong\":%" PRIu64 "},\"quarantined_pages\":%u,"
		     "\"violations\":{",
		o->blocks_audited, o->blocks_audit_bad, o->quarantined);
	for (int c = 0; c < SIM_CHECK__COUNT; c++)
		fprintf(out, "%s\"%s\":%" PRIu64, c ? "," : "",
			sim_check_name(c), o->violations[c]);
	fprintf(out, "},\"violations_total\":%" PRIu64 ",\"passed\":%s}\n",
		o->violations_total, json_bool(o->violations_total == 0));
}

void run_record_head(struct sim *sim, int kind, const struct simcfg *cfg,
		     uint64_t seed, const char *frontend,
		     const char *opt_faults, bool opt_swarm,
		     uint64_t ops_limit, uint64_t time_limit_ns)
{
	bool swarm = !opt_faults && (opt_swarm || cfg->swarm);
	struct sim_rec_run run = {
		.kind = (enum sim_rec_run_kind)kind,
		.seed = seed,
		.ops_limit = ops_limit,
		.time_limit_ns = time_limit_ns,
		.swarm = swarm,
		.frontend = frontend,
		.faults = swarm ? NULL : opt_faults ? opt_faults : cfg->faults,
		.config_path = cfg->path,
		.config_text = cfg->text,
		.config_len = cfg->text_len,
	};

	sim_rec_run(sim, &run);
}

struct sim *run_sim_start(const struct run_sim_args *a, char *err,
			  size_t errlen)
{
	struct sim_config sc;
	struct sim_domain *d;
	struct sim *sim;

	sim_config_default(&sc, a->seed);
	sc.max_time_ns = a->cfg->time_limit_ns;
	if (sc.max_time_ns < a->min_time_limit_ns)
		sc.max_time_ns = a->min_time_limit_ns;
	sim = sim_create(&sc);
	sim_trace_log(sim, a->trace);
	/* Domains first: the player binds to them (no record is made). */
	SIM_ASSERT(sim_domain_create(sim, RUN_DOM0, "dom0", &d) == 0);
	SIM_ASSERT(sim_domain_create(sim, RUN_GUEST, a->cfg->name, &d) == 0);
	if (a->replay)
		replay_own_watches(a->replay, RUN_TOOLSTACK_TOKEN);
	if (a->replay ? replay_attach(a->replay, sim, RUN_DOM0, RUN_GUEST,
				      a->trace_pcap, err, errlen)
		      : sim_record_run_start(sim, a->trace_pcap,
					     a->trace_flags, err, errlen)) {
		sim_destroy(sim);
		return NULL;
	}
	run_record_head(sim, a->kind, a->cfg, a->seed, a->frontend, a->faults,
			a->swarm, a->ops_limit, sc.max_time_ns);
	return sim;
}

int run_sim_record_end(struct sim *sim, struct replay_player *player,
		       struct replay_result *replay, int rc, char *err,
		       size_t errlen)
{
	if (!player)
		return sim_record_run_end(sim, rc, err, errlen);
	return replay_finish(player, replay, err, errlen) && rc == 0 ? -1 : 0;
}
