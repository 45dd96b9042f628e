/*
 * The shared core of the simulated USB devices: descriptor validation at
 * creation, the chapter 9 standard requests on the default control pipe,
 * and the gate every data transfer passes (endpoint of the active
 * configuration, direction, type, halt) before the class sees it.
 *
 * Descriptors are checked once, in sim_usb_device_new, against USB 2.0
 * chapters 5 and 9; after that the parsed tables are trusted and asserted
 * on. Setup packets are the host's and hostile: nothing in one reaches a
 * SIM_ASSERT, every mistake is a STALL. To add a standard request, add a
 * case to the dispatch of its recipient (std_device, std_interface,
 * std_endpoint); anything a class answers belongs in its control hook.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_device.h"

#define USB_EP_NUM_MAX	   15
#define USB_STRING_MAX	   126 /* characters: 2 + 2 * 126 <= 255 bytes */
#define USB_LANG_EN_US	   0x0409
#define USB_DT_OTHER_SPEED 0x07
#define DEV_DESC_LEN	   18
#define QUALIFIER_LEN	   10
#define CONFIG_DESC_LEN	   9
#define IFACE_DESC_LEN	   9
#define EP_DESC_LEN	   7

/* One endpoint descriptor of one alternate setting. */
struct usb_ep {
	uint8_t addr; /* bEndpointAddress */
	struct sim_usb_ep_info info;
};

/* One interface descriptor: its endpoints are eps[first, first + nep). */
struct usb_alt {
	uint8_t iface, alt;
	uint8_t nep_declared; /* bNumEndpoints */
	unsigned first, nep;
};

struct sim_usb_device {
	const struct sim_usb_class *cls;
	void *cls_priv;
	const char *name; /* for messages */
	enum sim_usb_speed speed;
	uint8_t dev[DEV_DESC_LEN];
	uint8_t *config; /* wTotalLength bytes */
	uint16_t config_len;
	char **strings;
	unsigned nstrings;
	struct usb_alt *alts;
	unsigned nalts;
	struct usb_ep *eps;
	unsigned neps;
	uint8_t nif;	  /* bNumInterfaces */
	uint8_t *cur_alt; /* per interface, nif entries */
	/* Chapter 9 state. */
	uint8_t address;
	uint8_t config_value; /* 0: not configured */
	bool remote_wakeup;
	uint16_t halted[2]; /* [in]: bit n set when endpoint n is halted */
	/* Endpoints of the active configuration, by [in][number]. */
	const struct usb_ep *active[2][USB_EP_NUM_MAX + 1];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Returns -EINVAL after putting the message in err (when there is one). */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- descriptor validation ---- */

/* Where the parser is, for messages and for the tables it fills. */
struct parse {
	struct sim_usb_device *d;
	char *err;
	size_t errlen;
	unsigned off;	     /* of the descriptor being read */
	struct usb_alt *cur; /* last interface descriptor, or NULL */
};

static const char *speed_name(enum sim_usb_speed speed)
{
	switch (speed) {
	case SIM_USB_SPEED_LOW:
		return "low";
	case SIM_USB_SPEED_FULL:
		return "full";
	case SIM_USB_SPEED_HIGH:
		return "high";
	}
	return "unknown";
}

static bool mps0_ok(enum sim_usb_speed speed, uint8_t mps0)
{
	if (speed == SIM_USB_SPEED_LOW)
		return mps0 == 8;
	if (speed == SIM_USB_SPEED_HIGH)
		return mps0 == 64;
	return mps0 == 8 || mps0 == 16 || mps0 == 32 || mps0 == 64;
}

static int check_string_index(struct sim_usb_device *d, const char *what,
			      uint8_t index, char *err, size_t errlen)
{
	if (index <= d->nstrings)
		return 0;
	return fail(err, errlen, "usb %s: %s %u: only %u strings", d->name,
		    what, index, d->nstrings);
}

static int check_device_desc(struct sim_usb_device *d, char *err, size_t errlen)
{
	const uint8_t *dev = d->dev;
	int rc;

	if (dev[0] != DEV_DESC_LEN)
		return fail(err, errlen,
			    "usb %s: device descriptor: bLength %u, want 18",
			    d->name, dev[0]);
	if (dev[1] != SIM_USB_DT_DEVICE)
		return fail(err, errlen,
			    "usb %s: device descriptor: bDescriptorType %u, "
			    "want 1",
			    d->name, dev[1]);
	if (d->speed == SIM_USB_SPEED_HIGH && get16(dev + 2) < 0x0200)
		return fail(err, errlen,
			    "usb %s: device descriptor: bcdUSB %04x below "
			    "0200 for a high-speed device",
			    d->name, get16(dev + 2));
	if (!mps0_ok(d->speed, dev[7]))
		return fail(err, errlen,
			    "usb %s: device descriptor: bMaxPacketSize0 %u "
			    "not allowed at %s speed",
			    d->name, dev[7], speed_name(d->speed));
	if (dev[17] != 1)
		return fail(err, errlen,
			    "usb %s: device descriptor: bNumConfigurations "
			    "%u, want 1",
			    d->name, dev[17]);
	rc = check_string_index(d, "device descriptor: iManufacturer", dev[14],
				err, errlen);
	if (!rc)
		rc = check_string_index(d, "device descriptor: iProduct",
					dev[15], err, errlen);
	if (!rc)
		rc = check_string_index(d, "device descriptor: iSerialNumber",
					dev[16], err, errlen);
	return rc;
}

static int copy_strings(struct sim_usb_device *d,
			const struct sim_usb_descriptors *desc, char *err,
			size_t errlen)
{
	unsigned i;
	size_t j, n;
	const char *s;

	if (desc->nstrings && !desc->strings)
		return fail(err, errlen, "usb %s: %u strings but no array",
			    d->name, desc->nstrings);
	if (desc->nstrings > 255)
		return fail(err, errlen,
			    "usb %s: %u strings, string indices end at 255",
			    d->name, desc->nstrings);
	d->strings = sim_xcalloc(desc->nstrings ? desc->nstrings : 1,
				 sizeof(*d->strings));
	for (i = 0; i < desc->nstrings; i++) {
		s = desc->strings[i];
		n = s ? strlen(s) : 0;
		if (!s || n > USB_STRING_MAX)
			return fail(err, errlen,
				    "usb %s: string %u missing or longer than "
				    "%u characters",
				    d->name, i + 1, USB_STRING_MAX);
		for (j = 0; j < n; j++)
			if (s[j] < 0x20 || s[j] > 0x7e)
				return fail(err, errlen,
					    "usb %s: string %u is not "
					    "printable ASCII",
					    d->name, i + 1);
		d->strings[i] = sim_xstrdup(s);
		d->nstrings = i + 1;
	}
	return 0;
}

/*
 * wMaxPacketSize against USB 2.0 5.5.3, 5.6.3, 5.7.3, 5.8.3 and table
 * 9-14: NULL when allowed, else what is wrong. Sets the size and mult.
 */
static const char *mps_problem(enum sim_usb_speed speed,
			       enum sim_usb_ep_type type, uint16_t w,
			       struct sim_usb_ep_info *info)
{
	uint16_t size = w & 0x7ff;
	unsigned extra = (w >> 11) & 3;
	bool periodic = type == SIM_USB_EP_INTERRUPT || type == SIM_USB_EP_ISO;

