//! The firmware on the emulated boards against the desktop program: the same samples, from
//! f32 and int8 Generators, and the same trained weights, bit for bit, on a Cortex-M4F with
//! its FPU (QEMU's mps2-an386) and on a Cortex-M0 computing f32 in software (QEMU's
//! microbit).
//!
//! Each test builds a firmware program (the workspace in `firmware/` for the mps2-an386,
//! `firmware/microbit/` for the microbit) and runs it on QEMU through
//! `firmware/tools/qemu-run`, exactly as `picogan emulate --board BOARD` does. They need
//! `qemu-system-arm`, `defmt-print` and the thumbv7em-none-eabihf and thumbv6m-none-eabi
//! targets, which `tools/test.sh` installs, so a plain `cargo test` skips them; run them
//! with
//!
//! ```text
//! cargo test --release -p picogan-tests --test firmware -- --ignored
//! ```
//!
//! Agreement is exact: all three run the same core code on IEEE 754 single precision,
//! with no fused multiply-adds and libm's own functions, and the Cortex-M0's software
//! floating point rounds every operation as IEEE 754 asks, as an FPU does; an int8
//! Generator runs integers between its noise's quantization and its output's
//! dequantization. In Q16.16 fixed point they run the same integer operations, whose
//! results the Rust language defines to the bit on every target. So every checksum must
//! match.
//!
//! The Cortex-M0's full training run takes 454 billion instructions, about 15 minutes of
//! QEMU, so these tests train it for [`M0_STEPS`] steps against a desktop run of as many,
//! and check on the desktop that the full run passes; `PICOGAN_M0_FULL=1` makes the
//! device run all 8,000 steps instead.

use picogan_host::emulate::{self, Board, Program, Run};
use picogan_host::sample;
use picogan_host::train::{self, Arith, Quality, TrainOptions};

/// Training steps of the Cortex-M0's run in the tests: about a minute of QEMU.
const M0_STEPS: u32 = 500;

/// What the figures a board logs may be, to catch a counter or a stack measurement gone
/// wrong; they are measured, so the bounds are loose.
struct Bounds {
    /// Instructions per sample of the 5,248-weight digits Generator: at least one per
    /// weight.
    per_sample: std::ops::Range<u64>,
    /// The same for its int8 version.
    per_int8_sample: std::ops::Range<u64>,
    /// Instructions per training step of the board's ring8 pair, in f32 or Q16.16.
    per_step: std::ops::Range<u64>,
    /// The board's RAM, which the stack must stay well within.
    ram: u64,
}

fn bounds(board: Board) -> Bounds {
    match board {
        // 42,440 per sample (43,845 in int8: the FPU does an f32 multiply or add in one
        // instruction, so int8 saves none), and 2.9 million per f32 step and 9.7 million
        // per Q16.16 step (64-bit products and their rounding, divisions and square roots
        // in integers) when measured
        Board::Mps2An386 => Bounds {
            per_sample: 5_248..1_000_000,
            per_int8_sample: 5_248..100_000,
            per_step: 1_000_000..40_000_000,
            ram: 256 * 1024,
        },
        // f32 in software costs some 30 times as many instructions: 1.23 million per
        // sample when measured. int8 leaves to software only the noise, its quantization
        // and the output's dequantization: 0.16 million when measured, so a fifth of the
        // f32 figure bounds it
        Board::Microbit => Bounds {
            per_sample: 100_000..5_000_000,
            per_int8_sample: 5_248..250_000,
            per_step: 10_000_000..200_000_000,
            ram: 16 * 1024,
        },
    }
}

/// Builds and runs `program` on `board` with `args`; fails the test if it cannot.
fn emulate(board: Board, program: Program, args: &[&str]) -> Run {
    let firmware = emulate::firmware_dir(None).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    emulate::build_and_run(&firmware, board, program, &args, false).unwrap()
}

fn log_of(run: &Run) -> String {
    run.log.join("\n")
}

/// The peak stack a run logged, checked to be plausible for `board`.
fn check_stack(run: &Run, board: Board) {
    let stack = run.measured("stack_peak").unwrap_or(0);
    assert!(
        (64..bounds(board).ram / 2).contains(&stack),
        "stack peak {stack} B on {board:?}"
    );
}

/// The reference models, as the firmware embeds them by default.
const F32_MODEL: &str = "models/digits-small.safetensors";
const INT8_MODEL: &str = "models/digits-small-int8.safetensors";

/// `program` (`sample` or `sample-int8`) on `board` draws the samples the desktop draws
/// from `model`, the file the program embeds: its log holds the checksum lines that
/// `picogan sample --weights MODEL --n 16 --seed 7 --hash` prints.
fn check_sample(board: Board, program: Program, model: &str) {
    // a seed and count other than the defaults, to check the command line reaches the
    // firmware
    let (n, seed) = (16, 7);
    let run = emulate(board, program, &["--n", "16", "--seed", "7"]);
    assert_eq!(run.status, 0, "{}", log_of(&run));
    assert!(
        run.log.iter().any(|l| l.contains("16 samples, seed 7")),
        "{}",
        log_of(&run)
    );

    // the desktop draws from the same file with the same seed, as `picogan sample` does
    let path = emulate::firmware_dir(None).unwrap().join(model);
    let dir = tempfile::tempdir().unwrap();
    let written = sample::sample(&path, n, seed, &dir.path().join("samples.png")).unwrap();
    let want = written.checksum_lines(n);
    assert_eq!(want.len(), if written.int8.is_some() { 2 } else { 1 });
    for line in &want {
        assert!(
            run.log.iter().any(|l| l.ends_with(line.as_str())),
            "no `{line}` in the {board:?} log of {}:\n{}",
            program.name(),
            log_of(&run)
        );
    }
    let format = if written.int8.is_some() {
        "int8"
    } else {
        "f32"
    };
    assert!(
        run.log
            .iter()
            .any(|l| l.contains(&format!(": {format} small Generator for digits"))),
        "{}",
        log_of(&run)
    );

    let per_sample = run.measured("per_sample").unwrap_or(0);
    let bounds = bounds(board);
    let bound = match written.int8 {
        Some(_) => bounds.per_int8_sample,
        None => bounds.per_sample,
    };
    assert!(
        bound.contains(&per_sample),
        "{per_sample} instructions per {format} sample on {board:?}, expected {bound:?}"
    );
    check_stack(&run, board);
}

