//! Trains a GAN on ring8 from scratch on the emulated Cortex-M4F and scores it there, with
//! the tiny pair (hidden width 24).
//!
//! ```text
//! cargo run --release --bin train                     # seed 1, as the tests run it
//! cargo run --release --bin train -- --seed 2
//! cargo run --release --bin train -- --steps 500      # a shorter run
//! ```
#![no_std]
#![no_main]

picogan_firmware::train_main!(picogan_qemu, picogan::models::TINY_WIDTH, f32);
