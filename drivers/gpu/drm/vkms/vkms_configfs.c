// SPDX-License-Identifier: GPL-2.0
/*
 * vkms configfs: devices made, configured, enabled and removed at run time,
 * in the layout of upstream vkms's configfs so that the same scripts work:
 *
 *   /sys/kernel/config/vkms/DEV/enabled
 *   /sys/kernel/config/vkms/DEV/planes/P/type
 *   /sys/kernel/config/vkms/DEV/planes/P/possible_crtcs/  (links to crtcs/)
 *   /sys/kernel/config/vkms/DEV/crtcs/C/writeback
 *   /sys/kernel/config/vkms/DEV/encoders/E/possible_crtcs/  (links to crtcs/)
 *   /sys/kernel/config/vkms/DEV/connectors/N/status
 *   /sys/kernel/config/vkms/DEV/connectors/N/possible_encoders/  (links to
 *	encoders/)
 *
 * Our driver builds a device out of outputs (a CRTC with its planes, one
 * encoder, a connector or not, a writeback connector or not), so writing 1
 * to "enabled" turns the directory into a struct vkms_config of outputs,
 * and refuses (-EINVAL) what does not have that shape: every plane and
 * encoder has exactly one link, every connector at least one, every CRTC
 * exactly one primary plane, at most one cursor, at most
 * %VKMS_MAX_OVERLAYS overlays and exactly one encoder; 1 to
 * %VKMS_MAX_OUTPUTS CRTCs, and 1 connector to as many as CRTCs. A connector
 * may drive the encoders of several CRTCs. Documentation/vkms.rst lists
 * these with the errors.
 *
 * Enabling builds the device from what the directory says then, and keeps
 * nothing of it but each connector's place: as in upstream vkms, later
 * changes of the directory do not reach the running device. While it is
 * enabled, mkdir, new links and writes of the attributes fail with -EBUSY,
 * but for the connectors' status, which plugs and unplugs them; removing a
 * link or an object directory is allowed and changes what the next enable
 * builds. The device directory itself is pinned
 * (configfs_depend_item_unlocked()): its rmdir fails with -EBUSY until it
 * is disabled.
 */
#include <linux/configfs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "vkms_drv.h"

enum vkms_cfs_kind {
	VKMS_CFS_PLANE,
	VKMS_CFS_CRTC,
	VKMS_CFS_ENCODER,
	VKMS_CFS_CONNECTOR,
	VKMS_CFS_KINDS
};

static const char *const vkms_cfs_kind_dirs[VKMS_CFS_KINDS] = {
	[VKMS_CFS_PLANE] = "planes",
	[VKMS_CFS_CRTC] = "crtcs",
	[VKMS_CFS_ENCODER] = "encoders",
	[VKMS_CFS_CONNECTOR] = "connectors",
};

/**
 * struct vkms_cfs_dev - a device directory, /sys/kernel/config/vkms/DEV
 * @group: the directory
 * @kinds: its planes, crtcs, encoders and connectors directories
 * @lock: see below
 * @objs: the objects made in each of @kinds
 * @enabled: the device is built
 * @vkms: the device while @enabled
 */
struct vkms_cfs_dev {
	struct config_group group;
	struct config_group kinds[VKMS_CFS_KINDS];
	/*
	 * @lock protects everything below, and the fields of each object
	 * of @objs but those set at mkdir (@group, @links, @dev, @kind).
	 * Taken in process context by the configfs callbacks, inside
	 * configfs's subsystem mutex when it holds it (mkdir, rmdir); held
	 * across the making and tearing down of the DRM device; takes no
	 * configfs lock inside it but the dirent spinlock (pinning).
	 */
	struct mutex lock;
	struct list_head objs[VKMS_CFS_KINDS];
	bool enabled;
	struct vkms_device *vkms;
};

/**
 * struct vkms_cfs_obj - a plane, CRTC, encoder or connector directory
 * @group: the directory
 * @links: its possible_crtcs or possible_encoders directory (not for a
 *	CRTC)
 * @dev: the device directory it is in
 * @kind: what it is
 * @node: entry in &vkms_cfs_dev.objs, from mkdir to rmdir
 * @targets: the &struct vkms_cfs_link of each link in @links
 * @value: plane type (DRM_PLANE_TYPE_*), CRTC writeback (0 or 1) or
 *	connector status (connector_status_*)
 * @index: the output it is part of, set by the last enable
 */
