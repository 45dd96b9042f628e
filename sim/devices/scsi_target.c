/*
 * SPC core of the simulated SCSI logical units: opening the image, the
 * command gate every CDB passes (length, direction, UNIT ATTENTION), sense
 * state, the SPC commands both kinds answer alike (INQUIRY, REQUEST SENSE,
 * REPORT LUNS, MODE SENSE framing) and block I/O on the image.
 *
 * Every CDB is hostile: the gate guarantees a handler cdb_len >= the
 * opcode's CDB length and a data buffer of data_len bytes (0 when NULL);
 * nothing a command carries reaches a SIM_ASSERT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/core/sim.h"
#include "sim/devices/scsi_internal.h"

/* A locally administered OUI (QEMU's), so the NAA ids claim no vendor. */
#define SCSI_NAA_OUI 0x525400ull

/* ---- sense and answers ---- */

uint8_t sim_scsi_sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc,
			     uint8_t ascq)
{
	memset(sense, 0, SCSI_SENSE_FIXED_LEN);
	sense[0] = 0x70; /* current error, fixed format */
	sense[2] = key & 0x0f;
	sense[7] = SCSI_SENSE_FIXED_LEN - 8; /* additional sense length */
	sense[12] = asc;
	sense[13] = ascq;
	return SCSI_SENSE_FIXED_LEN;
}

/* Store the sense built in res as the unit's, for REQUEST SENSE. */
static void check_finish(struct sim_scsi_target *t, struct scsi_req *r)
{
	struct sim_scsi_result *res = r->res;

	res->status = SIM_SCSI_CHECK_CONDITION;
	memcpy(t->sense, res->sense, SCSI_SENSE_FIXED_LEN);
	t->sense_len = SCSI_SENSE_FIXED_LEN;
	t->st.check_conditions++;
}

void scsi_check(struct sim_scsi_target *t, struct scsi_req *r, uint8_t key,
		uint16_t asc)
{
	r->res->sense_len = sim_scsi_sense_fixed(
	    r->res->sense, key, (uint8_t)(asc >> 8), (uint8_t)asc);
	check_finish(t, r);
}

void scsi_check_info(struct sim_scsi_target *t, struct scsi_req *r, uint8_t key,
		     uint16_t asc, uint32_t info)
{
	uint8_t *s = r->res->sense;

	r->res->sense_len =
	    sim_scsi_sense_fixed(s, key, (uint8_t)(asc >> 8), (uint8_t)asc);
	s[0] |= 0x80; /* VALID: the information field means something */
	scsi_put32(s + 3, info);
	check_finish(t, r);
}

void scsi_bad_field(struct sim_scsi_target *t, struct scsi_req *r, uint8_t byte)
{
	uint8_t *s = r->res->sense;

	r->res->sense_len =
	    sim_scsi_sense_fixed(s, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Sense-key specific field pointer: SKSV, C/D = the CDB. */
	s[15] = 0x80 | 0x40;
	scsi_put16(s + 16, byte);
	check_finish(t, r);
}

void scsi_reply(struct scsi_req *r, const uint8_t *buf, size_t len,
		uint32_t alloc)
{
	size_t n = len;

	if (n > alloc)
		n = alloc;
	if (n > r->data_len)
		n = r->data_len;
	if (n)
		memcpy(r->data, buf, n);
	r->res->transferred = (uint32_t)n;
}

/* ---- UNIT ATTENTION queue ---- */

static bool ua_pending(const struct sim_scsi_target *t, uint8_t asc,
		       uint8_t ascq)
{
	unsigned int i;

	for (i = 0; i < t->ua_count; i++)
		if (t->ua[i].asc == asc && t->ua[i].ascq == ascq)
			return true;
	return false;
}

static struct scsi_ua ua_pop(struct sim_scsi_target *t)
{
	struct scsi_ua ua = t->ua[0];

	SIM_ASSERT(t->ua_count > 0 && t->ua_count <= SCSI_UA_MAX);
	t->ua_count--;
	memmove(&t->ua[0], &t->ua[1], t->ua_count * sizeof(t->ua[0]));
	t->st.unit_attentions++;
	return ua;
}

/*
 * A full queue drops the newcomer: the initiator still learns that
 * something happened from the queued ones and rescans.
 */
void sim_scsi_target_unit_attention(struct sim_scsi_target *t, uint8_t asc,
				    uint8_t ascq)
{
	if (ua_pending(t, asc, ascq) || t->ua_count == SCSI_UA_MAX)
		return;
	t->ua[t->ua_count].asc = asc;
	t->ua[t->ua_count].ascq = ascq;
	t->ua_count++;
}

/*
 * The reset UA goes first (SAM ranks 29h highest); others stay queued so
 * a LUN inventory change is not lost to a reset racing it.
 */
void sim_scsi_target_reset(struct sim_scsi_target *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->ua_count; i++)
		if (t->ua[i].asc != 0x29 || t->ua[i].ascq != 0x00)
			t->ua[n++] = t->ua[i];
	if (n == SCSI_UA_MAX)
		n--;
	memmove(&t->ua[1], &t->ua[0], n * sizeof(t->ua[0]));
	t->ua[0].asc = 0x29;
	t->ua[0].ascq = 0x00;
	t->ua_count = n + 1;
	t->sense_len = 0;
}

