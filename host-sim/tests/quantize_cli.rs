//! `picogan quantize` and `picogan sample` on int8 files, as a user runs them.

mod common;

use common::{picogan, scratch};
use std::path::Path;
use std::process::Output;

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firmware/models/digits-small.safetensors"
);

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Asserts failure with one `error:` line that contains `needle`, and no panic.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error:") && first.contains(needle),
        "{err}"
    );
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn quantize_then_sample_digits() {
    let dir = scratch("quantize-digits");
    let int8 = dir.join("model-int8.safetensors");
    let stdout = ok(&picogan(&[
        "quantize",
        "--from",
        REFERENCE,
        "--out",
        arg(&int8),
    ]));
    for needle in [
        "calibrated on 10000 noise vectors (seed 1)",
        "int8 against f32 on 1000 noise vectors (seed 1): mean |error| 0.0",
        "digits, f32 / int8: classes 10/10 / 10/10",
        "% of the f32 Generator's 21416 B): int8 small Generator for digits",
    ] {
        assert!(stdout.contains(needle), "{needle}\n{stdout}");
    }
    let bytes = std::fs::read(&int8).unwrap();
    assert!(stdout.contains(&format!("({} B,", bytes.len())), "{stdout}");

    // sampled twice with the same seed: the same picture and the same checksums
    let draw = |name: &str| {
        let png = dir.join(name);
        let stdout = ok(&picogan(&[
            "sample",
            "--weights",
            arg(&int8),
            "--n",
            "16",
            "--seed",
            "3",
            "--hash",
            "--out",
            arg(&png),
        ]));
        (stdout, std::fs::read(png).unwrap())
    };
    let (first, png) = draw("a.png");
    let (second, png_again) = draw("b.png");
    assert!(
        first.contains("samples: 16 × 64 values, crc32 0x"),
        "{first}"
    );
    assert!(
        first.contains("int8 outputs: 1024 values, crc32 0x"),
        "{first}"
    );
    let hashes = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(hashes(&first), hashes(&second));
    assert_eq!(png, png_again);
    assert_eq!(&png[1..4], b"PNG");

    // the same file again, byte for byte, from the same source and seed
    let again = dir.join("again.safetensors");
    ok(&picogan(&[
        "quantize",
        "--from",
        REFERENCE,
        "--out",
        arg(&again),
    ]));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn bad_int8_files_and_arguments_are_refused() {
    let dir = scratch("quantize-bad");
    let int8 = dir.join("m.safetensors");
    ok(&picogan(&[
        "quantize",
        "--from",
        REFERENCE,
        "--out",
        arg(&int8),
        "--calibration",
        "200",
        "--eval",
        "50",
    ]));
    let bytes = std::fs::read(&int8).unwrap();

    // one bit of the last weight flipped, as a worn flash cell would
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x04;
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, &bad).unwrap();
    let png = dir.join("x.png");
    let sample = |w: &Path| picogan(&["sample", "--weights", arg(w), "--out", arg(&png)]);
    fails_with(&sample(&corrupt), "checksum mismatch");
    assert!(!png.exists());

    // cut short
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&sample(&corrupt), "corrupt.safetensors");

    // an int8 file is not a source for quantize or export
    let again = dir.join("again.safetensors");
    let quantize =
        |from: &Path, out: &Path| picogan(&["quantize", "--from", arg(from), "--out", arg(out)]);
    fails_with(&quantize(&int8, &again), "is an int8 Generator");
    let out = picogan(&["export", "--from", arg(&int8), "--out", arg(&again)]);
    fails_with(&out, "is an int8 Generator");
    assert!(!again.exists());

    // nor does quantize overwrite its source, or write to a directory
    let copy = dir.join("f32.safetensors");
    std::fs::copy(REFERENCE, &copy).unwrap();
    fails_with(&quantize(&copy, &copy), "would overwrite");
    fails_with(&quantize(&copy, &dir), "is a directory");
    let out = picogan(&[
        "quantize",
        "--from",
        arg(&copy),
        "--out",
        arg(&again),
        "--calibration",
        "0",
    ]);
    fails_with(&out, "--calibration must be from 1");
    assert_eq!(std::fs::read(&int8).unwrap(), bytes);
}

#[test]
fn quantize_then_sample_points() {
    let dir = scratch("quantize-points");
    let run = dir.join("run");
    ok(&picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--arch",
        "tiny",
        "--steps",
        "300",
        "--out",
        arg(&run),
    ]));
    let int8 = dir.join("tiny-int8.safetensors");
    let stdout = ok(&picogan(&[
        "quantize",
        "--from",
        arg(&run.join("checkpoint.safetensors")),
        "--out",
        arg(&int8),
    ]));
    assert!(stdout.contains("ring8, f32 / int8: modes "), "{stdout}");
    assert!(stdout.contains("int8 tiny Generator for ring8"), "{stdout}");
    let out = dir.join("points.png");
    ok(&picogan(&[
        "sample",
        "--weights",
        arg(&int8),
        "--n",
        "100",
        "--out",
        arg(&out),
    ]));
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    assert_eq!(csv.lines().count(), 101);
    assert!(out.is_file());
}
