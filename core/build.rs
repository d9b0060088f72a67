//! Chooses how Q16.16 products are formed on the target being built for.
//!
//! ARMv6-M (Cortex-M0, M0+, M1) and ARMv8-M Baseline (Cortex-M23) multiply 32 by 32 bits
//! into the low 32 only; a 64-bit product there is a call to a general 64-by-64-bit
//! routine. On those targets `picogan_mul32` is set and `fixed` forms its products from
//! four 16-bit ones instead.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(picogan_mul32)");
    println!("cargo::rerun-if-env-changed=TARGET");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv6m") || target.starts_with("thumbv8m.base") {
        println!("cargo::rustc-cfg=picogan_mul32");
    }
}
