#!/usr/bin/env bash
# DynamoDB calls per endpoint and per worker message, measured by running the integration tests:
# every test stack leaves its ledger in a folder, and calls-table merges them into Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
CALLS_LEDGER_DIR="$dir" cargo test --quiet -p integration-tests >/dev/null
cargo run --quiet -p local-stack --bin calls-table -- "$dir"
