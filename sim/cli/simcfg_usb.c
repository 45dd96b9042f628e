/*
 * The PVUSB keys: controllers (usbctrl) and the devices on their ports
 * (usbdev), in xl's syntax (xl.cfg(5)), and the simulated host devices
 * those name (sim_usb_devices). The port bookkeeping here places a usbdev
 * entry and, when simcfg_events.c plays the timeline, each usb-attach and
 * usb-detach, so both follow one set of rules.
 *
 * Entries are read in two steps: every field's text is collected first,
 * then checked in a fixed order, so rules between fields (what a class
 * takes, a block that must be a multiple of block_size) do not depend on
 * the order the fields were written in. A new device class is a row of
 * usb_classes[] and its enum value in simcfg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "simcfg.h"
#include "simcfg_impl.h"

#define F(x)		(1u << (x))
#define IMAGE_MAX_BYTES (16ull << 40) /* as sim_scsi_targets: 16T */
#define KiB		1024u
#define MS		1000000ull

/* Stores each field's text (pointing into the item) for a later pass. */
static int collect_field(struct simcfg_ctx *c, const char *key, unsigned line,
			 void *obj, unsigned field, const char *v)
{
	const char **vals = obj;

	(void)c, (void)key, (void)line;
	vals[field] = v;
	return 0;
}

static int collect(struct simcfg_ctx *c, const char *key, unsigned line,
		   char *item, const char *const *names, unsigned nr,
		   const char **vals)
{
	unsigned seen;

	memset(vals, 0, nr * sizeof(*vals));
	return simcfg_each_field(c, key, line, item, names, nr, collect_field,
				 (void *)vals, &seen);
}

/* Decimal min..max. */
static bool in_range(const char *v, uint64_t min, uint64_t max, uint64_t *n)
{
	return simcfg_parse_u64(v, max, n) == 0 && *n >= min;
}

static int ctrl_index(const struct simcfg *cfg, uint16_t devid)
{
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++)
		if (cfg->usbctrls[i].devid == devid)
			return (int)i;
	return -1;
}

/* ---- usbctrl ------------------------------------------------------------ */

enum { C_TYPE, C_VERSION, C_PORTS, C_DEVID, C__COUNT };
static const char *const ctrl_fields[] = {"type", "version", "ports", "devid"};

static int ctrl_type(struct simcfg_ctx *c, const char *key, unsigned line,
		     const char *v)
{
	/* xl's auto picks qusb when QEMU can serve it, as here. */
	if (!v || strcmp(v, "qusb") == 0 || strcmp(v, "auto") == 0)
		return 0;
	if (strcmp(v, "pv") == 0 || strcmp(v, "devicemodel") == 0)
		return simcfg_fail(c, line, key,
				   "type: '%s': only qusb is simulated (the "
				   "QEMU backend)",
				   v);
	return simcfg_fail(c, line, key, "type: '%.48s': want qusb or auto", v);
}

static int ctrl_item(struct simcfg_ctx *c, const char *key, unsigned line,
		     char *item)
{
	struct simcfg *cfg = c->cfg;
	struct simcfg_usbctrl *u = &cfg->usbctrls[cfg->nr_usbctrls];
	const char *v[C__COUNT];
	uint64_t n;

	if (collect(c, key, line, item, ctrl_fields, C__COUNT, v) < 0 ||
	    ctrl_type(c, key, line, v[C_TYPE]) < 0)
		return -1;
	u->line = line;
	u->version = 2;
	u->ports = 8;
	if (v[C_VERSION]) {
		if (!in_range(v[C_VERSION], 1, 2, &n))
			return simcfg_fail(c, line, key,
					   "version: '%.48s': want 1 or 2",
					   v[C_VERSION]);
		u->version = (uint8_t)n;
	}
	if (v[C_PORTS]) {
		if (!in_range(v[C_PORTS], 1, SIMCFG_USB_PORTS_MAX, &n))
			return simcfg_fail(c, line, key,
					   "ports: '%.48s': want 1 to %d",
					   v[C_PORTS], SIMCFG_USB_PORTS_MAX);
		u->ports = (uint8_t)n;
	}
	if (v[C_DEVID]) {
		if (simcfg_parse_u64(v[C_DEVID], UINT16_MAX, &n) < 0)
			return simcfg_fail(c, line, key,
					   "devid: '%.48s': want 0 to 65535",
					   v[C_DEVID]);
		u->devid = (uint16_t)n;
	}
	c->usbctrl_devid_given[cfg->nr_usbctrls++] = v[C_DEVID] != NULL;
	return 0;
}

/* The first entry with an explicit devid equal to an earlier one's. */
static int devid_twice(struct simcfg_ctx *c, const char *key)
{
	const struct simcfg *cfg = c->cfg;
	const bool *given = c->usbctrl_devid_given;
	uint8_t seen[(UINT16_MAX + 1) / 8];

	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++) {
		uint16_t devid = cfg->usbctrls[i].devid;

		if (!given[i])
			continue;
		if (!(seen[devid / 8] & (1u << devid % 8))) {
			seen[devid / 8] |= (uint8_t)(1u << devid % 8);
			continue;
		}
		for (unsigned j = 0; j < i; j++)
			if (given[j] && cfg->usbctrls[j].devid == devid)
				return simcfg_fail(
				    c, cfg->usbctrls[i].line, key,
				    "devid: %u already used by "
				    "the usbctrl at line %u",
				    devid, cfg->usbctrls[j].line);
	}
	return 0;
}

