//! Checkpoints: a run stopped and resumed ends bit for bit as the uninterrupted run does;
//! an interrupted checkpoint write keeps the previous checkpoint; checkpoints that cannot
//! be resumed are refused with a reason.

use picogan::models::{
    PointsDiscriminator, PointsDiscriminatorW, PointsGenerator, PointsGeneratorW,
    TinyPointsDiscriminator, TinyPointsGenerator, TINY_WIDTH,
};
use picogan::{GeneratorLoss, Layer, Q16};
use picogan_host::checkpoint::{self, Checkpoint};
use picogan_host::train::{self, Arch, Arith, Dataset, Schedule, TrainOptions, TrainReport};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("picogan-checkpoint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// ring8 on the tiny pair: 1,200 steps with two Discriminator updates each, windows of
/// three steps (so checkpoints fall inside windows), a checkpoint every 100 steps. About
/// 0.1 s of training.
fn tiny(out: &Path) -> TrainOptions {
    TrainOptions {
        arch: Arch::Tiny,
        steps: 1_200,
        batch: 32,
        d_steps: 2,
        checkpoint_every: 100,
        out: Some(out.into()),
        ..TrainOptions::for_dataset(Dataset::Ring8)
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// metrics.json without its one wall-clock figure.
fn metrics_without_timing(dir: &Path) -> String {
    let text = String::from_utf8(read(&dir.join("metrics.json"))).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"train_seconds\""))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one timing line");
    kept.join("\n")
}

/// The checkpoint at `path`, written again with its one wall-clock figure, `train_seconds`,
/// set to 0: what two checkpoints of the same run share bit for bit.
fn checkpoint_without_timing<G, D>(path: &Path) -> Vec<u8>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    let c = Checkpoint::read(path).unwrap();
    let mut s = c.state::<G, D>().unwrap();
    // written again as it was, it is the file itself: nothing is lost in the reading
    assert!(checkpoint::to_bytes(&c.options, &s).unwrap() == read(path));
    s.seconds = 0.0;
    checkpoint::to_bytes(&c.options, &s).unwrap()
}

/// Asserts that two finished runs, reported in `a` and `b` and written to `dir_a` and
/// `dir_b`, agree bit for bit: networks, Adam state, random generators, curves, scores.
fn assert_same_run<G, D>(a: &TrainReport, dir_a: &Path, b: &TrainReport, dir_b: &Path)
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    assert_eq!(a.weights_crc32, b.weights_crc32);
    assert_eq!(a.history, b.history);
    assert_eq!(a.last, b.last);
    // Debug prints each f64 as the shortest decimal that reads back to it: equal text is
    // equal bits
    assert_eq!(format!("{:?}", a.quality), format!("{:?}", b.quality));
    for name in [
        "generator.safetensors",
        "discriminator.safetensors",
        "samples.csv",
    ] {
        assert!(
            read(&dir_a.join(name)) == read(&dir_b.join(name)),
            "{name} differs"
        );
    }
    let timeless = |dir: &Path| checkpoint_without_timing::<G, D>(&dir.join(checkpoint::FILE_NAME));
    assert!(timeless(dir_a) == timeless(dir_b), "the checkpoints differ");
    assert_eq!(metrics_without_timing(dir_a), metrics_without_timing(dir_b));

    // the final checkpoints' states, field by field
    let ca = Checkpoint::read(&dir_a.join(checkpoint::FILE_NAME)).unwrap();
    let cb = Checkpoint::read(&dir_b.join(checkpoint::FILE_NAME)).unwrap();
    let (sa, sb) = (ca.state::<G, D>().unwrap(), cb.state::<G, D>().unwrap());
    assert_eq!(sa.step, a.steps);
    assert_eq!(sa.step, sb.step);
    for i in 0..G::TENSORS {
        assert_eq!(sa.gan.g.tensor(i), sb.gan.g.tensor(i));
        assert_eq!(sa.gan.g_opt.m.tensor(i), sb.gan.g_opt.m.tensor(i));
        assert_eq!(sa.gan.g_opt.v.tensor(i), sb.gan.g_opt.v.tensor(i));
    }
    for i in 0..D::TENSORS {
        assert_eq!(sa.gan.d.tensor(i), sb.gan.d.tensor(i));
        assert_eq!(sa.gan.d_opt.m.tensor(i), sb.gan.d_opt.m.tensor(i));
        assert_eq!(sa.gan.d_opt.v.tensor(i), sb.gan.d_opt.v.tensor(i));
    }
    assert_eq!(
        (sa.gan.g_opt.t, sa.gan.d_opt.t),
        (sb.gan.g_opt.t, sb.gan.d_opt.t)
    );
    assert_eq!((sa.data_rng, sa.noise_rng), (sb.data_rng, sb.noise_rng));
    assert_eq!(sa.curves, sb.curves);
}