struct vkms_cfs_obj {
	struct config_group group;
	struct config_group links;
	struct vkms_cfs_dev *dev;
	enum vkms_cfs_kind kind;
	struct list_head node;
	struct list_head targets;
	unsigned int value;
	unsigned int index;
};

/**
 * struct vkms_cfs_link - a link of an object to a CRTC or an encoder
 * @node: entry in &vkms_cfs_obj.targets
 * @target: the object it links to
 */
struct vkms_cfs_link {
	struct list_head node;
	struct vkms_cfs_obj *target;
};

static struct configfs_subsystem vkms_cfs_subsys;

static struct vkms_cfs_dev *item_to_dev(struct config_item *item)
{
	return container_of(to_config_group(item), struct vkms_cfs_dev, group);
}

static struct vkms_cfs_obj *item_to_obj(struct config_item *item)
{
	return container_of(to_config_group(item), struct vkms_cfs_obj, group);
}

/* ---- attributes ---- */

/* Write @value to an object's field unless its device is enabled. */
static ssize_t vkms_cfs_obj_set(struct config_item *item, unsigned int value,
				size_t count)
{
	struct vkms_cfs_obj *obj = item_to_obj(item);
	ssize_t ret = count;

	mutex_lock(&obj->dev->lock);
	if (obj->dev->enabled)
		ret = -EBUSY;
	else
		obj->value = value;
	mutex_unlock(&obj->dev->lock);
	return ret;
}

static ssize_t vkms_cfs_obj_show(struct config_item *item, char *page)
{
	struct vkms_cfs_obj *obj = item_to_obj(item);
	unsigned int value;

	mutex_lock(&obj->dev->lock);
	value = obj->value;
	mutex_unlock(&obj->dev->lock);
	return sysfs_emit(page, "%u\n", value);
}

static ssize_t plane_type_show(struct config_item *item, char *page)
{
	return vkms_cfs_obj_show(item, page);
}

static ssize_t plane_type_store(struct config_item *item, const char *page,
				size_t count)
{
	unsigned int type;

	if (kstrtouint(page, 10, &type))
		return -EINVAL;
	if (type != DRM_PLANE_TYPE_OVERLAY && type != DRM_PLANE_TYPE_PRIMARY &&
	    type != DRM_PLANE_TYPE_CURSOR)
		return -EINVAL;
	return vkms_cfs_obj_set(item, type, count);
}

static ssize_t crtc_writeback_show(struct config_item *item, char *page)
{
	return vkms_cfs_obj_show(item, page);
}

static ssize_t crtc_writeback_store(struct config_item *item, const char *page,
				    size_t count)
{
	bool on;

	if (kstrtobool(page, &on))
		return -EINVAL;
	return vkms_cfs_obj_set(item, on, count);
}

static ssize_t connector_status_show(struct config_item *item, char *page)
{
	return vkms_cfs_obj_show(item, page);
}

/* The one attribute written on an enabled device: a hot-plug. */
static ssize_t connector_status_store(struct config_item *item,
				      const char *page, size_t count)
{
	struct vkms_cfs_obj *obj = item_to_obj(item);
	struct vkms_cfs_dev *dev = obj->dev;
	unsigned int status;

	if (kstrtouint(page, 10, &status))
		return -EINVAL;
	if (status != connector_status_connected &&
	    status != connector_status_disconnected &&
	    status != connector_status_unknown)
		return -EINVAL;

	mutex_lock(&dev->lock);
	obj->value = status;
	if (dev->enabled)
		vkms_connector_set_status(dev->vkms, obj->index, status);
	mutex_unlock(&dev->lock);
	return count;
}

CONFIGFS_ATTR(plane_, type);
CONFIGFS_ATTR(crtc_, writeback);
CONFIGFS_ATTR(connector_, status);

static struct configfs_attribute *vkms_cfs_plane_attrs[] = {
	&plane_attr_type,
	NULL,
};

static struct configfs_attribute *vkms_cfs_crtc_attrs[] = {
	&crtc_attr_writeback,
	NULL,
};

