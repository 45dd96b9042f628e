/*
 * The PVSCSI keys: the backend model's options (sim_scsiback), the
 * image-backed targets (sim_scsi_targets) and the LUNs the guest starts
 * with (vscsi, xend's 'PDEV, VDEV' syntax). Checks needing the image
 * itself (it exists, its size) are left to whoever opens it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcfg.h"
#include "simcfg_impl.h"

#define SIZE_MAX_BYTES (16ull << 40) /* 16T: ext4's largest file */

/* ---- sim_scsiback -------------------------------------------------------- */

enum { SB_SG_GRANT, SB_RESULT, SB_MIN, SB_MAX, SB_PER_KIB, SB_TMR_VICTIMS };
static const char *const scsiback_fields[] = {
    "sg_grant",	   "result_encoding", "service_min",
    "service_max", "per_kib",	      "tmr_victims",
};

static int scsiback_field(struct simcfg_ctx *c, const char *key, unsigned line,
			  void *obj, unsigned field, const char *v)
{
	struct simcfg_scsiback *sb = obj;
	uint64_t *ns = field == SB_MIN	 ? &sb->service_min_ns
		       : field == SB_MAX ? &sb->service_max_ns
					 : &sb->per_kib_ns;
	const char *name = scsiback_fields[field];
	uint64_t n;

	if (field == SB_SG_GRANT) {
		if (simcfg_parse_u64(v, UINT16_MAX, &n) < 0)
			return simcfg_fail(c, line, key,
					   "%s: '%.48s': want 0 to 65535", name,
					   v);
		sb->sg_grant = (uint32_t)n;
	} else if (field == SB_RESULT) {
		if (strcmp(v, "current") && strcmp(v, "old"))
			return simcfg_fail(c, line, key,
					   "%s: '%.48s': want current or old",
					   name, v);
		sb->result_encoding = strcmp(v, "old") == 0
					  ? SIMCFG_RESULT_OLD
					  : SIMCFG_RESULT_CURRENT;
	} else if (field == SB_TMR_VICTIMS) {
		if (strcmp(v, "drop") && strcmp(v, "answer"))
			return simcfg_fail(c, line, key,
					   "%s: '%.48s': want drop or answer",
					   name, v);
		sb->tmr_victims_answered = strcmp(v, "answer") == 0;
	} else if (simcfg_parse_duration(v, ns) < 0) {
		return simcfg_fail(c, line, key,
				   "%s: '%.48s': want a duration (e.g. 20us)",
				   name, v);
	}
	return 0;
}

int simcfg_key_scsiback(struct simcfg_ctx *c, const struct simcfg_key *k,
			const char *key)
{
	struct simcfg_scsiback *sb = &c->cfg->scsiback;
	char buf[1024];
	const char *v;
	unsigned seen;

	if (simcfg_scalar(c, k, key, &v) < 0)
		return -1;
	if (strlen(v) >= sizeof(buf))
		return simcfg_fail(c, k->line, key,
				   "longer than %zu characters",
				   sizeof(buf) - 1);
	strcpy(buf, v);
	if (simcfg_each_field(c, key, k->line, buf, scsiback_fields,
			      sizeof(scsiback_fields) / sizeof(char *),
			      scsiback_field, sb, &seen) < 0)
		return -1;
	if (sb->service_min_ns > sb->service_max_ns)
		return simcfg_fail(c, k->line, key,
				   "service_min is above service_max");
	return 0;
}

/* ---- sim_scsi_targets ---------------------------------------------------- */

enum {
	T_NAME,
	T_TYPE,
	T_IMAGE,
	T_SIZE,
	T_BLOCK,
	T_RO,
	T_VENDOR,
	T_PRODUCT,
	T_SERIAL,
	T__COUNT
};
static const char *const target_fields[] = {
    "name",	 "type",   "image",   "size",	"block_size",
    "read_only", "vendor", "product", "serial",
};

bool simcfg_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SIMCFG_NAME_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == n;
}

