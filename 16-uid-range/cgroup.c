/*
 * cgroup.c - reading and writing cgroupfs, for stage 09 (cgroup.h). Plain
 * files and directories: no library, no daemon.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

int cg_write(const char *dir, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX], text[64];
	va_list ap;
	ssize_t n;
	int fd, len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(text)) {
		errno = EOVERFLOW;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* cgroupfs takes a value in one write, or refuses it there (EINVAL). */
	n = write(fd, text, strlen(text));
	if (close(fd) < 0 || n < 0)
		return -1;
	return 0;
}

/* Is WORD one of the comma-separated LIST? */
static int listed(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *at = list; at; at = strchr(at, ',') ? strchr(at, ',') + 1 : NULL)
		if (strncmp(at, word, len) == 0 && (at[len] == ',' || at[len] == '\0'))
			return 1;
	return 0;
}

/* Each line is "id:controllers:path"; v2's is "0::path". */
int cg_own(const char *controller, char path[], size_t size, char controllers[], size_t csize)
{
	char line[PATH_MAX + 256];
	FILE *self = fopen("/proc/self/cgroup", "re");
	int found = 0;

	controllers[0] = '\0';
	if (!self)
		return -1;
	while (!found && fgets(line, sizeof(line), self)) {
		char *list = strchr(line, ':'), *where = list ? strchr(list + 1, ':') : NULL;

		if (!where)
			continue;
		*list++ = *where++ = '\0';
		where[strcspn(where, "\n")] = '\0';
		found = controller ? listed(list, controller) : *list == '\0';
		if (found) {
			snprintf(path, size, "%s", where);
			snprintf(controllers, csize, "%s", list);
		}
	}
	if (fclose(self) != 0 || !found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* cgroup.h, cg_make(): the highest cgroup on the way down to ours that we may
 * write, into DIR; -1 when there is none. */
static int cg_parent(const char *controller, char dir[], size_t size)
{
	char own[PATH_MAX], names[256], hierarchy[64];

	dir[0] = '\0';
	if (cg_own(controller, own, sizeof(own), names, sizeof(names)) < 0)
		return -1;
	snprintf(hierarchy, sizeof(hierarchy), "/sys/fs/cgroup%s%s", controller ? "/" : "",
		 controller ? controller : "");
	/* "/a/b": the hierarchy's root, then a; never b, our own. */
	for (const char *slash = own; slash; slash = strchr(slash + 1, '/')) {
		snprintf(dir, size, "%s%.*s", hierarchy, (int)(slash - own), own);
		if (access(dir, W_OK) == 0)
			return 0;
	}
	dir[0] = '\0';
	return -1;
}

/* cgroup.kill (v2, Linux 5.14 on) kills all at once; else each listed pid. */
static void kill_members(const char *dir)
{
	char path[PATH_MAX], line[32];
	FILE *procs;

	if (cg_write(dir, "cgroup.kill", "%d", 1) == 0)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	procs = fopen(path, "re");
	if (!procs)
		return;
	/* Best effort: what is missed now is killed on the next try. */
	while (fgets(line, sizeof(line), procs)) {
		long pid = strtol(line, NULL, 10);

		if (pid > 0 && kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
			break;
	}
	if (fclose(procs) != 0)
		return;
}

/* A cgroup goes only when empty (EBUSY until then), and a process killed
 * or reaped a moment ago may still count: kill, wait a millisecond, retry,
 * for up to two seconds. */
static int remove_one(const char *dir)
{
	const struct timespec millisecond = { 0, 1000000 };

	for (int tries = 0; tries < 2000; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		kill_members(dir);
		nanosleep(&millisecond, NULL);
	}
	return -1;
}

/* Down from PATH, by the first cgroup below each, to one with none below:
 * its path appended to PATH. */
static void go_deepest(char path[], size_t size)
{
	for (int found = 1; found;) {
		size_t len = strlen(path);
		DIR *listing = opendir(path);
		struct dirent *entry;

		found = 0;
		while (listing && !found && (entry = readdir(listing)))
			found = entry->d_type == DT_DIR && strcmp(entry->d_name, ".") != 0 &&
				strcmp(entry->d_name, "..") != 0 &&
				snprintf(path + len, size - len, "/%s", entry->d_name) <
					(int)(size - len);
		if (listing)
			closedir(listing);
	}
}

/* DIR and every cgroup below it, the deepest first: root inside may have
 * made some in its leaf. KILL, for ours: what is left in them too; else, for
 * another stage's, rmdir() alone, and a busy one stops it. */
static int remove_tree(const char *dir, int kill)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (;;) {
		go_deepest(path, sizeof(path));
		if ((kill ? remove_one(path) : rmdir(path)) < 0 && errno != ENOENT)
			return -1;
		if (strlen(path) <= strlen(dir))
			return 0;
		*strrchr(path, '/') = '\0';
	}
}

int cg_remove(const char *dir)
{
	return remove_tree(dir, 1);
}

/*
 * In PARENT, the cgroups PREFIX-PID of stages that died (kill -9) before they
 * removed theirs - and one of our own pid, from a stage that had it before
 * us. Removed only if empty, never by a kill: a stage killed with -9 leaves
 * its cgroups empty, and a pid we cannot see (ESRCH) may be a live stage's
 * in another PID namespace, whose container is in its leaf.
 */
static void sweep(const char *parent, const char *prefix)
{
	char path[PATH_MAX];
	size_t len = strlen(prefix);
	DIR *dir = opendir(parent);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		char *end;
		long pid;

		if (strncmp(entry->d_name, prefix, len) != 0 || entry->d_name[len] != '-')
			continue;
		pid = strtol(entry->d_name + len + 1, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		/* Alive, even as another user's (EPERM): not ours to remove. */
		if (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, entry->d_name);
		remove_tree(path, 0);
	}
	closedir(dir);
}

/* v2: PARENT hands its children those of memory, pids and cpu that it has
 * itself (cgroup.controllers, space-separated), in one write - the kernel
 * refuses the whole of one that names a controller it has not (ENOENT). */
static int hand_down_controllers(const char *parent)
{
	static const char *const wanted[] = { "memory", "pids", "cpu" };
	char path[PATH_MAX], have[256], line[64] = "";
	FILE *controllers;
	int found;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", parent);
	controllers = fopen(path, "re");
	if (!controllers)
		return -1;
	found = fgets(have, sizeof(have), controllers) != NULL;
	if (fclose(controllers) != 0)
		return -1;
	have[found ? strcspn(have, "\n") : 0] = '\0';
	for (char *at = have; *at; at++)
		*at = *at == ' ' ? ',' : *at;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (listed(have, wanted[i]))
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "+%s ",
				 wanted[i]);
	return line[0] ? cg_write(parent, "cgroup.subtree_control", "%s", line) : 0;
}

int cg_make(const char *controller, const char *prefix, char dir[], size_t size)
{
	char parent[PATH_MAX], leaf[PATH_MAX];
	int err;

	dir[0] = '\0';
	if (cg_parent(controller, parent, sizeof(parent)) < 0)
		return 1;
	sweep(parent, prefix);
	if (!controller && hand_down_controllers(parent) < 0)
		return -1;
	/* DIR names only what we made: cg_remove() kills what is in it. */
	snprintf(dir, size, "%s/%s-%ld", parent, prefix, (long)getpid());
	if (mkdir(dir, 0755) < 0) {
		err = errno;
		dir[0] = '\0';
		errno = err;
		return -1;
	}
	snprintf(leaf, sizeof(leaf), "%s/%s", dir, CG_LEAF);
	return mkdir(leaf, 0755);
}

long long parse_size(const char *text)
{
	static const char units[] = "kmg";
	char *end;
	long long n = (errno = 0, strtoll(text, &end, 10));
	const char *unit = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	int shift = unit ? 10 * (int)(unit - units + 1) : 0;

	if (end == text || n <= 0 || errno == ERANGE || (*end && (!unit || end[1])) ||
	    n > (LLONG_MAX / 2) >> shift)
		return -1;
	return n << shift;
}

long parse_cpus(const char *text)
{
	char *end;
	double cpus = strtod(text, &end);

	if (end == text || *end != '\0' || !(cpus >= 0.01) || cpus > sysconf(_SC_NPROCESSORS_ONLN))
		return -1;
	return (long)(cpus * CPU_PERIOD + 0.5);
}