static struct configfs_attribute *vkms_cfs_connector_attrs[] = {
	&connector_attr_status,
	NULL,
};

/* ---- objects ---- */

static void vkms_cfs_obj_release(struct config_item *item)
{
	struct vkms_cfs_obj *obj = item_to_obj(item);
	struct vkms_cfs_link *l, *next;

	/* configfs removes the links before the directory; just in case */
	list_for_each_entry_safe(l, next, &obj->targets, node)
		kfree(l);
	kfree(obj);
}

static struct configfs_item_operations vkms_cfs_obj_ops = {
	.release = vkms_cfs_obj_release,
};

static const struct config_item_type vkms_cfs_obj_types[VKMS_CFS_KINDS] = {
	[VKMS_CFS_PLANE] = {
		.ct_item_ops = &vkms_cfs_obj_ops,
		.ct_attrs = vkms_cfs_plane_attrs,
		.ct_owner = THIS_MODULE,
	},
	[VKMS_CFS_CRTC] = {
		.ct_item_ops = &vkms_cfs_obj_ops,
		.ct_attrs = vkms_cfs_crtc_attrs,
		.ct_owner = THIS_MODULE,
	},
	[VKMS_CFS_ENCODER] = {
		.ct_item_ops = &vkms_cfs_obj_ops,
		.ct_owner = THIS_MODULE,
	},
	[VKMS_CFS_CONNECTOR] = {
		.ct_item_ops = &vkms_cfs_obj_ops,
		.ct_attrs = vkms_cfs_connector_attrs,
		.ct_owner = THIS_MODULE,
	},
};

/* ---- links ---- */

static struct vkms_cfs_obj *links_to_obj(struct config_item *item)
{
	return container_of(to_config_group(item), struct vkms_cfs_obj, links);
}

/* What the links of @kind point to: a CRTC, or an encoder. */
static enum vkms_cfs_kind vkms_cfs_target_kind(enum vkms_cfs_kind kind)
{
	return kind == VKMS_CFS_CONNECTOR ? VKMS_CFS_ENCODER : VKMS_CFS_CRTC;
}

static int vkms_cfs_allow_link(struct config_item *src,
			       struct config_item *target)
{
	struct vkms_cfs_obj *obj = links_to_obj(src), *to;
	enum vkms_cfs_kind want = vkms_cfs_target_kind(obj->kind);
	struct vkms_cfs_dev *dev = obj->dev;
	struct vkms_cfs_link *l;
	int ret = 0;

	/* a CRTC (an encoder) of the same device */
	if (target->ci_type != &vkms_cfs_obj_types[want])
		return -EINVAL;
	to = item_to_obj(target);
	if (to->dev != dev)
		return -EINVAL;

	mutex_lock(&dev->lock);
	if (dev->enabled) {
		ret = -EBUSY;
		goto out;
	}
	list_for_each_entry(l, &obj->targets, node) {
		if (l->target == to) {
			ret = -EINVAL;
			goto out;
		}
	}
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	l->target = to;
	list_add_tail(&l->node, &obj->targets);
out:
	mutex_unlock(&dev->lock);
	return ret;
}

static void vkms_cfs_drop_link(struct config_item *src,
			       struct config_item *target)
{
	struct vkms_cfs_obj *obj = links_to_obj(src), *to = item_to_obj(target);
	struct vkms_cfs_link *l;

	mutex_lock(&obj->dev->lock);
	list_for_each_entry(l, &obj->targets, node) {
		if (l->target == to) {
			list_del(&l->node);
			kfree(l);
			break;
		}
	}
	mutex_unlock(&obj->dev->lock);
}

static struct configfs_item_operations vkms_cfs_links_ops = {
	.allow_link = vkms_cfs_allow_link,
	.drop_link = vkms_cfs_drop_link,
};

static const struct config_item_type vkms_cfs_links_type = {
	.ct_item_ops = &vkms_cfs_links_ops,
	.ct_owner = THIS_MODULE,
};

/* ---- planes/, crtcs/, encoders/, connectors/ ---- */

static struct vkms_cfs_dev *kind_to_dev(struct config_group *group,
					enum vkms_cfs_kind *kind)
{
	struct vkms_cfs_dev *dev = item_to_dev(group->cg_item.ci_parent);

