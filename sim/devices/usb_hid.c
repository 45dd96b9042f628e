/*
 * HID boot keyboard and boot mouse (USB HID 1.11) as classes of the USB
 * device core: the descriptors (with the boot report descriptors of HID
 * 1.11 appendix B), the class requests on the interface, and the
 * interrupt IN endpoint that plays the input script.
 *
 * The two kinds differ only in data (struct hid_kind) and in how a script
 * event becomes a report (hid_next_report). To add a boot-compatible kind,
 * give it a kind and a report builder.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_class.h"
#include "sim/devices/usb_hid.h"

#define HID_MAGIC	    0x48494431u /* "HID1" */
#define HID_REPORT_MAX	    8
#define HID_EP_IN	    0x81
#define HID_CONFIG_LEN	    (9 + 9 + 9 + 7)
#define HID_IDLE_UNIT_NS    4000000ull /* SET_IDLE counts 4 ms */
#define HID_PROTOCOL_BOOT   0
#define HID_PROTOCOL_REPORT 1
#define HID_REPORT_INPUT    1
#define HID_REPORT_OUTPUT   2
#define HID_LED_MASK	    0x1f /* Num, Caps, Scroll, Compose, Kana */
#define KEY_FIRST	    0x04 /* 'a'; 1..3 are error codes */
#define KEY_LAST	    0x65 /* the boot descriptor's logical maximum */

/* HID 1.11 appendix B.1: the boot keyboard report, 8 bytes. */
static const uint8_t keyboard_report_desc[] = {
    0x05, 0x01, /* Usage Page (Generic Desktop) */
    0x09, 0x06, /* Usage (Keyboard) */
    0xa1, 0x01, /* Collection (Application) */
    0x05, 0x07, /*   Usage Page (Key Codes) */
    0x19, 0xe0, /*   Usage Minimum (224) */
    0x29, 0xe7, /*   Usage Maximum (231) */
    0x15, 0x00, /*   Logical Minimum (0) */
    0x25, 0x01, /*   Logical Maximum (1) */
    0x75, 0x01, /*   Report Size (1) */
    0x95, 0x08, /*   Report Count (8) */
    0x81, 0x02, /*   Input (Data, Variable, Absolute): modifiers */
    0x95, 0x01, /*   Report Count (1) */
    0x75, 0x08, /*   Report Size (8) */
    0x81, 0x01, /*   Input (Constant): reserved byte */
    0x95, 0x05, /*   Report Count (5) */
    0x75, 0x01, /*   Report Size (1) */
    0x05, 0x08, /*   Usage Page (LEDs) */
    0x19, 0x01, /*   Usage Minimum (1) */
    0x29, 0x05, /*   Usage Maximum (5) */
    0x91, 0x02, /*   Output (Data, Variable, Absolute): LEDs */
    0x95, 0x01, /*   Report Count (1) */
    0x75, 0x03, /*   Report Size (3) */
    0x91, 0x01, /*   Output (Constant): padding */
    0x95, 0x06, /*   Report Count (6) */
    0x75, 0x08, /*   Report Size (8) */
    0x15, 0x00, /*   Logical Minimum (0) */
    0x25, 0x65, /*   Logical Maximum (101) */
    0x05, 0x07, /*   Usage Page (Key Codes) */
    0x19, 0x00, /*   Usage Minimum (0) */
    0x29, 0x65, /*   Usage Maximum (101) */
    0x81, 0x00, /*   Input (Data, Array): key codes */
    0xc0,	/* End Collection */
};

/* HID 1.11 appendix B.2 plus a wheel byte: the boot protocol report is
 * the first three bytes, as the boot protocol requires. */
static const uint8_t mouse_report_desc[] = {
    0x05, 0x01, /* Usage Page (Generic Desktop) */
    0x09, 0x02, /* Usage (Mouse) */
    0xa1, 0x01, /* Collection (Application) */
    0x09, 0x01, /*   Usage (Pointer) */
    0xa1, 0x00, /*   Collection (Physical) */
    0x05, 0x09, /*     Usage Page (Buttons) */
    0x19, 0x01, /*     Usage Minimum (1) */
    0x29, 0x03, /*     Usage Maximum (3) */
    0x15, 0x00, /*     Logical Minimum (0) */
    0x25, 0x01, /*     Logical Maximum (1) */
    0x95, 0x03, /*     Report Count (3) */
    0x75, 0x01, /*     Report Size (1) */
    0x81, 0x02, /*     Input (Data, Variable, Absolute): buttons */
    0x95, 0x01, /*     Report Count (1) */
    0x75, 0x05, /*     Report Size (5) */
    0x81, 0x01, /*     Input (Constant): padding */
    0x05, 0x01, /*     Usage Page (Generic Desktop) */
    0x09, 0x30, /*     Usage (X) */
    0x09, 0x31, /*     Usage (Y) */
    0x09, 0x38, /*     Usage (Wheel) */
    0x15, 0x81, /*     Logical Minimum (-127) */
    0x25, 0x7f, /*     Logical Maximum (127) */
    0x75, 0x08, /*     Report Size (8) */
    0x95, 0x03, /*     Report Count (3) */
    0x81, 0x06, /*     Input (Data, Variable, Relative): X, Y, wheel */
    0xc0,	/*   End Collection */
    0xc0,	/* End Collection */
};

