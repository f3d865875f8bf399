/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The version every crossfence module reports (modinfo's "version:"):
 * CROSSFENCE_VERSION comes from the build (see Kbuild, scripts/version);
 * "unknown" where a file is compiled without it.
 */
#ifndef _CROSSFENCE_VERSION_H
#define _CROSSFENCE_VERSION_H

#ifndef CROSSFENCE_VERSION
#define CROSSFENCE_VERSION "unknown"
#endif

#endif /* _CROSSFENCE_VERSION_H */
