/*
 * A simulated CDC-ECM Ethernet adapter (USB CDC 1.2, ECM 1.2) whose
 * network side is a reflector, built on the USB device core
 * (usb_device.h) at full or high speed (bulk endpoints do not exist at
 * low speed):
 *
 *   interface 0, communication: class 2, subclass 6 (ECM), protocol 0,
 *     with the Header (CDC 1.20), Union (0 controls 1) and Ethernet
 *     Networking functional descriptors (iMACAddress string 4, no
 *     statistics, wMaxSegmentSize 1514, no multicast or power filters),
 *     and interrupt IN endpoint 3 for notifications (16 bytes; every
 *     16 ms at full speed, 2^(8-1) microframes = 16 ms at high speed);
 *   interface 1, data: class 0x0a, alternate 0 without endpoints,
 *     alternate 1 with bulk IN endpoint 1 and bulk OUT endpoint 2 (64
 *     bytes at full speed, 512 at high speed).
 *
 * ECM 1.2 3.3: traffic flows only in the data interface's alternate 1.
 * In alternate 0 the bulk endpoints do not exist and the core answers
 * IOERROR. Selecting alternate 1 brings the link up; alternate 0 (or a
 * new configuration, or a bus reset) takes it down and empties the
 * device. Re-selecting the alternate in force changes nothing: the
 * core's reset hook cannot tell it from a SET_INTERFACE to the
 * communication interface, which must not disturb the data path.
 *
 * Notifications (ECM 1.2 6.3): after SET_CONFIGURATION and at every
 * change of the data interface's alternate the device queues
 * NETWORK_CONNECTION (8 bytes, wValue 1 connected in alternate 1, else
 * 0) and then CONNECTION_SPEED_CHANGE (16 bytes: downlink and uplink
 * bit/s, 10 Mbit/s at full speed, 100 Mbit/s at high speed: the Ethernet
 * a bus of that speed can carry). As Linux's f_ecm does, news before the
 * host has polled restarts the pair with the latest link state, so a
 * speed change always follows a connection notification. The interrupt
 * endpoint NAKs when nothing is pending; a buffer too small for the
 * next notification is BABBLE and it stays.
 *
 * Class requests on interface 0: SET_ETHERNET_PACKET_FILTER only (ECM
 * 1.2 6.2.4, the one request the model requires; wLength 0, bits 5-15
 * reserved and refused). The descriptor claims no multicast filters, no
 * power filters and no statistics, so SET_ETHERNET_MULTICAST_FILTERS,
 * the power management pattern requests, GET_ETHERNET_STATISTIC, the
 * encapsulated commands and anything else STALL, as they do on simple
 * adapters. The filter starts as DIRECTED | BROADCAST | ALL_MULTICAST
 * (Linux's gadget default) and returns to that at a bus reset or a new
 * configuration, not at an alternate change.
 *
 * The reflector: a frame the host writes to bulk OUT comes back on bulk
 * IN with the destination and source addresses swapped, in order. One
 * OUT transfer is one frame (the core hands over whole transfers, which
 * on the bus end in a short or zero-length packet, ECM 1.2 3.3.1). A
 * transfer outside 14..1514 bytes (zero-length included) is taken and
 * dropped. The reflected frame then meets the packet filter as a frame
 * from the network would: it goes to the host when the filter is
 * promiscuous, or its destination (the original source) is broadcast
 * with BROADCAST, multicast with ALL_MULTICAST (MULTICAST passes
 * nothing: the multicast list is empty), or the adapter's own address
 * (SIM_USB_ECM_MAC, which a host uses as its own) with DIRECTED; else it
 * is dropped as filtered. Up to SIM_USB_ECM_QUEUE frames wait for the
 * host; while the queue is full bulk OUT NAKs, whatever the transfer
 * (the adapter has no buffer to receive into).
 *
 * Bulk IN NAKs while the queue is empty. ECM frames are delimited by a
 * short packet, so a host buffer that ends on a packet boundary before
 * the frame does takes that much (a full transfer) and the next IN
 * continues the frame; a buffer that ends inside a packet is BABBLE and
 * nothing is taken. When a frame whose length is a multiple of the
 * packet size exactly fills the buffer, the zero-length packet that ends
 * it is still owed: the next IN answers OK with 0 bytes. Linux's
 * cdc_ether reads into 1514 bytes or more and never meets either.
 *
 * Identity (made up, not assigned by the USB-IF): idVendor 0xf055,
 * idProduct 0x4543 ("EC"), bDeviceClass 2 (CDC); strings manufacturer
 * "xpv", product "xpv ecm reflector", serial "XPV-ECM-0001", and the
 * MAC address 02:58:50:56:45:43 (locally administered, "XPVEC") as
 * string 4, "025850564543".
 */
