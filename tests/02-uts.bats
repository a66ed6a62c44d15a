#!/usr/bin/env bats
# Stage 02: a UTS namespace and a hostname of the container's own.

load helpers

setup() { setup_stage 2; }
teardown() { teardown_stage; }

@test "stage2: the hostname inside is 'container' by default" {
	run "$STAGE" -q hostname
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" container
}

@test "stage2: -n and --hostname name it, as uname -n shows too" {
	run "$STAGE" -q -n box1 uname -n
	same "$output" box1
	run "$STAGE" -q --hostname box2 hostname
	same "$output" box2
}

@test "stage2: a hostname set inside leaves the host's alone" {
	run "$STAGE" -q -n from-stage2 sh -c 'hostname renamed-inside && hostname'
	same "$output" renamed-inside
	same "$(hostname)" "$HOST_NAME"
	same "$(uname -n)" "$HOST_NAME"
}

@test "stage2: inside, the UTS namespace is new and every other is the host's" {
	assert_new_namespaces "uts"
}

@test "stage2: from the host, nsenter into the container's UTS namespace sees its name" {
	start_stage 2 -q -n seen-from-host sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts"
	same "$(nsenter --uts --target "$CHILD" hostname)" seen-from-host
}

@test "stage2: a hostname longer than 64 bytes is refused with exit 125" {
	run "$STAGE" -q -n "$(printf 'x%.0s' {1..65})" true
	[ "$status" -eq 125 ] || fail "exit $status: $output"
	same "$output" "stage2: child: sethostname: Invalid argument (a hostname is at most 64 bytes)"
}
