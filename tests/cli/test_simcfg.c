/*
 * The xpvsim configuration reader (sim/cli/simcfg.h): every key parses
 * into the documented values, every bad value is refused with the file,
 * line and key it was found at, every examples/NAME.cfg loads, and mutated
 * input neither crashes nor leaks (ASan build).
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_main.h"
#include "simcfg_test.h"

static const char targets2[] =
    "sim_scsi_targets = [ 'name=d0, image=d0.img, size=64M',\n"
    "                     'name=d1, image=/abs/d1.img' ]\n";

/* ---- scalar keys ----------------------------------------------------------
 */

START_TEST(defaults)
{
	struct simcfg *cfg = load_ok("");

	ck_assert_str_eq(cfg->name, "guest");
	ck_assert_str_eq(cfg->path, "t.cfg");
	ck_assert_uint_eq(cfg->time_limit_ns, 60000 * MS);
	ck_assert(!cfg->has_seed);
	ck_assert(!cfg->swarm);
	ck_assert_ptr_null(cfg->faults);
	ck_assert_uint_eq(cfg->nr_targets + cfg->nr_luns + cfg->nr_events +
			      cfg->nr_workloads,
			  0);
	ck_assert_uint_eq(cfg->scsiback.sg_grant, 128);
	ck_assert_int_eq(cfg->scsiback.result_encoding, SIMCFG_RESULT_CURRENT);
	ck_assert_uint_eq(cfg->scsiback.service_min_ns, 20 * US);
	ck_assert_uint_eq(cfg->scsiback.service_max_ns, 200 * US);
	ck_assert_uint_eq(cfg->scsiback.per_kib_ns, 1 * US);
	simcfg_free(cfg);
}
END_TEST

START_TEST(xl_keys_accepted)
{
	struct simcfg *cfg = load_ok(
	    "name = \"g-1.x\"\ntype = \"pv\"\nmemory = 512\nmaxmem = 1024\n"
	    "vcpus = 2\nmaxvcpus = 4\nkernel = \"/boot/vmlinuz\"\n"
	    "ramdisk = \"/boot/initrd\"\ncmdline = \"quiet\"\n"
	    "extra = \"x\"\nroot = \"/dev/xvda1\"\n"
	    "on_poweroff = \"destroy\"\non_reboot = \"restart\"\n"
	    "on_crash = \"preserve\"\n"
	    "uuid = \"6c8e3e1c-0000-4000-8000-000000000001\"\n"
	    "usbctrl = [ 'type=qusb,version=2,ports=8' ]\n");

	ck_assert_str_eq(cfg->name, "g-1.x");
	ck_assert_uint_eq(cfg->nr_usbctrls, 1);
	ck_assert_uint_eq(cfg->usbctrls[0].ports, 8);
	simcfg_free(cfg);
}
END_TEST

START_TEST(unknown_and_reserved_keys)
{
	load_err("name = \"a\"\n\nfrobnicate = 1\n",
		 "t.cfg:3: frobnicate: unknown key");
	load_err("# c\ndisk = [ 'phy:/dev/sda,xvda,w' ]\n",
		 "t.cfg:2: disk: not simulated");
	load_err("vcpus = 1\nvif = [ '' ]\n", "t.cfg:2: vif: not simulated");
	load_err("usbctrl = 'x'\n", "t.cfg:1: usbctrl: must be a list");
	load_err("name = \"x\"\nname = \"y\"\n",
		 "t.cfg:2: name: set twice (first at line 1");
	load_err("name = \"has space\"\n", "t.cfg:1: name: ");
	load_err("name = \"0123456789012345678901234567890123456789"
		 "012345678901234567890123\"\n",
		 "t.cfg:1: name: want 1 to 63");
	load_err("name = [ 'x' ]\n", "t.cfg:1: name: must be a single value");
	/* A long unknown key is shortened in the message. */
	load_err(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n",
	    "t.cfg:1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa...: unknown key");
}
END_TEST

START_TEST(syntax_error_names_line)
{
	/* libxlutil's own report, captured. */
	load_err("name = \"x\"\n\nvcpus = 1 2\n",
		 "t.cfg:3: config parsing error");
	load_err("a = 1\nb = [ 'x',\n'y'\n", "t.cfg:");
	load_err("name = \"x\n", "t.cfg:1: config parsing error");
	load_err("Name = 1\n", "t.cfg:1: config parsing error");
	/* Lexical errors are caught before libxlutil, which leaks list
	 * entries on them; the wording stays libxlutil's. */
	load_err("vscsi = [ 'a.img, 0:0:0:0',\n 'b.img, 0:0:0:1' :\n",
		 "t.cfg:2: config parsing error near `:': lexical error");
	load_err("\nname = 'a\\qb'\n", "t.cfg:2: config parsing error near "
				       "`'a\\qb'': bad escape");
	load_err("name = 'a\\x41'\n", "t.cfg:1: config parsing error near "
				      "`'a\\x41'': bad escape");
	load_err("name = 'ab\n", "t.cfg:1: config parsing error near `'ab': "
				 "unterminated");
	load_err("sim_seed = 0x1F\n", "t.cfg:1: config parsing error near `F'");
	load_err("name = \"a\"\r\n", "t.cfg:1: config parsing error near `?'");
}
END_TEST

