/*
 * The PVUSB keys of the xpvsim configuration reader (sim/cli/simcfg.h):
 * usbctrl, sim_usb_devices, usbdev and the timeline's usb-attach and
 * usb-detach parse into the documented values and defaults, controllers
 * and ports are chosen as xl chooses them, and every bad entry is refused
 * with exactly the documented "FILE:LINE: KEY: message".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "simcfg_test.h"

/* Two controllers (devid 0 with 2 ports, devid 5 with 4) and one device
 * of each class, every field defaulted; nine lines. */
static const char usb_base[] =
    "usbctrl = [ 'type=qusb,version=2,ports=2',\n"
    "  'version=1, ports=4, devid=5' ]\n"
    "sim_usb_devices = [\n"
    "  'name=stick, hostbus=3, hostaddr=5, class=storage, "
    "image=stick.img, size=64M',\n"
    "  'name=kbd, hostbus=1, hostaddr=2, class=keyboard, keys=hello world',\n"
    "  'name=mouse, hostbus=1, hostaddr=3, class=mouse',\n"
    "  'name=tty, hostbus=2, hostaddr=1, class=serial',\n"
    "  'name=eth, hostbus=2, hostaddr=2, class=ethernet',\n"
    "  'name=mic, hostbus=2, hostaddr=3, class=audio' ]\n";

enum { STICK, KBD, MOUSE, TTY, ETH, MIC };

static struct simcfg *load_usb(const char *rest)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", usb_base, rest);
	return load_ok(text);
}

static void err_usb(const char *rest, const char *want)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", usb_base, rest);
	load_err_exact(text, want);
}

/* ---- usbctrl ------------------------------------------------------------ */

START_TEST(usbctrl_parse)
{
	struct simcfg *cfg = load_usb("");
	const struct simcfg_usbctrl *u = cfg->usbctrls;

	ck_assert_uint_eq(cfg->nr_usbctrls, 2);
	ck_assert_uint_eq(u[0].devid, 0);
	ck_assert_uint_eq(u[0].version, 2);
	ck_assert_uint_eq(u[0].ports, 2);
	ck_assert_uint_eq(u[0].line, 1);
	ck_assert_uint_eq(u[1].devid, 5);
	ck_assert_uint_eq(u[1].version, 1);
	ck_assert_uint_eq(u[1].ports, 4);
	ck_assert_uint_eq(u[1].line, 2);
	ck_assert_uint_eq(cfg->nr_usbdevs, 0);
	simcfg_free(cfg);

	/* Explicit devids are kept; the others get the lowest unused ones
	 * in file order, never one a later entry asks for. */
	cfg = load_ok("usbctrl = [ 'ports=1', 'devid=0', 'type=auto, ports=31',"
		      " 'devid=2', '', 'devid=65535' ]\n");
	u = cfg->usbctrls;
	ck_assert_uint_eq(cfg->nr_usbctrls, 6);
	ck_assert_uint_eq(u[0].devid, 1);
	ck_assert_uint_eq(u[0].ports, 1);
	ck_assert_uint_eq(u[1].devid, 0);
	ck_assert_uint_eq(u[1].ports, 8); /* defaults */
	ck_assert_uint_eq(u[1].version, 2);
	ck_assert_uint_eq(u[2].devid, 3);
	ck_assert_uint_eq(u[2].ports, 31);
	ck_assert_uint_eq(u[3].devid, 2);
	ck_assert_uint_eq(u[4].devid, 4);
	ck_assert_uint_eq(u[5].devid, 65535);
	simcfg_free(cfg);
}
END_TEST

START_TEST(usbctrl_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"type=pv", "type: 'pv': only qusb is simulated (the QEMU "
			"backend)"},
	    {"type=devicemodel", "type: 'devicemodel': only qusb is "
				 "simulated (the QEMU backend)"},
	    {"type=vusb", "type: 'vusb': want qusb or auto"},
	    {"version=3", "version: '3': want 1 or 2"},
	    {"version=0", "version: '0': want 1 or 2"},
	    {"ports=0", "ports: '0': want 1 to 31"},
	    {"ports=32", "ports: '32': want 1 to 31"},
	    {"ports=8x", "ports: '8x': want 1 to 31"},
	    {"devid=65536", "devid: '65536': want 0 to 65535"},
	    {"devid=-1", "devid: '-1': want 0 to 65535"},
	    {"ports=2, devid=0", "devid: 0 already used by the usbctrl at "
				 "line 1"},
	    {"speed=high", "unknown field 'speed'"},
	    {"ports", "'ports': want name=value"},
	    {"ports=2, ports=3", "ports: given twice"},
	};
	char text[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "usbctrl = [ 'devid=0',\n '%s' ]\n", cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:2: usbctrl: %s",
			 cases[i].want);
		load_err_exact(text, want);
	}
	/* The duplicate is reported at the later entry, whatever the order
	 * of entries without a devid around it. */
	load_err_exact("usbctrl = [ 'devid=4', '',\n 'ports=3', 'devid=4' ]\n",
		       "t.cfg:2: usbctrl: devid: 4 already used by the usbctrl "
		       "at line 1");
	load_err_exact("usbctrl = 'type=qusb'\n",
		       "t.cfg:1: usbctrl: must be a list: [ '...', ... ]");
}
END_TEST

/* ---- sim_usb_devices ----------------------------------------------------- */

