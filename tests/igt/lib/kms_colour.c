// SPDX-License-Identifier: GPL-2.0
/*
 * The reference colour pipeline. See kms_colour.h; the arithmetic is
 * defined in Documentation/vkms.rst and at the top of vkms_composer.c,
 * and this file computes it its own way (64- and 128-bit integers, the
 * rounding written as a division of doubled values, floor division for
 * the CTM spelt out), so that a slip on either side shows as a CRC
 * mismatch.
 */
#include <stdlib.h>
#include <string.h>
#include <xf86drmMode.h>

#include "igt.h"
#include "kms_colour.h"

static uint16_t lut_chan(const struct drm_color_lut *e, int ch)
{
	return ch == 0 ? e->red : ch == 1 ? e->green : e->blue;
}

/*
 * Entry k of an n-entry LUT stands at input k * 65535 / (n - 1); x falls
 * between entries idx and idx + 1, at rem / 65535 of the way. The value
 * is the straight line between them, rounded to the nearest integer.
 */
static uint16_t lut_apply(const struct drm_color_lut *lut, int n, int ch,
			  uint16_t x)
{
	uint64_t pos = (uint64_t)x * (uint64_t)(n - 1);
	uint64_t idx = pos / 65535, rem = pos % 65535;
	uint64_t lo = lut_chan(&lut[idx], ch);
	uint64_t hi = idx + 1 < (uint64_t)n ? lut_chan(&lut[idx + 1], ch) : lo;
	uint64_t num = lo * (65535 - rem) + hi * rem;

	/* nearest of num / 65535: floor((2 num + 65535) / (2 * 65535)) */
	return (uint16_t)((2 * num + 65535) / 131070);
}

/* A coefficient as a signed count of 2^-32, magnitude at most 4096.0. */
static int64_t ctm_value(uint64_t v)
{
	uint64_t mag = v & 0x7fffffffffffffffull;
	const uint64_t max = 4096ull << 32;

	if (mag > max)
		mag = max;
	return (v >> 63) ? -(int64_t)mag : (int64_t)mag;
}

static uint16_t ctm_row(const struct drm_color_ctm *ctm, int row,
			const uint16_t in[3])
{
	const __int128 one = (__int128)1 << 32;
	__int128 sum = one / 2, q;

	for (int j = 0; j < 3; j++)
		sum += (__int128)ctm_value(ctm->matrix[3 * row + j]) * in[j];
	/* floor(sum / 2^32), C's division truncating towards zero */
	q = sum / one;
	if (sum % one < 0)
		q -= 1;
	if (q < 0)
		return 0;
	if (q > 65535)
		return 65535;
	return (uint16_t)q;
}

void kms_ref_colour(struct kms_px *px, size_t n, const struct kms_colour *c)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t v[3] = { px[i].r, px[i].g, px[i].b };

		if (c->degamma)
			for (int ch = 0; ch < 3; ch++)
				v[ch] = lut_apply(c->degamma, c->ndegamma, ch,
						  v[ch]);
		if (c->ctm) {
			uint16_t in[3] = { v[0], v[1], v[2] };

			for (int ch = 0; ch < 3; ch++)
				v[ch] = ctm_row(c->ctm, ch, in);
		}
		if (c->gamma)
			for (int ch = 0; ch < 3; ch++)
				v[ch] = lut_apply(c->gamma, c->ngamma, ch,
						  v[ch]);
		px[i].r = v[0];
		px[i].g = v[1];
		px[i].b = v[2];
	}
}

uint32_t kms_ref_crc_colour(const struct kms_layer *layers, int n, int w,
			    int h, const struct kms_colour *c)
{
	size_t npx = (size_t)w * h;
	struct kms_px *acc = calloc(npx, sizeof(*acc));
	uint32_t *out = malloc(npx * 4);
	uint32_t crc;

	igt_assert(acc && out);
	kms_ref_compose16(acc, w, h, layers, n);
	if (c)
		kms_ref_colour(acc, npx, c);
	kms_ref_output(out, acc, npx);
	crc = kms_crc32(~0u, out, npx * 4);
	free(out);
	free(acc);
	return crc;
}

uint64_t kms_ctm_coef(int64_t num, int64_t den)
{
	uint64_t mag;
	bool neg = (num < 0) != (den < 0);

	igt_assert(den != 0);
	mag = (uint64_t)llabs(num) << 32;
	mag /= (uint64_t)llabs(den);
	return (neg ? 1ull << 63 : 0) | mag;
}

uint32_t kms_blob_create(int fd, const void *data, size_t len)
{
	uint32_t id = 0;

	igt_assert_eq(drmModeCreatePropertyBlob(fd, data, len, &id), 0);
	return id;
}