	*kind = group - dev->kinds;
	return dev;
}

static struct config_group *vkms_cfs_make_obj(struct config_group *group,
					      const char *name)
{
	enum vkms_cfs_kind kind;
	struct vkms_cfs_dev *dev = kind_to_dev(group, &kind);
	struct vkms_cfs_obj *obj;

	obj = kzalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&dev->lock);
	if (dev->enabled) {
		mutex_unlock(&dev->lock);
		kfree(obj);
		return ERR_PTR(-EBUSY);
	}
	obj->dev = dev;
	obj->kind = kind;
	INIT_LIST_HEAD(&obj->targets);
	/* upstream's defaults: an overlay, no writeback, connected */
	if (kind == VKMS_CFS_PLANE)
		obj->value = DRM_PLANE_TYPE_OVERLAY;
	else if (kind == VKMS_CFS_CONNECTOR)
		obj->value = connector_status_connected;
	config_group_init_type_name(&obj->group, name,
				    &vkms_cfs_obj_types[kind]);
	if (kind != VKMS_CFS_CRTC) {
		config_group_init_type_name(&obj->links,
					    kind == VKMS_CFS_CONNECTOR ?
					    "possible_encoders" :
					    "possible_crtcs",
					    &vkms_cfs_links_type);
		configfs_add_default_group(&obj->links, &obj->group);
	}
	list_add_tail(&obj->node, &dev->objs[kind]);
	mutex_unlock(&dev->lock);
	return &obj->group;
}

/* rmdir: the object leaves the device's lists before its last reference. */
static void vkms_cfs_drop_obj(struct config_group *group,
			      struct config_item *item)
{
	struct vkms_cfs_obj *obj = item_to_obj(item);

	mutex_lock(&obj->dev->lock);
	list_del(&obj->node);
	mutex_unlock(&obj->dev->lock);
	config_item_put(item);
}

static struct configfs_group_operations vkms_cfs_kind_group_ops = {
	.make_group = vkms_cfs_make_obj,
	.drop_item = vkms_cfs_drop_obj,
};

static const struct config_item_type vkms_cfs_kind_type = {
	.ct_group_ops = &vkms_cfs_kind_group_ops,
	.ct_owner = THIS_MODULE,
};

/* ---- enabling ---- */

static unsigned int vkms_cfs_nlinks(const struct vkms_cfs_obj *obj)
{
	const struct vkms_cfs_link *l;
	unsigned int n = 0;

	list_for_each_entry(l, &obj->targets, node)
		n++;
	return n;
}

static struct vkms_cfs_obj *vkms_cfs_first_target(const struct vkms_cfs_obj *obj)
{
	return list_first_entry(&obj->targets, struct vkms_cfs_link,
				node)->target;
}

/*
 * The outputs the directory describes, into @cfg, or -EINVAL when it has
 * not the shape our outputs have. Sets the objects' output indexes.
 */