struct hid_kind {
	bool keyboard;
	uint8_t protocol; /* bInterfaceProtocol */
	uint16_t pid;
	const char *strings[3]; /* manufacturer, product, serial */
	const uint8_t *report_desc;
	uint16_t report_desc_len;
	uint8_t report_len; /* report protocol; also wMaxPacketSize */
	uint8_t boot_len;   /* boot protocol */
};

static const struct hid_kind hid_keyboard = {
    .keyboard = true,
    .protocol = 1,
    .pid = SIM_USB_HID_KEYBOARD_PID,
    .strings = {"xpv", "xpv boot keyboard", "XPV-KBD-0001"},
    .report_desc = keyboard_report_desc,
    .report_desc_len = sizeof(keyboard_report_desc),
    .report_len = 8,
    .boot_len = 8,
};

static const struct hid_kind hid_mouse = {
    .keyboard = false,
    .protocol = 2,
    .pid = SIM_USB_HID_MOUSE_PID,
    .strings = {"xpv", "xpv boot mouse", "XPV-MOUSE-0001"},
    .report_desc = mouse_report_desc,
    .report_desc_len = sizeof(mouse_report_desc),
    .report_len = 4,
    .boot_len = 3,
};

/* What the interrupt endpoint sends next. */
enum hid_next {
	NEXT_NONE,    /* NAK */
	NEXT_EVENT,   /* a key press or a mouse event */
	NEXT_RELEASE, /* keyboard: the release after a press */
	NEXT_REPEAT,  /* the idle rate elapsed: the current report again */
};

struct hid {
	uint32_t magic;
	const struct hid_kind *kind;
	struct sim_usb_hid_key_event *keys;    /* keyboard script */
	struct sim_usb_hid_mouse_event *moves; /* mouse script */
	unsigned nev, next;		       /* next: first not done */
	bool release_pending;
	uint8_t state[HID_REPORT_MAX]; /* input state, as last reported */
	uint64_t last_report_ns;       /* start of the idle period */
	uint8_t protocol, idle, leds;
	uint64_t reports, naks, led_reports;
};

static struct hid *hid_of(const struct sim_usb_device *d)
{
	struct hid *h = sim_usb_device_class_priv(d);

	SIM_ASSERT(h && h->magic == HID_MAGIC);
	return h;
}

static uint8_t report_len(const struct hid *h)
{
	return h->protocol == HID_PROTOCOL_BOOT ? h->kind->boot_len
						: h->kind->report_len;
}

/* ---- the interrupt IN endpoint ---- */

static bool event_due(const struct hid *h, uint64_t now_ns)
{
	if (h->next >= h->nev)
		return false;
	if (h->kind->keyboard)
		return now_ns >= h->keys[h->next].at_ns;
	return now_ns >= h->moves[h->next].at_ns;
}

static enum hid_next hid_next(const struct hid *h, uint64_t now_ns)
{
	if (h->release_pending)
		return NEXT_RELEASE;
	if (event_due(h, now_ns))
		return NEXT_EVENT;
	if (h->idle && now_ns >= h->last_report_ns + h->idle * HID_IDLE_UNIT_NS)
		return NEXT_REPEAT;
	return NEXT_NONE;
}

/* The report for what comes next: state after it has been sent. */
static void hid_next_report(const struct hid *h, enum hid_next what,
			    uint8_t *rep)
{
	memset(rep, 0, HID_REPORT_MAX);
	if (what == NEXT_REPEAT) {
		memcpy(rep, h->state, HID_REPORT_MAX);
	} else if (what == NEXT_EVENT && h->kind->keyboard) {
		rep[0] = h->keys[h->next].modifiers;
		rep[2] = h->keys[h->next].keycode;
	} else if (what == NEXT_EVENT) {
		rep[0] = h->moves[h->next].buttons;
		rep[1] = (uint8_t)h->moves[h->next].dx;
		rep[2] = (uint8_t)h->moves[h->next].dy;
		rep[3] = (uint8_t)h->moves[h->next].wheel;
	}
	/* NEXT_RELEASE: all keys up. */
}