START_TEST(devices_defaults)
{
	struct simcfg *cfg = load_usb("");
	const struct simcfg_usb_device *d = cfg->usb_devices;

	ck_assert_uint_eq(cfg->nr_usb_devices, 6);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(d[i].line, 4 + i);

	ck_assert_str_eq(d[STICK].name, "stick");
	ck_assert_uint_eq(d[STICK].hostbus, 3);
	ck_assert_uint_eq(d[STICK].hostaddr, 5);
	ck_assert_int_eq(d[STICK].cls, SIMCFG_USB_STORAGE);
	ck_assert_int_eq(d[STICK].speed, SIM_USB_SPEED_HIGH);
	ck_assert_str_eq(d[STICK].image, "/cfg/stick.img");
	ck_assert_uint_eq(d[STICK].size, 64ull << 20);
	ck_assert_uint_eq(d[STICK].block_size, 512);
	ck_assert(!d[STICK].read_only);
	ck_assert_int_eq(d[STICK].pattern, SIMCFG_SEQRW);
	ck_assert_uint_eq(d[STICK].block, 64 << 10);
	ck_assert_uint_eq(d[STICK].ops, 32);
	ck_assert(d[STICK].verify);
	ck_assert_str_eq(d[STICK].serial, "stick");

	ck_assert_int_eq(d[KBD].cls, SIMCFG_USB_KEYBOARD);
	ck_assert_int_eq(d[KBD].speed, SIM_USB_SPEED_FULL);
	ck_assert_str_eq(d[KBD].keys, "hello world");
	ck_assert_uint_eq(d[KBD].keys_at_ns, 100 * MS);
	ck_assert_uint_eq(d[KBD].key_interval_ns, 20 * MS);
	ck_assert_ptr_null(d[KBD].image);

	ck_assert_int_eq(d[MOUSE].cls, SIMCFG_USB_MOUSE);
	ck_assert_int_eq(d[MOUSE].speed, SIM_USB_SPEED_FULL);
	ck_assert_uint_eq(d[MOUSE].moves, 8);
	ck_assert_uint_eq(d[MOUSE].keys_at_ns, 100 * MS);
	ck_assert_uint_eq(d[MOUSE].key_interval_ns, 20 * MS);

	ck_assert_int_eq(d[TTY].cls, SIMCFG_USB_SERIAL);
	ck_assert_int_eq(d[TTY].speed, SIM_USB_SPEED_HIGH);
	ck_assert_uint_eq(d[TTY].block, 512);
	ck_assert_uint_eq(d[TTY].ops, 16);
	ck_assert(d[TTY].verify);

	ck_assert_int_eq(d[ETH].cls, SIMCFG_USB_ETHERNET);
	ck_assert_int_eq(d[ETH].speed, SIM_USB_SPEED_HIGH);
	ck_assert_uint_eq(d[ETH].block, 1514);
	ck_assert_uint_eq(d[ETH].ops, 16);
	ck_assert(d[ETH].verify);

	ck_assert_int_eq(d[MIC].cls, SIMCFG_USB_AUDIO);
	ck_assert_int_eq(d[MIC].speed, SIM_USB_SPEED_HIGH);
	ck_assert_uint_eq(d[MIC].block, 8);
	ck_assert_uint_eq(d[MIC].ops, 8);
	ck_assert(d[MIC].verify);
	simcfg_free(cfg);
}
END_TEST

START_TEST(devices_every_field)
{
	struct simcfg *cfg = load_ok(
	    "sim_usb_devices = [\n"
	    " 'verify=0, ops=18446744073709551615, block=1M, "
	    "pattern=randread, read_only=1, block_size=4096, size=1G, "
	    "image=/abs/a.img, speed=full, class=storage, hostaddr=127, "
	    "hostbus=255, name=a',\n"
	    " 'name=k, hostbus=1, hostaddr=1, class=keyboard, speed=low, "
	    "keys=abc 012, keys_at=0, key_interval=1ms',\n"
	    " 'name=m, hostbus=1, hostaddr=2, class=mouse, speed=high, "
	    "moves=1000, keys_at=5ms, key_interval=2ms',\n"
	    " 'name=s, hostbus=1, hostaddr=3, class=serial, speed=full, "
	    "block=4K, ops=1, verify=0',\n"
	    " 'name=e, hostbus=1, hostaddr=4, class=ethernet, block=14, "
	    "ops=3',\n"
	    " 'name=au, hostbus=1, hostaddr=5, class=audio, speed=full, "
	    "block=32, ops=2, verify=0',\n"
	    " 'name=blk, hostbus=1, hostaddr=6, class=storage, image=b.img, "
	    "block_size=4096, block=4K, pattern=seqwrite' ]\n");
	const struct simcfg_usb_device *d = cfg->usb_devices;

	ck_assert_uint_eq(cfg->nr_usb_devices, 7);
	ck_assert_uint_eq(d[0].hostbus, 255);
	ck_assert_uint_eq(d[0].hostaddr, 127);
	ck_assert_int_eq(d[0].speed, SIM_USB_SPEED_FULL);
	ck_assert_str_eq(d[0].image, "/abs/a.img");
	ck_assert_uint_eq(d[0].size, 1ull << 30);
	ck_assert_uint_eq(d[0].block_size, 4096);
	ck_assert(d[0].read_only);
	ck_assert_int_eq(d[0].pattern, SIMCFG_RANDREAD);
	ck_assert_uint_eq(d[0].block, 1 << 20);
	ck_assert_uint_eq(d[0].ops, UINT64_MAX);
	ck_assert(!d[0].verify);
	ck_assert_int_eq(d[1].speed, SIM_USB_SPEED_LOW);
	ck_assert_str_eq(d[1].keys, "abc 012");
	ck_assert_uint_eq(d[1].keys_at_ns, 0);
	ck_assert_uint_eq(d[1].key_interval_ns, 1 * MS);
	ck_assert_int_eq(d[2].speed, SIM_USB_SPEED_HIGH);
	ck_assert_uint_eq(d[2].moves, 1000);
	ck_assert_uint_eq(d[2].keys_at_ns, 5 * MS);
	ck_assert_uint_eq(d[2].key_interval_ns, 2 * MS);
	ck_assert_int_eq(d[3].speed, SIM_USB_SPEED_FULL);
	ck_assert_uint_eq(d[3].block, 4096);
	ck_assert_uint_eq(d[3].ops, 1);
	ck_assert(!d[3].verify);
	ck_assert_uint_eq(d[4].block, 14);
	ck_assert_uint_eq(d[4].ops, 3);
	ck_assert_uint_eq(d[5].block, 32);
	ck_assert_uint_eq(d[5].ops, 2);
	ck_assert(!d[5].verify);
	ck_assert_uint_eq(d[6].size, 0); /* the image must exist */
	ck_assert_uint_eq(d[6].block, 4096);
	ck_assert_int_eq(d[6].pattern, SIMCFG_SEQWRITE);
	simcfg_free(cfg);
}
END_TEST

