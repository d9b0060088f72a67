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

picogan_firmware::train_main!(picogan_qemu, picogan::models::TINY_WIDTH, picogan::Q16);
