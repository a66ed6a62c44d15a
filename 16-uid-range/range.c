/*
 * range.c - the ids outside stage 16's container (range.h), from the files
 * shadow-utils keeps: /etc/subuid and /etc/subgid, /etc/passwd, /etc/group.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

#define FIRST_BLOCK 100000UL /* useradd's SUB_UID_MIN and SUB_GID_MIN */
#define LAST_ID 4294967294UL /* (uid_t)-1 is no id: setresuid()'s "unchanged" */

/* A decimal number that ends at END's first character: 0, or -1. */
static int number(const char *text, char **end, unsigned long *value)
{
	errno = 0;
	*value = strtoul(text, end, 10);
	return *end == text || errno || *value > LAST_ID ? -1 : 0;
}

/* "name:start:count": its name, cut at the first ':', and its range. */
static int subid_line(char *line, char **name, struct id_range *range)
{
	char *colon = strchr(line, ':'), *end;

	if (!colon)
		return -1;
	*colon = '\0';
	*name = line;
	if (number(colon + 1, &end, &range->start) < 0 || *end != ':' ||
	    number(end + 1, &end, &range->count) < 0 || (*end != '\n' && *end != '\0'))
		return -1;
	return range->count ? 0 : -1;
}

int subid_range(const char *file, const char *user, unsigned long id, struct id_range *range)
{
	FILE *f = fopen(file, "re");
	char line[512], *name, *end;
	unsigned long named;

	if (!f)
		return -1; /* ENOENT: none there */
	while (fgets(line, sizeof(line), f)) {
		if (subid_line(line, &name, range) < 0)
			continue;
		if (strcmp(name, user) == 0 ||
		    (number(name, &end, &named) == 0 && !*end && named == id)) {
			(void)fclose(f);
			if (range->count > RANGE_COUNT)
				range->count = RANGE_COUNT;
			return 0;
		}
	}
	(void)fclose(f);
	errno = ENOENT;
	return -1;
}

/* Does a line of /etc/subuid or /etc/subgid overlap [start, start + count)? */
static int subid_overlaps(const char *file, unsigned long start, unsigned long count)
{
	FILE *f = fopen(file, "re");
	char line[512], *name;
	struct id_range held;
	int overlaps = 0;

	if (!f)
		return 0;
	while (!overlaps && fgets(line, sizeof(line), f))
		overlaps = subid_line(line, &name, &held) == 0 && held.start < start + count &&
			   start < held.start + held.count;
	(void)fclose(f);
	return overlaps;
}

/* Does an id in /etc/passwd or /etc/group ("name:x:id:...") fall in it? */
static int id_in(const char *file, unsigned long start, unsigned long count)
{
	FILE *f = fopen(file, "re");
	char line[1024], *id, *end;
	unsigned long value;
	int in = 0;

	if (!f)
		return 0;
	while (!in && fgets(line, sizeof(line), f)) {
		id = strchr(line, ':');
		id = id ? strchr(id + 1, ':') : NULL;
		in = id && number(id + 1, &end, &value) == 0 && value >= start &&
		     value < start + count;
	}
	(void)fclose(f);
	return in;
}

int free_range(struct id_range *range)
{
	for (range->start = FIRST_BLOCK; range->start + RANGE_COUNT - 1 <= LAST_ID;
	     range->start += RANGE_COUNT) {
		range->count = RANGE_COUNT;
		if (!subid_overlaps("/etc/subuid", range->start, range->count) &&
		    !subid_overlaps("/etc/subgid", range->start, range->count) &&
		    !id_in("/etc/passwd", range->start, range->count) &&
		    !id_in("/etc/group", range->start, range->count))
			return 0;
	}
	errno = ENOSPC;
	return -1;
}

static unsigned long sudo_id(const char *name)
{
	const char *value = getenv(name);

	return value ? strtoul(value, NULL, 10) : ULONG_MAX;
}

int sudo_user_range(struct id_range *uids, struct id_range *gids)
{
	const char *user = getenv("SUDO_USER");

	if (user && subid_range("/etc/subuid", user, sudo_id("SUDO_UID"), uids) == 0 &&
	    subid_range("/etc/subgid", user, sudo_id("SUDO_GID"), gids) == 0)
		return 0;
	if (free_range(uids) < 0)
		return -1;
	*gids = *uids;
	return 0;
}

int parse_range(const char *text, struct id_range *range)
{
	char *end;

	if (number(text, &end, &range->start) < 0 || *end != ':' ||
	    number(end + 1, &end, &range->count) < 0 || *end || range->count == 0 ||
	    range->count > RANGE_COUNT || range->start + range->count - 1 > LAST_ID)
		return -1;
	return 0;
}
