#!/usr/bin/env bash
# `systemd-analyze verify` over deploy/systemd/: every unit must load with no complaint at all.
#   tests/regional/verify_units.sh DEPLOY_DIR VINCULO VINCULO_SERVER
# The units start /usr/local/bin/vinculo and /usr/local/bin/vinculo-server, which a build machine
# does not have (verify checks that ExecStart= is executable), so they are verified as copies whose
# ExecStart names the freshly built binaries instead; nothing else is changed. verify exits 0 even
# for unknown keys or bad values (it only prints them), so any output is a failure here. Users,
# EnvironmentFile= and ReadWritePaths= are not checked by verify: they need a real installation.
set -euo pipefail
deploy=$1 vinculo=$2 server=$3
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is missing: run deploy/install-build-deps.sh (it installs systemd)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
units=()
for unit in "$deploy"/systemd/*.service "$deploy"/systemd/*.timer; do
  name=$(basename "$unit")
  sed -e "s#/usr/local/bin/vinculo-server #$server #" -e "s#/usr/local/bin/vinculo #$vinculo #" \
    "$unit" >"$work/$name"
  units+=("$work/$name")
done
[ ${#units[@]} -eq 5 ] || { echo "expected 5 units, found ${#units[@]}" >&2; exit 1; }
grep -q "^ExecStart=$server " "$work/vinculo-server.service"
grep -q "^ExecStart=$vinculo sync" "$work/vinculo-sync.service"
grep -q "exec $server backup" "$work/vinculo-backup.service"
out=$(cd "$work" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "${units[@]}" 2>&1) || {
  echo "$out" >&2
  exit 1
}
if [ -n "$out" ]; then
  echo "systemd-analyze verify complained:" >&2
  echo "$out" >&2
  exit 1
fi
# The timer must start the sync service, and the hardening asked of the server must be there.
grep -q '^Persistent=true' "$deploy/systemd/vinculo-sync.timer"
grep -q '^RandomizedDelaySec=' "$deploy/systemd/vinculo-sync.timer"
for key in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  ReadWritePaths=/var/lib/vinculo User=vinculo EnvironmentFile=/etc/vinculo/server.conf; do
  grep -q "^$key" "$deploy/systemd/vinculo-server.service" || { echo "server unit lacks $key" >&2; exit 1; }
done
echo "ok: systemd-analyze verify accepts ${#units[@]} units"
