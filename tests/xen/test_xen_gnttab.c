/*
 * Grant table v1 and its ledger: every rule a frontend or a backend model
 * can break, checked through the public API, with the v1 entry itself
 * inspected (white box, xen_impl.h) where the GTF flags are the point.
 */
#include <string.h>

#include "sim/xen/xen_impl.h"
#include "xen_test.h"

static uint16_t entry_flags(const struct xt *t, uint32_t ref)
{
	return sim_gnttab_entry(t->guest->gt, ref)->flags;
}

/* Claim a ref and grant a fresh page of the guest to dom0. */
static uint32_t grant_new(struct xt *t, struct sim_page **pg, bool readonly)
{
	*pg = sim_page_alloc(t->guest);
	ck_assert_ptr_nonnull(*pg);
	return xt_grant(t->guest, SIM_DOMID_DOM0, *pg, readonly);
}

/* dom0 maps the guest's ref; the map must be made. */
static struct sim_grant_map *dom0_map(struct xt *t, uint32_t ref,
				      bool writable)
{
	struct sim_grant_map *map = NULL;

	ck_assert_int_eq(sim_gnttab_map(t->dom0, GUEST_ID, ref, writable, &map),
			 0);
	ck_assert_ptr_nonnull(map);
	return map;
}

/*
 * Where the tests of a busy grant start: a fresh guest page granted
 * read-write to dom0, and dom0's mapping of it.
 */
struct mapped {
	struct xt t;
	struct sim_page *pg;
	uint32_t ref;
	struct sim_grant_map *map;
};

static void mapped_init(struct mapped *m, bool writable)
{
	xt_init(&m->t);
	m->ref = grant_new(&m->t, &m->pg, false);
	m->map = dom0_map(&m->t, m->ref, writable);
}

static struct sim_gnttab_stats stats(const struct xt *t)
{
	struct sim_gnttab_stats st;

	sim_gnttab_stats(t->guest, &st);
	return st;
}

