// SPDX-License-Identifier: GPL-2.0
/*
 * vkms outputs: the virtual connector with its EDID and modes, the virtual
 * encoder, and the assembly of one output (planes, CRTC, encoder,
 * connector, writeback connector).
 */
#include <linux/bitops.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_state_helper.h>
#include <drm/drm_edid.h>
#include <drm/drm_modes.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_probe_helper.h>

#include "vkms_drv.h"

/*
 * The EDID, built once per output at init: EDID 1.4, digital input, a
 * 1024x768@60 preferred detailed timing, a 3840x2160@30 detailed timing,
 * the monitor name "vkms-N" and range limits wide enough for every mode we
 * list (up to 600 MHz). Established and standard timings add the usual VGA
 * to 1080p modes.
 */
struct vkms_dtd {
	u32 khz;
	u16 hactive, hfront, hsync, hback;
	u16 vactive, vfront, vsync, vback;
	bool hpos, vpos;
};

static void vkms_edid_put_dtd(u8 *d, const struct vkms_dtd *t,
			      u16 width_mm, u16 height_mm)
{
	u16 hblank = t->hfront + t->hsync + t->hback;
	u16 vblank = t->vfront + t->vsync + t->vback;
	u16 clk = t->khz / 10;

	d[0] = clk & 0xff;
	d[1] = clk >> 8;
	d[2] = t->hactive & 0xff;
	d[3] = hblank & 0xff;
	d[4] = ((t->hactive >> 8) << 4) | (hblank >> 8);
	d[5] = t->vactive & 0xff;
	d[6] = vblank & 0xff;
	d[7] = ((t->vactive >> 8) << 4) | (vblank >> 8);
	d[8] = t->hfront & 0xff;
	d[9] = t->hsync & 0xff;
	d[10] = ((t->vfront & 0xf) << 4) | (t->vsync & 0xf);
	d[11] = ((t->hfront >> 8) << 6) | ((t->hsync >> 8) << 4) |
		((t->vfront >> 4) << 2) | (t->vsync >> 4);
	d[12] = width_mm & 0xff;
	d[13] = height_mm & 0xff;
	d[14] = ((width_mm >> 8) << 4) | (height_mm >> 8);
	d[15] = 0;
	d[16] = 0;
	/* digital separate sync, with the sync polarities */
	d[17] = 0x18 | (t->vpos ? 0x04 : 0) | (t->hpos ? 0x02 : 0);
}

static void vkms_edid_put_text(u8 *d, u8 tag, const char *text)
{
	bool ended = false;
	unsigned int i;

	/* up to 13 characters, then a line feed, then spaces */
	memset(d, 0, 5);
	d[3] = tag;
	for (i = 0; i < 13; i++) {
		if (ended) {
			d[5 + i] = ' ';
		} else if (*text) {
			d[5 + i] = *text++;
		} else {
			d[5 + i] = 0x0a;
			ended = true;
		}
	}
}

static void vkms_edid_build(u8 *e, unsigned int index)
{
	static const struct vkms_dtd xga = {
		65000, 1024, 24, 136, 160, 768, 3, 6, 29, false, false
	};
	static const struct vkms_dtd uhd30 = {
		297000, 3840, 176, 88, 296, 2160, 8, 10, 72, true, true
	};
	/* sRGB primaries and white point */
	static const u8 chroma[10] = {
		0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54
	};
	/* 1280x1024@60, 1280x720@60, 1920x1080@60, 1600x900@60 */
	static const u8 std[8] = {
		0x81, 0x80, 0x81, 0xc0, 0xd1, 0xc0, 0xa9, 0xc0
	};
	char name[14];
	u8 sum = 0;
	u16 vendor;
	unsigned int i;

	memset(e, 0, 128);
	e[1] = 0xff;
	e[2] = 0xff;
	e[3] = 0xff;
	e[4] = 0xff;
	e[5] = 0xff;
	e[6] = 0xff;
	/* manufacturer "VKM", three 5-bit letters, big endian */
	vendor = (('V' - '@') << 10) | (('K' - '@') << 5) | ('M' - '@');
	e[8] = vendor >> 8;
	e[9] = vendor & 0xff;
	e[10] = 0x01;			/* product code */
	e[12] = index + 1;		/* serial number */
	e[16] = 1;			/* week */
	e[17] = 2026 - 1990;		/* year */
	e[18] = 1;			/* EDID 1.4 */
	e[19] = 4;
	e[20] = 0xa5;			/* digital, 8 bpc, DisplayPort */
	e[21] = 60;			/* 60 x 34 cm */
	e[22] = 34;
	e[23] = 120;			/* gamma 2.2 */
	e[24] = 0x06;			/* sRGB, preferred timing first */
	memcpy(&e[25], chroma, sizeof(chroma));
	e[35] = 0x21;			/* 640x480@60, 800x600@60 */
	e[36] = 0x08;			/* 1024x768@60 */
	memcpy(&e[38], std, sizeof(std));
	for (i = 46; i < 54; i++)
		e[i] = 0x01;		/* unused standard timings */

	vkms_edid_put_dtd(&e[54], &xga, 600, 340);
	vkms_edid_put_dtd(&e[72], &uhd30, 600, 340);
	snprintf(name, sizeof(name), "vkms-%u", index);
	vkms_edid_put_text(&e[90], 0xfc, name);
	/* range limits: 24-75 Hz, 15-140 kHz, 600 MHz, no formula */
	e[111] = 0xfd;
	e[113] = 24;
	e[114] = 75;
	e[115] = 15;
	e[116] = 140;
	e[117] = 60;
	e[118] = 0x01;
	e[119] = 0x0a;
	for (i = 120; i < 126; i++)
		e[i] = ' ';
	e[126] = 0;			/* no extension */
	for (i = 0; i < 127; i++)
		sum += e[i];
	e[127] = (u8)(0x100 - sum);
}

