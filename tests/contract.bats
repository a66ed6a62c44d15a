#!/usr/bin/env bats
# What every stage promises (../shared/CONTRACT.md, "Running"), checked for
# each stage in $STAGES (make sets it; by default every stage built).
# The rows that differ from stage to stage are in that stage's own file.

load helpers

setup() {
	require_root
	require_tools
	TEST_TMP=$(mktemp -d)
	chmod 755 "$TEST_TMP"
	[ -n "$(stages_under_test)" ] || fail "no stage is built: run make"
}

teardown() {
	teardown_stage
}

@test "every stage: the command's exit status is the stage's" {
	for n in $(stages_under_test); do
		for code in 0 3 255; do
			run "$(stage_bin "$n")" -q sh -c "exit $code"
			[ "$status" -eq "$code" ] || fail "stage$n: sh exited $code, the stage $status"
		done
	done
}

@test "every stage: a first process killed by signal N makes the stage exit 128+N" {
	for n in $(stages_under_test); do
		start_stage "$n" -q sleep 1000
		wait_until command_is "$CHILD" sleep
		kill -KILL "$CHILD"
		wait_stage
		[ "$STAGE_STATUS" -eq 137 ] || fail "stage$n: exit $STAGE_STATUS after SIGKILL, expected 137"
	done
}

@test "every stage: a missing command is 127 with one error line" {
	for n in $(stages_under_test); do
		capture "$(stage_bin "$n")" -q /no/such/command
		[ "$status" -eq 127 ] || fail "stage$n: exit $status, expected 127"
		[ "$output" = "stage$n: cannot run '/no/such/command': No such file or directory" ] ||
			fail "stage$n printed: $output"
	done
}

@test "every stage: a command that cannot be executed is 126" {
	printf 'not a program\n' >"$TEST_TMP/data"
	chmod 644 "$TEST_TMP/data"
	for n in $(stages_under_test); do
		run "$(stage_bin "$n")" -q "$TEST_TMP/data"
		[ "$status" -eq 126 ] || fail "stage$n: exit $status, expected 126"
		[[ $output == "stage$n: cannot run "*": Permission denied" ]] || fail "stage$n printed: $output"
	done
}

@test "every stage: a bad option prints the usage and exits 125" {
	for n in $(stages_under_test); do
		run "$(stage_bin "$n")" --no-such-option
		[ "$status" -eq 125 ] || fail "stage$n: exit $status, expected 125"
		[[ $output == *"usage: stage$n "* ]] || fail "stage$n printed no usage: $output"
	done
}

@test "every stage: -h and --help print the usage on stdout and exit 0" {
	for n in $(stages_under_test); do
		for opt in -h --help; do
			run sh -c '"$1" "$2" 2>/dev/null' sh "$(stage_bin "$n")" "$opt"
			[ "$status" -eq 0 ] || fail "stage$n $opt: exit $status"
			[[ $output == "usage: stage$n "* ]] || fail "stage$n $opt printed: $output"
		done
	done
}

@test "every stage: options stop at the command, which keeps its own" {
	for n in $(stages_under_test); do
		run "$(stage_bin "$n")" -q sh -c 'echo "$@"' sh -q -h
		[ "$status" -eq 0 ] && [ "$output" = "-q -h" ] || fail "stage$n: $status, $output"
	done
}

@test "every stage: the default command is /bin/sh" {
	for n in $(stages_under_test); do
		run sh -c 'echo "echo \$((6 * 7))" | "$1" -q' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ "$output" = 42 ] || fail "stage$n: $status, $output"
	done
}

@test "every stage: progress lines go to stderr, say who speaks, and -q silences them" {
	for n in $(stages_under_test); do
		run sh -c '"$1" true 2>&1 >/dev/null' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ -n "$output" ] || fail "stage$n: no progress lines"
		while IFS= read -r line; do
			[[ $line == parent:* || $line == child:* ]] || fail "stage$n: '$line' says not who speaks"
		done <<<"$output"
		run sh -c '"$1" -q true 2>&1' sh "$(stage_bin "$n")"
		[ "$status" -eq 0 ] && [ -z "$output" ] || fail "stage$n -q still printed: $output"
	done
}

# The container's shell traps each signal and exits with its number, so the
# exit status says which signal arrived. `wait` returns as soon as a trapped
# signal comes in; the trap kills the sleep so that nothing is left behind.
TRAP_SCRIPT='
trap "kill \$!; exit 1" HUP
trap "kill \$!; exit 2" INT
trap "kill \$!; exit 3" QUIT
trap "kill \$!; exit 15" TERM
sleep 1000 &
echo ready
wait'

@test "every stage: SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the container" {
	for n in $(stages_under_test); do
		for sig in INT TERM HUP QUIT; do
			start_stage "$n" -q sh -c "$TRAP_SCRIPT"
			wait_until grep -qx ready "$TEST_TMP/out"
			kill -"$sig" "$STAGE_PID"
			wait_stage
			[ "$STAGE_STATUS" -eq "$(kill -l "$sig")" ] ||
				fail "stage$n: SIG$sig gave exit $STAGE_STATUS; $(cat "$TEST_TMP/out")"
		done
	done
}

@test "every stage: kill -9 of the stage kills the container's first process" {
	for n in $(stages_under_test); do
		start_stage "$n" -q sleep 1000
		wait_until command_is "$CHILD" sleep
		kill -KILL "$STAGE_PID"
		wait_stage
		wait_until process_gone "$CHILD" || fail "stage$n: the container outlived its stage"
		CHILD=
	done
}

@test "every stage: the command starts with exactly fds 0, 1 and 2" {
	for n in $(stages_under_test); do
		exec 7</dev/null # inherited by the stage, besides bats' own
		start_stage "$n" -q sleep 1000
		exec 7<&-
		wait_until command_is "$CHILD" sleep
		[ -e "/proc/$STAGE_PID/fd/7" ] || fail "stage$n did not inherit fd 7: the test proves nothing"
		fds=$(ls "/proc/$CHILD/fd" | sort -n | tr '\n' ' ')
		[ "$fds" = "0 1 2 " ] || fail "stage$n: the command has fds $fds"
		stop_stage
	done
}

@test "every stage: as an ordinary user, a stage that needs root says so and exits 125" {
	for n in $(stages_under_test); do
		cp "$(stage_bin "$n")" "$TEST_TMP/"
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$TEST_TMP/stage$n" -q id -u
		if [ "$n" -eq 1 ]; then # clone() without a namespace needs no privilege
			[ "$status" -eq 0 ] && [ "$output" = 65534 ] || fail "stage1 as nobody: $status, $output"
			continue
		fi
		[ "$status" -eq 125 ] || fail "stage$n as nobody: exit $status, expected 125"
		[[ $output == "stage$n: "*": Operation not permitted (run it with sudo)" ]] ||
			fail "stage$n as nobody printed: $output"
		[ "$(grep -c . <<<"$output")" -eq 1 ] || fail "stage$n: more than one error line: $output"
	done
}