START_TEST(device_helpers)
{
	struct simcfg *cfg = load_ok(
	    "sim_usb_devices = [ 'name=a, hostbus=255, hostaddr=127, "
	    "class=storage, image=a.img, size=8M, block_size=4096, "
	    "read_only=1',\n"
	    " 'name=0123456789012345678901234567890123456789, hostbus=1, "
	    "hostaddr=1, class=storage, image=b.img',\n"
	    " 'name=0123456789012345678901234567890123456788, hostbus=1, "
	    "hostaddr=2, class=storage, image=c.img',\n"
	    " 'name=01234567890123456789012345678901, hostbus=1, "
	    "hostaddr=3, class=storage, image=d.img' ]\n");
	const struct simcfg_usb_device *d = cfg->usb_devices;
	struct sim_scsi_target_config tc;
	char busid[16];

	simcfg_usb_storage_config(&d[0], &tc);
	ck_assert_int_eq(tc.kind, SIM_SCSI_DISK);
	ck_assert_str_eq(tc.image, "/cfg/a.img");
	ck_assert_uint_eq(tc.create_size, 8 << 20);
	ck_assert_uint_eq(tc.block_size, 4096);
	ck_assert(tc.read_only);
	ck_assert_ptr_null(tc.vendor);
	ck_assert_str_eq(tc.product, "XPV USB DISK");
	ck_assert_str_eq(tc.serial, "a");
	simcfg_usb_busid(&d[0], busid, sizeof(busid));
	ck_assert_str_eq(busid, "255-127");
	simcfg_usb_busid(&d[1], busid, sizeof(busid));
	ck_assert_str_eq(busid, "1-1");

	/* Serials: a name of 32 characters is its own serial; longer ones
	 * keep 23 characters and a hash, so they stay apart. */
	ck_assert_str_eq(d[3].serial, "01234567890123456789012345678901");
	ck_assert_uint_eq(strlen(d[1].serial), SIMCFG_SERIAL_MAX);
	ck_assert_int_eq(strncmp(d[1].serial, "01234567890123456789012-", 24),
			 0);
	ck_assert_str_ne(d[1].serial, d[2].serial);

	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_STORAGE), "storage");
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_KEYBOARD),
			 "keyboard");
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_MOUSE), "mouse");
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_SERIAL), "serial");
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_ETHERNET),
			 "ethernet");
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_AUDIO), "audio");
	ck_assert_str_eq(simcfg_usb_class_name((enum simcfg_usb_class)99), "?");
	ck_assert_str_eq(simcfg_action_name(SIMCFG_USB_ATTACH), "usb-attach");
	ck_assert_str_eq(simcfg_action_name(SIMCFG_USB_DETACH), "usb-detach");
	simcfg_free(cfg);
}
END_TEST

#define DEV "name=a, hostbus=1, hostaddr=1, "

