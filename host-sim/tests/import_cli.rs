//! `picogan import` and `picogan export` as a user runs them: PyTorch's files in, the
//! firmware's file out, and bad files refused with the tensor at fault named and nothing
//! overwritten.

mod common;

use common::{picogan, scratch};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A fixture written by PyTorch through `tools/export_torch.py` (see
/// `tests/golden/make_import.py`).
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(name)
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts failure with one `error:` line containing every one of `needles`, no panic.
fn fails_with(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error:"), "{err}");
    for n in needles {
        assert!(err.contains(n), "no {n:?} in: {err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `samples: … crc32 0x…` line of `picogan sample --hash`.
fn sample_hash(weights: &Path, dir: &Path) -> String {
    let out = picogan(&[
        "sample",
        "--weights",
        s(weights),
        "--n",
        "16",
        "--seed",
        "3",
        "--hash",
        "--out",
        s(&dir.join("samples.png")),
    ]);
    let stdout = ok(&out);
    stdout
        .lines()
        .find(|l| l.contains("crc32"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn pytorch_pair_imports_samples_and_exports_for_the_firmware() {
    let dir = scratch("seed");
    let ckpt = dir.join("imported.safetensors");
    let out = picogan(&[
        "import",
        "--from",
        s(&fixture("import_seed.safetensors")),
        "--arch",
        "seed",
        "--out",
        s(&ckpt),
    ]);
    let stdout = ok(&out);
    assert!(
        stdout.contains("generator and discriminator") && stdout.contains("verified"),
        "{stdout}"
    );

    let exported = dir.join("generator.safetensors");
    let stdout = ok(&picogan(&[
        "export",
        "--from",
        s(&ckpt),
        "--out",
        s(&exported),
    ]));
    assert!(stdout.contains("crc32 0x"), "{stdout}");

    // the checkpoint and the exported file hold the same Generator, bit for bit
    let a = sample_hash(&ckpt, &dir);
    let b = sample_hash(&exported, &dir);
    assert!(a.contains("16 × 784 values"), "{a}");
    assert_eq!(a, b);

    // the exported file is what the firmware accepts: plain names, checksum, metadata
    let bytes = std::fs::read(&exported).unwrap();
    let file = picogan::safetensors::File::parse(&bytes).unwrap();
    assert!(file.checksum().is_some());
    assert_eq!(file.metadata("role"), Some("generator"));
    assert_eq!(file.metadata("arch"), Some("seed"));
    assert!(file.tensor("fc.0.weight").is_some());
}

#[test]
fn conversions_are_exact_or_asked_for() {
    let dir = scratch("dtypes");
    for f in [
        "import_tiny_f16.safetensors",
        "import_tiny_bf16.safetensors",
    ] {
        let out = picogan(&[
            "import",
            "--from",
            s(&fixture(f)),
            "--arch",
            "tiny",
            "--dataset",
            "ring8",
            "--out",
            s(&dir.join(f)),
        ]);
        ok(&out);
    }
    // F64 values that f32 cannot hold are refused unless rounding is asked for
    let f64_file = fixture("import_tiny_f64.safetensors");
    let f64_out = dir.join("f64.safetensors");
    let args = |round: bool| {
        let mut a = vec![
            "import",
            "--from",
            s(&f64_file),
            "--arch",
            "tiny",
            "--dataset",
            "ring8",
            "--out",
            s(&f64_out),
        ];
        if round {
            a.push("--round-f64");
        }
        picogan(&a)
    };
    fails_with(&args(false), &["F64", "not exactly an f32"]);
    assert!(!dir.join("f64.safetensors").exists());
    ok(&args(true));
}

#[test]
fn bad_files_are_refused_and_leave_the_old_checkpoint() {
    let dir = scratch("bad");
    let good = fixture("import_tiny_f16.safetensors");
    let ckpt = dir.join("checkpoint.safetensors");
    let import = |from: &Path, extra: &[&str]| {
        let mut a = vec![
            "import",
            "--from",
            s(from),
            "--arch",
            "tiny",
            "--dataset",
            "ring8",
            "--out",
            s(&ckpt),
        ];
        a.extend_from_slice(extra);
        picogan(&a)
    };
    ok(&import(&good, &[]));
    let before = std::fs::read(&ckpt).unwrap();

    let bytes = std::fs::read(&good).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let write = |name: &str, b: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, b).unwrap();
        p
    };

    // truncated, in the length field, the header and the data
    fails_with(&import(&write("t1", &bytes[..5]), &[]), &["truncated"]);
    fails_with(&import(&write("t2", &bytes[..40]), &[]), &["header length"]);
    fails_with(
        &import(&write("t3", &bytes[..bytes.len() - 2]), &[]),
        &["outside the", "bytes of data"],
    );
    // one flipped bit in the data: the checksum catches it
    let mut flipped = bytes.clone();
    flipped[8 + header_len + 5] ^= 0x04;
    fails_with(
        &import(&write("flip", &flipped), &[]),
        &["checksum mismatch"],
    );
    // malformed JSON
    let mut garbled = bytes.clone();
    garbled[8] = b'[';
    fails_with(&import(&write("json", &garbled), &[]), &["header"]);
    // the wrong architecture names the tensor and both shapes
    let out = picogan(&[
        "import",
        "--from",
        s(&good),
        "--arch",
        "small",
        "--dataset",
        "ring8",
        "--out",
        s(&ckpt),
    ]);
    fails_with(
        &out,
        &["generator.fc.0.weight", "shape [24, 2], expected [64, 2]"],
    );
    // a discriminator-only rename leaves the generator's tensors unexpected
    fails_with(
        &import(&good, &["--rename", "generator.=extra."]),
        &["unexpected tensor `generator.fc."],
    );
    ok(&import(
        &good,
        &["--rename", "generator.=extra.", "--allow-extra"],
    ));
    let after_extra = std::fs::read(&ckpt).unwrap();
    assert_ne!(
        after_extra, before,
        "the discriminator-only checkpoint replaced it"
    );
    ok(&import(&good, &[]));

    assert_eq!(std::fs::read(&ckpt).unwrap(), before, "checkpoint changed");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn export_refuses_what_the_firmware_could_not_run() {
    let dir = scratch("export");
    // a file holding only a discriminator has no Generator to export
    let d_only = dir.join("d.safetensors");
    ok(&picogan(&[
        "import",
        "--from",
        s(&fixture("import_tiny_f16.safetensors")),
        "--arch",
        "tiny",
        "--dataset",
        "ring8",
        "--rename",
        "generator.=unused.",
        "--allow-extra",
        "--out",
        s(&d_only),
    ]));
    let out = picogan(&[
        "export",
        "--from",
        s(&d_only),
        "--out",
        s(&dir.join("g.safetensors")),
    ]);
    fails_with(&out, &["holds no generator"]);
    // a file that is not safetensors at all
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a weights file").unwrap();
    let out = picogan(&[
        "export",
        "--from",
        s(&junk),
        "--out",
        s(&dir.join("g2.safetensors")),
    ]);
    fails_with(&out, &["junk.safetensors", "header length"]);
    assert!(!dir.join("g.safetensors").exists() && !dir.join("g2.safetensors").exists());
}

#[test]
fn a_single_network_file_is_read_as_its_metadata_says() {
    let dir = scratch("role");
    let run = dir.join("run");
    ok(&picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--arch",
        "tiny",
        "--steps",
        "50",
        "--out",
        s(&run),
    ]));
    // a Discriminator file of picogan's, imported without --role
    let out = picogan(&[
        "import",
        "--from",
        s(&run.join("discriminator.safetensors")),
        "--arch",
        "tiny",
        "--out",
        s(&dir.join("d.safetensors")),
    ]);
    assert!(ok(&out).contains("the discriminator of a tiny pair for ring8"));
    // read as a Generator on purpose, it is refused with the way out named
    let out = picogan(&[
        "import",
        "--from",
        s(&run.join("discriminator.safetensors")),
        "--arch",
        "tiny",
        "--role",
        "generator",
        "--out",
        s(&dir.join("g.safetensors")),
    ]);
    fails_with(&out, &["--role discriminator"]);
}

#[test]
fn a_training_runs_checkpoint_is_not_replaced() {
    let dir = scratch("guard");
    let run = dir.join("run");
    ok(&picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--arch",
        "tiny",
        "--steps",
        "50",
        "--out",
        s(&run),
    ]));
    let ckpt = run.join("checkpoint.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let out = picogan(&[
        "import",
        "--from",
        s(&fixture("import_tiny_f16.safetensors")),
        "--arch",
        "tiny",
        "--dataset",
        "ring8",
        "--out",
        s(&ckpt),
    ]);
    fails_with(
        &out,
        &["checkpoint of a training run", "choose another --out"],
    );
    let out = picogan(&["export", "--from", s(&ckpt), "--out", s(&ckpt)]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);

    // a result that cannot be replaced stops the next run before it trains
    let generator = run.join("generator.safetensors");
    let mut read_only = std::fs::metadata(&generator).unwrap().permissions();
    read_only.set_readonly(true);
    std::fs::set_permissions(&generator, read_only).unwrap();
    let out = picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--arch",
        "tiny",
        "--steps",
        "50",
        "--out",
        s(&run),
    ]);
    fails_with(&out, &["generator.safetensors is read-only"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("trained in"));
}
