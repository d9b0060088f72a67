//! Checkpoints: a training run saved between two Generator steps, from which it resumes
//! and ends bit for bit where the uninterrupted run would have.
//!
//! A checkpoint is a safetensors file built with [`weights::Builder`], so it carries a
//! CRC-32 of its data, and read back with the core's reader. Its tensors:
//!
//! | name | what |
//! |---|---|
//! | `generator.fc.N.weight`, `generator.fc.N.bias` | the Generator, `[out, in]`, `[out]` |
//! | `discriminator.fc.N.…` | the Discriminator |
//! | `optim.generator.m.fc.N.…`, `optim.generator.v.fc.N.…` | the Generator's Adam moments |
//! | `optim.discriminator.m.…`, `optim.discriminator.v.…` | the Discriminator's |
//! | `history.step` (U32), `history.d_loss`, `….g_loss`, `….d_real`, `….d_fake` | curves |
//! | `history.window_sums` `[4]`, `history.window_count` (U32 `[1]`) | the open window |
//! | `history.last` `[4]` | D loss, G loss, D(x) and D(G(z)) of the last step |
//!
//! The curves hold one mean per closed window, `[windows]`; the window sums are of the same
//! four figures as `history.last`, over the steps since the last closed window.
//!
//! The optimizer's names do not start with `generator.`, so `picogan sample` reads the
//! Generator of a checkpoint under that prefix with nothing left over.
//!
//! The metadata holds the rest as text: `format` ([`weights::FORMAT_CHECKPOINT`]),
//! `dataset` (and for IDX files `dataset_path` and `dataset_crc32`, the CRC-32 of the
//! images as [`crate::hash::crc32_f32`] computes it over their values, 8 hexadecimal
//! digits), `arch`, `step` (Generator steps done), the
//! settings `steps`, `batch`, `d_steps`, `seed`, `g_loss` (`non-saturating` or `minimax`),
//! `schedule` (`constant` or `half-linear`) and `checkpoint_every`, each optimizer's
//! `optim.generator.lr`, `….beta1`, `….beta2`, `….eps`, `….weight_decay` and step count
//! `….t`, the state of the data and noise generators, `rng.data` and `rng.noise`, and
//! `train_seconds`, the wall-clock time the run has trained so far. That last one differs
//! from one run to the next: two checkpoints of the same run agree bit for bit apart from
//! it. A checkpoint without `dataset_crc32` or `train_seconds` is read as one whose data is
//! not checked and whose time is unknown (0).
//! Numbers are decimal; an f32 is written as Rust prints it, the shortest decimal that
//! reads back to the same bits. A generator's state is its four 32-bit words as 32
//! hexadecimal digits.
//!
//! A checkpoint is checked whole before any of it is used: every field present and well
//! formed, every tensor present with its network's shape and finite values, and nothing
//! else in the file.

use crate::train::{Arch, Arith, Curves, Dataset, History, Schedule, TrainOptions, TrainState};
use crate::weights::{self, Builder, FileBytes};
use crate::HostRng;
use anyhow::{bail, ensure, Context, Result};
use picogan::optim::{Adam, AdamConfig};
use picogan::safetensors::{Dtype, File, LoadOptions, Tensor};
use picogan::{Gan, GeneratorLoss, Layer, StepStats};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The name of the checkpoint in a run's output directory.
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// Tensor name prefixes of the networks and their Adam moments.
const GENERATOR: &str = "generator.";
const DISCRIMINATOR: &str = "discriminator.";
const G_M: &str = "optim.generator.m.";
const G_V: &str = "optim.generator.v.";
const D_M: &str = "optim.discriminator.m.";
const D_V: &str = "optim.discriminator.v.";

/// The tensors of the training curves.
const CURVES: [&str; 8] = [
    "history.step",
    "history.d_loss",
    "history.g_loss",
    "history.d_real",
    "history.d_fake",
    "history.window_sums",
    "history.window_count",
    "history.last",
];

