#!/usr/bin/env bash
# Cold starts side by side: builds the measured functions, the bare baseline and the benchmark
# in release mode, then launches each function as Lambda would (see
# infra/bench/runner/src/bin/coldstart.rs). Usage: infra/coldstart.sh [processes] [warm-invocations]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet \
  -p lambda-hello --bin lambda-hello -p lambda-dynamodb-only --bin lambda-dynamodb-only -p system --bin health -p identity --bin auth-login \
  -p diary --bin posts-list --bin posts-like -p notifications --bin notifications-worker \
  -p bench --bin coldstart
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/coldstart" "$@"
