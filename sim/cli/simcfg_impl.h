/*
 * Internals of the configuration reader, shared by its .c files only.
 *
 * libxlutil says neither where a key was written nor which keys a file
 * holds, so simcfg_scan.c walks the text again (after libxlutil accepted
 * it) and records each `key =` / `key +=` with its line and the line of
 * every top-level list item. simcfg_value.c holds the value parsers.
 */
#ifndef SIM_CLI_SIMCFG_IMPL_H
#define SIM_CLI_SIMCFG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One key as written in the file; `+=` statements merge into it. */
struct simcfg_key {
	const char *name; /* into the scanned text, not NUL-terminated */
	size_t len;
	unsigned line;	      /* of the first assignment */
	unsigned *item_lines; /* line of each list item, in libxlutil order */
	unsigned nr_items, cap;
};

enum simcfg_scan_result {
	SIMCFG_SCAN_OK,
	SIMCFG_SCAN_NOMEM,
	SIMCFG_SCAN_UNKNOWN,   /* bad_key/bad_line: a key `known` refused */
	SIMCFG_SCAN_DUPLICATE, /* bad_key/bad_line: a second `key =` */
};

struct simcfg_scan {
	struct simcfg_key *keys;
	unsigned nr_keys, cap;
	const char *bad_key; /* what stopped the scan, into the text */
	size_t bad_len;
	unsigned bad_line;
	unsigned first_line; /* of the key bad_key repeats */
};

typedef bool simcfg_known_fn(const char *name, size_t len);

/* Scan text (already accepted by libxlutil). Stops at the first key
 * `known` refuses, so the key table stays as small as the known set. */
enum simcfg_scan_result simcfg_scan(const char *text, size_t len,
				    simcfg_known_fn *known,
				    struct simcfg_scan *sc);
void simcfg_scan_free(struct simcfg_scan *sc);
/* Refuses what libxlutil's lexer would refuse (it leaks when it does):
 * 0, or -1 with the line, the offending text and why. */
int simcfg_lex_check(const char *text, size_t len, unsigned *line,
		     const char **at, const char **why);
const struct simcfg_key *simcfg_scan_find(const struct simcfg_scan *sc,
					  const char *name);

/* ---- reading one configuration (simcfg.c) ------------------------------ */

struct simcfg;
struct simcfg_target;
struct simcfg_usbdev;
struct simcfg_usb_ports;
struct simcfg_vdev;
struct XLU_Config;

struct simcfg_ctx {
	const char *file;     /* name in messages */
	const char *base_dir; /* NULL or "": relative paths stay relative */
	struct XLU_Config *xlu;
	struct simcfg_scan scan;
	struct simcfg *cfg;
	unsigned targets_cap; /* sim_scsi_targets entries + vscsi entries */
	bool *usbctrl_devid_given;	    /* per usbctrl, while reading it */
	struct simcfg_usb_ports *usb_ports; /* while reading usbdev */
	char *err;
	size_t errlen;
};

