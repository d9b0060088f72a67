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
use picogan_firmware::train::{self, DeviceGan};
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
    let outcome = train::run_and_signal(&mut b, GAN.take(), &recipe);
    board::exit(outcome)
}
