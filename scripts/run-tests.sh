#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite with vitest, then
# prints the closing line `N passed, M failed` that CI reads. Type-check and lint run first.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
# type-check everything (tests included) and lint before running the suite
if ! npm run --silent lint; then
  echo "lint failed"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f .vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest.json "$@"
rc=$?
if [ -f .vitest.json ]; then
  node -e 'const j=require("./.vitest.json");const f=j.numFailedTests+(j.numFailedTestSuites||0);console.log(`${j.numPassedTests} passed, ${f} failed`+(j.numPendingTests?`, ${j.numPendingTests} skipped`:""))'
else
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