START_TEST(lexical_corners_accepted)
{
	/* A comment on the last line needs no newline; escapes decode. */
	struct simcfg *cfg = load_ok("name = 'a_b' ; vcpus = 2 # last");

	ck_assert_str_eq(cfg->name, "a_b");
	simcfg_free(cfg);
	cfg = load_ok(
	    "sim_scsi_targets = [ 'name=a, image=x\\ty\\\\z\\'q\\\"', ]\n");
	ck_assert_str_eq(cfg->targets[0].image, "/cfg/x\ty\\z'q\"");
	simcfg_free(cfg);
}
END_TEST

START_TEST(seed_swarm_faults_time)
{
	struct simcfg *cfg =
	    load_ok("sim_seed = 18446744073709551615\n"
		    "sim_faults = \"alloc=1000,xs-eagain=50000\"\n"
		    "sim_swarm = 0\nsim_time_limit = \"10ms\"\n");

	ck_assert(cfg->has_seed);
	ck_assert_uint_eq(cfg->seed, UINT64_MAX);
	ck_assert_str_eq(cfg->faults, "alloc=1000,xs-eagain=50000");
	ck_assert(!cfg->swarm);
	ck_assert_uint_eq(cfg->time_limit_ns, 10 * MS);
	simcfg_free(cfg);
	cfg = load_ok(
	    "sim_seed = 0x1f\nsim_swarm = 1\nsim_time_limit = \"2s\"\n");
	ck_assert_uint_eq(cfg->seed, 31);
	ck_assert(cfg->swarm);
	ck_assert_uint_eq(cfg->time_limit_ns, 2000 * MS);
	simcfg_free(cfg);

	load_err("sim_seed = 18446744073709551616\n", "t.cfg:1: sim_seed: ");
	load_err("\nsim_seed = \"12x\"\n", "t.cfg:2: sim_seed: ");
	load_err("sim_swarm = 2\n", "t.cfg:1: sim_swarm: '2': want 0 or 1");
	load_err("sim_faults = \"alloc=x\"\n",
		 "t.cfg:1: sim_faults: fault item");
	load_err("sim_faults = \"nosuch=1\"\n",
		 "t.cfg:1: sim_faults: fault item");
	load_err("sim_faults = \"alloc=1\"\nsim_swarm = 1\n",
		 "t.cfg:2: sim_swarm: sim_swarm = 1 and sim_faults");
	load_err("sim_time_limit = 10\n", "t.cfg:1: sim_time_limit: '10'");
	load_err("sim_time_limit = 0\n", "t.cfg:1: sim_time_limit: ");
	load_err("sim_time_limit = \"1.5s\"\n", "t.cfg:1: sim_time_limit: ");
}
END_TEST

START_TEST(scsiback_options)
{
	struct simcfg *cfg =
	    load_ok("sim_scsiback = 'sg_grant=0, result_encoding=old, "
		    "service_min=1us, service_max=2ms, per_kib=500ns, "
		    "tmr_victims=answer'\n");

	ck_assert_uint_eq(cfg->scsiback.sg_grant, 0);
	ck_assert_int_eq(cfg->scsiback.result_encoding, SIMCFG_RESULT_OLD);
	ck_assert_uint_eq(cfg->scsiback.service_min_ns, 1 * US);
	ck_assert_uint_eq(cfg->scsiback.service_max_ns, 2 * MS);
	ck_assert_uint_eq(cfg->scsiback.per_kib_ns, 500);
	ck_assert(cfg->scsiback.tmr_victims_answered);
	simcfg_free(cfg);
	cfg = load_ok("sim_scsiback = 'sg_grant=65535'\n");
	ck_assert_uint_eq(cfg->scsiback.sg_grant, 65535);
	ck_assert(!cfg->scsiback.tmr_victims_answered);
	simcfg_free(cfg);

	load_err("sim_scsiback = 'sg_grant=65536'\n",
		 "t.cfg:1: sim_scsiback: sg_grant: '65536'");
	load_err("sim_scsiback = 'result_encoding=new'\n",
		 "t.cfg:1: sim_scsiback: result_encoding: ");
	load_err("sim_scsiback = 'tmr_victims=keep'\n",
		 "t.cfg:1: sim_scsiback: tmr_victims: 'keep': want drop or "
		 "answer");
	load_err("sim_scsiback = 'service_min=1ms, service_max=10us'\n",
		 "t.cfg:1: sim_scsiback: service_min is above service_max");
	load_err("sim_scsiback = 'per_kib=3'\n",
		 "t.cfg:1: sim_scsiback: per_kib:");
	load_err("sim_scsiback = 'queue=3'\n",
		 "t.cfg:1: sim_scsiback: unknown field 'queue'");
	load_err("sim_scsiback = 'sg_grant=1, sg_grant=2'\n",
		 "t.cfg:1: sim_scsiback: sg_grant: given twice");
	load_err("sim_scsiback = 'sg_grant'\n",
		 "t.cfg:1: sim_scsiback: 'sg_grant': want name=value");
}
END_TEST

