//! Trains a GAN on ring8 from scratch in Q16.16 fixed point on the emulated Cortex-M0 and
//! scores it there, with the micro pair (hidden width 16), whose training state fits its
//! 16 KiB of RAM. Integers only in its inner loops: the M0 has no floating-point unit.
//!
//! ```text
//! cargo run --release --bin train-q16                     # seed 1, 8,000 steps
//! cargo run --release --bin train-q16 -- --seed 2
//! cargo run --release --bin train-q16 -- --steps 500      # the shorter run of the tests
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use picogan::models::MICRO_WIDTH;
use picogan::recipe::{Recipe, RING8_DEVICE};
use picogan::Q16;
use picogan_firmware::train::{self, DeviceGan};
use picogan_microbit as board;
use static_cell::ConstStaticCell;

/// The training state, 12 KiB of zeros in `.bss`, placed by the linker rather than built
/// on the stack.
static GAN: ConstStaticCell<DeviceGan<MICRO_WIDTH, Q16>> = ConstStaticCell::new(train::new_gan());

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
