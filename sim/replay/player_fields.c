/*
 * Naming what differs between a recorded record and the replay's: the
 * record (a ring entry with its ring, slot and index; a xenstore path; a
 * grant reference ...) and the first field whose bytes differ, with both
 * values. Field layouts of ring entries come from Xen's public headers,
 * so a name is the member's name in vscsiif.h or usbif.h.
 */
#include "player_impl.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sim/backends/xen_ring.h"
#include <xen/io/usbif.h>
#include <xen/io/vscsiif.h>

/* A field: bytes [off, off + size) of the payload, elem > 0 for an array
 * of elements of that size (named with the index). */
struct field {
	size_t off, size, elem;
	const char *name;
};

#define F(st, m) {offsetof(st, m), sizeof(((st *)0)->m), 0, #m}
#define A(st, m) \
	{offsetof(st, m), sizeof(((st *)0)->m), sizeof(((st *)0)->m[0]), #m}
#define END {0, 0, 0, NULL}

static const struct field vscsi_req[] = {
    F(vscsiif_request_t, rqid),	     F(vscsiif_request_t, act),
    F(vscsiif_request_t, cmd_len),   A(vscsiif_request_t, cmnd),
    F(vscsiif_request_t, timeout_per_command),
    F(vscsiif_request_t, channel),   F(vscsiif_request_t, id),
    F(vscsiif_request_t, lun),	     F(vscsiif_request_t, ref_rqid),
    F(vscsiif_request_t, sc_data_direction),
    F(vscsiif_request_t, nr_segments), A(vscsiif_request_t, seg),
    A(vscsiif_request_t, reserved),  END};

static const struct field vscsi_rsp[] = {
    F(vscsiif_response_t, rqid),	 F(vscsiif_response_t, act),
    F(vscsiif_response_t, sense_len),	 A(vscsiif_response_t, sense_buffer),
    F(vscsiif_response_t, rslt),	 F(vscsiif_response_t, residual_len),
    A(vscsiif_response_t, reserved), END};

static const struct field urb_req[] = {
    F(usbif_urb_request_t, id),		 F(usbif_urb_request_t, nr_buffer_segs),
    F(usbif_urb_request_t, pipe),	 F(usbif_urb_request_t, transfer_flags),
    F(usbif_urb_request_t, buffer_length), A(usbif_urb_request_t, u.ctrl),
    A(usbif_urb_request_t, seg),	 END};

static const struct field urb_rsp[] = {
    F(usbif_urb_response_t, id),	  F(usbif_urb_response_t, start_frame),
    F(usbif_urb_response_t, status),	  F(usbif_urb_response_t, actual_length),
    F(usbif_urb_response_t, error_count), END};

static const struct field conn_req[] = {F(usbif_conn_request_t, id), END};

static const struct field conn_rsp[] = {
    F(usbif_conn_response_t, id), F(usbif_conn_response_t, portnum),
    F(usbif_conn_response_t, speed), END};

/* The fixed parts of the record payloads (docs/trace-format.md). */
static const struct field ring_entry_hdr[] = {
    {0, 2, 0, "ring_id"}, {2, 1, 0, "kind"},  {3, 1, 0, "direction"},
    {4, 4, 0, "idx"},	  {8, 4, 0, "slot"},  {12, 4, 0, "prod"},
    {16, 4, 0, "entry_size"}, END};

static const struct field ring_index[] = {
    {0, 2, 0, "ring_id"}, {2, 1, 0, "kind"}, {3, 1, 0, "direction"},
    {4, 4, 0, "old_prod"}, {8, 4, 0, "new_prod"}, END};

static const struct field ring_event[] = {
    {0, 2, 0, "ring_id"}, {2, 1, 0, "kind"}, {3, 1, 0, "which"},
    {4, 4, 0, "old"}, {8, 4, 0, "new"}, END};

static const struct field evtchn_send[] = {
    {0, 4, 0, "port"},	     {4, 2, 0, "remote_domid"},
    {6, 1, 0, "outcome"},    {8, 4, 0, "remote_port"},
    {12, 8, 0, "deliver_at_ns"}, {20, 1, 0, "delivery_flags"}, END};

static const struct field evtchn_pair[] = {
    {0, 4, 0, "port"}, {4, 2, 0, "remote_domid"}, {8, 4, 0, "remote_port"},
    END};

static const struct field gnt_grant[] = {
    {0, 4, 0, "ref"}, {4, 2, 0, "peer_domid"}, {6, 1, 0, "readonly"},
    {8, 8, 0, "gfn"}, END};

static const struct field gnt_end[] = {
    {0, 4, 0, "ref"}, {4, 4, 0, "result"}, END};

static const struct field xs_write[] = {
    {0, 2, 0, "path_len"}, {4, 4, 0, "value_len"}, END};

static const struct field xs_path[] = {{0, 2, 0, "path_len"}, END};

static const struct field xs_watch[] = {
    {0, 2, 0, "path_len"}, {2, 2, 0, "token_len"}, END};

static const struct field xs_perms[] = {
    {0, 2, 0, "path_len"}, {2, 2, 0, "nperms"}, END};

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case SIM_REC_RING_VSCSIIF:
		return "vscsiif";
	case SIM_REC_RING_USBIF_URB:
		return "usbif-urb";
	case SIM_REC_RING_USBIF_CONN:
		return "usbif-conn";
	default:
		return "?";
	}
}

