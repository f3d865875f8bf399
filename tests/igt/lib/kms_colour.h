/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CRTC colour pipeline (DEGAMMA_LUT, CTM, GAMMA_LUT) in the reference
 * composer: the arithmetic of Documentation/vkms.rst, "Colour", written
 * independently of vkms_composer.c, and the blobs and properties that set
 * it.
 */
#ifndef CROSSFENCE_KMS_COLOUR_H
#define CROSSFENCE_KMS_COLOUR_H

#include <stddef.h>
#include <stdint.h>
#include <drm_mode.h>

#include "kms.h"

/* What vkms offers (its DEGAMMA_LUT_SIZE and GAMMA_LUT_SIZE). */
#define KMS_DEGAMMA_SIZE 1024
#define KMS_GAMMA_SIZE 256

/* A pipeline; a NULL stage is left out. */
struct kms_colour {
	const struct drm_color_lut *degamma;
	int ndegamma;
	const struct drm_color_ctm *ctm;
	const struct drm_color_lut *gamma;
	int ngamma;
};

/* Run @c over @n blended pixels, in place. */
void kms_ref_colour(struct kms_px *px, size_t n, const struct kms_colour *c);
/* The CRC of the frame of @layers with @c applied (NULL: none). */
uint32_t kms_ref_crc_colour(const struct kms_layer *layers, int n, int w,
			    int h, const struct kms_colour *c);

/* A S31.32 sign-magnitude CTM coefficient of value @num / @den. */
uint64_t kms_ctm_coef(int64_t num, int64_t den);

/* A blob of @len bytes of @data on @fd; its id. */
uint32_t kms_blob_create(int fd, const void *data, size_t len);

#endif
