#!/usr/bin/env bats
# Stage 10: the rootfs as the read-only lower layer of an overlay, and an
# upper layer for each container - on a tmpfs of its own, or in --keep DIR.

load helpers

# Each test runs its containers on a copy of the rootfs: a stage that writes
# into its image (a mutant, tests/mutations/10-rootfs-bound) spoils a copy.
setup() {
	setup_stage 10
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	IMAGE=$TEST_TMP/image
	copy_rootfs "$IMAGE"
}

teardown() {
	teardown_stage
}

stage10() { "$STAGE" -r "$IMAGE" "$@"; }

# Every path of an image with its type, mode, owner, size and link target,
# then every file's content, by hash.
image_tree() {
	(cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

assert_image_unchanged() {
	local now
	now=$(image_tree "$1")
	[ "$now" = "$2" ] || fail "the image changed: $(diff <(echo "$2") <(echo "$now"))"
}

@test "stage10: a container that deletes /bin/ls and rewrites files leaves every path, content, mode and owner of the image as it was" {
	before=$(image_tree "$IMAGE")
	run stage10 -q sh -c 'rm /bin/ls && echo changed >/etc/hostname && echo "10.0.0.1 x" >>/etc/hosts &&
		chmod 600 /etc/passwd && [ ! -e /bin/ls ] && cat /etc/hostname'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$output" = changed ] || fail "$output"
	assert_image_unchanged "$IMAGE" "$before"
	run stage10 -q sh -c 'ls /bin/ls && ! cat /etc/hostname'
	[ "$status" -eq 0 ] || fail "the next container has not the image as it was: $output"
}

# Removing a directory the container changed needs an xattr on the upper
# layer (it is made opaque): a tmpfs holds user.* xattrs from Linux 6.6 on.
@test "stage10: rm -r of an image directory works where a tmpfs holds user xattrs (Linux 6.6 on), and is EIO before" {
	before=$(image_tree "$IMAGE")
	run stage10 -q sh -c 'rm -r /usr && [ ! -e /usr ] && echo gone'
	IFS=. read -r major minor _ < <(uname -r)
	if ((major > 6 || (major == 6 && minor >= 6))); then
		[ "$status" -eq 0 ] && [ "$output" = gone ] || fail "exit $status: $output"
	else
		[ "$status" -eq 1 ] && [[ $output == *"Input/output error"* ]] || fail "exit $status: $output"
	fi
	assert_image_unchanged "$IMAGE" "$before"
}

@test "stage10: four containers at once on the one image each see their own writes, never another's" {
	children=()
	for i in 1 2 3 4; do
		start_stage 10 -r "$IMAGE" sh -c "echo $i >/etc/who && touch /only-$i && exec sleep 1000"
		MORE_STAGES="${MORE_STAGES:-} $STAGE_PID"
		children+=("$CHILD")
	done
	# /proc/PID/root: the container's / as its first process sees it.
	for i in 1 2 3 4; do
		wait_until test -e "/proc/${children[i - 1]}/root/only-$i"
	done
	for i in 1 2 3 4; do
		root=/proc/${children[i - 1]}/root
		[ "$(cat "$root/etc/who")" = "$i" ] || fail "container $i reads /etc/who: $(cat "$root/etc/who")"
		seen=$(cd "$root" && echo only-*)
		[ "$seen" = "only-$i" ] || fail "container $i sees $seen"
	done
	[ ! -e "$IMAGE/etc/who" ] || fail "the image has /etc/who"
}

@test "stage10: with --keep DIR a written file is in DIR/upper and nowhere else, and the next run continues from it" {
	keep=$TEST_TMP/changes
	before=$(image_tree "$IMAGE")
	run stage10 -q --keep "$keep" sh -c 'echo kept >/etc/note && rm /bin/ls'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(cat "$keep/upper/etc/note")" = kept ] || fail "$(ls -R "$keep")"
	[ "$(find "$keep" -name note)" = "$keep/upper/etc/note" ] || fail "$(find "$keep" -name note)"
	# A deletion is a whiteout: a character device 0:0 in the upper layer.
	[ "$(stat -c '%F %t:%T' "$keep/upper/bin/ls")" = "character special file 0:0" ] || fail "$(ls -l "$keep/upper/bin")"
	assert_image_unchanged "$IMAGE" "$before"
	run stage10 -q --keep "$keep" sh -c 'cat /etc/note; [ -e /bin/ls ] || echo "ls is still gone"'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$output" = $'kept\nls is still gone' ] || fail "$output"
}

@test "stage10: --keep refuses, with one line and 125, a directory the stage did not make or one in use, and writes nothing into it" {
	mkdir -p "$TEST_TMP/mine" "$TEST_TMP/empty" "$TEST_TMP/more/upper" "$TEST_TMP/more/work" "$TEST_TMP/more/merged"
	echo precious >"$TEST_TMP/mine/notes"
	echo precious >"$TEST_TMP/more/notes"
	for dir in mine empty more; do
		listing=$(ls -AR "$TEST_TMP/$dir")
		run stage10 -q --keep "$TEST_TMP/$dir" sh -c 'echo ran >/ran'
		[ "$status" -eq 125 ] || fail "$dir: exit $status: $output"
		same "$output" "stage10: --keep $TEST_TMP/$dir: File exists (it is not a directory the stage made: give --keep a new path)"
		[ "$(ls -AR "$TEST_TMP/$dir")" = "$listing" ] || fail "$dir was written into: $(ls -AR "$TEST_TMP/$dir")"
	done
	start_stage 10 -r "$IMAGE" --keep "$TEST_TMP/kept" sleep 1000
	wait_until test -e "/proc/$CHILD/root/etc/stage-rootfs"
	run stage10 -q --keep "$TEST_TMP/kept" true
	[ "$status" -eq 125 ] || fail "in use: exit $status: $output"
	same "$output" "stage10: --keep $TEST_TMP/kept: Resource temporarily unavailable (another container runs on it)"
	# Made under sudo, it is root's: not another user's to run on.
	stop_stage
	cp "$STAGE" "$TEST_TMP/stage10"
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage10 -q -r image --keep kept true' bash "$TEST_TMP"
	[ "$status" -eq 125 ] || fail "another user's: exit $status: $output"
	same "${lines[-1]}" "stage10: --keep kept: Permission denied (it and its layers must be yours, and it closed to others (0700): give --keep a new path)"
}

# Under sudo the stage is root, whom W_OK never refuses: whose DIR is, and
# who may write it, is what decides. A DIR another user made could hold what
# the container runs, and its owner could swap a layer for a link to a host
# directory between the stage's look and the child's mount.
@test "stage10: --keep refuses a DIR, or a layer in it, that another user owns or others may write or enter, and runs nothing" {
	mkdir -m 0755 "$TEST_TMP/theirs" "$TEST_TMP/open" "$TEST_TMP/layer" "$TEST_TMP/wide"
	chown 65534:65534 "$TEST_TMP/theirs"
	setpriv --reuid=65534 --regid=65534 --clear-groups mkdir -m 0755 "$TEST_TMP/theirs/k" \
		"$TEST_TMP/theirs/k/upper" "$TEST_TMP/theirs/k/work" "$TEST_TMP/theirs/k/merged"
	mkdir -m 0777 "$TEST_TMP/open/k"
	mkdir -m 0755 "$TEST_TMP/open/k/upper" "$TEST_TMP/open/k/work" "$TEST_TMP/open/k/merged"
	chmod 0777 "$TEST_TMP/open/k"
	mkdir -m 0700 "$TEST_TMP/layer/k"
	mkdir -m 0755 "$TEST_TMP/layer/k/upper" "$TEST_TMP/layer/k/work" "$TEST_TMP/layer/k/merged"
	chown 65534:65534 "$TEST_TMP/layer/k/upper"
	# Root's, but open to others: what the container's root writes, set-user-ID
	# files among it, others could run.
	mkdir -m 0755 "$TEST_TMP/wide/k" "$TEST_TMP/wide/k/upper" "$TEST_TMP/wide/k/work" "$TEST_TMP/wide/k/merged"
	for dir in theirs/k open/k layer/k wide/k; do
		run stage10 -q --keep "$TEST_TMP/$dir" sh -c 'echo ran >/ran'
		[ "$status" -eq 125 ] || fail "$dir: exit $status: $output"
		same "$output" "stage10: --keep $TEST_TMP/$dir: Permission denied (it and its layers must be yours, and it closed to others (0700): give --keep a new path)"
		[ ! -e "$TEST_TMP/$dir/upper/ran" ] || fail "$dir: the container ran"
	done
}

# The rootfs the child is born in (main()), but --keep DIR it walks to by
# path: past another user's home of mode 0750, root inside under sudo - uid 0
# alone, "others" there - may not. The line names DIR and says so.
@test "stage10: under sudo, --keep DIR inside another user's home of mode 0750 is 125, and the hint says where root inside may pass" {
	mkdir -m 0750 "$TEST_TMP/home"
	chown 1000:1000 "$TEST_TMP/home"
	run stage10 -q --keep "$TEST_TMP/home/kept" true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage10: child: chdir into --keep $TEST_TMP/home/kept: Permission denied (under sudo, root inside is uid 0 alone, and passes only where others may: choose a DIR such as /var/tmp/NAME)"
}

@test "stage10: nothing is left on the host after an exit, a failed start or kill -9: no mount, no tmpfs, no directory" {
	tmp_before=$(ls -A /tmp)
	: >"$TEST_TMP/out" # start_stage's own
	near_before=$(ls -A "$TEST_TMP")
	run stage10 -q sh -c 'echo x >/x; mkdir /tmp/y'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "a mount is left after an exit"
	start_stage 10 -r "$IMAGE" --net 7 sleep 1000
	wait_until test -e /sys/class/net/stage8-7
	MORE_STAGES=$STAGE_PID
	run stage10 -q --net 7 true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	stop_stage
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "a mount is left after a failed start"
	start_stage 10 -r "$IMAGE" sleep 1000
	child=$CHILD
	wait_until test -e "/proc/$child/root/etc/stage-rootfs"
	kill -KILL "$STAGE_PID"
	wait_stage
	wait_until process_gone "$child"
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "a mount is left after kill -9"
	[ "$(ls -A /tmp)" = "$tmp_before" ] || fail "/tmp: $(diff <(echo "$tmp_before") <(ls -A /tmp))"
	[ "$(ls -A "$TEST_TMP")" = "$near_before" ] || fail "beside the rootfs: $(ls -A "$TEST_TMP")"
	# The cgroup a kill -9 leaves (stage 09) goes with the next start.
	run stage10 -q true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
}

@test "stage10: the upper layer's tmpfs is memory charged to the container: 48M written is its cgroup's shmem, 100M under --memory 32M is OOM-killed" {
	# Read on the host, from the cgroup of the limits: the container's leaf,
	# below it, has no memory files of its own on v2. v1 counts the leaf's
	# pages in total_shmem, v2 in shmem. Polled: the kernel sums a parent's
	# counters lazily, and may show them only at its next flush (every 2 s).
	start_stage 10 -r "$IMAGE" -q --memory 128M sh -c 'dd if=/dev/zero of=/big bs=1M count=48 2>/dev/null &&
		echo written && exec sleep 1000'
	wait_until grep -qx written "$TEST_TMP/out" || fail "$(cat "$TEST_TMP/out")"
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		stat_file=$(stage_cgroups | grep "/stage10-$STAGE_PID\$")/memory.stat key=shmem
	else
		stat_file=$(stage_cgroups | grep "/memory/stage10-$STAGE_PID\$")/memory.stat key=total_shmem
	fi
	wait_until awk -v key="$key" -v least=$((48 << 20)) '$1 == key { found = $2 >= least } END { exit !found }' "$stat_file" ||
		fail "the cgroup's $key: $(grep "^$key " "$stat_file")"
	kill -KILL "$CHILD"
	wait_stage
	run stage10 -q --memory 32M dd if=/dev/zero of=/big bs=1M count=100
	[ "$status" -eq 137 ] || fail "exit $status: $output"
}

@test "stage10: as an ordinary user (uid 65534), on an image of its own, the container writes and the image stays as it was" {
	cp "$STAGE" "$TEST_TMP/stage10"
	chown -R 65534:65534 "$IMAGE"
	before=$(image_tree "$IMAGE")
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage10 -q -r image \
		sh -c "rm /bin/ls && echo nobody >/etc/hostname && cat /etc/hostname /proc/self/uid_map"' bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ $output == *$'\nnobody\n'*" 0 "*" 65534 "*" 1" ]] || fail "$output"
	assert_image_unchanged "$IMAGE" "$before"
}

@test "stage10: where the kernel refuses the overlay, the stage exits 125 with one line, and nothing runs on the image" {
	# overlayfs cannot be an upper layer: --keep DIR on an overlay, mounted
	# in a mount namespace of this test's own, so the host never sees it.
	mkdir "$TEST_TMP"/{lower,upper,work,over}
	run unshare -m --propagation private sh -c 'mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work" "$1/over" &&
		exec "$2" -q -r "$3" --keep "$1/over/kept" sh -c "echo ran >/ran"' sh "$TEST_TMP" "$STAGE" "$IMAGE"
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	[[ $output == "stage10: child: mount the overlay: "* ]] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	[ ! -e "$IMAGE/ran" ] || fail "the command ran on the image"
}
