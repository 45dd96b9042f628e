/*
 * Recording a run to a pcap file (docs/trace-format.md): LINKTYPE_USER0,
 * nanosecond timestamps equal to simulated time, one record per pcap
 * frame. Built on the recorder of trace.h and libpcap; a separate library
 * (xpv_trace_pcap) so only what records links libpcap.
 */
#ifndef SIM_TRACE_TRACE_PCAP_H
#define SIM_TRACE_TRACE_PCAP_H

#include <stdio.h>

#include "trace.h"

#define SIM_REC_PCAP_LINKTYPE 147 /* LINKTYPE_USER0 */

/* Start recording sim to f: writes the pcap header now and a record per
 * event from now on. f stays the caller's (it must be a file with a
 * descriptor: the recorder writes through its own stream on a duplicate
 * of that descriptor, from f's current offset); the caller closes it
 * after sim_recorder_detach or sim_destroy. 0, -EEXIST if sim already
 * records, -EBADF if f has no descriptor, -EIO if libpcap refuses. */
int sim_recorder_attach(struct sim *sim, FILE *f);
/* The same with flags: SIM_REC_PCAP_FLUSH_EACH writes every record out
 * at once, so a process that dies mid-run (a fuzz target's oracle, an
 * assertion) leaves every record so far in the file. */
#define SIM_REC_PCAP_FLUSH_EACH 0x1u
int sim_recorder_attach_flags(struct sim *sim, FILE *f, unsigned flags);
/* The pcap sink itself, for a recorder of one's own making (a replay
 * compares each record, then hands it to this): 0, or as above. Its
 * close finishes the file. */
int sim_rec_pcap_sink(FILE *f, unsigned flags, struct sim_rec_sink *out);
/* Finish the file: 0, or -EIO if a write failed. Same as
 * sim_recorder_stop. */
int sim_recorder_detach(struct sim *sim);

/* For whole runs (sim/run): start recording to f unless f is NULL, with
 * sim_recorder_attach_flags' flags; -1 with a message in err if that
 * fails. */
int sim_record_run_start(struct sim *sim, FILE *f, unsigned flags, char *err,
			 size_t errlen);
/* Finish the recording, if any: -1 with a message in err when the run
 * succeeded (rc 0) but the file could not be written; else 0. */
int sim_record_run_end(struct sim *sim, int rc, char *err, size_t errlen);

#endif /* SIM_TRACE_TRACE_PCAP_H */
