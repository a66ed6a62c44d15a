#!/usr/bin/env bats
# Stage 11: a time namespace - CLOCK_MONOTONIC and CLOCK_BOOTTIME of the
# container's own, from near 0 or from --uptime; the wall clock the host's.
# The same on Linux 6.1, where an exec does not enter a time namespace, and
# on newer kernels, where it does (make vmtest runs the first).

load helpers

setup() {
	setup_stage 11
	ROOTFS_DIR=${ROOTFS:-$ROOT/rootfs}
	[ -x "$ROOTFS_DIR/bin/sh" ] || fail "no rootfs at $ROOTFS_DIR: run make rootfs"
}

teardown() {
	teardown_stage
}

stage11() { "$STAGE" -r "$ROOTFS_DIR" "$@"; }

# A kernel before 5.6, or without CONFIG_TIME_NS, has none: the stage then
# runs on the host's clocks (the refusal test below), and these skip.
require_timens() {
	[ -e /proc/self/ns/time ] || skip "no time namespace in this kernel (Linux 5.6 on, with CONFIG_TIME_NS)"
}

# The first field of /proc/uptime: CLOCK_BOOTTIME, in seconds.
uptime_now() { cut -d' ' -f1 /proc/uptime; }

# Is A <= B <= C, for decimal numbers?
between() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(a <= b && b <= c) }'; }

# One clock's offset, in whole seconds, from /proc/PID/timens_offsets:
# "monotonic S N" and "boottime S N", S + N/1e9 the offset.
offset_of() { awk -v clock="$2" '$1 == clock { print $2 }' "/proc/$1/timens_offsets"; }

@test "stage11: inside, /proc/uptime starts below 3 s while the host's is far larger" {
	require_timens
	run stage11 -q cat /proc/uptime
	host=$(uptime_now)
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	inside=${output%% *}
	between 0 "$inside" 3 || fail "the container's uptime is $inside s (the host's $host s)"
	between "$(awk -v i="$inside" 'BEGIN { print i + 5 }')" "$host" inf || fail "the host's uptime is $host s, the container's $inside s"
}

@test "stage11: with --uptime 86400 the container reads a day of uptime, and the kernel holds both offsets" {
	require_timens
	run stage11 -q --uptime 86400 cat /proc/uptime
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between 86400 "${output%% *}" 86403 || fail "the container's uptime is $output"
	start_stage 11 -r "$ROOTFS_DIR" --uptime 86400 sleep 1000
	wait_until command_is "$CHILD" sleep
	host=$(uptime_now)
	boot=$(offset_of "$CHILD" boottime) mono=$(offset_of "$CHILD" monotonic)
	# The boottime offset is the day less the host's uptime at the start,
	# a little before $host (its seconds part rounds down); the monotonic
	# clock, which stops in a suspend, was at most as far on.
	between "$(awk -v h="$host" 'BEGIN { print 86400 - h - 1 }')" "$boot" "$(awk -v h="$host" 'BEGIN { print 86400 - h + 10 }')" ||
		fail "boottime offset $boot s, the host's uptime $host s"
	between "$boot" "$mono" 86400 || fail "monotonic offset $mono s, boottime $boot s"
	run stage11 -q --uptime -1 true
	[ "$status" -eq 125 ] || fail "--uptime -1: exit $status: $output"
}

# The stage in a time namespace of offsets of its own (unshare --time): a new
# one starts with those, and the offsets written replace them - each counts
# from the host's clocks, not from the clocks the stage reads.
@test "stage11: started in a time namespace a day ahead, the container's uptime still starts near 0, or at --uptime" {
	require_timens
	run unshare --time --fork --boottime 86400 --monotonic 86400 "$STAGE" -q -r "$ROOTFS_DIR" cat /proc/uptime
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between 0 "${output%% *}" 3 || fail "the container's uptime is ${output%% *} s"
	run unshare --time --fork --boottime 86400 --monotonic 86400 "$STAGE" -q -r "$ROOTFS_DIR" --uptime 1000 cat /proc/uptime
	[ "$status" -eq 0 ] || fail "--uptime 1000: exit $status: $output"
	between 1000 "${output%% *}" 1003 || fail "--uptime 1000: the container's uptime is ${output%% *} s"
}

@test "stage11: the time namespace is new, inside and from the host, and owned by the container's user namespace" {
	require_timens
	assert_new_namespaces "cgroup ipc mnt net pid user uts time"
	run stage11 -q sh -c 'readlink /proc/self/ns/time; readlink /proc/self/ns/time_for_children'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "${lines[0]}" = "${lines[1]}" ] || fail "time and time_for_children differ inside: $output"
	start_stage 11 -r "$ROOTFS_DIR" sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "cgroup ipc mnt net pid user uts time"
	# lsns: each namespace of the container and its owner, a user namespace.
	owners=$(lsns -n -p "$CHILD" -o TYPE,ONS | awk '$1 != "user" { print $2 }' | sort -u)
	user=$(lsns -n -p "$CHILD" -t user -o NS | tr -d ' ')
	[ "$owners" = "$user" ] || fail "owners $owners, the container's user namespace $user: $(lsns -p "$CHILD" -o NS,TYPE,ONS)"
}