/* Explicit devids first, so that an entry without one never takes a
 * number a later entry asks for: those get the lowest unused devids, in
 * file order. */
static int ctrl_devids(struct simcfg_ctx *c, const char *key)
{
	struct simcfg *cfg = c->cfg;
	const bool *given = c->usbctrl_devid_given;
	uint8_t used[SIMCFG_LIST_MAX];
	unsigned next = 0;

	if (devid_twice(c, key) < 0)
		return -1;
	/* At most SIMCFG_LIST_MAX controllers: a devid below that is
	 * always free, so only those need marking. */
	memset(used, 0, sizeof(used));
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++)
		if (given[i] && cfg->usbctrls[i].devid < SIMCFG_LIST_MAX)
			used[cfg->usbctrls[i].devid] = 1;
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++) {
		if (given[i])
			continue;
		while (used[next])
			next++;
		SIM_ASSERT(next < SIMCFG_LIST_MAX);
		used[next] = 1;
		cfg->usbctrls[i].devid = (uint16_t)next;
	}
	return 0;
}

int simcfg_key_usbctrl(struct simcfg_ctx *c, const struct simcfg_key *k,
		       const char *key)
{
	unsigned n = simcfg_list_len(c, key);
	int rc;

	c->cfg->usbctrls = calloc(n + 1, sizeof(*c->cfg->usbctrls));
	c->usbctrl_devid_given = calloc(n + 1, sizeof(bool));
	if (!c->cfg->usbctrls || !c->usbctrl_devid_given)
		rc = simcfg_fail(c, k->line, key, "out of memory");
	else
		rc = simcfg_each_item(c, k, key, ctrl_item);
	if (rc == 0)
		rc = ctrl_devids(c, key);
	free(c->usbctrl_devid_given);
	c->usbctrl_devid_given = NULL;
	return rc;
}

/* ---- sim_usb_devices ---------------------------------------------------- */

enum {
	D_NAME,
	D_HOSTBUS,
	D_HOSTADDR,
	D_CLASS,
	D_SPEED,
	D_IMAGE,
	D_SIZE,
	D_BLOCK_SIZE,
	D_READ_ONLY,
	D_KEYS,
	D_KEYS_AT,
	D_KEY_INTERVAL,
	D_MOVES,
	D_PATTERN,
	D_BLOCK,
	D_OPS,
	D_VERIFY,
	D_CAPTURE,
	D_CAPTURE_DEVICE,
	D_CAPTURE_TIMING,
	D__COUNT
};
static const char *const device_fields[] = {
    "name",	  "hostbus",	    "hostaddr",	      "class",
    "speed",	  "image",	    "size",	      "block_size",
    "read_only",  "keys",	    "keys_at",	      "key_interval",
    "moves",	  "pattern",	    "block",	      "ops",
    "verify",	  "capture",	    "capture_device", "capture_timing",
};

#define COMMON_FIELDS                                                          \
	(F(D_NAME) | F(D_HOSTBUS) | F(D_HOSTADDR) | F(D_CLASS) | F(D_SPEED))
#define WORK_FIELDS (F(D_BLOCK) | F(D_OPS) | F(D_VERIFY))
#define HID_FIELDS  (F(D_KEYS_AT) | F(D_KEY_INTERVAL))

#define SPEEDS_ALL                                                             \
	(F(SIM_USB_SPEED_LOW) | F(SIM_USB_SPEED_FULL) | F(SIM_USB_SPEED_HIGH))
#define SPEEDS_FULL_HIGH (F(SIM_USB_SPEED_FULL) | F(SIM_USB_SPEED_HIGH))

