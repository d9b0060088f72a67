//! Draws digits from the embedded int8 Generator on the emulated Cortex-M4F.
//!
//! ```text
//! cargo run --release --bin sample-int8                    # 8 samples, seed 1
//! cargo run --release --bin sample-int8 -- --n 16 --seed 3
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan_firmware::{model, sample};
use picogan_qemu as board;

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let args = board::args();
    let n = args.n.unwrap_or(sample::DEFAULT_N);
    let outcome = sample::run_and_signal(&mut b, model::Int8, n, args.seed.unwrap_or(1));
    board::exit(outcome)
}
