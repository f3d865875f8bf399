/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A plane test's set-up, shared by kms_formats and kms_rotation: output
 * 0 lit at @w x @h with a patterned XRGB8888 primary, the two overlays and
 * the cursor named in planes[], each plane's properties back to their
 * defaults (a cleanup undoes it all however the subtest ends); a plane
 * committed from a kms_layer with every property; the CRC checked against
 * the reference composer.
 */
#ifndef CROSSFENCE_KMS_PCTX_H
#define CROSSFENCE_KMS_PCTX_H

#include "kms.h"

struct kms_pctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	int w, h;
	struct kms_fb bg;
	uint32_t planes[3];		/* overlay 0, overlay 1, cursor */
};

void kms_pctx_setup(struct kms_pctx *c, struct kms_dev *dev, int w, int h);
void kms_pctx_teardown(struct kms_pctx *c);
/* The next CRC of the output is that of the @n layers @l composed. */
void kms_pctx_check(struct kms_pctx *c, const struct kms_layer *l, int n,
		    const char *what);
/* Commit @plane showing @l with all its properties; -errno. */
int __kms_pctx_commit_layer(struct kms_pctx *c, uint32_t plane,
			    const struct kms_layer *l, uint32_t flags);
void kms_pctx_commit_layer(struct kms_pctx *c, uint32_t plane,
			   const struct kms_layer *l);
void kms_pctx_plane_off(struct kms_pctx *c, uint32_t plane);

#endif
