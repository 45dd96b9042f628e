/*
 * usbmon records in a pcap file; see usbmon.h. The field rules follow the
 * kernel's binary reader (drivers/usb/mon/mon_bin.c, usbmon.rst), so a
 * capture of the simulated guest reads like one taken on a Linux host:
 * which record carries data, what flag_data says when none follows, the
 * setup packet on control submissions only, the iso descriptors and the
 * collation of iso IN data.
 */
#include "usbmon.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/core/sim.h"

#define NS_PER_S	  1000000000ull
#define NS_PER_US	  1000ull
#define MON_EINPROGRESS	  115	  /* the status of every submission */
#define MON_EXDEV	  18	  /* an iso frame's status until it is done */
#define MON_SHORT_NOT_OK  0x0001u /* Linux URB_SHORT_NOT_OK */
#define MON_URB_DIR_IN	  0x0200u /* Linux URB_DIR_IN */
#define MON_EP_DIR_IN	  0x80u
#define MON_FLAG_NO_SETUP '-'
#define MON_FLAG_IN	  '<' /* no data: the submission of an IN URB */
#define MON_FLAG_OUT	  '>' /* no data: the completion of an OUT URB */
#define MON_FLAG_ERROR	  'E'

_Static_assert(DLT_USB_LINUX_MMAPPED == USBMON_LINKTYPE, "link type 220");
/* usbmon's xfer_type numbers the pipe types as usbif (and fut.h) do. */
_Static_assert(FUT_USB_ISO == 0 && FUT_USB_INT == 1 && FUT_USB_CTRL == 2 &&
		   FUT_USB_BULK == 3,
	       "usbmon xfer_type encoding");
_Static_assert(FUT_USB_SHORT_NOT_OK == MON_SHORT_NOT_OK,
	       "fut's transfer flag is Linux's");
_Static_assert(USBMON_HDR_LEN + USBMON_ISODESC_MAX * USBMON_ISODESC_LEN +
		       65536u <=
		   USBMON_SNAPLEN,
	       "a 64 KiB URB is captured whole");

/* struct usbmon_packet's fields, laid out by hdr_put in this order (the
 * kernel's struct has no padding: every field is naturally aligned). */
struct mon_hdr {
	uint64_t id;
	char type;
	uint8_t xfer_type, epnum, devnum;
	uint16_t busnum;
	char flag_setup, flag_data;
	int64_t ts_sec;
	int32_t ts_usec, status;
	uint32_t length, len_cap;
	uint8_t setup[8]; /* control; iso: s32 error_count, s32 numdesc */
	int32_t interval, start_frame;
	uint32_t xfer_flags, ndesc;
};

struct usbmon {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	uint8_t *rec; /* the record being built, USBMON_SNAPLEN bytes */
	uint64_t records;
};

static uint8_t *put(uint8_t *b, const void *v, size_t n)
{
	memcpy(b, v, n);
	return b + n;
}

static void hdr_put(uint8_t *b, const struct mon_hdr *h)
{
	uint8_t *p = b;

	p = put(p, &h->id, 8);
	p = put(p, &h->type, 1);
	p = put(p, &h->xfer_type, 1);
	p = put(p, &h->epnum, 1);
	p = put(p, &h->devnum, 1);
	p = put(p, &h->busnum, 2);
	p = put(p, &h->flag_setup, 1);
	p = put(p, &h->flag_data, 1);
	p = put(p, &h->ts_sec, 8);
	p = put(p, &h->ts_usec, 4);
	p = put(p, &h->status, 4);
	p = put(p, &h->length, 4);
	p = put(p, &h->len_cap, 4);
	p = put(p, h->setup, 8);
	p = put(p, &h->interval, 4);
	p = put(p, &h->start_frame, 4);
	p = put(p, &h->xfer_flags, 4);
	p = put(p, &h->ndesc, 4);
	SIM_ASSERT(p == b + USBMON_HDR_LEN);
}

/* What every record says about the URB: its id, endpoint, device, bus and
 * time. */
