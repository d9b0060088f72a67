//! Draws digits from the embedded Generator on the emulated Cortex-M4F.
//!
//! ```text
//! cargo run --release --bin sample                    # 8 samples, seed 1
//! cargo run --release --bin sample -- --n 16 --seed 3
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::rand_core::SeedableRng;
use picogan::streams::{stream_seed, Stream};
use picogan_firmware::{sample, Outcome};
use picogan_qemu as board;
use rand_xoshiro::Xoshiro128PlusPlus;

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let args = board::args();
    let n = args.n.unwrap_or(sample::DEFAULT_N);
    let seed = args.seed.unwrap_or(1);
    defmt::info!("sample: {=u32} samples, seed {=u64}", n, seed);

    let mut rng = Xoshiro128PlusPlus::seed_from_u64(stream_seed(seed, Stream::Sample));
    let outcome = match sample::run(&mut b, &mut rng, n) {
        Some(_) => Outcome::Pass,
        None => Outcome::Fail,
    };
    b.blink(outcome == Outcome::Pass);
    board::exit(outcome)
}
