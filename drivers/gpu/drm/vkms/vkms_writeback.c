// SPDX-License-Identifier: GPL-2.0
/*
 * vkms writeback: one writeback connector per output. A commit with a
 * writeback job attaches it to the CRTC's flip; the latch of that flip
 * hands it to the composer, which copies the composed frame of that vblank
 * into the job's framebuffer and signals the job's out-fence.
 */
#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_atomic_state_helper.h>
#include <drm/drm_edid.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_print.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_probe_helper.h>

#include "vkms_drv.h"

/*
 * The composed frame in each of these layouts (vkms_writeback_line()):
 * 8 bits per channel widened to 16 in XR48/AR48, truncated in RG16.
 */
static const u32 vkms_wb_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,
	DRM_FORMAT_XRGB16161616,
	DRM_FORMAT_ARGB16161616,
	DRM_FORMAT_RGB565,
};

/*
 * A capture's framebuffer has the mode's size and one of our formats. The
 * connector's check, not the encoder's: the encoder helper's writeback
 * check is gone from 6.8, the connector's hook is in both 6.1 and 6.12.
 */
static int vkms_wb_atomic_check(struct drm_connector *conn,
				struct drm_atomic_state *state)
{
	struct drm_connector_state *conn_state;
	const struct drm_display_mode *mode;
	struct drm_crtc_state *crtc_state;
	struct drm_writeback_job *job;
	struct drm_framebuffer *fb;
	unsigned int i;

	conn_state = drm_atomic_get_new_connector_state(state, conn);
	job = conn_state->writeback_job;
	if (!job || !job->fb || !conn_state->crtc)
		return 0;
	fb = job->fb;
	crtc_state = drm_atomic_get_new_crtc_state(state, conn_state->crtc);
	if (!crtc_state)
		return -EINVAL;
	mode = &crtc_state->mode;
	if (fb->width != mode->hdisplay || fb->height != mode->vdisplay) {
		drm_dbg_kms(conn->dev, "writeback FB %ux%u, mode %ux%u\n",
			    fb->width, fb->height, mode->hdisplay,
			    mode->vdisplay);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(vkms_wb_formats); i++)
		if (fb->format->format == vkms_wb_formats[i])
			return 0;
	drm_dbg_kms(conn->dev, "writeback FB format %p4cc\n",
		    &fb->format->format);
	return -EINVAL;
}

static int vkms_wb_get_modes(struct drm_connector *connector)
{
	return drm_add_modes_noedid(connector, 4096, 2160);
}

static int vkms_wb_prepare_job(struct drm_writeback_connector *wb,
			       struct drm_writeback_job *job)
{
	struct vkms_output *out = wb_to_output(wb);
	struct vkms_wb_job *j;
	int ret;

	if (!job->fb)
		return 0;
	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	ret = drm_gem_fb_vmap(job->fb, j->map, j->data);
	if (ret) {
		kfree(j);
		return ret;
	}
	if (j->data[0].is_iomem) {
		drm_gem_fb_vunmap(job->fb, j->map);
		kfree(j);
		return -EINVAL;
	}
	INIT_LIST_HEAD(&j->node);
	j->fb = job->fb;
	job->priv = j;
	atomic_inc(&out->vkms->wb_jobs);
	return 0;
}

/* Called from DRM's writeback cleanup worker, or with the state. */
static void vkms_wb_cleanup_job(struct drm_writeback_connector *wb,
				struct drm_writeback_job *job)
{
	struct vkms_device *vkms = wb_to_output(wb)->vkms;
	struct vkms_wb_job *j = job->priv;

	if (!j)
		return;
	drm_gem_fb_vunmap(j->fb, j->map);
	kfree(j);
	job->priv = NULL;
	if (atomic_dec_and_test(&vkms->wb_jobs))
		wake_up_var(&vkms->wb_jobs);
}

/*
 * Queue the writeback job of @conn in @state and give it to the flip of
 * its CRTC. Before hw_done. A job with a framebuffer always has one:
 * DRM's check refuses a job on an inactive CRTC, a connector state added
 * to a commit brings its CRTC's state along, and every active CRTC of a
 * state gets a flip before the swap; a prepared job has its driver part. A job
 * without a framebuffer has no out-fence and nothing to do.
 */
