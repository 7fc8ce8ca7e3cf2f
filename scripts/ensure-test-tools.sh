#!/usr/bin/env bash
# pretest: the integration tests run real tools from Debian: docker-registry (an OCI
# registry, distribution 2.8), kubectl (renders the kustomize manifests; Debian's
# kubernetes-client when no kubectl is installed), openssl (throwaway TLS certificates) and
# faketime (`npm run test:future` runs the suite with the clock 400 days ahead); then the
# peer tools cosign, oras and skopeo into .peers/ (scripts/ensure-peers.sh).
# Installs whichever is missing; says what to run when it cannot.
set -euo pipefail
need=()
[ -x "${DOCKER_REGISTRY_BIN:-/usr/bin/docker-registry}" ] || command -v docker-registry >/dev/null 2>&1 ||
  need+=(docker-registry)
command -v "${KUBECTL:-kubectl}" >/dev/null 2>&1 || need+=(kubernetes-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
peers() { exec bash "$(dirname "$0")/ensure-peers.sh"; }
[ "${#need[@]}" -eq 0 ] && peers

echo "pretest: installing ${need[*]} from Debian" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
elif sudo -n true 2>/dev/null; then
  apt_get() { sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
else
  cat >&2 <<MSG
pretest: cannot install ${need[*]}: not root and no password-less sudo.
  Install them once, then run the tests again:
    sudo apt-get install -y ${need[*]}
  (or point DOCKER_REGISTRY_BIN / KUBECTL at existing binaries).
MSG
  exit 1
fi
# The packaged docker-registry service is not started: the tests run their own on random ports.
export RUNLEVEL=1
if ! apt_get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt_get update >/dev/null
  apt_get install -y --no-install-recommends "${need[@]}" >/dev/null || {
    echo "pretest: 'apt-get install ${need[*]}' failed; run it by hand to see why." >&2
    exit 1
  }
fi
echo "pretest: installed ${need[*]}" >&2
peers