	info->max_packet = size;
	info->mult = (uint8_t)(extra + 1);
	if (w & 0xe000)
		return "reserved bits 13-15 set";
	if (extra && (speed != SIM_USB_SPEED_HIGH || !periodic))
		return "bits 11-12 (transactions per microframe) are for "
		       "high-speed periodic endpoints only";
	if (extra == 3)
		return "bits 11-12 value 3 is reserved";
	if (extra == 1 && size < 513)
		return "2 transactions per microframe need 513..1024 bytes";
	if (extra == 2 && size < 683)
		return "3 transactions per microframe need 683..1024 bytes";
	if (type != SIM_USB_EP_ISO && size == 0)
		return "0 is only allowed for isochronous endpoints";
	if (speed == SIM_USB_SPEED_LOW)
		return type != SIM_USB_EP_INTERRUPT
			   ? "low speed has interrupt endpoints only"
		       : size > 8 ? "above 8 for low-speed interrupt"
				  : NULL;
	if (speed == SIM_USB_SPEED_FULL) {
		if (type == SIM_USB_EP_BULK)
			return (size & (size - 1)) || size < 8 || size > 64
				   ? "full-speed bulk needs 8, 16, 32 or 64"
				   : NULL;
		if (type == SIM_USB_EP_INTERRUPT)
			return size > 64 ? "above 64 for full-speed interrupt"
					 : NULL;
		return size > 1023 ? "above 1023 for full-speed isochronous"
				   : NULL;
	}
	if (type == SIM_USB_EP_BULK)
		return size != 512 ? "high-speed bulk needs exactly 512" : NULL;
	return size > 1024 ? "above 1024 for high-speed periodic" : NULL;
}

/* bInterval against USB 2.0 9.6.6 (and 5.7.4: low speed polls at 10 ms
 * or slower). Bulk's is a NAK rate hint: anything goes. */
static const char *interval_problem(enum sim_usb_speed speed,
				    enum sim_usb_ep_type type, uint8_t ival)
{
	if (type == SIM_USB_EP_ISO ||
	    (type == SIM_USB_EP_INTERRUPT && speed == SIM_USB_SPEED_HIGH))
		return ival < 1 || ival > 16 ? "must be 1..16" : NULL;
	if (type != SIM_USB_EP_INTERRUPT)
		return NULL;
	if (speed == SIM_USB_SPEED_LOW)
		return ival < 10 ? "must be 10..255 at low speed" : NULL;
	return ival < 1 ? "must be 1..255" : NULL;
}

/* An address may appear once per alternate setting, and in one
 * interface only: interfaces are active together. */
static int ep_unique(struct parse *p, uint8_t addr)
{
	struct sim_usb_device *d = p->d;
	unsigned i, j;

	for (i = 0; i < d->nalts; i++) {
		const struct usb_alt *a = &d->alts[i];

		for (j = a->first; j < a->first + a->nep; j++) {
			if (d->eps[j].addr != addr)
				continue;
			if (a == p->cur || a->iface != p->cur->iface)
				return fail(p->err, p->errlen,
					    "usb %s: config descriptor offset "
					    "%u: endpoint 0x%02x already in "
					    "interface %u alternate %u",
					    d->name, p->off, addr, a->iface,
					    a->alt);
		}
	}
	return 0;
}

static int parse_ep_attrs(struct parse *p, const uint8_t *e,
			  struct sim_usb_ep_info *info)
{
	const char *name = p->d->name;
	uint8_t attrs = e[3];
	uint8_t addr = e[2];

