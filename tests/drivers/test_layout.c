/*
 * The project's own protocol definitions (drivers/include/xpv) checked
 * against Xen's public headers from libxen-dev: every structure size, every
 * field offset and size, every ring size and constant. The checks are
 * static, so a mismatch fails the build; the test also prints the counts.
 */
#include <stddef.h>
#include <stdio.h>

#include "sim/backends/xen_ring.h"
#include <xen/io/usbif.h>
#include <xen/io/vscsiif.h>
#include <xen/io/xenbus.h>

#include <xpv/os.h>
#include <xpv/usbif.h>
#include <xpv/vscsiif.h>

#define FIELD(ours, theirs, f)                                              \
	_Static_assert(offsetof(struct ours, f) == offsetof(struct theirs, f), \
		       #ours "." #f " offset");                             \
	_Static_assert(sizeof(((struct ours *)0)->f) ==                     \
			       sizeof(((struct theirs *)0)->f),              \
		       #ours "." #f " size")
#define SIZE(ours, theirs)                                                  \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs),         \
		       #ours " size")
#define SAME(a, b) _Static_assert((long)(a) == (long)(b), #a " == " #b)

/* ring header */
SAME(offsetof(struct xpv_sring_hdr, req_prod),
     offsetof(struct usbif_urb_sring, req_prod));
SAME(offsetof(struct xpv_sring_hdr, req_event),
     offsetof(struct usbif_urb_sring, req_event));
SAME(offsetof(struct xpv_sring_hdr, rsp_prod),
     offsetof(struct usbif_urb_sring, rsp_prod));
SAME(offsetof(struct xpv_sring_hdr, rsp_event),
     offsetof(struct usbif_urb_sring, rsp_event));
SAME(sizeof(struct xpv_sring_hdr), offsetof(struct usbif_urb_sring, ring));
SAME(sizeof(struct xpv_sring_hdr), offsetof(struct vscsiif_sring, ring));

/* usbif */
SIZE(xpv_usbif_seg, usbif_request_segment);
FIELD(xpv_usbif_seg, usbif_request_segment, gref);
FIELD(xpv_usbif_seg, usbif_request_segment, offset);
FIELD(xpv_usbif_seg, usbif_request_segment, length);
SIZE(xpv_usbif_urb_request, usbif_urb_request);
FIELD(xpv_usbif_urb_request, usbif_urb_request, id);
FIELD(xpv_usbif_urb_request, usbif_urb_request, nr_buffer_segs);
FIELD(xpv_usbif_urb_request, usbif_urb_request, pipe);
FIELD(xpv_usbif_urb_request, usbif_urb_request, transfer_flags);
FIELD(xpv_usbif_urb_request, usbif_urb_request, buffer_length);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.ctrl);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.isoc.interval);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.isoc.start_frame);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.isoc.number_of_packets);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.isoc.nr_frame_desc_segs);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.intr.interval);
FIELD(xpv_usbif_urb_request, usbif_urb_request, u.unlink.unlink_id);
FIELD(xpv_usbif_urb_request, usbif_urb_request, seg);
SIZE(xpv_usbif_urb_response, usbif_urb_response);
FIELD(xpv_usbif_urb_response, usbif_urb_response, id);
FIELD(xpv_usbif_urb_response, usbif_urb_response, start_frame);
FIELD(xpv_usbif_urb_response, usbif_urb_response, status);
FIELD(xpv_usbif_urb_response, usbif_urb_response, actual_length);
FIELD(xpv_usbif_urb_response, usbif_urb_response, error_count);
SIZE(xpv_usbif_conn_request, usbif_conn_request);
FIELD(xpv_usbif_conn_request, usbif_conn_request, id);
SIZE(xpv_usbif_conn_response, usbif_conn_response);
FIELD(xpv_usbif_conn_response, usbif_conn_response, id);
FIELD(xpv_usbif_conn_response, usbif_conn_response, portnum);
FIELD(xpv_usbif_conn_response, usbif_conn_response, speed);
SAME(sizeof(union xpv_usbif_urb_entry), sizeof(union usbif_urb_sring_entry));
SAME(sizeof(union xpv_usbif_conn_entry),
     sizeof(union usbif_conn_sring_entry));
