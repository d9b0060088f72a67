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

picogan_firmware::train_main!(picogan_microbit, picogan::models::MICRO_WIDTH, picogan::Q16);