static int vkms_conn_get_modes(struct drm_connector *connector)
{
	struct vkms_output *out = container_of(connector, struct vkms_output,
					       connector);
	const struct edid *edid = (const struct edid *)out->edid;
	struct drm_display_mode *mode;
	int count;

	drm_connector_update_edid_property(connector, edid);
	count = drm_add_edid_modes(connector, (struct edid *)edid);
	/* The DMT modes up to 4096x2160, and UHD at 60 Hz. */
	count += drm_add_modes_noedid(connector, 4096, 2160);
	mode = drm_cvt_mode(connector->dev, 3840, 2160, 60, true, false, false);
	if (mode) {
		mode->type |= DRM_MODE_TYPE_DRIVER;
		drm_mode_probed_add(connector, mode);
		count++;
	}
	drm_set_preferred_mode(connector, VKMS_DEF_WIDTH, VKMS_DEF_HEIGHT);
	return count;
}

/*
 * The status set at creation or by configfs (connected for the default
 * device); without a detect hook DRM would report connected always.
 */
static enum drm_connector_status
vkms_conn_detect(struct drm_connector *connector, bool force)
{
	struct vkms_output *out = container_of(connector, struct vkms_output,
					       connector);

	return READ_ONCE(out->conn_status);
}

/*
 * A connector of a configfs device may drive the encoders of several
 * outputs, one encoder per CRTC: the encoder is the one that can drive the
 * CRTC the connector is routed to.
 */
static struct drm_encoder *
vkms_conn_best_encoder(struct drm_connector *connector,
		       struct drm_atomic_state *state)
{
	struct drm_connector_state *cs =
		drm_atomic_get_new_connector_state(state, connector);
	struct drm_encoder *encoder;

	if (!cs || !cs->crtc)
		return NULL;
	drm_connector_for_each_possible_encoder(connector, encoder)
		if (encoder->possible_crtcs & drm_crtc_mask(cs->crtc))
			return encoder;
	return NULL;
}

static const struct drm_connector_helper_funcs vkms_conn_helper_funcs = {
	.get_modes = vkms_conn_get_modes,
	.atomic_best_encoder = vkms_conn_best_encoder,
};

static const struct drm_connector_funcs vkms_conn_funcs = {
	.detect = vkms_conn_detect,
	.fill_modes = drm_helper_probe_single_connector_modes,
	.destroy = drm_connector_cleanup,
	.reset = drm_atomic_helper_connector_reset,
	.atomic_duplicate_state = drm_atomic_helper_connector_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_connector_destroy_state,
};

static const struct drm_encoder_funcs vkms_encoder_funcs = {
	.destroy = drm_encoder_cleanup,
};

/**
 * vkms_connector_set_status - plug or unplug the connector of an output
 * @vkms: the device, registered
 * @index: index of the output
 * @status: what the connector's detection reports from now on
 *
 * Records @status as the connector's, as a hot-plug interrupt's probe
 * would (so GETCONNECTOR_CURRENT, which does not probe, reports it), and
 * sends a hotplug event for the connector. Process context: takes the
 * mode config mutex, which protects &drm_connector.status.
 */