START_TEST(devices_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"hostbus=1, hostaddr=1, class=mouse", "name= missing"},
	    {"name=a:b, hostbus=1, hostaddr=1, class=mouse",
	     "name: 'a:b': want 1 to 63 letters, digits, '_', '.', '-'"},
	    {"name=ok, hostbus=1, hostaddr=1, class=mouse",
	     "name: 'ok' already declared at line 2"},
	    {"name=a, hostaddr=1, class=mouse", "hostbus= missing"},
	    {"name=a, hostbus=1, class=mouse", "hostaddr= missing"},
	    {"name=a, hostbus=0, hostaddr=1", "hostbus: '0': want 1 to 255"},
	    {"name=a, hostbus=256, hostaddr=1",
	     "hostbus: '256': want 1 to 255"},
	    {"name=a, hostbus=0x3, hostaddr=1",
	     "hostbus: '0x3': want 1 to 255"},
	    {"name=a, hostbus=1, hostaddr=128",
	     "hostaddr: '128': want 1 to 127"},
	    {"name=a, hostbus=1, hostaddr=0", "hostaddr: '0': want 1 to 127"},
	    {"name=a, hostbus=9, hostaddr=9, class=mouse",
	     "hostbus=9,hostaddr=9: already declared at line 2"},
	    {DEV "speed=full", "class= missing"},
	    {DEV "class=printer", "class: 'printer': want storage, keyboard, "
				  "mouse, serial, ethernet, audio or capture"},
	    {DEV "class=capture", "capture= missing (the capture file)"},
	    {DEV "class=capture, capture=", "capture: empty path"},
	    {DEV "class=capture, capture=k.pcap, capture_device=1",
	     "capture_device: '1': want BUS.ADDR (bus 0 to 65535, address "
	     "0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_device=1.128",
	     "capture_device: '1.128': want BUS.ADDR (bus 0 to 65535, "
	     "address 0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_device=65536.1",
	     "capture_device: '65536.1': want BUS.ADDR (bus 0 to 65535, "
	     "address 0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_device=.3",
	     "capture_device: '.3': want BUS.ADDR (bus 0 to 65535, address "
	     "0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_device=1.2.3",
	     "capture_device: '1.2.3': want BUS.ADDR (bus 0 to 65535, "
	     "address 0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_device=12345678.1",
	     "capture_device: '12345678.1': want BUS.ADDR (bus 0 to 65535, "
	     "address 0 to 127)"},
	    {DEV "class=capture, capture=k.pcap, capture_timing=2",
	     "capture_timing: '2': want 0 or 1"},
	    {DEV "class=capture, capture=k.pcap, block=0",
	     "block: '0': want 1 to 1048576 bytes for class capture"},
	    {DEV "class=capture, capture=k.pcap, block=2M",
	     "block: '2M': want 1 to 1048576 bytes for class capture"},
	    {DEV "class=capture, capture=k.pcap, ops=0",
	     "ops: '0': want a count of 1 or more"},
	    {DEV "class=capture, capture=k.pcap, pattern=abort-reset",
	     "pattern: 'abort-reset': want seqread, seqwrite, seqrw, "
	     "randread, randwrite or randrw"},
	    {DEV "class=capture, capture=k.pcap, speed=super",
	     "speed: 'super': want low, full or high"},
	    {DEV "class=capture, capture=k.pcap, verify=0",
	     "verify: does not apply to class capture"},
	    {DEV "class=capture, capture=k.pcap, image=a",
	     "image: does not apply to class capture"},
	    {DEV "class=capture, capture=k.pcap, keys=abc",
	     "keys: does not apply to class capture"},
	    {DEV "class=storage, image=a, capture=k.pcap",
	     "capture: does not apply to class storage"},
	    {DEV "class=keyboard, keys=a, capture_timing=0",
	     "capture_timing: does not apply to class keyboard"},
	    {DEV "class=serial, capture_device=1.2",
	     "capture_device: does not apply to class serial"},
	    {DEV "class=storage, image=a, speed=low",
	     "speed: low: not for class storage (low speed has no bulk "
	     "endpoints)"},
	    {DEV "class=serial, speed=low",
	     "speed: low: not for class serial (low speed has no bulk "
	     "endpoints)"},
	    {DEV "class=ethernet, speed=low",
	     "speed: low: not for class ethernet (low speed has no bulk "
	     "endpoints)"},
	    {DEV "class=audio, speed=low",
	     "speed: low: not for class audio (low speed has no isochronous "
	     "endpoints)"},
	    {DEV "class=mouse, speed=super",
	     "speed: 'super': want low, full or high"},
	    {DEV "class=storage", "image= missing (a storage device's medium)"},
	    {DEV "class=storage, image=", "empty image path"},
	    {DEV "class=storage, image=a, size=0",
	     "size: '0': want 1 byte to 16T (suffix K, M, G or T)"},
	    {DEV "class=storage, image=a, size=17T",
	     "size: '17T': want 1 byte to 16T (suffix K, M, G or T)"},
	    {DEV "class=storage, image=a, size=1000",
	     "size: not a multiple of block_size 512"},
	    {DEV "class=storage, image=a, size=6K, block_size=4096",
	     "size: not a multiple of block_size 4096"},
	    {DEV "class=storage, image=a, block_size=2048",
	     "block_size: '2048': want 512 or 4096"},
	    {DEV "class=storage, image=a, read_only=yes",
	     "read_only: 'yes': want 0 or 1"},
	    {DEV "class=storage, image=a, pattern=abort-reset",
	     "pattern: 'abort-reset': want seqread, seqwrite, seqrw, "
	     "randread, randwrite or randrw"},
	    {DEV "class=storage, image=a, block=256",
	     "block: '256': want 512 to 1048576 bytes for class storage"},
	    {DEV "class=storage, image=a, block=2M",
	     "block: '2M': want 512 to 1048576 bytes for class storage"},
	    {DEV "class=storage, image=a, block_size=4096, block=6K",
	     "block: 6144 is not a multiple of block_size 4096"},
	    {DEV "class=storage, image=a, ops=0",
	     "ops: '0': want a count of 1 or more"},
	    {DEV "class=storage, image=a, verify=2",
	     "verify: '2': want 0 or 1"},
	    {DEV "class=storage, image=a, keys_at=1ms",
	     "keys_at: does not apply to class storage"},
	    {DEV "class=keyboard", "keys= missing (what the keyboard types)"},
	    {DEV "class=keyboard, keys=Hello",
	     "keys: 'Hello': want 1 to 64 of a-z, 0-9 and space"},
	    {DEV "class=keyboard, keys=a-b",
	     "keys: 'a-b': want 1 to 64 of a-z, 0-9 and space"},
	    {DEV "class=keyboard, keys=",
	     "keys: '': want 1 to 64 of a-z, 0-9 and space"},
	    {DEV "class=keyboard, keys=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaa",
	     "keys: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': want 1 "
	     "to 64 of a-z, 0-9 and space"},
	    {DEV "class=keyboard, keys=a, key_interval=0",
	     "key_interval: '0': want a duration of 1ms or more"},
	    {DEV "class=keyboard, keys=a, key_interval=999us",
	     "key_interval: '999us': want a duration of 1ms or more"},
	    {DEV "class=keyboard, keys=a, keys_at=5",
	     "keys_at: '5': want a duration (e.g. 0, 100ms)"},
	    {DEV "class=keyboard, keys=a, moves=3",
	     "moves: does not apply to class keyboard"},
	    {DEV "class=keyboard, keys=a, block=8",
	     "block: does not apply to class keyboard"},
	    {DEV "class=mouse, moves=0", "moves: '0': want 1 to 1000"},
	    {DEV "class=mouse, moves=1001", "moves: '1001': want 1 to 1000"},
	    {DEV "class=mouse, keys=abc",
	     "keys: does not apply to class mouse"},
	    {DEV "class=mouse, ops=3", "ops: does not apply to class mouse"},
	    {DEV "class=serial, image=x", "image: does not apply to class "
					  "serial"},
	    {DEV "class=serial, pattern=seqrw",
	     "pattern: does not apply to class serial"},
	    {DEV "class=serial, block=0",
	     "block: '0': want 1 to 4096 bytes for class serial"},
	    {DEV "class=serial, block=4097",
	     "block: '4097': want 1 to 4096 bytes for class serial"},
	    {DEV "class=ethernet, block=13",
	     "block: '13': want 14 to 1514 bytes for class ethernet"},
	    {DEV "class=ethernet, block=1515",
	     "block: '1515': want 14 to 1514 bytes for class ethernet"},
	    {DEV "class=ethernet, read_only=1",
	     "read_only: does not apply to class ethernet"},
	    {DEV "class=audio, block=0",
	     "block: '0': want 1 to 32 packets for class audio"},
	    {DEV "class=audio, block=33",
	     "block: '33': want 1 to 32 packets for class audio"},
	    {DEV "class=audio, block=4K",
	     "block: '4K': want 1 to 32 packets for class audio"},
	    {DEV "class=audio, size=1M", "size: does not apply to class audio"},
	    {DEV "class=mouse, color=red", "unknown field 'color'"},
	    {DEV "class=mouse, class=mouse", "class: given twice"},
	};
	char text[1024], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "usbctrl = [ '' ]\nsim_usb_devices = [ 'name=ok, "
			 "hostbus=9, hostaddr=9, class=mouse',\n '%s' ]\n",
			 cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:3: sim_usb_devices: %s",
			 cases[i].want);
		load_err_exact(text, want);
	}
}
END_TEST

/* class=capture: the file resolved like an image (never opened here),
 * the device of the capture, the timing, and the workload fields left
 * for the class the guest binds. */