SAME(XPV_USBIF_URB_RING_SIZE, USB_URB_RING_SIZE);
SAME(XPV_USBIF_CONN_RING_SIZE, USB_CONN_RING_SIZE);
SAME(XPV_USBIF_MAX_SEGMENTS, USBIF_MAX_SEGMENTS_PER_REQUEST);
SAME(XPV_USBIF_MAX_PORTNR, USBIF_MAX_PORTNR);
SAME(XPV_USBIF_SHORT_NOT_OK, USBIF_SHORT_NOT_OK);
SAME(XPV_USBIF_PIPE_UNLINK, USBIF_PIPE_UNLINK);
SAME(XPV_USBIF_PIPE_DIR_IN, USBIF_PIPE_DIR);
SAME(XPV_USBIF_PIPE_DEV_SHIFT, USBIF_PIPE_DEV_SHIFT);
SAME(XPV_USBIF_PIPE_DEV_MASK, USBIF_PIPE_DEV_MASK);
SAME(XPV_USBIF_PIPE_EP_SHIFT, USBIF_PIPE_EP_SHIFT);
SAME(XPV_USBIF_PIPE_EP_MASK, USBIF_PIPE_EP_MASK);
SAME(XPV_USBIF_PIPE_TYPE_SHIFT, USBIF_PIPE_TYPE_SHIFT);
SAME(XPV_USBIF_PIPE_ISOC, USBIF_PIPE_TYPE_ISOC);
SAME(XPV_USBIF_PIPE_INT, USBIF_PIPE_TYPE_INT);
SAME(XPV_USBIF_PIPE_CTRL, USBIF_PIPE_TYPE_CTRL);
SAME(XPV_USBIF_PIPE_BULK, USBIF_PIPE_TYPE_BULK);
SAME(XPV_USBIF_SPEED_NONE, USBIF_SPEED_NONE);
SAME(XPV_USBIF_SPEED_LOW, USBIF_SPEED_LOW);
SAME(XPV_USBIF_SPEED_FULL, USBIF_SPEED_FULL);
SAME(XPV_USBIF_SPEED_HIGH, USBIF_SPEED_HIGH);
SAME(XPV_USBIF_STATUS_NODEV, USBIF_STATUS_NODEV);
SAME(XPV_USBIF_STATUS_INVAL, USBIF_STATUS_INVAL);
SAME(XPV_USBIF_STATUS_STALL, USBIF_STATUS_STALL);
SAME(XPV_USBIF_STATUS_IOERROR, USBIF_STATUS_IOERROR);
SAME(XPV_USBIF_STATUS_BABBLE, USBIF_STATUS_BABBLE);
SAME(XPV_USBIF_STATUS_SHUTDOWN, USBIF_STATUS_SHUTDOWN);