START_TEST(test_grant_map_unmap)
{
	struct xt t;
	struct sim_page *pg;
	struct sim_grant_map *map;
	uint32_t ref;
	uint64_t records;

	xt_init(&t);
	records = sim_trace_records(t.sim);
	ref = grant_new(&t, &pg, false);
	ck_assert_uint_ge(ref, 8);
	ck_assert_uint_eq(sim_gnttab_entry(t.guest->gt, ref)->domid,
			  SIM_DOMID_DOM0);
	ck_assert_uint_eq(sim_gnttab_entry(t.guest->gt, ref)->frame,
			  sim_page_gfn(pg));
	ck_assert_uint_eq(entry_flags(&t, ref), GTF_permit_access);
	map = dom0_map(&t, ref, true);
	ck_assert_ptr_eq(sim_grant_map_addr(map), sim_page_data(pg));
	ck_assert(sim_grant_map_writable(map));
	/* Xen marks the entry while the peer maps it. */
	ck_assert_uint_eq(entry_flags(&t, ref),
			  GTF_permit_access | GTF_reading | GTF_writing);
	ck_assert_uint_eq(stats(&t).active, 1);
	ck_assert_uint_eq(stats(&t).mapped, 1);
	ck_assert_uint_eq(stats(&t).maps, 1);
	ck_assert_uint_eq(stats(&t).grants, 1);
	/* The backend writes through its mapping; the guest sees it. */
	memcpy(sim_grant_map_addr(map), "xpv", 4);
	ck_assert_str_eq(sim_page_data(pg), "xpv");
	sim_gnttab_unmap(map);
	ck_assert_uint_eq(entry_flags(&t, ref), GTF_permit_access);
	ck_assert_uint_eq(stats(&t).mapped, 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	ck_assert_uint_eq(entry_flags(&t, ref), 0);
	ck_assert_uint_eq(stats(&t).active, 0);
	ck_assert_uint_eq(stats(&t).ends, 1);
	/* Grant, map, unmap and end are all in the run's trace. */
	ck_assert_uint_ge(sim_trace_records(t.sim), records + 4);
	sim_page_free(pg);
	xt_fini_clean(&t);
}
END_TEST

START_TEST(test_readonly_refuses_writable_map)
{
	struct xt t;
	struct sim_page *pg;
	struct sim_grant_map *map = NULL;
	uint32_t ref;

	xt_init(&t);
	ref = grant_new(&t, &pg, true);
	ck_assert_uint_eq(entry_flags(&t, ref),
			  GTF_permit_access | GTF_readonly);
	ck_assert_int_eq(sim_gnttab_map(t.dom0, GUEST_ID, ref, true, &map),
			 -EACCES);
	ck_assert_ptr_null(map);
	ck_assert_uint_eq(stats(&t).map_refusals, 1);
	map = dom0_map(&t, ref, false);
	ck_assert(!sim_grant_map_writable(map));
	/* A read-only mapping sets reading only. */
	ck_assert_uint_eq(entry_flags(&t, ref), GTF_permit_access |
					 GTF_readonly | GTF_reading);
	sim_gnttab_unmap(map);
	ck_assert_uint_eq(entry_flags(&t, ref),
			  GTF_permit_access | GTF_readonly);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_flags_follow_last_unmap)
{
	struct xt t;
	struct sim_page *pg;
	struct sim_grant_map *ro, *rw;
	uint32_t ref;

	xt_init(&t);
	ref = grant_new(&t, &pg, false);
	ro = dom0_map(&t, ref, false);
	rw = dom0_map(&t, ref, true);
	sim_gnttab_unmap(rw);
	/* Writing goes with the last writable mapping, reading stays. */
	ck_assert_uint_eq(entry_flags(&t, ref),
			  GTF_permit_access | GTF_reading);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), -EBUSY);
	sim_gnttab_unmap(ro);
	ck_assert_uint_eq(entry_flags(&t, ref), GTF_permit_access);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_wrong_peer_refused)
{
	struct xt t;
	struct sim_domain *dom2;
	struct sim_page *pg;
	struct sim_grant_map *map = NULL;
	uint8_t buf[4];
	uint32_t ref;

	xt_init(&t);
	ck_assert_int_eq(sim_domain_create(t.sim, 2, "other", &dom2), 0);
	ref = grant_new(&t, &pg, false);
	ck_assert_int_eq(sim_gnttab_map(dom2, GUEST_ID, ref, false, &map),
			 -EACCES);
	ck_assert_int_eq(sim_gnttab_copy(dom2, GUEST_ID, ref, 0, buf, 4, false),
			 -EACCES);
	ck_assert_ptr_null(map);
	ck_assert_uint_eq(stats(&t).map_refusals, 2);
	ck_assert_uint_eq(stats(&t).maps, 0);
	/* No such granter at all. */
	ck_assert_int_eq(sim_gnttab_map(t.dom0, 77, ref, false, &map), -ESRCH);
	ck_assert_int_eq(sim_gnttab_map(t.dom0, GUEST_ID, SIM_GNTTAB_ENTRIES,
					false, &map), -EINVAL);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	sim_domain_destroy(dom2);
	xt_fini(&t);
}
END_TEST

START_TEST(test_map_of_ended_ref_refused_and_counted)
{
	struct xt t;
	struct sim_page *pg;
	struct sim_grant_map *map = NULL;
	uint8_t buf[4];
	uint32_t ref, never;

	xt_init(&t);
	ref = grant_new(&t, &pg, false);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	ck_assert_int_eq(sim_gnttab_map(t.dom0, GUEST_ID, ref, false, &map),
			 -ENOENT);
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref, 0, buf, 4,
					 false), -ENOENT);
	ck_assert_ptr_null(map);
	ck_assert_uint_eq(stats(&t).access_after_end, 2);
	/* A ref that was never granted is refused but is not "after end". */
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &never), 0);
	ck_assert_uint_eq(never, ref); /* lowest free ref is reused */
	ck_assert_int_eq(sim_gnttab_map(t.dom0, GUEST_ID, ref + 1, false, &map),
			 -ENOENT);
	ck_assert_uint_eq(stats(&t).access_after_end, 2);
	ck_assert_uint_eq(stats(&t).map_refusals, 3);
	/* Ending twice is not an active grant. */
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), -EINVAL);
	sim_gnttab_release(t.guest, never);
	sim_page_free(pg);
	xt_fini_clean(&t);
}
END_TEST

