//! Draws digits from the embedded int8 Generator on the emulated Cortex-M0: integer
//! arithmetic between the noise's quantization and the output's dequantization, so little
//! software floating point.
//!
//! ```text
//! cargo run --release --bin sample-int8                    # 8 samples, seed 1
//! cargo run --release --bin sample-int8 -- --n 16 --seed 3
//! ```
#![no_std]
#![no_main]

picogan_firmware::sample_main!(picogan_microbit, picogan_firmware::model::Int8);