/* What each class takes. block is in bytes, audio's in packets. */
static const struct usb_class_def {
	const char *name;
	unsigned fields; /* beyond COMMON_FIELDS */
	unsigned speeds; /* F(enum sim_usb_speed) */
	enum sim_usb_speed speed_default;
	const char *speed_why; /* why the others are refused */
	uint32_t block_min, block_max, block_default;
	uint64_t ops_default;
} usb_classes[] = {
    [SIMCFG_USB_STORAGE] =
	{
	    .name = "storage",
	    .fields = F(D_IMAGE) | F(D_SIZE) | F(D_BLOCK_SIZE) |
		      F(D_READ_ONLY) | F(D_PATTERN) | WORK_FIELDS,
	    .speeds = SPEEDS_FULL_HIGH,
	    .speed_default = SIM_USB_SPEED_HIGH,
	    .speed_why = "low speed has no bulk endpoints",
	    .block_min = 512,
	    .block_max = 1024 * KiB,
	    .block_default = 64 * KiB,
	    .ops_default = 32,
	},
    [SIMCFG_USB_KEYBOARD] =
	{
	    .name = "keyboard",
	    .fields = F(D_KEYS) | HID_FIELDS,
	    .speeds = SPEEDS_ALL,
	    .speed_default = SIM_USB_SPEED_FULL,
	},
    [SIMCFG_USB_MOUSE] =
	{
	    .name = "mouse",
	    .fields = F(D_MOVES) | HID_FIELDS,
	    .speeds = SPEEDS_ALL,
	    .speed_default = SIM_USB_SPEED_FULL,
	},
    [SIMCFG_USB_SERIAL] =
	{
	    .name = "serial",
	    .fields = WORK_FIELDS,
	    .speeds = SPEEDS_FULL_HIGH,
	    .speed_default = SIM_USB_SPEED_HIGH,
	    .speed_why = "low speed has no bulk endpoints",
	    .block_min = 1,
	    .block_max = 4096,
	    .block_default = 512,
	    .ops_default = 16,
	},
    [SIMCFG_USB_ETHERNET] =
	{
	    .name = "ethernet",
	    .fields = WORK_FIELDS,
	    .speeds = SPEEDS_FULL_HIGH,
	    .speed_default = SIM_USB_SPEED_HIGH,
	    .speed_why = "low speed has no bulk endpoints",
	    .block_min = 14, /* an Ethernet header */
	    .block_max = 1514,
	    .block_default = 1514,
	    .ops_default = 16,
	},
    [SIMCFG_USB_AUDIO] =
	{
	    .name = "audio",
	    .fields = WORK_FIELDS,
	    .speeds = SPEEDS_FULL_HIGH,
	    .speed_default = SIM_USB_SPEED_HIGH,
	    .speed_why = "low speed has no isochronous endpoints",
	    .block_min = 1,
	    .block_max = 32,
	    .block_default = 8,
	    .ops_default = 8,
	},
    /* Whatever the real device was: block and ops go to the class the
     * guest binds (simcfg_usb_capture_binding), so here a block is only
     * a size; 0 is "not given". */
    [SIMCFG_USB_CAPTURE] =
	{
	    .name = "capture",
	    .fields = F(D_CAPTURE) | F(D_CAPTURE_DEVICE) |
		      F(D_CAPTURE_TIMING) | F(D_PATTERN) | F(D_BLOCK) |
		      F(D_OPS),
	    .speeds = SPEEDS_ALL,
	    .speed_default = 0,
	    .block_min = 1,
	    .block_max = 1024 * KiB,
	},
};

#define NR_CLASSES (sizeof(usb_classes) / sizeof(usb_classes[0]))

const char *simcfg_usb_class_name(enum simcfg_usb_class cls)
{
	return (unsigned)cls < NR_CLASSES ? usb_classes[cls].name : "?";
}

static const char *const speed_names[] = {
    [SIM_USB_SPEED_LOW] = "low",
    [SIM_USB_SPEED_FULL] = "full",
    [SIM_USB_SPEED_HIGH] = "high",
};

static int device_class(struct simcfg_ctx *c, const char *key, unsigned line,
			struct simcfg_usb_device *d, const char *v)
{
	for (unsigned i = 0; i < NR_CLASSES; i++)
		if (strcmp(v, usb_classes[i].name) == 0) {
			d->cls = (enum simcfg_usb_class)i;
			return 0;
		}
	return simcfg_fail(c, line, key,
			   "class: '%.48s': want storage, keyboard, mouse, "
			   "serial, ethernet, audio or capture",
			   v);
}

static int device_speed(struct simcfg_ctx *c, const char *key, unsigned line,
			struct simcfg_usb_device *d, const char *v)
{
	const struct usb_class_def *cd = &usb_classes[d->cls];

	d->speed = cd->speed_default;
	if (!v)
		return 0;
	for (unsigned s = SIM_USB_SPEED_LOW; s <= SIM_USB_SPEED_HIGH; s++) {
		if (strcmp(v, speed_names[s]) != 0)
			continue;
		if (!(cd->speeds & F(s)))
			return simcfg_fail(c, line, key,
					   "speed: %s: not for class %s (%s)",
					   v, cd->name, cd->speed_why);
		d->speed = (enum sim_usb_speed)s;
		return 0;
	}
	return simcfg_fail(c, line, key,
			   "speed: '%.48s': want low, full or high", v);
}

/* hostbus= and hostaddr=, both required (what prefixes messages). */
static int bus_address(struct simcfg_ctx *c, const char *key, unsigned line,
		       const char *what, const char *bus_v, const char *addr_v,
		       uint8_t *bus, uint8_t *addr)
{
	uint64_t n;

	if (!bus_v || !addr_v)
		return simcfg_fail(c, line, key, "%s%s= missing", what,
				   bus_v ? "hostaddr" : "hostbus");
	if (!in_range(bus_v, 1, 255, &n))
		return simcfg_fail(c, line, key,
				   "%shostbus: '%.48s': want 1 to 255", what,
				   bus_v);
	*bus = (uint8_t)n;
	if (!in_range(addr_v, 1, 127, &n))
		return simcfg_fail(c, line, key,
				   "%shostaddr: '%.48s': want 1 to 127", what,
				   addr_v);
	*addr = (uint8_t)n;
	return 0;
}

/* The SCSI serial of the medium: the name if it fits, else its start and
 * a hash of the whole, so that long names stay apart. */
static void device_serial(struct simcfg_usb_device *d)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	if (strlen(d->name) <= SIMCFG_SERIAL_MAX) {
		strcpy(d->serial, d->name);
		return;
	}
	for (const char *p = d->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(d->serial, sizeof(d->serial), "%.*s-%08x",
		 SIMCFG_SERIAL_MAX - 9, d->name, h);
}

