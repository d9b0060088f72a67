//! Trains a GAN on ring8 from scratch on the emulated Cortex-M0 and scores it there, with
//! the micro pair (hidden width 16), whose training state fits its 16 KiB of RAM.
//!
//! ```text
//! cargo run --release --bin train                     # seed 1, 8,000 steps
//! cargo run --release --bin train -- --seed 2
//! cargo run --release --bin train -- --steps 500      # the shorter run of the tests
//! ```
#![no_std]
#![no_main]

picogan_firmware::train_main!(picogan_microbit, picogan::models::MICRO_WIDTH, f32);
