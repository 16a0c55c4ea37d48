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
# Client-certificate authentication (tests/kube/client_cert_test.ts): a separate client CA
# (key discarded) and a kubernetes-admin client certificate, as kind's kubeconfig carries.
tmp=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/client-ca.key" \
  -out client-ca.crt -days 36500 -subj "/CN=linkerd-mcp-test-client-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
  -out "$tmp/client.csr" -subj "/O=system:masters/CN=kubernetes-admin"
printf "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n" >"$tmp/client.ext"
openssl x509 -req -in "$tmp/client.csr" -CA client-ca.crt -CAkey "$tmp/client-ca.key" \
  -CAcreateserial -out client.crt -days 36500 -extfile "$tmp/client.ext"
rm -rf "$tmp" client-ca.srl
