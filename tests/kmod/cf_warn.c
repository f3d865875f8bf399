// SPDX-License-Identifier: GPL-2.0
/*
 * cf_warn: a test-only module whose load prints a WARN, so that the test
 * bed can prove a kernel report fails the run. Built only by
 * `make check-harness`; never part of the default module set.
 */
#include <linux/bug.h>
#include <linux/module.h>
#include <crossfence/version.h>

static int __init cf_warn_init(void)
{
	WARN(1, "cf_warn: deliberate warning for the harness self-test\n");
	return 0;
}

static void __exit cf_warn_exit(void)
{
}

module_init(cf_warn_init);
module_exit(cf_warn_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
MODULE_DESCRIPTION("crossfence test bed: WARN on load (test-only)");
MODULE_AUTHOR("crossfence developers");
