/*
 * Reading recorded pcap files back for the trace tests: every record with
 * its pcap timestamp, through libpcap with nanosecond precision, and the
 * xpv record header of docs/trace-format.md decoded field by field.
 */
#ifndef TESTS_TRACE_TRACE_TEST_H
#define TESTS_TRACE_TRACE_TEST_H

#include <check.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace/trace.h"

struct tt_rec {
	uint64_t ts_ns; /* from the pcap record header */
	uint32_t caplen, len;
	uint8_t *data; /* caplen bytes */
	/* The xpv header, decoded. */
	uint8_t version, type;
	uint16_t hdr_len, domid, flags;
	uint64_t seq, time_ns;
	uint32_t payload_len;
	const uint8_t *payload;
};

struct tt_file {
	int linktype, snaplen, precision;
	struct tt_rec *recs;
	size_t n;
};

static inline uint16_t tt_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tt_u32(const uint8_t *p)
{
	return (uint32_t)tt_u16(p) | (uint32_t)tt_u16(p + 2) << 16;
}

static inline uint64_t tt_u64(const uint8_t *p)
{
	return (uint64_t)tt_u32(p) | (uint64_t)tt_u32(p + 4) << 32;
}

static inline void tt_decode(struct tt_rec *r)
{
	const uint8_t *d = r->data;

	ck_assert_uint_ge(r->caplen, SIM_REC_HDR_LEN);
	ck_assert_mem_eq(d, "XPVT", 4);
	r->version = d[4];
	r->type = d[5];
	r->hdr_len = tt_u16(d + 6);
	r->seq = tt_u64(d + 8);
	r->time_ns = tt_u64(d + 16);
	r->domid = tt_u16(d + 24);
	r->flags = tt_u16(d + 26);
	r->payload_len = tt_u32(d + 28);
	r->payload = d + r->hdr_len;
	ck_assert_uint_eq(r->hdr_len + r->payload_len, r->caplen);
}

/* Reads f (rewound first; libpcap closes it) into t. */
static inline void tt_read(FILE *f, struct tt_file *t)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t cap = 0;
	pcap_t *p;
	int r;

	memset(t, 0, sizeof(*t));
	rewind(f);
	p = pcap_fopen_offline_with_tstamp_precision(
	    f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	ck_assert_msg(p != NULL, "pcap: %s", errbuf);
	t->linktype = pcap_datalink(p);
	t->snaplen = pcap_snapshot(p);
	t->precision = pcap_get_tstamp_precision(p);
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		struct tt_rec *rec;

		if (t->n == cap) {
			cap = cap ? 2 * cap : 256;
			t->recs = realloc(t->recs, cap * sizeof(*t->recs));
			ck_assert_ptr_nonnull(t->recs);
		}
		rec = &t->recs[t->n++];
		memset(rec, 0, sizeof(*rec));
		rec->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
			     (uint64_t)h->ts.tv_usec;
		rec->caplen = h->caplen;
		rec->len = h->len;
		rec->data = malloc(h->caplen ? h->caplen : 1);
		ck_assert_ptr_nonnull(rec->data);
		memcpy(rec->data, data, h->caplen);
		tt_decode(rec);
	}
	ck_assert_msg(r == PCAP_ERROR_BREAK, "pcap: %s", pcap_geterr(p));
	pcap_close(p);
}

static inline void tt_free(struct tt_file *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->recs[i].data);
	free(t->recs);
	memset(t, 0, sizeof(*t));
}

/* What every file must satisfy: USER0, nanoseconds, the snaplen, and
 * headers in order (seq = index, time = pcap time, never decreasing). */
static inline void tt_check_framing(const struct tt_file *t)
{
	uint64_t last = 0;

	ck_assert_int_eq(t->linktype, DLT_USER0);
	ck_assert_int_eq(t->precision, PCAP_TSTAMP_PRECISION_NANO);
	ck_assert_int_eq(t->snaplen, (int)SIM_REC_MAX);
	for (size_t i = 0; i < t->n; i++) {
		const struct tt_rec *r = &t->recs[i];

		ck_assert_uint_eq(r->version, SIM_REC_VERSION);
		ck_assert_uint_eq(r->hdr_len, SIM_REC_HDR_LEN);
		ck_assert_uint_eq(r->caplen, r->len);
		ck_assert_uint_eq(r->seq, i);
		ck_assert_uint_eq(r->time_ns, r->ts_ns);
		ck_assert_uint_ge(r->time_ns, last);
		last = r->time_ns;
	}
}

#endif /* TESTS_TRACE_TRACE_TEST_H */
