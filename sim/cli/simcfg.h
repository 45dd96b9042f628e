/*
 * The configuration reader of `xpvsim run CONFIG`: a guest described in xl
 * syntax (parsed by Xen's libxlutil), with PVSCSI LUNs, image-backed
 * targets, PVUSB controllers and simulated host USB devices, a timeline of
 * toolstack actions, I/O workloads and simulator settings. docs/config.md
 * is the reference of every key.
 *
 * The file is hostile input: every value is bounds-checked, and a bad one
 * is an error "FILE:LINE: KEY: what is wrong" (never a crash or a leak).
 * The reader does not touch images or the simulator; checks that need an
 * opened target (block multiple of the LUN's block size, span within the
 * capacity, image present) are the caller's. To add a key: a row in the
 * key table of simcfg.c, a field here, a section in docs/config.md.
 */
#ifndef SIM_CLI_SIMCFG_H
#define SIM_CLI_SIMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_device.h"

#define SIMCFG_NAME_MAX	  64   /* guest and target names, with the NUL */
#define SIMCFG_SERIAL_MAX 32   /* INQUIRY unit serial number, characters */
#define SIMCFG_LIST_MAX	  1024 /* entries of one list key */
#define SIMCFG_FILE_MAX	  (1u << 20) /* bytes of a configuration file */

/* A virtual SCSI address "h:c:t:l"; host is the vscsi device id. */
struct simcfg_vdev {
	uint16_t host, channel, id, lun;
};

struct simcfg_target {
	char name[SIMCFG_NAME_MAX];
	enum sim_scsi_kind kind;
	char *image;   /* resolved against the config's directory */
	uint64_t size; /* create the image this big if missing; 0: must exist */
	uint32_t block_size; /* 512 or 4096; CD-ROM 2048 */
	bool read_only;	     /* always true for a CD-ROM */
	bool implicit;	     /* made for an image path in vscsi */
	char vendor[9];	     /* "" : the target's default */
	char product[17];
	char serial[SIMCFG_SERIAL_MAX + 1];
	unsigned line;
};

/* One vscsi entry: a LUN present when the guest starts. */
struct simcfg_lun {
	struct simcfg_vdev vdev;
	unsigned target; /* index in simcfg.targets */
	unsigned line;
};

enum simcfg_action {
	SIMCFG_LUN_ADD,	   /* vdev, target */
	SIMCFG_LUN_REMOVE, /* vdev */
	SIMCFG_FAULTS,	   /* faults: the new fault plan */
	SIMCFG_SUSPEND,	   /* save/restore cycle: suspend, then resume */
	SIMCFG_CLOSE,	   /* orderly teardown */
	SIMCFG_DESTROY,	   /* disorderly teardown: the backend vanishes */
	SIMCFG_USB_ATTACH, /* usb: a device onto a controller's port */
	SIMCFG_USB_DETACH, /* usb (controller, port): the port emptied */
};

enum simcfg_pattern {
	SIMCFG_RANDRW,
	SIMCFG_RANDREAD,
	SIMCFG_RANDWRITE,
	SIMCFG_SEQREAD,
	SIMCFG_SEQWRITE,
	SIMCFG_SEQRW,
	SIMCFG_ABORT_RESET, /* ops rounds of ABORT and LUN RESET */
};

/* ---- PVUSB ---------------------------------------------------------------
 * usbctrl and usbdev entries in xl's syntax (xl.cfg(5)), sim_usb_devices
 * for the simulated host devices those name. */

#define SIMCFG_USB_PORTS_MAX 31 /* qusb's num-ports limit */
#define SIMCFG_USB_KEYS_MAX  64 /* characters a keyboard types */

/* usbctrl: one PVUSB controller, frontend device vusb/<devid>. */
struct simcfg_usbctrl {
	uint16_t devid;	 /* devid=, default: the lowest no entry asks for */
	uint8_t version; /* version=1 or 2 (default 2): usb-ver */
	uint8_t ports;	 /* ports=1..31 (default 8): num-ports */
	unsigned line;
};