/// The checkpoint's bytes for the run `opts` in `state`. Refuses a state with NaN or
/// infinite weights or moments, which could not be resumed.
pub fn to_bytes<G, D>(opts: &TrainOptions, state: &TrainState<G, D>) -> Result<Vec<u8>>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    let gan = &state.gan;
    let finite = [
        ("Generator", gan.g.is_finite()),
        ("Discriminator", gan.d.is_finite()),
        (
            "Generator's Adam moments",
            gan.g_opt.m.is_finite() && gan.g_opt.v.is_finite(),
        ),
        (
            "Discriminator's Adam moments",
            gan.d_opt.m.is_finite() && gan.d_opt.v.is_finite(),
        ),
    ];
    if let Some((what, _)) = finite.iter().find(|(_, ok)| !ok) {
        bail!("training diverged: NaN or infinite values in the {what}; no checkpoint was written");
    }
    // a fixed-point run is stored in F32 tensors, exactly while every magnitude is below 256
    let exact = [
        ("Generator", weights::exact_in_f32(&gan.g)),
        ("Discriminator", weights::exact_in_f32(&gan.d)),
        (
            "Generator's Adam moments",
            weights::exact_in_f32(&gan.g_opt.m),
        ),
        (
            "Generator's Adam moments",
            weights::exact_in_f32(&gan.g_opt.v),
        ),
        (
            "Discriminator's Adam moments",
            weights::exact_in_f32(&gan.d_opt.m),
        ),
        (
            "Discriminator's Adam moments",
            weights::exact_in_f32(&gan.d_opt.v),
        ),
    ];
    if let Some((what, _)) = exact.iter().find(|(_, ok)| !ok) {
        bail!(
            "a value of magnitude 256 or more in the {what}, which a weights file cannot hold \
             exactly in fixed point; no checkpoint was written: try lower learning rates or a \
             smaller batch (the fixed-point gradient is the batch's sum)"
        );
    }

    let mut b = Builder::new();
    b.network(GENERATOR, &gan.g)
        .network(DISCRIMINATOR, &gan.d)
        .network(G_M, &gan.g_opt.m)
        .network(G_V, &gan.g_opt.v)
        .network(D_M, &gan.d_opt.m)
        .network(D_V, &gan.d_opt.v);
    let c = &state.curves;
    let h = &c.history;
    let last = [c.last.d_loss, c.last.g_loss, c.last.d_real, c.last.d_fake];
    b.u32s("history.step", &h.step)
        .f32s("history.d_loss", &[h.d_loss.len()], &h.d_loss)
        .f32s("history.g_loss", &[h.g_loss.len()], &h.g_loss)
        .f32s("history.d_real", &[h.d_real.len()], &h.d_real)
        .f32s("history.d_fake", &[h.d_fake.len()], &h.d_fake)
        .f32s("history.window_sums", &[4], &c.sums)
        .u32s("history.window_count", &[c.count])
        .f32s("history.last", &[4], &last);

    b.metadata("format", weights::FORMAT_CHECKPOINT)
        .metadata("dataset", opts.dataset.name())
        .metadata("arch", opts.arch.name())
        .metadata("arith", opts.arith.name())
        .metadata("step", state.step.to_string())
        .metadata("steps", opts.steps.to_string())
        .metadata("batch", opts.batch.to_string())
        .metadata("d_steps", opts.d_steps.to_string())
        .metadata("seed", opts.seed.to_string())
        .metadata("g_loss", g_loss_name(opts.g_loss))
        .metadata("schedule", schedule_name(opts.schedule))
        .metadata("checkpoint_every", opts.checkpoint_every.to_string())
        .metadata("rng.data", rng_hex(&state.data_rng)?)
        .metadata("rng.noise", rng_hex(&state.noise_rng)?)
        .metadata("train_seconds", state.seconds.to_string())
        .metadata("saturations", state.saturations.to_string());
    if let Dataset::Idx(path) = &opts.dataset {
        // absolute, so that a run resumed from another directory finds the images
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        b.metadata("dataset_path", path.to_string_lossy());
    }
    if let Some(crc) = state.data_crc32 {
        b.metadata("dataset_crc32", format!("{crc:08x}"));
    }
    for (role, c, t) in [
        ("generator", &opts.g_adam, gan.g_opt.t),
        ("discriminator", &opts.d_adam, gan.d_opt.t),
    ] {
        let key = |k: &str| format!("optim.{role}.{k}");
        b.metadata(&key("lr"), c.lr.to_string())
            .metadata(&key("beta1"), c.beta1.to_string())
            .metadata(&key("beta2"), c.beta2.to_string())
            .metadata(&key("eps"), c.eps.to_string())
            .metadata(&key("weight_decay"), c.weight_decay.to_string())
            .metadata(&key("t"), t.to_string());
    }
    b.to_bytes()
}

/// Writes the checkpoint of `state` to `path` atomically (see [`write`]).
pub fn save<G, D>(path: &Path, opts: &TrainOptions, state: &TrainState<G, D>) -> Result<()>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    write(path, &to_bytes(opts, state)?)
}

/// Writes `bytes` to `path` atomically (see [`weights::write_atomic`]).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    weights::write_atomic(path, bytes)
}

/// [`write`], with `put` handing the bytes to the new file (see
/// [`weights::write_atomic_with`]).
pub fn write_with(
    path: &Path,
    bytes: &[u8],
    put: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    weights::write_atomic_with(path, bytes, put)
}

/// Writes `bytes` to `path` and flushes them to disk, for a file that is renamed into place
/// afterwards.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = || format!("cannot write {}", path.display());
    let mut f = std::fs::File::create(path).with_context(fail)?;
    f.write_all(bytes).with_context(fail)?;
    f.sync_all().with_context(fail)
}

/// A checkpoint read and checked whole: the settings and state of the run it records.
pub struct Checkpoint {
    /// The run's settings; `out` is the checkpoint's directory, `progress` off.
    pub options: TrainOptions,
    /// Generator steps done.
    pub step: u32,
    /// The training curves so far.
    pub curves: Curves,
    /// Wall-clock seconds of training so far (0 when the file does not say).
    pub seconds: f64,
    /// Fixed-point results held at a bound so far (0 when the file does not say).
    pub saturations: u64,
    /// CRC-32 of the images the run trains on, for IDX files (see the module's notes).
    pub data_crc32: Option<u32>,
    /// The file read, when read from one.
    path: Option<PathBuf>,
    /// Steps taken by the Generator's and the Discriminator's Adam.
    adam_t: [u32; 2],
    /// The data and noise generators.
    rngs: [HostRng; 2],
    /// The file, for the networks, read when the run continues.
    bytes: FileBytes,
    /// The file's name in errors.
    shown: String,
}

