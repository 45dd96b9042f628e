/*
 * The capture reader (usb_capture.h): libpcap hands over one record at a
 * time; a decoder per format turns it into a struct cap_event (a
 * submission, a completion, or a USBPcap control data stage), and the
 * matcher pairs events into transfers by URB or IRP id. Every transfer of
 * every device is kept until the end, then the chosen device's are kept
 * and the rest freed.
 *
 * Record fields are read at the offsets of the formats' documentation:
 * usbmon (Linux Documentation/usb/usbmon.rst, "binary interface") in host
 * byte order, since libpcap swaps a usbmon header from a file of the
 * other byte order; USBPcap (desowin.org/usbpcap/captureformat.html)
 * little-endian always.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_capture.h"

#define USBMON_HDR_LEN	     48
#define USBMON_MMAP_HDR_LEN  64
#define USBMON_ISO_DESC_LEN  16
#define USBPCAP_HDR_LEN	     27
#define USBPCAP_CTL_HDR_LEN  28
#define USBPCAP_ISO_HDR_LEN  39 /* base, startFrame, packets, errors */
#define USBPCAP_ISO_PKT_LEN  12
#define USBPCAP_INFO_PDO_FDO 0x01 /* set on the way back: a completion */
#define USB_SETUP_LEN	     8

/* USBD_STATUS values (Windows usb.h) the replay tells apart. */
#define USBD_STATUS_SUCCESS	    0x00000000u
#define USBD_STATUS_STALL_PID	    0xc0000004u
#define USBD_STATUS_DATA_OVERRUN    0xc0000008u
#define USBD_STATUS_BUFFER_OVERRUN  0xc000000cu
#define USBD_STATUS_ENDPOINT_HALTED 0xc0000030u
#define USBD_STATUS_CANCELED	    0xc0010000u

enum ev_kind {
	EV_SUBMIT,
	EV_COMPLETE,
	EV_DATA_OUT, /* USBPcap control: OUT data stage on the way down */
	EV_DATA_IN,  /* USBPcap control: IN data stage before STATUS */
	EV_SKIP,     /* USBPcap IRP info and unknown transfer types */
};

/* One record, decoded; data points into libpcap's buffer. */
struct cap_event {
	enum ev_kind kind;
	uint64_t id;
	uint16_t bus, addr;
	uint8_t epaddr;
	enum sim_usb_ep_type type;
	bool has_setup;
	uint8_t setup[USB_SETUP_LEN];
	int32_t raw_status;
	enum sim_usb_status status;
	bool cancelled;
	uint32_t urb_len; /* usbmon: asked (submission) or moved (completion) */
	const uint8_t *data;
	uint32_t datalen;
	unsigned npackets;
};

/* A transfer of any device while the file is read. */
struct slot {
	struct sim_usb_cap_xfer x;
	uint64_t id;
	uint16_t bus, addr;
	bool done;
};

struct reader {
	const char *name;
	pcap_t *p;
	int linktype;
	unsigned record;
	long offset; /* of the current record */
	uint64_t first_ns;
	uint64_t now_ns;
	char *err;
	size_t errlen;
	struct slot *slots;
	unsigned nslots, slots_cap;
	unsigned *pending; /* indices into slots, not done */
	unsigned npending;
	struct sim_usb_capture *c;
};

__attribute__((format(printf, 2, 3))) static int rec_fail(struct reader *r,
							  const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->err && r->errlen)
		snprintf(r->err, r->errlen,
			 "%s: record %u (byte offset %ld): %s", r->name,
			 r->record, r->offset, what);
	return -EINVAL;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void setup_from_bytes(struct sim_usb_setup *s, const uint8_t *b)
{
	s->bmRequestType = b[0];
	s->bRequest = b[1];
	s->wValue = le16(b + 2);
	s->wIndex = le16(b + 4);
	s->wLength = le16(b + 6);
}

/* usbmon's xfer_type and USBPCAP_TRANSFER_* number the types in another
 * order than bmAttributes (ISO 0, interrupt 1, control 2, bulk 3). */