/* SPC: every command but these reports a pending UA and fails. */
static bool report_ua(struct sim_scsi_target *t, struct scsi_req *r)
{
	struct scsi_ua ua;
	uint8_t op = r->cdb[0];

	if (!t->ua_count || op == SCSI_OP_INQUIRY ||
	    op == SCSI_OP_REPORT_LUNS || op == SCSI_OP_REQUEST_SENSE)
		return false;
	ua = ua_pop(t);
	scsi_check(t, r, SIM_SCSI_UNIT_ATTENTION,
		   (uint16_t)(ua.asc << 8 | ua.ascq));
	return true;
}

/* ---- the command gate ---- */

/*
 * A data buffer moving the other way than the command's data is a
 * mismatch; an empty buffer never is (allocation length 0, dir NONE).
 */
static bool gate(struct sim_scsi_target *t, struct scsi_req *r,
		 const struct sim_scsi_cmd *cmd, const struct scsi_op **opp)
{
	const struct scsi_op *op;

	if (r->cdb_len == 0) {
		scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST,
			   SCSI_ASC_INVALID_OPCODE);
		return false;
	}
	if (report_ua(t, r))
		return false;
	op = &t->kind_ops->ops[r->cdb[0]];
	if (!op->fn) {
		scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST,
			   SCSI_ASC_INVALID_OPCODE);
		return false;
	}
	if (r->cdb_len < op->cdb_len ||
	    (r->data_len && cmd->dir != (enum sim_scsi_dir)op->dir)) {
		scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST,
			   SCSI_ASC_INVALID_FIELD_CDB);
		return false;
	}
	*opp = op;
	return true;
}

void sim_scsi_target_exec(struct sim_scsi_target *t,
			  const struct sim_scsi_cmd *cmd,
			  struct sim_scsi_result *res)
{
	struct scsi_req r;
	const struct scsi_op *op;

	SIM_ASSERT(t && cmd && res);
	memset(res, 0, sizeof(*res));
	t->st.commands++;
	r.cdb = cmd->cdb;
	r.cdb_len = cmd->cdb ? cmd->cdb_len : 0;
	r.data = cmd->data;
	r.data_len = cmd->data ? cmd->data_len : 0;
	r.res = res;
	if (!gate(t, &r, cmd, &op))
		return;
	op->fn(t, &r);
	/* Sense describes the last command only (as QEMU keeps it). */
	if (res->status == SIM_SCSI_GOOD)
		t->sense_len = 0;
	SIM_ASSERT(res->transferred <= r.data_len);
	SIM_ASSERT(res->sense_len <= SIM_SCSI_SENSE_MAX);
}

/* ---- SPC commands both kinds share ---- */

void scsi_op_good(struct sim_scsi_target *t, struct scsi_req *r)
{
}

void scsi_op_request_sense(struct sim_scsi_target *t, struct scsi_req *r)
{
	uint8_t buf[SCSI_SENSE_FIXED_LEN];
	struct scsi_ua ua;

	if (r->cdb[1] & 0x01) { /* DESC: we only have fixed format */
		scsi_bad_field(t, r, 1);
		return;
	}
	if (t->sense_len) {
		memcpy(buf, t->sense, sizeof(buf));
	} else if (t->ua_count) {
		/* SPC: REQUEST SENSE hands over a pending UA and clears it. */
		ua = ua_pop(t);
		sim_scsi_sense_fixed(buf, SIM_SCSI_UNIT_ATTENTION, ua.asc,
				     ua.ascq);
	} else {
		sim_scsi_sense_fixed(buf, SIM_SCSI_NO_SENSE, 0, 0);
	}
	t->sense_len = 0;
	scsi_reply(r, buf, sizeof(buf), r->cdb[4]);
}

