#!/usr/bin/env bats
# make doctor (tools/doctor): the preflight for a workshop machine. On this
# machine, as root, every stage runs; where user namespaces are off it says
# which stages will not run and gives the fix - and it changes nothing.
# And tools/needs, which make test runs first to install what it lacks.

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

# The limit is set inside a throwaway user namespace: the host's stays. Root
# there is uid 0 alone, who may not pass a checkout in a home directory: it
# runs a copy of doctor, beside the stages' directories it names.
@test "doctor: with user namespaces off, stage 7 will not run, and the fix names the sysctl" {
	mkdir "$TEST_TMP/tools"
	cp "$ROOT/tools/doctor" "$TEST_TMP/tools/"
	for dir in "$ROOT"/[0-9][0-9]-*/; do mkdir "$TEST_TMP/$(basename "$dir")"; done
	run unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0"' "$TEST_TMP/tools/doctor"
	[ "$status" -eq 1 ] || fail "doctor exited $status, not 1: $output"
	grep -q '^FAIL.*fix: .*sysctl -w user.max_user_namespaces=' <<<"$output" ||
		fail "no FAIL line with the sysctl fix: $output"
	grep -Eq '^ +stage7 +07-user-map +will not run' <<<"$output" ||
		fail "stage 7 not said to fail: $output"
	grep -Eq '^ +stage1 +01-clone +will run' <<<"$output" || fail "stage 1 not said to run: $output"
}

# A PATH of only what tools/needs itself runs hides every tool the tests use.
@test "needs: where it may not install (no root, or no apt-get), make test names the packages and stops" {
	mkdir "$TEST_TMP/bin"
	for tool in bash dirname id sort tr printf ldd grep cat env; do
		ln -s "$(type -P "$tool")" "$TEST_TMP/bin/$tool"
	done
	run env PATH="$TEST_TMP/bin" "$ROOT/tools/needs"
	[ "$status" -eq 1 ] || fail "as root without apt-get: exit $status: $output"
	[[ $output == "make test needs: sudo apt-get install "*bats*iproute2*strace*util-linux ]] || fail "$output"
	cp "$ROOT/tools/needs" "$TEST_TMP/needs" # the checkout may be closed to that user
	run setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$TEST_TMP/bin" "$TEST_TMP/needs"
	[ "$status" -eq 1 ] || fail "as a user: exit $status: $output"
	[[ $output == *"(or sudo make test, which installs them)" ]] || fail "$output"
	run "$ROOT/tools/needs"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "with everything here: exit $status: $output"
}
