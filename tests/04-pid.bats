#!/usr/bin/env bats
# Stage 04: a PID namespace; the command is its pid 1. /proc is still the
# host's, which is what stage 05 mends.

load helpers

setup() { setup_stage 4; }

teardown() {
	[ -z "${ORPHAN:-}" ] || pkill -KILL -fx "$ORPHAN" || true
	teardown_stage
}

@test "stage4: the command is pid 1: echo \$\$ prints 1" {
	run "$STAGE" -q sh -c 'echo $$'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" 1
}

@test "stage4: inside, the UTS, IPC and PID namespaces are new and every other is the host's" {
	assert_new_namespaces "uts ipc pid"
}

@test "stage4: from the host, the container's first process has two pids: its own and 1" {
	start_stage 4 -q sleep 1000
	wait_until command_is "$CHILD" sleep
	assert_new_namespaces_from_host "uts ipc pid"
	grep -Eq "^NSpid:[[:space:]]+${CHILD}[[:space:]]+1\$" "/proc/$CHILD/status"
}

@test "stage4: ps inside still lists host processes, because /proc is the host's" {
	run "$STAGE" -q ps -eo pid=
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	grep -qxE "[[:space:]]*$$" <<<"$output" # this test's own shell
}

@test "stage4: pid 1 ignores a signal it has no handler for, even from itself" {
	run "$STAGE" -q sh -c 'kill -TERM $$; echo survived'
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	same "$output" survived
	# The same command outside a PID namespace dies of it (128 + 15).
	run "$(stage_bin 1)" -q sh -c 'kill -TERM $$; echo survived'
	[ "$status" -eq 143 ] || fail "exit $status: $output"
}

# The sleep's own output is not run's pipe: a sleep that outlived pid 1 must
# fail the test, not hold run open until it ends.
@test "stage4: when pid 1 exits, the rest of its namespace is killed" {
	ORPHAN="sleep 98765$$"
	run "$STAGE" -q sh -c "$ORPHAN </dev/null >/dev/null 2>&1 & echo \$!"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ "$output" -gt 1 ] # a pid of the container's numbering
	wait_until sh -c "! pgrep -fx '$ORPHAN' >/dev/null"
}