static const struct field *entry_fields(unsigned kind, unsigned dir)
{
	switch (kind) {
	case SIM_REC_RING_VSCSIIF:
		return dir == SIM_REC_REQUEST ? vscsi_req : vscsi_rsp;
	case SIM_REC_RING_USBIF_URB:
		return dir == SIM_REC_REQUEST ? urb_req : urb_rsp;
	case SIM_REC_RING_USBIF_CONN:
		return dir == SIM_REC_REQUEST ? conn_req : conn_rsp;
	default:
		return NULL;
	}
}

static const struct field *fixed_fields(int type)
{
	switch (type) {
	case SIM_REC_RING_ENTRY:
		return ring_entry_hdr;
	case SIM_REC_RING_INDEX:
		return ring_index;
	case SIM_REC_RING_EVENT:
		return ring_event;
	case SIM_REC_EVTCHN_SEND:
	case SIM_REC_EVTCHN_EOI:
		return evtchn_send;
	case SIM_REC_EVTCHN_DELIVER:
	case SIM_REC_EVTCHN_BIND:
	case SIM_REC_EVTCHN_CLOSE:
		return evtchn_pair;
	case SIM_REC_XS_WATCH_FIRE:
		return xs_watch;
	case SIM_REC_GNT_GRANT:
		return gnt_grant;
	case SIM_REC_GNT_END:
		return gnt_end;
	case SIM_REC_XS_WRITE:
		return xs_write;
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
		return xs_path;
	case SIM_REC_XS_SET_PERMS:
		return xs_perms;
	default:
		return NULL;
	}
}

/* The field of table t holding byte k, or NULL. */
static const struct field *field_at(const struct field *t, size_t k)
{
	for (; t && t->name; t++)
		if (k >= t->off && k < t->off + t->size)
			return t;
	return NULL;
}

/* "name" or "name[i]" (for byte k inside it), with both values. */
static void say_field(const struct field *f, size_t base, const uint8_t *e,
		      const uint8_t *g, size_t k, char *out, size_t len)
{
	size_t off = base + f->off, size = f->size;
	char name[64];

	if (f->elem) {
		size_t i = (k - f->off) / f->elem;

		off = base + f->off + i * f->elem;
		size = f->elem;
		snprintf(name, sizeof(name), "%s[%zu]", f->name, i);
	} else {
		snprintf(name, sizeof(name), "%s", f->name);
	}
	if (size <= 8) {
		snprintf(out, len, "field %s: expected %#" PRIx64 ", got %#" PRIx64,
			 name, le(e + off, size), le(g + off, size));
		return;
	}
	snprintf(out, len, "field %s byte %zu: expected %#x, got %#x", name,
		 k - (off - base), e[base + k], g[base + k]);
}

/* Strings after the fixed part: which one holds byte k. */
static const char *string_at(int type, const uint8_t *p, size_t k)
{
	switch (type) {
	case SIM_REC_XS_WRITE:
		return k < 8 + le(p, 2) ? "path" : "value";
	case SIM_REC_XS_SET_PERMS:
		return k < 4 + le(p, 2) ? "path" : "permissions";
	case SIM_REC_XS_WATCH_FIRE:
		return k < 4 + le(p, 2) ? "path" : "token";
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
		return "path";
	default:
		return "payload";
	}
}

