//! Draws digits from the embedded Generator on the emulated Cortex-M0, in software
//! floating point.
//!
//! ```text
//! cargo run --release --bin sample                    # 8 samples, seed 1
//! cargo run --release --bin sample -- --n 16 --seed 3
//! ```
#![no_std]
#![no_main]

picogan_firmware::sample_main!(picogan_microbit, picogan_firmware::model::F32);
