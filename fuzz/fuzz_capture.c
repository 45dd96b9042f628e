/*
 * Feeds any file image to the USB capture importer (usbmon / USBPcap,
 * sim/devices/usb_capture.h) and, when it is accepted, drives the replay
 * device built from it (usb_replay.h) through enumeration and a round of
 * transfers on every endpoint the capture used.
 *
 * Input: the pcap file image, read through fmemopen and
 * pcap_fopen_offline as a file on disk would be. Oracles beyond "no
 * crash, no sanitizer report": a refusal has a message starting
 * "fuzz.pcap: " with no control bytes and returns no capture; an
 * accepted capture's transfers are of the chosen device, hold their
 * data, and were submitted at or before their completion; the replay
 * device never answers more than asked, and its replayed count never
 * exceeds its script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "sim/devices/usb_capture.h"
#include "sim/devices/usb_replay.h"

#define NAME	 "fuzz.pcap"
#define BUF_LEN	 4096
#define ATTEMPTS 4 /* per scripted transfer: NAKs before an answer */
#define STEP_NS	 1000000000ull

static void check_message(const char *err)
{
	size_t i;

	if (strncmp(err, NAME ": ", strlen(NAME) + 2) != 0)
		fuzz_fail("capture-message",
			  "refusal %s does not name the file", fuzz_quote(err));
	for (i = 0; err[i]; i++)
		if ((unsigned char)err[i] < 0x20)
			fuzz_fail("capture-message",
				  "refusal %s has a control byte",
				  fuzz_quote(err));
}

static void check_capture(const struct sim_usb_capture *c)
{
	unsigned i;

	for (i = 0; i < c->nxfers; i++) {
		const struct sim_usb_cap_xfer *x = &c->xfers[i];

		if ((x->len && !x->data) || x->ep > 15 ||
		    x->done_record < x->record || x->done_ns < x->submit_ns ||
		    x->record > c->records || x->done_record > c->records)
			fuzz_fail("capture-xfer",
				  "transfer %u: ep %u len %u records %u..%u "
				  "of %u, times %llu..%llu",
				  i, x->ep, x->len, x->record, x->done_record,
				  c->records, (unsigned long long)x->submit_ns,
				  (unsigned long long)x->done_ns);
	}
}

/* One attempt as the backend makes it; the answer within the buffer. */
static void attempt(struct sim_usb_device *d, struct sim_usb_xfer *x,
		    uint8_t *buf)
{
	enum sim_usb_status st;
	uint32_t room =
	    x->type == SIM_USB_EP_CONTROL ? x->setup.wLength : x->len;

	x->data = room ? buf : NULL;
	if (x->type == SIM_USB_EP_CONTROL)
		x->len = room;
	st = sim_usb_device_handle(d, x);
	if (x->actual > room)
		fuzz_fail("replay-actual", "answered %u bytes for %u asked",
			  x->actual, room);
	(void)st;
}

/* The guest asks for what the capture has, as the recorded host did. */
static void drive(struct sim_usb_device *d, const struct sim_usb_capture *c)
{
	static uint8_t buf[BUF_LEN];
	uint64_t now = 0;
	unsigned i, k;

	for (i = 0; i < c->nxfers; i++) {
		const struct sim_usb_cap_xfer *cx = &c->xfers[i];
		struct sim_usb_xfer x = {
		    .ep = cx->ep,
		    .in = cx->in,
		    .type = cx->type,
		    .setup = cx->setup,
		};

		/* The buffer holds what any attempt may move. */
		if (cx->type == SIM_USB_EP_ISO || cx->len > BUF_LEN ||
		    cx->setup.wLength > BUF_LEN)
			continue;
		for (k = 0; k < ATTEMPTS; k++) {
			memset(buf, 0, BUF_LEN);
			if (!cx->in && cx->len)
				memcpy(buf, cx->data, cx->len);
			x.len = cx->in ? BUF_LEN : cx->len;
			x.now_ns = now;
			attempt(d, &x, buf);
			now += STEP_NS;
		}
	}
}

static void replay(const struct sim_usb_capture *c)
{
	struct sim_usb_device *d;
	struct sim_usb_replay_stats st;
	char err[512] = "", line[1024];

	if (sim_usb_replay_new(c, NULL, &d, err, sizeof(err)) != 0) {
		if (!err[0])
			fuzz_fail("replay-message", "refusal without message");
		return;
	}
	drive(d, c);
	sim_usb_replay_stats(d, &st);
	if (st.replayed > st.scripted ||
	    st.scripted + st.by_descriptors + st.not_replayed != st.transfers)
		fuzz_fail("replay-stats",
			  "replayed %u scripted %u by descriptors %u not %u "
			  "of %u",
			  st.replayed, st.scripted, st.by_descriptors,
			  st.not_replayed, st.transfers);
	sim_usb_replay_report(d, line, sizeof(line));
	sim_usb_device_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_usb_capture *c = (void *)1;
	char err[512] = "";
	FILE *fp;

	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	if (sim_usb_capture_read_stream(fp, NAME, NULL, &c, err, sizeof(err)) !=
	    0) {
		if (c)
			fuzz_fail("capture-refusal", "a capture came back");
		check_message(err);
		return 0;
	}
	check_capture(c);
	replay(c);
	sim_usb_capture_free(c);
	return 0;
}