START_TEST(test_try_end_while_mapped_busy)
{
	struct mapped m;

	mapped_init(&m, true);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), -EBUSY);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), -EBUSY);
	/* Nothing changed: the entry is intact and the peer keeps access. */
	ck_assert_uint_eq(entry_flags(&m.t, m.ref),
			  GTF_permit_access | GTF_reading | GTF_writing);
	ck_assert_uint_eq(stats(&m.t).revoke_while_mapped, 2);
	ck_assert_uint_eq(stats(&m.t).ends, 0);
	ck_assert_uint_eq(stats(&m.t).active, 1);
	sim_gnttab_unmap(m.map);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), 0);
	ck_assert_uint_eq(stats(&m.t).ends, 1);
	sim_page_free(m.pg);
	xt_fini_clean(&m.t);
}
END_TEST

START_TEST(test_leak_reported_at_audit)
{
	struct xt t;
	struct sim_page *pg[3];
	uint32_t ref[3];

	xt_init(&t);
	for (int i = 0; i < 3; i++)
		ref[i] = grant_new(&t, &pg[i], i == 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref[1]), 0);
	sim_page_free(pg[1]);
	sim_domain_audit(t.guest, "test");
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_LEAK), 2);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_PAGE_LEAK), 2);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_EVTCHN_LEAK), 0);
	/* Destroy audits once more, then frees (LeakSanitizer is the judge). */
	sim_domain_destroy(t.guest);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_LEAK), 4);
	ck_assert_ptr_null(sim_domain_get(t.sim, GUEST_ID));
	xt_fini(&t);
}
END_TEST

START_TEST(test_quarantine_reported_apart)
{
	struct mapped m;

	mapped_init(&m, true);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), -EBUSY);
	sim_page_quarantine(m.pg);
	ck_assert_uint_eq(stats(&m.t).quarantined, 1);
	ck_assert_uint_eq(stats(&m.t).active, 1);
	sim_domain_audit(m.t.guest, "test");
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_GRANT_LEAK), 0);
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_PAGE_LEAK), 0);
	/* The backend still holds its mapping when the guest dies: the
	 * frame must outlive the guest until the unmap. */
	sim_domain_destroy(m.t.guest);
	ck_assert_uint_eq(sim_violations_total(m.t.sim), 0);
	memset(sim_grant_map_addr(m.map), 0xa5, 4096);
	sim_gnttab_unmap(m.map);
	xt_fini(&m.t);
}
END_TEST

START_TEST(test_quarantine_freed_at_teardown)
{
	struct mapped m;

	/* Quarantined frame, still mapped, never unmapped: sim_destroy
	 * frees it all without a report (checked by LeakSanitizer). */
	mapped_init(&m, true);
	sim_page_quarantine(m.pg);
	xt_fini_clean(&m.t);
}
END_TEST

START_TEST(test_zombie_frame_freed_at_teardown)
{
	struct mapped m;

	/* The guest dies while dom0 maps its frame, and dom0 never unmaps:
	 * sim_destroy must still free the frame (LeakSanitizer). */
	mapped_init(&m, true);
	sim_domain_destroy(m.t.guest);
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_GRANT_LEAK), 1);
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_PAGE_LEAK), 1);
	/* No longer a tracked frame, but the mapping is still usable. */
	ck_assert_ptr_null(sim_page_lookup(m.t.sim, sim_grant_map_addr(m.map)));
	memset(sim_grant_map_addr(m.map), 0, 4096);
	xt_fini(&m.t);
}
END_TEST

