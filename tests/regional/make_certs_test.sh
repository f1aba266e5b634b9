#!/usr/bin/env bash
# deploy/make-certs.sh: a CA and a server certificate that verify for TLS servers, then a client
# certificate from the same CA that verifies for TLS clients; a second run keeps the CA.
#   tests/regional/make_certs_test.sh MAKE_CERTS
set -euo pipefail
script=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$script" "$work/certs" vinculo.example.org 127.0.0.1 >/dev/null
openssl verify -CAfile "$work/certs/ca.pem" -purpose sslserver "$work/certs/server.pem" >/dev/null
openssl x509 -in "$work/certs/server.pem" -noout -ext subjectAltName | grep -q 'DNS:vinculo.example.org'
ca_before=$(openssl x509 -in "$work/certs/ca.pem" -noout -fingerprint)
bash "$script" "$work/certs" --client oficina-cusco >/dev/null
openssl verify -CAfile "$work/certs/ca.pem" -purpose sslclient "$work/certs/client-oficina-cusco.pem" >/dev/null
if openssl verify -CAfile "$work/certs/ca.pem" -purpose sslserver "$work/certs/client-oficina-cusco.pem" >/dev/null 2>&1; then
  echo "a client certificate must not verify as a server's" >&2
  exit 1
fi
[ "$(stat -c %a "$work/certs/client-oficina-cusco.key")" = 600 ]
[ "$(openssl x509 -in "$work/certs/ca.pem" -noout -fingerprint)" = "$ca_before" ]
if bash "$script" "$work/none" --client x 2>/dev/null; then
  echo "--client without a CA must fail" >&2
  exit 1
fi
echo "ok: make-certs.sh makes server and client certificates from one CA"
