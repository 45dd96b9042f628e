/*
 * The replay device (usb_replay.h): a class on the chapter 9 core whose
 * descriptors and answers come from a capture. Construction sorts the
 * captured transfers by who answers them (the core, the descriptor
 * table, the script, nobody); the script is one queue per endpoint and
 * direction (a linked list through the copied transfers, in capture
 * order), consumed by the class's control and data hooks.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_replay.h"

#define REPLAY_MAGIC	 0x52504c59u /* "RPLY" */
#define EP_NUM_MAX	 15
#define NO_NEXT		 UINT_MAX
#define DEV_DESC_LEN	 18
#define LANG_EN_US	 0x0409
#define SHOWN_BYTES	 8 /* of the data in a divergence message */
#define TYPE_RESERVED	 0x60
#define HUB_DEVICE_CLASS 9

enum role {
	ROLE_SCRIPT, /* answered in capture order */
	ROLE_TABLE,  /* GET_DESCRIPTOR of an interface or endpoint */
	ROLE_CORE,   /* a standard request the core answers */
	ROLE_NONE,   /* cancelled, isochronous, or unreachable */
};

struct script_xfer {
	struct sim_usb_cap_xfer x; /* data owned */
	unsigned next;		   /* in its queue, or NO_NEXT */
};

struct queue {
	unsigned head, tail; /* head: the next expected; NO_NEXT: empty */
	bool waiting;	     /* an IN attempt started the captured wait */
	uint64_t wait_from_ns;
};

/* An answer to GET_DESCRIPTOR at an interface or endpoint. */
struct table_desc {
	uint8_t bmRequestType;
	uint16_t wValue, wIndex;
	uint8_t *data;
	uint32_t len;
};

struct replay {
	uint32_t magic;
	struct sim_usb_replay_params params;
	struct script_xfer *xf;
	unsigned nxf;
	struct queue ctl;
	struct queue data[2][EP_NUM_MAX + 1]; /* [in][ep] */
	struct table_desc *table;
	unsigned ntable;
	struct sim_usb_replay_stats st;
};

static struct replay *replay_of(const struct sim_usb_device *d)
{
	struct replay *r = sim_usb_device_class_priv(d);