#ifndef SIM_DEVICES_USB_ECM_H
#define SIM_DEVICES_USB_ECM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_device.h"

#define SIM_USB_ECM_VENDOR  0xf055
#define SIM_USB_ECM_PRODUCT 0x4543

/* Interfaces; endpoints: bulk IN 1, bulk OUT 2 (interface 1 alternate
 * 1), interrupt IN 3 (interface 0). */
#define SIM_USB_ECM_COMM_IFACE 0
#define SIM_USB_ECM_DATA_IFACE 1
#define SIM_USB_ECM_EP_IN      1
#define SIM_USB_ECM_EP_OUT     2
#define SIM_USB_ECM_EP_NOTIFY  3

/* The adapter's address: iMACAddress (string 4) and its bytes. */
#define SIM_USB_ECM_MAC_STRING "025850564543"
#define SIM_USB_ECM_MAC_INDEX  4
#define SIM_USB_ECM_MAC                                                        \
	{                                                                      \
		0x02, 0x58, 0x50, 0x56, 0x45, 0x43                             \
	}

#define SIM_USB_ECM_QUEUE     16   /* reflected frames waiting */
#define SIM_USB_ECM_FRAME_MIN 14   /* the Ethernet header */
#define SIM_USB_ECM_FRAME_MAX 1514 /* wMaxSegmentSize */

/* Class requests (ECM 1.2 table 6) and notifications (table 11). */
#define SIM_USB_ECM_SET_MULTICAST_FILTERS   0x40
#define SIM_USB_ECM_SET_PM_PATTERN_FILTER   0x41
#define SIM_USB_ECM_GET_PM_PATTERN_FILTER   0x42
#define SIM_USB_ECM_SET_PACKET_FILTER	    0x43
#define SIM_USB_ECM_GET_STATISTIC	    0x44
#define SIM_USB_ECM_NETWORK_CONNECTION	    0x00
#define SIM_USB_ECM_CONNECTION_SPEED_CHANGE 0x2a
#define SIM_USB_ECM_NETWORK_CONNECTION_LEN  8
#define SIM_USB_ECM_CONNECTION_SPEED_LEN    16
/* SET_ETHERNET_PACKET_FILTER wValue bits (ECM 1.2 table 8). */
#define SIM_USB_ECM_FILTER_PROMISCUOUS	 0x01
#define SIM_USB_ECM_FILTER_ALL_MULTICAST 0x02
#define SIM_USB_ECM_FILTER_DIRECTED	 0x04
#define SIM_USB_ECM_FILTER_BROADCAST	 0x08
#define SIM_USB_ECM_FILTER_MULTICAST	 0x10
#define SIM_USB_ECM_FILTER_DEFAULT                                             \
	(SIM_USB_ECM_FILTER_DIRECTED | SIM_USB_ECM_FILTER_BROADCAST |          \
	 SIM_USB_ECM_FILTER_ALL_MULTICAST)

struct sim_usb_ecm_stats {
	uint64_t frames_out;	/* bulk OUT frames of a good size */
	uint64_t frames_in;	/* reflected frames sent whole on bulk IN */
	uint64_t bytes_out;	/* in good frames */
	uint64_t bytes_in;	/* sent on bulk IN */
	uint64_t dropped;	/* OUT transfers outside 14..1514 bytes */
	uint64_t filtered;	/* reflections the packet filter refused */
	uint64_t flushed;	/* queued frames lost to a link down */
	uint64_t naks_in;	/* bulk IN: nothing queued */
	uint64_t naks_out;	/* bulk OUT: queue full */
	uint64_t naks_notify;	/* interrupt IN: nothing pending */
	uint64_t notifications; /* NETWORK_CONNECTION and SPEED_CHANGE sent */
	uint64_t filter_sets;	/* SET_ETHERNET_PACKET_FILTER accepted */
	unsigned queued;	/* frames waiting now */
	uint16_t filter;	/* SIM_USB_ECM_FILTER_* in force */
	bool link_up;		/* data interface in alternate 1 */
};

/* 0, or -EINVAL with a message (low or unknown speed). */
int sim_usb_ecm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen);

/* d must come from sim_usb_ecm_new. */
void sim_usb_ecm_stats(const struct sim_usb_device *d,
		       struct sim_usb_ecm_stats *st);

#endif /* SIM_DEVICES_USB_ECM_H */
