//! picogan's firmware programs, independent of any board.
//!
//! `sample` draws digits from a Generator trained on the desktop and embedded in flash, in
//! f32 or (`sample-int8`) in int8; `train` trains a small GAN on the ring of eight
//! Gaussians from scratch and scores it with the PacGAN protocol. They reach hardware only
//! through the traits a board hands them in a [`Board`]: an embedded-hal [`OutputPin`] for
//! a status LED, a [`DelayNs`], a [`WorkCounter`] for cost figures, and `rand_core`
//! generators for randomness. Each board crate (`picogan-qemu`, `picogan-microbit`,
//! `picogan-nrf52840-dk`) builds those and calls in here.
//!
//! The log goes through defmt; its lines starting `measured` and the checksum lines are
//! read back by `picogan emulate --report` and by the host–device tests, so their form is
//! part of the interface.
//!
//! [`OutputPin`]: embedded_hal::digital::OutputPin
//! [`DelayNs`]: embedded_hal::delay::DelayNs
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
#[cfg(target_arch = "arm")]
pub mod calibrate;
pub mod hash;
pub mod model;
pub mod programs;
pub mod sample;
pub mod show;
pub mod stack;
pub mod train;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;

/// Counts the work the processor does, for the cost figures in the log.
pub trait WorkCounter {
    /// What one count is, for the log: `instructions` on QEMU, `cycles` on a board.
    const UNIT: &'static str;

    /// The count now, wrapping at 2³². The difference of two readings is the work done
    /// between them as long as that stays below 2³².
    fn now(&mut self) -> u32;

    /// Runs `f` and returns its result with the work it took.
    fn measure<T>(&mut self, f: impl FnOnce() -> T) -> (T, u32) {
        let start = self.now();
        let value = f();
        (value, self.now().wrapping_sub(start))
    }
}

/// The hardware a program uses, behind traits.
pub struct Board<LED, DELAY, COUNTER> {
    /// Status LED: toggled as a program makes progress, blinked at its end.
    pub led: LED,
    /// Busy-wait delays, for the LED patterns.
    pub delay: DELAY,
    /// Work counter for cost figures.
    pub counter: COUNTER,
}

impl<LED: OutputPin, DELAY: DelayNs, COUNTER: WorkCounter> Board<LED, DELAY, COUNTER> {
    /// Shows progress: the LED on for odd `tick`s, off for even ones.
    ///
    /// A status LED that fails to switch must not stop the computation, so its errors
    /// are dropped here and in [`Board::blink`].
    pub fn progress(&mut self, tick: u32) {
        let _ = if tick % 2 == 1 {
            self.led.set_high()
        } else {
            self.led.set_low()
        };
    }

    /// Blinks the LED `times` times, `period_ms` per blink, and leaves it off: three slow
    /// blinks for a pass, ten fast ones for a failure.
    pub fn blink(&mut self, passed: bool) {
        let (times, period_ms) = if passed { (3, 200) } else { (10, 50) };
        for _ in 0..times {
            let _ = self.led.set_high();
            self.delay.delay_ms(period_ms / 2);
            let _ = self.led.set_low();
            self.delay.delay_ms(period_ms / 2);
        }
    }
}

/// How a program ended, as the exit status the board reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum Outcome {
    /// Every check passed: status 0.
    Pass,
    /// A check on the results failed: status 1.
    Fail,
    /// The program could not run as asked (bad arguments): status 2.
    Usage,
}

impl Outcome {
    /// The process exit status for this outcome.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Usage => 2,
        }
    }
}