	if ((addr & 0x70) || (addr & 0x0f) == 0)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: "
			    "bEndpointAddress 0x%02x: endpoint number must be "
			    "1..15, bits 4-6 zero",
			    name, p->off, addr);
	info->type = (enum sim_usb_ep_type)(attrs & 3);
	if (info->type == SIM_USB_EP_CONTROL)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: endpoint "
			    "0x%02x: non-default control endpoints are not "
			    "supported",
			    name, p->off, addr);
	if ((attrs & 0xc0) ||
	    (info->type != SIM_USB_EP_ISO && (attrs & 0x3c)) ||
	    (attrs & 0x30) == 0x30)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: endpoint "
			    "0x%02x: bmAttributes 0x%02x has reserved bits "
			    "set",
			    name, p->off, addr, attrs);
	return 0;
}

static int parse_endpoint(struct parse *p, const uint8_t *e)
{
	struct sim_usb_device *d = p->d;
	struct usb_ep *ep = &d->eps[d->neps];
	const char *why;
	int rc;

	if (!p->cur)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: endpoint "
			    "descriptor before any interface descriptor",
			    d->name, p->off);
	if (e[0] < EP_DESC_LEN)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: endpoint "
			    "bLength %u, want at least 7",
			    d->name, p->off, e[0]);
	rc = parse_ep_attrs(p, e, &ep->info);
	if (!rc)
		rc = ep_unique(p, e[2]);
	if (rc)
		return rc;
	ep->addr = e[2];
	ep->info.interval = e[6];
	why = mps_problem(d->speed, ep->info.type, get16(e + 4), &ep->info);
	if (why)
		return fail(p->err, p->errlen,
			    "usb %s: endpoint 0x%02x: wMaxPacketSize 0x%04x "
			    "at %s speed: %s",
			    d->name, e[2], get16(e + 4), speed_name(d->speed),
			    why);
	why = interval_problem(d->speed, ep->info.type, e[6]);
	if (why)
		return fail(p->err, p->errlen,
			    "usb %s: endpoint 0x%02x: bInterval %u %s", d->name,
			    e[2], e[6], why);
	d->neps++;
	p->cur->nep++;
	return 0;
}

/* The interface before this one, if any, has all the endpoints it said. */
static int close_interface(struct parse *p)
{
	const struct usb_alt *a = p->cur;

	if (!a || a->nep == a->nep_declared)
		return 0;
	return fail(p->err, p->errlen,
		    "usb %s: interface %u alternate %u: bNumEndpoints %u but "
		    "%u endpoint descriptors follow",
		    p->d->name, a->iface, a->alt, a->nep_declared, a->nep);
}

static int parse_interface(struct parse *p, const uint8_t *i)
{
	struct sim_usb_device *d = p->d;
	struct usb_alt *a = &d->alts[d->nalts];
	unsigned k;
	int rc;

	if (i[0] < IFACE_DESC_LEN)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: interface "
			    "bLength %u, want at least 9",
			    d->name, p->off, i[0]);
	rc = close_interface(p);
	if (rc)
		return rc;
	if (i[2] >= d->nif)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: "
			    "bInterfaceNumber %u not below bNumInterfaces %u",
			    d->name, p->off, i[2], d->nif);
	for (k = 0; k < d->nalts; k++)
		if (d->alts[k].iface == i[2] && d->alts[k].alt == i[3])
			return fail(p->err, p->errlen,
				    "usb %s: config descriptor offset %u: "
				    "interface %u bAlternateSetting %u twice",
				    d->name, p->off, i[2], i[3]);
	rc = check_string_index(d, "interface descriptor: iInterface", i[8],
				p->err, p->errlen);
	if (rc)
		return rc;
	a->iface = i[2];
	a->alt = i[3];
	a->nep_declared = i[4];
	a->first = d->neps;
	a->nep = 0;
	d->nalts++;
	p->cur = a;
	return 0;
}

