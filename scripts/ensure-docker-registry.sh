#!/usr/bin/env bash
# pretest: the OCI integration tests run Debian's docker-registry (distribution 2.8) on loopback.
set -euo pipefail
bin=${DOCKER_REGISTRY_BIN:-/usr/bin/docker-registry}
if [ -x "$bin" ] || command -v docker-registry >/dev/null 2>&1; then
  exit 0
fi
echo "pretest: docker-registry is missing; installing Debian's docker-registry package" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
elif sudo -n true 2>/dev/null; then
  apt_get() { sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
else
  cat >&2 <<'MSG'
pretest: cannot install docker-registry: not root and no password-less sudo.
  Install it once, then run the tests again:
    sudo apt-get install -y docker-registry
  or point DOCKER_REGISTRY_BIN at a distribution 2.8 'registry' binary.
MSG
  exit 1
fi
# Install without starting the packaged service: the tests start their own on a random port.
export RUNLEVEL=1
if ! apt_get install -y --no-install-recommends docker-registry >/dev/null 2>&1; then
  apt_get update >/dev/null
  apt_get install -y --no-install-recommends docker-registry >/dev/null || {
    echo "pretest: 'apt-get install docker-registry' failed; see the apt output above and retry by hand." >&2
    exit 1
  }
fi
echo "pretest: installed $(command -v docker-registry)" >&2