void scsi_op_report_luns(struct sim_scsi_target *t, struct scsi_req *r)
{
	uint8_t buf[16];
	uint8_t select = r->cdb[2];

	if (select > 0x02) {
		scsi_bad_field(t, r, 2);
		return;
	}
	memset(buf, 0, sizeof(buf));
	/* LUN 0 only; select 01h asks for well-known LUs, of which none. */
	scsi_put32(buf, select == 0x01 ? 0 : 8);
	scsi_reply(r, buf, select == 0x01 ? 8 : 16, scsi_get32(r->cdb + 6));
}

static void put_padded(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strlen(src);

	memset(dst, ' ', width);
	memcpy(dst, src, n < width ? n : width);
}

static size_t inquiry_std(const struct sim_scsi_target *t, uint8_t *buf)
{
	memset(buf, 0, 36);
	buf[0] = t->kind_ops->peripheral_type; /* qualifier 0: connected */
	buf[1] = t->kind_ops->removable ? 0x80 : 0;
	buf[2] = 0x06; /* SPC-4 */
	buf[3] = 0x02; /* response data format */
	buf[4] = 36 - 5;
	buf[7] = 0x02; /* CMDQUE: the backend may queue several commands */
	put_padded(buf + 8, t->vendor, 8);
	put_padded(buf + 16, t->product, 16);
	put_padded(buf + 32, "0001", 4);
	return 36;
}

static size_t vpd_supported(const struct sim_scsi_target *t, uint8_t *buf)
{
	static const uint8_t common[] = {0x00, 0x80, 0x83};
	const struct scsi_kind *k = t->kind_ops;

	memcpy(buf + 4, common, sizeof(common));
	if (k->vpd_extra_len) /* memcpy from NULL is undefined even for 0 */
		memcpy(buf + 4 + sizeof(common), k->vpd_extra,
		       k->vpd_extra_len);
	return 4 + sizeof(common) + k->vpd_extra_len;
}

static size_t vpd_serial(const struct sim_scsi_target *t, uint8_t *buf)
{
	size_t n = strlen(t->serial);

	memcpy(buf + 4, t->serial, n);
	return 4 + n;
}

/* NAA 6 from the serial, then a T10 vendor id: vendor, product, serial. */
static size_t vpd_devid(const struct sim_scsi_target *t, uint8_t *buf)
{
	uint8_t *d = buf + 4;
	size_t n = strlen(t->serial);

	d[0] = 0x01; /* binary */
	d[1] = 0x03; /* logical unit, NAA */
	d[2] = 0;
	d[3] = sizeof(t->naa);
	memcpy(d + 4, t->naa, sizeof(t->naa));
	d += 4 + sizeof(t->naa);
	d[0] = 0x02; /* ASCII */
	d[1] = 0x01; /* logical unit, T10 vendor identification */
	d[2] = 0;
	d[3] = (uint8_t)(8 + 16 + n);
	put_padded(d + 4, t->vendor, 8);
	put_padded(d + 12, t->product, 16);
	memcpy(d + 28, t->serial, n);
	d += 28 + n;
	return (size_t)(d - buf);
}

/* Length of the page built in buf, 0 when the unit has no such page. */
static size_t inquiry_vpd(const struct sim_scsi_target *t, uint8_t page,
			  uint8_t *buf)
{
	size_t len;

	memset(buf, 0, SCSI_REPLY_MAX);
	if (page == 0x00)
		len = vpd_supported(t, buf);
	else if (page == 0x80)
		len = vpd_serial(t, buf);
	else if (page == 0x83)
		len = vpd_devid(t, buf);
	else
		len = t->kind_ops->vpd_page(t, page, buf);
	if (!len)
		return 0;
	SIM_ASSERT(len >= 4 && len <= SCSI_REPLY_MAX);
	buf[0] = t->kind_ops->peripheral_type;
	buf[1] = page;
	scsi_put16(buf + 2, (uint16_t)(len - 4));
	return len;
}

void scsi_op_inquiry(struct sim_scsi_target *t, struct scsi_req *r)
{
	uint8_t buf[SCSI_REPLY_MAX];
	size_t len;

	if (r->cdb[1] & 0x02) { /* CMDDT, obsolete */
		scsi_bad_field(t, r, 1);
		return;
	}
	if (!(r->cdb[1] & 0x01)) {
		if (r->cdb[2]) {
			scsi_bad_field(t, r, 2);
			return;
		}
		len = inquiry_std(t, buf);
	} else {
		len = inquiry_vpd(t, r->cdb[2], buf);
		if (!len) {
			scsi_bad_field(t, r, 2);
			return;
		}
	}
	scsi_reply(r, buf, len, scsi_get16(r->cdb + 3));
}

