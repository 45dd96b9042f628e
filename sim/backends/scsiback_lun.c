/*
 * The scsiback model's LUN translations: the hotplug passes over
 * vscsi-devs (scsiback_do_lun_hotplug), strict parsing of p-dev and v-dev,
 * and the REPORT LUNS answer built from the translation table.
 */
#include "scsiback_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#define SB_PDEV_LUNS  512u /* TRANSPORT_MAX_LUNS_PER_TPG */
#define SB_WWN_DIGITS 16u  /* naa.<hex>: at most a 64-bit WWN */
#define SB_LUNS_MAX   256u /* REPORT LUNS entries per (channel, id) */

/* ---- parsing ------------------------------------------------------------- */

/* Decimal digits only, no sign or space, value <= max. */
bool sb_parse_uint(const char *s, unsigned long long max,
		   unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!*p)
		return false;
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* n decimal fields separated by ':' (copy of s split in place). */
static bool sb_parse_fields(const char *s, unsigned n, unsigned long long max,
			    unsigned long long *f)
{
	char buf[SB_ENT_MAX];
	char *p = buf, *colon;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (unsigned i = 0; i < n; i++) {
		colon = strchr(p, ':');
		if ((i + 1 < n) != (colon != NULL))
			return false;
		if (colon)
			*colon = '\0';
		if (!sb_parse_uint(p, max, &f[i]))
			return false;
		if (colon)
			p = colon + 1;
	}
	return true;
}

/* "h:c:t:l"; channel, id and lun must fit the request's 16-bit fields. */
static bool sb_parse_vdev(const char *s, struct sb_lun *l)
{
	unsigned long long f[4];

	if (!sb_parse_fields(s, 4, UINT32_MAX, f) || f[1] > UINT16_MAX ||
	    f[2] > UINT16_MAX || f[3] > UINT16_MAX)
		return false;
	l->chn = (uint16_t)f[1];
	l->tgt = (uint16_t)f[2];
	l->lun = (uint16_t)f[3];
	return true;
}

