//! Trains a GAN on ring8 from scratch on the nRF52840-DK and scores it there.
//!
//! ```text
//! cd firmware/nrf52840-dk && cargo run --release --bin train
//! PICOGAN_SEED=1 cargo run --release --bin train    # the reference run of the tests
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::recipe::{Recipe, RING8_DEVICE};
use picogan_firmware::train::{self, DeviceGan, Streams};
use picogan_firmware::Outcome;
use picogan_nrf52840_dk as board;
use static_cell::ConstStaticCell;

/// The training state, 24 KiB of zeros in `.bss`, placed by the linker rather than built
/// on the stack.
static GAN: ConstStaticCell<DeviceGan> = ConstStaticCell::new(train::new_gan());

#[entry]
fn main() -> ! {
    let (mut b, mut hw_rng) = board::board();
    let recipe = Recipe {
        seed: board::seed(&mut hw_rng),
        ..RING8_DEVICE
    };
    defmt::info!("train: ring8, seed {=u64}", recipe.seed);

    let mut streams = Streams::seeded(recipe.seed);
    let outcome = match train::run(&mut b, GAN.take(), &mut streams, &recipe) {
        Ok(report) => report.outcome,
        Err(_) => Outcome::Fail,
    };
    b.blink(outcome == Outcome::Pass);
    board::exit(outcome)
}
