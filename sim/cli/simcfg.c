/*
 * Reading a configuration: libxlutil parses the xl syntax, simcfg_scan
 * finds where each key was written, and the key table below turns values
 * into struct simcfg. Keys are processed in table order (not file order)
 * so that later keys can refer to earlier ones: targets before vscsi,
 * vscsi (its implicit targets' images) before sim_usb_devices, usbctrl
 * and sim_usb_devices before usbdev, all of them before the timeline,
 * the timeline before workloads.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxlutil.h>

#include "sim/core/fault.h"
#include "simcfg.h"
#include "simcfg_impl.h"

#define ITEM_MAX 8192 /* characters of one list entry */

/* Messages quote hostile values, which may hold control bytes (escapes
 * such as \a): keep those off the user's terminal. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int simcfg_fail(struct simcfg_ctx *c, unsigned line, const char *key,
		const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->errlen)
		return -1;
	snprintf(c->err, c->errlen, "%s:%u: %s: %s", c->file, line, key, msg);
	printable(c->err);
	return -1;
}

int simcfg_scalar(struct simcfg_ctx *c, const struct simcfg_key *k,
		  const char *key, const char **value)
{
	if (xlu_cfg_get_string(c->xlu, key, value, 1) != 0)
		return simcfg_fail(c, k->line, key,
				   "must be a single value, not a list");
	return 0;
}

static int list_of(struct simcfg_ctx *c, const struct simcfg_key *k,
		   const char *key, XLU_ConfigList **list, int *n)
{
	if (xlu_cfg_get_list(c->xlu, key, list, n, 1) != 0)
		return simcfg_fail(c, k->line, key,
				   "must be a list: [ '...', ... ]");
	if (*n > SIMCFG_LIST_MAX)
		return simcfg_fail(c, k->line, key, "more than %d entries",
				   SIMCFG_LIST_MAX);
	return 0;
}

int simcfg_each_item(struct simcfg_ctx *c, const struct simcfg_key *k,
		     const char *key, simcfg_item_fn *fn)
{
	char buf[ITEM_MAX];
	XLU_ConfigList *list;
	int n;

	if (list_of(c, k, key, &list, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		/* If the scan disagrees with libxlutil, the key's line is
		 * still right; an item's line is only a refinement. */
		unsigned line =
		    (unsigned)n == k->nr_items ? k->item_lines[i] : k->line;
		const char *s = xlu_cfg_get_listitem(list, i);

		if (!s)
			return simcfg_fail(c, line, key,
					   "entry %d is a list, not a string",
					   i + 1);
		if (strlen(s) >= sizeof(buf))
			return simcfg_fail(
			    c, line, key, "entry %d longer than %zu characters",
			    i + 1, sizeof(buf) - 1);
		strcpy(buf, s);
		if (fn(c, key, line, buf) < 0)
			return -1;
	}
	return 0;
}