static void hdr_init(struct mon_hdr *h, char type, uint64_t now_ns,
		     uint16_t busnum, const struct fut_usb_urb *u)
{
	memset(h, 0, sizeof(*h));
	h->id = u->tag;
	h->type = type;
	h->xfer_type = (uint8_t)u->type;
	h->epnum = (uint8_t)((u->in ? MON_EP_DIR_IN : 0) | (u->ep & 0x0f));
	h->devnum = u->devaddr;
	h->busnum = busnum;
	h->flag_setup = MON_FLAG_NO_SETUP;
	h->ts_sec = (int64_t)(now_ns / NS_PER_S);
	h->ts_usec = (int32_t)(now_ns % NS_PER_S / NS_PER_US);
}

/* Interval, and for iso the frame, error count and descriptor count, as
 * the kernel fills them on submissions and completions alike. */
static void hdr_periodic(struct mon_hdr *h, const struct fut_usb_urb *u,
			 const struct fut_usb_result *res)
{
	int32_t iso[2];

	if (u->type == FUT_USB_INT)
		h->interval = u->interval;
	if (u->type != FUT_USB_ISO)
		return;
	h->interval = u->interval;
	h->start_frame = res ? res->start_frame : 0;
	iso[0] = res ? (int32_t)res->error_count : 0;
	iso[1] = (int32_t)u->npackets;
	memcpy(h->setup, iso, sizeof(iso));
}

static uint32_t xfer_flags(const struct fut_usb_urb *u)
{
	return (u->flags & FUT_USB_SHORT_NOT_OK ? MON_SHORT_NOT_OK : 0) |
	       (u->in ? MON_URB_DIR_IN : 0);
}

/* The frame descriptors: what was asked on a submission (the status
 * usb_submit_urb gives every frame before the controller sees it), what
 * came back on a completion. */
static uint8_t *isodesc_put(uint8_t *p, const struct fut_usb_urb *u,
			    uint32_t ndesc, bool completion)
{
	for (uint32_t i = 0; i < ndesc; i++) {
		const struct fut_usb_iso_packet *pk = &u->packets[i];
		int32_t status = completion ? pk->status : -MON_EXDEV;
		uint32_t len = completion ? pk->actual : pk->length;
		uint32_t pad = 0;

		p = put(p, &status, 4);
		p = put(p, &pk->offset, 4);
		p = put(p, &len, 4);
		p = put(p, &pad, 4);
	}
	return p;
}

/* Builds and writes one record: h's header, the descriptors of an iso
 * URB, then data_len bytes of the URB's buffer, or no data and flag_data
 * set to no_data_flag. */
static void record_write(struct usbmon *m, uint64_t now_ns, struct mon_hdr *h,
			 const struct fut_usb_urb *u, uint32_t data_len,
			 char no_data_flag)
{
	struct pcap_pkthdr ph;
	uint32_t ndesc = 0, room;
	uint8_t *p;

	if (u->type == FUT_USB_ISO && h->type != 'E')
		ndesc = u->npackets < USBMON_ISODESC_MAX ? u->npackets
							 : USBMON_ISODESC_MAX;
	SIM_ASSERT(!ndesc || u->packets);
	room = USBMON_SNAPLEN - USBMON_HDR_LEN - ndesc * USBMON_ISODESC_LEN;
	if (data_len > room) /* never for what a PVUSB frontend accepts */
		data_len = room;
	SIM_ASSERT(!data_len || (u->data && data_len <= u->len));
	h->ndesc = ndesc;
	h->len_cap = ndesc * USBMON_ISODESC_LEN + data_len;
	h->flag_data = data_len ? 0 : no_data_flag;
	hdr_put(m->rec, h);
	p = isodesc_put(m->rec + USBMON_HDR_LEN, u, ndesc, h->type == 'C');
	if (data_len)
		p = put(p, u->data, data_len);
	memset(&ph, 0, sizeof(ph));
	ph.ts.tv_sec = (time_t)(now_ns / NS_PER_S);
	ph.ts.tv_usec = (suseconds_t)(now_ns % NS_PER_S); /* nanoseconds */
	ph.caplen = ph.len = (uint32_t)(p - m->rec);
	SIM_ASSERT(ph.caplen == USBMON_HDR_LEN + h->len_cap);
	pcap_dump((u_char *)m->dumper, &ph, m->rec);
	m->records++;
}