static const enum sim_usb_ep_type capture_types[4] = {
    SIM_USB_EP_ISO, SIM_USB_EP_INTERRUPT, SIM_USB_EP_CONTROL, SIM_USB_EP_BULK};

/* ---- usbmon ---- */

/* A completion's -errno as the device's answer. */
static void usbmon_status(struct cap_event *ev, int32_t st)
{
	ev->raw_status = st;
	ev->cancelled = false;
	switch (st == INT32_MIN ? 1 : -st) { /* INT32_MIN: any error */
	case 0:
	case EREMOTEIO: /* short transfer with URB_SHORT_NOT_OK: data moved */
		ev->status = SIM_USB_OK;
		return;
	case EPIPE:
		ev->status = SIM_USB_STALL;
		return;
	case EOVERFLOW:
		ev->status = SIM_USB_BABBLE;
		return;
	case ENOENT:
	case ECONNRESET:
	case ESHUTDOWN:
	case ENODEV:
		ev->cancelled = true; /* unlinked or gone: no answer */
		ev->status = SIM_USB_IOERROR;
		return;
	}
	ev->status = SIM_USB_IOERROR; /* EPROTO, EILSEQ, ETIME, ... */
}

/* Fields of struct usbmon_packet by offset (usbmon.rst): id 0, type 8,
 * xfer_type 9, epnum 10, devnum 11, busnum 12, flag_setup 14, flag_data
 * 15, ts 16, status 28, length 32, len_cap 36, setup 40; mmapped adds
 * interval 48, start_frame 52, xfer_flags 56, ndesc 60. */
static int decode_usbmon(struct reader *r, const uint8_t *d, uint32_t caplen,
			 bool mmapped, struct cap_event *ev)
{
	uint32_t hdr = mmapped ? USBMON_MMAP_HDR_LEN : USBMON_HDR_LEN;
	uint32_t len_cap, ndesc = 0, off;
	int32_t status;

	if (caplen < hdr)
		return rec_fail(r,
				"usbmon header needs %u bytes, the record "
				"has %u",
				hdr, caplen);
	memcpy(&ev->id, d, 8);
	if (d[8] != 'S' && d[8] != 'C' && d[8] != 'E')
		return rec_fail(r, "usbmon event type 0x%02x is not S, C or E",
				d[8]);
	if (d[9] > 3)
		return rec_fail(r, "usbmon transfer type %u is not 0..3", d[9]);
	ev->kind = d[8] == 'S' ? EV_SUBMIT : EV_COMPLETE;
	ev->type = capture_types[d[9]];
	ev->epaddr = d[10];
	ev->addr = d[11];
	memcpy(&ev->bus, d + 12, 2);
	memcpy(&status, d + 28, 4);
	memcpy(&ev->urb_len, d + 32, 4);
	memcpy(&len_cap, d + 36, 4);
	if (mmapped)
		memcpy(&ndesc, d + 60, 4);
	if (ndesc > (caplen - hdr) / USBMON_ISO_DESC_LEN)
		return rec_fail(r,
				"%u iso descriptors run past the record (%u "
				"bytes after the header)",
				ndesc, caplen - hdr);
	off = hdr + ndesc * USBMON_ISO_DESC_LEN;
	if (len_cap > caplen - off)
		return rec_fail(r,
				"usbmon data length %u runs past the record "
				"(%u bytes after the header)",
				len_cap, caplen - off);
	ev->npackets = ndesc;
	ev->has_setup = ev->kind == EV_SUBMIT && d[14] == 0;
	if (ev->has_setup)
		memcpy(ev->setup, d + 40, USB_SETUP_LEN);
	if (ev->kind == EV_SUBMIT && ev->type == SIM_USB_EP_CONTROL &&
	    !ev->has_setup)
		return rec_fail(r,
				"usbmon control submission without a setup "
				"packet (flag_setup 0x%02x)",
				d[14]);
	ev->data = d[15] == 0 ? d + off : NULL;
	ev->datalen = d[15] == 0 ? len_cap : 0;
	if (ev->kind == EV_COMPLETE)
		usbmon_status(ev, status);
	return 0;
}