/* A USB stick sharing an image with a SCSI target or another stick would
 * see writes behind its back (paths compared as written). */
static int image_unique(struct simcfg_ctx *c, const char *key, unsigned line,
			const struct simcfg_usb_device *d)
{
	const struct simcfg *cfg = c->cfg;

	for (unsigned i = 0; i < cfg->nr_targets; i++)
		if (strcmp(cfg->targets[i].image, d->image) == 0)
			return simcfg_fail(c, line, key,
					   "image '%.64s' already used by the "
					   "SCSI target at line %u",
					   d->image, cfg->targets[i].line);
	for (const struct simcfg_usb_device *o = cfg->usb_devices; o < d; o++)
		if (o->cls == SIMCFG_USB_STORAGE && o->image &&
		    strcmp(o->image, d->image) == 0)
			return simcfg_fail(c, line, key,
					   "image '%.64s' already used by the "
					   "USB device at line %u",
					   d->image, o->line);
	return 0;
}

static int device_medium(struct simcfg_ctx *c, const char *key, unsigned line,
			 struct simcfg_usb_device *d, const char **v)
{
	uint64_t n;

	if (!v[D_IMAGE])
		return simcfg_fail(c, line, key,
				   "image= missing (a storage device's "
				   "medium)");
	d->image = simcfg_resolve(c, key, line, v[D_IMAGE]);
	if (!d->image || image_unique(c, key, line, d) < 0)
		return -1;
	d->block_size = 512;
	if (v[D_BLOCK_SIZE]) {
		if (simcfg_parse_u64(v[D_BLOCK_SIZE], 4096, &n) < 0 ||
		    (n != 512 && n != 4096))
			return simcfg_fail(c, line, key,
					   "block_size: '%.48s': want 512 or "
					   "4096",
					   v[D_BLOCK_SIZE]);
		d->block_size = (uint32_t)n;
	}
	if (v[D_SIZE] && (simcfg_parse_size(v[D_SIZE], &d->size) < 0 ||
			  d->size == 0 || d->size > IMAGE_MAX_BYTES))
		return simcfg_fail(c, line, key,
				   "size: '%.48s': want 1 byte to 16T "
				   "(suffix K, M, G or T)",
				   v[D_SIZE]);
	if (d->size % d->block_size)
		return simcfg_fail(c, line, key,
				   "size: not a multiple of block_size %u",
				   d->block_size);
	if (v[D_READ_ONLY] && simcfg_parse_bool(v[D_READ_ONLY], &d->read_only))
		return simcfg_fail(c, line, key,
				   "read_only: '%.48s': want 0 or 1",
				   v[D_READ_ONLY]);
	device_serial(d);
	return 0;
}

static int device_pattern(struct simcfg_ctx *c, const char *key, unsigned line,
			  struct simcfg_usb_device *d, const char *v)
{
	d->pattern = SIMCFG_SEQRW;
	if (!v)
		return 0;
	/* The SCSI workloads' names; abort-reset has no BOT counterpart. */
	for (int p = SIMCFG_RANDRW; p <= SIMCFG_SEQRW; p++)
		if (strcmp(v, simcfg_pattern_name(p)) == 0) {
			d->pattern = (enum simcfg_pattern)p;
			return 0;
		}
	return simcfg_fail(c, line, key,
			   "pattern: '%.48s': want seqread, seqwrite, seqrw, "
			   "randread, randwrite or randrw",
			   v);
}

/* keys_at: any time; key_interval: 1ms or more (the shortest interval
 * a full-speed interrupt endpoint is polled at: faster keys would merge). */
static int device_duration(struct simcfg_ctx *c, const char *key, unsigned line,
			   const char *field, const char *v, uint64_t min_ns,
			   uint64_t *ns)
{
	if (!v)
		return 0;
	if (simcfg_parse_duration(v, ns) < 0 || *ns < min_ns)
		return simcfg_fail(c, line, key, "%s: '%.48s': want %s", field,
				   v,
				   min_ns ? "a duration of 1ms or more"
					  : "a duration (e.g. 0, 100ms)");
	return 0;
}

/* keyboard and mouse: what is typed or moved, and when. */
static int device_input(struct simcfg_ctx *c, const char *key, unsigned line,
			struct simcfg_usb_device *d, const char **v)
{
	uint64_t n;
	size_t len;

	d->keys_at_ns = 100 * MS;
	d->key_interval_ns = 20 * MS;
	if (device_duration(c, key, line, "keys_at", v[D_KEYS_AT], 0,
			    &d->keys_at_ns) < 0 ||
	    device_duration(c, key, line, "key_interval", v[D_KEY_INTERVAL], MS,
			    &d->key_interval_ns) < 0)
		return -1;
	if (d->cls == SIMCFG_USB_MOUSE) {
		d->moves = 8;
		if (v[D_MOVES] && !in_range(v[D_MOVES], 1, 1000, &n))
			return simcfg_fail(c, line, key,
					   "moves: '%.48s': want 1 to 1000",
					   v[D_MOVES]);
		if (v[D_MOVES])
			d->moves = (uint32_t)n;
		return 0;
	}
	if (!v[D_KEYS])
		return simcfg_fail(c, line, key,
				   "keys= missing (what the keyboard types)");
	len = strlen(v[D_KEYS]);
	if (len == 0 || len > SIMCFG_USB_KEYS_MAX ||
	    strspn(v[D_KEYS], "abcdefghijklmnopqrstuvwxyz0123456789 ") != len)
		return simcfg_fail(c, line, key,
				   "keys: '%.48s': want 1 to %d of a-z, 0-9 "
				   "and space",
				   v[D_KEYS], SIMCFG_USB_KEYS_MAX);
	memcpy(d->keys, v[D_KEYS], len + 1);
	return 0;
}

