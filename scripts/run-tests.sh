#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite with vitest, then the web
# UI's end-to-end tests with Playwright's runner in Debian's Chromium and Firefox ESR
# (playwright.config.ts: projects chromium and firefox), and prints
# the closing line `N passed, M failed` that CI reads, both runners' counts added. Type-check and
# lint run first. Arguments go to vitest only.
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
rm -f .playwright.json
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test || rc=1
if [ -f .vitest.json ]; then
  # a vitest file that failed without a failing test (it did not load) counts as one failure; Playwright's JSON
  # report: expected = passed, unexpected = failed (a missing report counts as one failure)
  node -e 'const fs=require("fs");const j=require("./.vitest.json");let p=j.numPassedTests,f=j.numFailedTests+j.testResults.filter((r)=>r.status==="failed"&&!r.assertionResults.some((a)=>a.status==="failed")).length,s=j.numPendingTests||0;
if(fs.existsSync("./.playwright.json")){const u=require("./.playwright.json").stats;p+=u.expected+(u.flaky||0);f+=u.unexpected;s+=u.skipped||0}else f+=1;
console.log(`${p} passed, ${f} failed`+(s?`, ${s} skipped`:""))'
else
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
