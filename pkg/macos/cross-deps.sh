#!/bin/bash
# Cross-build warden's library dependencies (jansson, sqlite3, libxml2, yara, libcrypto, pcre2)
# for macOS from Debian's own source packages, with Zig's clang, into
# $CACHE/sysroot-<arch> (outside the clone; a finished library is never rebuilt).
# Usage: cross-deps.sh ZIG ARCH [CACHE]   ARCH: aarch64 | x86_64
set -euo pipefail
ZIG=$1 ARCH=$2 CACHE=${3:-/var/cache/warden-macos}
TARGET=$ARCH-macos.13.0
HOST=$ARCH-apple-darwin
[ "$ARCH" = aarch64 ] && HOST=aarch64-apple-darwin
SYSROOT=$CACHE/sysroot-$ARCH
SRC=$CACHE/src
BLD=$CACHE/build-$ARCH
JOBS=${JOBS:-2}
mkdir -p "$SYSROOT/include" "$SYSROOT/lib" "$SRC" "$BLD"

# zig cc as a plain cross compiler (autotools wants one word per tool: small wrappers).
WRAP=$CACHE/bin-$ARCH
mkdir -p "$WRAP"
printf '#!/bin/sh\nexec "%s" cc -target %s "$@"\n' "$ZIG" "$TARGET" >"$WRAP/cc"
printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$ZIG" >"$WRAP/ar"
printf '#!/bin/sh\nexec "%s" ranlib "$@"\n' "$ZIG" >"$WRAP/ranlib"
chmod +x "$WRAP/cc" "$WRAP/ar" "$WRAP/ranlib"
export CC=$WRAP/cc AR=$WRAP/ar RANLIB=$WRAP/ranlib CFLAGS="-O2" CPPFLAGS="-I$SYSROOT/include"

# Debian source packages through a private deb-src list: the machine's apt state is
# left alone.
fetch_src() { # package [suite] -> prints the unpacked directory
	local pkg=$1 suite=${2:-bookworm} d
	d=$(ls -d "$SRC/$pkg"-*/ 2>/dev/null | head -1 || true)
	if [ -z "$d" ]; then
		local apt=$CACHE/apt-$suite
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
		if [ ! -f "$apt/sources.list" ]; then
			echo "deb-src http://deb.debian.org/debian $suite main" >"$apt/sources.list"
			[ "$suite" != bookworm ] ||
				echo "deb-src http://deb.debian.org/debian-security bookworm-security main" >>"$apt/sources.list"
		fi
		local o=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
		         -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Get::Only-Source=true)
		[ -n "$(ls "$apt/lists" 2>/dev/null | grep -v partial)" ] || apt-get "${o[@]}" update -qq >&2
		(cd "$SRC" && apt-get "${o[@]}" source -qq "$pkg" >&2)
		d=$(ls -d "$SRC/$pkg"-*/ | head -1)
	fi
	echo "${d%/}"
}

have() { [ -f "$SYSROOT/lib/$1" ]; }

build_jansson() {
	have libjansson.a && return 0
	local s b; s=$(fetch_src jansson); b=$BLD/jansson; rm -rf "$b"; mkdir -p "$b"
	(cd "$b" && cmake -S "$s" -B . -DCMAKE_SYSTEM_NAME=Darwin -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_AR="$AR" -DCMAKE_RANLIB="$RANLIB" -DCMAKE_BUILD_TYPE=Release \
		-DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON \
		-DJANSSON_BUILD_SHARED_LIBS=OFF -DCMAKE_INSTALL_PREFIX="$SYSROOT" >/dev/null && \
		make -s -j"$JOBS" && make -s install >/dev/null) >&2
}

build_sqlite() {
	have libsqlite3.a && return 0
	local s b; s=$(fetch_src sqlite3); b=$BLD/sqlite3; rm -rf "$b"; mkdir -p "$b"
	# The amalgamation is generated on the host (tclsh), then compiled for the Mac.
	(cd "$b" && "$s/configure" -q CC=cc CFLAGS=-O1 CPPFLAGS= >/dev/null && make -s sqlite3.c) >&2
	"$CC" -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION -c "$b/sqlite3.c" -o "$b/sqlite3.o"
	"$AR" rcs "$SYSROOT/lib/libsqlite3.a" "$b/sqlite3.o"
	cp "$b/sqlite3.h" "$SYSROOT/include/"
}