	SIM_ASSERT(r && r->magic == REPLAY_MAGIC);
	return r;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- sorting the capture ---- */

static bool std_owned(uint8_t recip, uint8_t req)
{
	if (recip == SIM_USB_RECIP_INTERFACE)
		return req == SIM_USB_REQ_GET_STATUS ||
		       req == SIM_USB_REQ_GET_INTERFACE ||
		       req == SIM_USB_REQ_SET_INTERFACE;
	if (recip == SIM_USB_RECIP_ENDPOINT)
		return req == SIM_USB_REQ_GET_STATUS ||
		       req == SIM_USB_REQ_CLEAR_FEATURE ||
		       req == SIM_USB_REQ_SET_FEATURE;
	return true; /* device: all; other recipients: the core stalls */
}

static bool is_table_request(const struct sim_usb_setup *s)
{
	uint8_t recip = s->bmRequestType & SIM_USB_RECIP_MASK;

	return (s->bmRequestType & SIM_USB_TYPE_MASK) ==
		   SIM_USB_TYPE_STANDARD &&
	       (s->bmRequestType & SIM_USB_DIR_IN) &&
	       s->bRequest == SIM_USB_REQ_GET_DESCRIPTOR &&
	       (recip == SIM_USB_RECIP_INTERFACE ||
		recip == SIM_USB_RECIP_ENDPOINT);
}

static enum role classify(const struct sim_usb_cap_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	uint8_t recip = s->bmRequestType & SIM_USB_RECIP_MASK;
	uint8_t type = s->bmRequestType & SIM_USB_TYPE_MASK;

	if (x->cancelled || x->type == SIM_USB_EP_ISO)
		return ROLE_NONE;
	if (x->type != SIM_USB_EP_CONTROL)
		return x->ep ? ROLE_SCRIPT : ROLE_NONE;
	if (x->ep != 0)
		return ROLE_NONE; /* the core has no other control pipes */
	if (type == SIM_USB_TYPE_STANDARD) {
		if (is_table_request(s))
			return ROLE_TABLE;
		return std_owned(recip, s->bRequest) ? ROLE_CORE : ROLE_SCRIPT;
	}
	if (type == TYPE_RESERVED || recip > SIM_USB_RECIP_ENDPOINT)
		return ROLE_NONE; /* the core stalls them before any class */
	return ROLE_SCRIPT;
}

static bool answered(const struct sim_usb_cap_xfer *x)
{
	return !x->cancelled && x->status == SIM_USB_OK;
}

/* A captured GET_DESCRIPTOR(type, index) of the device, answered. */
static bool is_get_desc(const struct sim_usb_cap_xfer *x, uint8_t type)
{
	return x->type == SIM_USB_EP_CONTROL && answered(x) &&
	       x->setup.bmRequestType == 0x80 &&
	       x->setup.bRequest == SIM_USB_REQ_GET_DESCRIPTOR &&
	       x->setup.wValue >> 8 == type && x->len >= 2 &&
	       x->data[1] == type;
}

/* The last complete device descriptor and the longest complete
 * configuration 0. */
static int find_descriptors(const struct sim_usb_capture *cap,
			    const uint8_t **dev, const uint8_t **config,
			    char *err, size_t errlen)
{
	unsigned i, best = 0;

	*dev = *config = NULL;
	for (i = 0; i < cap->nxfers; i++) {
		const struct sim_usb_cap_xfer *x = &cap->xfers[i];

		if (is_get_desc(x, SIM_USB_DT_DEVICE) && x->len >= 18 &&
		    x->data[0] == DEV_DESC_LEN)
			*dev = x->data;
		if (is_get_desc(x, SIM_USB_DT_CONFIG) &&
		    (x->setup.wValue & 0xff) == 0 && x->len >= 4 &&
		    x->len >= get16(x->data + 2) && x->len > best) {
			*config = x->data;
			best = x->len;
		}
	}
	if (!*dev || !*config) {
		snprintf(err, errlen,
			 "capture: device %u.%u: no complete %s descriptor in "
			 "the capture",
			 cap->bus, cap->addr,
			 *dev ? "configuration" : "device");
		return -EINVAL;
	}
	return 0;
}

/* ---- strings ---- */

/* The highest string index the descriptors name. */
static unsigned strings_named(const uint8_t *dev, const uint8_t *config)
{
	unsigned total = get16(config + 2), off = 0, top = 0;

	top = dev[14] > top ? dev[14] : top;
	top = dev[15] > top ? dev[15] : top;
	top = dev[16] > top ? dev[16] : top;
	while (off + 2 <= total && config[off] >= 2 &&
	       config[off] <= total - off) {
		const uint8_t *x = config + off;

		if (x[1] == SIM_USB_DT_CONFIG && x[0] > 6 && x[6] > top)
			top = x[6];
		if (x[1] == SIM_USB_DT_INTERFACE && x[0] > 8 && x[8] > top)
			top = x[8];
		off += x[0];
	}
	return top;
}

/* A captured string descriptor as printable ASCII. */
static char *ascii_of(const struct sim_usb_cap_xfer *x)
{
	unsigned n = x->data[0] < x->len ? x->data[0] : x->len;
	unsigned chars = n >= 2 ? (n - 2) / 2 : 0, i;
	char *s = sim_xmalloc(chars + 1);

	for (i = 0; i < chars; i++) {
		uint16_t c = get16(x->data + 2 + 2 * i);

		s[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	s[chars] = 0;
	return s;
}

/* strings[i] for index i + 1: the captured one (US English preferred),
 * else "". */
static char **collect_strings(const struct sim_usb_capture *cap,
			      unsigned nstrings)
{
	char **s = sim_xcalloc(nstrings ? nstrings : 1, sizeof(*s));
	bool *english = sim_xcalloc(nstrings ? nstrings : 1, 1);
	unsigned i, k;

	for (i = 0; i < cap->nxfers; i++) {
		const struct sim_usb_cap_xfer *x = &cap->xfers[i];
		bool en = x->setup.wIndex == LANG_EN_US;

		if (!is_get_desc(x, SIM_USB_DT_STRING))
			continue;
		k = x->setup.wValue & 0xff;
		if (k == 0 || k > nstrings || (s[k - 1] && english[k - 1]) ||
		    (s[k - 1] && !en))
			continue;
		free(s[k - 1]);
		s[k - 1] = ascii_of(x);
		english[k - 1] = en;
	}
	for (k = 0; k < nstrings; k++)
		if (!s[k])
			s[k] = sim_xstrdup("");
	free(english);
	return s;
}

static void free_strings(char **s, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

static unsigned highest_captured_string(const struct sim_usb_capture *cap)
{
	unsigned i, top = 0;

	for (i = 0; i < cap->nxfers; i++)
		if (is_get_desc(&cap->xfers[i], SIM_USB_DT_STRING) &&
		    (cap->xfers[i].setup.wValue & 0xff) > top)
			top = cap->xfers[i].setup.wValue & 0xff;
	return top;
}

/* ---- the script and the table ---- */

static void queue_init(struct queue *q)
{
	q->head = q->tail = NO_NEXT;
	q->waiting = false;
}

static void enqueue(struct replay *r, struct queue *q, unsigned i)
{
	r->xf[i].next = NO_NEXT;
	if (q->head == NO_NEXT)
		q->head = i;
	else
		r->xf[q->tail].next = i;
	q->tail = i;
}

static uint8_t *copy_bytes(const uint8_t *p, uint32_t n)
{
	uint8_t *c = n ? sim_xmalloc(n) : NULL;

	if (n)
		memcpy(c, p, n);
	return c;
}

static void add_table(struct replay *r, const struct sim_usb_cap_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	struct table_desc *t;
	unsigned i;

	if (!answered(x))
		return;
	for (i = 0; i < r->ntable; i++) {
		t = &r->table[i];
		if (t->bmRequestType == s->bmRequestType &&
		    t->wValue == s->wValue && t->wIndex == s->wIndex)
			break;
	}
	t = &r->table[i];
	if (i == r->ntable) {
		r->ntable++;
		t->bmRequestType = s->bmRequestType;
		t->wValue = s->wValue;
		t->wIndex = s->wIndex;
	} else if (x->len <= t->len) {
		return; /* keep the longest answer */
	}
	free(t->data);
	t->data = copy_bytes(x->data, x->len);
	t->len = x->len;
}

static void add_script(struct replay *r, const struct sim_usb_cap_xfer *x)
{
	unsigned i = r->nxf++;

	r->xf[i].x = *x;
	r->xf[i].x.data = copy_bytes(x->data, x->len);
	if (x->type == SIM_USB_EP_CONTROL)
		enqueue(r, &r->ctl, i);
	else
		enqueue(r, &r->data[x->in][x->ep], i);
}

static struct replay *replay_build(const struct sim_usb_capture *cap,
				   const struct sim_usb_replay_params *p)
{
	struct replay *r = sim_xcalloc(1, sizeof(*r));
	unsigned i, j;
	size_t n = cap->nxfers ? cap->nxfers : 1;

	r->magic = REPLAY_MAGIC;
	if (p)
		r->params = *p;
	if (!r->params.wait_max_ns)
		r->params.wait_max_ns = SIM_USB_REPLAY_WAIT_MAX_NS;
	r->xf = sim_xcalloc(n, sizeof(*r->xf));
	r->table = sim_xcalloc(n, sizeof(*r->table));
	queue_init(&r->ctl);
	for (i = 0; i < 2; i++)
		for (j = 0; j <= EP_NUM_MAX; j++)
			queue_init(&r->data[i][j]);
	r->st.transfers = cap->nxfers;
	for (i = 0; i < cap->nxfers; i++) {
		const struct sim_usb_cap_xfer *x = &cap->xfers[i];

		switch (classify(x)) {
		case ROLE_SCRIPT:
			add_script(r, x);
			r->st.scripted++;
			break;
		case ROLE_TABLE:
			add_table(r, x);
			r->st.by_descriptors++;
			break;
		case ROLE_CORE:
			r->st.by_descriptors++;
			break;
		case ROLE_NONE:
			r->st.not_replayed++;
			break;
		}
	}
	return r;
}

static void replay_free(struct replay *r)
{
	unsigned i;

	for (i = 0; i < r->nxf; i++)
		free(r->xf[i].x.data);
	for (i = 0; i < r->ntable; i++)
		free(r->table[i].data);
	free(r->xf);
	free(r->table);
	free(r);
}

/* ---- divergence ---- */

static void put_bytes(char *b, size_t n, const uint8_t *p, uint32_t len)
{
	size_t used = strlen(b);
	uint32_t i;

	for (i = 0; i < len && i < SHOWN_BYTES && used < n; i++)
		used += (size_t)snprintf(b + used, n - used, " %02x", p[i]);
	if (len > SHOWN_BYTES && used < n)
		snprintf(b + used, n - used, " ...");
}

static void describe_setup(char *b, size_t n, const struct sim_usb_setup *s,
			   const uint8_t *data, uint32_t len)
{
	snprintf(b, n, "SETUP %02x %02x %04x %04x %04x", s->bmRequestType,
		 s->bRequest, s->wValue, s->wIndex, s->wLength);
	if (!(s->bmRequestType & SIM_USB_DIR_IN) && len) {
		size_t used = strlen(b);

		if (used < n)
			snprintf(b + used, n - used, " data");
		put_bytes(b, n, data, len);
	}
}

static void describe_data(char *b, size_t n, bool in, const uint8_t *data,
			  uint32_t len, const char *what)
{
	snprintf(b, n, "%s %s of %" PRIu32 " bytes", in ? "IN" : "OUT", what,
		 len);
	if (!in)
		put_bytes(b, n, data, len);
}

static void describe_expected(char *b, size_t n, const struct script_xfer *e)
{
	const struct sim_usb_cap_xfer *c;

	if (!e) {
		snprintf(b, n, "nothing (the capture has no more)");
		return;
	}
	c = &e->x;
	if (c->type == SIM_USB_EP_CONTROL)
		describe_setup(b, n, &c->setup, c->data, c->len);
	else
		describe_data(b, n, c->in, c->data, c->len,
			      c->in ? "answer" : "data");
}

/* Records the first divergence only; got is what the guest sent. */
static void diverge(struct replay *r, const struct sim_usb_xfer *x,
		    const struct script_xfer *expected, const char *got)
{
	struct sim_usb_replay_divergence *dv = &r->st.div;

	if (r->st.diverged)
		return;
	r->st.diverged = true;
	dv->now_ns = x->now_ns;
	dv->ep = x->ep;
	dv->in = x->in;
	dv->type = x->type;
	dv->record = expected ? expected->x.record : 0;
	describe_expected(dv->expected, sizeof(dv->expected), expected);
	if (got) {
		snprintf(dv->got, sizeof(dv->got), "%s", got);
	} else if (x->type == SIM_USB_EP_CONTROL) {
		describe_setup(dv->got, sizeof(dv->got), &x->setup, x->data,
			       x->setup.wLength);
	} else {
		describe_data(dv->got, sizeof(dv->got), x->in, x->data, x->len,
			      "data");
	}
}

/* ---- answering ---- */

static bool ctl_matches(const struct sim_usb_cap_xfer *c,
			const struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *a = &c->setup, *b = &x->setup;

	if (a->bmRequestType != b->bmRequestType ||
	    a->bRequest != b->bRequest || a->wValue != b->wValue ||
	    a->wIndex != b->wIndex || a->wLength != b->wLength)
		return false;
	if (x->in)
		return true;
	return c->len == b->wLength &&
	       (c->len == 0 || memcmp(c->data, x->data, c->len) == 0);
}

/* A captured control answer, within wLength. */
static enum sim_usb_status ctl_answer(struct replay *r,
				      const struct sim_usb_cap_xfer *c,
				      struct sim_usb_xfer *x)
{
	uint32_t n;

	r->st.replayed++;
	if (c->status != SIM_USB_OK)
		return c->status;
	if (x->in) {
		n = c->len < x->setup.wLength ? c->len : x->setup.wLength;
		if (n)
			memcpy(x->data, c->data, n);
		x->actual = n;
	}
	return SIM_USB_OK;
}

static enum sim_usb_status table_answer(struct replay *r,
					struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	unsigned i;
	uint32_t n;

	for (i = 0; i < r->ntable; i++) {
		const struct table_desc *t = &r->table[i];

		if (t->bmRequestType != s->bmRequestType ||
		    t->wValue != s->wValue || t->wIndex != s->wIndex)
			continue;
		n = t->len < s->wLength ? t->len : s->wLength;
		if (n)
			memcpy(x->data, t->data, n);
		x->actual = n;
		return SIM_USB_OK;
	}
	return SIM_USB_STALL; /* the real device never showed it */
}

/* After a divergence: the next captured request with this setup and
 * data, from where the script stopped. */
static enum sim_usb_status ctl_resync(struct replay *r, struct sim_usb_xfer *x)
{
	unsigned i, passed = 0;

	for (i = r->ctl.head; i != NO_NEXT; i = r->xf[i].next, passed++) {
		if (!ctl_matches(&r->xf[i].x, x))
			continue;
		r->st.skipped += passed;
		r->ctl.head = r->xf[i].next;
		return ctl_answer(r, &r->xf[i].x, x);
	}
	return SIM_USB_STALL;
}

static enum sim_usb_status replay_control(struct sim_usb_device *d,
					  struct sim_usb_xfer *x)
{
	struct replay *r = replay_of(d);
	unsigned i = r->ctl.head;

	if (is_table_request(&x->setup))
		return table_answer(r, x);
	if (r->st.diverged)
		return ctl_resync(r, x);
	if (i != NO_NEXT && ctl_matches(&r->xf[i].x, x)) {
		r->ctl.head = r->xf[i].next;
		return ctl_answer(r, &r->xf[i].x, x);
	}
	diverge(r, x, i == NO_NEXT ? NULL : &r->xf[i], NULL);
	return SIM_USB_STALL;
}

/* Isochronous endpoints are not replayed (usb_replay.h). */
static enum sim_usb_status iso_answer(struct sim_usb_xfer *x)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < x->npackets; i++) {
		struct sim_usb_iso_packet *pk = &x->packets[i];

		pk->actual = x->in ? 0 : pk->length;
		pk->status = SIM_USB_OK;
		total += pk->actual;
	}
	x->actual = total < x->len ? (uint32_t)total : x->len;
	return SIM_USB_OK;
}

static enum sim_usb_status data_answer(struct sim_usb_device *d,
				       struct replay *r,
				       const struct sim_usb_cap_xfer *c,
				       struct sim_usb_xfer *x)
{
	r->st.replayed++;
	if (c->status == SIM_USB_STALL) {
		sim_usb_device_halt(d, x->ep, x->in);
		return SIM_USB_STALL;
	}
	if (c->status != SIM_USB_OK)
		return c->status;
	if (x->in) {
		SIM_ASSERT(c->len <= x->len);
		if (c->len)
			memcpy(x->data, c->data, c->len);
		x->actual = c->len;
	}
	return SIM_USB_OK;
}

/* How long the real device kept this IN waiting, within the cap. */
static bool still_waiting(struct replay *r, struct queue *q,
			  const struct sim_usb_cap_xfer *c, uint64_t now_ns)
{
	uint64_t wait = c->done_ns - c->submit_ns;

	if (r->params.ignore_timing || c->done_ns < c->submit_ns)
		return false;
	if (wait > r->params.wait_max_ns)
		wait = r->params.wait_max_ns;
	if (!q->waiting) {
		q->waiting = true;
		q->wait_from_ns = now_ns;
	}
	return now_ns < q->wait_from_ns || now_ns - q->wait_from_ns < wait;
}

static enum sim_usb_status data_in(struct sim_usb_device *d, struct replay *r,
				   struct queue *q, struct sim_usb_xfer *x)
{
	struct script_xfer *e = &r->xf[q->head];
	char got[64];

	if (still_waiting(r, q, &e->x, x->now_ns))
		return SIM_USB_NAK;
	if (e->x.status == SIM_USB_OK && e->x.len > x->len) {
		snprintf(got, sizeof(got), "IN buffer of %" PRIu32 " bytes",
			 x->len);
		diverge(r, x, e, got);
		return SIM_USB_BABBLE; /* the device sends what it sent */
	}
	q->head = e->next;
	q->waiting = false;
	return data_answer(d, r, &e->x, x);
}

static enum sim_usb_status replay_data(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	struct replay *r = replay_of(d);
	struct queue *q;
	struct script_xfer *e;

	if (x->type == SIM_USB_EP_ISO)
		return iso_answer(x);
	SIM_ASSERT(x->ep >= 1 && x->ep <= EP_NUM_MAX);
	q = &r->data[x->in][x->ep];
	if (r->st.diverged)
		return x->in ? SIM_USB_NAK : SIM_USB_STALL;
	if (q->head == NO_NEXT) {
		if (x->in) {
			r->st.polls_past_end++;
			return SIM_USB_NAK;
		}
		diverge(r, x, NULL, NULL);
		return SIM_USB_STALL;
	}
	if (x->in)
		return data_in(d, r, q, x);
	e = &r->xf[q->head];
	if (e->x.len != x->len ||
	    (x->len && memcmp(e->x.data, x->data, x->len) != 0)) {
		diverge(r, x, e, NULL);
		return SIM_USB_STALL;
	}
	q->head = e->next;
	return data_answer(d, r, &e->x, x);
}

/* A bus reset or a new configuration: the captured waits start again. */
static void replay_reset(struct sim_usb_device *d)
{
	struct replay *r = replay_of(d);
	unsigned i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j <= EP_NUM_MAX; j++)
			r->data[i][j].waiting = false;
}

static void replay_destroy(struct sim_usb_device *d)
{
	replay_free(replay_of(d));
}

static const struct sim_usb_class replay_class = {
    .name = "capture",
    .control = replay_control,
    .data = replay_data,
    .reset = replay_reset,
    .destroy = replay_destroy,
};

/* ---- speed ---- */

static enum sim_usb_speed infer_speed(const uint8_t *dev, const uint8_t *config)
{
	unsigned total = get16(config + 2), off = 0;
	bool low = get16(dev + 2) < 0x0200 && dev[7] == 8;