/* SBC short (8 bytes) or long LBA (16 bytes) block descriptor. */
static size_t block_descriptor(const struct sim_scsi_target *t, uint8_t *d,
			       bool long_lba)
{
	if (long_lba) {
		scsi_put64(d, t->blocks);
		scsi_put32(d + 12, t->block_size);
		return 16;
	}
	scsi_put32(d,
		   t->blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)t->blocks);
	scsi_put32(d + 4, t->block_size & 0xffffff); /* byte 4 reserved */
	return 8;
}

/* Pages after the header and descriptor; 0 for a page we lack. */
static size_t mode_pages(const struct sim_scsi_target *t, uint8_t page,
			 bool changeable, uint8_t *buf)
{
	const struct scsi_kind *k = t->kind_ops;
	size_t i, len = 0;

	if (page != 0x3f)
		return k->mode_page(t, page, changeable, buf);
	for (i = 0; i < k->mode_pages_len; i++)
		len += k->mode_page(t, k->mode_pages[i], changeable, buf + len);
	return len;
}

/*
 * MODE SENSE(6) and (10). Page control: current and default are the same
 * values, changeable ones are all zero (MODE SELECT is not supported),
 * saved values do not exist.
 */
void scsi_op_mode_sense(struct sim_scsi_target *t, struct scsi_req *r)
{
	const uint8_t *cdb = r->cdb;
	bool ten = cdb[0] == SCSI_OP_MODE_SENSE_10;
	bool long_lba = ten && (cdb[1] & 0x10);
	uint8_t pc = cdb[2] >> 6, page = cdb[2] & 0x3f;
	uint8_t buf[SCSI_REPLY_MAX];
	size_t hdr = ten ? 8 : 4, bd = 0, pages;

	if (pc == 3) {
		scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST,
			   SCSI_ASC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (cdb[3] && !(page == 0x3f && cdb[3] == 0xff)) {
		scsi_bad_field(t, r, 3); /* no subpages */
		return;
	}
	memset(buf, 0, sizeof(buf));
	if (t->kind_ops->block_descriptor && !(cdb[1] & 0x08))
		bd = block_descriptor(t, buf + hdr, long_lba);
	pages = mode_pages(t, page, pc == 1, buf + hdr + bd);
	if (!pages) {
		scsi_bad_field(t, r, 2);
		return;
	}
	SIM_ASSERT(hdr + bd + pages <= 0xff);
	/* Disk device-specific parameter: WP, DPOFUA (writes are synced). */
	if (t->kind == SIM_SCSI_DISK)
		buf[ten ? 3 : 2] = (t->read_only ? 0x80 : 0) | 0x10;
	if (ten) {
		scsi_put16(buf, (uint16_t)(hdr + bd + pages - 2));
		buf[4] = bd == 16; /* LONGLBA */
		scsi_put16(buf + 6, (uint16_t)bd);
	} else {
		buf[0] = (uint8_t)(hdr + bd + pages - 1);
		buf[3] = (uint8_t)bd;
	}
	scsi_reply(r, buf, hdr + bd + pages,
		   ten ? scsi_get16(cdb + 7) : cdb[4]);
}

/* ---- block I/O on the image ---- */

static bool xfer_ok(struct sim_scsi_target *t, struct scsi_req *r,
		    uint64_t nblocks)
{
	if (nblocks <= SCSI_MAX_XFER_BYTES / t->block_size)
		return true;
	scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
	return false;
}

/* Overflow-safe: lba + nblocks is never computed. */
bool scsi_lba_in_range(struct sim_scsi_target *t, struct scsi_req *r,
		       uint64_t lba, uint64_t nblocks)
{
	if (nblocks <= t->blocks && lba <= t->blocks - nblocks)
		return true;
	if (lba <= UINT32_MAX)
		scsi_check_info(t, r, SIM_SCSI_ILLEGAL_REQUEST,
				SCSI_ASC_LBA_OUT_OF_RANGE, (uint32_t)lba);
	else
		scsi_check(t, r, SIM_SCSI_ILLEGAL_REQUEST,
			   SCSI_ASC_LBA_OUT_OF_RANGE);
	return false;
}

/* Bytes moved; fewer than len only on an I/O error or a shrunk image. */
static size_t image_io(int fd, bool write, uint8_t *buf, size_t len,
		       uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (write)
			n = pwrite(fd, buf + done, len - done,
				   (off_t)(off + done));
		else
			n = pread(fd, buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/*
 * A buffer shorter than the CDB's transfer is an underrun, not an error:
 * the first data_len bytes are read, the rest of the range is not, and
 * transferred tells the backend the residual. A longer one is an overrun
 * and moves only what the CDB asks for.
 */
void scsi_block_read(struct sim_scsi_target *t, struct scsi_req *r,
		     uint64_t lba, uint64_t nblocks)
{
	uint64_t want;
	size_t len, done;

	if (!xfer_ok(t, r, nblocks) || !scsi_lba_in_range(t, r, lba, nblocks))
		return;
	want = nblocks * t->block_size;
	len = want < r->data_len ? (size_t)want : r->data_len;
	done = image_io(t->fd, false, r->data, len, lba * t->block_size);
	r->res->transferred = (uint32_t)done;
	t->st.bytes_read += done;
	if (done < len) {
		scsi_check(t, r, SIM_SCSI_MEDIUM_ERROR,
			   SCSI_ASC_UNRECOVERED_READ);
		return;
	}
	t->st.reads++;
}

/*
 * Writes take whole blocks only: with a short buffer the blocks it fully
 * holds are written and the command is GOOD with transferred covering
 * them, so the residual tells the initiator what did not reach the medium.
 * Each pwrite has returned before the answer, so every completed write is
 * on the image.
 */
void scsi_block_write(struct sim_scsi_target *t, struct scsi_req *r,
		      uint64_t lba, uint64_t nblocks)
{
	uint64_t whole;
	size_t len, done;

	if (!xfer_ok(t, r, nblocks) || !scsi_lba_in_range(t, r, lba, nblocks))
		return;
	if (t->read_only) {
		scsi_check(t, r, SIM_SCSI_DATA_PROTECT,
			   SCSI_ASC_WRITE_PROTECTED);
		return;
	}
	whole = r->data_len / t->block_size;
	if (whole > nblocks)
		whole = nblocks;
	len = (size_t)(whole * t->block_size);
	done = image_io(t->fd, true, r->data, len, lba * t->block_size);
	r->res->transferred = (uint32_t)done;
	t->st.bytes_written += done;
	if (done < len) {
		scsi_check(t, r, SIM_SCSI_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
		return;
	}
	t->st.writes++;
}

/* ---- open and close ---- */

/* Returns rc after putting the message in err (when there is one). */
__attribute__((format(printf, 4, 5))) static int
fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint64_t fnv1a64(uint64_t h, const char *s)
{
	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull

/* SPC identification strings: printable ASCII that fits its field. */
static bool id_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static int set_identity(struct sim_scsi_target *t,
			const struct sim_scsi_target_config *cfg, char *err,
			size_t errlen)
{
	const char *vendor = cfg->vendor ? cfg->vendor : "XPV";
	const char *product =
	    cfg->product ? cfg->product : t->kind_ops->product;
	const char *base = strrchr(cfg->image, '/');
	uint64_t hi, lo;

	if (!id_ok(vendor, 8) || !id_ok(product, 16) ||
	    (cfg->serial && !id_ok(cfg->serial, SCSI_SERIAL_MAX)))
		return fail(-EINVAL, err, errlen,
			    "scsi target %s: vendor, product or serial too "
			    "long, empty or not printable ASCII",
			    cfg->image);
	strcpy(t->vendor, vendor);
	strcpy(t->product, product);
	/* No serial: one from the image's name, stable across runs. */
	if (cfg->serial)
		strcpy(t->serial, cfg->serial);
	else
		snprintf(t->serial, sizeof(t->serial), "%016llx",
			 (unsigned long long)fnv1a64(
			     FNV_OFFSET, base ? base + 1 : cfg->image));
	/* NAA 6: 4-bit NAA, 24-bit OUI, 100 bits hashed from the serial. */
	hi = fnv1a64(FNV_OFFSET, t->serial);
	lo = fnv1a64(hi, "/naa-extension");
	scsi_put64(t->naa,
		   6ull << 60 | SCSI_NAA_OUI << 36 | (hi & 0xfffffffffull));
	scsi_put64(t->naa + 8, lo);
	return 0;
}

static int check_config(const struct sim_scsi_target_config *cfg, uint32_t *bs,
			char *err, size_t errlen)
{
	*bs = cfg->block_size;
	if (!cfg->image)
		return fail(-EINVAL, err, errlen, "scsi target: no image path");
	if (cfg->kind == SIM_SCSI_DISK) {
		if (!*bs)
			*bs = 512;
		if (*bs != 512 && *bs != 4096)
			return fail(-EINVAL, err, errlen,
				    "scsi disk %s: block size %u is not 512 "
				    "or 4096",
				    cfg->image, *bs);
		if (cfg->create_size % *bs)
			return fail(-EINVAL, err, errlen,
				    "scsi disk %s: create size %llu is not a "
				    "multiple of %u",
				    cfg->image,
				    (unsigned long long)cfg->create_size, *bs);
		return 0;
	}
	if (cfg->kind != SIM_SCSI_CDROM)
		return fail(-EINVAL, err, errlen,
			    "scsi target %s: unknown kind %d", cfg->image,
			    (int)cfg->kind);
	if (!*bs)
		*bs = 2048;
	if (*bs != 2048 || cfg->create_size)
		return fail(-EINVAL, err, errlen,
			    "scsi cdrom %s: needs 2048-byte blocks and an "
			    "existing image",
			    cfg->image);
	return 0;
}

/* Open, or create sparse with ftruncate: no block is allocated. */
static int open_image(struct sim_scsi_target *t,
		      const struct sim_scsi_target_config *cfg, char *err,
		      size_t errlen)
{
	int flags = t->read_only ? O_RDONLY : O_RDWR;
	int fd, rc;

	fd = open(cfg->image, flags | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && cfg->create_size) {
		fd = open(cfg->image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644);
		if (fd >= 0 && ftruncate(fd, (off_t)cfg->create_size) < 0) {
			rc = -errno;
			close(fd);
			unlink(cfg->image);
			return fail(rc, err, errlen,
				    "scsi target %s: cannot size image: %s",
				    cfg->image, strerror(-rc));
		}
	}
	if (fd < 0) {
		rc = -errno;
		return fail(rc, err, errlen,
			    "scsi target %s: cannot open image: %s", cfg->image,
			    strerror(-rc));
	}
	t->fd = fd;
	return 0;
}

/* Capacity from the image; a block device reports it through lseek. */
static int size_image(struct sim_scsi_target *t, const char *image, char *err,
		      size_t errlen)
{
	off_t size = lseek(t->fd, 0, SEEK_END);

	if (size <= 0 || (uint64_t)size % t->block_size)
		return fail(-EINVAL, err, errlen,
			    "scsi target %s: image size %lld is not a "
			    "non-zero multiple of %u bytes",
			    image, (long long)size, t->block_size);
	t->blocks = (uint64_t)size / t->block_size;
	return 0;
}

int sim_scsi_target_open(const struct sim_scsi_target_config *cfg,
			 struct sim_scsi_target **out, char *err, size_t errlen)
{
	struct sim_scsi_target *t;
	uint32_t bs;
	int rc;

	SIM_ASSERT(cfg && out);
	*out = NULL;
	rc = check_config(cfg, &bs, err, errlen);
	if (rc)
		return rc;
	t = sim_xcalloc(1, sizeof(*t));
	t->kind = cfg->kind;
	t->kind_ops =
	    cfg->kind == SIM_SCSI_DISK ? &scsi_disk_kind : &scsi_cdrom_kind;
	t->block_size = bs;
	t->read_only = cfg->read_only || cfg->kind == SIM_SCSI_CDROM;
	t->fd = -1;
	rc = set_identity(t, cfg, err, errlen);
	if (!rc)
		rc = open_image(t, cfg, err, errlen);
	if (!rc)
		rc = size_image(t, cfg->image, err, errlen);
	if (rc) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return rc;
	}
	sim_scsi_target_unit_attention(t, 0x29, 0x00); /* power on */
	*out = t;
	return 0;
}

void sim_scsi_target_close(struct sim_scsi_target *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}

enum sim_scsi_kind sim_scsi_target_kind(const struct sim_scsi_target *t)
{
	return t->kind;
}

uint64_t sim_scsi_target_blocks(const struct sim_scsi_target *t)
{
	return t->blocks;
}

uint32_t sim_scsi_target_block_size(const struct sim_scsi_target *t)
{
	return t->block_size;
}

void sim_scsi_target_stats(const struct sim_scsi_target *t,
			   struct sim_scsi_target_stats *st)
{
	*st = t->st;
}