/* A report went out: move the script on. A mouse's standing state has
 * its buttons only: repeating a movement would move the pointer twice. */
static void hid_sent(struct hid *h, enum hid_next what, const uint8_t *rep,
		     uint64_t now_ns)
{
	memcpy(h->state, rep, HID_REPORT_MAX);
	if (!h->kind->keyboard)
		memset(h->state + 1, 0, HID_REPORT_MAX - 1);
	if (what == NEXT_EVENT && h->kind->keyboard) {
		h->release_pending = true;
	} else if (what == NEXT_EVENT || what == NEXT_RELEASE) {
		h->release_pending = false;
		h->next++;
	}
	SIM_ASSERT(h->next <= h->nev);
	h->last_report_ns = now_ns;
	h->reports++;
}

static enum sim_usb_status hid_data(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	struct hid *h = hid_of(d);
	uint8_t rep[HID_REPORT_MAX];
	enum hid_next what;
	uint8_t n = report_len(h);

	/* The core lets through only the one endpoint there is. */
	SIM_ASSERT(x->ep == 1 && x->in && x->type == SIM_USB_EP_INTERRUPT);
	what = hid_next(h, x->now_ns);
	if (what == NEXT_NONE) {
		h->naks++;
		return SIM_USB_NAK;
	}
	if (n > x->len)
		return SIM_USB_BABBLE;
	hid_next_report(h, what, rep);
	memcpy(x->data, rep, n);
	x->actual = n;
	hid_sent(h, what, rep, x->now_ns);
	return SIM_USB_OK;
}

/* ---- class requests on the interface ---- */

/* HID 1.11 6.2.1: the HID descriptor, naming one report descriptor. */
static void hid_class_desc(const struct hid_kind *k, uint8_t *b)
{
	b[0] = 9;
	b[1] = SIM_USB_HID_DT_HID;
	b[2] = 0x11; /* bcdHID 1.11 */
	b[3] = 0x01;
	b[4] = 0; /* bCountryCode: not localized */
	b[5] = 1; /* bNumDescriptors */
	b[6] = SIM_USB_HID_DT_REPORT;
	b[7] = (uint8_t)k->report_desc_len;
	b[8] = (uint8_t)(k->report_desc_len >> 8);
}

static enum sim_usb_status hid_get_descriptor(struct hid *h,
					      struct sim_usb_xfer *x)
{
	uint8_t type = x->setup.wValue >> 8;
	uint8_t b[9];

	if ((x->setup.wValue & 0xff) != 0)
		return SIM_USB_STALL;
	if (type == SIM_USB_HID_DT_REPORT)
		return usb_class_reply(x, h->kind->report_desc,
				       h->kind->report_desc_len);
	if (type == SIM_USB_HID_DT_HID) {
		hid_class_desc(h->kind, b);
		return usb_class_reply(x, b, sizeof(b));
	}
	return SIM_USB_STALL;
}

/* No report IDs: the low byte of wValue (report ID) must be 0. */
static enum sim_usb_status hid_get(struct hid *h, struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;

	switch (s->bRequest) {
	case SIM_USB_HID_GET_REPORT:
		if (s->wValue == HID_REPORT_INPUT << 8)
			return usb_class_reply(x, h->state, report_len(h));
		if (s->wValue == HID_REPORT_OUTPUT << 8 && h->kind->keyboard)
			return usb_class_reply(x, &h->leds, 1);
		return SIM_USB_STALL;
	case SIM_USB_HID_GET_IDLE:
		return s->wValue ? SIM_USB_STALL
				 : usb_class_reply(x, &h->idle, 1);
	case SIM_USB_HID_GET_PROTOCOL:
		return s->wValue ? SIM_USB_STALL
				 : usb_class_reply(x, &h->protocol, 1);
	}
	return SIM_USB_STALL;
}

/* The idle period restarts at SET_IDLE: what a new rate counts from. */
static enum sim_usb_status hid_set(struct hid *h, struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;

	switch (s->bRequest) {
	case SIM_USB_HID_SET_REPORT:
		if (s->wValue != HID_REPORT_OUTPUT << 8 || s->wLength != 1 ||
		    !h->kind->keyboard)
			return SIM_USB_STALL;
		h->leds = x->data[0] & HID_LED_MASK;
		h->led_reports++;
		return SIM_USB_OK;
	case SIM_USB_HID_SET_IDLE:
		if ((s->wValue & 0xff) || s->wLength)
			return SIM_USB_STALL;
		h->idle = (uint8_t)(s->wValue >> 8);
		h->last_report_ns = x->now_ns;
		return SIM_USB_OK;
	case SIM_USB_HID_SET_PROTOCOL:
		if (s->wValue > HID_PROTOCOL_REPORT || s->wLength)
			return SIM_USB_STALL;
		h->protocol = (uint8_t)s->wValue;
		return SIM_USB_OK;
	}
	return SIM_USB_STALL;
}

