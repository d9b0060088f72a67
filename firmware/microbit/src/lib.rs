//! picogan's firmware programs on QEMU's `microbit`: an emulated nRF51822, the Cortex-M0
//! (ARMv6-M, no FPU) of the BBC micro:bit v1, with 256 KiB of flash and 16 KiB of RAM.
//! Every f32 operation runs in software (the compiler's soft-float routines), with the
//! same IEEE 754 results as the Cortex-M4F's FPU and the desktop.
//!
//! The board behind the traits of [`picogan_firmware::Board`]:
//!
//! - TIMER0, 32 bits wide at 8 MHz (16 MHz, prescaler 1), is the work counter. The runner
//!   starts QEMU with `-icount shift=0`, which makes virtual time advance one nanosecond
//!   per executed instruction, so 125 instructions pass per timer tick. Reading it takes
//!   a capture task and a read of the capture register (channel 0);
//! - the same timer, through capture channel 1, gives busy-wait delays;
//! - the top-left LED of the micro:bit's 5×5 matrix (row 1 on P0.13, column 1 on P0.04) is
//!   the status LED. QEMU models the GPIO registers but shows no LED, so under QEMU the
//!   LED's state is invisible;
//! - semihosting carries the defmt log, the command line and the exit status.
#![no_std]
#![deny(unsafe_code)]

mod regs;

use core::convert::Infallible;
use cortex_m as _;
use defmt_semihosting as _;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{ErrorType, OutputPin};
use picogan_firmware::args::Args;
use picogan_firmware::{Board, Outcome, WorkCounter};
use regs::{
    GPIO_DIRSET, GPIO_OUTCLR, GPIO_OUTSET, TIMER0_BITMODE, TIMER0_CAPTURE, TIMER0_CC,
    TIMER0_PRESCALER, TIMER0_START,
};

/// TIMER0's prescaler: 16 MHz / 2¹ = 8 MHz, a tick of 125 ns, a whole number of
/// instructions (at the 16 MHz of prescaler 0, a tick would be 62.5).
const PRESCALER: u32 = 1;
/// Virtual nanoseconds, and so instructions under `-icount shift=0`, per timer tick.
const NS_PER_TICK: u32 = 1_000_000_000 / (16_000_000 >> PRESCALER);

/// The LED's row (driven high to light it) and column (held low), P0.13 and P0.04.
const LED_ROW: u32 = 1 << 13;
const LED_COL: u32 = 1 << 4;

/// The emulated board, set up.
pub type Microbit = Board<Led, Delay, InstructionCounter>;

/// Starts the timer and sets up the LED. Call once, at the start of `main`.
pub fn board() -> Microbit {
    TIMER0_BITMODE.write(3); // 32 bits
    TIMER0_PRESCALER.write(PRESCALER);
    TIMER0_START.write(1);
    GPIO_OUTCLR.write(LED_ROW | LED_COL);
    GPIO_DIRSET.write(LED_ROW | LED_COL);
    Board {
        led: Led,
        delay: Delay,
        counter: InstructionCounter,
    }
}

/// TIMER0's count now, through capture `channel`.
fn ticks(channel: usize) -> u32 {
    TIMER0_CAPTURE[channel].write(1);
    TIMER0_CC[channel].read()
}

/// The status LED: the top-left LED of the matrix, lit when its row is high.
pub struct Led;

impl ErrorType for Led {
    type Error = Infallible;
}

impl OutputPin for Led {
    fn set_low(&mut self) -> Result<(), Infallible> {
        GPIO_OUTCLR.write(LED_ROW);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        GPIO_OUTSET.write(LED_ROW);
        Ok(())
    }
}

/// Busy-wait delays on TIMER0 (capture channel 1): at least the time asked, at most about
/// 1 µs more.
pub struct Delay;

/// Iterations of a two-instruction loop between two reads of the timer, as on the
/// mps2-an386: QEMU ends its translated block at every device access under `-icount`, so
/// polling in a tight loop runs far slower than plain instructions.
const POLL_SPIN: u32 = 500;

impl DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        let wait = ns.div_ceil(NS_PER_TICK);
        let start = ticks(1);
        while ticks(1).wrapping_sub(start) < wait {
            cortex_m::asm::delay(POLL_SPIN);
        }
    }
}

/// Executed instructions, read from TIMER0 (capture channel 0) under `-icount shift=0`.
/// Resolution: one tick, 125 instructions. The count wraps at 2³² as the trait asks: 2³²
/// ticks are 125 × 2³² instructions, a whole multiple of 2³².
pub struct InstructionCounter;

impl WorkCounter for InstructionCounter {
    const UNIT: &'static str = "instructions";

    fn now(&mut self) -> u32 {
        ticks(0).wrapping_mul(NS_PER_TICK)
    }
}

/// The options QEMU passed (`-append`, from the runner's arguments). Logs and exits with
/// status 2 on options it does not understand.
pub fn args() -> Args {
    let Ok(words) = semihosting::experimental::env::args::<256>() else {
        return Args::default();
    };
    // the first word is the program's own name
    let words = (&words).skip(1).map(|w| w.unwrap_or("?"));
    Args::parse(words).unwrap_or_else(|e| {
        e.log();
        exit(Outcome::Usage)
    })
}

/// Logs the peak stack use and ends the program with the outcome's exit status, which
/// QEMU passes on as its own.
pub fn exit(outcome: Outcome) -> ! {
    picogan_firmware::stack::log_peak();
    semihosting::process::exit(outcome.code())
}

/// Reports the panic in the log and exits with status 101, as a panicking Rust program
/// does on the desktop.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(101)
}
