#!/usr/bin/env bats
# Stage 05: a mount namespace, made private, and a proc of the container's own.

load helpers

setup() { setup_stage 5; }
teardown() { teardown_stage; }

@test "stage5: ps inside lists the container's processes and nothing else" {
	run "$STAGE" -q ps -e -o pid=,comm=
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$(echo $output)" = "1 ps" ] || fail "ps inside listed: $output"
}

@test "stage5: inside, the UTS, IPC, PID and mount namespaces are new and every other is the host's" {
	assert_new_namespaces "uts ipc pid mnt"
}

@test "stage5: from the host, the container's proc is in its mount table and not in the host's" {
	start_stage 5 -q sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts ipc pid mnt"
	[ "$(grep -c ' /proc .* - proc ' "/proc/$CHILD/mountinfo")" -eq "$(($(grep -c ' /proc .* - proc ' /proc/self/mountinfo) + 1))" ] ||
		fail "$(grep ' /proc ' "/proc/$CHILD/mountinfo")"
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "the host's mount table changed"
}

@test "stage5: the container's proc is mounted nosuid, nodev and noexec" {
	run "$STAGE" -q sh -c "grep ' /proc .* - proc ' /proc/self/mountinfo | tail -n 1"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	for flag in nosuid nodev noexec; do
		[[ $output == *"$flag"* ]] || fail "no $flag: $output"
	done
}

# systemd makes / shared, and a mount on a shared mount propagates to all its
# peers - the host's included. The simulation: a mount namespace of the test's
# own (private from the real host, so that a stage that gets it wrong cannot
# harm this machine) whose mounts are then made shared, as under systemd.
# Inside it the stage runs; after it, that namespace's /proc must still be
# its own and working.
@test "stage5: the host's /proc still works after the container, also when / is shared as under systemd" {
	run unshare -m --propagation private sh -c '
		mount --make-rshared / || exit 99
		[ "$(findmnt -no PROPAGATION /proc)" = shared ] || exit 98
		before=$(grep -c " /proc .* - proc " /proc/self/mountinfo)
		"$1" -q true || exit 97
		[ "$(grep -c " /proc .* - proc " /proc/self/mountinfo)" -eq "$before" ] || { echo "a proc mount propagated"; exit 1; }
		[ -e /proc/$$/status ] || { echo "/proc/$$ is gone: /proc is the container'"'"'s"; exit 2; }
		ps -o pid= -p $$ >/dev/null || { echo "ps is broken"; exit 3; }' sh "$STAGE"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
}

@test "stage5: the host's mount table is the same before and after, also after a failed start" {
	run "$STAGE" -q true
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	capture "$STAGE" -q /no/such/command
	[ "$status" -eq 127 ] || fail "exit $status: $output"
	[ "$(cat /proc/self/mountinfo)" = "$HOST_MOUNTS" ] || fail "the host's mount table changed"
	[ -e "/proc/$$/status" ]
}

@test "stage5: the hostname and pid 1 still hold" {
	run "$STAGE" -q sh -c 'echo "$(hostname) $$"'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" "container 1"
}