/* ---- USBPcap ---- */

static void usbpcap_status(struct cap_event *ev, uint32_t st)
{
	ev->raw_status = (int32_t)st;
	ev->cancelled = st == USBD_STATUS_CANCELED;
	if (st == USBD_STATUS_SUCCESS)
		ev->status = SIM_USB_OK;
	else if (st == USBD_STATUS_STALL_PID ||
		 st == USBD_STATUS_ENDPOINT_HALTED)
		ev->status = SIM_USB_STALL;
	else if (st == USBD_STATUS_DATA_OVERRUN ||
		 st == USBD_STATUS_BUFFER_OVERRUN)
		ev->status = SIM_USB_BABBLE;
	else
		ev->status = SIM_USB_IOERROR;
}

static int usbpcap_control(struct reader *r, const uint8_t *d, uint16_t hlen,
			   bool up, struct cap_event *ev)
{
	uint8_t stage;

	if (hlen < USBPCAP_CTL_HDR_LEN)
		return rec_fail(r,
				"USBPcap control header length %u, want at "
				"least 28",
				hlen);
	stage = d[27];
	switch (stage) {
	case 0: /* SETUP */
		if (ev->datalen < USB_SETUP_LEN)
			return rec_fail(r,
					"USBPcap SETUP stage with %u bytes, "
					"want 8",
					ev->datalen);
		ev->kind = EV_SUBMIT;
		ev->has_setup = true;
		memcpy(ev->setup, ev->data, USB_SETUP_LEN);
		ev->data = NULL;
		ev->datalen = 0;
		return 0;
	case 1: /* DATA: OUT on the way down, IN on the way up */
		ev->kind = up ? EV_DATA_IN : EV_DATA_OUT;
		return 0;
	case 2: /* STATUS: the end of the transfer */
	case 3: /* COMPLETE (USBPcap before 1.1): IN data too */
		ev->kind = EV_COMPLETE;
		return 0;
	}
	return rec_fail(r, "USBPcap control stage %u is not 0..3", stage);
}

/* USBPCAP_BUFFER_PACKET_HEADER (packed): headerLen 0, irpId 2, status
 * 10, function 14, info 16, bus 17, device 19, endpoint 21, transfer 22,
 * dataLength 23; control adds stage 27; iso adds startFrame 27,
 * numberOfPackets 31, errorCount 35 and 12-byte packets from 39. */
static int decode_usbpcap(struct reader *r, const uint8_t *d, uint32_t caplen,
			  struct cap_event *ev)
{
	uint16_t hlen;
	uint32_t np;
	bool up;

	if (caplen < USBPCAP_HDR_LEN)
		return rec_fail(r,
				"USBPcap header needs 27 bytes, the record "
				"has %u",
				caplen);
	hlen = le16(d);
	if (hlen < USBPCAP_HDR_LEN || hlen > caplen)
		return rec_fail(r, "USBPcap headerLen %u outside 27..%u", hlen,
				caplen);
	ev->id = le64(d + 2);
	up = d[16] & USBPCAP_INFO_PDO_FDO;
	ev->bus = le16(d + 17);
	ev->addr = le16(d + 19);
	ev->epaddr = d[21];
	ev->datalen = le32(d + 23);
	if (ev->datalen > caplen - hlen)
		return rec_fail(r,
				"USBPcap dataLength %u runs past the record "
				"(%u bytes after the %u-byte header)",
				ev->datalen, caplen - hlen, hlen);
	ev->data = d + hlen;
	ev->urb_len = ev->datalen;
	usbpcap_status(ev, le32(d + 10));
	if (d[22] > 3) {
		ev->kind = EV_SKIP; /* IRP info (0xfe), unknown (0xff) */
		return 0;
	}
	ev->type = capture_types[d[22]];
	if (ev->type == SIM_USB_EP_CONTROL)
		return usbpcap_control(r, d, hlen, up, ev);
	ev->kind = up ? EV_COMPLETE : EV_SUBMIT;
	if (ev->type != SIM_USB_EP_ISO)
		return 0;
	if (hlen < USBPCAP_ISO_HDR_LEN)
		return rec_fail(r,
				"USBPcap iso header length %u, want at "
				"least 39",
				hlen);
	np = le32(d + 31);
	if (np > (uint32_t)(hlen - USBPCAP_ISO_HDR_LEN) / USBPCAP_ISO_PKT_LEN)
		return rec_fail(r,
				"USBPcap %u iso packets run past the "
				"%u-byte header",
				np, hlen);
	ev->npackets = np;
	return 0;
}

