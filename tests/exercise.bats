#!/usr/bin/env bats
# The workshop's build-it-yourself route: make exercise N=K hands out stage
# K-1 with TODOs for stage K, and make grade N=K runs stage K's tests on it.
# Proven for every stage from 02 on, both ways: the exercise as handed out
# does not pass, and the stage's own files, copied in, do - so that no
# exercise is solved already, and none is unsolvable. In a scratch MY, never
# the checkout's my/. (Not run by make vmtest: what this proves is the
# exercise, and the suite proves each stage on that kernel itself.)

load helpers

setup() {
	setup_stage
	MY=$TEST_TMP/my
}
teardown() { teardown_stage; }

stage_dir_of() { (cd "$ROOT" && printf '%s\n' "$(printf '%02d' "$1")"-*); }

# The stages under test that have an exercise: 02 on.
exercise_stages() {
	local n
	for n in $(stages_under_test); do
		[ "$n" -ge 2 ] && echo "$n"
	done
}

# A file of the exercise with its TODO comments taken out again.
without_todos() { perl -0pe 's{^[ \t]*/\*(?: |\n[ \t]* \* )TODO [0-9]+ of [0-9]+\b.*?\*/\n}{}gms' "$1"; }

grade() { run env MY="$MY" "$ROOT/tools/grade" "$@"; }

@test "exercise: each is the stage before, with one TODO for each place its page names, and builds" {
	for n in $(exercise_stages); do
		dir=$(stage_dir_of "$n") old=$(stage_dir_of $((n - 1)))
		run "$ROOT/tools/exercise" "$n" "$MY"
		[ "$status" -eq 0 ] || fail "stage $n: $output"
		places=$(sed -n '/^## Build it yourself/,/^## /p' "$ROOT/docs/$dir.md" | grep -c '^- \*\*')
		todos=$(cat "$MY/$dir"/* | grep -o 'TODO [0-9]* of [0-9]*' | sort -u | wc -l)
		[ "$places" -gt 0 ] && [ "$todos" -eq "$places" ] || fail "stage $n: $todos TODOs for $places places"
		# Take the TODOs out again: what is left is the stage before, whole;
		# but a header the stage changes comes as the stage has it, the
		# interface its TODOs are written to.
		for file in "$ROOT/$old"/*; do
			from=$file
			[[ $file != *.h || ! -e $ROOT/$dir/${file##*/} ]] || from=$ROOT/$dir/${file##*/}
			without_todos "$MY/$dir/${file##*/}" | diff -u "$from" - || fail "stage $n: ${file##*/} is not what it should be"
		done
		make -s -C "$ROOT" MY="$MY" "$MY/stage$n" || fail "stage $n's exercise does not build"
	done
}

# What a test compares word for word, the participant must be told: every
# message a stage adds that its tests, or the contract's, compare is in that
# stage's TODOs, unless the test marks it "# free wording".
@test "exercise: every message a stage adds that its tests compare is in its handout" {
	for n in $(exercise_stages); do
		run "$ROOT/tools/exercise" --words "$n"
		[ "$status" -eq 0 ] || fail "stage $n: $output"
	done
}

# The check above can fail: a page whose list lost a message a test
# compares is caught.
@test "exercise: a message missing from the handout is caught" {
	cp -a "$ROOT/tools" "$ROOT/08-netns-veth" "$ROOT/07-user-map" "$TEST_TMP/"
	mkdir "$TEST_TMP/docs" "$TEST_TMP/tests"
	cp "$ROOT/tests/08-netns-veth.bats" "$ROOT/tests/contract.bats" "$TEST_TMP/tests/"
	cp "$ROOT/stage.h" "$TEST_TMP/"
	perl -0pe 's/the container\s+gets lo only`/`/' "$ROOT/docs/08-netns-veth.md" >"$TEST_TMP/docs/08-netns-veth.md"
	run "$TEST_TMP/tools/exercise" --words 8
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	[[ $output == *'"no CAP_NET_ADMIN on the host, so no veth pair: the container gets lo only" is compared there, and is in no TODO'* ]] ||
		fail "$output"
}