START_TEST(devices_capture)
{
	struct simcfg *cfg = load_ok(
	    "sim_usb_devices = [ 'name=k, hostbus=1, hostaddr=1, "
	    "class=capture, capture=caps/kbd.pcap',\n"
	    " 'name=s, hostbus=1, hostaddr=2, class=capture, "
	    "capture=/abs/stick.pcapng, capture_device=3.17, capture_timing=0, "
	    "speed=high, block=4K, ops=5, pattern=seqread',\n"
	    " 'name=two, hostbus=1, hostaddr=3, class=capture, "
	    "capture=caps/kbd.pcap, capture_device=0.0',\n"
	    " 'name=st, hostbus=1, hostaddr=4, class=storage, "
	    "image=caps/kbd.pcap' ]\n");
	const struct simcfg_usb_device *d = cfg->usb_devices;
	struct simcfg_usb_device v;

	ck_assert_uint_eq(cfg->nr_usb_devices, 4);
	ck_assert_int_eq(d[0].cls, SIMCFG_USB_CAPTURE);
	ck_assert_str_eq(d[0].image, "/cfg/caps/kbd.pcap");
	ck_assert_int_eq(d[0].capture_bus, -1); /* the importer's choice */
	ck_assert_int_eq(d[0].capture_addr, -1);
	ck_assert(d[0].capture_timing);
	ck_assert_int_eq(d[0].speed, 0); /* inferred by the replay */
	ck_assert_uint_eq(d[0].block, 0);
	ck_assert_uint_eq(d[0].ops, 0);
	ck_assert_int_eq(d[0].pattern, SIMCFG_SEQRW);
	ck_assert_str_eq(d[1].image, "/abs/stick.pcapng");
	ck_assert_int_eq(d[1].capture_bus, 3);
	ck_assert_int_eq(d[1].capture_addr, 17);
	ck_assert(!d[1].capture_timing);
	ck_assert_int_eq(d[1].speed, SIM_USB_SPEED_HIGH);
	ck_assert_uint_eq(d[1].block, 4096);
	ck_assert_uint_eq(d[1].ops, 5);
	ck_assert_int_eq(d[1].pattern, SIMCFG_SEQREAD);
	/* One capture may serve two devices, and a storage image's path
	 * is no capture's business. */
	ck_assert_int_eq(d[2].capture_bus, 0);
	ck_assert_int_eq(d[2].capture_addr, 0);
	ck_assert_str_eq(simcfg_usb_class_name(SIMCFG_USB_CAPTURE),
			 "capture");

	/* Seen through the class bound: its defaults for what was not
	 * given, block clamped into its range, verify always off. */
	simcfg_usb_capture_binding(&d[0], SIMCFG_USB_KEYBOARD, &v);
	ck_assert_int_eq(v.cls, SIMCFG_USB_KEYBOARD);
	ck_assert_uint_eq(v.ops, 8);
	ck_assert_str_eq(v.keys, "");
	ck_assert(!v.verify);
	simcfg_usb_capture_binding(&d[0], SIMCFG_USB_STORAGE, &v);
	ck_assert_uint_eq(v.block, 64 * 1024);
	ck_assert_uint_eq(v.ops, 32);
	ck_assert(!v.verify);
	simcfg_usb_capture_binding(&d[1], SIMCFG_USB_STORAGE, &v);
	ck_assert_uint_eq(v.block, 4096);
	ck_assert_uint_eq(v.ops, 5);
	ck_assert_int_eq(v.pattern, SIMCFG_SEQREAD);
	ck_assert_str_eq(v.image, "/abs/stick.pcapng");
	simcfg_usb_capture_binding(&d[1], SIMCFG_USB_ETHERNET, &v);
	ck_assert_uint_eq(v.block, 1514); /* 4096 clamped */
	simcfg_usb_capture_binding(&d[1], SIMCFG_USB_AUDIO, &v);
	ck_assert_uint_eq(v.block, 32);
	simcfg_usb_capture_binding(&d[0], SIMCFG_USB_SERIAL, &v);
	ck_assert_uint_eq(v.block, 512);
	ck_assert_uint_eq(v.ops, 16);
	simcfg_free(cfg);

	/* Odd sizes for storage come down to whole sectors. */
	cfg = load_ok("sim_usb_devices = [ 'name=k, hostbus=1, hostaddr=1, "
		      "class=capture, capture=k.pcap, block=1000' ]\n");
	simcfg_usb_capture_binding(&cfg->usb_devices[0], SIMCFG_USB_STORAGE,
				   &v);
	ck_assert_uint_eq(v.block, 512);
	simcfg_usb_capture_binding(&cfg->usb_devices[0], SIMCFG_USB_SERIAL,
				   &v);
	ck_assert_uint_eq(v.block, 1000);
	simcfg_free(cfg);
}
END_TEST

START_TEST(device_images_unique)
{
	/* With each other, and with SCSI targets declared or implicit. */
	load_err_exact("sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
		       "class=storage, image=s.img',\n"
		       " 'name=b, hostbus=1, hostaddr=2, class=storage, "
		       "image=/cfg/s.img' ]\n",
		       "t.cfg:2: sim_usb_devices: image '/cfg/s.img' already "
		       "used by the USB device at line 1");
	load_err_exact("sim_scsi_targets = [ 'name=d0, image=d0.img' ]\n"
		       "sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
		       "class=storage, image=d0.img' ]\n",
		       "t.cfg:2: sim_usb_devices: image '/cfg/d0.img' already "
		       "used by the SCSI target at line 1");
	load_err_exact("sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
		       "class=storage, image=raw.img' ]\n"
		       "vscsi = [ 'raw.img, 0:0:0:0' ]\n",
		       "t.cfg:1: sim_usb_devices: image '/cfg/raw.img' already "
		       "used by the SCSI target at line 2");
}
END_TEST

/* ---- usbdev -------------------------------------------------------------- */

