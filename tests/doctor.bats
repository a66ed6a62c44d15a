#!/usr/bin/env bats
# make doctor (tools/doctor): the preflight for a workshop machine. On this
# machine, as root, every stage runs; where user namespaces are off it says
# which stages will not run and gives the fix - and it changes nothing.

load helpers

setup() { setup_stage; }
teardown() { teardown_stage; }

@test "doctor: as root here, every stage will run and it exits 0" {
	run "$ROOT/tools/doctor"
	[ "$status" -eq 0 ] || fail "doctor exited $status: $output"
	grep -qx "All $(ls -d "$ROOT"/[0-9][0-9]-*/ | wc -l) stages will run here." <<<"$output" ||
		fail "no verdict that every stage runs: $output"
	! grep -q '^FAIL' <<<"$output" || fail "a check failed here: $output"
}

# The limit is set inside a throwaway user namespace: the host's stays.
@test "doctor: with user namespaces off, stage 7 will not run, and the fix names the sysctl" {
	run unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0"' "$ROOT/tools/doctor"
	[ "$status" -eq 1 ] || fail "doctor exited $status, not 1: $output"
	grep -q '^FAIL.*fix: .*sysctl -w user.max_user_namespaces=' <<<"$output" ||
		fail "no FAIL line with the sysctl fix: $output"
	grep -Eq '^ +stage7 +07-user-map +will not run' <<<"$output" ||
		fail "stage 7 not said to fail: $output"
	grep -Eq '^ +stage1 +01-clone +will run' <<<"$output" || fail "stage 1 not said to run: $output"
}
