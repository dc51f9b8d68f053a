#!/usr/bin/env bash
# Follow README.md "Run it as a service" into a temporary root, step by step, and fail if any step
# does. No systemd and no root needed: /etc/sunplug becomes $ROOT/etc/sunplug, and check-config runs
# as the unit would run it, with the secrets as its credentials directory (LoadCredential=).
# Usage: packaging/test-install.sh [path/to/sunplug]   (default: target/release, else target/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-}"
if [ -z "$BIN" ]; then
  for b in target/release/sunplug target/debug/sunplug; do
    [ -x "$b" ] && BIN="$b" && break
  done
fi
[ -x "${BIN:-}" ] || { echo "test-install: no sunplug binary (cargo build first)" >&2; exit 1; }
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
step() { echo "test-install: $*"; }

# The README's steps, with /etc and /usr/local under $ROOT and without sudo.
step "install the binary"
install -d "$ROOT/usr/local/bin" && install -m 755 "$BIN" "$ROOT/usr/local/bin/"
step "create /etc/sunplug and its secrets directory"
install -d -m 755 "$ROOT/etc/sunplug" && install -d -m 700 "$ROOT/etc/sunplug/secrets"
step "copy the example config and the policies"
cp examples/sunplug.toml "$ROOT/etc/sunplug/" && cp -r policies "$ROOT/etc/sunplug/"
step "write the secrets"
printf '%s' 'your-smappee-password' > "$ROOT/etc/sunplug/secrets/smappee-password"
printf '%s' 'your-client-secret' > "$ROOT/etc/sunplug/secrets/smappee-client-secret"
printf '%s' 'your-enode-client-secret' > "$ROOT/etc/sunplug/secrets/enode-client-secret"
chmod 600 "$ROOT"/etc/sunplug/secrets/*

# Every credential the unit loads must exist (systemd refuses to start otherwise).
step "the unit's LoadCredential= files exist"
grep -E '^LoadCredential=' packaging/sunplug.service | while IFS=: read -r name path; do
  name="${name#LoadCredential=}"
  f="$ROOT$path"
  [ -f "$f" ] || { echo "test-install: the unit loads $name from $path, which the recipe does not create" >&2; exit 1; }
done

# check-config as the unit runs it: the throw-away user cannot read the secrets' files, systemd
# hands them over as credentials. Copy them as systemd would, then check with --credentials.
step "check-config with the unit's credentials"
CREDS="$ROOT/run/credentials/sunplug.service"
install -d "$CREDS"
grep -E '^LoadCredential=' packaging/sunplug.service | while IFS=: read -r name path; do
  cp "$ROOT$path" "$CREDS/${name#LoadCredential=}"
done
"$ROOT/usr/local/bin/sunplug" check-config --credentials "$CREDS" "$ROOT/etc/sunplug/sunplug.toml"
step "check-config through CREDENTIALS_DIRECTORY, as under systemd"
CREDENTIALS_DIRECTORY="$CREDS" "$ROOT/usr/local/bin/sunplug" check-config "$ROOT/etc/sunplug/sunplug.toml" >/dev/null
step "the policy resolves inside /etc/sunplug"
grep -E '^policy = "policies/' "$ROOT/etc/sunplug/sunplug.toml" >/dev/null \
  || { echo "test-install: the example's policy is not under /etc/sunplug/policies" >&2; exit 1; }
[ -f "$ROOT/etc/sunplug/policies/pv-only.toml" ]
step "OK"
