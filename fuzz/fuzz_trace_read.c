/*
 * Feeds any file image to the trace reader (sim/trace/trace_read.h) and
 * reads every record, checking what the reader promises of what it hands
 * out.
 *
 * Input: the pcap file image, read through fmemopen as a file on disk
 * would be. Oracles beyond "no crash, no sanitizer report": a refusal is
 * one printable line "fuzz.pcap: record N (byte offset O): ..." with N the
 * number of records read before it (the gatherer: at most that many,
 * `trace-message`); each record is
 * numbered in order, its offset is the file offset of its pcap header
 * (24 + the records before it) and within the input, its payload and
 * every string or byte run of its decoded form lie inside the record
 * (`trace-bounds`); lengths agree with the header (`trace-header`); a
 * finished configuration text is as long as the RUN record says
 * (`trace-config`).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_target.h"
#include "sim/trace/trace_read.h"

#define NAME "fuzz.pcap"

/* A refusal names record N: the records read before it (exact), or for
 * the gatherer, which refuses a record it has read (a first record that is
 * not RUN), at most that many. */
static void check_message(const char *err, uint64_t records, bool exact)
{
	unsigned long long n = 0, o = 0;
	char prefix[96];
	size_t i, len;

	/* Parsed loosely, then printed back and compared exactly. */
	sscanf(err, NAME ": record %llu (byte offset %llu)", &n, &o);
	len = (size_t)snprintf(prefix, sizeof(prefix),
			       NAME ": record %llu (byte offset %llu): ", n, o);
	if (strncmp(err, prefix, len) != 0 ||
	    (exact ? n != records : n > records))
		fuzz_fail("trace-message",
			  "%s is not \"" NAME ": record N (byte offset O): "
			  "...\" with N %s %" PRIu64,
			  fuzz_quote(err), exact ? "=" : "<=", records);
	for (i = 0; err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			fuzz_fail("trace-message", "%s has a control byte",
				  fuzz_quote(err));
}

static void check_within(const struct trace_rec *rec, const char *field,
			 const struct trace_bytes *b)
{
	const uint8_t *lo = rec->payload.p, *hi = lo + rec->payload.len;

	if (b->len == 0 && !b->p)
		return; /* an absent string */
	if (b->p < lo || b->p > hi || b->len > (size_t)(hi - b->p))
		fuzz_fail("trace-bounds",
			  "record %" PRIu64 " %s: %zu bytes at payload + %td "
			  "of %zu",
			  rec->index, field, b->len, b->p - lo,
			  rec->payload.len);
}

/* Every byte run of the record's decoded form. */
static void check_fields(const struct trace_rec *rec)
{
	switch (rec->kind) {
	case SIM_REC_RING_ATTACH:
		check_within(rec, "fe_path", &rec->u.ring_attach.fe_path);
		check_within(rec, "be_path", &rec->u.ring_attach.be_path);
		break;
	case SIM_REC_RING_ENTRY:
		check_within(rec, "entry", &rec->u.ring_entry.entry);
		if (rec->u.ring_entry.entry.len != rec->u.ring_entry.entry_size)
			fuzz_fail("trace-bounds", "entry of %zu bytes, size %u",
				  rec->u.ring_entry.entry.len,
				  rec->u.ring_entry.entry_size);
		break;
	case SIM_REC_DATA:
		check_within(rec, "data", &rec->u.data.bytes);
		break;
	case SIM_REC_XS_WRITE:
		check_within(rec, "path", &rec->u.xs_write.path);
		check_within(rec, "value", &rec->u.xs_write.value);
		break;
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
		check_within(rec, "path", &rec->u.xs_path.path);
		break;
	case SIM_REC_XS_SET_PERMS:
		check_within(rec, "path", &rec->u.xs_set_perms.path);
		check_within(rec, "perms", &rec->u.xs_set_perms.perms);
		if (rec->u.xs_set_perms.perms.len !=
		    4u * rec->u.xs_set_perms.nperms)
			fuzz_fail("trace-bounds", "perms %zu bytes for %u",
				  rec->u.xs_set_perms.perms.len,
				  rec->u.xs_set_perms.nperms);
		for (unsigned i = 0; i < rec->u.xs_set_perms.nperms; i++) {
			uint16_t dom;
			uint8_t perm;

			trace_rec_perm(rec, i, &dom, &perm);
		}
		break;
	case SIM_REC_XS_WATCH_FIRE:
		check_within(rec, "path", &rec->u.xs_watch_fire.path);
		check_within(rec, "token", &rec->u.xs_watch_fire.token);
		break;
	case SIM_REC_XS_WATCH:
	case SIM_REC_XS_UNWATCH:
		check_within(rec, "path", &rec->u.xs_watch.path);
		check_within(rec, "token", &rec->u.xs_watch.token);
		break;
	case SIM_REC_XENBUS_STATE:
		check_within(rec, "path", &rec->u.xenbus_state.path);
		break;
	case SIM_REC_RUN:
		check_within(rec, "frontend", &rec->u.run.frontend);
		check_within(rec, "faults", &rec->u.run.faults);
		check_within(rec, "config_path", &rec->u.run.config_path);
		check_within(rec, "config_here", &rec->u.run.config_here);
		break;
	case SIM_REC_RUN_MORE:
		check_within(rec, "piece", &rec->u.run_more.piece);
		break;
	default:
		break;
	}
}

static void check_record(const struct trace_rec *rec, uint64_t index,
			 uint64_t offset, size_t size)
{
	if (rec->index != index || rec->offset != offset ||
	    offset + 16 + rec->caplen > size)
		fuzz_fail("trace-bounds",
			  "record %" PRIu64 " (want %" PRIu64 ") at %" PRIu64
			  " (want %" PRIu64 "), %u bytes in a %zu-byte file",
			  rec->index, index, rec->offset, offset, rec->caplen,
			  size);
	if (rec->hdr_len < SIM_REC_HDR_LEN ||
	    (uint64_t)rec->hdr_len + rec->payload_len != rec->caplen ||
	    rec->payload.p != rec->raw + rec->hdr_len ||
	    rec->payload.len != rec->payload_len || rec->seq != index ||
	    rec->time_ns != rec->ts_ns)
		fuzz_fail("trace-header",
			  "record %" PRIu64 ": hdr_len %u payload %u caplen %u "
			  "seq %" PRIu64,
			  index, rec->hdr_len, rec->payload_len, rec->caplen,
			  rec->seq);
	check_fields(rec);
}

static void read_all(struct trace_reader *r, size_t size)
{
	struct trace_rec rec, run = {0};
	uint64_t offset = 24, n = 0;
	const char *text;
	size_t len;
	int rc;

	while ((rc = trace_reader_next(r, &rec)) == 1) {
		check_record(&rec, n, offset, size);
		if (rec.kind == SIM_REC_RUN)
			run = rec;
		offset += 16 + (uint64_t)rec.caplen;
		n++;
	}
	if (rc < 0)
		check_message(trace_reader_error(r), n, true);
	text = trace_reader_config(r, &len);
	if (text && (len != run.u.run.config_len || text[len] != '\0'))
		fuzz_fail("trace-config", "text of %zu bytes, RUN says %u", len,
			  run.u.run.config_len);
}

/* The replay's way in: the RUN record and its text, from a fresh reader. */
static void gather(struct trace_reader *r)
{
	struct trace_rec run;
	const char *text;
	size_t len;

	if (trace_reader_gather_config(r, &run, &text, &len) != 0) {
		check_message(trace_reader_error(r), trace_reader_records(r),
			      false);
		return;
	}
	if (run.kind != SIM_REC_RUN || len != run.u.run.config_len ||
	    text[len] != '\0')
		fuzz_fail("trace-config", "gathered %zu bytes, RUN says %u",
			  len, run.u.run.config_len);
	check_fields(&run); /* the reader's copy of record 0 */
}

static struct trace_reader *open_image(const uint8_t *data, size_t size)
{
	char err[TRACE_READ_ERR_MAX] = "";
	struct trace_reader *r;
	FILE *fp = fmemopen((void *)data, size, "rb");

	if (!fp)
		return NULL;
	r = trace_reader_fopen(fp, NAME, err, sizeof(err));
	if (!r)
		check_message(err, 0, true);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r;

	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	r = open_image(data, size);
	if (!r)
		return 0;
	read_all(r, size);
	trace_reader_close(r);
	r = open_image(data, size);
	if (r) {
		gather(r);
		trace_reader_close(r);
	}
	return 0;
}