@test "stage11: the wall clock inside is the host's" {
	before=$(date +%s)
	run stage11 -q --uptime 1000 date +%s
	after=$(date +%s)
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between "$before" "$output" "$after" || fail "inside $output, the host $before to $after"
}

@test "stage11: the host's clocks and time namespace, and the stage's own, are untouched" {
	require_timens
	ns=$(readlink /proc/self/ns/time)
	host_before=$(uptime_now)
	start_stage 11 -r "$ROOTFS_DIR" --uptime 1000 sleep 1000
	wait_until command_is "$CHILD" sleep
	for pid in $$ "$STAGE_PID"; do
		for link in time time_for_children; do
			[ "$(readlink "/proc/$pid/ns/$link")" = "$ns" ] || fail "$pid's $link is $(readlink "/proc/$pid/ns/$link"), not $ns"
		done
		[ "$(tr -s ' ' <"/proc/$pid/timens_offsets")" = $'monotonic 0 0\nboottime 0 0' ] ||
			fail "$pid's offsets: $(cat "/proc/$pid/timens_offsets")"
	done
	host_after=$(uptime_now)
	between "$host_before" "$host_after" "$(awk -v h="$host_before" 'BEGIN { print h + 60 }')" ||
		fail "the host's uptime went from $host_before to $host_after"
}

@test "stage11: an exec inside stays in the container's time namespace, and so do its children's children" {
	require_timens
	run stage11 -q --uptime 1000 sh -c 'exec cat /proc/uptime'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between 1000 "${output%% *}" 1003 || fail "after an exec: $output"
	run stage11 -q --uptime 1000 sh -c 'sh -c "sh -c \"cat /proc/uptime\""'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between 1000 "${output%% *}" 1003 || fail "a grandchild: $output"
	# The first process itself, from the host: its exec kept it in.
	start_stage 11 -r "$ROOTFS_DIR" sh -c 'exec sleep 1000'
	wait_until command_is "$CHILD" sleep
	[ "$(readlink "/proc/$CHILD/ns/time")" != "$(readlink /proc/self/ns/time)" ] || fail "the exec'd sleep is in the host's time namespace"
	[ "$(readlink "/proc/$CHILD/ns/time")" = "$(readlink "/proc/$CHILD/ns/time_for_children")" ] || fail "its children would be elsewhere"
}

@test "stage11: as an ordinary user (uid 65534) the container gets its own clocks too" {
	require_timens
	cp "$STAGE" "$TEST_TMP/stage11"
	copy_rootfs "$TEST_TMP/rootfs"
	run bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups ./stage11 -q --uptime 1000 \
		sh -c "cat /proc/uptime; readlink /proc/self/ns/time; cat /proc/self/uid_map"' bash "$TEST_TMP"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	between 1000 "${lines[-3]%% *}" 1003 || fail "$output"
	[ "${lines[-2]}" != "$(readlink /proc/self/ns/time)" ] || fail "the host's time namespace: $output"
	[ "$(echo ${lines[-1]})" = "0 65534 1" ] || fail "$output"
}

# strace fails the child's second unshare(), the time namespace's (the first
# is the cgroup namespace's), as a kernel without CONFIG_TIME_NS would.
@test "stage11: where the kernel refuses a time namespace, the stage says so in one line and runs on the host's clocks" {
	require_strace
	run strace -f -qq -o /dev/null -e trace=unshare -e inject=unshare:error=EINVAL:when=2 \
		"$STAGE" -q -r "$ROOTFS_DIR" sh -c 'cut -d" " -f1 /proc/uptime; readlink /proc/self/ns/time; readlink /proc/self/ns/cgroup'
	host=$(uptime_now)
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "${lines[0]}" "stage11: no time namespace (unshare: Invalid argument): the container runs with the host's clocks"
	between "$(awk -v h="$host" 'BEGIN { print h - 5 }')" "${lines[1]}" "$host" || fail "uptime ${lines[1]}, the host's $host: $output"
	[ "${lines[2]}" = "$(readlink /proc/self/ns/time)" ] || fail "$output"
	[ "${lines[3]}" != "$(readlink /proc/self/ns/cgroup)" ] || fail "the cgroup namespace failed instead: $output"
	[ "${#lines[@]}" -eq 4 ] || fail "$output"
}

@test "stage11: nothing is left on the host after an exit or kill -9: the time namespace goes with the container" {
	require_timens
	start_stage 11 -r "$ROOTFS_DIR" sleep 1000
	wait_until command_is "$CHILD" sleep
	child=$CHILD
	ns=$(readlink "/proc/$child/ns/time")
	lsns -n -t time -o NS | grep -qx " *${ns//[^0-9]/}" || fail "lsns does not list $ns"
	kill -KILL "$STAGE_PID"
	wait_stage
	wait_until process_gone "$child"
	! lsns -n -t time -o NS | grep -qx " *${ns//[^0-9]/}" || fail "$ns is still there: $(lsns -t time)"
	run stage11 -q true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
}
