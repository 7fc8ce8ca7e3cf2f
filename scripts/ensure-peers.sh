#!/usr/bin/env bash
# pretest: the peer tests (test/integration/peers-*.test.ts) run real cosign 2.5, oras 1.2
# and skopeo 1.18 against the registry on loopback. Debian 12 has no cosign or oras, and its
# skopeo has sigstore disabled by a Debian patch, so these are Debian 13 (trixie) packages,
# downloaded with apt from the machine's own Debian mirror and unpacked into .peers/ (ignored
# by git; nothing installed system-wide). Each .peers/bin/<tool> runs its program through
# Debian 13's own C library, so it works on Debian 12. Cached: a second run only checks.
# Usage: scripts/ensure-peers.sh [DIR]   (DIR defaults to .peers beside scripts/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="${1:-$root/.peers}"
tools=(cosign oras skopeo)
# skopeo links these; cosign and oras are Go programs that need only the C library.
libs=(libc6 libgpgme11t64 libsqlite3-0 libassuan9 libgpg-error0)

works() {
  "$dir/bin/cosign" version >/dev/null 2>&1 && "$dir/bin/oras" version >/dev/null 2>&1 &&
    "$dir/bin/skopeo" --version >/dev/null 2>&1
}
works && exit 0

cannot() {
  cat >&2 <<MSG
pretest: cannot fetch the peer tools (cosign, oras, skopeo from Debian 13): $1
  The peer tests need them. Fix the cause above, then run:
    bash scripts/ensure-peers.sh
  It needs apt-get and dpkg-deb, /usr/share/keyrings/debian-archive-keyring.gpg and a
  Debian mirror in /etc/apt/sources.list(.d) that carries the trixie suite.
MSG
  exit 1
}
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || cannot "no apt-get/dpkg-deb"
uri=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  grep -v security | head -1 | grep -oE '[a-z]+://[^[:space:]]+' || true)
[ -n "$uri" ] || cannot "no Debian mirror found in /etc/apt"

echo "pretest: fetching ${tools[*]} (Debian 13) into $dir" >&2
apt="$dir/.apt"
rm -rf "$dir/root" "$dir/bin"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/preferences.d" "$dir/bin"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$apt/etc/sources.list"
opts=(-o Dir::Etc::SourceList="$apt/etc/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
  -o Dir::Etc::Preferences=/nonexistent -o Dir::Etc::PreferencesParts="$apt/etc/preferences.d")
apt-get "${opts[@]}" update -qq 2>"$apt/update.log" || cannot "apt-get update failed: $(tail -3 "$apt/update.log")"
rm -f "$apt"/*.deb
(cd "$apt" && apt-get "${opts[@]}" download -qq "${libs[@]}" "${tools[@]}") 2>"$apt/download.log" ||
  cannot "apt-get download failed: $(tail -3 "$apt/download.log")"
for deb in "$apt"/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
for tool in "${tools[@]}"; do
  printf '#!/bin/sh\n# Debian 13 %s, run with Debian 13'"'"'s C library (scripts/ensure-peers.sh).\nexec "%s/ld-linux-x86-64.so.2" --library-path "%s" "%s/usr/bin/%s" "$@"\n' \
    "$tool" "$lib" "$lib" "$dir/root" "$tool" >"$dir/bin/$tool"
  chmod +x "$dir/bin/$tool"
done
works || cannot "the unpacked tools do not run (try: $dir/bin/cosign version)"
for tool in "${tools[@]}"; do printf '%s %s\n' "$tool" "$(dpkg-deb -f "$apt/${tool}"_*.deb Version)"; done >"$dir/versions"
echo "pretest: peers ready: $(tr '\n' ' ' <"$dir/versions")" >&2