static int parse_config_header(struct parse *p, const uint8_t *c)
{
	struct sim_usb_device *d = p->d;

	if (c[0] < CONFIG_DESC_LEN)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: bLength %u, want at "
			    "least 9",
			    d->name, c[0]);
	if (c[1] != SIM_USB_DT_CONFIG)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: bDescriptorType %u, "
			    "want 2",
			    d->name, c[1]);
	if (get16(c + 2) < c[0])
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: wTotalLength %u below "
			    "its bLength %u",
			    d->name, get16(c + 2), c[0]);
	if (c[4] == 0)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: bNumInterfaces 0",
			    d->name);
	if (c[5] == 0) /* 0 is what GET_CONFIGURATION says unconfigured */
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: bConfigurationValue "
			    "0 is reserved",
			    d->name);
	if ((c[7] & 0x9f) != 0x80)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor: bmAttributes 0x%02x: "
			    "bit 7 must be set, bits 0-4 clear",
			    d->name, c[7]);
	d->nif = c[4];
	return check_string_index(d, "config descriptor: iConfiguration", c[6],
				  p->err, p->errlen);
}

static int parse_one(struct parse *p, const uint8_t *x, unsigned total)
{
	const char *name = p->d->name;
	unsigned left = total - p->off;

	if (left < 2)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: %u byte "
			    "left before wTotalLength %u, no room for a "
			    "descriptor",
			    name, p->off, left, total);
	if (x[0] < 2 || x[0] > left)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: bLength %u "
			    "%s wTotalLength %u",
			    name, p->off, x[0],
			    x[0] < 2 ? "below 2, within" : "runs past", total);
	if (x[1] == SIM_USB_DT_INTERFACE)
		return parse_interface(p, x);
	if (x[1] == SIM_USB_DT_ENDPOINT)
		return parse_endpoint(p, x);
	if (x[1] == SIM_USB_DT_DEVICE || x[1] == SIM_USB_DT_CONFIG)
		return fail(p->err, p->errlen,
			    "usb %s: config descriptor offset %u: descriptor "
			    "type %u inside a configuration",
			    name, p->off, x[1]);
	return 0; /* class-specific: the class's business */
}

/* Every interface number has an alternate setting 0 (the default). */
static int check_interfaces(struct parse *p)
{
	struct sim_usb_device *d = p->d;
	unsigned i, k;

	for (i = 0; i < d->nif; i++) {
		for (k = 0; k < d->nalts; k++)
			if (d->alts[k].iface == i && d->alts[k].alt == 0)
				break;
		if (k == d->nalts)
			return fail(p->err, p->errlen,
				    "usb %s: interface %u has no alternate "
				    "setting 0",
				    d->name, i);
	}
	return 0;
}

/* Each step consumes at least 2 bytes, so the walk is bounded. */
static int parse_config(struct sim_usb_device *d, const uint8_t *c, char *err,
			size_t errlen)
{
	struct parse p = {.d = d, .err = err, .errlen = errlen};
	unsigned total;
	int rc;

	rc = parse_config_header(&p, c);
	if (rc)
		return rc;
	total = get16(c + 2);
	d->config = sim_xmalloc(total);
	memcpy(d->config, c, total);
	d->config_len = (uint16_t)total;
	d->alts = sim_xcalloc(total / IFACE_DESC_LEN + 1, sizeof(*d->alts));
	d->eps = sim_xcalloc(total / EP_DESC_LEN + 1, sizeof(*d->eps));
	for (p.off = c[0]; p.off < total; p.off += d->config[p.off]) {
		rc = parse_one(&p, d->config + p.off, total);
		if (rc)
			return rc;
	}
	rc = close_interface(&p);
	if (!rc)
		rc = check_interfaces(&p);
	d->cur_alt = sim_xcalloc(d->nif, 1);
	return rc;
}

