/*
 * A simulated USB mass storage device (USB MSC Bulk-Only Transport 1.0)
 * in front of one SCSI logical unit (scsi_target.h), built on the USB
 * device core (usb_device.h) at full or high speed: one interface (class
 * 8, subclass 6 SCSI transparent, protocol 0x50 BOT) with bulk IN
 * endpoint 1 and bulk OUT endpoint 2 (64 bytes at full speed, 512 at
 * high speed). Bulk endpoints do not exist at low speed, so neither does
 * this device there.
 *
 * The BOT state machine: a CBW on bulk OUT, then the data stage, then a
 * CSW on bulk IN. The SCSI command runs (sim_scsi_target_exec) when its
 * data is complete: for data-out once every OUT byte has arrived, for
 * data-in at the first IN attempt; data-in then goes out in IN transfers
 * of up to the host's buffer. The 13 cases of BOT 6.7 are decided from
 * the CBW (the host's direction and dCBWDataTransferLength) and what the
 * device intends: for READ and WRITE (6, 10, 12, 16) the CDB's block
 * count times the unit's block size; for any other command the host's
 * own direction, whose data the unit bounds by its allocation length
 * (and rejects, CHECK CONDITION, when the direction is wrong for it).
 *
 *   cases 1, 6, 12       as agreed; CSW residue 0
 *   case 4, 5 (Hi > Di)  the data there is, then bulk IN halts (the last
 *                        transfer is short; the next attempt STALLs); the
 *                        CSW follows CLEAR_FEATURE, residue Hi - Di
 *   case 9, 11 (Ho > Do) every OUT byte is accepted, the extra ones
 *                        dropped; residue Ho - Do
 *   cases 2, 3           no data stage; CSW status 2 (phase error)
 *   cases 7, 8           bulk IN STALLs at the first attempt, status 2
 *   cases 10, 13         bulk OUT STALLs at the first attempt, status 2
 *
 * The command does not run on a phase error. A command that would move
 * more than SIM_USB_MSC_MAX_XFER bytes cannot be buffered and is a phase
 * error too (BOT 6.7: an internal error that needs a reset). bCSWStatus
 * is 0 for SCSI GOOD and 1 for any other SCSI status (REQUEST SENSE then
 * reads the unit's sense).
 *
 * A CBW that is not valid or not meaningful (not 31 bytes, bad
 * signature, reserved bits, LUN other than 0, CB length 0 or above 16)
 * halts both bulk endpoints until Reset Recovery (BOT 5.3.4): Bulk-Only
 * Mass Storage Reset, then CLEAR_FEATURE(ENDPOINT_HALT) on both. Before
 * the reset, an endpoint the host clears halts again at the next attempt
 * (GET_STATUS may show it clear until then). The reset ends the command
 * in progress but keeps halts (BOT 3.1) and leaves the SCSI unit alone:
 * it is a transport reset, not a LOGICAL UNIT RESET.
 *
 * The device never NAKs: the unit answers synchronously, so whatever a
 * phase needs is ready at the first attempt (bInterval of bulk OUT is
 * 0 at high speed). A transfer the phase does not expect (IN while a CBW
 * or data-out is due, OUT while data-in or the CSW is due) halts its
 * endpoint, as a protocol violation, and the phase stays where it was.
 * A CSW attempt with a buffer below 13 bytes is BABBLE and the CSW stays
 * due. Get Max LUN answers 0: one LUN.
 *
 * Identity (made up, not assigned by the USB-IF): idVendor 0xf055,
 * idProduct 0x5354 ("ST"), strings manufacturer "xpv", product "xpv
 * mass storage", serial "5850564D5343" (BOT 4.1.1: 12 or more hex
 * digits; these spell "XPVMSC").
 */
#ifndef SIM_DEVICES_USB_MSC_H
#define SIM_DEVICES_USB_MSC_H

#include <stddef.h>
#include <stdint.h>

#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_device.h"

#define SIM_USB_MSC_VENDOR  0xf055
#define SIM_USB_MSC_PRODUCT 0x5354

/* Endpoints: bulk IN 1, bulk OUT 2. */
#define SIM_USB_MSC_EP_IN  1
#define SIM_USB_MSC_EP_OUT 2

/* Class requests (BOT 3.1, 3.2) and the wrappers (BOT 5.1, 5.2). */
#define SIM_USB_MSC_REQ_RESET	    0xff
#define SIM_USB_MSC_REQ_GET_MAX_LUN 0xfe
#define SIM_USB_MSC_CBW_SIGNATURE   0x43425355u /* "USBC" */
#define SIM_USB_MSC_CSW_SIGNATURE   0x53425355u /* "USBS" */
#define SIM_USB_MSC_CBW_LEN	    31
#define SIM_USB_MSC_CSW_LEN	    13
#define SIM_USB_MSC_CBW_DIR_IN	    0x80 /* bmCBWFlags: data-in */
#define SIM_USB_MSC_STATUS_PASSED   0
#define SIM_USB_MSC_STATUS_FAILED   1
#define SIM_USB_MSC_STATUS_PHASE    2

/* The largest data stage the device buffers for one command. */
#define SIM_USB_MSC_MAX_XFER (4u << 20)

struct sim_usb_msc_stats {
	uint64_t commands;     /* meaningful CBWs */
	uint64_t bytes_in;     /* data stage, device to host */
	uint64_t bytes_out;    /* data stage, host to device (dropped too) */
	uint64_t failed;       /* CSWs with status 1 */
	uint64_t phase_errors; /* CSWs with status 2 */
	uint64_t invalid_cbws; /* not valid or not meaningful */
	uint64_t resets;       /* Bulk-Only Mass Storage Resets */
};

/*
 * A BOT device on unit t, which the caller owns: it must outlive the
 * device, and nothing else may run commands on it meanwhile (a pending
 * CHECK CONDITION's sense belongs to the host's REQUEST SENSE). 0, or
 * -EINVAL with a message (low or unknown speed, no unit).
 */
int sim_usb_msc_new(enum sim_usb_speed speed, struct sim_scsi_target *t,
		    struct sim_usb_device **out, char *err, size_t errlen);

/* d must come from sim_usb_msc_new. */
void sim_usb_msc_stats(const struct sim_usb_device *d,
		       struct sim_usb_msc_stats *st);

#endif /* SIM_DEVICES_USB_MSC_H */
