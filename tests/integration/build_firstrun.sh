#!/usr/bin/env bash
# The README's first command works on a fresh machine: `make demo` runs `make deps`,
# which installs the -dev packages, and only then may the build ask pkg-config for their
# flags. Reading them when the makefile is parsed (before deps ran) broke the first run
# with "libxml/parser.h: No such file or directory"; a second run worked.
#
# A fresh machine is simulated with stand-ins first in PATH: dpkg-query says nothing is
# installed, apt-get "installs" by creating a marker file, and pkg-config fails (as for a
# package it does not know) until that marker exists, then is the real pkg-config. The
# build dir is a copy of $WARDEN_BUILD (timestamps kept) with profiles/plist.o (the one
# library file that includes libxml) removed, so the run compiles that file and relinks
# every binary: cheap, and exactly what fails without the packages' flags.
set -u
[ "$(id -u)" = 0 ] || exit 77   # make deps installs only as root
cd "$(dirname "$0")/../.."
repo=$PWD
: "${WARDEN_BUILD:?set WARDEN_BUILD (tests/run-integration.sh does)}"
for f in wardenctl wardend warden-sync libwarden.a obj/profiles/plist.o; do
	[ -e "$WARDEN_BUILD/$f" ] || { echo "build_firstrun: $WARDEN_BUILD/$f missing (make all first)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/warden-firstrun.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "build_firstrun: FAIL: $*" >&2; exit 1; }

mkdir "$T/bin"
cat >"$T/bin/dpkg-query" <<EOF
#!/bin/sh
[ -e "$T/installed" ] && exec /usr/bin/dpkg-query "\$@"
exit 1
EOF
cat >"$T/bin/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >>"$T/apt.log"
case "\$*" in *install*) touch "$T/installed" ;; esac
exit 0
EOF
cat >"$T/bin/pkg-config" <<EOF
#!/bin/sh
echo "pkg-config \$*" >>"$T/pkg-config.log"
[ -e "$T/installed" ] && exec /usr/bin/pkg-config "\$@"
echo "Package was not found in the pkg-config search path." >&2
exit 1
EOF
chmod 0755 "$T/bin/"*

# seed BUILD=dir with a copy of the build `all` made (not the san/fuzz trees)
seed() {   # seed DIR
	mkdir -p "$1"
	(cd "$WARDEN_BUILD" && cp -a --parents obj bpf ./*.a wardenctl wardend warden-sync \
		$(ls -d wardend-es tests/es_contract tests/es_backend_check 2>/dev/null) "$1/") || exit 1
	rm -f "$1/obj/profiles/plist.o" "$T/installed" "$T/apt.log" "$T/pkg-config.log"
}

# 1. make -j2 demo, the README's first command, on the "fresh" machine
seed "$T/b1"
PATH=$T/bin:$PATH make -C "$repo" --no-print-directory -j2 BUILD="$T/b1" demo </dev/null >"$T/demo.out" 2>&1
rc=$?
[ "$rc" = 0 ] || { cat "$T/demo.out"; fail "make demo failed on its first run (exit $rc)"; }
grep -q "install" "$T/apt.log" 2>/dev/null || { cat "$T/demo.out"; fail "make demo did not run make deps"; }
[ -s "$T/b1/obj/profiles/plist.o" ] || fail "make demo did not rebuild profiles/plist.o (the test tests nothing)"
[ "$T/b1/wardend" -nt "$T/b1/obj/profiles/plist.o" ] || fail "wardend was not relinked"
grep -q "Done: stopping wardend" "$T/demo.out" || { cat "$T/demo.out"; fail "the demo did not run to its end"; }
echo "make -j2 demo: first run passes (deps installed, then built, then the demo)"

# 2. make deps all in one invocation (serial: deps runs first, then the compiles)
seed "$T/b2"
PATH=$T/bin:$PATH make -C "$repo" --no-print-directory BUILD="$T/b2" deps all </dev/null >"$T/all.out" 2>&1
rc=$?
[ "$rc" = 0 ] || { cat "$T/all.out"; fail "make deps all failed on its first run (exit $rc)"; }
[ -s "$T/b2/obj/profiles/plist.o" ] && [ "$T/b2/wardenctl" -nt "$T/b2/obj/profiles/plist.o" ] ||
	fail "make deps all did not rebuild and relink"
echo "make deps all: first run passes"

# 3. without deps, a build on a machine that lacks the packages says what to do
seed "$T/b3"
PATH=$T/bin:$PATH make -C "$repo" --no-print-directory BUILD="$T/b3" all </dev/null >"$T/nodeps.out" 2>&1 &&
	fail "make all succeeded with no packages installed"
grep -q "make deps" "$T/nodeps.out" || { cat "$T/nodeps.out"; fail "make all without packages does not say to run make deps"; }
grep -q "libxml/parser.h" "$T/nodeps.out" && fail "make all without packages fails in the compiler instead of saying what is missing"
echo "make all without the packages: $(grep -m1 'make deps' "$T/nodeps.out")"
exit 0
