//! Checks, on the emulated Cortex-M4F, that the work counter counts executed instructions
//! (see `picogan_firmware::calibrate`).
//!
//! ```text
//! cargo run --release --bin calibrate
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan_firmware::calibrate;
use picogan_qemu as board;

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let outcome = calibrate::run(&mut b.counter);
    board::exit(outcome)
}
