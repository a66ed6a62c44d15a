/*
 * keep.c - the --keep directory of stage 10 (keep.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keep.h"

static const char *const layers[] = { "upper", "work", "merged" };
#define LAYERS (sizeof(layers) / sizeof(layers[0]))

/* Is NAME, in DIR, one of the layers, and a directory (not a symlink)? */
static int is_layer(int dir, const char *name)
{
	struct stat st;

	for (size_t i = 0; i < LAYERS; i++)
		if (strcmp(name, layers[i]) == 0)
			return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISDIR(st.st_mode);
	return 0;
}

/* Does DIR hold the layers and nothing else? -1 with errno if unreadable. */
static int holds_layers_only(int dir)
{
	int copy = fcntl(dir, F_DUPFD_CLOEXEC, 0); /* closedir() closes its own */
	DIR *listing = copy < 0 ? NULL : fdopendir(copy);
	struct dirent *entry;
	size_t found = 0;
	int only = 1;

	if (!listing) {
		if (copy >= 0)
			close(copy);
		return -1;
	}
	while (only && (errno = 0, entry = readdir(listing))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (is_layer(dir, entry->d_name))
			found++;
		else
			only = 0;
	}
	if ((only && errno) || closedir(listing) < 0)
		return -1;
	return only && found == LAYERS;
}

int keep_open(const char *dir)
{
	int made = mkdir(dir, 0755) == 0, fd, ok, err;

	if (!made && errno != EEXIST)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t i = 0; made && i < LAYERS; i++)
		if (mkdirat(fd, layers[i], 0755) < 0)
			goto fail;
	ok = holds_layers_only(fd);
	if (ok <= 0) {
		if (ok == 0)
			errno = EEXIST;
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

const char *keep_hint(int err)
{
	if (err == EEXIST)
		return "it is not a directory the stage made: give --keep a new path";
	if (err == EWOULDBLOCK)
		return "another container runs on it";
	return NULL;
}