START_TEST(usbdev_placed)
{
	struct simcfg *cfg =
	    load_usb("usbdev = [ 'hostbus=3,hostaddr=5,controller=5,port=4',\n"
		     "  'devtype=hostdev, hostbus=1, hostaddr=2',\n"
		     "  'hostbus=1,hostaddr=3', 'hostbus=2,hostaddr=1',\n"
		     "  'hostbus=2,hostaddr=2', 'hostbus=2,hostaddr=3' ]\n");
	const struct simcfg_usbdev *u = cfg->usbdevs;
	static const struct {
		unsigned device, controller, port, line;
	} want[] = {
	    {STICK, 5, 4, 10}, /* as given */
	    {KBD, 0, 1, 11},   /* the lowest devid's first free port */
	    {MOUSE, 0, 2, 12}, {TTY, 5, 1, 12}, /* 0 is full */
	    {ETH, 5, 2, 13},   {MIC, 5, 3, 13},
	};

	ck_assert_uint_eq(cfg->nr_usbdevs, 6);
	for (unsigned i = 0; i < 6; i++) {
		const struct simcfg_usb_device *d =
		    &cfg->usb_devices[want[i].device];

		ck_assert_uint_eq(u[i].device, want[i].device);
		ck_assert_uint_eq(u[i].hostbus, d->hostbus);
		ck_assert_uint_eq(u[i].hostaddr, d->hostaddr);
		ck_assert_uint_eq(u[i].controller, want[i].controller);
		ck_assert_uint_eq(u[i].port, want[i].port);
		ck_assert_uint_eq(u[i].line, want[i].line);
	}
	simcfg_free(cfg);

	/* Lowest devid, not first in the file; the file order of the keys
	 * does not matter. */
	cfg = load_ok("usbdev = [ 'hostbus=1,hostaddr=1', "
		      "'hostbus=1,hostaddr=2', 'hostbus=1,hostaddr=3' ]\n"
		      "usbctrl = [ 'devid=7, ports=2', 'devid=3, ports=1' ]\n"
		      "sim_usb_devices = [\n"
		      " 'name=a, hostbus=1, hostaddr=1, class=mouse',\n"
		      " 'name=b, hostbus=1, hostaddr=2, class=mouse',\n"
		      " 'name=c, hostbus=1, hostaddr=3, class=mouse' ]\n");
	u = cfg->usbdevs;
	ck_assert_uint_eq(u[0].controller, 3);
	ck_assert_uint_eq(u[0].port, 1);
	ck_assert_uint_eq(u[1].controller, 7);
	ck_assert_uint_eq(u[1].port, 1);
	ck_assert_uint_eq(u[2].controller, 7);
	ck_assert_uint_eq(u[2].port, 2);
	simcfg_free(cfg);
}
END_TEST

START_TEST(usbdev_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"hostbus=3,hostaddr=5",
	     "hostbus=3,hostaddr=5: already attached at controller 5 port 4 "
	     "(line 10)"},
	    {"hostbus=1,hostaddr=2,controller=5,port=4",
	     "controller 5 port 4 is taken by hostbus=3,hostaddr=5 (line 10)"},
	    {"hostbus=3,hostaddr=6",
	     "hostbus=3,hostaddr=6: no simulated device at 3.6 in "
	     "sim_usb_devices"},
	    {"hostbus=1,hostaddr=2,controller=1,port=1",
	     "controller: no usbctrl with devid 1"},
	    {"hostbus=1,hostaddr=2,controller=0,port=3",
	     "port: '3': controller 0 has ports 1 to 2"},
	    {"hostbus=1,hostaddr=2,controller=0,port=0",
	     "port: '0': controller 0 has ports 1 to 2"},
	    {"hostbus=1,hostaddr=2,controller=0,port=32",
	     "port: '32': controller 0 has ports 1 to 2"},
	    {"hostbus=1,hostaddr=2,controller=0", "port= missing"},
	    {"hostbus=1,hostaddr=2,port=1", "controller= missing"},
	    {"hostbus=1,hostaddr=2,controller=x,port=1",
	     "controller: 'x': want a usbctrl devid, 0 to 65535"},
	    {"hostaddr=2", "hostbus= missing"},
	    {"hostbus=1", "hostaddr= missing"},
	    {"hostbus=0,hostaddr=2", "hostbus: '0': want 1 to 255"},
	    {"hostbus=1,hostaddr=200", "hostaddr: '200': want 1 to 127"},
	    {"devtype=tag,hostbus=1,hostaddr=2",
	     "devtype: 'tag': only hostdev is simulated"},
	    {"hostbus=1,hostaddr=2,speed=low", "unknown field 'speed'"},
	};
	char rest[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rest, sizeof(rest),
			 "usbdev = [ 'hostbus=3,hostaddr=5,controller=5,"
			 "port=4',\n '%s' ]\n",
			 cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:11: usbdev: %s",
			 cases[i].want);
		err_usb(rest, want);
	}
	/* No room: every port taken, or no controller at all (xl would add
	 * one; here it must be declared). */
	load_err_exact("usbctrl = [ 'ports=1' ]\n"
		       "sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
		       "class=mouse', 'name=b, hostbus=1, hostaddr=2, "
		       "class=mouse' ]\n"
		       "usbdev = [ 'hostbus=1,hostaddr=1',\n"
		       " 'hostbus=1,hostaddr=2' ]\n",
		       "t.cfg:4: usbdev: hostbus=1,hostaddr=2: no free port on "
		       "any usbctrl");
	load_err_exact("sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
		       "class=mouse' ]\n"
		       "usbdev = [ 'hostbus=1,hostaddr=1' ]\n",
		       "t.cfg:2: usbdev: hostbus=1,hostaddr=1: no usbctrl to "
		       "attach to (declare one in usbctrl)");
	load_err_exact(
	    "usbctrl = [ '' ]\nusbdev = [ 'hostbus=1,hostaddr=1' ]\n",
	    "t.cfg:2: usbdev: hostbus=1,hostaddr=1: no simulated "
	    "device at 1.1 in sim_usb_devices");
}
END_TEST

/* ---- the timeline -------------------------------------------------------- */

/* usb_base, the stick on controller 0 port 1 at line 10. */
static const char stick_plugged[] =
    "usbdev = [ 'hostbus=3,hostaddr=5,controller=0,port=1' ]\n";