/* ---- targets and vscsi ------------------------------------------------------
 */

START_TEST(targets_parse)
{
	struct simcfg *cfg =
	    load_ok("sim_scsi_targets = [\n"
		    "  'name=d0, type=disk, image=img/d0.img, size=64M, "
		    "block_size=4096, read_only=1, vendor=ACME, "
		    "product=Disk Product 16, serial=SN-0001',\n"
		    "  'name=cd, type=cdrom, image=/iso/cd.iso, size=4M',\n"
		    "  'image=x.img, name=plain,',\n"
		    "]\n");
	const struct simcfg_target *t = cfg->targets;
	struct sim_scsi_target_config tc;

	ck_assert_uint_eq(cfg->nr_targets, 3);
	ck_assert_str_eq(t[0].name, "d0");
	ck_assert_int_eq(t[0].kind, SIM_SCSI_DISK);
	ck_assert_str_eq(t[0].image, "/cfg/img/d0.img");
	ck_assert_uint_eq(t[0].size, 64ull << 20);
	ck_assert_uint_eq(t[0].block_size, 4096);
	ck_assert(t[0].read_only);
	ck_assert_str_eq(t[0].vendor, "ACME");
	ck_assert_str_eq(t[0].product, "Disk Product 16");
	ck_assert_str_eq(t[0].serial, "SN-0001");
	ck_assert_uint_eq(t[0].line, 2);
	ck_assert_int_eq(t[1].kind, SIM_SCSI_CDROM);
	ck_assert_str_eq(t[1].image, "/iso/cd.iso");
	ck_assert_uint_eq(t[1].block_size, 2048);
	ck_assert(t[1].read_only);
	ck_assert_uint_eq(t[1].line, 3);
	ck_assert_uint_eq(t[2].block_size, 512);
	ck_assert(!t[2].read_only && !t[2].implicit);
	ck_assert_uint_eq(t[2].size, 0);

	simcfg_target_config(&t[0], &tc);
	ck_assert_uint_eq(tc.create_size, 64ull << 20);
	ck_assert_str_eq(tc.vendor, "ACME");
	simcfg_target_config(&t[1], &tc);
	ck_assert_uint_eq(tc.create_size, 0); /* the caller makes ISOs */
	ck_assert_ptr_null(tc.vendor);
	simcfg_free(cfg);
}
END_TEST

START_TEST(targets_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"name=a, image=a, size=12X", "size: '12X'"},
	    {"name=a, image=a, size=0", "size: '0'"},
	    {"name=a, image=a, size=17T", "size: '17T'"},
	    {"name=a, image=a, size=1000", "size: not a multiple"},
	    {"name=a, image=a, size=6K, block_size=4096",
	     "size: not a multiple"},
	    {"name=a, image=a, block_size=1024", "block_size: '1024'"},
	    {"name=a, image=a, block_size=2048",
	     "block_size: 2048 is for a cdrom"},
	    {"name=a, type=cdrom, image=a, block_size=512",
	     "block_size: a cdrom"},
	    {"name=a, type=cdrom, image=a, read_only=0", "read_only: a cdrom"},
	    {"name=a, type=cdrom, image=a, size=3K", "size: not a multiple"},
	    {"name=a, type=tape, image=a", "type: 'tape'"},
	    {"name=a, image=a, read_only=yes", "read_only: 'yes'"},
	    {"image=a", "name= missing"},
	    {"name=a", "image= missing"},
	    {"name=a, image=", "empty image path"},
	    {"name=a:b, image=a", "name: 'a:b'"},
	    {"name=a, image=a, vendor=123456789", "vendor: longer than 8"},
	    {"name=a, image=a, product=12345678901234567", "product: longer"},
	    {"name=a, image=a, color=red", "unknown field 'color'"},
	    {"name=a, image=a, name=b", "name: given twice"},
	};
	char text[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(
		    text, sizeof(text),
		    "sim_scsi_targets = [\n 'name=ok, image=ok',\n '%s' ]\n",
		    cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:3: sim_scsi_targets: %s",
			 cases[i].want);
		load_err(text, want);
	}
	load_err(
	    "sim_scsi_targets = [ 'name=a, image=x',\n"
	    "'name=a, image=y' ]\n",
	    "t.cfg:2: sim_scsi_targets: name: 'a' already declared at line 1");
	load_err(
	    "sim_scsi_targets = [ 'name=a, image=x',\n"
	    "'name=b, image=x' ]\n",
	    "t.cfg:2: sim_scsi_targets: image '/cfg/x' already used by the "
	    "target at line 1");
	load_err("sim_scsi_targets = [ ['nested'] ]\n",
		 "t.cfg:1: sim_scsi_targets: entry 1 is a list");
	load_err("sim_scsi_targets = 'name=a, image=x'\n",
		 "t.cfg:1: sim_scsi_targets: must be a list");
}
END_TEST

