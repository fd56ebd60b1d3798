#!/usr/bin/env bash
# Builds every function as Lambda runs it — `cargo lambda build --arm64`, release optimised for
# size, all of them in one cargo invocation — prints each one's zipped size and the build's wall
# time, and writes templates pointing at the results (`.aws-fleet/`), so that deploying does not
# relink them one by one. `infra/deploy-fleet.sh` builds and measures;
# `infra/deploy-fleet.sh deploy [sam args…]` then runs `sam deploy` with those templates.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-lambda >/dev/null || pip install cargo-lambda   # brings its zig (PyPI `ziglang`)
rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

packages=()
for manifest in functions/*/Cargo.toml; do
  packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -1)")
done
target="${CARGO_TARGET_DIR:-target}"
artifacts="$target/lambda"
rm -rf "$artifacts"   # no zip of an earlier build (or of a function since removed) is counted
started=$(date +%s)
# The release profile optimised for size (Cargo.toml `release-small`): about a quarter smaller,
# the same init, a few tenths of a millisecond more CPU per invocation (README "Sizes").
cargo lambda build --profile release-small --arm64 --output-format zip "${packages[@]}"
took=$(( $(date +%s) - started ))

count=0; total=0; largest=0; over=0
printf '%-40s %10s\n' function "zipped KB"
for zip in "$artifacts"/*/bootstrap.zip; do
  name=$(basename "$(dirname "$zip")")
  size=$(stat -c %s "$zip")
  printf '%-40s %10d\n' "$name" $(( size / 1024 ))
  count=$((count + 1)); total=$((total + size))
  (( size > largest )) && largest=$size
  (( size > 6 * 1024 * 1024 )) && over=$((over + 1))
done
echo
echo "$count functions built in ${took}s ($(nproc) cores); zipped: $(( total / count / 1024 )) KB average, $(( largest / 1024 )) KB largest, $over over 6 MB"

cargo run --quiet -p local-stack --bin gen-infra -- --prebuilt "$artifacts" --out .aws-fleet >/dev/null
echo "templates for these artifacts: .aws-fleet/template.yaml"
if [ "${1:-}" = deploy ]; then
  shift
  sam deploy -t .aws-fleet/template.yaml --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND "$@"
fi