/// Trains `opts` uninterrupted into `whole`, and again into `parts` stopping at each of
/// `stops` and resuming from the checkpoint read back from disk; the two must agree.
fn check_resume<G, D>(opts: impl Fn(&Path) -> TrainOptions, stops: &[u32], dir: &TempDir)
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    let (whole, parts) = (dir.join("whole"), dir.join("parts"));
    let full = train::train(&opts(&whole)).unwrap();

    let mut from: Option<Checkpoint> = None;
    for &at in stops {
        let o = match &from {
            Some(c) => c.options.clone(),
            None => opts(&parts),
        };
        let path = train::train_until(&o, from.as_ref(), at).unwrap();
        let c = Checkpoint::read(&path).unwrap();
        assert_eq!(c.step, at);
        assert_eq!(c.options.out.as_deref(), Some(parts.as_path()));
        from = Some(c);
    }
    let c = from.expect("a stop");
    let resumed = train::resume(&c, &c.options).unwrap();
    assert_same_run::<G, D>(&full, &whole, &resumed, &parts);
}

#[test]
fn a_resumed_run_ends_bit_for_bit_as_the_uninterrupted_one() {
    let dir = TempDir::new("resume-tiny");
    // one stop in the first half, where the learning rates are constant, one in the
    // decay; both inside a window of the curves
    check_resume::<TinyPointsGenerator, TinyPointsDiscriminator>(tiny, &[500, 901], &dir);
    let c = Checkpoint::read(&dir.join("parts").join(checkpoint::FILE_NAME)).unwrap();
    assert_eq!(c.step, 1_200);
}

#[test]
fn a_resumed_fixed_point_run_ends_bit_for_bit_too() {
    // Q16.16 values are stored as F32, exactly (they are all below 256 in magnitude), and
    // read back into Q16.16 exactly
    let dir = TempDir::new("resume-q16");
    let opts = |out: &Path| TrainOptions {
        arith: Arith::Q16,
        ..tiny(out)
    };
    check_resume::<PointsGeneratorW<TINY_WIDTH, Q16>, PointsDiscriminatorW<TINY_WIDTH, Q16>>(
        opts,
        &[500, 901],
        &dir,
    );
    let c = Checkpoint::read(&dir.join("parts").join(checkpoint::FILE_NAME)).unwrap();
    assert_eq!(c.options.arith, Arith::Q16);
}

#[test]
fn a_resumed_run_of_the_small_pair_ends_bit_for_bit_too() {
    // other settings: the small pair, minimax loss, constant rates, no periodic checkpoint
    let dir = TempDir::new("resume-small");
    let opts = |out: &Path| TrainOptions {
        arch: Arch::Small,
        steps: 401,
        batch: 16,
        g_loss: GeneratorLoss::Minimax,
        schedule: Schedule::Constant,
        checkpoint_every: 0,
        seed: 7,
        out: Some(out.into()),
        ..TrainOptions::for_dataset(Dataset::Ring8)
    };
    check_resume::<PointsGenerator, PointsDiscriminator>(opts, &[1], &dir);
}

#[test]
fn periodic_checkpoints_are_those_of_a_run_stopped_there() {
    let dir = TempDir::new("periodic");
    let stopped = train::train_until(&tiny(&dir.join("stopped")), None, 1_100).unwrap();

    // a full run whose results cannot be put in place (metrics.json a link into a
    // directory that is not there, which only the final rename finds out) fails after
    // training and leaves its last periodic checkpoint, of step 1,100
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::os::unix::fs::symlink("missing/metrics.json", run.join("metrics.json")).unwrap();
    let err = train::train(&tiny(&run)).unwrap_err();
    assert!(format!("{err:#}").contains("metrics.json"), "{err:#}");
    let timeless = checkpoint_without_timing::<TinyPointsGenerator, TinyPointsDiscriminator>;
    assert!(timeless(&run.join(checkpoint::FILE_NAME)) == timeless(&stopped));
}

