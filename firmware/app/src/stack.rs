//! Peak stack use, measured by stack painting.
//!
//! With cortex-m-rt's `paint-stack` feature, the reset handler fills the RAM between the
//! end of the static data (`_stack_end`) and the top of the stack (`_stack_start`) with
//! [`PAINT`] before `main` runs. The stack grows down from the top, so the lowest word that
//! no longer holds the paint marks the deepest it has reached. A stack slot that happens to
//! hold the paint value itself makes the figure up to that slot short; in practice the
//! deepest frames hold return addresses and saved registers, which never do.
#![allow(unsafe_code)]

/// The value cortex-m-rt paints the stack with (`cortex_m_rt::STACK_PAINT_VALUE`).
pub const PAINT: u32 = 0xcccc_cccc;

extern "C" {
    /// Top of the stack, one past its highest word (from cortex-m-rt's `link.x`).
    static _stack_start: u32;
    /// Lowest address the stack may reach: the end of `.bss` and `.uninit`.
    static _stack_end: u32;
}

/// Bytes between the top of the stack and the deepest point it has reached since reset.
pub fn peak_bytes() -> u32 {
    let top = (&raw const _stack_start) as usize;
    let bottom = (&raw const _stack_end) as usize;
    let mut p = bottom;
    while p < top {
        // SAFETY: `p` is word-aligned (both linker symbols are, asserted in link.x) and
        // lies in `[_stack_end, _stack_start)`, RAM that belongs to the stack and is
        // always readable; a volatile read keeps the compiler from assuming its value.
        let word = unsafe { core::ptr::read_volatile(p as *const u32) };
        if word != PAINT {
            break;
        }
        p += 4;
    }
    (top - p) as u32
}

/// Logs the peak stack use, in the words the host's resource report reads.
pub fn log_peak() {
    let peak = peak_bytes();
    defmt::info!(
        "stack: {=u32} B used at peak, of {=u32} B free for it",
        peak,
        size_bytes()
    );
    defmt::info!("measured stack_peak {=u32} B", peak);
}

/// Bytes of RAM the stack may use: from the end of the static data to the top of RAM.
pub fn size_bytes() -> u32 {
    ((&raw const _stack_start) as usize - (&raw const _stack_end) as usize) as u32
}