void replay_describe_diff(int type, const uint8_t *e, size_t elen,
			  const uint8_t *g, size_t glen, char *out, size_t len)
{
	size_t n = elen < glen ? elen : glen, k = 0;
	const struct field *f;

	while (k < n && e[k] == g[k])
		k++;
	if (k == n) {
		snprintf(out, len, "payload length: expected %zu, got %zu",
			 elen, glen);
		return;
	}
	if (type == SIM_REC_RING_ENTRY && k >= 20) {
		const struct field *ef = entry_fields(e[2], e[3]);

		f = field_at(ef, k - 20);
		if (f) {
			say_field(f, 20, e, g, k - 20, out, len);
			return;
		}
		snprintf(out, len, "entry byte %zu: expected %#x, got %#x",
			 k - 20, e[k], g[k]);
		return;
	}
	f = field_at(fixed_fields(type), k);
	if (f) {
		say_field(f, 0, e, g, k, out, len);
		return;
	}
	snprintf(out, len, "%s byte %zu: expected %#x, got %#x",
		 string_at(type, e, k), k, e[k], g[k]);
}

void replay_printable(char *out, size_t len, const uint8_t *p, size_t n)
{
	size_t o = 0, i;

	SIM_ASSERT(len >= 8);
	for (i = 0; i < n && i < 96 && o + 5 < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x",
					      p[i]);
	}
	if (i < n && o + 4 <= len)
		o += (size_t)snprintf(out + o, len - o, "...");
	out[o < len ? o : len - 1] = '\0';
}


void replay_describe_rec(int type, unsigned domid, const uint8_t *p,
			 size_t n, char *out, size_t len)
{
	char s[128] = "";

	switch (type) {
	case SIM_REC_RING_ENTRY:
		if (n < 20)
			break;
		snprintf(out, len, "%s on ring %u (%s) slot %u, idx %u",
			 p[3] == SIM_REC_REQUEST ? "request" : "response",
			 (unsigned)le(p, 2), kind_name(p[2]),
			 (unsigned)le(p + 8, 4), (unsigned)le(p + 4, 4));
		return;
	case SIM_REC_RING_INDEX:
	case SIM_REC_RING_EVENT:
		if (n < 12)
			break;
		snprintf(out, len, "%s of ring %u (%s) %u -> %u",
			 type == SIM_REC_RING_INDEX
			     ? (p[3] ? "rsp_prod move" : "req_prod move")
			     : (p[3] ? "rsp_event move" : "req_event move"),
			 (unsigned)le(p, 2), kind_name(p[2]),
			 (unsigned)le(p + 4, 4), (unsigned)le(p + 8, 4));
		return;
	case SIM_REC_EVTCHN_SEND:
	case SIM_REC_EVTCHN_EOI:
	case SIM_REC_EVTCHN_DELIVER:
	case SIM_REC_EVTCHN_BIND:
	case SIM_REC_EVTCHN_CLOSE:
		if (n < 4)
			break;
		snprintf(out, len, "dom%u event-channel %s on port %u", domid,
			 type == SIM_REC_EVTCHN_SEND	  ? "send"
			 : type == SIM_REC_EVTCHN_EOI	  ? "EOI"
			 : type == SIM_REC_EVTCHN_DELIVER ? "delivery"
			 : type == SIM_REC_EVTCHN_BIND	  ? "bind"
							  : "close",
			 (unsigned)le(p, 4));
		return;
	case SIM_REC_XS_WATCH_FIRE:
		if (n >= 4 && 4 + le(p, 2) <= n)
			replay_printable(s, sizeof(s), p + 4, le(p, 2));
		snprintf(out, len, "dom%u watch firing for %s", domid, s);
		return;
	case SIM_REC_GNT_GRANT:
	case SIM_REC_GNT_END:
		if (n < 4)
			break;
		snprintf(out, len, "dom%u grant %s of ref %u", domid,
			 type == SIM_REC_GNT_GRANT ? "grant" : "end",
			 (unsigned)le(p, 4));
		return;
	case SIM_REC_XS_WRITE:
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
	case SIM_REC_XS_SET_PERMS: {
		size_t off = type == SIM_REC_XS_WRITE ? 8 : 4;
		size_t pl = n >= 2 ? le(p, 2) : 0;

		if (off + pl <= n)
			replay_printable(s, sizeof(s), p + off, pl);
		snprintf(out, len, "dom%u xenstore %s %s", domid,
			 type == SIM_REC_XS_WRITE   ? "write of"
			 : type == SIM_REC_XS_MKDIR ? "mkdir of"
			 : type == SIM_REC_XS_RM    ? "rm of"
						    : "permissions of",
			 s);
		return;
	}
	default:
		break;
	}
	snprintf(out, len, "dom%u record of type %d", domid, type);
}