START_TEST(test_free_granted_page)
{
	struct xt t;
	struct sim_page *pg;
	uint32_t ref;

	xt_init(&t);
	ref = grant_new(&t, &pg, true);
	sim_page_free(pg);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_FREE_GRANTED), 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_REVOKE_REUSE), 0);
	/* The frame was kept: still looked up, still granted. */
	ck_assert_ptr_eq(sim_page_lookup(t.sim, sim_page_data(pg)), pg);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_FREE_GRANTED), 1);
	xt_fini(&t);
}
END_TEST

START_TEST(test_free_after_failed_revoke)
{
	struct mapped m;

	mapped_init(&m, false);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), -EBUSY);
	sim_page_free(m.pg); /* XSA-396: the frontend ignored the failure */
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_GRANT_REVOKE_REUSE), 1);
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_GRANT_FREE_GRANTED), 0);
	/* The peer's mapping still points at a live frame. */
	ck_assert_ptr_eq(sim_page_lookup(m.t.sim, sim_grant_map_addr(m.map)),
			 m.pg);
	sim_gnttab_unmap(m.map);
	xt_fini(&m.t);
}
END_TEST

START_TEST(test_regrant_after_failed_revoke)
{
	struct mapped m;

	mapped_init(&m, false);
	ck_assert_int_eq(sim_gnttab_try_end(m.t.guest, m.ref), -EBUSY);
	/* The grant itself is made; the reuse is reported. */
	xt_grant(m.t.guest, SIM_DOMID_DOM0, m.pg, true);
	ck_assert_uint_eq(xt_v(&m.t, SIM_CHECK_GRANT_REVOKE_REUSE), 1);
	sim_gnttab_unmap(m.map);
	xt_fini(&m.t);
}
END_TEST

START_TEST(test_rw_grant_of_outbound_page)
{
	struct xt t;
	struct sim_page *pg;
	uint32_t ref;

	xt_init(&t);
	pg = sim_page_alloc(t.guest);
	sim_page_set_outbound(pg, true);
	ref = xt_grant(t.guest, SIM_DOMID_DOM0, pg, true);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_RW_OUTBOUND), 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	/* The last grant ending made the frame private: its contents no
	 * longer count as outbound until the guest says so again. */
	sim_page_set_outbound(pg, true);
	/* The violation is reported and the grant still made. */
	ref = xt_grant(t.guest, SIM_DOMID_DOM0, pg, false);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_RW_OUTBOUND), 1);
	ck_assert_uint_eq(stats(&t).active, 1);
	/* Cleared outbound: RW grants are fine again. */
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_set_outbound(pg, false);
	ref = xt_grant(t.guest, SIM_DOMID_DOM0, pg, false);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_RW_OUTBOUND), 1);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_copy_both_directions)
{
	struct xt t;
	struct sim_page *rw, *ro;
	uint32_t ref_rw, ref_ro;
	static char whole[4096];
	char buf[16] = "from-backend";
	uint8_t *data;

	xt_init(&t);
	ref_rw = grant_new(&t, &rw, false);
	ref_ro = grant_new(&t, &ro, true);
	data = sim_page_data(rw);
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_rw, 4090, buf, 6,
					 true), 0);
	ck_assert_mem_eq(data + 4090, "from-b", 6);
	memcpy(sim_page_data(ro), "outbound", 9);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_ro, 0, buf, 9,
					 false), 0);
	ck_assert_str_eq(buf, "outbound");
	/* Read-only grant: the backend may not write it. */
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_ro, 0, buf, 9,
					 true), -EACCES);
	ck_assert_str_eq(sim_page_data(ro), "outbound");
	/* Past the end of the frame, by one byte. */
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_rw, 4090, buf, 7,
					 false), -EINVAL);
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_rw, 4096, buf, 1,
					 true), -EINVAL);
	ck_assert_int_eq(sim_gnttab_copy(t.dom0, GUEST_ID, ref_rw, 0, whole,
					 4096, false), 0);
	ck_assert_mem_eq(whole + 4090, "from-b", 6);
	ck_assert_uint_eq(stats(&t).map_refusals, 1);
	/* Copies leave no mapping behind: the revoke succeeds at once. */
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref_rw), 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref_ro), 0);
	sim_page_free(rw);
	sim_page_free(ro);
	xt_fini_clean(&t);
}
END_TEST

