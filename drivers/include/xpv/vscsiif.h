/* SPDX-License-Identifier: MIT */
/*
 * PVSCSI wire protocol (Xen io/vscsiif.h, xenbus type "vscsi"), written from
 * the documented layout. tests/unit/test_layout.c checks every size and
 * offset against libxen-dev's header.
 */
#ifndef XPV_VSCSIIF_H
#define XPV_VSCSIIF_H

#include "ring.h"

#define XPV_VSCSIIF_ACT_SCSI_CDB 1
#define XPV_VSCSIIF_ACT_SCSI_ABORT 2
#define XPV_VSCSIIF_ACT_SCSI_RESET 3
#define XPV_VSCSIIF_ACT_SCSI_SG_PRESET 4 /* deprecated, reserved */

#define XPV_VSCSIIF_MAX_COMMAND_SIZE 16
#define XPV_VSCSIIF_SENSE_BUFFERSIZE 96
#define XPV_VSCSIIF_SG_TABLESIZE 26
#define XPV_VSCSIIF_SG_GRANT 0x80u
#define XPV_VSCSIIF_SG_PER_PAGE (XPV_PAGE_SIZE / sizeof(struct xpv_vscsiif_seg))

/* sc_data_direction */
#define XPV_VSCSIIF_DIR_BIDIRECTIONAL 0
#define XPV_VSCSIIF_DIR_TO_DEVICE 1
#define XPV_VSCSIIF_DIR_FROM_DEVICE 2
#define XPV_VSCSIIF_DIR_NONE 3

/* rslt: bits 0-7 SCSI status, bits 16-23 host byte. */
#define XPV_VSCSIIF_RSLT_STATUS(r) ((xpv_u32)(r) & 0xffu)
#define XPV_VSCSIIF_RSLT_HOST(r) (((xpv_u32)(r) >> 16) & 0xffu)
#define XPV_VSCSIIF_RSLT_HOST_OK 0
#define XPV_VSCSIIF_RSLT_HOST_NO_CONNECT 1
#define XPV_VSCSIIF_RSLT_HOST_ABORT 5
#define XPV_VSCSIIF_RSLT_HOST_ERROR 7
#define XPV_VSCSIIF_RSLT_HOST_RESET 8
#define XPV_VSCSIIF_RSLT_HOST_MAX 20 /* TRANSPORT_MARGINAL */
#define XPV_VSCSIIF_RSLT_RESET_SUCCESS 0x2002
#define XPV_VSCSIIF_RSLT_RESET_FAILED 0x2003

struct xpv_vscsiif_seg {
	xpv_u32 gref;
	xpv_u16 offset;
	xpv_u16 length;
};

struct xpv_vscsiif_request {
	xpv_u16 rqid;
	xpv_u8 act;
	xpv_u8 cmd_len;
	xpv_u8 cmnd[XPV_VSCSIIF_MAX_COMMAND_SIZE];
	xpv_u16 timeout_per_command; /* deprecated */
	xpv_u16 channel;
	xpv_u16 id;
	xpv_u16 lun;
	xpv_u16 ref_rqid;
	xpv_u8 sc_data_direction;
	xpv_u8 nr_segments;
	struct xpv_vscsiif_seg seg[XPV_VSCSIIF_SG_TABLESIZE];
	xpv_u32 reserved[3];
};

struct xpv_vscsiif_response {
	xpv_u16 rqid;
	xpv_u8 act; /* deprecated */
	xpv_u8 sense_len;
	xpv_u8 sense_buffer[XPV_VSCSIIF_SENSE_BUFFERSIZE];
	xpv_s32 rslt;
	xpv_u32 residual_len;
	xpv_u32 reserved[36];
};

union xpv_vscsiif_entry {
	struct xpv_vscsiif_request req;
	struct xpv_vscsiif_response rsp;
};

#define XPV_VSCSIIF_RING_SIZE XPV_RING_SLOTS(sizeof(union xpv_vscsiif_entry))

XPV_STATIC_ASSERT(sizeof(struct xpv_vscsiif_request) == 252, "vscsiif req");
XPV_STATIC_ASSERT(sizeof(struct xpv_vscsiif_response) == 252, "vscsiif rsp");
XPV_STATIC_ASSERT(XPV_VSCSIIF_RING_SIZE == 16, "vscsiif ring slots");

#endif /* XPV_VSCSIIF_H */
