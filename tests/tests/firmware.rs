//! The firmware on an emulated Cortex-M4F against the desktop program: the same samples
//! and the same trained weights, bit for bit.
//!
//! Each test builds a firmware program (the workspace in `firmware/`, for
//! thumbv7em-none-eabihf) and runs it on QEMU's mps2-an386 through `firmware/tools/qemu-run`,
//! exactly as `picogan emulate` does. They need `qemu-system-arm`, `defmt-print` and the
//! thumbv7em-none-eabihf target, which `tools/test.sh` installs, so a plain `cargo test`
//! skips them; run them with
//!
//! ```text
//! cargo test --release -p picogan-tests --test firmware -- --ignored
//! ```
//!
//! Agreement is exact: both sides run the same core code on IEEE 754 single precision,
//! with no fused multiply-adds and libm's own functions, so every checksum must match.

use picogan::models::SmallGenerator;
use picogan::Layer;
use picogan_host::emulate::{self, Program, Run};
use picogan_host::hash;
use picogan_host::train::{self, Quality, TrainOptions};

/// Builds and runs `program` on QEMU with `args`; fails the test if it cannot.
fn emulate(program: Program, args: &[&str]) -> Run {
    let firmware = emulate::firmware_dir(None).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    emulate::build_and_run(&firmware, program, &args, false).unwrap()
}

fn log_of(run: &Run) -> String {
    run.log.join("\n")
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn sample_draws_the_desktops_samples_bit_for_bit() {
    // a seed and count other than the defaults, to check the command line reaches the
    // firmware
    let (n, seed) = (16, 7);
    let run = emulate(Program::Sample, &["--n", "16", "--seed", "7"]);
    assert_eq!(run.status, 0, "{}", log_of(&run));
    assert!(
        run.log.iter().any(|l| l.contains("16 samples, seed 7")),
        "{}",
        log_of(&run)
    );

    // the desktop draws from the same file with the same seed
    let path = emulate::firmware_dir(None)
        .unwrap()
        .join("models/digits-small.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let mut g = Box::new(SmallGenerator::<64>::ZEROED);
    picogan_host::weights::load_into(&mut *g, &bytes, "digits-small.safetensors").unwrap();
    let samples = train::generate(&*g, n, seed);
    let want = hash::crc32_f32(&samples);
    let got = run.checksum_after("crc32 ");
    assert_eq!(
        got,
        Some(want),
        "device crc32 {got:x?}, desktop {want:#010x}\n{}",
        log_of(&run)
    );

    // the cost figures are there and plausible: a forward pass of 5,248 weights takes
    // more than one instruction per weight; the stack stays far below its 250 KiB
    let per_sample = run.measured("per_sample").unwrap_or(0);
    assert!(
        (5_248..1_000_000).contains(&per_sample),
        "{per_sample} instructions per sample"
    );
    let stack = run.measured("stack_peak").unwrap_or(0);
    assert!((256..64 * 1024).contains(&stack), "stack peak {stack} B");
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn training_ends_with_the_desktops_weights_and_passes_the_protocol() {
    let run = emulate(Program::Train, &[]);
    let desktop = train::train(&TrainOptions::ring8_device()).unwrap();

    // the same weights after the same 8,000 steps
    let log = log_of(&run);
    let g = run.checksum_after("weights crc32: generator ");
    let d = run.checksum_after("discriminator ");
    assert_eq!(
        (g, d),
        (
            Some(desktop.weights_crc32.generator),
            Some(desktop.weights_crc32.discriminator)
        ),
        "device crc32 (generator, discriminator) {g:x?} {d:x?}, desktop {:#010x} {:#010x}\n{log}",
        desktop.weights_crc32.generator,
        desktop.weights_crc32.discriminator
    );

    // the protocol's figures, computed on the device, are the desktop's to the last bit
    let Quality::Points { generated: q, .. } = &desktop.quality else {
        panic!("ring8 is scored as points")
    };
    let want = format!(
        "modes {}/{}, high quality {} %, reverse KL {}",
        q.modes_captured, q.modes, q.high_quality_pct, q.reverse_kl
    );
    assert!(
        run.log.iter().any(|l| l.contains(&want)),
        "no `{want}` in the device log:\n{log}"
    );

    // and they pass the firmware's mark, so the program exits 0
    assert!(q.modes_captured >= 7, "{q:?}");
    assert_eq!(run.status, 0, "{log}");
    let per_step = run.measured("per_step").unwrap_or(0);
    assert!(
        (1_000_000..20_000_000).contains(&per_step),
        "{per_step} instructions per step"
    );
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn a_failing_firmware_fails_the_run() {
    // the exit status travels from the firmware through QEMU and the runner: an unknown
    // option ends `sample` with status 2
    let run = emulate(Program::Sample, &["--bogus"]);
    assert_eq!(run.status, 2, "{}", log_of(&run));
    assert!(
        run.log.iter().any(|l| l.contains("unknown option --bogus")),
        "{}",
        log_of(&run)
    );
}