START_TEST(timeline_attach_detach)
{
	char rest[2048];
	struct simcfg *cfg;
	const struct simcfg_event *e;
	static const struct {
		enum simcfg_action action;
		uint64_t at_ns;
		unsigned device, controller, port, line;
	} want[] = {
	    {SIMCFG_USB_ATTACH, 5 * MS, KBD, 0, 2, 12}, /* chosen */
	    {SIMCFG_USB_DETACH, 10 * MS, STICK, 0, 1, 11},
	    {SIMCFG_USB_ATTACH, 15 * MS, MOUSE, 0, 1, 14}, /* port 1 free */
	    {SIMCFG_USB_ATTACH, 20 * MS, STICK, 5, 1, 13}, /* elsewhere */
	    {SIMCFG_USB_DETACH, 30 * MS, KBD, 0, 2, 15},
	    {SIMCFG_USB_ATTACH, 40 * MS, KBD, 0, 2, 16}, /* back again */
	};

	snprintf(
	    rest, sizeof(rest),
	    "%ssim_timeline = [ '10ms usb-detach controller=0,port=1',\n"
	    "  '5ms usb-attach hostbus=1,hostaddr=2',\n"
	    "  '20ms usb-attach hostbus=3,hostaddr=5,controller=5,port=1',\n"
	    "  '15ms usb-attach hostaddr=3,hostbus=1',\n"
	    "  '30ms usb-detach port=2,controller=0',\n"
	    "  '40ms usb-attach devtype=hostdev,hostbus=1,hostaddr=2,"
	    "controller=0,port=2',\n"
	    "  '45ms suspend', '50ms faults alloc=10',\n"
	    "  '60ms close' ]\n",
	    stick_plugged);
	cfg = load_usb(rest);
	e = cfg->timeline;
	ck_assert_uint_eq(cfg->nr_events, 9);
	for (unsigned i = 0; i < 6; i++) {
		const struct simcfg_usb_device *d =
		    &cfg->usb_devices[want[i].device];

		ck_assert_int_eq(e[i].action, want[i].action);
		ck_assert_uint_eq(e[i].at_ns, want[i].at_ns);
		ck_assert_uint_eq(e[i].usb.device, want[i].device);
		ck_assert_uint_eq(e[i].usb.hostbus, d->hostbus);
		ck_assert_uint_eq(e[i].usb.hostaddr, d->hostaddr);
		ck_assert_uint_eq(e[i].usb.controller, want[i].controller);
		ck_assert_uint_eq(e[i].usb.port, want[i].port);
		ck_assert_uint_eq(e[i].usb.line, want[i].line);
		ck_assert_uint_eq(e[i].line, want[i].line);
		ck_assert_ptr_null(e[i].faults);
	}
	ck_assert_int_eq(e[6].action, SIMCFG_SUSPEND);
	ck_assert_int_eq(e[7].action, SIMCFG_FAULTS);
	ck_assert_str_eq(e[7].faults, "alloc=10");
	ck_assert_int_eq(e[8].action, SIMCFG_CLOSE);
	/* usbdev keeps the start: the timeline does not rewrite it. */
	ck_assert_uint_eq(cfg->nr_usbdevs, 1);
	ck_assert_uint_eq(cfg->usbdevs[0].port, 1);
	simcfg_free(cfg);
}
END_TEST

START_TEST(timeline_usb_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"1ms usb-attach hostbus=3,hostaddr=5",
	     "usb-attach: hostbus=3,hostaddr=5: already attached at "
	     "controller 0 port 1 (line 10)"},
	    {"1ms usb-attach hostbus=1,hostaddr=2,controller=0,port=1",
	     "usb-attach: controller 0 port 1 is taken by "
	     "hostbus=3,hostaddr=5 (line 10)"},
	    {"1ms usb-detach controller=0,port=2",
	     "usb-detach: controller 0 port 2 is empty then"},
	    {"1ms usb-attach hostbus=9,hostaddr=9",
	     "usb-attach: hostbus=9,hostaddr=9: no simulated device at 9.9 "
	     "in sim_usb_devices"},
	    {"1ms usb-attach", "want 'usb-attach "
			       "hostbus=B,hostaddr=A[,controller=C,port=P]'"},
	    {"1ms usb-attach hostbus=1, hostaddr=2",
	     "want 'usb-attach hostbus=B,hostaddr=A[,controller=C,port=P]'"},
	    {"1ms usb-attach hostbus=1,hostaddr=2,controller=0",
	     "usb-attach: port= missing"},
	    {"1ms usb-attach hostbus=1,hostaddr=2,controller=2,port=1",
	     "usb-attach: controller: no usbctrl with devid 2"},
	    {"1ms usb-attach hostaddr=2", "usb-attach: hostbus= missing"},
	    {"1ms usb-detach", "want 'usb-detach controller=C,port=P'"},
	    {"1ms usb-detach controller=0", "usb-detach: port= missing"},
	    {"1ms usb-detach port=1", "usb-detach: controller= missing"},
	    {"1ms usb-detach controller=3,port=1",
	     "usb-detach: controller: no usbctrl with devid 3"},
	    {"1ms usb-detach controller=5,port=5",
	     "usb-detach: port: '5': controller 5 has ports 1 to 4"},
	    {"1ms usb-detach controller=0,port=1,hostbus=3",
	     "unknown field 'hostbus'"},
	};
	char rest[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rest, sizeof(rest),
			 "%ssim_timeline = [ '0 suspend',\n '%s' ]\n",
			 stick_plugged, cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:12: sim_timeline: %s",
			 cases[i].want);
		err_usb(rest, want);
	}
}
END_TEST

