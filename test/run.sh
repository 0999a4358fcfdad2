#!/usr/bin/env bash
# Runs every test file (compiled to dist/test) with node's test runner, one file at a time:
# tests that attach loop devices and start services share machine-wide resources.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test/artifacts
# The page's types, checked against the server's models it imports: a drift fails the run (pipefail).
npx svelte-check --tsconfig ui/tsconfig.json --output human --threshold error 2>&1 | grep -v 'nodedir' | tail -3
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
# The timeout only stops a hung test file; it judges no speed (a busy machine may take many minutes).
exec node --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec "${files[@]}"