#[test]
fn a_diverging_run_leaves_its_last_good_checkpoint() {
    // learning rates this high overflow the Adam moments within a few steps
    let dir = TempDir::new("diverging");
    let mut opts = tiny(&dir.0);
    opts.g_adam.lr = 1e5;
    opts.d_adam.lr = 1e5;
    opts.checkpoint_every = 1;
    let err = format!("{:#}", train::train(&opts).unwrap_err());
    assert!(err.contains("diverged"), "{err}");
    let c = Checkpoint::read(&dir.join(checkpoint::FILE_NAME)).unwrap();
    assert!(c.step >= 1 && c.step < opts.steps, "step {}", c.step);
    c.state::<TinyPointsGenerator, TinyPointsDiscriminator>()
        .unwrap();
}

#[test]
fn a_fixed_point_run_beyond_what_a_file_holds_exactly_keeps_its_last_good_checkpoint() {
    // learning rates of 0.5 take the Adam moments of the tiny pair past 256 within a few
    // dozen steps: such a state is refused by name rather than rounded into the file
    let dir = TempDir::new("beyond-256");
    let mut opts = tiny(&dir.0);
    opts.arith = Arith::Q16;
    opts.g_adam.lr = 0.5;
    opts.d_adam.lr = 0.5;
    opts.checkpoint_every = 1;
    let err = format!("{:#}", train::train(&opts).unwrap_err());
    assert!(err.contains("magnitude 256 or more in the "), "{err}");
    let c = Checkpoint::read(&dir.join(checkpoint::FILE_NAME)).unwrap();
    assert!(c.step >= 1 && c.step < opts.steps, "step {}", c.step);
    c.state::<PointsGeneratorW<TINY_WIDTH, Q16>, PointsDiscriminatorW<TINY_WIDTH, Q16>>()
        .unwrap();
}