build_libxml2() {
	have libxml2.a && return 0
	local s b; s=$(fetch_src libxml2); b=$BLD/libxml2; rm -rf "$b"; mkdir -p "$b"
	(cd "$b" && cmake -S "$s" -B . -DCMAKE_SYSTEM_NAME=Darwin -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_AR="$AR" -DCMAKE_RANLIB="$RANLIB" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_SHARED_LIBS=OFF -DLIBXML2_WITH_PYTHON=OFF -DLIBXML2_WITH_LZMA=OFF \
		-DLIBXML2_WITH_ZLIB=OFF -DLIBXML2_WITH_ICONV=OFF -DLIBXML2_WITH_ICU=OFF \
		-DLIBXML2_WITH_HTTP=OFF -DLIBXML2_WITH_FTP=OFF -DLIBXML2_WITH_MODULES=OFF \
		-DLIBXML2_WITH_PROGRAMS=OFF -DLIBXML2_WITH_TESTS=OFF \
		-DCMAKE_INSTALL_PREFIX="$SYSROOT" >/dev/null && \
		make -s -j"$JOBS" && make -s install >/dev/null) >&2
}

build_openssl() {
	have libcrypto.a && return 0
	local s b t; s=$(fetch_src openssl); b=$BLD/openssl; rm -rf "$b"; cp -a "$s" "$b"
	t=darwin64-x86_64-cc; [ "$ARCH" = aarch64 ] && t=darwin64-arm64-cc
	(cd "$b" && CFLAGS="-O2 -DOPENSSL_NO_APPLE_CRYPTO_RANDOM" ./Configure "$t" no-asm no-shared no-tests no-engine \
		no-dso no-async --prefix="$SYSROOT" --libdir=lib CC="$CC" AR="$AR" RANLIB="$RANLIB" && \
		make -s -j"$JOBS" build_generated >/dev/null && make -s -j"$JOBS" libcrypto.a >/dev/null && \
		cp libcrypto.a "$SYSROOT/lib/" && cp -r include/openssl "$SYSROOT/include/") >&2
}

build_yara() {
	have libyara.a && return 0
	# bookworm's yara orig tarball is not served by the mirror reachable here; trixie's
	# 4.5 source is (same C API as the 4.2 the Linux build uses).
	local s b; s=$(fetch_src yara trixie); b=$BLD/yara; rm -rf "$b"; cp -a "$s" "$b"
	(cd "$b" && autoreconf -fi >/dev/null 2>&1 && \
		./configure -q --host="$HOST" --prefix="$SYSROOT" --disable-shared --enable-static \
		--without-crypto --disable-magic --disable-cuckoo --disable-dotnet --disable-proc-scan && \
		make -s -j"$JOBS" libyara.la >/dev/null && \
		cp .libs/libyara.a "$SYSROOT/lib/" && cp -r libyara/include/yara libyara/include/yara.h \
		"$SYSROOT/include/") >&2
}

build_pcre2() {
	have libpcre2-8.a && return 0
	# the path regexes (profiles/pathregex.c), the version the Linux build uses. The
	# mirror here may serve the upstream tarball without the Debian .dsc: that is enough.
	local s b t
	s=$(ls -d "$SRC"/pcre2-10*/ 2>/dev/null | head -1 || true)
	if [ -z "$s" ]; then
		(fetch_src pcre2 >/dev/null 2>&1) || true
		s=$(ls -d "$SRC"/pcre2-10*/ 2>/dev/null | head -1 || true)
	fi
	if [ -z "$s" ]; then
		t=$(ls "$SRC"/pcre2_10.42*.orig.tar.* 2>/dev/null | head -1 || true)
		[ -n "$t" ] || return 1
		tar -C "$SRC" -xf "$t"
		s=$(ls -d "$SRC"/pcre2-10*/ | head -1)
	fi
	s=${s%/}; b=$BLD/pcre2; rm -rf "$b"; mkdir -p "$b"
	# the interpreter is enough (no JIT: macOS wants MAP_JIT and the hardened runtime's
	# entitlement for it)
	(cd "$b" && cmake -S "$s" -B . -DCMAKE_SYSTEM_NAME=Darwin -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_AR="$AR" -DCMAKE_RANLIB="$RANLIB" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_BUILD_PCRE2_16=OFF \
		-DPCRE2_BUILD_PCRE2_32=OFF -DPCRE2_SUPPORT_JIT=OFF -DPCRE2_BUILD_PCRE2GREP=OFF \
		-DPCRE2_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX="$SYSROOT" >/dev/null && \
		make -s -j"$JOBS" && make -s install >/dev/null) >&2
}

for dep in ${DEPS:-jansson sqlite libxml2 openssl yara pcre2}; do
	if "build_$dep"; then echo "cross-deps: $dep ok for $ARCH"
	else echo "cross-deps: $dep FAILED for $ARCH" >&2; fi
done
