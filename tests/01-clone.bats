#!/usr/bin/env bats
# Stage 01: clone() + exec + wait, and no namespace of its own.
# The exit codes, signals and the rest of the contract: contract.bats.

load helpers

setup() { setup_stage 1; }
teardown() { teardown_stage; }

@test "stage1: the command runs, with the stage's stdin and stdout" {
	run sh -c 'echo hello | "$1" -q cat' sh "$STAGE"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" hello
}

@test "stage1: the command is a child of the stage, with a pid of the host's" {
	start_stage 1 -q sleep 1000
	wait_until command_is "$CHILD" sleep
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$CHILD/status")" -eq "$STAGE_PID" ]
	grep -Eq "^NSpid:[[:space:]]+$CHILD\$" "/proc/$CHILD/status"
}

@test "stage1: inside, every namespace is the host's" {
	assert_new_namespaces ""
}

@test "stage1: from the host, the child's namespaces are its parent's" {
	start_stage 1 -q sleep 1000
	assert_new_namespaces_from_host ""
}
