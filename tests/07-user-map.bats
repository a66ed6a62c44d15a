#!/usr/bin/env bats
# Stage 07: a user namespace - an ordinary user is root in a container.
# The unprivileged runs are as nobody (65534), with a copy of the binary and
# the rootfs in a directory nobody can read.

load helpers

setup() {
	setup_stage 7
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
	cp "$STAGE" "$TEST_TMP/stage7"
	copy_rootfs "$TEST_TMP/rootfs"
}

teardown() {
	[ -z "${JAIL:-}" ] || unmount_chroot "$JAIL"
	teardown_stage
}

as_nobody() { (cd "$TEST_TMP" && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }
stage7_as_nobody() { as_nobody "$TEST_TMP/stage7" -r "$TEST_TMP/rootfs" "$@"; }

@test "stage7: as nobody, id -u is 0 inside, and the maps say root is 65534 outside" {
	run stage7_as_nobody -q sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(echo $output)" = "0 0 0 65534 1 0 65534 1 deny" ] || fail "$output"
}

@test "stage7: from the host, the container runs as nobody in new user, UTS, IPC, PID and mount namespaces" {
	(cd "$TEST_TMP" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TEST_TMP/stage7" -r "$TEST_TMP/rootfs" -q sleep 1000) >"$TEST_TMP/out" 2>&1 3>&- &
	STAGE_PID=$! # the subshell execs setpriv, which execs the stage
	wait_until command_is "$STAGE_PID" stage7
	wait_until has_child "$STAGE_PID"
	CHILD=$(first_child_of "$STAGE_PID")
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "user uts ipc pid mnt"
	grep -Eq '^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534$' "/proc/$CHILD/status" ||
		fail "$(grep ^Uid "/proc/$CHILD/status")"
}

@test "stage7: as nobody, pid 1, the hostname, and a /proc of the container's own still hold" {
	run stage7_as_nobody -q sh -c 'hostname; echo $$; ps -o pid= | wc -l'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(echo $output)" = "container 1 3" ] || fail "$output" # ps lists sh, ps and wc
}

@test "stage7: root inside cannot write a file of the host's root in the rootfs" {
	before=$(cat "$TEST_TMP/rootfs/etc/passwd")
	run stage7_as_nobody -q sh -c 'stat -c %u /etc/passwd; echo intruder >>/etc/passwd'
	[ "$status" -ne 0 ] || fail "the write succeeded: $output"
	[ "${lines[0]}" = 65534 ] || fail "$output" # the unmapped host root shows as the overflow uid
	[[ $output == *"Permission denied"* ]] || fail "$output"
	same "$(cat "$TEST_TMP/rootfs/etc/passwd")" "$before"
}

@test "stage7: as nobody, the command's exit status is the stage's" {
	run stage7_as_nobody -q sh -c 'exit 7'
	[ "$status" -eq 7 ] || fail "exit $status: $output"
}

# The limit set inside a throwaway user namespace of the test's own: the
# host's sysctl does not change. Root there is uid 0 alone, who may not pass
# a checkout in a home directory: it runs the copies.
@test "stage7: with user namespaces disabled, exit 125 and a hint that make doctor says which setting" {
	run unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$1" -q -r "$2" true' sh \
		"$TEST_TMP/stage7" "$TEST_TMP/rootfs"
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage7: clone: No space left on device (no more user namespaces allowed here: sudo make doctor says which setting)"
}

@test "stage7: a rootfs the user cannot read is 125, naming it" {
	chmod 700 "$TEST_TMP/rootfs"
	run stage7_as_nobody -q true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage7: rootfs $TEST_TMP/rootfs: Permission denied (the container's root is you on the host, and you cannot read it)"
}

# Under sudo root inside is uid 0 alone: to a rootfs of another owner it is
# "others", and one that others may not enter stops the child, not us.
@test "stage7: under sudo, a rootfs another uid keeps to itself is 125, and the hint says root inside is others there" {
	chown -hR 1000:1000 "$TEST_TMP/rootfs"
	chmod 0700 "$TEST_TMP/rootfs"
	run "$TEST_TMP/stage7" -q -r "$TEST_TMP/rootfs" true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage7: child: bind the rootfs $TEST_TMP/rootfs onto itself: Permission denied (under sudo, root inside is 'others' to another user's rootfs: chmod o+rx it)"
}

# "dev/.." is the image's path: a dev that is a link out of the rootfs would
# lead the child anywhere - to the host's /, which --chroot would then keep.
@test "stage7: a rootfs whose dev is a link out of it is refused with 125, and nothing runs" {
	rm -r "$TEST_TMP/rootfs/dev"
	ln -s / "$TEST_TMP/rootfs/dev"
	run "$TEST_TMP/stage7" -q -r "$TEST_TMP/rootfs" --chroot sh -c 'echo ran; ls /'
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage7: child: chdir dev/.. in $TEST_TMP/rootfs: Too many levels of symbolic links (its dev must be a directory, not a link)"
}

@test "stage7: as root, the same container maps root to root" {
	run "$STAGE" -q -r "$ROOTFS_DIR" sh -c 'id -u; cat /proc/self/uid_map; echo $$; hostname'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(echo $output)" = "0 0 0 1 1 container" ] || fail "$output"
}

@test "stage7: /sys is left empty: a new sysfs needs a network namespace of the user's own" {
	run stage7_as_nobody -q sh -c 'ls -A /sys | wc -l'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" 0
}

# The kernel refuses a user namespace to a process whose root is not its mount
# namespace's, root or not: the line must say so, with the errno of clone(),
# however the hint found out - in a chroot with a /proc to read mountinfo
# from, and in a bare one, where looking for it fails with ENOENT.
jailed_stage7() {
	JAIL=$TEST_TMP/jail
	make_chroot "$JAIL" "$STAGE" /bin/true
	mkdir "$JAIL/proc"
	[ "$1" = without ] || mount -t proc proc "$JAIL/proc"
	capture chroot "$JAIL" /stage7 -q -r / /bin/true
	[ "$1" = without ] || umount "$JAIL/proc"
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage7: clone: Operation not permitted (a user namespace cannot be made from inside a chroot)"
}

@test "stage7: in a chroot, clone() is refused with EPERM, and the line says it is the chroot" {
	jailed_stage7 with
}

# A sanitizer's runtime needs /proc itself: tools/sanitize leaves this one out.
# bats test_tags=bare-chroot
@test "stage7: in a bare chroot, with no /proc, the line still has clone()'s EPERM and the chroot" {
	jailed_stage7 without
}