void usbmon_submit(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		   const struct fut_usb_urb *urb)
{
	struct mon_hdr h;

	hdr_init(&h, 'S', now_ns, busnum, urb);
	h.status = -MON_EINPROGRESS;
	h.length = urb->len;
	h.xfer_flags = xfer_flags(urb);
	if (urb->type == FUT_USB_CTRL) {
		h.flag_setup = 0; /* the setup packet is there */
		memcpy(h.setup, urb->setup, sizeof(h.setup));
	}
	hdr_periodic(&h, urb, NULL);
	record_write(m, now_ns, &h, urb, urb->in ? 0 : urb->len, MON_FLAG_IN);
}

/* The IN data of an iso completion: the buffer up to the end of the last
 * frame that carried any, gaps included (the kernel's collation). */
static uint32_t iso_in_extent(const struct fut_usb_urb *u)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < u->npackets; i++) {
		const struct fut_usb_iso_packet *pk = &u->packets[i];
		uint64_t e = (uint64_t)pk->offset + pk->actual;

		if (pk->actual && e > end)
			end = e;
	}
	return end < u->len ? (uint32_t)end : u->len;
}

void usbmon_complete(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		     const struct fut_usb_urb *urb,
		     const struct fut_usb_result *res)
{
	struct mon_hdr h;
	uint32_t data_len = 0;

	hdr_init(&h, 'C', now_ns, busnum, urb);
	h.status = res->status;
	h.length = res->actual;
	h.xfer_flags = xfer_flags(urb);
	hdr_periodic(&h, urb, res);
	if (urb->in && urb->type == FUT_USB_ISO)
		data_len = iso_in_extent(urb);
	else if (urb->in)
		data_len = res->actual < urb->len ? res->actual : urb->len;
	record_write(m, now_ns, &h, urb, data_len, MON_FLAG_OUT);
}

void usbmon_error(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		  const struct fut_usb_urb *urb, int err)
{
	struct mon_hdr h;

	hdr_init(&h, 'E', now_ns, busnum, urb);
	h.status = err;
	record_write(m, now_ns, &h, urb, 0, MON_FLAG_ERROR);
}

uint64_t usbmon_records(const struct usbmon *m)
{
	return m->records;
}

/* pcap_dump_close closes the stream it writes to, so the writer gets a
 * stream of its own and the caller's FILE stays the caller's. */
static FILE *own_stream(FILE *f, char *err, size_t errlen)
{
	int fd = f ? fileno(f) : -1;
	FILE *own;

	if (fd < 0) {
		snprintf(err, errlen, "usbmon: the output is not a file");
		return NULL;
	}
	fflush(f);
	fd = dup(fd);
	own = fd < 0 ? NULL : fdopen(fd, "wb");
	if (!own) {
		snprintf(err, errlen, "usbmon: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return own;
}

int usbmon_open(FILE *f, struct usbmon **out, char *err, size_t errlen)
{
	struct usbmon *m;
	FILE *own = own_stream(f, err, errlen);

	if (!own)
		return -1;
	m = sim_xcalloc(1, sizeof(*m));
	m->pcap = pcap_open_dead_with_tstamp_precision(
	    DLT_USB_LINUX_MMAPPED, (int)USBMON_SNAPLEN,
	    PCAP_TSTAMP_PRECISION_NANO);
	m->dumper = m->pcap ? pcap_dump_fopen(m->pcap, own) : NULL;
	if (!m->dumper) {
		snprintf(err, errlen, "usbmon: %s",
			 m->pcap ? pcap_geterr(m->pcap) : "libpcap failed");
		fclose(own);
		if (m->pcap)
			pcap_close(m->pcap);
		free(m);
		return -1;
	}
	m->rec = sim_xmalloc(USBMON_SNAPLEN);
	*out = m;
	return 0;
}

int usbmon_close(struct usbmon *m, char *err, size_t errlen)
{
	int rc = 0;

	if (pcap_dump_flush(m->dumper) != 0 ||
	    ferror(pcap_dump_file(m->dumper))) {
		snprintf(err, errlen, "usbmon: writing the capture: %s",
			 strerror(errno));
		rc = -1;
	}
	pcap_dump_close(m->dumper);
	pcap_close(m->pcap);
	free(m->rec);
	free(m);
	return rc;
}
