/*
 * Helpers the SCSI device-model tests share: run one CDB against a target
 * (every result field poisoned first, so the model must set them all) and
 * check the answer.
 */
#ifndef XPV_TESTS_SCSI_EXEC_H
#define XPV_TESTS_SCSI_EXEC_H

#include <check.h>
#include <string.h>

#include "sim/devices/scsi_target.h"

#define CDB(...)                                                               \
	(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static inline struct sim_scsi_result exec(struct sim_scsi_target *t,
					  const uint8_t *cdb, uint8_t cdb_len,
					  enum sim_scsi_dir dir_, void *data,
					  uint32_t len)
{
	struct sim_scsi_cmd c = {cdb, cdb_len, dir_, data, len};
	struct sim_scsi_result r;

	memset(&r, 0xa5, sizeof(r)); /* exec must set every field */
	sim_scsi_target_exec(t, &c, &r);
	ck_assert_uint_le(r.transferred, len);
	return r;
}

static inline void expect_good(struct sim_scsi_result r)
{
	ck_assert_uint_eq(r.status, SIM_SCSI_GOOD);
	ck_assert_uint_eq(r.sense_len, 0);
}

/* Fixed-format current sense with key, ASC and ASCQ. */
static inline void expect_sense(struct sim_scsi_result r, uint8_t key,
				uint8_t asc, uint8_t ascq)
{
	ck_assert_uint_eq(r.status, SIM_SCSI_CHECK_CONDITION);
	ck_assert_uint_eq(r.sense_len, 18);
	ck_assert_uint_eq(r.sense[0] & 0x7f, 0x70); /* current, fixed */
	ck_assert_uint_eq(r.sense[2] & 0x0f, key);
	ck_assert_uint_eq(r.sense[7], 10); /* additional sense length */
	ck_assert_uint_eq(r.sense[12], asc);
	ck_assert_uint_eq(r.sense[13], ascq);
}

static inline struct sim_scsi_result tur(struct sim_scsi_target *t)
{
	return exec(t, CDB(0x00, 0, 0, 0, 0, 0), SIM_SCSI_DIR_NONE, NULL, 0);
}

#endif /* XPV_TESTS_SCSI_EXEC_H */