/* Writes "FILE:LINE: KEY: message" to c->err; returns -1. */
int simcfg_fail(struct simcfg_ctx *c, unsigned line, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A key's value that must not be a list. */
int simcfg_scalar(struct simcfg_ctx *c, const struct simcfg_key *k,
		  const char *key, const char **value);

/* Entries of a list key, at most SIMCFG_LIST_MAX; 0 if absent. */
unsigned simcfg_list_len(struct simcfg_ctx *c, const char *key);

typedef int simcfg_item_fn(struct simcfg_ctx *c, const char *key, unsigned line,
			   char *item);
/* Calls fn on a private copy of each string of a list key, with the
 * line it was written on. */
int simcfg_each_item(struct simcfg_ctx *c, const struct simcfg_key *k,
		     const char *key, simcfg_item_fn *fn);

typedef int simcfg_field_fn(struct simcfg_ctx *c, const char *key,
			    unsigned line, void *obj, unsigned field,
			    const char *value);
/* Calls fn for each "name=value" field of item, name being an index in
 * names[]; refuses unknown and repeated names. *seen: bit per name. */
int simcfg_each_field(struct simcfg_ctx *c, const char *key, unsigned line,
		      char *item, const char *const *names, unsigned nr_names,
		      simcfg_field_fn *fn, void *obj, unsigned *seen);

/* Prefixes a relative path with the configuration's directory. NULL on
 * error (reported). */
char *simcfg_resolve(struct simcfg_ctx *c, const char *key, unsigned line,
		     const char *path);
/* 0, or -1 with the parser's message in why. */
int simcfg_check_faults(const char *spec, char *why, size_t len);

typedef int simcfg_key_fn(struct simcfg_ctx *c, const struct simcfg_key *k,
			  const char *key);
/* simcfg_scsi.c */
simcfg_key_fn simcfg_key_scsiback, simcfg_key_targets, simcfg_key_vscsi;
const struct simcfg_target *simcfg_target_named(const struct simcfg *cfg,
						const char *name);
bool simcfg_vdev_eq(const struct simcfg_vdev *a, const struct simcfg_vdev *b);
/* Parses and range-checks a VDEV argument, reporting errors. */
int simcfg_vdev_arg(struct simcfg_ctx *c, const char *key, unsigned line,
		    const char *s, struct simcfg_vdev *vd);
/* A name of a target or USB device: 1 to 63 of A-Z a-z 0-9 _ . - */
bool simcfg_name_ok(const char *s);

/* simcfg_usb.c */
simcfg_key_fn simcfg_key_usbctrl, simcfg_key_usb_devices, simcfg_key_usbdev;
/* A usbdev entry, or usb-attach's argument (what prefixes messages:
 * "" or "usb-attach: "): fields split in place. Controllers and devices
 * must have been read. port 0: neither controller nor port given, for
 * simcfg_usb_plug to choose. */
int simcfg_usb_attach_arg(struct simcfg_ctx *c, const char *key, unsigned line,
			  const char *what, char *s, struct simcfg_usbdev *u);
/* usb-detach's argument: controller= and port=. */
int simcfg_usb_detach_arg(struct simcfg_ctx *c, const char *key, unsigned line,
			  char *s, struct simcfg_usbdev *u);
/* Port occupancy of every controller of a configuration; NULL: out of
 * memory. Starts empty. */
struct simcfg_usb_ports *simcfg_usb_ports_new(const struct simcfg *cfg);
void simcfg_usb_ports_free(struct simcfg_usb_ports *p);
/* Puts u's device on its port (choosing one if u->port is 0, as xl
 * does); refuses a taken port, a device already attached, no free port.
 * Errors are reported at u->line. */
int simcfg_usb_plug(struct simcfg_ctx *c, const char *key, const char *what,
		    struct simcfg_usb_ports *p, struct simcfg_usbdev *u);
/* Empties u's port, filling u with the device that was there; refuses an
 * empty port. */
int simcfg_usb_unplug(struct simcfg_ctx *c, const char *key,
		      struct simcfg_usb_ports *p, struct simcfg_usbdev *u);

/* simcfg_events.c */
simcfg_key_fn simcfg_key_timeline, simcfg_key_workloads;

/* ---- value parsers (simcfg_value.c) ------------------------------------ */

/* Decimal digits only, at most max. 0 or -1. */
int simcfg_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* "0" or "1". */
int simcfg_parse_bool(const char *s, bool *out);

/* Splits "k=v, k=v" items in place: each call yields the next field with
 * spaces trimmed; *value is NULL when the field has no '='. Returns false
 * at the end of the string. */
bool simcfg_next_field(char **cursor, char **key, char **value);
/* Trims ASCII spaces and tabs at both ends, in place. */
char *simcfg_trim(char *s);

#endif /* SIM_CLI_SIMCFG_IMPL_H */