START_TEST(test_claim_release_exhaustion)
{
	struct xt t;
	struct sim_page *pg;
	uint32_t ref, n = 0;

	xt_init(&t);
	while (sim_gnttab_claim(t.guest, &ref) == 0) {
		ck_assert_uint_ge(ref, 8); /* refs 0-7 are reserved */
		ck_assert_uint_lt(ref, SIM_GNTTAB_ENTRIES);
		n++;
	}
	ck_assert_uint_eq(n, SIM_GNTTAB_ENTRIES - 8);
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &ref), -ENOSPC);
	/* Granting needs a claimed ref; reserved and unclaimed are refused. */
	pg = sim_page_alloc(t.guest);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, 3, 0, pg, true), -EINVAL);
	sim_gnttab_release(t.guest, 100);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, 100, 0, pg, true), -EINVAL);
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &ref), 0);
	ck_assert_uint_eq(ref, 100);
	/* Releasing an unclaimed ref is the contract's bug. */
	sim_gnttab_release(t.guest, 5);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_CONTRACT), 1);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_grant_of_foreign_page_refused)
{
	struct xt t;
	struct sim_page *pg;
	uint32_t ref;

	xt_init(&t);
	pg = sim_page_alloc(t.dom0);
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, ref, 0, pg, true), -EINVAL);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, ref, 0, NULL, true),
			 -EINVAL);
	sim_gnttab_release(t.guest, ref);
	sim_page_free(pg);
	xt_fini_clean(&t);
}
END_TEST

START_TEST(test_mapper_destroyed_drops_mappings)
{
	struct xt t;
	struct sim_domain *dom2;
	struct sim_page *pg;
	struct sim_grant_map *map;
	uint32_t ref;

	xt_init(&t);
	ck_assert_int_eq(sim_domain_create(t.sim, 2, "be2", &dom2), 0);
	pg = sim_page_alloc(t.guest);
	ref = xt_grant(t.guest, 2, pg, false);
	ck_assert_int_eq(sim_gnttab_map(dom2, GUEST_ID, ref, true, &map), 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), -EBUSY);
	/* The backend domain dies: Xen releases its mappings. */
	sim_domain_destroy(dom2);
	ck_assert_uint_eq(entry_flags(&t, ref), GTF_permit_access);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	xt_fini_clean(&t);
}
END_TEST

static Suite *gnttab_suite(void)
{
	Suite *s = suite_create("xen_gnttab");
	TCase *tc = tcase_create("grant");

	tcase_add_test(tc, test_grant_map_unmap);
	tcase_add_test(tc, test_readonly_refuses_writable_map);
	tcase_add_test(tc, test_flags_follow_last_unmap);
	tcase_add_test(tc, test_wrong_peer_refused);
	tcase_add_test(tc, test_map_of_ended_ref_refused_and_counted);
	tcase_add_test(tc, test_try_end_while_mapped_busy);
	tcase_add_test(tc, test_leak_reported_at_audit);
	tcase_add_test(tc, test_quarantine_reported_apart);
	tcase_add_test(tc, test_quarantine_freed_at_teardown);
	tcase_add_test(tc, test_zombie_frame_freed_at_teardown);
	tcase_add_test(tc, test_free_granted_page);
	tcase_add_test(tc, test_free_after_failed_revoke);
	tcase_add_test(tc, test_regrant_after_failed_revoke);
	tcase_add_test(tc, test_rw_grant_of_outbound_page);
	tcase_add_test(tc, test_copy_both_directions);
	tcase_add_test(tc, test_claim_release_exhaustion);
	tcase_add_test(tc, test_grant_of_foreign_page_refused);
	tcase_add_test(tc, test_mapper_destroyed_drops_mappings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(gnttab_suite());
}