static int device_block(struct simcfg_ctx *c, const char *key, unsigned line,
			struct simcfg_usb_device *d, const char *v)
{
	const struct usb_class_def *cd = &usb_classes[d->cls];
	bool packets = d->cls == SIMCFG_USB_AUDIO;
	uint64_t n = cd->block_default;

	if (v && ((packets ? simcfg_parse_u64(v, UINT32_MAX, &n)
			   : simcfg_parse_size(v, &n)) < 0 ||
		  n < cd->block_min || n > cd->block_max))
		return simcfg_fail(
		    c, line, key,
		    "block: '%.48s': want %u to %u %s for class %s", v,
		    cd->block_min, cd->block_max, packets ? "packets" : "bytes",
		    cd->name);
	if (d->cls == SIMCFG_USB_STORAGE && n % d->block_size)
		return simcfg_fail(c, line, key,
				   "block: %llu is not a multiple of "
				   "block_size %u",
				   (unsigned long long)n, d->block_size);
	d->block = (uint32_t)n;
	return 0;
}

/* storage, serial, ethernet, audio: the guest's work per binding. */
static int device_work(struct simcfg_ctx *c, const char *key, unsigned line,
		       struct simcfg_usb_device *d, const char **v)
{
	if (device_block(c, key, line, d, v[D_BLOCK]) < 0)
		return -1;
	d->ops = usb_classes[d->cls].ops_default;
	if (v[D_OPS] && !in_range(v[D_OPS], 1, UINT64_MAX, &d->ops))
		return simcfg_fail(c, line, key,
				   "ops: '%.48s': want a count of 1 or more",
				   v[D_OPS]);
	d->verify = true;
	if (v[D_VERIFY] && simcfg_parse_bool(v[D_VERIFY], &d->verify) < 0)
		return simcfg_fail(c, line, key, "verify: '%.48s': want 0 or 1",
				   v[D_VERIFY]);
	return 0;
}

/* capture_device=BUS.ADDR, as usbmon and USBPcap number devices: bus
 * 0 to 65535 (USBPcap's root hub index may be 0), address 0 to 127. */
static int capture_device(struct simcfg_ctx *c, const char *key,
			  unsigned line, struct simcfg_usb_device *d,
			  const char *v)
{
	const char *dot = v ? strchr(v, '.') : NULL;
	char bus[8];
	uint64_t b, a;

	d->capture_bus = d->capture_addr = -1;
	if (!v)
		return 0;
	if (!dot || (size_t)(dot - v) >= sizeof(bus) ||
	    (memcpy(bus, v, (size_t)(dot - v)), bus[dot - v] = 0,
	     simcfg_parse_u64(bus, UINT16_MAX, &b) < 0) ||
	    simcfg_parse_u64(dot + 1, 127, &a) < 0)
		return simcfg_fail(c, line, key,
				   "capture_device: '%.48s': want BUS.ADDR "
				   "(bus 0 to 65535, address 0 to 127)",
				   v);
	d->capture_bus = (int)b;
	d->capture_addr = (int)a;
	return 0;
}

/* A real device from a capture file: the file is the run's to open
 * (a bad one is a set-up error there, with the importer's message). */
static int device_capture(struct simcfg_ctx *c, const char *key,
			  unsigned line, struct simcfg_usb_device *d,
			  const char **v)
{
	if (!v[D_CAPTURE])
		return simcfg_fail(c, line, key,
				   "capture= missing (the capture file)");
	if (!*v[D_CAPTURE])
		return simcfg_fail(c, line, key, "capture: empty path");
	d->image = simcfg_resolve(c, key, line, v[D_CAPTURE]);
	if (!d->image ||
	    capture_device(c, key, line, d, v[D_CAPTURE_DEVICE]) < 0 ||
	    device_pattern(c, key, line, d, v[D_PATTERN]) < 0 ||
	    device_block(c, key, line, d, v[D_BLOCK]) < 0)
		return -1;
	d->capture_timing = true;
	if (v[D_CAPTURE_TIMING] &&
	    simcfg_parse_bool(v[D_CAPTURE_TIMING], &d->capture_timing) < 0)
		return simcfg_fail(c, line, key,
				   "capture_timing: '%.48s': want 0 or 1",
				   v[D_CAPTURE_TIMING]);
	if (v[D_OPS] && !in_range(v[D_OPS], 1, UINT64_MAX, &d->ops))
		return simcfg_fail(c, line, key,
				   "ops: '%.48s': want a count of 1 or more",
				   v[D_OPS]);
	return 0;
}