START_TEST(vscsi_parse)
{
	char text[1024];
	struct simcfg *cfg;

	snprintf(text, sizeof(text),
		 "%svscsi = [ 'd0, 0:0:0:0', 'd1, 1:65535:63:254',\n"
		 "  'images/raw.img, 0:0:1:0', '/abs/raw.img, 2:0:0:7' ]\n",
		 targets2);
	cfg = load_ok(text);
	ck_assert_uint_eq(cfg->nr_luns, 4);
	ck_assert_uint_eq(cfg->nr_targets, 4);
	ck_assert_uint_eq(cfg->luns[0].target, 0);
	ck_assert_uint_eq(cfg->luns[0].line, 3);
	ck_assert_uint_eq(cfg->luns[1].vdev.host, 1);
	ck_assert_uint_eq(cfg->luns[1].vdev.channel, 65535);
	ck_assert_uint_eq(cfg->luns[1].vdev.id, 63);
	ck_assert_uint_eq(cfg->luns[1].vdev.lun, 254);
	ck_assert_uint_eq(cfg->luns[1].target, 1);
	/* Image paths get an implicit disk with defaults. */
	ck_assert_uint_eq(cfg->luns[2].line, 4);
	ck_assert_uint_eq(cfg->luns[2].target, 2);
	ck_assert(cfg->targets[2].implicit);
	ck_assert_str_eq(cfg->targets[2].name, "vscsi:0:0:1:0");
	ck_assert_str_eq(cfg->targets[2].image, "/cfg/images/raw.img");
	ck_assert_int_eq(cfg->targets[2].kind, SIM_SCSI_DISK);
	ck_assert_uint_eq(cfg->targets[2].block_size, 512);
	ck_assert_uint_eq(cfg->targets[2].size, 0);
	ck_assert_str_eq(cfg->targets[3].image, "/abs/raw.img");
	simcfg_free(cfg);

	/* No base directory: relative paths stay relative. */
	ck_assert_int_eq(simcfg_load_string("vscsi = [ 'a/b.img, 0:0:0:0' ]",
					    "n", NULL, &cfg, err, sizeof(err)),
			 0);
	ck_assert_str_eq(cfg->targets[0].image, "a/b.img");
	simcfg_free(cfg);
}
END_TEST

START_TEST(vscsi_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"d0, 0:0:0", "'0:0:0': want VDEV h:c:t:l"},
	    {"d0, 0:0:0:0:0", "'0:0:0:0:0': want VDEV"},
	    {"d0, 0:0:x:0", "'0:0:x:0': want VDEV"},
	    {"d0, 65536:0:0:0", "'65536:0:0:0': want VDEV"},
	    {"d0, 0:0:64:0", "'0:0:64:0': target id must be below 64"},
	    {"d0, 0:0:0:255", "'0:0:0:255': LUN must be below 255"},
	    {"d0, 0:0:0:0, rw", "only 'PDEV, VDEV': no further fields"},
	    {"d0", "want 'PDEV, VDEV'"},
	    {", 0:0:0:1", "empty PDEV"},
	    {"nosuch, 0:0:0:1", "'nosuch': no such target"},
	    {"d0, 0:0:0:1", "target 'd0' already at line 3"},
	    {"d1, 0:0:0:0", "VDEV 0:0:0:0 already used at line 3"},
	    {"d1.img, 0:0:0:0", "VDEV 0:0:0:0 already used"},
	    {"/abs/d1.img, 0:0:0:1", "image '/abs/d1.img' already used"},
	};
	char text[1024], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "%svscsi = [ 'd0, 0:0:0:0',\n\n  '%s' ]\n", targets2,
			 cases[i].item);
		snprintf(want, sizeof(want), "t.cfg:5: vscsi: %s",
			 cases[i].want);
		load_err(text, want);
	}
	load_err("vscsi = [ 'a, 0:0:0:0' ] ; vscsi += [ 3 ]\n",
		 "t.cfg:1: vscsi: 'a': no such target");
}
END_TEST

START_TEST(list_item_lines)
{
	/* Comments, blank lines, '+=' and numbers as items: each entry
	 * still names its own line. */
	load_err("vscsi = [ # first\n"
		 "  'x.img, 0:0:0:0',\n"
		 "\n"
		 "  \"y.img, 0:0:0:1\", 'z.img, 0:0:0:2' ]\n"
		 "vscsi += [ 'w.img, 0:0:0:3',\n"
		 "   'v.img, 0:0:0:2' ]\n",
		 "t.cfg:6: vscsi: VDEV 0:0:0:2 already used at line 4");
	load_err("vscsi = [ 'x.img, 0:0:0:0',\n 7 ]\n",
		 "t.cfg:2: vscsi: want 'PDEV, VDEV'");
	load_err("vscsi = [ 'x.img, 0:0:0:0',\n ['a'] ]\n",
		 "t.cfg:2: vscsi: entry 2 is a list");
}
END_TEST

/* ---- timeline and workloads
 * -------------------------------------------------- */

static const char base_luns[] =
    "sim_scsi_targets = [ 'name=d0, image=d0.img',\n"
    "  'name=d1, image=d1.img' ]\n"
    "vscsi = [ 'd0, 0:0:0:0' ]\n";

