//! picogan's firmware programs on QEMU's `mps2-an386`: an emulated Cortex-M4 with
//! single-precision FPU (ARM's AN386 image for the MPS2 board).
//!
//! The board behind the traits of [`picogan_firmware::Board`]:
//!
//! - APB timer 0, free-running at the 25 MHz system clock, is the work counter. The runner
//!   starts QEMU with `-icount shift=0`, which makes virtual time advance one nanosecond
//!   per executed instruction, so 40 instructions pass per timer tick;
//! - APB timer 1 gives busy-wait delays;
//! - bit 0 of the FPGA I/O LED register is the status LED;
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
use regs::{Reg, FPGAIO_LED0, TIMER0_REGS, TIMER1_REGS};

/// Frequency of the APB timers: the AN386 system clock, 25 MHz.
const TIMER_HZ: u32 = 25_000_000;
/// Virtual nanoseconds, and so instructions under `-icount shift=0`, per timer tick.
const NS_PER_TICK: u32 = 1_000_000_000 / TIMER_HZ;

/// The emulated board, set up.
pub type Qemu = Board<Led, Delay, InstructionCounter>;

/// Sets up the timers and the LED. Call once, at the start of `main`.
pub fn board() -> Qemu {
    start_timer(TIMER0_REGS);
    start_timer(TIMER1_REGS);
    let mut led = Led;
    let _ = led.set_low();
    Board {
        led,
        delay: Delay,
        counter: InstructionCounter,
    }
}

/// Starts a CMSDK timer counting down from 2³² − 1 and reloading there.
fn start_timer([ctrl, value, reload]: [Reg; 3]) {
    reload.write(u32::MAX);
    value.write(u32::MAX);
    ctrl.write(1); // enable, no interrupt, internal clock
}

/// Ticks elapsed on a timer since `start` (a previous reading): it counts down, wrapping.
fn ticks_since(timer: [Reg; 3], start: u32) -> u32 {
    start.wrapping_sub(timer[1].read())
}

/// The status LED: user LED 0 of the FPGA I/O block.
pub struct Led;

impl ErrorType for Led {
    type Error = Infallible;
}

impl OutputPin for Led {
    fn set_low(&mut self) -> Result<(), Infallible> {
        FPGAIO_LED0.write(FPGAIO_LED0.read() & !1);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        FPGAIO_LED0.write(FPGAIO_LED0.read() | 1);
        Ok(())
    }
}

/// Busy-wait delays on APB timer 1: at least the time asked, at most about 1 µs more.
pub struct Delay;

/// Iterations of a two-instruction loop between two reads of the timer. Under `-icount`,
/// QEMU ends its translated block at every device read, so polling the timer in a tight
/// loop runs hundreds of times slower than plain instructions; 500 iterations (1 µs of
/// virtual time) between reads keep a delay's cost in wall time close to its length.
const POLL_SPIN: u32 = 500;

impl DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        let ticks = ns.div_ceil(NS_PER_TICK);
        let start = TIMER1_REGS[1].read();
        while ticks_since(TIMER1_REGS, start) < ticks {
            cortex_m::asm::delay(POLL_SPIN);
        }
    }
}

/// Executed instructions, read from APB timer 0 under `-icount shift=0`. Resolution: one
/// tick, 40 instructions.
pub struct InstructionCounter;

impl WorkCounter for InstructionCounter {
    const UNIT: &'static str = "instructions";

    fn now(&mut self) -> u32 {
        // the timer counts down: its complement counts up
        (u32::MAX - TIMER0_REGS[1].read()).wrapping_mul(NS_PER_TICK)
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