static int find_name(const char *const *names, unsigned nr, const char *s)
{
	for (unsigned i = 0; i < nr; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int simcfg_each_field(struct simcfg_ctx *c, const char *key, unsigned line,
		      char *item, const char *const *names, unsigned nr_names,
		      simcfg_field_fn *fn, void *obj, unsigned *seen)
{
	char *cursor = item, *name, *value;
	int i;

	*seen = 0;
	while (simcfg_next_field(&cursor, &name, &value)) {
		if (!*name && !value)
			continue; /* "a=1, " or an empty entry */
		if (!value)
			return simcfg_fail(c, line, key,
					   "'%.48s': want name=value", name);
		i = find_name(names, nr_names, name);
		if (i < 0)
			return simcfg_fail(c, line, key,
					   "unknown field '%.48s'", name);
		if (*seen & (1u << i))
			return simcfg_fail(c, line, key, "%s: given twice",
					   name);
		*seen |= 1u << i;
		if (fn(c, key, line, obj, (unsigned)i, value) < 0)
			return -1;
	}
	return 0;
}

char *simcfg_resolve(struct simcfg_ctx *c, const char *key, unsigned line,
		     const char *path)
{
	const char *dir = c->base_dir;
	size_t dlen = dir ? strlen(dir) : 0;
	char *out;

	if (!*path) {
		simcfg_fail(c, line, key, "empty image path");
		return NULL;
	}
	if (path[0] == '/' || dlen == 0)
		dlen = 0;
	if (dlen + 1 + strlen(path) > 1024) {
		simcfg_fail(c, line, key,
			    "image path longer than 1024 characters");
		return NULL;
	}
	if (asprintf(&out, "%.*s%s%s", (int)dlen, dlen ? dir : "",
		     dlen && dir[dlen - 1] != '/' ? "/" : "", path) < 0) {
		simcfg_fail(c, line, key, "out of memory");
		return NULL;
	}
	return out;
}

int simcfg_check_faults(const char *spec, char *why, size_t len)
{
	struct sim_config sc;
	struct sim *sim;
	int rc;

	/* The parser fills a plan, and plans live in a struct sim. */
	sim_config_default(&sc, 0);
	sim = sim_create(&sc);
	rc = sim_fault_plan_parse(sim_faults(sim), spec, why, len);
	sim_destroy(sim);
	return rc;
}

/* ---- scalar keys ------------------------------------------------------- */

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

static int key_name(struct simcfg_ctx *c, const struct simcfg_key *k,
		    const char *key)
{
	const char *v;
	size_t n;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	n = strlen(v);
	if (n == 0 || n >= SIMCFG_NAME_MAX)
		return simcfg_fail(c, k->line, key, "want 1 to %d characters",
				   SIMCFG_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (!name_char(v[i]))
			return simcfg_fail(c, k->line, key,
					   "'%.48s': want letters, digits, "
					   "'_', '.', '-'",
					   v);
	memcpy(c->cfg->name, v, n + 1);
	return 0;
}

static int key_not_simulated(struct simcfg_ctx *c, const struct simcfg_key *k,
			     const char *key)
{
	return simcfg_fail(c, k->line, key,
			   "not simulated (PVSCSI LUNs go in vscsi)");
}

static int key_time_limit(struct simcfg_ctx *c, const struct simcfg_key *k,
			  const char *key)
{
	const char *v;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	if (simcfg_parse_duration(v, &c->cfg->time_limit_ns) < 0 ||
	    c->cfg->time_limit_ns == 0)
		return simcfg_fail(c, k->line, key,
				   "'%.48s': want a duration above 0 "
				   "(e.g. \"10ms\", \"2s\")",
				   v);
	return 0;
}

static int key_seed(struct simcfg_ctx *c, const struct simcfg_key *k,
		    const char *key)
{
	const char *v;
	char *end;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && v[2] &&
	    strspn(v + 2, "0123456789abcdefABCDEF") == strlen(v + 2) &&
	    strlen(v + 2) <= 16) {
		c->cfg->seed = strtoull(v + 2, &end, 16);
	} else if (simcfg_parse_u64(v, UINT64_MAX, &c->cfg->seed) < 0) {
		return simcfg_fail(c, k->line, key,
				   "'%.48s': want a 64-bit number", v);
	}
	c->cfg->has_seed = true;
	return 0;
}

static int key_faults(struct simcfg_ctx *c, const struct simcfg_key *k,
		      const char *key)
{
	char why[256];
	const char *v;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	if (simcfg_check_faults(v, why, sizeof(why)) < 0)
		return simcfg_fail(c, k->line, key, "%s", why);
	c->cfg->faults = strdup(v);
	if (!c->cfg->faults)
		return simcfg_fail(c, k->line, key, "out of memory");
	return 0;
}

static int key_swarm(struct simcfg_ctx *c, const struct simcfg_key *k,
		     const char *key)
{
	const char *v;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	if (simcfg_parse_bool(v, &c->cfg->swarm) < 0)
		return simcfg_fail(c, k->line, key, "'%.48s': want 0 or 1", v);
	/* Swarm draws the plan from the seed: a given plan would be lost. */
	if (c->cfg->swarm && c->cfg->faults)
		return simcfg_fail(c, k->line, key,
				   "sim_swarm = 1 and sim_faults exclude each "
				   "other");
	return 0;
}

/* ---- the key table ----------------------------------------------------- */

/* Processing order; fn NULL: an xl key accepted and ignored. */
static const struct key_def {
	const char *name;
	simcfg_key_fn *fn;
} key_table[] = {
    {"disk", key_not_simulated},
    {"vif", key_not_simulated},
    {"name", key_name},
    {"type", NULL},
    {"memory", NULL},
    {"maxmem", NULL},
    {"vcpus", NULL},
    {"maxvcpus", NULL},
    {"kernel", NULL},
    {"ramdisk", NULL},
    {"cmdline", NULL},
    {"extra", NULL},
    {"root", NULL},
    {"on_poweroff", NULL},
    {"on_reboot", NULL},
    {"on_crash", NULL},
    {"uuid", NULL},
    {"sim_time_limit", key_time_limit},
    {"sim_seed", key_seed},
    {"sim_faults", key_faults},
    {"sim_swarm", key_swarm},
    {"sim_scsiback", simcfg_key_scsiback},
    {"sim_scsi_targets", simcfg_key_targets},
    {"vscsi", simcfg_key_vscsi},
    {"usbctrl", simcfg_key_usbctrl},
    {"sim_usb_devices", simcfg_key_usb_devices},
    {"usbdev", simcfg_key_usbdev},
    {"sim_timeline", simcfg_key_timeline},
    {"sim_workloads", simcfg_key_workloads},
};

#define NR_KEYS (sizeof(key_table) / sizeof(key_table[0]))

static bool key_known(const char *name, size_t len)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (strlen(key_table[i].name) == len &&
		    memcmp(key_table[i].name, name, len) == 0)
			return true;
	return false;
}

static int scan_failed(struct simcfg_ctx *c, enum simcfg_scan_result r)
{
	const struct simcfg_scan *sc = &c->scan;
	char key[72];

	if (r == SIMCFG_SCAN_NOMEM)
		return simcfg_fail(c, 0, "-", "out of memory");
	snprintf(key, sizeof(key), "%.*s%s",
		 (int)(sc->bad_len > 64 ? 64 : sc->bad_len), sc->bad_key,
		 sc->bad_len > 64 ? "..." : "");
	if (r == SIMCFG_SCAN_UNKNOWN)
		return simcfg_fail(c, sc->bad_line, key, "unknown key");
	return simcfg_fail(c, sc->bad_line, key,
			   "set twice (first at line %u; '+=' extends a list)",
			   sc->first_line);
}

/* ---- libxlutil --------------------------------------------------------- */

/* libxlutil writes "NAME:LINE: config parsing error near ..." to its
 * report stream; the first line is the one that matters. */
static void report_first_line(struct simcfg_ctx *c, const char *report)
{
	size_t n = report ? strcspn(report, "\n") : 0;

	if (!c->errlen)
		return;
	if (!n) {
		snprintf(c->err, c->errlen, "%s: cannot parse", c->file);
		return;
	}
	snprintf(c->err, c->errlen, "%.*s", (int)n, report);
	printable(c->err);
}

static int lex_failed(struct simcfg_ctx *c, unsigned line, const char *at,
		      const char *why)
{
	size_t n = strcspn(at, " \t\n");

	if (!c->errlen)
		return -1;
	/* Worded as libxlutil words its own errors. */
	snprintf(c->err, c->errlen,
		 "%s:%u: config parsing error near `%.*s': %s", c->file, line,
		 (int)(n > 24 ? 24 : n), at, why);
	printable(c->err);
	return -1;
}

static int xlu_parse(struct simcfg_ctx *c, const char *text, size_t len,
		     FILE *report, char **report_buf)
{
	const char *at, *why;
	unsigned line;

	if (simcfg_lex_check(text, len, &line, &at, &why) < 0)
		return lex_failed(c, line, at, why);
	c->xlu = xlu_cfg_init(report, c->file);
	if (!c->xlu)
		return simcfg_fail(c, 0, "-", "out of memory");
	if (xlu_cfg_readdata(c->xlu, text, (int)len) == 0)
		return 0;
	fflush(report);
	report_first_line(c, *report_buf);
	return -1;
}

unsigned simcfg_list_len(struct simcfg_ctx *c, const char *key)
{
	int n = 0;

	if (xlu_cfg_get_list(c->xlu, key, NULL, &n, 1) != 0 || n < 0)
		return 0;
	return n > SIMCFG_LIST_MAX ? SIMCFG_LIST_MAX : (unsigned)n;
}

static int process_keys(struct simcfg_ctx *c, const char *text, size_t len)
{
	enum simcfg_scan_result r;

	r = simcfg_scan(text, len, key_known, &c->scan);
	if (r != SIMCFG_SCAN_OK)
		return scan_failed(c, r);
	/* Room for declared targets plus one implicit target per vscsi
	 * entry, so target indexes never move. */
	c->targets_cap = simcfg_list_len(c, "sim_scsi_targets") +
			 simcfg_list_len(c, "vscsi");
	c->cfg->targets = calloc(c->targets_cap + 1, sizeof(*c->cfg->targets));
	if (!c->cfg->targets)
		return simcfg_fail(c, 0, "-", "out of memory");
	for (size_t i = 0; i < NR_KEYS; i++) {
		const struct simcfg_key *k =
		    simcfg_scan_find(&c->scan, key_table[i].name);

		if (k && key_table[i].fn &&
		    key_table[i].fn(c, k, key_table[i].name) < 0)
			return -1;
	}
	return 0;
}

static struct simcfg *cfg_new(const char *name)
{
	struct simcfg *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->path = strdup(name);
	if (!cfg->path) {
		free(cfg);
		return NULL;
	}
	strcpy(cfg->name, "guest");
	cfg->time_limit_ns = 60ull * 1000000000;
	cfg->scsiback.sg_grant = 128; /* SG_ALL, as Linux scsiback */
	cfg->scsiback.result_encoding = SIMCFG_RESULT_CURRENT;
	cfg->scsiback.service_min_ns = 20000;
	cfg->scsiback.service_max_ns = 200000;
	cfg->scsiback.per_kib_ns = 1000;
	return cfg;
}

static int load_text(const char *text, size_t len, const char *name,
		     const char *base_dir, struct simcfg **out, char *err,
		     size_t errlen)
{
	struct simcfg_ctx c = {
	    .file = name, .base_dir = base_dir, .err = err, .errlen = errlen};
	char *report_buf = NULL, *copy = malloc(len + 2);
	size_t report_len = 0, text_len = len;
	FILE *report;
	int rc = -1;

	*out = NULL;
	c.cfg = cfg_new(name);
	/* The report stream must outlive the XLU_Config (libxlutil.h). */
	report = open_memstream(&report_buf, &report_len);
	if (!c.cfg || !report || !copy) {
		simcfg_fail(&c, 0, "-", "out of memory");
	} else {
		/* libxlutil refuses a comment on a last line without a
		 * newline; a final newline changes nothing else. */
		memcpy(copy, text, len);
		if (len == 0 || text[len - 1] != '\n')
			copy[len++] = '\n';
		copy[len] = '\0';
		if (xlu_parse(&c, copy, len, report, &report_buf) == 0)
			rc = process_keys(&c, copy, len);
	}
	simcfg_scan_free(&c.scan);
	free(copy);
	if (c.xlu)
		xlu_cfg_destroy(c.xlu);
	if (report)
		fclose(report);
	free(report_buf);
	if (rc < 0) {
		simcfg_free(c.cfg);
		return -1;
	}
	/* Kept whole, as read, for the record of a run (a replay rebuilds
	 * the guest from it). */
	c.cfg->text = malloc(text_len + 1);
	if (!c.cfg->text) {
		simcfg_free(c.cfg);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(c.cfg->text, text, text_len);
	c.cfg->text[text_len] = '\0';
	c.cfg->text_len = text_len;
	*out = c.cfg;
	return 0;
}

int simcfg_load_string(const char *text, const char *name, const char *base_dir,
		       struct simcfg **out, char *err, size_t errlen)
{
	size_t len = text ? strnlen(text, SIMCFG_FILE_MAX + 1) : 0;

	*out = NULL;
	if (!text || len > SIMCFG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", name,
			 text ? "longer than 1 MiB" : "no text");
		return -1;
	}
	return load_text(text, len, name, base_dir, out, err, errlen);
}

/* Reads at most SIMCFG_FILE_MAX bytes, NUL-terminated. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(SIMCFG_FILE_MAX + 2);
	*len = buf ? fread(buf, 1, SIMCFG_FILE_MAX + 1, f) : 0;
	if (!buf || ferror(f) || *len > SIMCFG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 !buf	     ? "out of memory"
			 : ferror(f) ? "read error"
				     : "longer than 1 MiB");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup("");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int simcfg_load(const char *path, struct simcfg **out, char *err, size_t errlen)
{
	size_t len;
	char *text, *dir;
	int rc = -1;

	*out = NULL;
	text = read_file(path, &len, err, errlen);
	if (!text)
		return -1;
	dir = dir_of(path);
	if (!dir)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (strlen(text) != len)
		snprintf(err, errlen, "%s: contains a NUL byte", path);
	else
		rc = load_text(text, len, path, dir, out, err, errlen);
	free(dir);
	free(text);
	return rc;
}

void simcfg_free(struct simcfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->text);
	for (unsigned i = 0; i < cfg->nr_targets; i++)
		free(cfg->targets[i].image);
	for (unsigned i = 0; i < cfg->nr_events; i++)
		free(cfg->timeline[i].faults);
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		free(cfg->usb_devices[i].image);
	free(cfg->targets);
	free(cfg->luns);
	free(cfg->timeline);
	free(cfg->workloads);
	free(cfg->usbctrls);
	free(cfg->usb_devices);
	free(cfg->usbdevs);
	free(cfg->faults);
	free(cfg->path);
	free(cfg);
}