/* ---- matching ---- */

static struct slot *find_pending(struct reader *r, uint64_t id, unsigned *where)
{
	unsigned i;

	for (i = 0; i < r->npending; i++) {
		struct slot *s = &r->slots[r->pending[i]];

		if (s->id == id) {
			*where = i;
			return s;
		}
	}
	return NULL;
}

static void drop_pending(struct reader *r, unsigned where)
{
	SIM_ASSERT(where < r->npending);
	r->pending[where] = r->pending[--r->npending];
}

static void set_data(struct sim_usb_cap_xfer *x, const uint8_t *data,
		     uint32_t len)
{
	free(x->data);
	x->data = NULL;
	x->len = len;
	if (len) {
		x->data = sim_xmalloc(len);
		memcpy(x->data, data, len);
	}
}

static struct slot *new_slot(struct reader *r)
{
	if (r->nslots == r->slots_cap) {
		unsigned cap = r->slots_cap ? 2 * r->slots_cap : 64;
		struct slot *n = sim_xcalloc(cap, sizeof(*n));

		if (r->nslots)
			memcpy(n, r->slots, r->nslots * sizeof(*n));
		free(r->slots);
		r->slots = n;
		r->slots_cap = cap;
	}
	memset(&r->slots[r->nslots], 0, sizeof(r->slots[0]));
	return &r->slots[r->nslots++];
}

static int submit(struct reader *r, const struct cap_event *ev)
{
	struct slot *s;
	unsigned where;

	/* A reused id whose first transfer never completed. */
	if (find_pending(r, ev->id, &where)) {
		drop_pending(r, where);
		r->c->unfinished++;
	}
	if (r->npending == SIM_USB_CAPTURE_INFLIGHT_MAX)
		return rec_fail(r, "more than %u transfers in flight",
				SIM_USB_CAPTURE_INFLIGHT_MAX);
	s = new_slot(r);
	s->id = ev->id;
	s->bus = ev->bus;
	s->addr = ev->addr;
	s->x.record = r->record;
	s->x.submit_ns = r->now_ns;
	s->x.ep = ev->epaddr & 0x0f;
	s->x.type = ev->type;
	s->x.in = ev->epaddr & SIM_USB_DIR_IN;
	if (ev->has_setup) {
		setup_from_bytes(&s->x.setup, ev->setup);
		s->x.in = ev->setup[0] & SIM_USB_DIR_IN;
	}
	s->x.requested = ev->has_setup ? s->x.setup.wLength : ev->urb_len;
	s->x.npackets = ev->npackets;
	if (!s->x.in)
		set_data(&s->x, ev->data, ev->datalen);
	r->pending[r->npending++] = (unsigned)(s - r->slots);
	return 0;
}

static void complete(struct reader *r, struct slot *s,
		     const struct cap_event *ev)
{
	struct sim_usb_cap_xfer *x = &s->x;

	s->done = true;
	x->done_record = r->record;
	x->done_ns = r->now_ns;
	x->status = ev->status;
	x->cancelled = ev->cancelled;
	x->raw_status = ev->raw_status;
	if (ev->npackets)
		x->npackets = ev->npackets;
	/* A USBPcap STATUS stage carries no data: keep the DATA stage's. */
	if (x->in && ev->datalen)
		set_data(x, ev->data, ev->datalen);
	if (x->in && r->linktype != SIM_USB_CAPTURE_USBPCAP)
		x->data_truncated = ev->urb_len > x->len;
}