static struct simcfg *load_with_luns(const char *rest)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", base_luns, rest);
	return load_ok(text);
}

static void err_with_luns(const char *rest, const char *want)
{
	char text[2048], w[320];

	snprintf(text, sizeof(text), "%s%s", base_luns, rest);
	snprintf(w, sizeof(w), "t.cfg:%s", want);
	load_err(text, w);
}

START_TEST(timeline_sorted)
{
	struct simcfg *cfg = load_with_luns("sim_timeline = [\n"
					    "  '40ms lun-remove 0:0:2:0',\n"
					    "  '5ms\tlun-add 0:0:2:0 d1',\n"
					    "  '10ms faults alloc=10',\n"
					    "  '10ms suspend',\n"
					    "  '0 faults none',\n"
					    "  '2s destroy' ]\n");
	const struct simcfg_event *e = cfg->timeline;

	ck_assert_uint_eq(cfg->nr_events, 6);
	ck_assert_uint_eq(e[0].at_ns, 0);
	ck_assert_int_eq(e[0].action, SIMCFG_FAULTS);
	ck_assert_str_eq(e[0].faults, "none");
	ck_assert_uint_eq(e[0].line, 9);
	ck_assert_uint_eq(e[1].at_ns, 5 * MS);
	ck_assert_int_eq(e[1].action, SIMCFG_LUN_ADD);
	ck_assert_uint_eq(e[1].vdev.id, 2);
	ck_assert_uint_eq(e[1].target, 1);
	ck_assert_ptr_null(e[1].faults);
	/* Equal times keep file order. */
	ck_assert_int_eq(e[2].action, SIMCFG_FAULTS);
	ck_assert_str_eq(e[2].faults, "alloc=10");
	ck_assert_int_eq(e[3].action, SIMCFG_SUSPEND);
	ck_assert_uint_eq(e[3].line, 8);
	ck_assert_int_eq(e[4].action, SIMCFG_LUN_REMOVE);
	ck_assert_uint_eq(e[4].at_ns, 40 * MS);
	ck_assert_int_eq(e[5].action, SIMCFG_DESTROY);
	ck_assert_uint_eq(e[5].at_ns, 2000 * MS);
	simcfg_free(cfg);

	/* A LUN can leave and come back; close ends it. */
	cfg = load_with_luns("sim_timeline = [ '1ms lun-remove 0:0:0:0',\n"
			     "'2ms lun-add 0:0:0:0 d0', '3ms close' ]\n");
	ck_assert_int_eq(cfg->timeline[2].action, SIMCFG_CLOSE);
	simcfg_free(cfg);
}
END_TEST

START_TEST(timeline_refused)
{
	static const struct {
		const char *item, *want;
	} cases[] = {
	    {"5ms explode", "unknown action 'explode'"},
	    {"5 suspend", "'5': want a time"},
	    {"5xs suspend", "'5xs': want a time"},
	    {"18446744073709551615s close", "'18446744073709551615s'"},
	    {"suspend", "want 'AT ACTION ARGS...'"},
	    {"1ms lun-add 0:0:1:0", "want 'lun-add VDEV TARGET'"},
	    {"1ms lun-add 0:0:1:0 nosuch", "lun-add: 'nosuch': no such"},
	    {"1ms lun-add 0:0:1 d1", "'0:0:1': want VDEV"},
	    {"1ms lun-add 0:0:64:0 d1", "'0:0:64:0': target id"},
	    {"1ms lun-add 0:0:0:0 d1", "lun-add: 0:0:0:0 is present then"},
	    {"1ms lun-add 0:0:3:0 d0", "lun-add: target 'd0' is in use"},
	    {"1ms lun-add 9:0:3:0 d1", "lun-add: no vscsi host 9"},
	    {"1ms lun-remove 0:0:5:0", "lun-remove: 0:0:5:0 is absent"},
	    {"1ms lun-remove", "want 'lun-remove VDEV'"},
	    {"1ms suspend now", "want 'suspend'"},
	    {"1ms faults alloc=x", "faults: fault item"},
	    {"1ms faults a b", "want 'faults SPEC'"},
	    {"1ms close x y z", "want 'close'"},
	};
	char rest[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rest, sizeof(rest),
			 "sim_timeline = [ '0 suspend',\n '%s' ]\n",
			 cases[i].item);
		snprintf(want, sizeof(want), "5: sim_timeline: %s",
			 cases[i].want);
		err_with_luns(rest, want);
	}
	err_with_luns("sim_timeline = [ '9ms suspend',\n'3ms close' ]\n",
		      "4: sim_timeline: suspend comes after close (line 5)");
	err_with_luns("sim_timeline = [ '2ms lun-remove 0:0:0:0',\n"
		      "'1ms lun-remove 0:0:0:0' ]\n",
		      "4: sim_timeline: lun-remove: 0:0:0:0 is absent");
}
END_TEST