/* The core has checked the interface exists; there is only interface 0.
 * Every HID request goes to the interface (HID 1.11 7.1, 7.2). */
static enum sim_usb_status hid_control(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	struct hid *h = hid_of(d);

	switch (x->setup.bmRequestType) {
	case SIM_USB_DIR_IN | SIM_USB_TYPE_STANDARD | SIM_USB_RECIP_INTERFACE:
		if (x->setup.bRequest != SIM_USB_REQ_GET_DESCRIPTOR)
			return SIM_USB_STALL;
		return hid_get_descriptor(h, x);
	case SIM_USB_DIR_IN | SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE:
		return hid_get(h, x);
	case SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE:
		return hid_set(h, x);
	}
	return SIM_USB_STALL;
}

/* HID 7.2.6: a device comes up in report protocol. The script position
 * is the user's input, not a transfer, and survives. */
static void hid_reset(struct sim_usb_device *d)
{
	struct hid *h = hid_of(d);

	h->protocol = HID_PROTOCOL_REPORT;
	h->idle = 0;
	h->leds = 0;
}

static void hid_destroy(struct sim_usb_device *d)
{
	struct hid *h = hid_of(d);

	h->magic = 0;
	free(h->keys);
	free(h->moves);
	free(h);
}

static const struct sim_usb_class hid_keyboard_class = {
    .name = "hid-keyboard",
    .control = hid_control,
    .data = hid_data,
    .reset = hid_reset,
    .destroy = hid_destroy,
};

static const struct sim_usb_class hid_mouse_class = {
    .name = "hid-mouse",
    .control = hid_control,
    .data = hid_data,
    .reset = hid_reset,
    .destroy = hid_destroy,
};

/* ---- construction ---- */

/* Class 0 in the device descriptor: the interface says what the device
 * is. One configuration: bus powered (100 mA), remote wakeup, one boot
 * interface with its HID descriptor and interrupt IN endpoint 1 polled
 * every 10 ms (low, full) or 2^(7-1) microframes = 8 ms (high). */
static void build_config(const struct hid_kind *k, enum sim_usb_speed speed,
			 uint8_t *c)
{
	uint8_t *p;

	p = usb_desc_config(c, HID_CONFIG_LEN, 1, 0xa0);
	p = usb_desc_iface(p, 0, 0, 1, 3, 1, k->protocol); /* HID, boot */
	hid_class_desc(k, p);
	p += 9;
	p = usb_desc_ep(p, HID_EP_IN, SIM_USB_EP_INTERRUPT, k->report_len,
			speed == SIM_USB_SPEED_HIGH ? 7 : 10);
	SIM_ASSERT(p == c + HID_CONFIG_LEN);
}

static int hid_new(const struct hid_kind *k, const struct sim_usb_class *cls,
		   enum sim_usb_speed speed, struct hid *h,
		   struct sim_usb_device **out, char *err, size_t errlen)
{
	uint8_t dev[USB_CLASS_DEVICE_LEN], config[HID_CONFIG_LEN];
	int rc;

	h->magic = HID_MAGIC;
	h->kind = k;
	h->protocol = HID_PROTOCOL_REPORT;
	usb_desc_device(dev, speed, 0, SIM_USB_HID_VENDOR, k->pid);
	build_config(k, speed, config);
	rc = usb_class_device_new(dev, config, k->strings, 3, speed, cls, h,
				  out, err, errlen);
	if (rc) {
		free(h->keys);
		free(h->moves);
		free(h);
	}
	return rc;
}

static int check_speed(const char *name, enum sim_usb_speed speed, char *err,
		       size_t errlen)
{
	if (speed == SIM_USB_SPEED_LOW || speed == SIM_USB_SPEED_FULL ||
	    speed == SIM_USB_SPEED_HIGH)
		return 0;
	return usb_class_fail(err, errlen,
			      "usb %s: speed %d is not low, full or high", name,
			      (int)speed);
}