impl Checkpoint {
    /// Reads and checks the checkpoint at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bytes = FileBytes::read(path)?;
        let mut c = Self::checked(bytes, &shown)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        c.options.out = Some(dir.to_path_buf());
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Checks the checkpoint in `bytes`; errors start with `shown`. The settings' `out` is
    /// `None`.
    pub fn from_bytes(bytes: &[u8], shown: &str) -> Result<Self> {
        Self::checked(FileBytes::new(bytes), shown)
    }

    fn checked(bytes: FileBytes, shown: &str) -> Result<Self> {
        let file = weights::open(&bytes, shown)?;
        let meta = Meta { file: &file, shown };
        let format = meta.text("format")?;
        ensure!(
            format == weights::FORMAT_CHECKPOINT,
            "{shown} is not a checkpoint (its format is `{format}`): a Generator or \
             Discriminator file holds no training state to resume"
        );
        ensure!(
            file.metadata("step").is_some(),
            "{shown} holds weights only, as `picogan import` writes them: without the step \
             count, optimizer state and random-generator state of a run, it cannot be resumed"
        );
        file.require_checksum()
            .and_then(|_| file.require_header_checksum())
            .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;

        let options = meta.options()?;
        let step: u32 = meta.number("step")?;
        ensure!(
            step <= options.steps,
            "{shown}: metadata `step` is {step}, past the run's {} steps",
            options.steps
        );
        let adam_t = [
            meta.number("optim.generator.t")?,
            meta.number("optim.discriminator.t")?,
        ];
        // Adam's count saturates, as the optimizer's own does
        let expected = [step, step.saturating_mul(options.d_steps)];
        for (role, (t, want)) in ["generator", "discriminator"]
            .iter()
            .zip(adam_t.iter().zip(expected))
        {
            ensure!(
                *t == want,
                "{shown}: metadata `optim.{role}.t` is {t}, but {step} steps of the run take \
                 {want}"
            );
        }
        let rngs = [meta.rng("rng.data")?, meta.rng("rng.noise")?];
        let curves = read_curves(&file, step, shown)?;
        let seconds = match file.metadata("train_seconds") {
            Some(_) => meta.seconds("train_seconds")?,
            None => 0.0,
        };
        let saturations = match file.metadata("saturations") {
            Some(_) => meta.number("saturations")?,
            None => 0,
        };
        let data_crc32 = match file.metadata("dataset_crc32") {
            Some(_) => Some(meta.crc("dataset_crc32")?),
            None => None,
        };

        // the networks have the architecture's shapes, and every other tensor belongs
        // somewhere
        crate::with_models!(options.dataset.width(), options.arch, |G, D, X| {
            check_networks::<G, D>(&file, shown)
        })?;
        let prefixes = [GENERATOR, DISCRIMINATOR, G_M, G_V, D_M, D_V];
        for t in file.tensors() {
            ensure!(
                CURVES.contains(&t.name) || prefixes.iter().any(|p| t.name.starts_with(p)),
                "{shown}: unexpected tensor `{}`, which no checkpoint holds",
                t.name
            );
            if [G_V, D_V].iter().any(|p| t.name.starts_with(p)) {
                // a second moment is a mean of squares; a negative one makes Adam's √v NaN
                ensure!(
                    (0..t.len()).all(|k| t.value(k).is_none_or(|v| v >= 0.0)),
                    "{shown}: tensor `{}` holds a negative second moment",
                    t.name
                );
            }
        }

        drop(file); // it borrows `bytes`, which the checkpoint keeps
        Ok(Checkpoint {
            options,
            step,
            curves,
            seconds,
            saturations,
            data_crc32,
            path: None,
            adam_t,
            rngs,
            shown: shown.into(),
            bytes,
        })
    }

    /// The state of the run, with the networks `G` and `D` of the checkpoint's
    /// architecture.
    pub fn state<G, D>(&self) -> Result<TrainState<G, D>>
    where
        G: Layer,
        D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
    {
        let shown = &self.shown;
        let file = weights::open(&self.bytes, shown)?;
        let o = &self.options;
        let mut gan = Box::new(Gan::new(
            G::ZEROED,
            D::ZEROED,
            Adam::new(o.g_adam),
            Adam::new(o.d_adam),
        ));
        let load = |prefix| LoadOptions {
            prefix,
            ..LoadOptions::STRICT
        };
        weights::load_with(&mut gan.g, &file, &load(GENERATOR), shown)?;
        weights::load_with(&mut gan.d, &file, &load(DISCRIMINATOR), shown)?;
        weights::load_with(&mut gan.g_opt.m, &file, &load(G_M), shown)?;
        weights::load_with(&mut gan.g_opt.v, &file, &load(G_V), shown)?;
        weights::load_with(&mut gan.d_opt.m, &file, &load(D_M), shown)?;
        weights::load_with(&mut gan.d_opt.v, &file, &load(D_V), shown)?;
        gan.g_opt.t = self.adam_t[0];
        gan.d_opt.t = self.adam_t[1];
        let [data_rng, noise_rng] = self.rngs.clone();
        Ok(TrainState {
            gan,
            data_rng,
            noise_rng,
            step: self.step,
            curves: self.curves.clone(),
            seconds: self.seconds,
            saturations: self.saturations,
            data_crc32: self.data_crc32,
        })
    }