enum simcfg_usb_class {
	SIMCFG_USB_STORAGE,  /* bulk-only mass storage on an image */
	SIMCFG_USB_KEYBOARD, /* HID boot keyboard */
	SIMCFG_USB_MOUSE,    /* HID boot mouse */
	SIMCFG_USB_SERIAL,   /* CDC-ACM, loops its bulk OUT back to IN */
	SIMCFG_USB_ETHERNET, /* CDC-ECM, reflects the frames it is sent */
	SIMCFG_USB_AUDIO,    /* UAC1 speaker and microphone, isochronous */
	SIMCFG_USB_CAPTURE,  /* a real device replayed from a capture
			      * (sim/devices/usb_replay.h) */
};

/* A simulated host USB device, at bus address hostbus.hostaddr; the
 * backend sees it as bus id "<hostbus>-<hostaddr>". The workload fields
 * say what the guest's class driver does each time it binds to it. */
struct simcfg_usb_device {
	char name[SIMCFG_NAME_MAX];
	uint8_t hostbus;  /* 1..255 */
	uint8_t hostaddr; /* 1..127 */
	enum simcfg_usb_class cls;
	/* default: high; HID full; capture 0: what usb_replay infers */
	enum sim_usb_speed speed;
	/* storage: the medium, as a sim_scsi_targets disk; capture: the
	 * capture file (capture=), which the reader does not open. Either
	 * resolved against the config's directory (simcfg_free frees it). */
	char *image;
	uint64_t size;
	uint32_t block_size;
	bool read_only;
	/* INQUIRY unit serial: the name, or (a name over 32 characters)
	 * its first 23, '-' and 8 hex digits of a hash of it */
	char serial[SIMCFG_SERIAL_MAX + 1];
	/* keyboard: keys typed (a-z, 0-9, space), one every key_interval
	 * from keys_at (simulated time, absolute); mouse: moves movements
	 * the same way */
	char keys[SIMCFG_USB_KEYS_MAX + 1];
	uint32_t moves;
	uint64_t keys_at_ns, key_interval_ns;
	/* guest work per binding: storage, pattern x ops commands of block
	 * bytes; serial, ops writes of block bytes each read back; ethernet,
	 * ops frames of block bytes each reflected; audio, ops isochronous
	 * URBs each way of block packets. verify: compare what comes back. */
	enum simcfg_pattern pattern; /* storage: seqread..randrw */
	uint32_t block;
	uint64_t ops;
	bool verify;
	/* capture: which device of the file (capture_device=BUS.ADDR; both
	 * -1: the importer's choice), and whether IN answers keep the
	 * capture's waits (capture_timing, default 1). block and ops are 0
	 * when not given: the bound class's defaults
	 * (simcfg_usb_capture_binding). */
	int capture_bus, capture_addr;
	bool capture_timing;
	unsigned line;
};

/* usbdev, and a usb-attach on the timeline: the device at
 * hostbus.hostaddr onto controller devid's port (chosen by the reader
 * when the entry gives neither). A usb-detach gives controller and port;
 * the reader fills in hostbus, hostaddr and device from what the port
 * holds at that time. */
struct simcfg_usbdev {
	uint8_t hostbus, hostaddr;
	uint16_t controller; /* a usbctrl devid */
	uint8_t port;	     /* 1..that controller's ports */
	unsigned device;     /* index in simcfg.usb_devices */
	unsigned line;
};

struct simcfg_event {
	uint64_t at_ns;
	enum simcfg_action action;
	struct simcfg_vdev vdev;
	unsigned target;
	char *faults;		  /* SIMCFG_FAULTS only, else NULL */
	struct simcfg_usbdev usb; /* SIMCFG_USB_ATTACH, _DETACH */
	unsigned line;
};

struct simcfg_workload {
	struct simcfg_vdev vdev;
	enum simcfg_pattern pattern;
	uint32_t block; /* bytes per command, multiple of 512 */
	uint32_t depth; /* commands in flight, 1..16 */
	uint64_t ops;	/* commands (abort-reset: rounds), >= 1 */
	uint64_t start_ns;
	bool verify;	   /* check read data against what was written */
	uint64_t span;	   /* bytes from LBA 0 used; 0: the whole LUN */
	uint32_t read_pct; /* randrw, seqrw: share of reads, 0..100 */
	unsigned line;
};

