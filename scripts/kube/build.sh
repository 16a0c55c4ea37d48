#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd pinned in ./go.mod into a cache outside the
# repository, keyed by version, and prints that directory on stdout (the only stdout line).
# A second run finds both binaries and returns at once.
#
#   scripts/kube/build.sh            # build if missing, print the directory
#   scripts/kube/build.sh --print    # print the directory, build nothing (exit 1 if missing)
#
# Environment: LINKERD_MCP_KUBE_BIN_DIR overrides the cache directory; GOFLAGS,
# GOMAXPROCS and GOCACHE are honoured. Needs Go >= 1.24 and the Go module proxy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kube_version="v1.34.4" # keep in step with go.mod (checked below)
etcd_version="v3.6.4"
cache_root="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/linkerd-mcp/kube"
bin_dir="${LINKERD_MCP_KUBE_BIN_DIR:-$cache_root/kube-$kube_version-etcd-$etcd_version}"

log() { printf 'kube/build: %s\n' "$*" >&2; }

have() { [[ -x "$bin_dir/kube-apiserver" && -x "$bin_dir/etcd" ]]; }

if [[ "${1:-}" == "--print" ]]; then
  have || { log "not built yet: $bin_dir"; exit 1; }
  printf '%s\n' "$bin_dir"
  exit 0
fi

if have; then
  log "cached: $bin_dir"
  printf '%s\n' "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { log "go not found in PATH"; exit 2; }
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
cd "$here"
# The pins in this script and in go.mod must agree, or the cache key would lie.
got_kube="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
got_etcd="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
if [[ "$got_kube" != "$kube_version" || "$got_etcd" != "$etcd_version" ]]; then
  log "go.mod pins kubernetes $got_kube / etcd $got_etcd, build.sh expects $kube_version / $etcd_version"
  exit 2
fi

mkdir -p "$bin_dir"
tmp="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

minor="${kube_version#v1.}"
minor="${minor%%.*}"
vpkg="k8s.io/component-base/version"
kube_ldflags="-s -w -X $vpkg.gitVersion=$kube_version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
kube_ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"

start=$(date +%s)
log "building etcd $etcd_version"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/etcd" ./cmd/etcd
log "building kube-apiserver $kube_version (the cold build takes a while)"
CGO_ENABLED=0 go build -trimpath -ldflags="$kube_ldflags" -o "$tmp/kube-apiserver" \
  k8s.io/kubernetes/cmd/kube-apiserver
mv -f "$tmp/etcd" "$bin_dir/etcd"
mv -f "$tmp/kube-apiserver" "$bin_dir/kube-apiserver"
log "built in $(($(date +%s) - start)) s: $bin_dir"
printf '%s\n' "$bin_dir"