	while (off + 2 <= total && config[off] >= 2 &&
	       config[off] <= total - off) {
		const uint8_t *e = config + off;
		unsigned mps, type;

		off += e[0];
		if (e[1] != SIM_USB_DT_ENDPOINT || e[0] < 7)
			continue;
		mps = get16(e + 4) & 0x7ff;
		type = e[3] & 3;
		if ((type == SIM_USB_EP_BULK && mps == 512) ||
		    (type != SIM_USB_EP_BULK && mps > 64))
			return SIM_USB_SPEED_HIGH;
		if (type != SIM_USB_EP_INTERRUPT || mps > 8 || e[6] < 10)
			low = false;
	}
	return low ? SIM_USB_SPEED_LOW : SIM_USB_SPEED_FULL;
}

/* The given speed only, or the inferred one then the others. */
static unsigned speeds_to_try(const struct sim_usb_replay_params *p,
			      const uint8_t *dev, const uint8_t *config,
			      enum sim_usb_speed out[3])
{
	static const enum sim_usb_speed all[] = {
	    SIM_USB_SPEED_FULL, SIM_USB_SPEED_HIGH, SIM_USB_SPEED_LOW};
	unsigned i, n = 0;

	if (p && p->speed) {
		out[0] = p->speed;
		return 1;
	}
	out[n++] = infer_speed(dev, config);
	for (i = 0; i < 3; i++)
		if (all[i] != out[0])
			out[n++] = all[i];
	return n;
}

int sim_usb_replay_new(const struct sim_usb_capture *cap,
		       const struct sim_usb_replay_params *params,
		       struct sim_usb_device **out, char *err, size_t errlen)
{
	const uint8_t *dev, *config;
	struct sim_usb_descriptors desc;
	enum sim_usb_speed speeds[3];
	unsigned nspeeds, nstrings, i;
	char first_err[256] = "", scratch[256];
	struct replay *r;
	char **strings;
	int rc;

