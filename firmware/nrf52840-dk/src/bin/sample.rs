//! Draws digits from the embedded Generator on the nRF52840-DK.
//!
//! ```text
//! cd firmware/nrf52840-dk && cargo run --release --bin sample
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::rand_core::SeedableRng;
use picogan::streams::{stream_seed, Stream};
use picogan_firmware::{sample, Outcome};
use picogan_nrf52840_dk as board;
use rand_xoshiro::Xoshiro128PlusPlus;

#[entry]
fn main() -> ! {
    let (mut b, mut hw_rng) = board::board();
    let seed = board::seed(&mut hw_rng);
    defmt::info!(
        "sample: {=u32} samples, seed {=u64}",
        sample::DEFAULT_N,
        seed
    );

    // seeded from the hardware RNG, the noise is fresh on every run and can still be drawn
    // again on the desktop: `picogan sample --seed SEED --hash`
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(stream_seed(seed, Stream::Sample));
    let outcome = match sample::run(&mut b, &mut rng, sample::DEFAULT_N) {
        Some(_) => Outcome::Pass,
        None => Outcome::Fail,
    };
    b.blink(outcome == Outcome::Pass);
    board::exit(outcome)
}