/* vscsiif */
SIZE(xpv_vscsiif_seg, scsiif_request_segment);
FIELD(xpv_vscsiif_seg, scsiif_request_segment, gref);
FIELD(xpv_vscsiif_seg, scsiif_request_segment, offset);
FIELD(xpv_vscsiif_seg, scsiif_request_segment, length);
SIZE(xpv_vscsiif_request, vscsiif_request);
FIELD(xpv_vscsiif_request, vscsiif_request, rqid);
FIELD(xpv_vscsiif_request, vscsiif_request, act);
FIELD(xpv_vscsiif_request, vscsiif_request, cmd_len);
FIELD(xpv_vscsiif_request, vscsiif_request, cmnd);
FIELD(xpv_vscsiif_request, vscsiif_request, timeout_per_command);
FIELD(xpv_vscsiif_request, vscsiif_request, channel);
FIELD(xpv_vscsiif_request, vscsiif_request, id);
FIELD(xpv_vscsiif_request, vscsiif_request, lun);
FIELD(xpv_vscsiif_request, vscsiif_request, ref_rqid);
FIELD(xpv_vscsiif_request, vscsiif_request, sc_data_direction);
FIELD(xpv_vscsiif_request, vscsiif_request, nr_segments);
FIELD(xpv_vscsiif_request, vscsiif_request, seg);
FIELD(xpv_vscsiif_request, vscsiif_request, reserved);
SIZE(xpv_vscsiif_response, vscsiif_response);
FIELD(xpv_vscsiif_response, vscsiif_response, rqid);
FIELD(xpv_vscsiif_response, vscsiif_response, act);
FIELD(xpv_vscsiif_response, vscsiif_response, sense_len);
FIELD(xpv_vscsiif_response, vscsiif_response, sense_buffer);
FIELD(xpv_vscsiif_response, vscsiif_response, rslt);
FIELD(xpv_vscsiif_response, vscsiif_response, residual_len);
FIELD(xpv_vscsiif_response, vscsiif_response, reserved);
SAME(sizeof(union xpv_vscsiif_entry), sizeof(union vscsiif_sring_entry));
SAME(XPV_VSCSIIF_RING_SIZE, __CONST_RING_SIZE(vscsiif, 4096));
SAME(XPV_VSCSIIF_ACT_SCSI_CDB, VSCSIIF_ACT_SCSI_CDB);
SAME(XPV_VSCSIIF_ACT_SCSI_ABORT, VSCSIIF_ACT_SCSI_ABORT);
SAME(XPV_VSCSIIF_ACT_SCSI_RESET, VSCSIIF_ACT_SCSI_RESET);
SAME(XPV_VSCSIIF_ACT_SCSI_SG_PRESET, VSCSIIF_ACT_SCSI_SG_PRESET);
SAME(XPV_VSCSIIF_MAX_COMMAND_SIZE, VSCSIIF_MAX_COMMAND_SIZE);
SAME(XPV_VSCSIIF_SENSE_BUFFERSIZE, VSCSIIF_SENSE_BUFFERSIZE);
SAME(XPV_VSCSIIF_SG_TABLESIZE, VSCSIIF_SG_TABLESIZE);
SAME(XPV_VSCSIIF_SG_GRANT, VSCSIIF_SG_GRANT);
SAME(XPV_VSCSIIF_SG_PER_PAGE, VSCSIIF_SG_PER_PAGE);
SAME(XPV_VSCSIIF_RSLT_RESET_SUCCESS, XEN_VSCSIIF_RSLT_RESET_SUCCESS);
SAME(XPV_VSCSIIF_RSLT_RESET_FAILED, XEN_VSCSIIF_RSLT_RESET_FAILED);
SAME(XPV_VSCSIIF_RSLT_HOST_NO_CONNECT, XEN_VSCSIIF_RSLT_HOST_NO_CONNECT);
SAME(XPV_VSCSIIF_RSLT_HOST_ERROR, XEN_VSCSIIF_RSLT_HOST_ERROR);
SAME(XPV_VSCSIIF_RSLT_HOST_RESET, XEN_VSCSIIF_RSLT_HOST_RESET);
SAME(XPV_VSCSIIF_RSLT_HOST_MAX, XEN_VSCSIIF_RSLT_HOST_TRANSPORT_MARGINAL);
SAME(XPV_VSCSIIF_RSLT_STATUS(0x00070002), XEN_VSCSIIF_RSLT_STATUS(0x00070002));
SAME(XPV_VSCSIIF_RSLT_HOST(0x00070002), XEN_VSCSIIF_RSLT_HOST(0x00070002));

/* xenbus states */
SAME(XPV_XENBUS_INITIALISING, XenbusStateInitialising);
SAME(XPV_XENBUS_INITWAIT, XenbusStateInitWait);
SAME(XPV_XENBUS_INITIALISED, XenbusStateInitialised);
SAME(XPV_XENBUS_CONNECTED, XenbusStateConnected);
SAME(XPV_XENBUS_CLOSING, XenbusStateClosing);
SAME(XPV_XENBUS_CLOSED, XenbusStateClosed);
SAME(XPV_XENBUS_RECONFIGURING, XenbusStateReconfiguring);
SAME(XPV_XENBUS_RECONFIGURED, XenbusStateReconfigured);

int main(void)
{
	/* Everything above is checked by the compiler; reaching here means
	 * the definitions agree. Print what was compared for the log. */
	printf("layout: usbif urb %zu/%zu B x %u slots, conn %u slots; "
	       "vscsiif %zu/%zu B x %u slots: all equal to libxen-dev\n",
	       sizeof(struct xpv_usbif_urb_request),
	       sizeof(struct xpv_usbif_urb_response),
	       (unsigned)XPV_USBIF_URB_RING_SIZE,
	       (unsigned)XPV_USBIF_CONN_RING_SIZE,
	       sizeof(struct xpv_vscsiif_request),
	       sizeof(struct xpv_vscsiif_response),
	       (unsigned)XPV_VSCSIIF_RING_SIZE);
	return 0;
}
