/*
 * Reading a recorded trace back (docs/trace-format.md): the pcap file of
 * `xpvsim run --trace`, checked whole and decoded record by record into
 * the header fields and a tagged union with every field of the record's
 * type. A replay (`xpvsim replay`) drives a frontend from these records.
 *
 * Everything a file claims is checked before it is believed: the pcap
 * link type, each record's magic, version, lengths, sequence number and
 * time, ring ids (introduced by RING_ATTACH before use, entry sizes and
 * kinds matching the ring's), enumeration values, RUN only as record 0
 * and its RUN_MORE pieces contiguous. The reader stops at the first
 * problem with one message "FILE: record N (byte offset O): what is
 * wrong", O being the file offset of record N's pcap header (problems of
 * the pcap file header itself are record 0 at byte offset 0). Record types
 * it does not know are returned as TRACE_REC_UNKNOWN with their payload,
 * as the format asks.
 *
 * To read a new record type: add its struct to the union of struct
 * trace_rec and a decode function to the table in trace_read.c.
 */
#ifndef SIM_TRACE_TRACE_READ_H
#define SIM_TRACE_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

#define TRACE_READ_ERR_MAX 512 /* room for any message of the reader */
/* The recorder reads at most 16 MiB of a configuration: a longer claimed
 * text is an error, never an allocation. */
#define TRACE_READ_CONFIG_MAX (16u << 20)

struct trace_reader;

/* Bytes inside the current record; valid until the next read. */
struct trace_bytes {
	const uint8_t *p;
	size_t len;
};

#define TRACE_REC_UNKNOWN 0 /* a type this reader does not know */

struct trace_rec {
	/* Where: the record's number (from 0) and its pcap header's offset. */
	uint64_t index, offset;
	/* The pcap record header. */
	uint64_t ts_ns;
	uint32_t caplen;
	/* The xpv record header. */
	uint8_t version, type; /* type as in the file, even when unknown */
	uint16_t hdr_len, domid, flags;
	uint64_t seq, time_ns;
	uint32_t payload_len;
	const uint8_t *raw; /* caplen bytes: header and payload */
	struct trace_bytes payload;
	/* enum sim_rec_type, or TRACE_REC_UNKNOWN: selects the union. */
	int kind;
	union {
		struct {
			uint16_t ring_id, fe_domid, be_domid;
			uint8_t kind; /* enum sim_rec_ring_kind */
			uint32_t gref, nr_ents, entry_size, req_prod, rsp_prod;
			struct trace_bytes fe_path, be_path;
		} ring_attach;
		struct {
			uint16_t ring_id;
			uint8_t kind;
			uint32_t req_prod, rsp_prod;
		} ring_detach;
		struct {
			uint16_t ring_id;
			uint8_t kind, dir; /* enum sim_rec_dir */
			uint32_t idx, slot, prod, entry_size;
			struct trace_bytes entry;
		} ring_entry;
		struct {
			uint16_t ring_id;
			uint8_t kind, dir;
			uint32_t old_prod, new_prod;
		} ring_index;
		struct {
			uint32_t port, remote_port;
			uint16_t remote_domid;
			uint8_t outcome; /* 0 sent, 1 dropped */
			/* The delivery the send made due (payloads of 24
			 * bytes; 0 and 0 in the first 12-byte layout). */
			uint8_t delivery_flags; /* SIM_REC_SEND_* */
			uint64_t deliver_at_ns;
		} evtchn_send; /* also EVTCHN_EOI */
		struct {
			uint32_t port, remote_port;
			uint16_t remote_domid;
		} evtchn_deliver; /* also EVTCHN_BIND and EVTCHN_CLOSE */
		struct {
			uint16_t ring_id;
			uint8_t kind, which; /* enum sim_rec_event_idx */
			uint32_t old_idx, new_idx;
		} ring_event;
		struct {
			uint32_t ref;
			uint16_t peer_domid;
			uint8_t readonly;
			uint64_t gfn;
		} gnt_grant;
		struct {
			uint32_t ref;
			int32_t result;
		} gnt_end;
		struct {
			uint32_t ref;
			uint16_t granter_domid;
			uint8_t writable;
			int32_t result;
		} gnt_map;
		struct {
			uint32_t ref;
			uint16_t granter_domid;
			uint8_t writable;
		} gnt_unmap;
		struct {
			uint32_t ref;
			uint16_t granter_domid, offset, length;
			uint8_t to_granted;
			int32_t result;
		} gnt_copy;
		struct {
			uint32_t ref, offset;
			uint16_t granter_domid;
			uint8_t to_granted, what; /* enum sim_rec_data_kind */
			struct trace_bytes bytes;
		} data;
		struct {
			struct trace_bytes path, value;
		} xs_write;
		struct {
			struct trace_bytes path;
		} xs_path; /* XS_MKDIR, XS_RM */
		struct {
			struct trace_bytes path;
			uint16_t nperms;
			struct trace_bytes
			    perms; /* 4 x nperms: trace_rec_perm */
		} xs_set_perms;
		struct {
			struct trace_bytes path, token;
		} xs_watch_fire;
		struct {
			struct trace_bytes path, token;
			uint32_t client; /* 0: a watch of no client */
		} xs_watch; /* XS_WATCH, XS_UNWATCH */
		struct {
			uint32_t state; /* enum xenbus_state, 0..8 */
			struct trace_bytes path;
		} xenbus_state;
		struct {
			uint8_t format, kind; /* enum sim_rec_run_kind */
			uint16_t flags;	      /* SIM_REC_RUN_F_* */
			uint64_t seed, ops_limit, time_limit_ns;
			uint32_t config_len;
			struct trace_bytes frontend, faults, config_path;
			struct trace_bytes
			    config_here; /* the text's first piece */
		} run;
		struct {
			uint32_t offset;
			struct trace_bytes piece;
		} run_more;
	} u;
};