static int check_keys(const struct sim_usb_hid_key_event *ev, unsigned nev,
		      char *err, size_t errlen)
{
	unsigned i;

	if (nev && !ev)
		return usb_class_fail(err, errlen,
				      "usb hid-keyboard: %u events, no "
				      "array",
				      nev);
	for (i = 0; i < nev; i++) {
		uint8_t key = ev[i].keycode;

		if (i && ev[i].at_ns < ev[i - 1].at_ns)
			return usb_class_fail(
			    err, errlen,
			    "usb hid-keyboard: event %u at %llu ns "
			    "before event %u",
			    i, (unsigned long long)ev[i].at_ns, i - 1);
		if (key ? key < KEY_FIRST || key > KEY_LAST : !ev[i].modifiers)
			return usb_class_fail(
			    err, errlen,
			    "usb hid-keyboard: event %u: key code "
			    "0x%02x outside 0x04..0x65 (0 needs "
			    "modifiers)",
			    i, key);
	}
	return 0;
}

static int check_moves(const struct sim_usb_hid_mouse_event *ev, unsigned nev,
		       char *err, size_t errlen)
{
	unsigned i;

	if (nev && !ev)
		return usb_class_fail(
		    err, errlen, "usb hid-mouse: %u events, no array", nev);
	for (i = 0; i < nev; i++) {
		if (i && ev[i].at_ns < ev[i - 1].at_ns)
			return usb_class_fail(
			    err, errlen,
			    "usb hid-mouse: event %u at %llu ns "
			    "before event %u",
			    i, (unsigned long long)ev[i].at_ns, i - 1);
		if (ev[i].buttons > 7 || ev[i].dx == -128 || ev[i].dy == -128 ||
		    ev[i].wheel == -128)
			return usb_class_fail(
			    err, errlen,
			    "usb hid-mouse: event %u: buttons above "
			    "7 or a movement of -128 (the report "
			    "says -127..127)",
			    i);
	}
	return 0;
}

int sim_usb_hid_keyboard_new(enum sim_usb_speed speed,
			     const struct sim_usb_hid_key_event *ev,
			     unsigned nev, struct sim_usb_device **out,
			     char *err, size_t errlen)
{
	struct hid *h;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	rc = check_speed(hid_keyboard_class.name, speed, err, errlen);
	if (!rc)
		rc = check_keys(ev, nev, err, errlen);
	if (rc)
		return rc;
	h = sim_xcalloc(1, sizeof(*h));
	h->keys = sim_xmalloc(nev * sizeof(*ev));
	if (nev)
		memcpy(h->keys, ev, nev * sizeof(*ev));
	h->nev = nev;
	return hid_new(&hid_keyboard, &hid_keyboard_class, speed, h, out, err,
		       errlen);
}

int sim_usb_hid_mouse_new(enum sim_usb_speed speed,
			  const struct sim_usb_hid_mouse_event *ev,
			  unsigned nev, struct sim_usb_device **out, char *err,
			  size_t errlen)
{
	struct hid *h;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	rc = check_speed(hid_mouse_class.name, speed, err, errlen);
	if (!rc)
		rc = check_moves(ev, nev, err, errlen);
	if (rc)
		return rc;
	h = sim_xcalloc(1, sizeof(*h));
	h->moves = sim_xmalloc(nev * sizeof(*ev));
	if (nev)
		memcpy(h->moves, ev, nev * sizeof(*ev));
	h->nev = nev;
	return hid_new(&hid_mouse, &hid_mouse_class, speed, h, out, err,
		       errlen);
}

void sim_usb_hid_stats(const struct sim_usb_device *d,
		       struct sim_usb_hid_stats *st)
{
	const struct hid *h = hid_of(d);

	memset(st, 0, sizeof(*st));
	st->reports = h->reports;
	st->naks = h->naks;
	st->events_done = h->next;
	st->events = h->nev;
	st->leds = h->leds;
	st->led_reports = h->led_reports;
	st->protocol = h->protocol;
	st->idle = h->idle;
}

uint8_t sim_usb_hid_usage_of_char(char c)
{
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(KEY_FIRST + (c - 'a'));
	if (c >= '1' && c <= '9')
		return (uint8_t)(0x1e + (c - '1'));
	if (c == '0')
		return 0x27;
	return c == ' ' ? 0x2c : 0;
}

void sim_usb_hid_mouse_pattern(unsigned i, struct sim_usb_hid_mouse_event *ev)
{
	ev->buttons = (uint8_t)(i % 3 == 2 ? 1u << (i / 3 % 3) : 0);
	ev->dx = (int8_t)(1 + (int)(i % 17));
	ev->dy = (int8_t)(-1 - (int)(i % 13));
	ev->wheel = 0;
}
