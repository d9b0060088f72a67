//! The `picogan` command as a user runs it: files written, and one clear error line (never
//! a panic) for bad arguments and bad files.

mod common;

use common::{picogan, scratch};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Asserts failure with an `error:` line that contains `needle`, and no panic.
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

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let info = decoder.read_info().unwrap();
    (info.info().width, info.info().height)
}

#[test]
fn train_then_sample_digits() {
    let dir = scratch("digits");
    let out = dir.join("run");
    let o = picogan(&["train", "--steps", "200", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("classes") && stdout.contains(out.to_str().unwrap()),
        "{stdout}"
    );
    for f in [
        "generator.safetensors",
        "discriminator.safetensors",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let (w, h) = png_size(&out.join("samples.png"));
    assert!(w > 200 && h > 100, "{w}×{h}");
    png_size(&out.join("training.png"));
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["steps"], 200);
    assert_eq!(
        metrics["history"]["step"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        200
    );
    let covered = &metrics["quality"]["images"]["generated"]["classes_covered"];
    assert!(covered.as_u64().unwrap() <= 10);

    // the same seed draws the same picture; another seed another one
    let weights = out.join("generator.safetensors");
    let draw = |seed: &str, name: &str| {
        let path = dir.join(name);
        let o = picogan(&[
            "sample",
            "--weights",
            weights.to_str().unwrap(),
            "--n",
            "16",
            "--seed",
            seed,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(path).unwrap()
    };
    assert_eq!(draw("3", "a.png"), draw("3", "b.png"));
    assert_ne!(draw("3", "a.png"), draw("4", "c.png"));

    // at most MAX_SAMPLES samples; the weights are never overwritten by the pictures
    fails_with(
        &picogan(&[
            "sample",
            "--weights",
            weights.to_str().unwrap(),
            "--n",
            "10001",
        ]),
        "--n must be from 1 to 10000",
    );
    let odd = dir.join("weights.png");
    std::fs::copy(&weights, &odd).unwrap();
    let odd = odd.to_str().unwrap();
    fails_with(
        &picogan(&["sample", "--weights", odd, "--out", odd]),
        "would overwrite",
    );

    // a discriminator is not something to sample from
    let d = out.join("discriminator.safetensors");
    fails_with(
        &picogan(&["sample", "--weights", d.to_str().unwrap()]),
        "not a generator",
    );
}

#[test]
fn sample_ring8_writes_csv_of_n_points() {
    let dir = scratch("ring8");
    let run = dir.join("run");
    let o = picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--steps",
        "803",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("modes"));
    let csv = std::fs::read_to_string(run.join("samples.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2_500);

    // 803 steps are averaged in windows of 2, the last of 1 step: it is a mean like the
    // others (the D loss moves by a few percent between windows, not by half)
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    let d: Vec<f64> = metrics["history"]["d_loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (prev, last) = (d[d.len() - 2], d[d.len() - 1]);
    assert!((last - prev).abs() < 0.25 * prev, "{prev} then {last}");

    let stem = dir.join("pts");
    let w = run.join("generator.safetensors");
    let o = picogan(&[
        "sample",
        "--weights",
        w.to_str().unwrap(),
        "--n",
        "10",
        "--out",
        stem.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(stem.with_extension("csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("x,y"));
    assert_eq!(csv.lines().count(), 11);
    png_size(&stem.with_extension("png"));
}

/// Writes a gzipped IDX file of `n` 28×28 images, and its labels file.
fn write_idx(dir: &Path, n: u32) -> PathBuf {
    let gz = |path: PathBuf, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        std::fs::write(&path, e.finish().unwrap()).unwrap();
        path
    };
    let mut images = vec![0, 0, 8, 3];
    for d in [n, 28, 28] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend((0..n * 784).map(|i| ((i * 7919) % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&n.to_be_bytes());
    labels.extend((0..n).map(|i| (i % 10) as u8));
    gz(dir.join("train-labels-idx1-ubyte.gz"), &labels);
    gz(dir.join("train-images-idx3-ubyte.gz"), &images)
}

#[test]
fn idx_images_train_with_both_architectures() {
    let dir = scratch("idx");
    let images = write_idx(&dir, 60);
    let spec = format!("idx:{}", images.display());
    for arch in ["small", "seed"] {
        let out = dir.join(arch);
        let o = picogan(&[
            "train",
            "--dataset",
            &spec,
            "--arch",
            arch,
            "--steps",
            "3",
            "--batch",
            "4",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // 12 held-out images per panel: a 4×3 grid of 56-pixel images (scale 2) + borders
        let (w, h) = png_size(&out.join("samples.png"));
        assert_eq!((w, h), (2 * (4 * 58 + 16) + 16, 3 * 58 + 28 + 16));
    }
}

#[test]
fn a_diverging_run_writes_nothing_and_keeps_earlier_results() {
    let dir = scratch("diverge");
    let o = picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--steps",
        "20",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = std::fs::read(dir.join("generator.safetensors")).unwrap();
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let files = listing();
    // A Generator learning rate of 1e12 sends the weights far enough on the first step
    // that its outputs overflow, while staying finite themselves.
    fails_with(
        &picogan(&[
            "train",
            "--dataset",
            "ring8",
            "--steps",
            "1",
            "--lr-g",
            "1e12",
            "--lr-d",
            "1e-3",
            "--out",
            dir.to_str().unwrap(),
        ]),
        "diverged",
    );
    assert_eq!(
        std::fs::read(dir.join("generator.safetensors")).unwrap(),
        before
    );
    assert_eq!(
        listing(),
        files,
        "temporary files left behind or files removed"
    );
}

#[test]
fn bad_arguments_and_files_get_one_clear_error() {
    let dir = scratch("bad");
    fails_with(
        &picogan(&["train", "--dataset", "mnist"]),
        "unknown data set `mnist`",
    );
    fails_with(&picogan(&["train", "--steps", "0"]), "--steps");
    fails_with(&picogan(&["train", "--steps", "-3"]), "-3");
    fails_with(
        &picogan(&["train", "--lr-g", "nan", "--steps", "1"]),
        "--lr-g",
    );
    fails_with(
        &picogan(&["train", "--dataset", "ring8", "--arch", "seed"]),
        "--arch small",
    );
    let nowhere = dir.join("nowhere.gz");
    fails_with(
        &picogan(&["train", "--dataset", &format!("idx:{}", nowhere.display())]),
        "cannot read",
    );

    let junk = dir.join("junk-images-idx3-ubyte");
    std::fs::write(&junk, b"\x00\x00\x08\x03\x00\x00\x00\x02").unwrap();
    fails_with(
        &picogan(&["train", "--dataset", &format!("idx:{}", junk.display())]),
        "truncated",
    );
    let gz = dir.join("bad.gz");
    std::fs::write(&gz, b"\x1f\x8b\x08\x00garbage").unwrap();
    fails_with(
        &picogan(&["train", "--dataset", &format!("idx:{}", gz.display())]),
        "corrupt gzip",
    );

    fails_with(
        &picogan(&["sample", "--weights", nowhere.to_str().unwrap()]),
        "cannot read",
    );
    fails_with(
        &picogan(&["sample", "--weights", junk.to_str().unwrap()]),
        "not a safetensors",
    );
}

#[test]
fn a_run_resumes_from_its_checkpoint_as_if_never_stopped() {
    let dir = scratch("resume");
    let (whole, part) = (dir.join("whole"), dir.join("part"));
    // a constant schedule, so that a run of 250 steps extended to 600 is the run of 600
    let train = |out: &Path, steps: &str| {
        picogan(&[
            "train",
            "--dataset",
            "ring8",
            "--arch",
            "tiny",
            "--schedule",
            "constant",
            "--steps",
            steps,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let crc_line = |o: &Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("weights crc32"))
            .unwrap_or_default()
            .to_owned()
    };
    let want = crc_line(&train(&whole, "600"));
    crc_line(&train(&part, "250"));
    let ckpt = part.join("checkpoint.safetensors");
    let ckpt = ckpt.to_str().unwrap();
    let o = picogan(&["train", "--resume", ckpt, "--steps", "600"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("from step 250"));
    assert_eq!(crc_line(&o), want);
    assert!(want.contains("0x"), "{want}");

    fails_with(
        &picogan(&["train", "--resume", ckpt]),
        "complete at step 600 of 600",
    );
    let o = picogan(&["train", "--resume", ckpt, "--seed", "2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
}

#[test]
fn a_run_refuses_a_directory_in_use_or_holding_an_unfinished_run() {
    let dir = scratch("in-use");
    let out = dir.join("run");
    let train = || {
        picogan(&[
            "train",
            "--dataset",
            "ring8",
            "--arch",
            "tiny",
            "--steps",
            "600",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // another run writing there holds the lock
    std::fs::create_dir_all(&out).unwrap();
    let lock = std::fs::File::create(out.join(picogan_host::LOCK_FILE)).unwrap();
    lock.try_lock().unwrap();
    let o = train();
    fails_with(
        &o,
        &format!("another picogan run is writing to {}", out.display()),
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    drop(lock);

    // an unfinished run, as Ctrl-C leaves it
    let opts = picogan_host::train::TrainOptions {
        arch: picogan_host::train::Arch::Tiny,
        steps: 600,
        out: Some(out.clone()),
        ..picogan_host::train::TrainOptions::for_dataset(picogan_host::train::Dataset::Ring8)
    };
    let ckpt = picogan_host::train::train_until(&opts, None, 250).unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    let o = train();
    fails_with(&o, "holds an unfinished run at step 250 of 600");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("picogan train --resume {}", ckpt.display())),
        "{err}"
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);

    // resumed, it is finished, and the directory may take a new run
    let o = picogan(&["train", "--resume", ckpt.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = train();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_resumed_idx_run_says_when_its_images_are_gone() {
    let dir = scratch("idx-gone");
    let images = write_idx(&dir, 20);
    let out = dir.join("run");
    let o = picogan(&[
        "train",
        "--dataset",
        &format!("idx:{}", images.display()),
        "--steps",
        "2",
        "--batch",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(&images).unwrap();
    let ckpt = out.join("checkpoint.safetensors");
    let o = picogan(&["train", "--resume", ckpt.to_str().unwrap(), "--steps", "3"]);
    fails_with(&o, &format!("{}, which is missing", images.display()));
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_resumed_run_reports_the_time_of_all_its_parts() {
    let dir = scratch("time");
    let out = dir.join("run");
    let o = picogan(&[
        "train",
        "--dataset",
        "ring8",
        "--steps",
        "2000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seconds = || {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        m["train_seconds"].as_f64().unwrap()
    };
    let first = seconds();
    let ckpt = out.join("checkpoint.safetensors");
    let o = picogan(&[
        "train",
        "--resume",
        ckpt.to_str().unwrap(),
        "--steps",
        "2001",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // one more step takes far less than the 2,000 before it
    let total = seconds();
    assert!(total >= first, "{first} s, then {total} s");
    let said = format!("trained in {total:.1} s");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&said),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