static int vkms_cfs_build(struct vkms_cfs_dev *dev, struct vkms_config *cfg)
{
	const char *name = config_item_name(&dev->group.cg_item);
	unsigned int primaries[VKMS_MAX_OUTPUTS] = { 0 };
	struct vkms_cfs_obj *enc_of[VKMS_MAX_OUTPUTS] = { NULL };
	struct vkms_cfs_obj *conn_of[VKMS_MAX_OUTPUTS] = { NULL };
	struct vkms_output_config *oc;
	struct vkms_cfs_link *l;
	struct vkms_cfs_obj *obj;
	unsigned int n = 0, i, k;

	list_for_each_entry(obj, &dev->objs[VKMS_CFS_CRTC], node) {
		if (n == VKMS_MAX_OUTPUTS) {
			pr_info("vkms: %s: more than %d CRTCs\n", name,
				VKMS_MAX_OUTPUTS);
			return -EINVAL;
		}
		obj->index = n;
		cfg->outputs[n].writeback = obj->value;
		n++;
	}
	if (!n) {
		pr_info("vkms: %s: no CRTC\n", name);
		return -EINVAL;
	}
	cfg->num_outputs = n;

	list_for_each_entry(obj, &dev->objs[VKMS_CFS_PLANE], node) {
		if (vkms_cfs_nlinks(obj) != 1) {
			pr_info("vkms: %s: plane %s: %u possible CRTCs, not 1\n",
				name, config_item_name(&obj->group.cg_item),
				vkms_cfs_nlinks(obj));
			return -EINVAL;
		}
		i = vkms_cfs_first_target(obj)->index;
		oc = &cfg->outputs[i];
		if (obj->value == DRM_PLANE_TYPE_PRIMARY) {
			primaries[i]++;
		} else if (obj->value == DRM_PLANE_TYPE_CURSOR) {
			if (oc->cursor) {
				pr_info("vkms: %s: CRTC %u: 2 cursors\n",
					name, i);
				return -EINVAL;
			}
			oc->cursor = true;
		} else {
			if (oc->num_overlays == VKMS_MAX_OVERLAYS) {
				pr_info("vkms: %s: CRTC %u: more than %d overlays\n",
					name, i, VKMS_MAX_OVERLAYS);
				return -EINVAL;
			}
			oc->num_overlays++;
		}
	}

	list_for_each_entry(obj, &dev->objs[VKMS_CFS_ENCODER], node) {
		if (vkms_cfs_nlinks(obj) != 1) {
			pr_info("vkms: %s: encoder %s: %u possible CRTCs, not 1\n",
				name, config_item_name(&obj->group.cg_item),
				vkms_cfs_nlinks(obj));
			return -EINVAL;
		}
		i = vkms_cfs_first_target(obj)->index;
		if (enc_of[i]) {
			pr_info("vkms: %s: CRTC %u: 2 encoders\n", name, i);
			return -EINVAL;
		}
		enc_of[i] = obj;
		obj->index = i;
	}

	/*
	 * Each connector has the place of an output: the output of its first
	 * encoder that has none yet, else any output that has none.
	 */
	list_for_each_entry(obj, &dev->objs[VKMS_CFS_CONNECTOR], node) {
		u32 encoders = 0;

		if (!vkms_cfs_nlinks(obj)) {
			pr_info("vkms: %s: connector %s: no possible encoder\n",
				name, config_item_name(&obj->group.cg_item));
			return -EINVAL;
		}
		i = n;
		list_for_each_entry(l, &obj->targets, node) {
			encoders |= BIT(l->target->index);
			if (i == n && !conn_of[l->target->index])
				i = l->target->index;
		}
		for (k = 0; i == n && k < n; k++)
			if (!conn_of[k])
				i = k;
		if (i == n) {
			pr_info("vkms: %s: more connectors than CRTCs\n", name);
			return -EINVAL;
		}
		conn_of[i] = obj;
		obj->index = i;
		cfg->outputs[i].encoders = encoders;
		cfg->outputs[i].status = obj->value;
	}
	if (list_empty(&dev->objs[VKMS_CFS_CONNECTOR])) {
		pr_info("vkms: %s: no connector\n", name);
		return -EINVAL;
	}

	for (i = 0; i < n; i++) {
		if (primaries[i] != 1 || !enc_of[i]) {
			pr_info("vkms: %s: CRTC %u: %u primary planes, %s encoder\n",
				name, i, primaries[i], enc_of[i] ? "an" : "no");
			return -EINVAL;
		}
	}
	return 0;
}

/* Pin (or unpin) the device directory: its rmdir fails with -EBUSY. */
static void vkms_cfs_unpin(struct vkms_cfs_dev *dev)
{
	configfs_undepend_item(&dev->group.cg_item);
}

static int vkms_cfs_pin(struct vkms_cfs_dev *dev)
{
	int ret = configfs_depend_item_unlocked(&vkms_cfs_subsys,
						&dev->group.cg_item);

	/* the directory being removed right now */
	return ret == -ENOENT ? -EBUSY : ret;
}

static int vkms_cfs_enable(struct vkms_cfs_dev *dev)
{
	struct vkms_config *cfg;
	struct vkms_device *vkms;
	int ret;

	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	cfg->name = config_item_name(&dev->group.cg_item);
	ret = vkms_cfs_build(dev, cfg);
	if (ret)
		goto out;
	ret = vkms_cfs_pin(dev);
	if (ret)
		goto out;
	vkms = vkms_device_create(cfg);
	if (IS_ERR(vkms)) {
		vkms_cfs_unpin(dev);
		ret = PTR_ERR(vkms);
		goto out;
	}
	dev->vkms = vkms;
	dev->enabled = true;
out:
	kfree(cfg);
	return ret;
}

