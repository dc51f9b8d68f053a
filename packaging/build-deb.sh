#!/usr/bin/env bash
# Build sunplug's .deb from an already built binary with plain dpkg-deb: the same package `cargo deb`
# makes from Cargo.toml's [package.metadata.deb], without compiling cargo-deb. The file list, modes,
# control fields and maintainer scripts are read from that table, so the two cannot drift apart.
#
# Usage: packaging/build-deb.sh [--bin PATH] [--out DIR] [--fast]
#   --bin   the sunplug binary (default: target/release/sunplug); it is stripped in the package
#   --out   where the .deb goes (default: target/debian); its path is printed on the last line
#   --fast  gzip -1 instead of xz (quicker, bigger; the tests use it)
# Needs: dpkg-deb (Debian: dpkg). Uses dpkg-shlibdeps (dpkg-dev) for Depends when present.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
BIN=target/release/sunplug
OUT=target/debian
COMPRESS=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="${2:?--bin needs a path}"; shift 2 ;;
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --fast) COMPRESS=(-Zgzip -z1); shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "build-deb: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found (on Debian: apt-get install dpkg)"
[ -x "$BIN" ] || die "no binary at $BIN (cargo build --release first, or pass --bin PATH)"

# --- Cargo.toml: [package] and [package.metadata.deb] -------------------------------------------
section() { awk -v s="[$1]" '$0 == s { on = 1; next } /^\[/ { on = 0 } on' Cargo.toml; }
key() { # key SECTION NAME: a one-line string value
  section "$1" | sed -n "s/^$2 = \"\\(.*\\)\"\$/\\1/p" | head -n1
}
NAME=$(key package name)
VERSION=$(key package version)
SUMMARY=$(key package description)
META=package.metadata.deb
MAINTAINER=$(key "$META" maintainer)
COPYRIGHT=$(key "$META" copyright)
DEPENDS=$(key "$META" depends)
SUGGESTS=$(key "$META" suggests)
SECTION=$(key "$META" section)
PRIORITY=$(key "$META" priority)
REVISION=$(key "$META" revision)
SCRIPTS=$(key "$META" maintainer-scripts)
LICENSE=$(key package license)
# extended-description = """\ ... """ with a backslash at each line's end.
EXTENDED=$(section "$META" | awk '
  /^extended-description = """/ { on = 1; next }
  on && /"""$/ { sub(/"""$/, ""); sub(/\\$/, ""); printf "%s", $0; exit }
  on { sub(/\\$/, ""); printf "%s", $0 }')
for v in NAME VERSION SUMMARY MAINTAINER DEPENDS SECTION PRIORITY SCRIPTS EXTENDED; do
  [ -n "${!v}" ] || die "Cargo.toml: [$META] or [package] has no ${v,,} the script can read"
done
ASSETS=$(section "$META" | sed -n 's/^ *\["\([^"]*\)", "\([^"]*\)", "\([0-7]*\)"\],\{0,1\}$/\1\t\2\t\3/p')
[ -n "$ASSETS" ] || die "Cargo.toml: [$META] assets has no line of the form [\"source\", \"dest\", \"mode\"]"

ARCH=$(dpkg --print-architecture 2>/dev/null) \
  || die "cannot tell the Debian architecture (dpkg --print-architecture)"
DEB_VERSION="$VERSION${REVISION:+-$REVISION}"

# --- stage ---------------------------------------------------------------------------------------
mkdir -p "$OUT"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT="$STAGE/root"
mkdir -p "$ROOT/DEBIAN"
dest_of() { # dest_of SOURCE DEST: DEST ending in / is a directory
  case "$2" in */) echo "$ROOT/$2$(basename "$1")" ;; *) echo "$ROOT/$2" ;; esac
}
place() { # place FILE TO MODE, a conffile when under /etc
  install -D -m "$3" "$1" "$2"
  case "$2" in "$ROOT"/etc/*) echo "/${2#"$ROOT"/}" >> "$ROOT/DEBIAN/conffiles" ;; esac
}
while IFS=$'\t' read -r src dest mode; do
  case "$src" in
    target/release/*)
      # cargo-deb's name for "the binary cargo built": here, the one given, stripped as cargo-deb does.
      to=$(dest_of "$src" "$dest")
      place "$BIN" "$to" "$mode"
      if command -v strip >/dev/null 2>&1; then strip --strip-unneeded "$to"; fi
      ;;
    *)
      found=0
      for f in $src; do # a glob, as cargo-deb takes it
        [ -f "$f" ] || continue
        place "$f" "$(dest_of "$f" "$dest")" "$mode"
        found=1
      done
      [ "$found" = 1 ] || die "asset $src matches no file"
      ;;
  esac
done <<< "$ASSETS"

# The copyright file cargo-deb writes from `copyright` and `license-file`.
DOC="$ROOT/usr/share/doc/$NAME"
install -d "$DOC"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: $NAME"
  echo "Copyright: $COPYRIGHT"
  echo "License: $LICENSE"
  echo "  at your option; the Apache-2.0 text is /usr/share/common-licenses/Apache-2.0 on Debian."
  echo
  cat LICENSE-MIT
} > "$DOC/copyright"
chmod 644 "$DOC/copyright"

for s in preinst postinst prerm postrm; do
  [ -f "$SCRIPTS$s" ] && install -m 755 "$SCRIPTS$s" "$ROOT/DEBIAN/$s"
done

# Depends: `$auto` is what the binary links against, as cargo-deb computes it.
if [[ "$DEPENDS" == *'$auto'* ]]; then
  AUTO=""
  if command -v dpkg-shlibdeps >/dev/null 2>&1; then
    mkdir -p "$STAGE/shlibs/debian" && : > "$STAGE/shlibs/debian/control"
    AUTO=$(cd "$STAGE/shlibs" && dpkg-shlibdeps -O -e "$ROOT/usr/bin/$NAME" 2>/dev/null \
      | sed -n 's/^shlibs:Depends=//p') || AUTO=""
  fi
  if [ -z "$AUTO" ]; then
    GLIBC=$(objdump -T "$ROOT/usr/bin/$NAME" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
      | sort -V | tail -n1 || true)
    AUTO="libc6${GLIBC:+ (>= $GLIBC)}, libgcc-s1"
  fi
  DEPENDS="${DEPENDS//\$auto/$AUTO}"
fi

SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
{
  echo "Package: $NAME"
  echo "Version: $DEB_VERSION"
  echo "Architecture: $ARCH"
  echo "Maintainer: $MAINTAINER"
  echo "Installed-Size: $SIZE"
  echo "Depends: $DEPENDS"
  [ -n "$SUGGESTS" ] && echo "Suggests: $SUGGESTS"
  echo "Section: $SECTION"
  echo "Priority: $PRIORITY"
  echo "Description: $SUMMARY"
  echo "$EXTENDED" | fold -s -w 78 | sed 's/ *$//; s/^/ /'
} > "$ROOT/DEBIAN/control"

DEB="$OUT/${NAME}_${DEB_VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group "${COMPRESS[@]}" --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
