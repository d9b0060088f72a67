//! The `calibrate` program of the emulated boards: checks that the work counter counts
//! executed instructions, by measuring a loop whose instruction count is known.
//!
//! The loop runs `subs` and `bne` once per iteration, two instructions on every Cortex-M.
//! It is measured at [`SHORT`] and at [`LONG`] iterations; the difference of the two
//! figures is the work of the extra iterations alone, the call and the counter reads
//! cancelling out. Under QEMU's `-icount shift=0` that difference must be twice the extra
//! iterations, to within [`TOLERANCE`]. On a board that counts cycles it is not: the
//! cycles an iteration takes depend on the core and its memory, so only the emulated
//! boards run this program.

use crate::{Outcome, WorkCounter};

/// Iterations of the shorter measurement.
pub const SHORT: u32 = 1_000_000;
/// Iterations of the longer measurement.
pub const LONG: u32 = 11_000_000;
/// The largest difference allowed between the instructions counted and the instructions
/// run, 1 in 10,000 of the 20 million: a reading is off by less than one timer tick (125
/// instructions at most on the boards here), a difference of two measurements by less
/// than four.
pub const TOLERANCE: u32 = 2 * (LONG - SHORT) / 10_000;

/// Measures the loop at [`SHORT`] and [`LONG`] iterations, logs both figures and what the
/// difference should be; passes when the counter agrees to within [`TOLERANCE`].
pub fn run<C: WorkCounter>(counter: &mut C) -> Outcome {
    let ((), short) = counter.measure(|| spin(SHORT));
    let ((), long) = counter.measure(|| spin(LONG));
    let counted = long.wrapping_sub(short);
    let expected = 2 * (LONG - SHORT);
    defmt::info!(
        "two-instruction loop: {=u32} {=str} for {=u32} iterations, {=u32} for {=u32}",
        short,
        C::UNIT,
        SHORT,
        long,
        LONG
    );
    defmt::info!(
        "the extra {=u32} iterations: {=u32} {=str} counted, {=u32} instructions run",
        LONG - SHORT,
        counted,
        C::UNIT,
        expected
    );
    defmt::info!("measured loop_difference {=u32} {=str}", counted, C::UNIT);
    if counted.abs_diff(expected) <= TOLERANCE {
        defmt::info!(
            "pass: one count per instruction, to within {=u32}",
            TOLERANCE
        );
        Outcome::Pass
    } else {
        defmt::error!(
            "fail: off by {=u32}, more than {=u32}",
            counted.abs_diff(expected),
            TOLERANCE
        );
        Outcome::Fail
    }
}

/// Runs `iterations` (1 or more) iterations of `subs; bne`: `2 × iterations` instructions.
#[allow(unsafe_code)]
fn spin(iterations: u32) {
    // SAFETY: the loop only counts one register down to zero; it touches no memory and
    // no stack, as the options declare, and leaves the register clobbered.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {0}, #1",
            "bne 1b",
            inout(reg) iterations => _,
            options(nomem, nostack)
        )
    }
}
