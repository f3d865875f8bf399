// SPDX-License-Identifier: GPL-2.0
/*
 * harness_selftest: a deliberately failing test, built only by
 * `make check-harness`, to prove that a failure is reported as a failure.
 * "pass" must pass, "fail" must fail, "skip" must skip; the binary must
 * exit 98. `make check-harness` also loads the test-only cf_warn module, whose
 * WARN must fail the run: it closes with 2 failed and a non-zero status.
 */
#include "igt.h"

igt_main
{
	igt_subtest("pass")
		igt_assert_eq(1 + 1, 2);
	igt_subtest("fail")
		igt_assert_eq(1 + 1, 3);
	igt_subtest("skip")
		igt_require(0);
}
