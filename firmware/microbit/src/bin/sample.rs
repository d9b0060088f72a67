//! Draws digits from the embedded Generator on the emulated Cortex-M0, in software
//! floating point.
//!
//! ```text
//! cargo run --release --bin sample                    # 8 samples, seed 1
//! cargo run --release --bin sample -- --n 16 --seed 3
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan_firmware::{model, sample};
use picogan_microbit as board;

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let args = board::args();
    let n = args.n.unwrap_or(sample::DEFAULT_N);
    let outcome = sample::run_and_signal(&mut b, model::F32, n, args.seed.unwrap_or(1));
    board::exit(outcome)
}
