#!/usr/bin/env bash
# The whole story on one machine (run by `make demo`):
#   a throw-away CA and server certificate, the server on loopback with the embedded store, a field
#   worker enrolled on two devices and a supervisor, visits recorded on both devices offline, the
#   same contact edited on both, sync, both devices converged and the conflict recorded, stop.
# Everything lives in a temporary directory that is removed at the end (KEEP=1 keeps it).
set -euo pipefail

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
vinculo="$root/$build/client/cli/vinculo"
server="$root/$build/server/vinculo-server"
for bin in "$vinculo" "$server"; do
  [ -x "$bin" ] || { echo "demo: $bin not built; run make demo" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vinculo-demo.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. A certificate authority and a server certificate for 127.0.0.1 (openssl)"
"$root/deploy/make-certs.sh" "$work/certs" localhost 127.0.0.1

say "2. The server's users: Ana, a field worker in Cusco, and Sofía, her supervisor"
echo "ana-es-secreta" | run "$server" user add --data "$work/data" --username ana \
  --role field_worker --region Cusco
echo "sofia-supervisa" | run "$server" user add --data "$work/data" --username sofia \
  --role supervisor --region Cusco

say "3. The server on loopback, with the embedded SQLite store"
"$server" serve --data "$work/data" --listen 127.0.0.1:0 --cert "$work/certs/server.pem" \
  --key "$work/certs/server.key" --port-file "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url="https://127.0.0.1:$(cat "$work/port")"
echo "serving at $url (requests logged to $work/server.log)"

# Ana's phone and Ana's laptop: two devices, two stores.
phone() { VINCULO_HOME="$work/phone" "$vinculo" "$@"; }
laptop() { VINCULO_HOME="$work/laptop" "$vinculo" "$@"; }
sofia() { VINCULO_HOME="$work/sofia" "$vinculo" "$@"; }

say "4. Enrol Ana's phone, Ana's laptop and Sofía's computer"
for device in phone laptop sofia; do
  id=$($device init --server "$url" --ca "$work/certs/ca.pem")
  echo "$device: device $id"
done
echo "ana-es-secreta" | phone login --username ana
echo "ana-es-secreta" | laptop login --username ana
echo "sofia-supervisa" | sofia login --username sofia

say "5. On the phone, offline: a child, her family, her mother and grandmother, a first visit"
child=$(phone child add --given-name "Lucía" --family-name "Quispe Mamani" --birth-date 2015-03-14 \
  --sex female --region Cusco --programme "reintegración familiar" --assigned-worker ana \
  --placement residential-institution --status open --risk medium)
family=$(phone family add --name "Familia Quispe Mamani" --region Cusco \
  --address "Jr. Ayacucho 312, San Jerónimo")
mother=$(phone contact add --child "$child" --family "$family" --given-name "Carmen" \
  --family-name "Mamani" --relationship mother --phone "+51 984 100 200" --consent yes)
grandmother=$(phone contact add --child "$child" --family "$family" --given-name "Rosa" \
  --family-name "Quispe" --relationship grandparent --phone "+51 984 111 222" --consent yes)
phone visit add --child "$child" --family "$family" --kind assessment \
  --visited-at 2026-06-03T10:15:00-05:00 --attendee "$mother" --attendee "$grandmother" \
  --observations "Lucía pregunta por su abuela; la casa tiene espacio para ella." \
  --risk medium --agreed-actions "Preparar visitas de fin de semana con la abuela." \
  --next-due 2026-06-17 >/dev/null
run phone caseload --today 2026-06-20

say "6. Sync the phone, then the laptop: both hold the same records"
run phone sync
run laptop sync

say "7. Offline again: both devices record a visit, and both correct Rosa's phone number"
phone visit add --child "$child" --kind reintegration-preparation \
  --visited-at 2026-06-17T09:00:00-05:00 --observations "Primer fin de semana con la abuela: bien." \
  --next-due 2026-07-01 >/dev/null
laptop visit add --child "$child" --kind follow-up --visited-at 2026-06-18T15:30:00-05:00 \
  --observations "Llamada con la madre; asistirá a la próxima visita." --next-due 2026-07-02 >/dev/null
run phone contact update "$grandmother" --phone "+51 984 333 444"
sleep 0.01
run laptop contact update "$grandmother" --phone "+51 984 555 666"

say "8. Sync both, in turn"
run phone sync
run laptop sync
run phone sync

say "9. Converged: both devices export the same records, byte for byte"
phone export --json >"$work/phone.json"
laptop export --json >"$work/laptop.json"
if cmp -s "$work/phone.json" "$work/laptop.json"; then
  echo "identical: $(wc -c <"$work/phone.json") bytes, $(grep -c '"record"' "$work/phone.json") records"
else
  echo "DIFFERENT (this is a bug)"; diff "$work/phone.json" "$work/laptop.json" | head; exit 1
fi
run phone contact show "$grandmother"

say "10. The conflict is recorded, with the value kept and the value that lost"
run "$server" conflicts list --data "$work/data"

say "11. Sofía, the supervisor, pulls her region (she reads; she does not write from a device)"
run sofia sync
run sofia caseload --today 2026-07-05

say "12. Stop the server (SIGTERM: in-flight requests finish, the store closes)"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
tail -n 3 "$work/server.log"
echo
echo "Demo complete."