START_TEST(workloads_parse)
{
	struct simcfg *cfg = load_with_luns(
	    "sim_timeline = [ '5ms lun-add 0:0:2:0 d1' ]\n"
	    "sim_workloads = [\n"
	    "  'lun=0:0:0:0, pattern=randrw, block=128K, depth=16, "
	    "ops=18446744073709551615, start=0, verify=0, span=64M, "
	    "read_pct=70',\n"
	    "  'lun=0:0:2:0, pattern=seqwrite, start=10ms, span=ALL',\n"
	    "  'pattern=abort-reset, lun=0:0:0:0, ops=4, depth=2' ]\n");
	const struct simcfg_workload *w = cfg->workloads;

	ck_assert_uint_eq(cfg->nr_workloads, 3);
	ck_assert_int_eq(w[0].pattern, SIMCFG_RANDRW);
	ck_assert_uint_eq(w[0].block, 128 << 10);
	ck_assert_uint_eq(w[0].depth, 16);
	ck_assert_uint_eq(w[0].ops, UINT64_MAX);
	ck_assert(!w[0].verify);
	ck_assert_uint_eq(w[0].span, 64ull << 20);
	ck_assert_uint_eq(w[0].read_pct, 70);
	ck_assert_uint_eq(w[0].line, 6);
	/* Defaults. */
	ck_assert_int_eq(w[1].pattern, SIMCFG_SEQWRITE);
	ck_assert_uint_eq(w[1].vdev.id, 2);
	ck_assert_uint_eq(w[1].block, 4096);
	ck_assert_uint_eq(w[1].depth, 4);
	ck_assert_uint_eq(w[1].ops, 100);
	ck_assert(w[1].verify);
	ck_assert_uint_eq(w[1].span, 0);
	ck_assert_uint_eq(w[1].start_ns, 10 * MS);
	ck_assert_int_eq(w[2].pattern, SIMCFG_ABORT_RESET);
	ck_assert_uint_eq(w[2].ops, 4);
	ck_assert_uint_eq(w[2].depth, 2);
	ck_assert(!w[2].verify);
	ck_assert_str_eq(simcfg_pattern_name(w[2].pattern), "abort-reset");
	simcfg_free(cfg);
}
END_TEST

START_TEST(workloads_refused)
{
	static const struct {
		const char *fields, *want;
	} cases[] = {
	    {"pattern=randrw", "lun= missing"},
	    {"lun=0:0:0:0", "pattern= missing"},
	    {"lun=0:0:1:0, pattern=randrw", "lun: 0:0:1:0 is neither"},
	    {"lun=0:0:0, pattern=randrw", "'0:0:0': want VDEV"},
	    {"lun=0:0:0:0, pattern=random", "pattern: unknown 'random'"},
	    {"lun=0:0:0:0, pattern=randrw, depth=0", "depth: '0'"},
	    {"lun=0:0:0:0, pattern=randrw, depth=17", "depth: '17'"},
	    {"lun=0:0:0:0, pattern=randrw, block=1000", "block: '1000'"},
	    {"lun=0:0:0:0, pattern=randrw, block=32M", "block: above 16M"},
	    {"lun=0:0:0:0, pattern=randrw, block=0", "block: '0'"},
	    {"lun=0:0:0:0, pattern=randrw, ops=0", "ops: '0'"},
	    {"lun=0:0:0:0, pattern=randrw, ops=-1", "ops: '-1'"},
	    {"lun=0:0:0:0, pattern=randrw, start=5", "start: '5'"},
	    {"lun=0:0:0:0, pattern=randrw, verify=2", "verify: '2'"},
	    {"lun=0:0:0:0, pattern=randrw, span=100", "span: '100'"},
	    {"lun=0:0:0:0, pattern=randrw, block=8K, span=4K",
	     "span: smaller than block"},
	    {"lun=0:0:0:0, pattern=randrw, read_pct=101", "read_pct: '101'"},
	    {"lun=0:0:0:0, pattern=seqread, read_pct=10",
	     "read_pct: for randrw and seqrw only"},
	    {"lun=0:0:0:0, pattern=abort-reset, block=4K",
	     "abort-reset takes lun, ops, depth, start only"},
	    {"lun=0:0:0:0, pattern=randrw, size=4K", "unknown field 'size'"},
	};
	char rest[512], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rest, sizeof(rest), "sim_workloads = [\n\n '%s' ]\n",
			 cases[i].fields);
		snprintf(want, sizeof(want), "6: sim_workloads: %s",
			 cases[i].want);
		err_with_luns(rest, want);
	}
}
END_TEST

/* ---- value helpers
 * ------------------------------------------------------------ */