static void vkms_wb_attach_one(struct drm_connector *conn,
			       struct drm_atomic_state *state)
{
	struct drm_connector_state *conn_state;
	struct drm_writeback_job *job;
	struct vkms_crtc_state *vs;
	struct drm_crtc_state *cs;
	struct vkms_output *out;

	conn_state = drm_atomic_get_new_connector_state(state, conn);
	job = conn_state->writeback_job;
	if (!job || !job->fb)
		return;
	cs = conn_state->crtc ?
	     drm_atomic_get_new_crtc_state(state, conn_state->crtc) : NULL;
	vs = cs ? to_vkms_crtc_state(cs) : NULL;
	if (WARN_ON_ONCE(!job->priv || !vs || !vs->flip || vs->flip->wb))
		return;
	out = crtc_to_output(conn_state->crtc);
	vs->flip->wb = job->priv;
	drm_writeback_queue_job(&out->wb, conn_state);
}

static void vkms_wb_atomic_commit(struct drm_connector *conn,
				  struct drm_atomic_state *state)
{
	vkms_wb_attach_one(conn, state);
}

/**
 * vkms_writeback_attach - queue the writeback jobs of a state
 * @state: the swapped state, before hw_done
 *
 * The gated path's counterpart of the helpers' commit of writeback jobs.
 */
void vkms_writeback_attach(struct drm_atomic_state *state)
{
	struct drm_connector_state *conn_state;
	struct drm_connector *conn;
	int i;

	for_each_new_connector_in_state(state, conn, conn_state, i)
		if (conn->connector_type == DRM_MODE_CONNECTOR_WRITEBACK)
			vkms_wb_attach_one(conn, state);
}

/**
 * vkms_writeback_cancel - complete a queued capture that will not be taken
 * @out: the output
 * @job: the capture; it must be the oldest queued on the connector
 *
 * Signals the job's out-fence with -ECANCELED. DRM completes writeback
 * jobs in queue order only; captures are queued in commit order and
 * latched in that order, so the one cancelled is always the oldest. That
 * is checked: completing another job would signal the wrong out-fence.
 */
void vkms_writeback_cancel(struct vkms_output *out, struct vkms_wb_job *job)
{
	struct drm_writeback_connector *wb = &out->wb;
	struct drm_writeback_job *first;
	unsigned long flags;

	spin_lock_irqsave(&wb->job_lock, flags);
	first = list_first_entry_or_null(&wb->job_queue,
					 struct drm_writeback_job, list_entry);
	spin_unlock_irqrestore(&wb->job_lock, flags);
	if (WARN_ON_ONCE(!first || first->priv != job))
		return;
	drm_writeback_signal_completion(wb, -ECANCELED);
}

static const struct drm_connector_helper_funcs vkms_wb_conn_helper_funcs = {
	.get_modes = vkms_wb_get_modes,
	.prepare_writeback_job = vkms_wb_prepare_job,
	.cleanup_writeback_job = vkms_wb_cleanup_job,
	.atomic_check = vkms_wb_atomic_check,
	.atomic_commit = vkms_wb_atomic_commit,
};

static const struct drm_connector_funcs vkms_wb_conn_funcs = {
	.fill_modes = drm_helper_probe_single_connector_modes,
	.destroy = drm_connector_cleanup,
	.reset = drm_atomic_helper_connector_reset,
	.atomic_duplicate_state = drm_atomic_helper_connector_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_connector_destroy_state,
};

/**
 * vkms_writeback_init - create the writeback connector of an output
 * @out: the output, its CRTC created
 *
 * Return: 0 or a negative errno.
 */
int vkms_writeback_init(struct vkms_output *out)
{
	u32 clones;
	int ret;

	drm_connector_helper_add(&out->wb.base, &vkms_wb_conn_helper_funcs);
	ret = drm_writeback_connector_init(&out->vkms->drm, &out->wb,
					   &vkms_wb_conn_funcs,
					   NULL,
					   vkms_wb_formats,
					   ARRAY_SIZE(vkms_wb_formats),
					   drm_crtc_mask(&out->crtc));
	if (ret)
		return ret;
	/* The output's two encoders can drive its CRTC together. */
	clones = drm_encoder_mask(&out->encoder) |
		 drm_encoder_mask(&out->wb.encoder);
	out->encoder.possible_clones = clones;
	out->wb.encoder.possible_clones = clones;
	return 0;
}