#[test]
fn an_interrupted_write_keeps_the_previous_checkpoint() {
    let dir = TempDir::new("interrupted");
    let path = train::train_until(&tiny(&dir.0), None, 300).unwrap();
    let a = read(&path);
    let state_a = Checkpoint::read(&path)
        .unwrap()
        .state::<TinyPointsGenerator, TinyPointsDiscriminator>()
        .unwrap();
    // B: the same run 400 steps on, elsewhere
    let later = dir.join("later");
    let c = Checkpoint::read(&path).unwrap();
    let o = TrainOptions {
        out: Some(later.clone()),
        ..c.options.clone()
    };
    let b = read(&train::train_until(&o, Some(&c), 700).unwrap());
    assert_ne!(a, b);

    // B's write cut short after k bytes, for k across the whole file: the header length,
    // the header, every tensor's data, the last byte
    let header_end = 8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let mut cuts: Vec<usize> = (0..b.len()).step_by(b.len() / 97).collect();
    cuts.extend([
        1,
        7,
        8,
        9,
        header_end - 1,
        header_end,
        header_end + 1,
        b.len() - 1,
    ]);
    for &k in &cuts {
        let cut = checkpoint::write_with(&path, &b, |f, bytes| {
            f.write_all(&bytes[..k])?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(cut.is_err(), "a write cut at {k} reported success");
        assert!(
            read(&path) == a,
            "cut at {k}: the previous checkpoint changed"
        );
        // nothing left beside it: the partial file is removed
        let files = std::fs::read_dir(&dir.0).unwrap().count();
        assert_eq!(files, 2, "cut at {k}: stray files"); // the checkpoint and later/
    }
    let back = Checkpoint::read(&path)
        .unwrap()
        .state::<TinyPointsGenerator, TinyPointsDiscriminator>()
        .unwrap();
    assert_eq!(back.step, 300);
    assert_eq!(back.gan.g, state_a.gan.g);
    assert_eq!(back.gan.d, state_a.gan.d);
    assert_eq!(back.gan.g_opt.v, state_a.gan.g_opt.v);
    assert_eq!(back.gan.d_opt.m, state_a.gan.d_opt.m);
    assert_eq!(back.curves, state_a.curves);

    // B itself, cut at every length, as a file left half-written by a crash, is refused
    // with an error naming it; at full length it loads
    for k in 0..b.len() {
        match Checkpoint::from_bytes(&b[..k], "cut") {
            Ok(_) => panic!("B cut to {k} of {} bytes loaded", b.len()),
            Err(e) => assert!(e.to_string().starts_with("cut"), "{e}"),
        }
    }
    let torn = dir.join("torn.safetensors");
    std::fs::write(&torn, &b[..header_end + 100]).unwrap();
    let err = format!("{:#}", Checkpoint::read(&torn).err().expect("loaded"));
    assert!(err.contains("torn.safetensors"), "{err}");

    // and the write that completes replaces A with B
    checkpoint::write(&path, &b).unwrap();
    assert_eq!(Checkpoint::read(&path).unwrap().step, 700);
}

#[test]
fn checkpoints_that_cannot_be_resumed_are_refused() {
    let dir = TempDir::new("refused");
    let path = train::train_until(&tiny(&dir.0), None, 200).unwrap();
    let good = read(&path);

    // weights only, as `picogan import` writes them
    let source = dir.join("trained-elsewhere.safetensors");
    std::fs::write(&source, weights_only(&good)).unwrap();
    let imported = dir.join("imported.safetensors");
    picogan_host::import::import(&picogan_host::import::ImportOptions {
        from: source,
        arch: Arch::Tiny,
        dataset: Some("ring8".into()),
        role: None,
        renames: Vec::new(),
        allow_extra: false,
        round_f64: false,
        out: imported.clone(),
    })
    .unwrap();
    let err = format!(
        "{:#}",
        Checkpoint::read(&imported).err().expect("resumable")
    );
    assert!(
        err.contains("weights only") && err.contains("cannot be resumed"),
        "{err}"
    );

    // one flipped bit in the data
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x10;
    let err = format!(
        "{:#}",
        Checkpoint::from_bytes(&bad, "flipped")
            .err()
            .expect("loaded")
    );
    assert!(
        err.starts_with("flipped") && err.contains("checksum mismatch"),
        "{err}"
    );

    // a Generator file is no checkpoint
    let g = Checkpoint::from_bytes(&good, "ckpt")
        .unwrap()
        .state::<TinyPointsGenerator, TinyPointsDiscriminator>()
        .unwrap()
        .gan
        .g;
    let info = picogan_host::weights::ModelInfo {
        dataset: "ring8".into(),
        arch: "tiny".into(),
        role: "generator".into(),
    };
    let bytes = picogan_host::weights::to_bytes(&g, &info).unwrap();
    let err = format!(
        "{:#}",
        Checkpoint::from_bytes(&bytes, "g").err().expect("read")
    );
    assert!(err.contains("not a checkpoint"), "{err}");

    // other settings, or no steps left
    let c = Checkpoint::from_bytes(&good, "ckpt").unwrap();
    let err = train::resume(
        &c,
        &TrainOptions {
            seed: 2,
            ..c.options.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("seed"), "{err}");
    for (steps, says) in [(200, "complete"), (150, "fewer")] {
        let o = TrainOptions {
            steps,
            out: Some(dir.join("x")),
            ..c.options.clone()
        };
        let err = train::resume(&c, &o).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
}

/// A file holding only the two networks of checkpoint `bytes`, under the same names, with
/// no metadata: what a training script elsewhere would save.
fn weights_only(bytes: &[u8]) -> Vec<u8> {
    let bytes = picogan_host::weights::FileBytes::new(bytes);
    let file = picogan::safetensors::File::parse(&bytes).unwrap();
    let mut b = picogan_host::weights::Builder::new();
    for t in file.tensors() {
        if t.name.starts_with("generator.") || t.name.starts_with("discriminator.") {
            let values: Vec<f32> = (0..t.len()).map(|k| t.value(k).unwrap()).collect();
            let shape: Vec<usize> = t.shape.dims().iter().map(|&d| d as usize).collect();
            b.f32s(t.name, &shape, &values);
        }
    }
    b.to_bytes().unwrap()
}

#[test]
fn sample_draws_from_a_checkpoint_as_from_the_generator_file() {
    let dir = TempDir::new("sample");
    let opts = TrainOptions {
        steps: 200,
        ..tiny(&dir.join("run"))
    };
    train::train(&opts).unwrap();
    let from = |weights: &str, out: &str| {
        picogan_host::sample::sample(&dir.join("run").join(weights), 300, 5, &dir.join(out))
            .unwrap()
            .samples
    };
    let a = from(checkpoint::FILE_NAME, "a.png");
    let b = from("generator.safetensors", "b.png");
    assert_eq!(a.len(), 600);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(read(&dir.join("a.csv")) == read(&dir.join("b.csv")));
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_run_into_a_directory_another_run_writes_to_is_refused() {
    let dir = TempDir::new("locked");
    // the lock another run would hold
    let lock = std::fs::File::create(dir.join(picogan_host::LOCK_FILE)).unwrap();
    lock.try_lock().unwrap();
    let err = format!("{:#}", train::train(&tiny(&dir.0)).unwrap_err());
    assert_eq!(
        err,
        format!("another picogan run is writing to {}", dir.0.display())
    );
    assert_eq!(listing(&dir.0), [picogan_host::LOCK_FILE], "it wrote");
    // nor may a run resume there
    let other = dir.join("other");
    let c = Checkpoint::read(&train::train_until(&tiny(&other), None, 100).unwrap()).unwrap();
    let o = TrainOptions {
        out: Some(dir.0.clone()),
        ..c.options.clone()
    };
    let err = format!("{:#}", train::resume(&c, &o).unwrap_err());
    assert!(err.starts_with("another picogan run"), "{err}");

    // once it is released, the run goes ahead, and takes its lock file away at the end
    drop(lock);
    train::train(&TrainOptions {
        steps: 50,
        ..tiny(&dir.0)
    })
    .unwrap();
    assert!(!dir.join(picogan_host::LOCK_FILE).exists());
}

#[test]
fn two_runs_at_once_in_one_directory_do_not_mix() {
    // every run either fails on the lock or finishes with its own files; the files in
    // place at the end are one run's, whole
    let dir = TempDir::new("two-at-once");
    let runs: Vec<TrainOptions> = (1..=4)
        .map(|seed| TrainOptions {
            steps: 300,
            seed,
            ..tiny(&dir.0)
        })
        .collect();
    let reports: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|o| s.spawn(move || train::train(o)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut finished = Vec::new();
    for r in reports {
        match r {
            Ok(r) => finished.push(r),
            Err(e) => assert!(format!("{e:#}").contains("another picogan run"), "{e:#}"),
        }
    }
    assert!(!finished.is_empty());
    let c = Checkpoint::read(&dir.join(checkpoint::FILE_NAME)).unwrap();
    let last = finished
        .iter()
        .find(|r| r.seed == c.options.seed)
        .expect("the checkpoint of a run that finished");
    let s = c
        .state::<TinyPointsGenerator, TinyPointsDiscriminator>()
        .unwrap();
    assert_eq!(
        picogan_host::hash::crc32_layer(&s.gan.g),
        last.weights_crc32.generator
    );
    assert_eq!(
        picogan_host::hash::crc32_layer(&s.gan.d),
        last.weights_crc32.discriminator
    );
    // the Generator file beside it is the same run's
    let draw = |weights: &str, out: &str| {
        picogan_host::sample::sample(&dir.join(weights), 50, 1, &dir.join("drawn").join(out))
            .unwrap()
            .samples
    };
    assert_eq!(
        draw(checkpoint::FILE_NAME, "a.png"),
        draw("generator.safetensors", "b.png")
    );
    let names = listing(&dir.0);
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "left behind: {names:?}"
    );
}

#[test]
fn a_fresh_run_does_not_replace_an_unfinished_one() {
    let dir = TempDir::new("unfinished");
    let path = train::train_until(&tiny(&dir.0), None, 300).unwrap();
    let before = read(&path);
    let err = format!("{:#}", train::train(&tiny(&dir.0)).unwrap_err());
    assert_eq!(
        err,
        format!(
            "{} holds an unfinished run at step 300 of 1200: resume it with `picogan train \
             --resume {}`, or remove that file to start over",
            dir.0.display(),
            path.display()
        )
    );
    assert!(read(&path) == before, "the checkpoint changed");
    // nor does another run resumed into it
    let other = dir.join("other");
    let o = TrainOptions {
        seed: 2,
        ..tiny(&other)
    };
    let c = Checkpoint::read(&train::train_until(&o, None, 100).unwrap()).unwrap();
    let into = TrainOptions {
        out: Some(dir.0.clone()),
        ..c.options.clone()
    };
    let err = format!("{:#}", train::resume(&c, &into).unwrap_err());
    assert!(err.contains("unfinished run at step 300"), "{err}");
    assert!(read(&path) == before, "the checkpoint changed");
    // its own resumption finishes it, and a finished run's directory may be used again
    let c = Checkpoint::read(&path).unwrap();
    train::resume(&c, &c.options).unwrap();
    let again = train::train(&TrainOptions {
        steps: 100,
        ..tiny(&dir.0)
    })
    .unwrap();
    assert_eq!(Checkpoint::read(&path).unwrap().step, again.steps);
}

#[test]
fn a_run_clears_what_killed_runs_left_half_written() {
    let dir = TempDir::new("stale");
    let stale = [
        ".partial-generator.safetensors",
        ".partial-4242.0-metrics.json",
        ".partial-Xq3ZbT",
    ];
    for name in stale.iter().chain(&["notes.txt", ".partialx"]) {
        std::fs::write(dir.join(name), "left").unwrap();
    }
    train::train_until(&tiny(&dir.0), None, 100).unwrap();
    assert_eq!(
        listing(&dir.0),
        [".partialx", checkpoint::FILE_NAME, "notes.txt"]
    );
    // and so does a resumed one
    std::fs::write(dir.join(stale[0]), "left").unwrap();
    let c = Checkpoint::read(&dir.join(checkpoint::FILE_NAME)).unwrap();
    train::train_until(&c.options, Some(&c), 200).unwrap();
    assert_eq!(
        listing(&dir.0),
        [".partialx", checkpoint::FILE_NAME, "notes.txt"]
    );
}

/// Writes an IDX file of `n` 28×28 images whose pixels `pixel(i)` gives.
fn write_idx(path: &Path, n: u32, pixel: impl Fn(u32) -> u8) {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [n, 28, 28] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend((0..n * 784).map(pixel));
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_resumed_run_checks_its_images_are_those_it_began_on() {
    // the image networks are built on the stack, larger than a test thread's
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(check_images_on_resume)
        .unwrap()
        .join()
        .unwrap();
}

fn check_images_on_resume() {
    let dir = TempDir::new("idx-data");
    let images = dir.join("images-idx3-ubyte");
    let first = |i: u32| (i * 7919 % 256) as u8;
    write_idx(&images, 20, first);
    let opts = TrainOptions {
        steps: 4,
        batch: 4,
        checkpoint_every: 0,
        out: Some(dir.join("run")),
        ..TrainOptions::for_dataset(Dataset::Idx(images.clone()))
    };
    let path = train::train_until(&opts, None, 2).unwrap();
    let c = Checkpoint::read(&path).unwrap();
    assert!(c.data_crc32.is_some());

    // other images of the same shape and number
    write_idx(&images, 20, |i| first(i) ^ 1);
    let err = format!("{:#}", train::resume(&c, &c.options).unwrap_err());
    assert!(
        err.starts_with(&format!(
            "the data in {} changed since the checkpoint",
            images.display()
        )),
        "{err}"
    );
    // no images at all: said before anything is loaded
    std::fs::remove_file(&images).unwrap();
    let err = format!("{:#}", c.check_continuation(&c.options).unwrap_err());
    assert!(
        err.contains(&format!("{}, which is missing", images.display())),
        "{err}"
    );
    // the images it began on
    write_idx(&images, 20, first);
    train::resume(&c, &c.options).unwrap();
}

#[test]
fn a_resumed_run_counts_the_time_of_its_earlier_parts() {
    let dir = TempDir::new("time");
    let path = train::train_until(&tiny(&dir.0), None, 600).unwrap();
    let mut c = Checkpoint::read(&path).unwrap();
    assert!(c.seconds > 0.0 && c.seconds < 60.0, "{} s", c.seconds);
    // as if the first part had taken an hour
    c.seconds = 3600.0;
    let r = train::resume(&c, &c.options).unwrap();
    assert!(
        r.train_seconds > 3600.0 && r.train_seconds < 3660.0,
        "{} s",
        r.train_seconds
    );
    let end = Checkpoint::read(&path).unwrap();
    assert_eq!(end.seconds.to_bits(), r.train_seconds.to_bits());
    let metrics = String::from_utf8(read(&dir.join("metrics.json"))).unwrap();
    assert!(
        metrics.contains(&format!("\"train_seconds\": {}", r.train_seconds)),
        "{metrics}"
    );
}
