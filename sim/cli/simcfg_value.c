/*
 * Value parsers of the configuration reader: numbers, durations, sizes,
 * SCSI addresses and "k=v, k=v" fields. Every parser takes a whole string
 * and refuses trailing junk, signs, spaces inside and overflow, because
 * each value is hostile input.
 */
#include <string.h>

#include "simcfg.h"
#include "simcfg_impl.h"

/* Reads one or more decimal digits; -1 on none or beyond UINT64_MAX. */
static int leading_u64(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return 0;
}

int simcfg_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (leading_u64(&s, &v) < 0 || *s != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int simcfg_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return -1;
	*out = s[0] == '1';
	return 0;
}

static int scale(uint64_t v, uint64_t unit, uint64_t *out)
{
	if (v > UINT64_MAX / unit)
		return -1;
	*out = v * unit;
	return 0;
}

int simcfg_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", 1000},
	    {"ms", 1000000},
	    {"s", 1000000000},
	};
	uint64_t v;

	if (leading_u64(&s, &v) < 0)
		return -1;
	/* A bare number is ambiguous (xl uses seconds, traces nanoseconds),
	 * so only zero may go without a unit. */
	if (*s == '\0' && v == 0) {
		*ns = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, units[i].suffix) == 0)
			return scale(v, units[i].ns, ns);
	return -1;
}

int simcfg_parse_size(const char *s, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *at;
	uint64_t v;
	char c;

	if (leading_u64(&s, &v) < 0)
		return -1;
	if (*s == '\0') {
		*bytes = v;
		return 0;
	}
	c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
	at = strchr(suffixes, c);
	if (!at || s[1] != '\0')
		return -1;
	return scale(v, 1ull << (10 * (at - suffixes + 1)), bytes);
}

static int vdev_field(const char **s, char end, uint16_t *out)
{
	uint64_t v;

	if (leading_u64(s, &v) < 0 || v > UINT16_MAX || **s != end)
		return -1;
	if (end)
		(*s)++;
	*out = (uint16_t)v;
	return 0;
}

int simcfg_parse_vdev(const char *s, struct simcfg_vdev *vdev)
{
	struct simcfg_vdev v;

	if (vdev_field(&s, ':', &v.host) < 0 ||
	    vdev_field(&s, ':', &v.channel) < 0 ||
	    vdev_field(&s, ':', &v.id) < 0 || vdev_field(&s, '\0', &v.lun) < 0)
		return -1;
	*vdev = v;
	return 0;
}

const char *simcfg_vdev_check(const struct simcfg_vdev *vdev)
{
	/* The limits Linux scsifront registers its host with (max_id 64,
	 * max_lun 255), which our frontend shares. */
	if (vdev->id >= 64)
		return "target id must be below 64";
	if (vdev->lun >= 255)
		return "LUN must be below 255";
	return NULL;
}

char *simcfg_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

bool simcfg_next_field(char **cursor, char **key, char **value)
{
	char *s = *cursor, *comma, *eq;

	if (!s)
		return false;
	comma = strchr(s, ',');
	if (comma)
		*comma = '\0';
	*cursor = comma ? comma + 1 : NULL;
	eq = strchr(s, '=');
	if (eq)
		*eq = '\0';
	*value = eq ? simcfg_trim(eq + 1) : NULL;
	*key = simcfg_trim(s);
	return true;
}

const char *simcfg_action_name(enum simcfg_action a)
{
	static const char *const names[] = {
	    [SIMCFG_LUN_ADD] = "lun-add",
	    [SIMCFG_LUN_REMOVE] = "lun-remove",
	    [SIMCFG_FAULTS] = "faults",
	    [SIMCFG_SUSPEND] = "suspend",
	    [SIMCFG_CLOSE] = "close",
	    [SIMCFG_DESTROY] = "destroy",
	    [SIMCFG_USB_ATTACH] = "usb-attach",
	    [SIMCFG_USB_DETACH] = "usb-detach",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *simcfg_pattern_name(enum simcfg_pattern p)
{
	static const char *const names[] = {
	    [SIMCFG_RANDRW] = "randrw",
	    [SIMCFG_RANDREAD] = "randread",
	    [SIMCFG_RANDWRITE] = "randwrite",
	    [SIMCFG_SEQREAD] = "seqread",
	    [SIMCFG_SEQWRITE] = "seqwrite",
	    [SIMCFG_SEQRW] = "seqrw",
	    [SIMCFG_ABORT_RESET] = "abort-reset",
	};

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

void simcfg_target_config(const struct simcfg_target *t,
			  struct sim_scsi_target_config *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = t->kind;
	out->image = t->image;
	/* The device model creates disk images only; a missing CD-ROM image
	 * is the caller's to create (zero-filled, t->size bytes). */
	out->create_size = t->kind == SIM_SCSI_DISK ? t->size : 0;
	out->block_size = t->block_size;
	out->read_only = t->read_only;
	out->vendor = t->vendor[0] ? t->vendor : NULL;
	out->product = t->product[0] ? t->product : NULL;
	out->serial = t->serial[0] ? t->serial : NULL;
}