void vkms_connector_set_status(struct vkms_device *vkms, unsigned int index,
			       enum drm_connector_status status)
{
	struct vkms_output *out = &vkms->outputs[index];

	WRITE_ONCE(out->conn_status, status);
	mutex_lock(&vkms->drm.mode_config.mutex);
	out->connector.status = status;
	mutex_unlock(&vkms->drm.mode_config.mutex);
	drm_kms_helper_connector_hotplug_event(&out->connector);
}

/**
 * vkms_output_init - create one output
 * @vkms: the device
 * @index: index of the output
 * @cfg: what the output has
 *
 * Creates the planes, the CRTC, the encoder, the connector (if @cfg has
 * one) and the writeback connector (if @cfg has one) of output @index.
 * The connector is attached to its encoders by vkms_output_link(), once
 * every output exists. On failure, what was created is released with the
 * mode config (drm_mode_config_cleanup()).
 *
 * Return: 0 or a negative errno.
 */
int vkms_output_init(struct vkms_device *vkms, unsigned int index,
		     const struct vkms_output_config *cfg)
{
	struct vkms_output *out = &vkms->outputs[index];
	struct drm_device *dev = &vkms->drm;
	unsigned int i, zmax;
	int ret;

	out->vkms = vkms;
	out->index = index;
	out->num_overlays = cfg->num_overlays;
	out->conn_status = cfg->status;
	vkms_edid_build(out->edid, index);

	/* one z position per plane of the CRTC */
	zmax = cfg->num_overlays + (cfg->cursor ? 1 : 0);
	out->primary = vkms_plane_create(vkms, DRM_PLANE_TYPE_PRIMARY, index,
					 0, zmax);
	if (IS_ERR(out->primary))
		return PTR_ERR(out->primary);
	for (i = 0; i < cfg->num_overlays; i++) {
		out->overlays[i] = vkms_plane_create(vkms, DRM_PLANE_TYPE_OVERLAY,
						     index, i + 1, zmax);
		if (IS_ERR(out->overlays[i]))
			return PTR_ERR(out->overlays[i]);
	}
	if (cfg->cursor) {
		out->cursor = vkms_plane_create(vkms, DRM_PLANE_TYPE_CURSOR,
						index, zmax, zmax);
		if (IS_ERR(out->cursor))
			return PTR_ERR(out->cursor);
	}

	ret = vkms_crtc_init(out);
	if (ret)
		return ret;

	ret = drm_encoder_init(dev, &out->encoder, &vkms_encoder_funcs,
			       DRM_MODE_ENCODER_VIRTUAL, "vkms-enc-%u", index);
	if (ret)
		return ret;
	out->encoder.possible_crtcs = drm_crtc_mask(&out->crtc);

	if (cfg->encoders) {
		ret = drm_connector_init(dev, &out->connector, &vkms_conn_funcs,
					 DRM_MODE_CONNECTOR_VIRTUAL);
		if (ret)
			return ret;
		drm_connector_helper_add(&out->connector,
					 &vkms_conn_helper_funcs);
		/*
		 * Known from the start, as a probe would find it:
		 * GETCONNECTOR_CURRENT (which does not probe) reports it
		 * before any client has probed.
		 */
		out->connector.status = cfg->status;
		/* DRM leaves it out for virtual connectors; ours has an EDID. */
		drm_connector_attach_edid_property(&out->connector);
	}

	return cfg->writeback ? vkms_writeback_init(out) : 0;
}

/**
 * vkms_output_link - attach the connector of an output to its encoders
 * @vkms: the device, every output of it created
 * @index: index of the output
 * @encoders: the outputs whose encoders the connector can drive (a mask of
 *	output indexes, below &vkms_device.num_outputs); 0 if the output has
 *	no connector
 *
 * Return: 0 or a negative errno.
 */
int vkms_output_link(struct vkms_device *vkms, unsigned int index,
		     u32 encoders)
{
	struct vkms_output *out = &vkms->outputs[index];
	unsigned long mask = encoders;
	unsigned int i;
	int ret;

	for_each_set_bit(i, &mask, vkms->num_outputs) {
		ret = drm_connector_attach_encoder(&out->connector,
						   &vkms->outputs[i].encoder);
		if (ret)
			return ret;
	}
	return 0;
}
