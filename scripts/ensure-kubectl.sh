#!/usr/bin/env bash
# pretest: the manifest test renders cluster/deploy with `kubectl kustomize`. Any kubectl
# with kustomize works; when there is none, install Debian's kubernetes-client (kubectl 1.20,
# kustomize v2) and openssl (the webhook tests make throwaway TLS certificates with it).
set -euo pipefail
need=()
command -v "${KUBECTL:-kubectl}" >/dev/null 2>&1 || need+=(kubernetes-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ "${#need[@]}" -eq 0 ] && exit 0
echo "pretest: installing ${need[*]} from Debian" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
elif sudo -n true 2>/dev/null; then
  apt_get() { sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
else
  echo "pretest: not root and no password-less sudo: run 'sudo apt-get install -y ${need[*]}' once" >&2
  exit 1
fi
if ! apt_get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt_get update >/dev/null
  apt_get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
echo "pretest: installed ${need[*]}" >&2