    /// The file the checkpoint was read from; `None` for one read from bytes.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Checks that `opts` continues this run: the checkpoint's settings, with only
    /// `steps`, `out`, `checkpoint_every` and `progress` changed, and steps left to take.
    pub fn check_continuation(&self, opts: &TrainOptions) -> Result<()> {
        let c = &self.options;
        let same = [
            ("data set", c.dataset == opts.dataset),
            ("architecture", c.arch == opts.arch),
            ("arithmetic", c.arith == opts.arith),
            ("batch", c.batch == opts.batch),
            ("Discriminator steps", c.d_steps == opts.d_steps),
            ("seed", c.seed == opts.seed),
            ("Generator's Adam settings", c.g_adam == opts.g_adam),
            ("Discriminator's Adam settings", c.d_adam == opts.d_adam),
            ("Generator loss", c.g_loss == opts.g_loss),
            ("schedule", c.schedule == opts.schedule),
        ];
        if let Some((what, _)) = same.iter().find(|(_, ok)| !ok) {
            bail!(
                "{}: a resumed run keeps the checkpoint's settings, but its {what} differs",
                self.shown
            );
        }
        ensure!(
            opts.steps != self.step,
            "{}: the run is complete at step {} of {}: give more --steps to extend it",
            self.shown,
            self.step,
            opts.steps
        );
        ensure!(
            opts.steps > self.step,
            "{}: --steps {} is fewer than the {} the checkpoint has already taken",
            self.shown,
            opts.steps,
            self.step
        );
        if let Dataset::Idx(path) = &c.dataset {
            ensure!(
                path.is_file(),
                "{}: the run trains on the images in {}, which is missing",
                self.shown,
                path.display()
            );
        }
        Ok(())
    }
}

/// Everything [`File::load_into`] checks of the six networks of a checkpoint.
fn check_networks<G: Layer<Scalar = f32>, D: Layer>(file: &File<'_>, shown: &str) -> Result<()> {
    let opts = |prefix| LoadOptions {
        prefix,
        ..LoadOptions::STRICT
    };
    let checks = [
        file.check::<G>(&opts(GENERATOR)),
        file.check::<D>(&opts(DISCRIMINATOR)),
        file.check::<G>(&opts(G_M)),
        file.check::<G>(&opts(G_V)),
        file.check::<D>(&opts(D_M)),
        file.check::<D>(&opts(D_V)),
    ];
    for c in checks {
        c.map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    }
    Ok(())
}

/// The training curves of a checkpoint at `step`.
fn read_curves(file: &File<'_>, step: u32, shown: &str) -> Result<Curves> {
    let series = |name| f32_tensor(file, name, None, shown);
    let history = History {
        step: u32_tensor(file, "history.step", None, shown)?,
        d_loss: series("history.d_loss")?,
        g_loss: series("history.g_loss")?,
        d_real: series("history.d_real")?,
        d_fake: series("history.d_fake")?,
    };
    let n = history.step.len();
    for (name, len) in [
        ("history.d_loss", history.d_loss.len()),
        ("history.g_loss", history.g_loss.len()),
        ("history.d_real", history.d_real.len()),
        ("history.d_fake", history.d_fake.len()),
    ] {
        ensure!(
            len == n,
            "{shown}: tensor `{name}` has {len} values, `history.step` {n}"
        );
    }
    ensure!(
        history.step.windows(2).all(|w| w[0] < w[1]) && history.step.iter().all(|&s| s <= step),
        "{shown}: tensor `history.step` is not rising steps up to {step}"
    );
    let sums = f32_tensor(file, "history.window_sums", Some(4), shown)?;
    let count = u32_tensor(file, "history.window_count", Some(1), shown)?[0];
    let last = f32_tensor(file, "history.last", Some(4), shown)?;
    let since = step - history.step.last().copied().unwrap_or(0);
    ensure!(
        count == since,
        "{shown}: tensor `history.window_count` is {count}, but {since} steps follow the last \
         window"
    );
    Ok(Curves {
        history,
        sums: [sums[0], sums[1], sums[2], sums[3]],
        count,
        last: StepStats {
            d_loss: last[0],
            g_loss: last[1],
            d_real: last[2],
            d_fake: last[3],
            saturations: 0,
        },
    })
}

/// Tensor `name`, which must exist with the given dtype and one dimension (of length
/// `len`, when given).
fn vector<'a>(
    file: &File<'a>,
    name: &str,
    dtype: Dtype,
    len: Option<usize>,
    shown: &str,
) -> Result<Tensor<'a>> {
    let t = file
        .tensor(name)
        .with_context(|| format!("{shown}: missing tensor `{name}`"))?;
    ensure!(
        t.dtype == dtype,
        "{shown}: tensor `{name}` is {}, not {}",
        t.dtype.name(),
        dtype.name()
    );
    let dims = t.shape.dims();
    ensure!(
        dims.len() == 1 && len.is_none_or(|n| dims[0] as usize == n),
        "{shown}: tensor `{name}` has shape {}, expected [{}]",
        t.shape,
        len.map_or("n".into(), |n| n.to_string())
    );
    Ok(t)
}