START_TEST(timeline_usb_played)
{
	char rest[1024];

	/* Played in time order, not file order. */
	snprintf(rest, sizeof(rest),
		 "%ssim_timeline = [ '2ms usb-detach controller=0,port=1',\n"
		 " '1ms usb-detach controller=0,port=1' ]\n",
		 stick_plugged);
	err_usb(rest, "t.cfg:11: sim_timeline: usb-detach: controller 0 port "
		      "1 is empty then");
	snprintf(rest, sizeof(rest),
		 "%ssim_timeline = [ '1ms usb-attach hostbus=1,hostaddr=2',\n"
		 " '2ms usb-attach hostbus=1,hostaddr=2,controller=5,port=1' "
		 "]\n",
		 stick_plugged);
	err_usb(rest, "t.cfg:12: sim_timeline: usb-attach: "
		      "hostbus=1,hostaddr=2: already attached at controller 0 "
		      "port 2 (line 11)");
	snprintf(rest, sizeof(rest),
		 "%ssim_timeline = [ '1ms destroy',\n"
		 " '2ms usb-detach controller=0,port=1' ]\n",
		 stick_plugged);
	err_usb(rest, "t.cfg:12: sim_timeline: usb-detach comes after destroy "
		      "(line 11)");
	/* Every port taken at that time. */
	load_err_exact(
	    "usbctrl = [ 'ports=1' ]\n"
	    "sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
	    "class=mouse', 'name=b, hostbus=1, hostaddr=2, "
	    "class=mouse' ]\n"
	    "sim_timeline = [ '1ms usb-attach hostbus=1,hostaddr=1',"
	    "\n '2ms usb-attach hostbus=1,hostaddr=2' ]\n",
	    "t.cfg:4: sim_timeline: usb-attach: hostbus=1,hostaddr=2: "
	    "no free port on any usbctrl");
	load_err_exact(
	    "sim_usb_devices = [ 'name=a, hostbus=1, hostaddr=1, "
	    "class=mouse' ]\n"
	    "sim_timeline = [ '1ms usb-attach hostbus=1,hostaddr=1' "
	    "]\n",
	    "t.cfg:2: sim_timeline: usb-attach: hostbus=1,hostaddr=1: "
	    "no usbctrl to attach to (declare one in usbctrl)");
}
END_TEST

/* ---- with PVSCSI --------------------------------------------------------- */

START_TEST(usb_with_vscsi)
{
	char rest[2048];
	struct simcfg *cfg;

	snprintf(rest, sizeof(rest),
		 "%ssim_scsi_targets = [ 'name=d0, image=d0.img',\n"
		 "  'name=d1, image=d1.img' ]\n"
		 "vscsi = [ 'd0, 0:0:0:0' ]\n"
		 "sim_timeline = [ '1ms lun-add 0:0:1:0 d1',\n"
		 "  '2ms usb-detach controller=0,port=1',\n"
		 "  '3ms suspend', '4ms usb-attach hostbus=3,hostaddr=5',\n"
		 "  '5ms destroy' ]\n"
		 "sim_workloads = [ 'lun=0:0:1:0, pattern=randrw' ]\n",
		 stick_plugged);
	cfg = load_usb(rest);
	ck_assert_uint_eq(cfg->nr_luns, 1);
	ck_assert_uint_eq(cfg->nr_usbdevs, 1);
	ck_assert_uint_eq(cfg->nr_events, 5);
	ck_assert_int_eq(cfg->timeline[3].action, SIMCFG_USB_ATTACH);
	ck_assert_uint_eq(cfg->timeline[3].usb.controller, 0);
	ck_assert_uint_eq(cfg->timeline[3].usb.port, 1);
	ck_assert_uint_eq(cfg->nr_workloads, 1);
	simcfg_free(cfg);

	/* Workloads stay SCSI: a USB device is not a LUN. */
	snprintf(rest, sizeof(rest),
		 "%ssim_workloads = [ 'lun=3:5:0:0, pattern=randrw' ]\n",
		 stick_plugged);
	err_usb(rest, "t.cfg:11: sim_workloads: lun: 3:5:0:0 is neither in "
		      "vscsi nor added by sim_timeline");
}
END_TEST

/* Byte flips and truncations of a full USB configuration give a clean
 * answer (ASan and LeakSanitizer watch the rest). */
START_TEST(usb_mutations_survive)
{
	static const char alphabet[] = "=[],'\"#\n ;:+.0159KMsu-/abhpkco";
	char orig[4096], text[4096];
	uint64_t x = 0x2545f4914f6cdd1dull;
	unsigned ok = 0, refused = 0;
	size_t n;

	n = (size_t)snprintf(orig, sizeof(orig),
			     "%s%ssim_timeline = [ '1ms usb-detach "
			     "controller=0,port=1', '2ms usb-attach "
			     "hostbus=1,hostaddr=2', '3ms usb-attach "
			     "hostbus=3,hostaddr=5,controller=5,port=4' ]\n",
			     usb_base, stick_plugged);
	for (int round = 0; round < 3000; round++) {
		struct simcfg *cfg;
		size_t len = n;

		memcpy(text, orig, n);
		for (int m = 0; m < 1 + round % 3; m++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % len);

			if ((x >> 20) % 16 == 0)
				len = at;
			else
				text[at] = alphabet[(x >> 32) %
						    (sizeof(alphabet) - 1)];
			if (len == 0)
				break;
		}
		text[len] = '\0';
		if (simcfg_load_string(text, "m.cfg", "/d", &cfg, err,
				       sizeof(err)) == 0) {
			ok++;
			simcfg_free(cfg);
		} else {
			refused++;
			ck_assert_ptr_null(cfg);
			ck_assert_int_eq(strncmp(err, "m.cfg:", 6), 0);
		}
	}
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(refused, 0);
}
END_TEST

static Suite *simcfg_usb_suite(void)
{
	Suite *s = suite_create("simcfg_usb");
	TCase *ctrl = tcase_create("usbctrl");
	TCase *dev = tcase_create("sim_usb_devices");
	TCase *attach = tcase_create("usbdev");
	TCase *timeline = tcase_create("timeline");

	tcase_add_test(ctrl, usbctrl_parse);
	tcase_add_test(ctrl, usbctrl_refused);
	tcase_add_test(dev, devices_defaults);
	tcase_add_test(dev, devices_every_field);
	tcase_add_test(dev, device_helpers);
	tcase_add_test(dev, devices_refused);
	tcase_add_test(dev, devices_capture);
	tcase_add_test(dev, device_images_unique);
	tcase_add_test(attach, usbdev_placed);
	tcase_add_test(attach, usbdev_refused);
	tcase_add_test(timeline, timeline_attach_detach);
	tcase_add_test(timeline, timeline_usb_refused);
	tcase_add_test(timeline, timeline_usb_played);
	tcase_add_test(timeline, usb_with_vscsi);
	tcase_add_test(timeline, usb_mutations_survive);
	suite_add_tcase(s, ctrl);
	suite_add_tcase(s, dev);
	suite_add_tcase(s, attach);
	suite_add_tcase(s, timeline);
	return s;
}

int main(void)
{
	return xpv_check_run(simcfg_usb_suite());
}
