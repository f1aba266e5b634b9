#!/usr/bin/env bash
# Installs the web test's npm packages into tests/web/node_modules exactly as package-lock.json
# says (npm ci), and again only when the lock file changes. Run by ctest as the web_npm fixture
# before tests/web/dashboard.test.mjs; needs the npm registry, nothing else from outside.
#   setup.sh [NPM]   (default: npm on the PATH)
set -euo pipefail
npm=${1:-npm}
cd "$(dirname "$0")"

# Two builds' ctest runs (build/ and build-asan/) may start this at once: one installs, the other
# waits and then finds it done.
exec 9<package-lock.json
flock 9

stamp=node_modules/.vinculo-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ]; then
  exit 0
fi
"$npm" ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