START_TEST(durations)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} good[] = {
	    {"0", 0},
	    {"0s", 0},
	    {"150us", 150 * US},
	    {"10ms", 10 * MS},
	    {"2s", 2000 * MS},
	    {"7ns", 7},
	    {"18446744073709551615ns", UINT64_MAX},
	    {"18446744073s", 18446744073000000000ull},
	};
	static const char *const bad[] = {
	    "",	    "10",  "1.5ms",	   "ms",
	    "-1s",  " 1s", "1s ",	   "1 s",
	    "1m",   "1S",  "18446744074s", "18446744073709551616ns",
	    "1sec",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(simcfg_parse_duration(good[i].s, &v) == 0, "%s",
			      good[i].s);
		ck_assert_uint_eq(v, good[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(simcfg_parse_duration(bad[i], &v) == -1, "'%s'",
			      bad[i]);
}
END_TEST

START_TEST(sizes_and_vdevs)
{
	static const struct {
		const char *s;
		uint64_t b;
	} good[] = {
	    {"0", 0},
	    {"512", 512},
	    {"4K", 4096},
	    {"4k", 4096},
	    {"64M", 64ull << 20},
	    {"1g", 1ull << 30},
	    {"16T", 16ull << 40},
	    {"16777215T", 16777215ull << 40},
	};
	static const char *const bad[] = {
	    "", "K", "1X", "1KB", "-1", "1.5M", "16777216T", " 1K", "1K ",
	};
	static const char *const bad_vdev[] = {
	    "",		"0:0:0",  "0:0:0:0:0", "a:0:0:0",  "0:0:0:65536",
	    " 0:0:0:0", "0::0:0", "0:0:0:0 ",  "+1:0:0:0", "0:0:0:-1",
	};
	struct simcfg_vdev vd;
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(simcfg_parse_size(good[i].s, &v) == 0, "%s",
			      good[i].s);
		ck_assert_uint_eq(v, good[i].b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(simcfg_parse_size(bad[i], &v) == -1, "'%s'",
			      bad[i]);
	for (size_t i = 0; i < sizeof(bad_vdev) / sizeof(bad_vdev[0]); i++)
		ck_assert_msg(simcfg_parse_vdev(bad_vdev[i], &vd) == -1, "'%s'",
			      bad_vdev[i]);
	ck_assert_int_eq(simcfg_parse_vdev("65535:1:63:254", &vd), 0);
	ck_assert_uint_eq(vd.host, 65535);
	ck_assert_uint_eq(vd.channel, 1);
	ck_assert_ptr_null(simcfg_vdev_check(&vd));
	vd.lun = 255;
	ck_assert_ptr_nonnull(simcfg_vdev_check(&vd));
	ck_assert_str_eq(simcfg_action_name(SIMCFG_LUN_ADD), "lun-add");
	ck_assert_str_eq(simcfg_action_name((enum simcfg_action)99), "?");
}
END_TEST

/* ---- files
 * -------------------------------------------------------------------- */

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(file_paths)
{
	static const char text[] = "vscsi = [ 'images/a.img, 0:0:0:0' ]\n";
	const char *dir = XPV_BINARY_DIR "/simcfg-tmp";
	char path[1024], want[1100];
	struct simcfg *cfg;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/x.cfg", dir);
	write_file(path, text, strlen(text));
	ck_assert_msg(simcfg_load(path, &cfg, err, sizeof(err)) == 0, "%s",
		      err);
	snprintf(want, sizeof(want), "%s/images/a.img", dir);
	ck_assert_str_eq(cfg->targets[0].image, want);
	ck_assert_str_eq(cfg->path, path);
	simcfg_free(cfg);

	/* Errors name the file as given. */
	write_file(path, "vscsi = [ 'nope, 0:0:0:0' ]\n", 28);
	ck_assert_int_eq(simcfg_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: vscsi: 'nope'", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	write_file(path, "name = \"a\"\n\0x", 13);
	ck_assert_int_eq(simcfg_load(path, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
	ck_assert_int_eq(
	    simcfg_load(XPV_BINARY_DIR "/no/such.cfg", &cfg, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(too_large)
{
	size_t n = SIMCFG_FILE_MAX + 1;
	char *big = malloc(n + 1);
	struct simcfg *cfg;

	ck_assert_ptr_nonnull(big);
	memset(big, '\n', n);
	big[n] = '\0';
	ck_assert_int_eq(
	    simcfg_load_string(big, "big", NULL, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	/* One entry beyond the per-entry limit. */
	memcpy(big, "vscsi = [ '", 11);
	memset(big + 11, 'a', 9000);
	memcpy(big + 9011, "' ]\n", 5);
	ck_assert_int_eq(
	    simcfg_load_string(big, "big", NULL, &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "big:1: vscsi: entry 1 longer than 8191 "
			      "characters");
	free(big);
}
END_TEST

static unsigned load_examples(void)
{
	glob_t g;
	unsigned n = 0;

	ck_assert_int_eq(glob(XPV_SOURCE_DIR "/examples/*.cfg", 0, NULL, &g),
			 0);
	for (size_t i = 0; i < g.gl_pathc; i++, n++) {
		struct simcfg *cfg;

		ck_assert_msg(
		    simcfg_load(g.gl_pathv[i], &cfg, err, sizeof(err)) == 0,
		    "%s", err);
		simcfg_free(cfg);
	}
	globfree(&g);
	return n;
}

static struct simcfg *example(const char *name)
{
	struct simcfg *cfg;
	char path[1024];

	snprintf(path, sizeof(path), XPV_SOURCE_DIR "/examples/%s", name);
	ck_assert_msg(simcfg_load(path, &cfg, err, sizeof(err)) == 0, "%s",
		      err);
	return cfg;
}

START_TEST(examples_load)
{
	struct simcfg *cfg;

	ck_assert_uint_ge(load_examples(), 3);

	cfg = example("pvscsi-disk-cdrom.cfg");
	ck_assert_uint_eq(cfg->nr_luns, 2);
	ck_assert_int_eq(cfg->targets[cfg->luns[0].target].kind, SIM_SCSI_DISK);
	ck_assert_uint_eq(cfg->targets[cfg->luns[0].target].size, 64ull << 20);
	ck_assert_int_eq(cfg->targets[cfg->luns[1].target].kind,
			 SIM_SCSI_CDROM);
	ck_assert_uint_eq(cfg->luns[1].vdev.id, 1);
	ck_assert_ptr_nonnull(
	    strstr(cfg->targets[0].image, "/examples/images/"));
	simcfg_free(cfg);

	cfg = example("pvscsi-hotplug.cfg");
	ck_assert_uint_eq(cfg->nr_events, 3);
	ck_assert_int_eq(cfg->timeline[0].action, SIMCFG_LUN_ADD);
	ck_assert_uint_eq(cfg->timeline[0].at_ns, 5 * MS);
	ck_assert_int_eq(cfg->timeline[1].action, SIMCFG_LUN_REMOVE);
	ck_assert_uint_eq(cfg->timeline[1].at_ns, 40 * MS);
	ck_assert_int_eq(cfg->workloads[0].pattern, SIMCFG_RANDRW);
	simcfg_free(cfg);

	cfg = example("pvscsi-workload.cfg");
	ck_assert_uint_eq(cfg->nr_workloads, 3);
	ck_assert_uint_eq(cfg->workloads[0].block, 128 << 10);
	ck_assert_uint_eq(cfg->workloads[0].depth, 16);
	ck_assert(cfg->workloads[0].verify);
	ck_assert_int_eq(cfg->workloads[1].pattern, SIMCFG_SEQREAD);
	ck_assert_uint_eq(cfg->workloads[1].block, 1 << 20);
	ck_assert_int_eq(cfg->workloads[2].pattern, SIMCFG_ABORT_RESET);
	simcfg_free(cfg);
}
END_TEST

/* Hostile input: byte flips, insertions and truncations of the examples
 * must give a clean answer (ASan and LeakSanitizer watch the rest). */
START_TEST(mutations_survive)
{
	static const char alphabet[] = "=[],'\"#\n ;:+.0159KMsuxa\\-/";
	glob_t g;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned ok = 0, refused = 0;

	ck_assert_int_eq(glob(XPV_SOURCE_DIR "/examples/*.cfg", 0, NULL, &g),
			 0);
	for (size_t f = 0; f < g.gl_pathc; f++) {
		FILE *fp = fopen(g.gl_pathv[f], "rb");
		char orig[8192], text[8200];
		size_t n;

		ck_assert_ptr_nonnull(fp);
		n = fread(orig, 1, sizeof(orig) - 1, fp);
		fclose(fp);
		for (int round = 0; round < 400; round++) {
			struct simcfg *cfg;
			size_t len = n;

			memcpy(text, orig, n);
			for (int m = 0; m < 1 + round % 4; m++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				size_t at = (size_t)(x % len);
				char c = alphabet[(x >> 32) %
						  (sizeof(alphabet) - 1)];

				if ((x >> 20) % 8 == 0)
					len = at; /* truncate */
				else
					text[at] = c; /* overwrite */
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
				ck_assert(strlen(err) > 0);
			}
		}
	}
	globfree(&g);
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(refused, 0);
}
END_TEST

static Suite *simcfg_suite(void)
{
	Suite *s = suite_create("simcfg");
	TCase *keys = tcase_create("keys");
	TCase *values = tcase_create("values");
	TCase *files = tcase_create("files");

	tcase_add_test(keys, defaults);
	tcase_add_test(keys, xl_keys_accepted);
	tcase_add_test(keys, unknown_and_reserved_keys);
	tcase_add_test(keys, syntax_error_names_line);
	tcase_add_test(keys, lexical_corners_accepted);
	tcase_add_test(keys, seed_swarm_faults_time);
	tcase_add_test(keys, scsiback_options);
	tcase_add_test(keys, targets_parse);
	tcase_add_test(keys, targets_refused);
	tcase_add_test(keys, vscsi_parse);
	tcase_add_test(keys, vscsi_refused);
	tcase_add_test(keys, list_item_lines);
	tcase_add_test(keys, timeline_sorted);
	tcase_add_test(keys, timeline_refused);
	tcase_add_test(keys, workloads_parse);
	tcase_add_test(keys, workloads_refused);
	tcase_add_test(values, durations);
	tcase_add_test(values, sizes_and_vdevs);
	tcase_add_test(files, file_paths);
	tcase_add_test(files, too_large);
	tcase_add_test(files, examples_load);
	tcase_add_test(files, mutations_survive);
	suite_add_tcase(s, keys);
	suite_add_tcase(s, values);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	return xpv_check_run(simcfg_suite());
}