/* Open path: the reader, or NULL with the message in err (errlen: at
 * least TRACE_READ_ERR_MAX for a whole message). */
struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen);
/* The same on f, named name in messages; the reader owns f from now on
 * (closed by trace_reader_close, or here on failure). f is read from its
 * start (it must be seekable: a file, or fmemopen's stream). Only classic
 * pcap with nanosecond timestamps is taken: pcapng and microsecond files
 * are refused (their byte offsets and times would not be the trace's). */
struct trace_reader *trace_reader_fopen(FILE *f, const char *name, char *err,
					size_t errlen);
/* The next record into rec: 1, 0 at the end of the file, -1 on the first
 * problem (trace_reader_error; every later call returns -1 again). */
int trace_reader_next(struct trace_reader *r, struct trace_rec *rec);
/* The message of the problem that stopped r; "" while there is none. */
const char *trace_reader_error(const struct trace_reader *r);
void trace_reader_close(struct trace_reader *r);

/* Records read so far (the next record's number). */
uint64_t trace_reader_records(const struct trace_reader *r);

/* The configuration text of the RUN record and its RUN_MORE pieces,
 * joined (NUL-terminated; *len without the NUL): NULL until the RUN record
 * and all its pieces have been read. Owned by r, valid until close. */
const char *trace_reader_config(const struct trace_reader *r, size_t *len);
/* Reads the RUN record (record 0) and its RUN_MORE pieces from a fresh
 * reader: 0 with the text as trace_reader_config gives it, or -1 (the
 * file's problem, or it does not start with RUN) with trace_reader_error
 * set. run, when not NULL, receives the RUN record; its strings stay valid
 * until the reader is closed (the reader keeps a copy of record 0). */
int trace_reader_gather_config(struct trace_reader *r, struct trace_rec *run,
			       const char **text, size_t *len);

/* Permission i < nperms of an XS_SET_PERMS record. */
void trace_rec_perm(const struct trace_rec *rec, unsigned i, uint16_t *domid,
		    uint8_t *perm);

#endif /* SIM_TRACE_TRACE_READ_H */
