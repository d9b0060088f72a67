//! Trains a GAN on ring8 from scratch in Q16.16 fixed point on the emulated Cortex-M4F and
//! scores it there, with the tiny pair (hidden width 24).
//!
//! ```text
//! cargo run --release --bin train-q16                     # seed 1, as the tests run it
//! cargo run --release --bin train-q16 -- --seed 2
//! cargo run --release --bin train-q16 -- --steps 500      # a shorter run
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::models::TINY_WIDTH;
use picogan::recipe::{Recipe, RING8_DEVICE};
use picogan::Q16;
use picogan_firmware::train::{self, DeviceGan};
use picogan_qemu as board;
use static_cell::ConstStaticCell;

/// The training state, 24 KiB of zeros in `.bss`, placed by the linker rather than built
/// on the stack.
static GAN: ConstStaticCell<DeviceGan<TINY_WIDTH, Q16>> = ConstStaticCell::new(train::new_gan());

#[entry]
fn main() -> ! {
    let mut b = board::board();
    let args = board::args();
    let recipe = Recipe {
        seed: args.seed.unwrap_or(RING8_DEVICE.seed),
        steps: args.steps.unwrap_or(RING8_DEVICE.steps),
        ..RING8_DEVICE
    };
    let outcome = train::run_and_signal(&mut b, GAN.take(), &recipe);
    board::exit(outcome)
}