enum simcfg_result_encoding {
	SIMCFG_RESULT_CURRENT, /* host byte in bits 16-23 (2022 and later) */
	SIMCFG_RESULT_OLD,     /* setup failures as result << 24 */
};

/* Backend model options (sim_scsiback). */
struct simcfg_scsiback {
	uint32_t sg_grant; /* feature-sg-grant value; 0: not advertised */
	enum simcfg_result_encoding result_encoding;
	uint64_t service_min_ns, service_max_ns; /* per command, seeded */
	uint64_t per_kib_ns;			 /* added per KiB of data */
	/* Commands an ABORT or LUN RESET takes down get an answer (host
	 * ABORT / RESET) before the TMR's; false (default, as LIO does for
	 * the issuing session): no answer, data grants kept mapped. */
	bool tmr_victims_answered;
};

struct simcfg {
	char *path; /* file name used in messages */
	char *text; /* the configuration as read (NUL-terminated) */
	size_t text_len;
	char name[SIMCFG_NAME_MAX];
	struct simcfg_target *targets;
	unsigned nr_targets;
	struct simcfg_lun *luns;
	unsigned nr_luns;
	struct simcfg_event *timeline; /* sorted by at_ns, stable */
	unsigned nr_events;
	struct simcfg_workload *workloads;
	unsigned nr_workloads;
	struct simcfg_scsiback scsiback;
	uint64_t seed;
	bool has_seed;
	char *faults; /* validated fault plan; NULL: none given */
	bool swarm;
	uint64_t time_limit_ns;
	struct simcfg_usbctrl *usbctrls;
	unsigned nr_usbctrls;
	struct simcfg_usb_device *usb_devices;
	unsigned nr_usb_devices;
	struct simcfg_usbdev *usbdevs; /* attached when the guest starts */
	unsigned nr_usbdevs;
};

/* Read a configuration file. Relative image paths resolve against the
 * file's directory. 0, or -1 with "FILE:LINE: KEY: message" in err. */
int simcfg_load(const char *path, struct simcfg **out, char *err,
		size_t errlen);
/* The same from memory (tests, fuzzing). name is used in messages;
 * base_dir (NULL: none) prefixes relative image paths. */
int simcfg_load_string(const char *text, const char *name, const char *base_dir,
		       struct simcfg **out, char *err, size_t errlen);
void simcfg_free(struct simcfg *cfg);

/* "0", or digits with a unit ns, us, ms, s. 0 or -1. */
int simcfg_parse_duration(const char *s, uint64_t *ns);
/* Digits with an optional binary suffix K, M, G, T (either case). */
int simcfg_parse_size(const char *s, uint64_t *bytes);
/* "h:c:t:l", decimal, each 0..65535 (id and lun limits are the caller's:
 * simcfg_vdev_check). */
int simcfg_parse_vdev(const char *s, struct simcfg_vdev *vdev);
/* NULL if vdev is addressable by the frontend, else why not. */
const char *simcfg_vdev_check(const struct simcfg_vdev *vdev);

const char *simcfg_action_name(enum simcfg_action a);
const char *simcfg_pattern_name(enum simcfg_pattern p);
const char *simcfg_usb_class_name(enum simcfg_usb_class c);
/* A storage device's medium as the SCSI disk model takes it; pointers
 * into d. */
void simcfg_usb_storage_config(const struct simcfg_usb_device *d,
			       struct sim_scsi_target_config *out);
/* What the guest's class driver works with when it binds a captured
 * device (d: class capture) as a `bound` device (storage .. audio, by
 * the first interface): d with that class, the class's defaults for
 * block, ops and pattern not given, block clamped into the class's range
 * (storage: a multiple of 512), and verify off (the data comes from a
 * recording, not from what this guest sent). */
void simcfg_usb_capture_binding(const struct simcfg_usb_device *d,
				enum simcfg_usb_class bound,
				struct simcfg_usb_device *out);
/* The device's bus id as the backend's port/<N> holds it: "B-A". */
void simcfg_usb_busid(const struct simcfg_usb_device *d, char *buf, size_t len);
/* The device model's view of a target; pointers into t. */
void simcfg_target_config(const struct simcfg_target *t,
			  struct sim_scsi_target_config *out);

#endif /* SIM_CLI_SIMCFG_H */