/* INQUIRY strings: printable ASCII, padded by the target. */
static int copy_ascii(struct simcfg_ctx *c, const char *key, unsigned line,
		      const char *field, char *dst, size_t max, const char *v)
{
	size_t n = strlen(v);

	if (n > max)
		return simcfg_fail(
		    c, line, key, "%s: longer than %zu characters", field, max);
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return simcfg_fail(c, line, key,
					   "%s: want printable ASCII", field);
	memcpy(dst, v, n + 1);
	return 0;
}

static int target_number(struct simcfg_ctx *c, const char *key, unsigned line,
			 struct simcfg_target *t, unsigned field, const char *v)
{
	uint64_t n;

	if (field == T_SIZE) {
		if (simcfg_parse_size(v, &t->size) < 0 || t->size == 0 ||
		    t->size > SIZE_MAX_BYTES)
			return simcfg_fail(c, line, key,
					   "size: '%.48s': want 1 byte to 16T "
					   "(suffix K, M, G or T)",
					   v);
	} else if (field == T_BLOCK) {
		if (simcfg_parse_u64(v, 4096, &n) < 0 ||
		    (n != 512 && n != 2048 && n != 4096))
			return simcfg_fail(c, line, key,
					   "block_size: '%.48s': want 512 or "
					   "4096 (2048 for a cdrom)",
					   v);
		t->block_size = (uint32_t)n;
	} else if (simcfg_parse_bool(v, &t->read_only) < 0) {
		return simcfg_fail(c, line, key,
				   "read_only: '%.48s': want 0 or 1", v);
	}
	return 0;
}

static int target_field(struct simcfg_ctx *c, const char *key, unsigned line,
			void *obj, unsigned field, const char *v)
{
	struct simcfg_target *t = obj;

	switch (field) {
	case T_NAME:
		if (!simcfg_name_ok(v))
			return simcfg_fail(c, line, key,
					   "name: '%.48s': want 1 to %d "
					   "letters, digits, '_', '.', '-'",
					   v, SIMCFG_NAME_MAX - 1);
		strcpy(t->name, v);
		return 0;
	case T_TYPE:
		if (strcmp(v, "disk") && strcmp(v, "cdrom"))
			return simcfg_fail(c, line, key,
					   "type: '%.48s': want disk or cdrom",
					   v);
		t->kind = strcmp(v, "cdrom") ? SIM_SCSI_DISK : SIM_SCSI_CDROM;
		return 0;
	case T_IMAGE:
		t->image = simcfg_resolve(c, key, line, v);
		return t->image ? 0 : -1;
	case T_VENDOR:
		return copy_ascii(c, key, line, "vendor", t->vendor, 8, v);
	case T_PRODUCT:
		return copy_ascii(c, key, line, "product", t->product, 16, v);
	case T_SERIAL:
		return copy_ascii(c, key, line, "serial", t->serial,
				  SIMCFG_SERIAL_MAX, v);
	default:
		return target_number(c, key, line, t, field, v);
	}
}

static int target_kind_rules(struct simcfg_ctx *c, const char *key,
			     unsigned line, struct simcfg_target *t,
			     unsigned seen)
{
	if (t->kind == SIM_SCSI_CDROM) {
		/* MMC: 2048-byte blocks, no writes. */
		if ((seen & (1u << T_BLOCK)) && t->block_size != 2048)
			return simcfg_fail(c, line, key,
					   "block_size: a cdrom has 2048");
		if ((seen & (1u << T_RO)) && !t->read_only)
			return simcfg_fail(c, line, key,
					   "read_only: a cdrom is read-only");
		t->block_size = 2048;
		t->read_only = true;
	} else if (!(seen & (1u << T_BLOCK))) {
		t->block_size = 512;
	} else if (t->block_size == 2048) {
		return simcfg_fail(c, line, key,
				   "block_size: 2048 is for a cdrom; a disk "
				   "has 512 or 4096");
	}
	if (t->size % t->block_size)
		return simcfg_fail(c, line, key,
				   "size: not a multiple of block_size %u",
				   t->block_size);
	return 0;
}

