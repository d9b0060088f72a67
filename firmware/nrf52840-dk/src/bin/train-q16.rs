//! Trains a GAN on ring8 from scratch in Q16.16 fixed point on the nRF52840-DK and scores
//! it there.
//!
//! ```text
//! cd firmware/nrf52840-dk && cargo run --release --bin train-q16
//! PICOGAN_SEED=1 cargo run --release --bin train-q16    # the reference run of the tests
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::models::TINY_WIDTH;
use picogan::recipe::{Recipe, RING8_DEVICE};
use picogan::Q16;
use picogan_firmware::train::{self, DeviceGan};
use picogan_nrf52840_dk as board;
use static_cell::ConstStaticCell;

/// The training state, 24 KiB of zeros in `.bss`, placed by the linker rather than built
/// on the stack.
static GAN: ConstStaticCell<DeviceGan<TINY_WIDTH, Q16>> = ConstStaticCell::new(train::new_gan());

#[entry]
fn main() -> ! {
    let (mut b, mut hw_rng) = board::board();
    let recipe = Recipe {
        seed: board::seed(&mut hw_rng),
        ..RING8_DEVICE
    };
    let outcome = train::run_and_signal(&mut b, GAN.take(), &recipe);
    board::exit(outcome)
}
