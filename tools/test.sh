#!/usr/bin/env bash
# Runs every check picogan has, from a fresh clone: formatting, lints, the core built for
# Cortex-M4F and Cortex-M0, every test (unit tests, gradient checks, PyTorch golden
# values, training runs scored by the public protocols), and the firmware: built for the
# emulated boards (Cortex-M4F and Cortex-M0) and the nRF52840-DK, run on QEMU and checked
# against the desktop bit for bit (sampling from f32 and int8 Generators, training in f32
# and in Q16.16 fixed point). Sets up what it needs first, or stops with the command that
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
missing() { printf 'error: %s is missing. Install it with:\n    %s\n' "$1" "$2" >&2; exit 1; }

step "set-up"
command -v rustup >/dev/null || missing rustup "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
# rust-toolchain.toml pins the toolchain; targets and components are added explicitly
# because some machines disable rustup's automatic installs.
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^$toolchain" \
    || missing "Rust $toolchain" "rustup toolchain install $toolchain"
rustup target add --toolchain "$toolchain" thumbv7em-none-eabihf thumbv6m-none-eabi
rustup component add --toolchain "$toolchain" rustfmt clippy llvm-tools
# The firmware runs on QEMU's Cortex-M4F and Cortex-M0; its defmt log is decoded by
# defmt-print.
if ! command -v qemu-system-arm >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >/dev/null
    else
        missing qemu-system-arm "sudo apt-get install -y qemu-system-arm"
    fi
fi
command -v defmt-print >/dev/null || cargo install defmt-print --locked

step "formatting"
cargo fmt --all --check

step "generated tables: the fixed-point functions' tables are what their script writes"
command -v python3 >/dev/null || missing python3 "sudo apt-get install -y python3"
tables=$(mktemp)
python3 tools/fixed_tables.py "$tables" >/dev/null
cmp "$tables" core/src/fixed/tables.rs \
    || { echo "error: core/src/fixed/tables.rs differs from what tools/fixed_tables.py writes" >&2; exit 1; }
rm -f "$tables"

step "lints"
cargo clippy --workspace --all-targets --release -- -D warnings

step "core for Cortex-M4F (thumbv7em-none-eabihf) and Cortex-M0 (thumbv6m-none-eabi)"
for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    cargo build -p picogan --release --target "$target"
done

step "firmware: formatting, lints and builds (QEMU mps2-an386 and microbit, nRF52840-DK)"
for dir in firmware firmware/microbit firmware/nrf52840-dk; do
    (cd "$dir" && cargo fmt --check && cargo clippy --release -- -D warnings \
        && cargo build --release)
done

step "tests"
cargo test --workspace --release
# the firmware's board-independent code, on the host
(cd firmware/app && cargo test --target "$(rustc -vV | sed -n 's/^host: //p')")

step "firmware on QEMU against the desktop: same samples (f32 and int8), same trained weights (f32 and Q16.16)"
for board in mps2-an386 microbit; do
    for program in sample sample-int8; do
        cargo run --release -q -p picogan-host -- emulate --board "$board" "$program" -- --n 4 --seed 2
    done
done
cargo test --release -p picogan-tests --test firmware -- --ignored
