/*
 * The pcap sink of the recorder: libpcap's dumper on a "dead" capture
 * handle of link type USER0 with nanosecond precision. The dumper owns
 * its FILE and closes it, so it gets a stream of its own on a duplicate
 * of the caller's descriptor and the caller's FILE stays open.
 */
#include "trace_pcap.h"

#include <errno.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pcap_sink {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	bool flush_each; /* SIM_REC_PCAP_FLUSH_EACH */
};

static int pcap_sink_write(void *ctx, uint64_t time_ns, const void *rec,
			   size_t len)
{
	struct pcap_sink *ps = ctx;
	struct pcap_pkthdr h = {0};

	SIM_ASSERT(len <= SIM_REC_MAX);
	/* With nanosecond precision, tv_usec carries nanoseconds. */
	h.ts.tv_sec = (time_t)(time_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(time_ns % 1000000000u);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)ps->dumper, &h, rec);
	if (ps->flush_each && pcap_dump_flush(ps->dumper))
		return -EIO;
	return ferror(pcap_dump_file(ps->dumper)) ? -EIO : 0;
}

static int pcap_sink_close(void *ctx)
{
	struct pcap_sink *ps = ctx;
	int err = pcap_dump_flush(ps->dumper) ? -EIO : 0;

	if (ferror(pcap_dump_file(ps->dumper)))
		err = -EIO;
	pcap_dump_close(ps->dumper);
	pcap_close(ps->pcap);
	free(ps);
	return err;
}

/* A stream of our own at f's position, for the dumper to own. */
static FILE *own_stream(FILE *f)
{
	int fd = fileno(f);
	FILE *own;

	if (fd < 0 || fflush(f))
		return NULL;
	fd = dup(fd);
	if (fd < 0)
		return NULL;
	own = fdopen(fd, "wb");
	if (!own)
		close(fd);
	return own;
}

static int pcap_sink_open(struct pcap_sink *ps, FILE *f)
{
	FILE *own = own_stream(f);

	if (!own)
		return -EBADF;
	ps->pcap = pcap_open_dead_with_tstamp_precision(
	    DLT_USER0, SIM_REC_MAX, PCAP_TSTAMP_PRECISION_NANO);
	if (!ps->pcap) {
		fclose(own);
		return -EIO;
	}
	ps->dumper = pcap_dump_fopen(ps->pcap, own);
	if (!ps->dumper) {
		fclose(own);
		pcap_close(ps->pcap);
		return -EIO;
	}
	return 0;
}

int sim_recorder_attach(struct sim *sim, FILE *f)
{
	return sim_recorder_attach_flags(sim, f, 0);
}

int sim_rec_pcap_sink(FILE *f, unsigned flags, struct sim_rec_sink *out)
{
	struct pcap_sink *ps = sim_xcalloc(1, sizeof(*ps));
	int r;

	ps->flush_each = (flags & SIM_REC_PCAP_FLUSH_EACH) != 0;
	r = pcap_sink_open(ps, f);
	if (r) {
		free(ps);
		return r;
	}
	out->write = pcap_sink_write;
	out->close = pcap_sink_close;
	out->ctx = ps;
	return 0;
}

int sim_recorder_attach_flags(struct sim *sim, FILE *f, unsigned flags)
{
	struct sim_rec_sink sink;
	int r;

	if (sim_recorder_attached(sim))
		return -EEXIST;
	r = sim_rec_pcap_sink(f, flags, &sink);
	if (r)
		return r;
	r = sim_recorder_start(sim, &sink);
	SIM_ASSERT(r == 0); /* checked above */
	return 0;
}

int sim_recorder_detach(struct sim *sim)
{
	return sim_recorder_stop(sim);
}

int sim_record_run_start(struct sim *sim, FILE *f, unsigned flags, char *err,
			 size_t errlen)
{
	int r = f ? sim_recorder_attach_flags(sim, f, flags) : 0;

	if (r)
		snprintf(err, errlen, "cannot record the trace: %s",
			 strerror(-r));
	return r ? -1 : 0;
}

int sim_record_run_end(struct sim *sim, int rc, char *err, size_t errlen)
{
	int r = sim_recorder_detach(sim);

	if (r && rc == 0) {
		snprintf(err, errlen, "writing the trace failed: %s",
			 strerror(-r));
		return -1;
	}
	return 0;
}
