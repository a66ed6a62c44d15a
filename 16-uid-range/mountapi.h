/*
 * mountapi.h - the new mount API's calls that stage 16 makes (Linux 5.2;
 * MOUNT_ATTR_IDMAP 5.12), by syscall(2): glibc wraps them only from 2.36,
 * and there its <sys/mount.h> and the kernel's <linux/mount.h> clash. The
 * arguments are the calls' own (open_tree(2), mount_setattr(2),
 * move_mount(2)). And a filesystem's name, for the line that names one.
 */
#ifndef MOUNTAPI_H
#define MOUNTAPI_H

#include <fcntl.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x100000
#endif

/* mount_setattr(2)'s struct mount_attr, by its layout. */
struct stage_mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

int sys_open_tree(int dfd, const char *path, unsigned int flags);
int sys_mount_setattr(int dfd, const char *path, unsigned int flags, struct stage_mount_attr *attr);
int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned int flags);

/* statfs(2)'s f_type as a name: "ext4", "overlay", "9p", ... or "this one". */
const char *filesystem_name(long type);

#endif