static void device_free_tables(struct sim_usb_device *d)
{
	unsigned i;

	for (i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
	free(d->strings);
	free(d->config);
	free(d->alts);
	free(d->eps);
	free(d->cur_alt);
	free(d);
}

int sim_usb_device_new(const struct sim_usb_descriptors *desc,
		       enum sim_usb_speed speed,
		       const struct sim_usb_class *cls, void *cls_priv,
		       struct sim_usb_device **out, char *err, size_t errlen)
{
	const char *name = cls && cls->name ? cls->name : "device";
	struct sim_usb_device *d;
	int rc;

	SIM_ASSERT(desc && out);
	*out = NULL;
	if (speed != SIM_USB_SPEED_LOW && speed != SIM_USB_SPEED_FULL &&
	    speed != SIM_USB_SPEED_HIGH)
		return fail(err, errlen, "usb %s: speed %d unknown", name,
			    (int)speed);
	if (!desc->device || !desc->config)
		return fail(err, errlen,
			    "usb %s: no device or config descriptor", name);
	d = sim_xcalloc(1, sizeof(*d));
	d->cls = cls;
	d->cls_priv = cls_priv;
	d->name = name;
	d->speed = speed;
	memcpy(d->dev, desc->device, DEV_DESC_LEN);
	rc = copy_strings(d, desc, err, errlen);
	if (!rc)
		rc = check_device_desc(d, err, errlen);
	if (!rc)
		rc = parse_config(d, desc->config, err, errlen);
	if (rc) {
		device_free_tables(d);
		return rc;
	}
	*out = d;
	return 0;
}

void sim_usb_device_free(struct sim_usb_device *d)
{
	if (!d)
		return;
	if (d->cls && d->cls->destroy)
		d->cls->destroy(d);
	device_free_tables(d);
}

/* ---- state changes ---- */

/* The endpoints of the alternates now selected become the active ones. */
static void activate(struct sim_usb_device *d)
{
	unsigned i, j;

	memset(d->active, 0, sizeof(d->active));
	if (!d->config_value)
		return;
	for (i = 0; i < d->nalts; i++) {
		const struct usb_alt *a = &d->alts[i];

		SIM_ASSERT(a->iface < d->nif);
		if (a->alt != d->cur_alt[a->iface])
			continue;
		for (j = a->first; j < a->first + a->nep; j++) {
			const struct usb_ep *ep = &d->eps[j];
			bool in = ep->addr & SIM_USB_DIR_IN;
			unsigned num = ep->addr & 0x0f;

			SIM_ASSERT(num >= 1 && !d->active[in][num]);
			d->active[in][num] = ep;
		}
	}
}

static void class_reset(struct sim_usb_device *d)
{
	if (d->cls && d->cls->reset)
		d->cls->reset(d);
}

static void set_configuration(struct sim_usb_device *d, uint8_t value)
{
	SIM_ASSERT(value == 0 || value == d->config[5]);
	d->config_value = value;
	memset(d->cur_alt, 0, d->nif);
	d->halted[0] = d->halted[1] = 0;
	activate(d);
	class_reset(d);
	if (d->cls && d->cls->configured)
		d->cls->configured(d, value);
}

/* Halts of every endpoint that any alternate of iface has are cleared:
 * the old setting's endpoints go away, the new one's start fresh. */
static void set_interface(struct sim_usb_device *d, uint8_t iface, uint8_t alt)
{
	unsigned i, j;

	SIM_ASSERT(iface < d->nif && d->config_value);
	for (i = 0; i < d->nalts; i++) {
		const struct usb_alt *a = &d->alts[i];

		if (a->iface != iface)
			continue;
		for (j = a->first; j < a->first + a->nep; j++) {
			uint8_t addr = d->eps[j].addr;

			d->halted[!!(addr & SIM_USB_DIR_IN)] &=
			    (uint16_t) ~(1u << (addr & 0x0f));
		}
	}
	d->cur_alt[iface] = alt;
	activate(d);
	class_reset(d);
}

void sim_usb_device_reset(struct sim_usb_device *d)
{
	SIM_ASSERT(d);
	d->address = 0;
	d->config_value = 0;
	d->remote_wakeup = false;
	memset(d->cur_alt, 0, d->nif);
	d->halted[0] = d->halted[1] = 0;
	activate(d);
	class_reset(d);
}

/* ---- standard requests ---- */

/* Answer an IN request with n bytes of buf, as many as wLength takes. */
static enum sim_usb_status reply(struct sim_usb_xfer *x, const void *buf,
				 size_t n)
{
	if (n > x->setup.wLength)
		n = x->setup.wLength;
	if (n)
		memcpy(x->data, buf, n);
	x->actual = (uint32_t)n;
	return SIM_USB_OK;
}

static bool alt_exists(const struct sim_usb_device *d, uint8_t iface,
		       uint8_t alt)
{
	unsigned i;

	for (i = 0; i < d->nalts; i++)
		if (d->alts[i].iface == iface && d->alts[i].alt == alt)
			return true;
	return false;
}

static enum sim_usb_status get_string(struct sim_usb_device *d,
				      struct sim_usb_xfer *x, uint8_t index)
{
	uint8_t buf[2 + 2 * USB_STRING_MAX];
	const char *s;
	size_t i, n;

	if (index == 0) {
		static const uint8_t langs[] = {4, SIM_USB_DT_STRING,
						USB_LANG_EN_US & 0xff,
						USB_LANG_EN_US >> 8};

		return reply(x, langs, sizeof(langs));
	}
	if (index > d->nstrings || x->setup.wIndex != USB_LANG_EN_US)
		return SIM_USB_STALL;
	s = d->strings[index - 1];
	n = strlen(s);
	SIM_ASSERT(n <= USB_STRING_MAX);
	buf[0] = (uint8_t)(2 + 2 * n);
	buf[1] = SIM_USB_DT_STRING;
	for (i = 0; i < n; i++) {
		buf[2 + 2 * i] = (uint8_t)s[i];
		buf[3 + 2 * i] = 0;
	}
	return reply(x, buf, 2 + 2 * n);
}

/* A high-speed device describes itself at the other (full) speed with
 * the same fields: bMaxPacketSize0 64 is valid at full speed too. */
static enum sim_usb_status get_qualifier(struct sim_usb_device *d,
					 struct sim_usb_xfer *x)
{
	uint8_t q[QUALIFIER_LEN];

	if (d->speed != SIM_USB_SPEED_HIGH)
		return SIM_USB_STALL;
	q[0] = QUALIFIER_LEN;
	q[1] = SIM_USB_DT_DEVICE_QUALIFIER;
	/* bcdUSB, class, subclass, protocol, bMaxPacketSize0 */
	memcpy(q + 2, d->dev + 2, 6);
	q[8] = d->dev[17]; /* bNumConfigurations */
	q[9] = 0;
	return reply(x, q, sizeof(q));
}

static enum sim_usb_status get_descriptor(struct sim_usb_device *d,
					  struct sim_usb_xfer *x)
{
	uint8_t type = x->setup.wValue >> 8;
	uint8_t index = x->setup.wValue & 0xff;

	if (type == SIM_USB_DT_STRING)
		return get_string(d, x, index);
	if (x->setup.wIndex != 0)
		return SIM_USB_STALL;
	if (type == SIM_USB_DT_DEVICE && index == 0)
		return reply(x, d->dev, DEV_DESC_LEN);
	if (type == SIM_USB_DT_CONFIG && index == 0)
		return reply(x, d->config, d->config_len);
	if (type == SIM_USB_DT_DEVICE_QUALIFIER && index == 0)
		return get_qualifier(d, x);
	return SIM_USB_STALL; /* other speed configuration, unknown types */
}

static enum sim_usb_status set_address(struct sim_usb_device *d,
				       const struct sim_usb_setup *s)
{
	/* Behaviour in the configured state is unspecified (9.4.6): no. */
	if (s->wValue > 127 || s->wIndex || s->wLength || d->config_value)
		return SIM_USB_STALL;
	d->address = (uint8_t)s->wValue;
	return SIM_USB_OK;
}

/*
 * Accepted in the default state too, where 9.4.7 leaves it unspecified:
 * a PVUSB backend may keep SET_ADDRESS to itself, as Linux usbback does.
 */
static enum sim_usb_status set_config_req(struct sim_usb_device *d,
					  const struct sim_usb_setup *s)
{
	if (s->wIndex || s->wLength ||
	    (s->wValue != 0 && s->wValue != d->config[5]))
		return SIM_USB_STALL;
	set_configuration(d, (uint8_t)s->wValue);
	return SIM_USB_OK;
}

/* DEVICE_REMOTE_WAKEUP only when the configuration claims it; TEST_MODE
 * is for compliance testers and is not modelled. */
static enum sim_usb_status device_feature(struct sim_usb_device *d,
					  const struct sim_usb_setup *s,
					  bool set)
{
	if (s->wValue != SIM_USB_FEATURE_DEVICE_REMOTE_WAKEUP || s->wIndex ||
	    s->wLength || !(d->config[7] & 0x20))
		return SIM_USB_STALL;
	d->remote_wakeup = set;
	return SIM_USB_OK;
}

static enum sim_usb_status std_device(struct sim_usb_device *d,
				      struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	uint8_t b[2];

	switch (s->bmRequestType << 8 | s->bRequest) {
	case 0x8000 | SIM_USB_REQ_GET_STATUS:
		if (s->wValue || s->wIndex)
			return SIM_USB_STALL;
		b[0] = (uint8_t)((d->config[7] & 0x40 ? 1 : 0) |
				 (d->remote_wakeup ? 2 : 0));
		b[1] = 0;
		return reply(x, b, 2);
	case SIM_USB_REQ_CLEAR_FEATURE:
		return device_feature(d, s, false);
	case SIM_USB_REQ_SET_FEATURE:
		return device_feature(d, s, true);
	case SIM_USB_REQ_SET_ADDRESS:
		return set_address(d, s);
	case 0x8000 | SIM_USB_REQ_GET_DESCRIPTOR:
		return get_descriptor(d, x);
	case 0x8000 | SIM_USB_REQ_GET_CONFIGURATION:
		if (s->wValue || s->wIndex)
			return SIM_USB_STALL;
		return reply(x, &d->config_value, 1);
	case SIM_USB_REQ_SET_CONFIGURATION:
		return set_config_req(d, s);
	}
	return SIM_USB_STALL; /* SET_DESCRIPTOR, SYNCH_FRAME, unknown */
}

/* wIndex names an interface of the active configuration. */
static bool iface_ok(const struct sim_usb_device *d, uint16_t windex)
{
	return d->config_value && windex < d->nif;
}

/* The request codes the core owns for a recipient answer here, whatever
 * their shape; any other goes to the class. in: the direction the
 * request must have. */
static bool owned(const struct sim_usb_setup *s, uint8_t req, bool in,
		  bool *wrong)
{
	if (s->bRequest != req)
		return false;
	*wrong = !(s->bmRequestType & SIM_USB_DIR_IN) != !in;
	return true;
}

static enum sim_usb_status set_interface_req(struct sim_usb_device *d,
					     const struct sim_usb_setup *s)
{
	uint8_t iface = (uint8_t)s->wIndex;

	if (s->wValue > 0xff || s->wLength ||
	    !alt_exists(d, iface, (uint8_t)s->wValue))
		return SIM_USB_STALL;
	set_interface(d, iface, (uint8_t)s->wValue);
	return SIM_USB_OK;
}

static enum sim_usb_status std_interface(struct sim_usb_device *d,
					 struct sim_usb_xfer *x, bool *to_class)
{
	const struct sim_usb_setup *s = &x->setup;
	static const uint8_t zero[2];
	bool wrong = false;

	if (!iface_ok(d, s->wIndex))
		return SIM_USB_STALL;
	if (owned(s, SIM_USB_REQ_GET_STATUS, true, &wrong))
		return wrong || s->wValue ? SIM_USB_STALL : reply(x, zero, 2);
	if (owned(s, SIM_USB_REQ_GET_INTERFACE, true, &wrong))
		return wrong || s->wValue ? SIM_USB_STALL
					  : reply(x, &d->cur_alt[s->wIndex], 1);
	if (owned(s, SIM_USB_REQ_SET_INTERFACE, false, &wrong))
		return wrong ? SIM_USB_STALL : set_interface_req(d, s);
	*to_class = true; /* interface features, class descriptors */
	return SIM_USB_STALL;
}

/*
 * wIndex names endpoint 0 or an endpoint of the active configuration
 * (9.3.4: direction bit 7, number bits 0-3, the rest zero). The default
 * pipe is both directions, so its direction bit does not matter.
 */
static bool ep_windex(const struct sim_usb_device *d, uint16_t windex,
		      uint8_t *num, bool *in)
{
	if (windex & 0xff70)
		return false;
	*num = windex & 0x0f;
	*in = windex & SIM_USB_DIR_IN;
	return *num == 0 || d->active[*in][*num];
}

static enum sim_usb_status ep_halt_feature(struct sim_usb_device *d,
					   const struct sim_usb_setup *s,
					   uint8_t num, bool in, bool set)
{
	if (s->wValue != SIM_USB_FEATURE_ENDPOINT_HALT || s->wLength)
		return SIM_USB_STALL;
	/* The default pipe never halts: there is nothing to clear, and
	 * 9.4.5 recommends against setting it. */
	if (num == 0)
		return set ? SIM_USB_STALL : SIM_USB_OK;
	if (set)
		d->halted[in] |= (uint16_t)(1u << num);
	else
		d->halted[in] &= (uint16_t) ~(1u << num);
	return SIM_USB_OK;
}

static enum sim_usb_status std_endpoint(struct sim_usb_device *d,
					struct sim_usb_xfer *x, bool *to_class)
{
	const struct sim_usb_setup *s = &x->setup;
	uint8_t num, b[2] = {0, 0};
	bool in, wrong = false;

	if (!ep_windex(d, s->wIndex, &num, &in))
		return SIM_USB_STALL;
	if (owned(s, SIM_USB_REQ_GET_STATUS, true, &wrong)) {
		if (wrong || s->wValue)
			return SIM_USB_STALL;
		b[0] = num && sim_usb_device_halted(d, num, in); /* Halt */
		return reply(x, b, 2);
	}
	if (owned(s, SIM_USB_REQ_CLEAR_FEATURE, false, &wrong))
		return wrong ? SIM_USB_STALL
			     : ep_halt_feature(d, s, num, in, false);
	if (owned(s, SIM_USB_REQ_SET_FEATURE, false, &wrong))
		return wrong ? SIM_USB_STALL
			     : ep_halt_feature(d, s, num, in, true);
	*to_class = true; /* SYNCH_FRAME and the like */
	return SIM_USB_STALL;
}

/* Class and vendor requests: the recipient is checked as for standard
 * ones, so a class sees only interfaces and endpoints that exist. A
 * class that puts an entity in wIndex's high byte gets that byte. */
static bool recipient_ok(const struct sim_usb_device *d,
			 const struct sim_usb_setup *s)
{
	bool entity =
	    d->cls->windex_entity &&
	    (s->bmRequestType & SIM_USB_TYPE_MASK) == SIM_USB_TYPE_CLASS;
	uint8_t num;
	bool in;

	switch (s->bmRequestType & SIM_USB_RECIP_MASK) {
	case SIM_USB_RECIP_DEVICE:
		return true;
	case SIM_USB_RECIP_INTERFACE:
		return iface_ok(d, entity ? s->wIndex & 0xff : s->wIndex);
	case SIM_USB_RECIP_ENDPOINT:
		return ep_windex(d, s->wIndex, &num, &in);
	}
	return false; /* "other" and reserved: hubs only */
}

static enum sim_usb_status to_class(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	enum sim_usb_status st;

	if (!d->cls || !d->cls->control || !recipient_ok(d, &x->setup))
		return SIM_USB_STALL;
	st = d->cls->control(d, x);
	SIM_ASSERT(st != SIM_USB_NAK && x->actual <= x->setup.wLength);
	return st;
}

static enum sim_usb_status standard(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	enum sim_usb_status st = SIM_USB_STALL;
	bool pass = false;

	switch (x->setup.bmRequestType & SIM_USB_RECIP_MASK) {
	case SIM_USB_RECIP_DEVICE:
		return std_device(d, x);
	case SIM_USB_RECIP_INTERFACE:
		st = std_interface(d, x, &pass);
		break;
	case SIM_USB_RECIP_ENDPOINT:
		st = std_endpoint(d, x, &pass);
		break;
	}
	return pass ? to_class(d, x) : st;
}

static enum sim_usb_status control(struct sim_usb_device *d,
				   struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	bool in = s->bmRequestType & SIM_USB_DIR_IN;
	enum sim_usb_status st;

	if (x->type != SIM_USB_EP_CONTROL)
		return SIM_USB_IOERROR;
	if (s->wLength > x->len || x->in != in)
		return SIM_USB_STALL;
	switch (s->bmRequestType & SIM_USB_TYPE_MASK) {
	case SIM_USB_TYPE_STANDARD:
		st = standard(d, x);
		break;
	case SIM_USB_TYPE_CLASS:
	case SIM_USB_TYPE_VENDOR:
		st = to_class(d, x);
		break;
	default:
		st = SIM_USB_STALL; /* type 3 is reserved */
	}
	if (st == SIM_USB_OK && !in)
		x->actual = s->wLength;
	if (st != SIM_USB_OK)
		x->actual = 0;
	return st;
}

/* ---- data endpoints ---- */

static void check_iso_packets(const struct sim_usb_xfer *x)
{
	unsigned i;

	SIM_ASSERT(x->packets || x->npackets == 0);
	for (i = 0; i < x->npackets; i++)
		SIM_ASSERT(x->packets[i].offset <= x->len &&
			   x->packets[i].length <=
			       x->len - x->packets[i].offset);
}

static enum sim_usb_status data_xfer(struct sim_usb_device *d,
				     struct sim_usb_xfer *x)
{
	const struct usb_ep *ep = NULL;
	enum sim_usb_status st;

	if (x->ep <= USB_EP_NUM_MAX)
		ep = d->active[x->in][x->ep];
	if (!ep || ep->info.type != x->type)
		return SIM_USB_IOERROR;
	if (x->type == SIM_USB_EP_ISO)
		check_iso_packets(x);
	if (d->halted[x->in] & (1u << x->ep))
		return SIM_USB_STALL;
	if (!d->cls || !d->cls->data)
		return SIM_USB_STALL;
	st = d->cls->data(d, x);
	SIM_ASSERT(x->actual <= x->len);
	SIM_ASSERT(st != SIM_USB_NAK || x->type != SIM_USB_EP_ISO);
	if (st == SIM_USB_OK && !x->in && x->type != SIM_USB_EP_ISO)
		x->actual = x->len;
	return st;
}

enum sim_usb_status sim_usb_device_handle(struct sim_usb_device *d,
					  struct sim_usb_xfer *x)
{
	SIM_ASSERT(d && x);
	SIM_ASSERT(x->data || x->len == 0);
	x->actual = 0;
	if (x->ep == 0)
		return control(d, x);
	return data_xfer(d, x);
}

/* ---- accessors ---- */

enum sim_usb_speed sim_usb_device_speed(const struct sim_usb_device *d)
{
	return d->speed;
}

uint8_t sim_usb_device_address(const struct sim_usb_device *d)
{
	return d->address;
}

uint8_t sim_usb_device_config(const struct sim_usb_device *d)
{
	return d->config_value;
}

uint8_t sim_usb_device_alt(const struct sim_usb_device *d, uint8_t iface)
{
	SIM_ASSERT(iface < d->nif);
	return d->cur_alt[iface];
}

int sim_usb_device_ep(const struct sim_usb_device *d, uint8_t ep, bool in,
		      struct sim_usb_ep_info *info)
{
	const struct usb_ep *e;

	if (ep == 0 || ep > USB_EP_NUM_MAX)
		return -ENOENT;
	e = d->active[in][ep];
	if (!e)
		return -ENOENT;
	if (info)
		*info = e->info;
	return 0;
}

bool sim_usb_device_halted(const struct sim_usb_device *d, uint8_t ep, bool in)
{
	SIM_ASSERT(ep <= USB_EP_NUM_MAX);
	return d->halted[in] & (1u << ep);
}

void sim_usb_device_halt(struct sim_usb_device *d, uint8_t ep, bool in)
{
	SIM_ASSERT(ep >= 1 && ep <= USB_EP_NUM_MAX && d->active[in][ep]);
	d->halted[in] |= (uint16_t)(1u << ep);
}

void *sim_usb_device_class_priv(const struct sim_usb_device *d)
{
	return d->cls_priv;
}