static int device_unique(struct simcfg_ctx *c, const char *key, unsigned line,
			 const struct simcfg_usb_device *d)
{
	for (const struct simcfg_usb_device *o = c->cfg->usb_devices; o < d;
	     o++) {
		if (strcmp(o->name, d->name) == 0)
			return simcfg_fail(c, line, key,
					   "name: '%s' already declared at "
					   "line %u",
					   d->name, o->line);
		if (o->hostbus == d->hostbus && o->hostaddr == d->hostaddr)
			return simcfg_fail(c, line, key,
					   "hostbus=%u,hostaddr=%u: already "
					   "declared at line %u",
					   d->hostbus, d->hostaddr, o->line);
	}
	return 0;
}

/* Fields given that the class does not take: the first is named. */
static int device_fields_apply(struct simcfg_ctx *c, const char *key,
			       unsigned line, const struct simcfg_usb_device *d,
			       const char **v)
{
	unsigned takes = COMMON_FIELDS | usb_classes[d->cls].fields;

	for (unsigned i = 0; i < D__COUNT; i++)
		if (v[i] && !(takes & F(i)))
			return simcfg_fail(
			    c, line, key, "%s: does not apply to class %s",
			    device_fields[i], usb_classes[d->cls].name);
	return 0;
}

static int device_item(struct simcfg_ctx *c, const char *key, unsigned line,
		       char *item)
{
	struct simcfg *cfg = c->cfg;
	struct simcfg_usb_device *d;
	const char *v[D__COUNT];

	/* Counted before it is filled, so simcfg_free sees its image. */
	d = &cfg->usb_devices[cfg->nr_usb_devices++];
	d->line = line;
	if (collect(c, key, line, item, device_fields, D__COUNT, v) < 0)
		return -1;
	if (!v[D_NAME])
		return simcfg_fail(c, line, key, "name= missing");
	if (!simcfg_name_ok(v[D_NAME]))
		return simcfg_fail(c, line, key,
				   "name: '%.48s': want 1 to %d letters, "
				   "digits, '_', '.', '-'",
				   v[D_NAME], SIMCFG_NAME_MAX - 1);
	strcpy(d->name, v[D_NAME]);
	if (bus_address(c, key, line, "", v[D_HOSTBUS], v[D_HOSTADDR],
			&d->hostbus, &d->hostaddr) < 0 ||
	    device_unique(c, key, line, d) < 0)
		return -1;
	if (!v[D_CLASS])
		return simcfg_fail(c, line, key, "class= missing");
	if (device_class(c, key, line, d, v[D_CLASS]) < 0 ||
	    device_fields_apply(c, key, line, d, v) < 0 ||
	    device_speed(c, key, line, d, v[D_SPEED]) < 0)
		return -1;
	switch (d->cls) {
	case SIMCFG_USB_KEYBOARD:
	case SIMCFG_USB_MOUSE:
		return device_input(c, key, line, d, v);
	case SIMCFG_USB_CAPTURE:
		return device_capture(c, key, line, d, v);
	case SIMCFG_USB_STORAGE:
		if (device_medium(c, key, line, d, v) < 0 ||
		    device_pattern(c, key, line, d, v[D_PATTERN]) < 0)
			return -1;
		/* fallthrough */
	default:
		return device_work(c, key, line, d, v);
	}
}

int simcfg_key_usb_devices(struct simcfg_ctx *c, const struct simcfg_key *k,
			   const char *key)
{
	c->cfg->usb_devices =
	    calloc(simcfg_list_len(c, key) + 1, sizeof(*c->cfg->usb_devices));
	if (!c->cfg->usb_devices)
		return simcfg_fail(c, k->line, key, "out of memory");
	return simcfg_each_item(c, k, key, device_item);
}

/* ---- usbdev, usb-attach, usb-detach ------------------------------------- */

enum { A_DEVTYPE, A_HOSTBUS, A_HOSTADDR, A_CONTROLLER, A_PORT, A__COUNT };
static const char *const attach_fields[] = {
    "devtype", "hostbus", "hostaddr", "controller", "port",
};

static int usb_device_at(const struct simcfg *cfg, uint8_t bus, uint8_t addr)
{
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		if (cfg->usb_devices[i].hostbus == bus &&
		    cfg->usb_devices[i].hostaddr == addr)
			return (int)i;
	return -1;
}

/* controller= and port=: a declared controller and one of its ports. */
static int port_arg(struct simcfg_ctx *c, const char *key, unsigned line,
		    const char *what, const char *ctl, const char *port,
		    struct simcfg_usbdev *u)
{
	uint64_t devid, p;
	int i;

	if (!ctl || !port)
		return simcfg_fail(c, line, key, "%s%s= missing", what,
				   ctl ? "port" : "controller");
	if (simcfg_parse_u64(ctl, UINT16_MAX, &devid) < 0)
		return simcfg_fail(c, line, key,
				   "%scontroller: '%.48s': want a usbctrl "
				   "devid, 0 to 65535",
				   what, ctl);
	i = ctrl_index(c->cfg, (uint16_t)devid);
	if (i < 0)
		return simcfg_fail(c, line, key,
				   "%scontroller: no usbctrl with devid %u",
				   what, (unsigned)devid);
	if (!in_range(port, 1, SIMCFG_USB_PORTS_MAX, &p) ||
	    p > c->cfg->usbctrls[i].ports)
		return simcfg_fail(c, line, key,
				   "%sport: '%.48s': controller %u has ports "
				   "1 to %u",
				   what, port, (unsigned)devid,
				   c->cfg->usbctrls[i].ports);
	u->controller = (uint16_t)devid;
	u->port = (uint8_t)p;
	return 0;
}

