//! Draws digits from the embedded int8 Generator on the nRF52840-DK.
//!
//! ```text
//! cd firmware/nrf52840-dk && cargo run --release --bin sample-int8
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan_firmware::{model, sample};
use picogan_nrf52840_dk as board;

#[entry]
fn main() -> ! {
    let (mut b, mut hw_rng) = board::board();
    // seeded from the hardware RNG, the noise is fresh on every run and can still be drawn
    // again on the desktop: `picogan sample --weights INT8_FILE --seed SEED --hash`
    let seed = board::seed(&mut hw_rng);
    let outcome = sample::run_and_signal(&mut b, model::Int8, sample::DEFAULT_N, seed);
    board::exit(outcome)
}