/// The finite values of F32 tensor `name`.
fn f32_tensor(file: &File<'_>, name: &str, len: Option<usize>, shown: &str) -> Result<Vec<f32>> {
    let t = vector(file, name, Dtype::F32, len, shown)?;
    let values: Vec<f32> = t
        .data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        bail!("{shown}: tensor `{name}` holds a NaN or infinite value at element {k}");
    }
    Ok(values)
}

/// The values of U32 tensor `name`.
fn u32_tensor(file: &File<'_>, name: &str, len: Option<usize>, shown: &str) -> Result<Vec<u32>> {
    let t = vector(file, name, Dtype::U32, len, shown)?;
    Ok(t.data
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The metadata of a checkpoint, read field by field with errors that name the field.
struct Meta<'f, 'a> {
    file: &'f File<'a>,
    shown: &'f str,
}

impl Meta<'_, '_> {
    /// The text of `key`, JSON escape sequences decoded.
    fn text(&self, key: &str) -> Result<String> {
        let raw = weights::required(self.file, key, self.shown)?;
        if !raw.contains('\\') {
            return Ok(raw);
        }
        serde_json::from_str(&format!("\"{raw}\"")).with_context(|| {
            format!(
                "{}: metadata `{key}` holds a malformed escape sequence",
                self.shown
            )
        })
    }

    /// `key` as a value of type `T`, described as `what` in errors.
    fn parse<T: std::str::FromStr>(&self, key: &str, what: &str) -> Result<T> {
        let v = self.text(key)?;
        v.parse()
            .ok()
            .with_context(|| format!("{}: metadata `{key}` is `{v}`, not {what}", self.shown))
    }

    /// `key` as a whole number.
    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        self.parse(key, "a whole number in range")
    }

    /// `key` as an f32 that lies in `range`.
    fn real(&self, key: &str, range: impl std::ops::RangeBounds<f32>, what: &str) -> Result<f32> {
        let v: f32 = self.parse(key, "a number")?;
        ensure!(
            v.is_finite() && range.contains(&v),
            "{}: metadata `{key}` is {v}; it must be {what}",
            self.shown
        );
        Ok(v)
    }

    /// `key` as a count of seconds.
    fn seconds(&self, key: &str) -> Result<f64> {
        let v: f64 = self.parse(key, "a number")?;
        ensure!(
            v.is_finite() && v >= 0.0,
            "{}: metadata `{key}` is {v}; it must be a number ≥ 0",
            self.shown
        );
        Ok(v)
    }

    /// `key` as a CRC-32 of 8 hexadecimal digits.
    fn crc(&self, key: &str) -> Result<u32> {
        let v = self.text(key)?;
        let crc = (v.len() == 8 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(&v, 16).ok())
            .flatten();
        crc.with_context(|| {
            format!(
                "{}: metadata `{key}` is `{v}`, not a CRC-32 (8 hexadecimal digits)",
                self.shown
            )
        })
    }

    /// `key` as a generator state.
    fn rng(&self, key: &str) -> Result<HostRng> {
        let v = self.text(key)?;
        rng_from_hex(&v).with_context(|| {
            format!(
                "{}: metadata `{key}` is `{v}`, not a generator state (32 hexadecimal digits, \
                 not all zero)",
                self.shown
            )
        })
    }

    /// The Adam settings of `role`.
    fn adam(&self, role: &str) -> Result<AdamConfig> {
        let key = |k: &str| format!("optim.{role}.{k}");
        let lr = self.real(&key("lr"), 0.0.., "a positive number")?;
        ensure!(
            lr > 0.0,
            "{}: metadata `{}` is 0; it must be a positive number",
            self.shown,
            key("lr")
        );
        Ok(AdamConfig {
            lr,
            beta1: self.real(&key("beta1"), 0.0..1.0, "in [0, 1)")?,
            beta2: self.real(&key("beta2"), 0.0..1.0, "in [0, 1)")?,
            eps: self.real(&key("eps"), 0.0.., "a number ≥ 0")?,
            weight_decay: self.real(&key("weight_decay"), 0.0.., "a number ≥ 0")?,
        })
    }

    /// The run's settings.
    fn options(&self) -> Result<TrainOptions> {
        let shown = self.shown;
        let dataset = match self.text("dataset")?.as_str() {
            "digits" => Dataset::Digits,
            "ring8" => Dataset::Ring8,
            "grid25" => Dataset::Grid25,
            "idx" => Dataset::Idx(PathBuf::from(self.text("dataset_path")?)),
            other => {
                bail!("{shown}: metadata `dataset` is `{other}`, not digits, ring8, grid25 or idx")
            }
        };
        let arch = match self.text("arch")?.as_str() {
            "small" => Arch::Small,
            "seed" => Arch::Seed,
            "tiny" => Arch::Tiny,
            "micro" => Arch::Micro,
            other => {
                bail!("{shown}: metadata `arch` is `{other}`, not small, seed, tiny or micro")
            }
        };
        // checkpoints written before fixed-point training existed are f32 runs
        let arith = match self.file.metadata("arith") {
            None => Arith::F32,
            Some(name) => Arith::from_name(name).ok_or_else(|| {
                anyhow::anyhow!("{shown}: metadata `arith` is `{name}`, not f32 or q16.16")
            })?,
        };
        let g_loss = match self.text("g_loss")?.as_str() {
            "non-saturating" => GeneratorLoss::NonSaturating,
            "minimax" => GeneratorLoss::Minimax,
            other => {
                bail!("{shown}: metadata `g_loss` is `{other}`, not non-saturating or minimax")
            }
        };
        let schedule = match self.text("schedule")?.as_str() {
            "constant" => Schedule::Constant,
            "half-linear" => Schedule::HalfLinear,
            other => {
                bail!("{shown}: metadata `schedule` is `{other}`, not constant or half-linear")
            }
        };
        let at_least_1 = |key: &str| -> Result<u32> {
            let n: u32 = self.number(key)?;
            ensure!(
                n >= 1,
                "{shown}: metadata `{key}` is 0; it must be at least 1"
            );
            Ok(n)
        };
        Ok(TrainOptions {
            dataset,
            arch,
            arith,
            steps: at_least_1("steps")?,
            batch: at_least_1("batch")?,
            d_steps: at_least_1("d_steps")?,
            seed: self.number("seed")?,
            g_adam: self.adam("generator")?,
            d_adam: self.adam("discriminator")?,
            g_loss,
            schedule,
            out: None,
            checkpoint_every: self.number("checkpoint_every")?,
            progress: false,
        })
    }
}

fn g_loss_name(l: GeneratorLoss) -> &'static str {
    match l {
        GeneratorLoss::NonSaturating => "non-saturating",
        GeneratorLoss::Minimax => "minimax",
    }
}