int simcfg_usb_attach_arg(struct simcfg_ctx *c, const char *key, unsigned line,
			  const char *what, char *s, struct simcfg_usbdev *u)
{
	const char *v[A__COUNT];
	int dev;

	memset(u, 0, sizeof(*u));
	u->line = line;
	if (collect(c, key, line, s, attach_fields, A__COUNT, v) < 0)
		return -1;
	if (v[A_DEVTYPE] && strcmp(v[A_DEVTYPE], "hostdev") != 0)
		return simcfg_fail(c, line, key,
				   "%sdevtype: '%.48s': only hostdev is "
				   "simulated",
				   what, v[A_DEVTYPE]);
	if (bus_address(c, key, line, what, v[A_HOSTBUS], v[A_HOSTADDR],
			&u->hostbus, &u->hostaddr) < 0)
		return -1;
	dev = usb_device_at(c->cfg, u->hostbus, u->hostaddr);
	if (dev < 0)
		return simcfg_fail(c, line, key,
				   "%shostbus=%u,hostaddr=%u: no simulated "
				   "device at %u.%u in sim_usb_devices",
				   what, u->hostbus, u->hostaddr, u->hostbus,
				   u->hostaddr);
	u->device = (unsigned)dev;
	/* Neither: placement picks the port (port 0 until then). */
	if (!v[A_CONTROLLER] && !v[A_PORT])
		return 0;
	return port_arg(c, key, line, what, v[A_CONTROLLER], v[A_PORT], u);
}

int simcfg_usb_detach_arg(struct simcfg_ctx *c, const char *key, unsigned line,
			  char *s, struct simcfg_usbdev *u)
{
	static const char *const fields[] = {"controller", "port"};
	const char *v[2];

	memset(u, 0, sizeof(*u));
	u->line = line;
	if (collect(c, key, line, s, fields, 2, v) < 0)
		return -1;
	return port_arg(c, key, line, "usb-detach: ", v[0], v[1], u);
}

/* Which device is on which port, while usbdev entries are placed and
 * while the timeline plays. */
struct simcfg_usb_ports {
	const struct simcfg *cfg;
	int *on_port;	/* [ctrl index][port - 1]: device index, -1 empty */
	unsigned *line; /* [ctrl index][port - 1]: the entry that put it */
	int *where;	/* [device]: slot of on_port, -1 not attached */
};

static size_t slot_of(const struct simcfg *cfg, uint16_t devid, uint8_t port)
{
	int i = ctrl_index(cfg, devid);

	SIM_ASSERT(i >= 0 && port >= 1 && port <= cfg->usbctrls[i].ports);
	return (size_t)i * SIMCFG_USB_PORTS_MAX + (port - 1u);
}

struct simcfg_usb_ports *simcfg_usb_ports_new(const struct simcfg *cfg)
{
	size_t slots = (size_t)cfg->nr_usbctrls * SIMCFG_USB_PORTS_MAX;
	struct simcfg_usb_ports *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = cfg;
	p->on_port = malloc((slots + 1) * sizeof(*p->on_port));
	p->line = calloc(slots + 1, sizeof(*p->line));
	p->where = malloc((cfg->nr_usb_devices + 1) * sizeof(*p->where));
	if (!p->on_port || !p->line || !p->where) {
		simcfg_usb_ports_free(p);
		return NULL;
	}
	for (size_t i = 0; i < slots; i++)
		p->on_port[i] = -1;
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		p->where[i] = -1;
	return p;
}

void simcfg_usb_ports_free(struct simcfg_usb_ports *p)
{
	if (!p)
		return;
	free(p->on_port);
	free(p->line);
	free(p->where);
	free(p);
}

/* As xl: the first free port of the controller with the lowest devid
 * that has one. */
static bool first_free_port(const struct simcfg_usb_ports *p,
			    struct simcfg_usbdev *u)
{
	const struct simcfg *cfg = p->cfg;
	bool found = false;

	for (unsigned i = 0; i < cfg->nr_usbctrls; i++) {
		const struct simcfg_usbctrl *ctl = &cfg->usbctrls[i];
		const int *on_port = &p->on_port[i * SIMCFG_USB_PORTS_MAX];

		if (found && ctl->devid > u->controller)
			continue;
		for (uint8_t port = 1; port <= ctl->ports; port++)
			if (on_port[port - 1] < 0) {
				u->controller = ctl->devid;
				u->port = port;
				found = true;
				break;
			}
	}
	return found;
}

int simcfg_usb_plug(struct simcfg_ctx *c, const char *key, const char *what,
		    struct simcfg_usb_ports *p, struct simcfg_usbdev *u)
{
	const struct simcfg *cfg = p->cfg;
	const struct simcfg_usb_device *d;
	size_t slot;
	int where, other;