/// `train` (f32) or `train-q16` (Q16.16) on `board` for `steps` (the recipe's 8,000 when
/// `None`) ends with the weights the desktop's run of the same pair in the same arithmetic
/// ends with, and with the same verdict; the full run passes the protocol.
fn check_training(board: Board, arith: Arith, steps: Option<u32>) {
    let full = TrainOptions {
        arith,
        ..TrainOptions::ring8_device(board.train_arch())
    };
    let program = match arith {
        Arith::F32 => Program::Train,
        Arith::Q16 => Program::TrainQ16,
    };
    let run = match steps {
        Some(n) => emulate(board, program, &["--steps", &n.to_string()]),
        None => emulate(board, program, &[]),
    };
    let desktop = train::train(&TrainOptions {
        steps: steps.unwrap_or(full.steps),
        ..full.clone()
    })
    .unwrap();

    // the same weights after the same steps
    let log = log_of(&run);
    let g = run.checksum_after("weights crc32: generator ");
    let d = run.checksum_after("discriminator ");
    assert_eq!(
        (g, d),
        (
            Some(desktop.weights_crc32.generator),
            Some(desktop.weights_crc32.discriminator)
        ),
        "{board:?} crc32 (generator, discriminator) {g:x?} {d:x?}, desktop {:#010x} {:#010x}\n\
         {log}",
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
        "no `{want}` in the {board:?} log:\n{log}"
    );

    // the device's verdict is the desktop's: status 0 when the mark is reached, else 1
    let passed = q.modes_captured >= 7;
    assert_eq!(run.status, if passed { 0 } else { 1 }, "{log}");
    // and the full run reaches it: here, or on the desktop, which the device follows bit
    // for bit
    if steps.is_some() {
        let Quality::Points { generated: q, .. } = train::train(&full).unwrap().quality else {
            panic!("ring8 is scored as points")
        };
        assert!(q.modes_captured >= 7, "the full run on the desktop: {q:?}");
    } else {
        assert!(passed, "{q:?}");
    }
    let per_step = run.measured("per_step").unwrap_or(0);
    assert!(
        bounds(board).per_step.contains(&per_step),
        "{per_step} instructions per step on {board:?}"
    );
    // the device counts the saturations the desktop counts
    let want = format!("saturated results: {}", desktop.saturations);
    assert!(
        run.log.iter().any(|l| l.contains(&want)),
        "no `{want}` in the {board:?} log:\n{log}"
    );
    check_stack(&run, board);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn sample_draws_the_desktops_samples_bit_for_bit_on_the_cortex_m4f() {
    check_sample(Board::Mps2An386, Program::Sample, F32_MODEL);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn sample_draws_the_desktops_samples_bit_for_bit_on_the_cortex_m0() {
    check_sample(Board::Microbit, Program::Sample, F32_MODEL);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn int8_sample_draws_the_desktops_samples_bit_for_bit_on_the_cortex_m4f() {
    check_sample(Board::Mps2An386, Program::SampleInt8, INT8_MODEL);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn int8_sample_draws_the_desktops_samples_bit_for_bit_on_the_cortex_m0() {
    check_sample(Board::Microbit, Program::SampleInt8, INT8_MODEL);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn training_ends_with_the_desktops_weights_on_the_cortex_m4f() {
    check_training(Board::Mps2An386, Arith::F32, None);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn fixed_point_training_ends_with_the_desktops_weights_on_the_cortex_m4f() {
    check_training(Board::Mps2An386, Arith::Q16, None);
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn training_ends_with_the_desktops_weights_on_the_cortex_m0() {
    check_training(Board::Microbit, Arith::F32, m0_steps());
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn fixed_point_training_ends_with_the_desktops_weights_on_the_cortex_m0() {
    check_training(Board::Microbit, Arith::Q16, m0_steps());
}

/// [`M0_STEPS`], or the whole run (`None`) with `PICOGAN_M0_FULL=1`.
fn m0_steps() -> Option<u32> {
    let full = std::env::var_os("PICOGAN_M0_FULL").is_some_and(|v| v == "1");
    (!full).then_some(M0_STEPS)
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn the_work_counters_count_executed_instructions() {
    // a loop of known length, measured on each board: the program checks the figure and
    // exits 1 when it is off
    for board in Board::ALL {
        let run = emulate(board, Program::Calibrate, &[]);
        assert_eq!(run.status, 0, "{board:?}:\n{}", log_of(&run));
        assert!(
            run.measured("loop_difference").is_some(),
            "{}",
            log_of(&run)
        );
    }
}

#[test]
#[ignore = "needs QEMU; see the module documentation"]
fn a_failing_firmware_fails_the_run() {
    // the exit status travels from the firmware through QEMU and the runner: an unknown
    // option ends `sample` with status 2
    for board in Board::ALL {
        let run = emulate(board, Program::Sample, &["--bogus"]);
        assert_eq!(run.status, 2, "{board:?}:\n{}", log_of(&run));
        assert!(
            run.log.iter().any(|l| l.contains("unknown option --bogus")),
            "{}",
            log_of(&run)
        );
    }
}
