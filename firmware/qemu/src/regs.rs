//! The few memory-mapped registers of the mps2-an386 this firmware touches, and nothing
//! else: a [`Reg`] can only be one of the constants below, so reading and writing one is
//! safe.
#![allow(unsafe_code)]

/// A 32-bit device register.
#[derive(Clone, Copy)]
pub(crate) struct Reg(usize);

/// CMSDK APB timer registers, from the timer's base address (ARM DDI 0479C, section 4.4):
/// control, current value, reload value.
const CTRL: usize = 0x0;
const VALUE: usize = 0x4;
const RELOAD: usize = 0x8;

/// Base addresses of APB timers 0 and 1 (ARM DAI 0386C, table 3-2).
const TIMER0: usize = 0x4000_0000;
const TIMER1: usize = 0x4000_1000;

/// Timer 0: control, value, reload.
pub(crate) const TIMER0_REGS: [Reg; 3] = [
    Reg(TIMER0 + CTRL),
    Reg(TIMER0 + VALUE),
    Reg(TIMER0 + RELOAD),
];
/// Timer 1: control, value, reload.
pub(crate) const TIMER1_REGS: [Reg; 3] = [
    Reg(TIMER1 + CTRL),
    Reg(TIMER1 + VALUE),
    Reg(TIMER1 + RELOAD),
];
/// FPGA I/O LED0: bits 0 and 1 drive the two user LEDs (ARM DAI 0386C, section 3.8).
pub(crate) const FPGAIO_LED0: Reg = Reg(0x4002_8000);

impl Reg {
    /// Reads the register.
    pub(crate) fn read(self) -> u32 {
        // SAFETY: `self.0` is one of the aligned device register addresses above, mapped
        // on every mps2-an386; reading them has no side effect.
        unsafe { core::ptr::read_volatile(self.0 as *const u32) }
    }

    /// Writes the register.
    pub(crate) fn write(self, value: u32) {
        // SAFETY: as for `read`; the timers and the LED register accept any value, and no
        // Rust object lives at these addresses.
        unsafe { core::ptr::write_volatile(self.0 as *mut u32, value) }
    }
}
