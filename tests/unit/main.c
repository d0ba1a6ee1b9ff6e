/*
 * main.c - the unit test runner: registers one CUnit suite per common/
 * module and per program parser, runs them all with the basic interface
 * and ends with the line "unit: P passed, F failed" (counting tests) that
 * the test driver reads.
 *
 * Trusts: the suites to clean up their temporary directories.
 * Never: exits 0 when a test, a suite set-up or a registration failed.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>

#include "suites.h"

static CU_ErrorCode (*const suites[])(void) = {
    suite_cidr,	suite_log,
    suite_config,	suite_queue_id, suite_addr,   suite_ipc,
    suite_queue_file,	suite_db,	suite_fsutil, suite_cleanup_headers,
    suite_mailbox_path, suite_smtpd,	suite_qmgr_dest,
    suite_remote,	suite_resolver,	suite_map,	suite_srs,
    suite_resolve,	suite_sasl,	suite_passwd,	suite_auth_limit,
    suite_tlsproxy_client,
    suite_local_targets,
    suite_smtpd_vrfy,
    suite_alias_walk,
    suite_tlsa,
    suite_stats,
    suite_cleanup_client,
    suite_access,
    suite_smtpd_body,
    suite_fsync_pair,
    suite_mime_downgrade,
    suite_smtp_auth,
    suite_maildir_quota,
};

int
main(void)
{
	unsigned run = 0, failed = 0, suites_failed = 0;
	int setup_bad = 0;

	/* a test that breaks a pipe must fail, not kill the runner */
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "unit: %s\n", CU_get_error_msg());
		printf("unit: 0 passed, 0 failed\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (suites[i]() != CUE_SUCCESS) {
			fprintf(stderr, "unit: registering a suite: %s\n",
				CU_get_error_msg());
			setup_bad = 1;
		}
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		setup_bad = 1;
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (suites_failed > 0)
		setup_bad = 1;
	printf("unit: %u passed, %u failed\n", run - failed, failed);
	return failed > 0 || setup_bad ? 1 : 0;
}