	SIM_ASSERT(cap && out);
	*out = NULL;
	rc = find_descriptors(cap, &dev, &config, err, errlen);
	if (rc)
		return rc;
	nstrings = strings_named(dev, config);
	if (highest_captured_string(cap) > nstrings)
		nstrings = highest_captured_string(cap);
	strings = collect_strings(cap, nstrings);
	desc = (struct sim_usb_descriptors){
	    .device = dev,
	    .config = config,
	    .strings = (const char *const *)strings,
	    .nstrings = nstrings,
	};
	r = replay_build(cap, params);
	nspeeds = speeds_to_try(params, dev, config, speeds);
	rc = -EINVAL;
	for (i = 0; i < nspeeds && rc; i++) {
		rc =
		    sim_usb_device_new(&desc, speeds[i], &replay_class, r, out,
				       i ? scratch : first_err,
				       i ? sizeof(scratch) : sizeof(first_err));
		r->st.speed = speeds[i];
	}
	free_strings(strings, nstrings);
	if (rc) {
		replay_free(r);
		snprintf(err, errlen, "capture: device %u.%u: %s", cap->bus,
			 cap->addr, first_err);
		return rc;
	}
	return 0;
}

void sim_usb_replay_stats(const struct sim_usb_device *d,
			  struct sim_usb_replay_stats *st)
{
	*st = replay_of(d)->st;
}

void sim_usb_replay_report(const struct sim_usb_device *d, char *buf,
			   size_t len)
{
	const struct sim_usb_replay_stats *st = &replay_of(d)->st;
	const struct sim_usb_replay_divergence *dv = &st->div;
	int n;

	n = snprintf(buf, len,
		     "replayed %u of %u scripted transfers (%u in the capture: "
		     "%u answered from descriptors, %u not replayed; %u "
		     "skipped)",
		     st->replayed, st->scripted, st->transfers,
		     st->by_descriptors, st->not_replayed, st->skipped);
	if (!st->diverged || n < 0 || (size_t)n >= len)
		return;
	snprintf(buf + n, len - (size_t)n,
		 "; diverged at %" PRIu64 " ns on endpoint %u %s: expected "
		 "%s, got %s (capture record %u)",
		 dv->now_ns, dv->ep, dv->in ? "IN" : "OUT", dv->expected,
		 dv->got, dv->record);
}
