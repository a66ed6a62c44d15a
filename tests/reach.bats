#!/usr/bin/env bats
# What root inside each stage from 06 on can still do to the host, under
# sudo and without it, as tools/reach tries it and each page's table shows
# it. A later stage that takes an item away changes its row here.

load helpers

setup() { setup_stage; }
teardown() { teardown_stage; }

# The answer stage N is meant to give, under sudo and without: yes, no, or
# - where there is nothing to try (no limit to raise; stage 6 needs sudo).
expected() { # n probe
	local n=$1 sudo user=no
	case $2 in
	kmsg | network) sudo=$([ "$n" -lt 7 ] && echo yes || echo no) ;;
	sysctl) sudo=$([ "$n" -lt 15 ] && echo yes || echo no) ;;
	rootfs) sudo=$([ "$n" -lt 10 ] && echo yes || echo no) ;;
	memory) sudo=$([ "$n" -lt 9 ] && echo - || echo no) user=- ;;
	esac
	[ "$n" -ge 7 ] || user=-
	echo "$sudo $user"
}

@test "reach: what root inside each stage can do to the host, under sudo and without, is what its page says" {
	local found=0 row
	for n in $(stages_under_test); do
		[ "$n" -ge 6 ] || continue
		found=1
		run env ROOTFS="${ROOTFS:-$ROOT/rootfs}" "$ROOT/tools/reach" "$n" "$(stage_bin "$n")"
		[ "$status" -eq 0 ] || fail "stage $n: exit $status: $output"
		for probe in kmsg:"make a device node" sysctl:"open /proc/sys" network:"add a link" \
			rootfs:"change a file of root's" memory:"raise its own memory"; do
			row=$(grep -F "${probe#*:}" <<<"$output")
			read -r s u < <(expected "$n" "${probe%%:*}")
			[[ $row =~ [[:space:]]${s}[[:space:]]+${u}[[:space:]] ]] ||
				fail "stage $n, ${probe%%:*}: expected '$s $u' under sudo and without: $row"
		done
		# The table on the page is tools/reach's output (docs.bats keeps it so),
		# from 13 on run in a network namespace of its own, as the host.
		page=$(ls "$ROOT"/docs/"$(printf '%02d' "$n")"-*.md)
		grep -qE "^\\$ sudo (unshare -n )?tools/reach $n\$" "$page" || fail "${page##*/} shows no tools/reach table"
	done
	[ "$found" -eq 1 ] || skip "no stage from 6 on is under test"
}