static const struct simcfg_target *
target_named(const struct simcfg *cfg, const char *name, unsigned before)
{
	for (unsigned i = 0; i < before; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	return NULL;
}

const struct simcfg_target *simcfg_target_named(const struct simcfg *cfg,
						const char *name)
{
	return target_named(cfg, name, cfg->nr_targets);
}

static int target_item(struct simcfg_ctx *c, const char *key, unsigned line,
		       char *item)
{
	struct simcfg_target *t;
	const struct simcfg_target *other;
	unsigned seen;

	if (c->cfg->nr_targets >= c->targets_cap)
		return simcfg_fail(c, line, key, "too many targets");
	/* Counted before it is filled, so simcfg_free sees its image. */
	t = &c->cfg->targets[c->cfg->nr_targets++];
	t->line = line;
	t->kind = SIM_SCSI_DISK;
	if (simcfg_each_field(c, key, line, item, target_fields, T__COUNT,
			      target_field, t, &seen) < 0)
		return -1;
	if (!(seen & (1u << T_NAME)))
		return simcfg_fail(c, line, key, "name= missing");
	if (!(seen & (1u << T_IMAGE)))
		return simcfg_fail(c, line, key, "image= missing");
	other = target_named(c->cfg, t->name, c->cfg->nr_targets - 1);
	if (other)
		return simcfg_fail(c, line, key,
				   "name: '%s' already declared at line %u",
				   t->name, other->line);
	return target_kind_rules(c, key, line, t, seen);
}

static int cmp_image(const void *a, const void *b)
{
	const struct simcfg_target *x = *(const struct simcfg_target *const *)a;
	const struct simcfg_target *y = *(const struct simcfg_target *const *)b;
	int r = strcmp(x->image, y->image);

	if (r)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Two targets on one image would see each other's writes behind their
 * backs: refuse it (paths compared as written, after resolution). */
static int images_unique(struct simcfg_ctx *c, const char *key)
{
	struct simcfg *cfg = c->cfg;
	const struct simcfg_target **v;
	int rc = 0;

	if (cfg->nr_targets < 2)
		return 0;
	v = malloc(cfg->nr_targets * sizeof(*v));
	if (!v)
		return simcfg_fail(c, 0, key, "out of memory");
	for (unsigned i = 0; i < cfg->nr_targets; i++)
		v[i] = &cfg->targets[i];
	qsort(v, cfg->nr_targets, sizeof(*v), cmp_image);
	for (unsigned i = 1; i < cfg->nr_targets && !rc; i++)
		if (strcmp(v[i - 1]->image, v[i]->image) == 0)
			rc = simcfg_fail(c, v[i]->line, key,
					 "image '%.64s' already used by the "
					 "target at line %u",
					 v[i]->image, v[i - 1]->line);
	free(v);
	return rc;
}

int simcfg_key_targets(struct simcfg_ctx *c, const struct simcfg_key *k,
		       const char *key)
{
	if (simcfg_each_item(c, k, key, target_item) < 0)
		return -1;
	return images_unique(c, key);
}

/* ---- vscsi ----------------------------------------------------------------
 */

/* An image path given as PDEV: a disk with every default, named after
 * its address (':' keeps it apart from declared names). */
static int implicit_target(struct simcfg_ctx *c, const char *key, unsigned line,
			   const char *path, const struct simcfg_vdev *vd,
			   unsigned *index)
{
	struct simcfg_target *t;

	if (c->cfg->nr_targets >= c->targets_cap)
		return simcfg_fail(c, line, key, "too many targets");
	*index = c->cfg->nr_targets;
	t = &c->cfg->targets[c->cfg->nr_targets++];
	t->line = line;
	t->kind = SIM_SCSI_DISK;
	t->block_size = 512;
	t->implicit = true;
	snprintf(t->name, sizeof(t->name), "vscsi:%u:%u:%u:%u", vd->host,
		 vd->channel, vd->id, vd->lun);
	t->image = simcfg_resolve(c, key, line, path);
	return t->image ? 0 : -1;
}

static int pdev_target(struct simcfg_ctx *c, const char *key, unsigned line,
		       const char *pdev, const struct simcfg_vdev *vd,
		       unsigned *index)
{
	const struct simcfg_target *t;

	t = target_named(c->cfg, pdev, c->cfg->nr_targets);
	if (t) {
		*index = (unsigned)(t - c->cfg->targets);
		return 0;
	}
	/* A mistyped target name must not become an image path. */
	if (!strchr(pdev, '/') && !strchr(pdev, '.'))
		return simcfg_fail(c, line, key,
				   "'%.48s': no such target in "
				   "sim_scsi_targets (an image path needs a "
				   "'/' or a '.')",
				   pdev);
	return implicit_target(c, key, line, pdev, vd, index);
}

int simcfg_vdev_arg(struct simcfg_ctx *c, const char *key, unsigned line,
		    const char *s, struct simcfg_vdev *vd)
{
	const char *why;

	if (simcfg_parse_vdev(s, vd) < 0)
		return simcfg_fail(c, line, key,
				   "'%.48s': want VDEV h:c:t:l (decimal, "
				   "each 0 to 65535)",
				   s);
	why = simcfg_vdev_check(vd);
	if (why)
		return simcfg_fail(c, line, key, "'%.48s': %s", s, why);
	return 0;
}

bool simcfg_vdev_eq(const struct simcfg_vdev *a, const struct simcfg_vdev *b)
{
	return a->host == b->host && a->channel == b->channel &&
	       a->id == b->id && a->lun == b->lun;
}

static int lun_unique(struct simcfg_ctx *c, const char *key, unsigned line,
		      const struct simcfg_lun *lun)
{
	const struct simcfg *cfg = c->cfg;

	for (unsigned i = 0; i + 1 < cfg->nr_luns; i++) {
		const struct simcfg_lun *o = &cfg->luns[i];

		if (simcfg_vdev_eq(&o->vdev, &lun->vdev))
			return simcfg_fail(c, line, key,
					   "VDEV %u:%u:%u:%u already used at "
					   "line %u",
					   lun->vdev.host, lun->vdev.channel,
					   lun->vdev.id, lun->vdev.lun,
					   o->line);
		if (o->target == lun->target)
			return simcfg_fail(
			    c, line, key, "target '%s' already at line %u",
			    cfg->targets[lun->target].name, o->line);
	}
	return 0;
}

static int vscsi_item(struct simcfg_ctx *c, const char *key, unsigned line,
		      char *item)
{
	struct simcfg_lun *lun = &c->cfg->luns[c->cfg->nr_luns];
	char *comma = strchr(item, ','), *pdev, *vdev;

	if (!comma)
		return simcfg_fail(c, line, key, "want 'PDEV, VDEV'");
	*comma = '\0';
	pdev = simcfg_trim(item);
	vdev = simcfg_trim(comma + 1);
	if (strchr(vdev, ','))
		return simcfg_fail(c, line, key,
				   "only 'PDEV, VDEV': no further fields");
	if (!*pdev)
		return simcfg_fail(c, line, key, "empty PDEV");
	if (simcfg_vdev_arg(c, key, line, vdev, &lun->vdev) < 0 ||
	    pdev_target(c, key, line, pdev, &lun->vdev, &lun->target) < 0)
		return -1;
	lun->line = line;
	c->cfg->nr_luns++;
	return lun_unique(c, key, line, lun);
}

int simcfg_key_vscsi(struct simcfg_ctx *c, const struct simcfg_key *k,
		     const char *key)
{
	c->cfg->luns =
	    calloc(simcfg_list_len(c, key) + 1, sizeof(*c->cfg->luns));
	if (!c->cfg->luns)
		return simcfg_fail(c, k->line, key, "out of memory");
	if (simcfg_each_item(c, k, key, vscsi_item) < 0)
		return -1;
	return images_unique(c, key);
}