	SIM_ASSERT(u->device < cfg->nr_usb_devices);
	d = &cfg->usb_devices[u->device];
	where = p->where[u->device];
	if (where >= 0)
		return simcfg_fail(
		    c, u->line, key,
		    "%shostbus=%u,hostaddr=%u: already "
		    "attached at controller %u port %u (line "
		    "%u)",
		    what, d->hostbus, d->hostaddr,
		    cfg->usbctrls[where / SIMCFG_USB_PORTS_MAX].devid,
		    where % SIMCFG_USB_PORTS_MAX + 1, p->line[where]);
	if (u->port == 0 && !first_free_port(p, u))
		return simcfg_fail(
		    c, u->line, key, "%shostbus=%u,hostaddr=%u: %s", what,
		    d->hostbus, d->hostaddr,
		    cfg->nr_usbctrls ? "no free port on any usbctrl"
				     : "no usbctrl to attach to (declare "
				       "one in usbctrl)");
	slot = slot_of(cfg, u->controller, u->port);
	other = p->on_port[slot];
	if (other >= 0)
		return simcfg_fail(c, u->line, key,
				   "%scontroller %u port %u is taken by "
				   "hostbus=%u,hostaddr=%u (line %u)",
				   what, u->controller, u->port,
				   cfg->usb_devices[other].hostbus,
				   cfg->usb_devices[other].hostaddr,
				   p->line[slot]);
	p->on_port[slot] = (int)u->device;
	p->line[slot] = u->line;
	p->where[u->device] = (int)slot;
	return 0;
}

int simcfg_usb_unplug(struct simcfg_ctx *c, const char *key,
		      struct simcfg_usb_ports *p, struct simcfg_usbdev *u)
{
	size_t slot = slot_of(p->cfg, u->controller, u->port);
	int dev = p->on_port[slot];

	if (dev < 0)
		return simcfg_fail(c, u->line, key,
				   "usb-detach: controller %u port %u is empty "
				   "then",
				   u->controller, u->port);
	/* Tell the caller what leaves. */
	u->device = (unsigned)dev;
	u->hostbus = p->cfg->usb_devices[dev].hostbus;
	u->hostaddr = p->cfg->usb_devices[dev].hostaddr;
	p->on_port[slot] = -1;
	p->where[dev] = -1;
	return 0;
}

static int usbdev_item(struct simcfg_ctx *c, const char *key, unsigned line,
		       char *item)
{
	struct simcfg_usbdev *u = &c->cfg->usbdevs[c->cfg->nr_usbdevs];

	if (simcfg_usb_attach_arg(c, key, line, "", item, u) < 0 ||
	    simcfg_usb_plug(c, key, "", c->usb_ports, u) < 0)
		return -1;
	c->cfg->nr_usbdevs++;
	return 0;
}

int simcfg_key_usbdev(struct simcfg_ctx *c, const struct simcfg_key *k,
		      const char *key)
{
	int rc;

	c->cfg->usbdevs =
	    calloc(simcfg_list_len(c, key) + 1, sizeof(*c->cfg->usbdevs));
	c->usb_ports = simcfg_usb_ports_new(c->cfg);
	if (!c->cfg->usbdevs || !c->usb_ports)
		rc = simcfg_fail(c, k->line, key, "out of memory");
	else
		rc = simcfg_each_item(c, k, key, usbdev_item);
	simcfg_usb_ports_free(c->usb_ports);
	c->usb_ports = NULL;
	return rc;
}

/* ---- for callers -------------------------------------------------------- */

void simcfg_usb_storage_config(const struct simcfg_usb_device *d,
			       struct sim_scsi_target_config *out)
{
	SIM_ASSERT(d->cls == SIMCFG_USB_STORAGE);
	memset(out, 0, sizeof(*out));
	out->kind = SIM_SCSI_DISK;
	out->image = d->image;
	out->create_size = d->size;
	out->block_size = d->block_size;
	out->read_only = d->read_only;
	out->vendor = NULL; /* the model's "XPV" */
	out->product = "XPV USB DISK";
	out->serial = d->serial;
}

void simcfg_usb_capture_binding(const struct simcfg_usb_device *d,
				enum simcfg_usb_class bound,
				struct simcfg_usb_device *out)
{
	const struct usb_class_def *cd = &usb_classes[bound];

	SIM_ASSERT(d->cls == SIMCFG_USB_CAPTURE);
	SIM_ASSERT(bound < SIMCFG_USB_CAPTURE);
	*out = *d;
	out->cls = bound;
	out->verify = false;
	out->block = d->block ? d->block : cd->block_default;
	if (out->block < cd->block_min)
		out->block = cd->block_min;
	if (out->block > cd->block_max)
		out->block = cd->block_max;
	if (bound == SIMCFG_USB_STORAGE)
		out->block -= out->block % 512;
	if (!d->ops)
		out->ops = cd->ops_default;
	/* HID: no script to type; the reader counts ops reports. */
	if (bound == SIMCFG_USB_KEYBOARD || bound == SIMCFG_USB_MOUSE) {
		out->keys[0] = 0;
		out->moves = 0;
		if (!d->ops)
			out->ops = 8;
	}
}

void simcfg_usb_busid(const struct simcfg_usb_device *d, char *buf, size_t len)
{
	snprintf(buf, len, "%u-%u", d->hostbus, d->hostaddr);
}
