#!/usr/bin/env bash
# Records what cosign 2.5 and skopeo 1.18 (Debian 13, .peers/ from scripts/ensure-peers.sh)
# write to a registry without the referrers API (Debian's docker-registry on loopback):
# the regression fixtures beside this script. Every command below is the one that made the
# file it writes; README.md lists them. Keys are new on each run, so every file changes.
# Usage: bash events/peers/record.sh
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$out/../.." && pwd)/.peers/bin
work=$(mktemp -d)
trap 'kill "$registry_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
# Offline: anything that is not the loopback registry goes to a closed port.
export HOME="$work/home" HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1
mkdir -p "$HOME"

cat >config.yml <<EOF
version: 0.1
log: { level: info }
storage: { filesystem: { rootdirectory: $work/data }, delete: { enabled: true } }
http: { addr: "127.0.0.1:0", secret: "record" }
EOF
docker-registry serve config.yml >registry.log 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
  host=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' registry.log | grep -oE '127[^ ]+' || true)
  [ -n "$host" ] && break
  sleep 0.1
done
[ -n "$host" ] || { cat registry.log >&2; exit 1; }
repo="$host/peers/app"
cosign=("$bin/cosign")
loopback=(--allow-http-registry --allow-insecure-registry)
accept='application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json'
manifest() { curl -sf -H "Accept: $accept" "http://$host/v2/peers/app/manifests/$1"; }
blob() { curl -sf "http://$host/v2/peers/app/blobs/$1"; }
pretty() { python3 -m json.tool --indent 2; }

# The image: one gzip tar layer, an OCI config and manifest, pushed with oras.
printf 'hello from the peers\n' >hello.txt
tar --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf layer.tar hello.txt
gzip -n -c layer.tar >layer.tar.gz
diff_id=$(sha256sum layer.tar | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" >config.json
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$(sha config.json)" "$(size config.json)" "$(sha layer.tar.gz)" "$(size layer.tar.gz)" >manifest.json
"$bin/oras" blob push --plain-http "$repo" layer.tar.gz >/dev/null
"$bin/oras" blob push --plain-http "$repo" config.json >/dev/null
"$bin/oras" manifest push --plain-http --media-type application/vnd.oci.image.manifest.v1+json "$repo:v1" manifest.json >/dev/null
digest="sha256:$(sha manifest.json)"
tag="sha256-${digest#sha256:}"
cp manifest.json "$out/image.manifest.json"

# cosign keys (no password) and skopeo's sigstore key
COSIGN_PASSWORD= "${cosign[@]}" generate-key-pair --output-key-prefix cosign >/dev/null 2>&1
cp cosign.pub "$out/cosign.pub"
printf 'peers' >skopeo.passphrase
"$bin/skopeo" generate-sigstore-key --output-prefix skopeo --passphrase-file skopeo.passphrase >/dev/null
cp skopeo.pub "$out/skopeo.pub"

# 1. cosign sign: the legacy .sig manifest and its simplesigning payload
COSIGN_PASSWORD= "${cosign[@]}" sign --key cosign.key --tlog-upload=false -y "${loopback[@]}" "$repo@$digest" 2>/dev/null
manifest "$tag.sig" | pretty >"$out/cosign-sign.sig.json"
blob "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$out/cosign-sign.sig.json")" >"$out/cosign-sign.payload.json"

# 2. skopeo copy --sign-by-sigstore-private-key: a second layer in the same .sig manifest
mkdir -p registries.d
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$host" >registries.d/loopback.yaml
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >policy.json
"$bin/skopeo" --registries.d registries.d --policy policy.json copy --quiet \
  --src-tls-verify=false --dest-tls-verify=false --preserve-digests \
  --sign-by-sigstore-private-key skopeo.private --sign-passphrase-file skopeo.passphrase \
  "docker://$repo:v1" "docker://$repo:v1"
manifest "$tag.sig" | pretty >"$out/skopeo-sign.sig.json"
blob "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][1]["digest"])' "$out/skopeo-sign.sig.json")" >"$out/skopeo-sign.payload.json"

# 3. cosign attest (legacy .att): a DSSE envelope layer, in-toto Statement v0.1
printf '{"scanner":{"uri":"https://example.com/scanner","version":"1","result":{"verdict":"PASS"}},"metadata":{"scanStartedOn":"2026-12-01T00:00:00Z","scanFinishedOn":"2026-12-01T00:00:00Z"}}' >vuln.json
cp vuln.json "$out/vuln-predicate.json"
COSIGN_PASSWORD= "${cosign[@]}" attest --key cosign.key --tlog-upload=false -y "${loopback[@]}" \
  --type vuln --predicate vuln.json "$repo@$digest" 2>/dev/null
manifest "$tag.att" | pretty >"$out/cosign-attest.att.json"
blob "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$out/cosign-attest.att.json")" >"$out/cosign-attest.envelope.json"

# 4. cosign attest --new-bundle-format: a bundle referrer through the referrers tag schema
COSIGN_PASSWORD= "${cosign[@]}" attest --new-bundle-format --key cosign.key --tlog-upload=false -y "${loopback[@]}" \
  --type vuln --predicate vuln.json "$repo@$digest" 2>/dev/null
manifest "$tag" | pretty >"$out/cosign-attest-bundle.index.json"
referrer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$out/cosign-attest-bundle.index.json")
manifest "$referrer" | pretty >"$out/cosign-attest-bundle.manifest.json"
blob "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$out/cosign-attest-bundle.manifest.json")" >"$out/cosign-attest-bundle.bundle.json"

# 5. cosign sign --registry-referrers-mode=oci-1-1 (experimental): the .sig layer as a referrer
COSIGN_EXPERIMENTAL=1 COSIGN_PASSWORD= "${cosign[@]}" sign --registry-referrers-mode=oci-1-1 \
  --key cosign.key --tlog-upload=false -y "${loopback[@]}" "$repo@$digest" 2>/dev/null
manifest "$tag" | pretty >"$out/cosign-sign-oci11.index.json"
referrer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"]; print([x for x in m if x.get("artifactType")=="application/vnd.dev.cosign.artifact.sig.v1+json"][0]["digest"])' "$out/cosign-sign-oci11.index.json")
manifest "$referrer" | pretty >"$out/cosign-sign-oci11.manifest.json"

# 6. cosign sign-blob / attest-blob --new-bundle-format: bundles of a file
printf '{"hello":"blob"}\n' >blob.json
cp blob.json "$out/blob.json"
COSIGN_PASSWORD= "${cosign[@]}" sign-blob --key cosign.key --tlog-upload=false -y --new-bundle-format \
  --bundle "$out/cosign-sign-blob.sigstore.json" blob.json >/dev/null 2>&1
COSIGN_PASSWORD= "${cosign[@]}" attest-blob --key cosign.key --tlog-upload=false -y --new-bundle-format \
  --type vuln --predicate vuln.json --bundle "$out/cosign-attest-blob.sigstore.json" blob.json >/dev/null 2>&1

# 7. cosign download attestation: how cosign hands out what is in .att (here cosign's own)
"${cosign[@]}" download attestation "${loopback[@]}" "$repo@$digest" >"$out/cosign-download-attestation.jsonl" 2>/dev/null

printf '%s\n' "$(cat "$bin/../versions")" >"$out/VERSIONS"
echo "recorded into $out (image $digest)" >&2
