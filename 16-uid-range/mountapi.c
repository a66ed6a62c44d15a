/*
 * mountapi.c - open_tree, mount_setattr and move_mount (mountapi.h).
 */
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountapi.h"

int sys_open_tree(int dfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

int sys_mount_setattr(int dfd, const char *path, unsigned int flags, struct stage_mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

const char *filesystem_name(long type)
{
	static const struct {
		long type;
		const char *name;
	} names[] = {
		{ EXT4_SUPER_MAGIC, "ext4" },   { XFS_SUPER_MAGIC, "xfs" },
		{ BTRFS_SUPER_MAGIC, "btrfs" }, { MSDOS_SUPER_MAGIC, "vfat" },
		{ TMPFS_MAGIC, "tmpfs" },       { OVERLAYFS_SUPER_MAGIC, "overlay" },
		{ V9FS_MAGIC, "9p" },           { NFS_SUPER_MAGIC, "nfs" },
		{ FUSE_SUPER_MAGIC, "fuse" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	return "this one";
}