fn schedule_name(s: Schedule) -> &'static str {
    match s {
        Schedule::Constant => "constant",
        Schedule::HalfLinear => "half-linear",
    }
}

/// The four 32-bit words of a xoshiro128++ state, as 32 hexadecimal digits.
fn rng_hex(rng: &HostRng) -> Result<String> {
    // the generator hands out its state only through serde, as `{"s": [w0, w1, w2, w3]}`
    let words: [u32; 4] = serde_json::from_value(serde_json::to_value(rng)?["s"].take())
        .context("unexpected form of the generator's state")?;
    Ok(words.iter().map(|w| format!("{w:08x}")).collect())
}

/// The generator whose state [`rng_hex`] wrote as `hex`; `None` for anything else,
/// including the all-zero state, from which xoshiro draws only zeros.
fn rng_from_hex(hex: &str) -> Option<HostRng> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let words: Vec<u32> = (0..4)
        .map(|i| u32::from_str_radix(&hex[8 * i..8 * i + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    if words.iter().all(|&w| w == 0) {
        return None;
    }
    serde_json::from_value(serde_json::json!({ "s": words })).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use picogan::models::{TinyPointsDiscriminator, TinyPointsGenerator};
    use rand_core::Rng;

    type State = TrainState<TinyPointsGenerator, TinyPointsDiscriminator>;

    fn opts() -> TrainOptions {
        TrainOptions {
            arch: Arch::Tiny,
            steps: 800,
            batch: 16,
            d_steps: 3,
            ..TrainOptions::for_dataset(Dataset::Ring8)
        }
    }

    /// A state as after 41 steps of `opts()`, every field holding values of its own.
    fn state() -> State {
        let mut s = State::new(&opts());
        let mut rng = crate::rng(3);
        let gan = &mut s.gan;
        for i in 0..TinyPointsGenerator::TENSORS {
            picogan::noise::gaussian(&mut rng, gan.g_opt.m.tensor_mut(i));
            for v in gan.g_opt.v.tensor_mut(i) {
                *v = (rng.next_u32() >> 8) as f32 * 1e-9;
            }
        }
        for i in 0..TinyPointsDiscriminator::TENSORS {
            picogan::noise::gaussian(&mut rng, gan.d_opt.m.tensor_mut(i));
            gan.d_opt.v.tensor_mut(i).fill(0.25);
        }
        (gan.g_opt.t, gan.d_opt.t) = (41, 123);
        s.step = 41;
        s.data_rng.next_u64();
        s.noise_rng.next_u32();
        let c = &mut s.curves;
        c.history = History {
            step: vec![2, 4, 40],
            d_loss: vec![1.5, 1.25, 1.0 / 3.0],
            g_loss: vec![0.7, 0.75, 0.8],
            d_real: vec![0.5, 0.6, 0.7],
            d_fake: vec![0.5, 0.4, 0.3],
        };
        (c.sums, c.count) = ([1.1, 0.9, 0.6, 0.4], 1);
        c.last = StepStats {
            d_loss: 1.1,
            g_loss: 0.9,
            d_real: 0.6,
            d_fake: 0.4,
            saturations: 0,
        };
        s.seconds = 0.1 + 0.2;
        s.data_crc32 = Some(0x0badcafe);
        s
    }

    fn assert_same(a: &State, b: &State) {
        assert_eq!(a.gan.g, b.gan.g);
        assert_eq!(a.gan.d, b.gan.d);
        assert_eq!(a.gan.g_opt.m, b.gan.g_opt.m);
        assert_eq!(a.gan.g_opt.v, b.gan.g_opt.v);
        assert_eq!(a.gan.d_opt.m, b.gan.d_opt.m);
        assert_eq!(a.gan.d_opt.v, b.gan.d_opt.v);
        assert_eq!(
            (a.gan.g_opt.t, a.gan.d_opt.t),
            (b.gan.g_opt.t, b.gan.d_opt.t)
        );
        assert_eq!(a.gan.g_opt.config, b.gan.g_opt.config);
        assert_eq!(a.gan.d_opt.config, b.gan.d_opt.config);
        assert_eq!((&a.data_rng, &a.noise_rng), (&b.data_rng, &b.noise_rng));
        assert_eq!(a.step, b.step);
        assert_eq!(a.curves, b.curves);
        assert_eq!(a.seconds.to_bits(), b.seconds.to_bits());
        assert_eq!(a.data_crc32, b.data_crc32);
    }

    /// `bytes` with its header JSON and data changed by `edit`, the data's checksum made to
    /// match and the metadata's removed, so that the edit meets the checks behind them.
    fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value, &mut Vec<u8>)) -> Vec<u8> {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let mut data = bytes[8 + n..].to_vec();
        edit(&mut header, &mut data);
        let text = serde_json::to_vec(&header).unwrap();
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&text);
        out.extend_from_slice(&data);
        // sealed again, as if written so: the checks under test are those behind the checksums
        crate::weights::seal(out).unwrap()
    }

    fn error(bytes: Vec<u8>) -> String {
        match Checkpoint::from_bytes(&bytes, "ckpt") {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn round_trip_keeps_every_bit() {
        let s = state();
        let bytes = to_bytes(&opts(), &s).unwrap();
        let c = Checkpoint::from_bytes(&bytes, "ckpt").unwrap();
        assert_eq!(c.step, 41);
        let back: State = c.state().unwrap();
        assert_same(&back, &s);
        assert_eq!(to_bytes(&c.options, &back).unwrap(), bytes);
        // the settings, field by field
        let (a, b) = (&c.options, &opts());
        assert_eq!(
            (&a.dataset, a.arch, a.steps, a.batch, a.d_steps, a.seed),
            (&b.dataset, b.arch, b.steps, b.batch, b.d_steps, b.seed)
        );
        assert_eq!((a.g_adam, a.d_adam), (b.g_adam, b.d_adam));
        assert_eq!((a.g_loss, a.schedule), (b.g_loss, b.schedule));
        assert_eq!(a.checkpoint_every, b.checkpoint_every);
    }

    #[test]
    fn time_and_data_checksum_are_optional_but_checked() {
        let bytes = to_bytes(&opts(), &state()).unwrap();
        let c = Checkpoint::from_bytes(&bytes, "ckpt").unwrap();
        assert_eq!((c.seconds, c.data_crc32), (0.1 + 0.2, Some(0x0badcafe)));
        // absent, as in a checkpoint from before they were written
        let bare = rewrite(&bytes, |h, _| {
            let m = h["__metadata__"].as_object_mut().unwrap();
            m.remove("train_seconds");
            m.remove("dataset_crc32");
        });
        let c = Checkpoint::from_bytes(&bare, "ckpt").unwrap();
        assert_eq!((c.seconds, c.data_crc32), (0.0, None));
        for (key, value) in [
            ("train_seconds", "x"),
            ("train_seconds", "-1"),
            ("train_seconds", "inf"),
            ("dataset_crc32", "0badcafe0"),
            ("dataset_crc32", "0xbadcaf"),
            ("dataset_crc32", ""),
        ] {
            let bad = rewrite(&bytes, |h, _| h["__metadata__"][key] = value.into());
            let err = error(bad);
            assert!(err.contains(&format!("`{key}`")), "{key} = {value}: {err}");
        }
    }

    #[test]
    fn an_empty_history_round_trips() {
        // a checkpoint after the first step of a run whose windows are two steps long
        let mut s = State::new(&opts());
        s.step = 1;
        s.curves.count = 1;
        s.gan.g_opt.t = 1;
        s.gan.d_opt.t = 3;
        let bytes = to_bytes(&opts(), &s).unwrap();
        let back: State = Checkpoint::from_bytes(&bytes, "ckpt")
            .unwrap()
            .state()
            .unwrap();
        assert_same(&back, &s);
        assert!(back.curves.history.step.is_empty());
    }

    #[test]
    fn a_garbled_or_missing_field_is_named() {
        let bytes = to_bytes(&opts(), &state()).unwrap();
        for key in [
            "dataset",
            "arch",
            "step",
            "steps",
            "batch",
            "d_steps",
            "seed",
            "g_loss",
            "schedule",
            "checkpoint_every",
            "optim.generator.lr",
            "optim.generator.beta1",
            "optim.discriminator.beta2",
            "optim.discriminator.eps",
            "optim.generator.weight_decay",
            "optim.generator.t",
            "optim.discriminator.t",
            "rng.data",
            "rng.noise",
        ] {
            for value in ["x", "-1", ""] {
                let bad = rewrite(&bytes, |h, _| h["__metadata__"][key] = value.into());
                let err = error(bad);
                assert!(
                    err.contains(&format!("`{key}`")),
                    "{key} = {value:?}: {err}"
                );
            }
            if key != "step" {
                let bad = rewrite(&bytes, |h, _| {
                    h["__metadata__"].as_object_mut().unwrap().remove(key);
                });
                let err = error(bad);
                assert!(err.contains(&format!("`{key}`")), "no {key}: {err}");
            }
        }
        // values that parse but cannot be right
        for (key, value) in [
            ("optim.generator.lr", "0"),
            ("optim.generator.lr", "NaN"),
            ("optim.discriminator.beta1", "1"),
            ("optim.generator.t", "40"),
            ("step", "801"),
            ("rng.noise", "00000000000000000000000000000000"),
        ] {
            let bad = rewrite(&bytes, |h, _| h["__metadata__"][key] = value.into());
            let err = error(bad);
            assert!(err.contains(&format!("`{key}`")), "{key} = {value}: {err}");
        }
    }

    #[test]
    fn wrong_shapes_and_stray_or_missing_tensors_are_refused() {
        let bytes = to_bytes(&opts(), &state()).unwrap();
        // the small pair's first layer is 64 wide, the tiny pair's 24
        let err = error(rewrite(&bytes, |h, _| {
            h["__metadata__"]["arch"] = "small".into()
        }));
        assert!(err.contains("shape"), "{err}");
        // a tensor missing
        let rename = |from: &str, to: &str| {
            rewrite(&bytes, |h, _| {
                let o = h.as_object_mut().unwrap();
                let t = o.remove(from).unwrap();
                o.insert(to.into(), t);
            })
        };
        for name in [
            "history.last",
            "optim.generator.v.fc.2.bias",
            "discriminator.fc.4.weight",
        ] {
            let err = error(rename(name, "elsewhere"));
            assert!(err.contains(&format!("missing tensor `{name}`")), "{err}");
        }
        // a tensor too many, under a network's prefix or beside them
        for name in [
            "history.extra",
            "optim.generator.x",
            "generator.fc.6.weight",
        ] {
            let err = error(rewrite(&bytes, |h, d| {
                let n = d.len();
                d.extend_from_slice(&1.0f32.to_le_bytes());
                let entry = serde_json::json!({
                    "dtype": "F32", "shape": [1], "data_offsets": [n, n + 4]
                });
                h.as_object_mut().unwrap().insert(name.into(), entry);
            }));
            assert!(
                err.contains(&format!("unexpected tensor `{name}`")),
                "{err}"
            );
        }
    }

    #[test]
    fn inconsistent_curves_and_moments_are_refused() {
        let bytes = to_bytes(&opts(), &state()).unwrap();
        let at = |h: &serde_json::Value, name: &str| {
            h[name]["data_offsets"][0].as_u64().unwrap() as usize
        };
        // a negative second moment
        let err = error(rewrite(&bytes, |h, d| {
            let i = at(h, "optim.discriminator.v.fc.0.weight");
            d[i..i + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
        }));
        assert!(err.contains("optim.discriminator.v.fc.0.weight"), "{err}");
        // a window count that does not match the steps since the last window
        let err = error(rewrite(&bytes, |h, d| {
            let i = at(h, "history.window_count");
            d[i..i + 4].copy_from_slice(&7u32.to_le_bytes());
        }));
        assert!(err.contains("history.window_count"), "{err}");
        // a NaN in a training curve
        let err = error(rewrite(&bytes, |h, d| {
            let i = at(h, "history.g_loss");
            d[i..i + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        }));
        assert!(err.contains("history.g_loss"), "{err}");
    }

    #[test]
    fn a_diverged_state_is_not_written() {
        let mut s = state();
        s.gan.d_opt.m.tensor_mut(1)[0] = f32::INFINITY;
        let err = to_bytes(&opts(), &s).unwrap_err().to_string();
        assert!(err.contains("Discriminator's Adam moments"), "{err}");
    }

    #[test]
    fn generator_state_round_trips() {
        let mut a = crate::rng(7);
        for _ in 0..5 {
            a.next_u64();
        }
        let hex = rng_hex(&a).unwrap();
        assert_eq!(hex.len(), 32);
        let mut b = rng_from_hex(&hex).unwrap();
        assert_eq!(b, a);
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
        assert!(rng_from_hex(&"0".repeat(32)).is_none());
        assert!(rng_from_hex(&"g".repeat(32)).is_none());
        assert!(rng_from_hex(&hex[1..]).is_none());
    }

    #[test]
    fn f32_settings_round_trip_bit_for_bit() {
        // Rust prints the shortest decimal that reads back to the same f32.
        for v in [
            1e-8f32,
            2e-4,
            1e-3,
            0.999,
            0.5,
            f32::MIN_POSITIVE / 3.0,
            3.4e38,
        ] {
            assert_eq!(v.to_string().parse::<f32>().unwrap().to_bits(), v.to_bits());
        }
    }
}