static bool sb_is_wwn(const char *s, size_t len)
{
	if (len <= 4 || len - 4 > SB_WWN_DIGITS || strncmp(s, "naa.", 4))
		return false;
	for (size_t i = 4; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* "h:c:t:l" or "naa.<wwn>:<lun>", lun < 512. */
static bool sb_pdev_valid(const char *s)
{
	unsigned long long f[4], lun;
	const char *colon = strrchr(s, ':');

	if (!colon || !sb_parse_uint(colon + 1, SB_PDEV_LUNS - 1, &lun))
		return false;
	if (sb_is_wwn(s, (size_t)(colon - s)))
		return true;
	return sb_parse_fields(s, 4, UINT32_MAX, f);
}

/* ---- the table ----------------------------------------------------------- */

struct sb_lun *sb_lun_find(struct scsiback *sb, unsigned chn, unsigned tgt,
			   unsigned lun)
{
	for (struct sb_lun *l = sb->luns; l; l = l->next)
		if (l->chn == chn && l->tgt == tgt && l->lun == lun)
			return l;
	return NULL;
}

void sb_luns_free(struct scsiback *sb)
{
	while (sb->luns) {
		struct sb_lun *l = sb->luns;

		sb->luns = l->next;
		free(l);
	}
}

/* Tell the other LUNs of (channel, id) that the inventory changed. */
static void sb_lun_announce(struct scsiback *sb, const struct sb_lun *added)
{
	for (struct sb_lun *l = sb->luns; l; l = l->next)
		if (l != added && l->chn == added->chn && l->tgt == added->tgt)
			/* 3Fh/0Eh: REPORTED LUNS DATA HAS CHANGED */
			sim_scsi_target_unit_attention(l->target, 0x3f, 0x0e);
}

/* scsiback_add_translation_entry: -EINVAL, -ENODEV or -EEXIST. */
static int sb_lun_add(struct scsiback *sb, const char *pdev,
		      const struct sb_lun *v, bool hot)
{
	struct sim_scsi_target *t;
	struct sb_lun *l, **tail = &sb->luns;

	if (!sb_pdev_valid(pdev))
		return -EINVAL;
	t = sb->cfg.lookup(sb->cfg.lookup_arg, pdev);
	if (!t)
		return -ENODEV;
	if (sb_lun_find(sb, v->chn, v->tgt, v->lun))
		return -EEXIST;
	while (*tail)
		tail = &(*tail)->next;
	l = sim_xcalloc(1, sizeof(*l));
	*l = *v;
	l->next = NULL;
	l->target = t;
	*tail = l;
	if (hot)
		sb_lun_announce(sb, l);
	return 0;
}

static bool sb_lun_del(struct scsiback *sb, const struct sb_lun *v)
{
	for (struct sb_lun **pp = &sb->luns; *pp; pp = &(*pp)->next) {
		struct sb_lun *l = *pp;

		if (l->chn == v->chn && l->tgt == v->tgt && l->lun == v->lun) {
			*pp = l->next;
			free(l);
			return true;
		}
	}
	return false;
}

/* ---- hotplug passes ------------------------------------------------------ */

/* vscsi-devs/<ent>/<key>, read; NULL if absent. */
static char *sb_dev_read(struct scsiback *sb, const char *ent, const char *key)
{
	char p[SB_PATH_MAX + 2 * SB_ENT_MAX];

	if (snprintf(p, sizeof(p), "%s/vscsi-devs/%s/%s", sb->path, ent, key) >=
	    (int)sizeof(p))
		return NULL;
	return xs_read(sb->xs, XBT_NULL, p, NULL);
}

static int sb_dev_state(struct scsiback *sb, const char *ent, int state)
{
	char rel[2 * SB_ENT_MAX], val[16];

	snprintf(rel, sizeof(rel), "vscsi-devs/%s/state", ent);
	snprintf(val, sizeof(val), "%d", state);
	return sb_write_key(sb, rel, val);
}

static void sb_dev_add(struct scsiback *sb, const char *ent, const char *pdev,
		       const struct sb_lun *v, bool silent, bool hot)
{
	if (sb_lun_add(sb, pdev, v, hot && !silent) == 0) {
		if (sb_dev_state(sb, ent, XenbusStateInitialised))
			sb_lun_del(sb, v);
	} else if (!silent) {
		sb_dev_state(sb, ent, XenbusStateClosed);
	}
}

/* scsiback_do_1lun_hotplug. */
static void sb_dev_one(struct scsiback *sb, enum sb_pass op, const char *ent,
		       bool hot)
{
	unsigned long long state;
	struct sb_lun v = {0};
	char *val = sb_dev_read(sb, ent, "state"), *pdev, *vdev;
	bool ok = val && sb_parse_uint(val, INT32_MAX, &state);

	free(val);
	if (!ok)
		return;
	pdev = sb_dev_read(sb, ent, "p-dev");
	vdev = pdev ? sb_dev_read(sb, ent, "v-dev") : NULL;
	if (!pdev || !vdev || !sb_parse_vdev(vdev, &v)) {
		sb_dev_state(sb, ent, XenbusStateClosed);
	} else if (op == SB_PASS_ADD_OR_DEL) {
		if (state == XenbusStateInitialising)
			sb_dev_add(sb, ent, pdev, &v, false, hot);
		else if (state == XenbusStateConnected)
			sb_dev_add(sb, ent, pdev, &v, true, hot);
		else if (state == XenbusStateClosing && sb_lun_del(sb, &v))
			sb_dev_state(sb, ent, XenbusStateClosed);
	} else if (state == XenbusStateInitialised &&
		   sb_dev_state(sb, ent, XenbusStateConnected)) {
		sb_lun_del(sb, &v);
		sb_dev_state(sb, ent, XenbusStateClosed);
	}
	free(pdev);
	free(vdev);
}

void sb_lun_pass(struct scsiback *sb, enum sb_pass op, bool hot)
{
	char p[SB_PATH_MAX + 16];
	char **names;
	unsigned n = 0;

	snprintf(p, sizeof(p), "%s/vscsi-devs", sb->path);
	names = xs_directory(sb->xs, XBT_NULL, p, &n);
	if (!names)
		n = 0;
	for (unsigned i = 0; i < n && i < SB_DEVS_MAX; i++) {
		if (strlen(names[i]) < SB_ENT_MAX)
			sb_dev_one(sb, op, names[i], hot);
		sb_inject_bad_state(sb);
	}
	if (op == SB_PASS_ADD_OR_DEL)
		sb_inject_bogus_dev(sb, names, n);
	free(names);
}

/* ---- REPORT LUNS --------------------------------------------------------- */

static int sb_lun_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* An 8-byte LUN: peripheral (< 256) or flat space addressing (SAM-5). */
static void sb_lun_encode(uint8_t *e, uint16_t lun)
{
	memset(e, 0, 8);
	if (lun < 256) {
		e[1] = (uint8_t)lun;
	} else {
		e[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		e[1] = (uint8_t)lun;
	}
}

void sb_report_luns(struct scsiback *sb, const struct sb_req *req,
		    uint8_t *data, uint32_t len, struct sim_scsi_result *res)
{
	const uint8_t *cdb = req->rq.cmnd;
	uint16_t luns[SB_LUNS_MAX];
	uint8_t out[8 + 8 * SB_LUNS_MAX] = {0};
	uint32_t alloc, n = 0, size;

	memset(res, 0, sizeof(*res));
	alloc = (uint32_t)cdb[6] << 24 | (uint32_t)cdb[7] << 16 |
		(uint32_t)cdb[8] << 8 | cdb[9];
	if (req->rq.cmd_len < 12 || alloc < 16) {
		res->status = SIM_SCSI_CHECK_CONDITION;
		/* 24h/00h: INVALID FIELD IN CDB */
		res->sense_len = sim_scsi_sense_fixed(
		    res->sense, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	for (struct sb_lun *l = sb->luns; l && n < SB_LUNS_MAX; l = l->next)
		if (l->chn == req->rq.channel && l->tgt == req->rq.id)
			luns[n++] = l->lun;
	qsort(luns, n, sizeof(luns[0]), sb_lun_cmp);
	out[0] = (uint8_t)((8 * n) >> 24);
	out[1] = (uint8_t)((8 * n) >> 16);
	out[2] = (uint8_t)((8 * n) >> 8);
	out[3] = (uint8_t)(8 * n);
	for (uint32_t i = 0; i < n; i++)
		sb_lun_encode(out + 8 + 8 * i, luns[i]);
	size = 8 + 8 * n;
	if (size > alloc)
		size = alloc;
	if (size > len)
		size = len;
	if (size) /* no data buffer at all when the command moves none */
		memcpy(data, out, size);
	res->status = SIM_SCSI_GOOD;
	res->transferred = size;
	sb->st.report_luns++;
}