# A file the stage adds comes as a skeleton: its own helpers, and a TODO
# where the functions its header declares were.
@test "exercise: a helper file comes as a skeleton, without the functions its header declares" {
	"$ROOT/tools/exercise" 8 "$MY" >/dev/null
	skeleton=$MY/08-netns-veth/netlink.c
	[ -f "$skeleton" ] && [ -f "$MY/08-netns-veth/netlink.h" ] || fail "$(ls "$MY/08-netns-veth")"
	grep -q '^static int nl_talk(' "$skeleton" || fail "no nl_talk() to send and read the acknowledgment"
	! grep -q '^int add_veth_pair(' "$skeleton" || fail "add_veth_pair() is handed out"
	grep -q 'TODO [0-9]* of [0-9]* (netlink.c)' "$skeleton" || fail "no TODO in the skeleton"
}

@test "exercise: one that exists is never overwritten, and the line says how to start over" {
	"$ROOT/tools/exercise" 4 "$MY"
	echo "/* my work */" >>"$MY/04-pid/main.c"
	run "$ROOT/tools/exercise" 4 "$MY"
	[ "$status" -eq 1 ] || fail "exit $status"
	[[ $output == *"$MY/04-pid exists"*"rm -r $MY/04-pid && make exercise N=4"* ]] || fail "$output"
	[ "$(tail -n 1 "$MY/04-pid/main.c")" = "/* my work */" ]
}

# Its first test is enough to show that it fails: the whole file, against a
# program that keeps none of its promises, waits out every test's timeout.
@test "grade: the exercise as handed out does not pass, for every stage" {
	for n in $(exercise_stages); do
		dir=$(stage_dir_of "$n")
		"$ROOT/tools/exercise" "$n" "$MY" >/dev/null
		first=$(grep -m 1 '^@test "' "$ROOT/tests/$dir.bats" | sed -E 's/^@test "(.*)" \{$/\1/')
		ONLY="^$(sed 's/[][\.^$*+?(){}|]/\\&/g' <<<"$first")\$" grade "$n"
		[ "$status" -eq 1 ] || fail "stage $n's untouched exercise passes: $output"
		[[ $output == *"not yet  "*"The first that does not yet: "* ]] || fail "stage $n: $output"
		[[ $output == *"0 of 1 promises hold."* ]] || fail "stage $n: $output"
	done
}

@test "grade: each stage's own files, copied into its exercise, pass" {
	for n in $(exercise_stages); do
		dir=$(stage_dir_of "$n")
		"$ROOT/tools/exercise" "$n" "$MY" >/dev/null
		cp "$ROOT/$dir"/*.[ch] "$MY/$dir/"
		grade "$n"
		[ "$status" -eq 0 ] || fail "stage $n: $(grep -v '^   holds' <<<"$output")"
		[[ $output =~ ([0-9]+)" of "([0-9]+)" promises hold." ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
			fail "stage $n: $output"
	done
}

@test "grade: with no N it grades every stage under my/, and a build's warning is an error it shows" {
	"$ROOT/tools/exercise" 2 "$MY" >/dev/null
	"$ROOT/tools/exercise" 3 "$MY" >/dev/null
	cp "$ROOT/$(stage_dir_of 2)"/main.c "$MY/$(stage_dir_of 2)/"
	perl -0pi -e 's/(\nint main\(.*\)\n\{\n)/$1\tint unused;\n/' "$MY/$(stage_dir_of 3)/main.c"
	grep -qx $'\tint unused;' "$MY/$(stage_dir_of 3)/main.c"
	grade
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	[[ $output == *"== stage 2: "*"promises hold."*"== stage 3: "* ]] || fail "$output"
	# gcc's words, or clang's: "unused variable 'unused' [-Werror,-Wunused-variable]"
	[[ $output == *"error: unused variable "*"unused"*"-Werror"*"not yet: it does not build"* ]] || fail "$output"
}

# From a copy: the checkout may be in a home directory closed to that user.
@test "grade: as an ordinary user, it says that the tests need sudo" {
	mkdir "$TEST_TMP/tools"
	cp "$ROOT/tools/grade" "$TEST_TMP/tools/"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$TEST_TMP/tools/grade" 4
	[ "$status" -eq 1 ] && [ "$output" = "grade: the tests need root: sudo make grade N=4" ] || fail "exit $status: $output"
}
