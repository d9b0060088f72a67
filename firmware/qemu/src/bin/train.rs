//! Trains a GAN on ring8 from scratch on the emulated Cortex-M4F and scores it there.
//!
//! ```text
//! cargo run --release --bin train                     # seed 1, as the tests run it
//! cargo run --release --bin train -- --seed 2
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::recipe::RING8_DEVICE;
use picogan_firmware::train::{self, DeviceGan, Streams};
use picogan_firmware::Outcome;
use picogan_qemu as board;
use static_cell::ConstStaticCell;

/// The training state, 24 KiB of zeros in `.bss`, placed by the linker rather than built
/// on the stack.
static GAN: ConstStaticCell<DeviceGan> = ConstStaticCell::new(train::new_gan());

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let args = board::args();
    let recipe = picogan::recipe::Recipe {
        seed: args.seed.unwrap_or(RING8_DEVICE.seed),
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