static int vkms_cfs_disable(struct vkms_cfs_dev *dev)
{
	int ret;

	ret = vkms_device_close(dev->vkms);
	if (ret)
		return ret;
	vkms_device_destroy(dev->vkms);
	dev->vkms = NULL;
	dev->enabled = false;
	vkms_cfs_unpin(dev);
	return 0;
}

static ssize_t device_enabled_show(struct config_item *item, char *page)
{
	struct vkms_cfs_dev *dev = item_to_dev(item);
	bool enabled;

	mutex_lock(&dev->lock);
	enabled = dev->enabled;
	mutex_unlock(&dev->lock);
	return sysfs_emit(page, "%d\n", enabled);
}

static ssize_t device_enabled_store(struct config_item *item,
				    const char *page, size_t count)
{
	struct vkms_cfs_dev *dev = item_to_dev(item);
	bool enable;
	int ret = 0;

	if (kstrtobool(page, &enable))
		return -EINVAL;

	mutex_lock(&dev->lock);
	if (enable && !dev->enabled)
		ret = vkms_cfs_enable(dev);
	else if (!enable && dev->enabled)
		ret = vkms_cfs_disable(dev);
	mutex_unlock(&dev->lock);
	return ret ? ret : count;
}

CONFIGFS_ATTR(device_, enabled);

static struct configfs_attribute *vkms_cfs_dev_attrs[] = {
	&device_attr_enabled,
	NULL,
};

/* The last reference: pinned while enabled, so it is disabled by now. */
static void vkms_cfs_dev_release(struct config_item *item)
{
	struct vkms_cfs_dev *dev = item_to_dev(item);

	mutex_destroy(&dev->lock);
	kfree(dev);
}

static struct configfs_item_operations vkms_cfs_dev_ops = {
	.release = vkms_cfs_dev_release,
};

static const struct config_item_type vkms_cfs_dev_type = {
	.ct_item_ops = &vkms_cfs_dev_ops,
	.ct_attrs = vkms_cfs_dev_attrs,
	.ct_owner = THIS_MODULE,
};

/* ---- /sys/kernel/config/vkms ---- */

static struct config_group *vkms_cfs_make_dev(struct config_group *group,
					      const char *name)
{
	struct vkms_cfs_dev *dev;
	unsigned int k;

	/* the default device's (upstream's ABI) */
	if (!strcmp(name, "vkms"))
		return ERR_PTR(-EINVAL);

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	mutex_init(&dev->lock);
	config_group_init_type_name(&dev->group, name, &vkms_cfs_dev_type);
	for (k = 0; k < VKMS_CFS_KINDS; k++) {
		INIT_LIST_HEAD(&dev->objs[k]);
		config_group_init_type_name(&dev->kinds[k],
					    vkms_cfs_kind_dirs[k],
					    &vkms_cfs_kind_type);
		configfs_add_default_group(&dev->kinds[k], &dev->group);
	}
	return &dev->group;
}

static struct configfs_group_operations vkms_cfs_root_ops = {
	.make_group = vkms_cfs_make_dev,
};

static const struct config_item_type vkms_cfs_root_type = {
	.ct_group_ops = &vkms_cfs_root_ops,
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem vkms_cfs_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "vkms",
			.ci_type = &vkms_cfs_root_type,
		},
	},
};

/**
 * vkms_configfs_register - add /sys/kernel/config/vkms
 *
 * Return: 0 or a negative errno.
 */
int vkms_configfs_register(void)
{
	config_group_init(&vkms_cfs_subsys.su_group);
	mutex_init(&vkms_cfs_subsys.su_mutex);
	return configfs_register_subsystem(&vkms_cfs_subsys);
}

/**
 * vkms_configfs_unregister - remove /sys/kernel/config/vkms
 *
 * At module unload: no device directory is left (each pins the module).
 */
void vkms_configfs_unregister(void)
{
	configfs_unregister_subsystem(&vkms_cfs_subsys);
}