static int match(struct reader *r, const struct cap_event *ev)
{
	unsigned where;
	struct slot *s;

	if (ev->kind == EV_SKIP) {
		r->c->ignored++;
		return 0;
	}
	if (ev->kind == EV_SUBMIT)
		return submit(r, ev);
	s = find_pending(r, ev->id, &where);
	if (!s) {
		r->c->orphan_completions++;
		return 0;
	}
	if (ev->kind == EV_DATA_OUT) {
		if (!s->x.in)
			set_data(&s->x, ev->data, ev->datalen);
		return 0;
	}
	if (ev->kind == EV_DATA_IN) {
		if (s->x.in)
			set_data(&s->x, ev->data, ev->datalen);
		return 0;
	}
	complete(r, s, ev);
	drop_pending(r, where);
	return 0;
}

/* ---- the file ---- */

static int decode_record(struct reader *r, const uint8_t *d, uint32_t caplen,
			 struct cap_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (r->linktype) {
	case SIM_USB_CAPTURE_LINUX:
		return decode_usbmon(r, d, caplen, false, ev);
	case SIM_USB_CAPTURE_LINUX_MMAPPED:
		return decode_usbmon(r, d, caplen, true, ev);
	case SIM_USB_CAPTURE_USBPCAP:
		return decode_usbpcap(r, d, caplen, ev);
	}
	SIM_ASSERT(!"link type checked at open");
	return -EINVAL;
}

/* Capture time since the first record, never going back: a stamp
 * earlier than the one before (a clock step) counts as no time at all,
 * so every completion comes at or after its submission. */
static uint64_t record_ns(struct reader *r, const struct pcap_pkthdr *h)
{
	uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000ull +
		     (uint64_t)h->ts.tv_usec * 1000ull;

	if (r->record == 1)
		r->first_ns = t;
	if (t < r->first_ns || t - r->first_ns < r->now_ns)
		return r->now_ns;
	return t - r->first_ns;
}

static int read_records(struct reader *r)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	struct cap_event ev;
	int rc;

	for (;;) {
		r->offset = ftell(pcap_file(r->p));
		rc = pcap_next_ex(r->p, &h, &d);
		if (rc == PCAP_ERROR_BREAK)
			return 0; /* end of file */
		r->record++;
		if (rc != 1)
			return rec_fail(r, "libpcap: %s", pcap_geterr(r->p));
		r->c->records++;
		r->now_ns = record_ns(r, h);
		rc = decode_record(r, d, h->caplen, &ev);
		if (!rc)
			rc = match(r, &ev);
		if (rc)
			return rc;
	}
}

/* ---- choosing the device ---- */

static bool is_device_descriptor(const struct sim_usb_cap_xfer *x)
{
	return x->type == SIM_USB_EP_CONTROL && x->ep == 0 && !x->cancelled &&
	       x->status == SIM_USB_OK && x->setup.bmRequestType == 0x80 &&
	       x->setup.bRequest == SIM_USB_REQ_GET_DESCRIPTOR &&
	       x->setup.wValue == SIM_USB_DT_DEVICE << 8 && x->len >= 18 &&
	       x->data[0] == 18 && x->data[1] == SIM_USB_DT_DEVICE;
}

static int choose_device(struct reader *r,
			 const struct sim_usb_capture_select *sel)
{
	unsigned i;

	for (i = 0; i < r->nslots; i++) {
		const struct slot *s = &r->slots[i];

		if (sel && sel->bus >= 0) {
			if (s->bus == sel->bus && s->addr == sel->addr)
				break;
		} else if (s->done && s->addr != 0 &&
			   is_device_descriptor(&s->x) &&
			   s->x.data[4] != 9 /* bDeviceClass hub */) {
			break;
		}
	}
	if (i == r->nslots) {
		if (sel && sel->bus >= 0)
			snprintf(r->err, r->errlen,
				 "%s: no transfers of device %d.%d", r->name,
				 sel->bus, sel->addr);
		else
			snprintf(r->err, r->errlen,
				 "%s: no device other than a hub answered "
				 "GET_DESCRIPTOR(device) with 18 bytes; name "
				 "its bus and address",
				 r->name);
		return -EINVAL;
	}
	r->c->bus = r->slots[i].bus;
	r->c->addr = r->slots[i].addr;
	return 0;
}

