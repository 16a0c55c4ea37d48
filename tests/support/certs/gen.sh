#!/bin/sh
# Regenerates the TEST-ONLY certificates of the Kubernetes API stand-in
# (tests/support/kube_standin.ts). Never use them for anything else.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
  -out ca.crt -days 36500 -subj "/CN=linkerd-mcp-test-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out "$tmp/server.csr" -subj "/CN=kube-apiserver"
printf "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n" \
  >"$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA ca.crt -CAkey "$tmp/ca.key" -CAcreateserial \
  -out server.crt -days 36500 -extfile "$tmp/server.ext"
rm -rf "$tmp" ca.srl
# A Linkerd trust anchor for synthetic clusters (tests/support/synthetic.ts); its key is discarded.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -out trust-anchor.crt -days 36500 -subj "/CN=root.linkerd.cluster.local" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
