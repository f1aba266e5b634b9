#!/usr/bin/env bash
# Makes a certificate authority and a server certificate signed by it, with openssl.
#   deploy/make-certs.sh OUT_DIR [NAME...]
# NAMEs are the host names and IP addresses clients will use to reach the server (default:
# localhost 127.0.0.1). Writes OUT_DIR/ca.pem (give it to devices: vinculo init --ca), ca.key (keep
# it offline), server.pem and server.key (for vinculo-server serve --cert/--key). An existing CA in
# OUT_DIR is reused, so a new server certificate does not force devices to change their CA.
#
#   deploy/make-certs.sh OUT_DIR --client NAME
# makes a client certificate signed by the CA in OUT_DIR (which must exist): client-NAME.pem and
# client-NAME.key, for a TLS proxy or tool that wants mutual TLS. vinculo-server itself does not
# ask for client certificates: devices authenticate with their per-device token (vinculo login),
# which the administrator can revoke one device at a time.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [HOST_OR_IP...]   or   $0 OUT_DIR --client NAME" >&2
  exit 2
fi
out=$1
shift

if [ "${1:-}" = "--client" ]; then
  if [ $# -ne 2 ] || [[ ! $2 =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "usage: $0 OUT_DIR --client NAME   (NAME: letters, digits, . _ -)" >&2
    exit 2
  fi
  client=$2
  if [ ! -f "$out/ca.pem" ] || [ ! -f "$out/ca.key" ]; then
    echo "no CA in $out: run $0 $out first" >&2
    exit 1
  fi
  cd "$out"
  umask 077
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout "client-$client.key" -out "client-$client.csr" -subj "/CN=$client" 2>/dev/null
  openssl x509 -req -in "client-$client.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
    -out "client-$client.pem" -days 825 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n') \
    2>/dev/null
  rm -f "client-$client.csr"
  chmod 644 "client-$client.pem"
  echo "made $out/client-$client.pem for CN=$client"
  exit 0
fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1)

san=""
for n in "${names[@]}"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then entry="IP:$n"; else entry="DNS:$n"; fi
  san="${san:+$san,}$entry"
done

mkdir -p "$out"
cd "$out"
umask 077
if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Vinculo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -keyout server.key -out server.csr -subj "/CN=${names[0]}" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
  -out server.pem -days 825 \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' "$san") \
  2>/dev/null
rm -f server.csr
chmod 644 ca.pem server.pem
echo "made $out/ca.pem and $out/server.pem for $san"