/* The chosen device's completed transfers move to the capture; the rest
 * is counted and freed. */
static void keep_device(struct reader *r)
{
	struct sim_usb_capture *c = r->c;
	unsigned i;

	c->xfers = sim_xcalloc(r->nslots ? r->nslots : 1, sizeof(*c->xfers));
	for (i = 0; i < r->nslots; i++) {
		struct slot *s = &r->slots[i];
		bool mine = s->bus == c->bus && s->addr == c->addr;

		if (!s->done) {
			free(s->x.data);
			continue; /* counted below, with the pending ones */
		}
		if (mine) {
			c->xfers[c->nxfers++] = s->x;
			continue;
		}
		c->other_devices++;
		free(s->x.data);
	}
	c->unfinished += r->npending;
	free(r->slots);
	r->slots = NULL;
	r->nslots = 0;
}

static void reader_free_slots(struct reader *r)
{
	unsigned i;

	for (i = 0; i < r->nslots; i++)
		free(r->slots[i].x.data);
	free(r->slots);
	r->slots = NULL;
}

static int open_stream(struct reader *r, FILE *fp)
{
	char perr[PCAP_ERRBUF_SIZE] = "";

	r->p = pcap_fopen_offline(fp, perr);
	if (!r->p) {
		fclose(fp);
		snprintf(r->err, r->errlen,
			 "%s: file header (byte offset 0): not a pcap file: "
			 "libpcap: %s",
			 r->name, perr);
		return -EINVAL;
	}
	r->linktype = pcap_datalink(r->p);
	if (r->linktype != SIM_USB_CAPTURE_LINUX &&
	    r->linktype != SIM_USB_CAPTURE_LINUX_MMAPPED &&
	    r->linktype != SIM_USB_CAPTURE_USBPCAP) {
		snprintf(r->err, r->errlen,
			 "%s: file header (byte offset 0): foreign pcap: link "
			 "type %d, want 189, 220 or 249",
			 r->name, r->linktype);
		return -EINVAL;
	}
	return 0;
}

int sim_usb_capture_read_stream(FILE *fp, const char *name,
				const struct sim_usb_capture_select *sel,
				struct sim_usb_capture **out, char *err,
				size_t errlen)
{
	char scratch[1];
	struct reader r = {
	    .name = name,
	    .err = err && errlen ? err : scratch,
	    .errlen = err && errlen ? errlen : sizeof(scratch),
	};
	int rc;

	SIM_ASSERT(fp && name && out);
	*out = NULL;
	r.c = sim_xcalloc(1, sizeof(*r.c));
	r.pending =
	    sim_xcalloc(SIM_USB_CAPTURE_INFLIGHT_MAX, sizeof(*r.pending));
	rc = open_stream(&r, fp);
	if (!rc) {
		r.c->linktype = r.linktype;
		rc = read_records(&r);
	}
	if (!rc)
		rc = choose_device(&r, sel);
	if (r.p)
		pcap_close(r.p); /* closes fp */
	free(r.pending);
	if (rc) {
		reader_free_slots(&r);
		sim_usb_capture_free(r.c);
		return rc;
	}
	keep_device(&r);
	*out = r.c;
	return 0;
}

int sim_usb_capture_read_file(const char *path,
			      const struct sim_usb_capture_select *sel,
			      struct sim_usb_capture **out, char *err,
			      size_t errlen)
{
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		int e = errno;

		*out = NULL;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -ENOENT;
	}
	return sim_usb_capture_read_stream(fp, path, sel, out, err, errlen);
}

void sim_usb_capture_free(struct sim_usb_capture *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->nxfers; i++)
		free(c->xfers[i].data);
	free(c->xfers);
	free(c);
}
