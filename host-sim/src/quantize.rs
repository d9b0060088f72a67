//! `picogan quantize`: a Generator in int8, as TensorFlow Lite Micro runs it, calibrated on
//! its own activations and written with the error it makes against the f32 Generator it
//! came from.
//!
//! The int8 file is a safetensors file like the f32 ones, read by the same core reader with
//! the same two checksums (`crc32` over the data, `header_crc32` over the rest of the
//! header). Per fully connected layer `fc.{i}` it holds `weight` (I8 `[out, in]`), `bias`
//! (I32 `[out]`), `multiplier` (I32 `[out]`) and `shift` (I8 `[out]`), the requantization
//! factors, and `scales` (F32 `[2]`) and `zero_points` (I32 `[2]`), the parameters of the
//! layer's input and output; per tanh `fc.{i}.table` (I8 `[256]`). Its metadata says
//! `format` `picogan-int8`, with `dataset`, `arch` and `role` as the f32 files have them,
//! and how it was calibrated.

use crate::data::{self, Mixture};
use crate::metrics::{self, Classifier, ImageReport, PointsReport};
use crate::train::{as_points, generate};
use crate::weights::{self, Builder, FileBytes, ModelInfo, FORMAT_INT8};
use crate::{rng_stream, same_file, Stream};
use anyhow::{anyhow, bail, ensure, Context, Result};
use picogan::quant::network::QVector;
use picogan::quant::{self, FromF32, QKind, QLayer, QNet, Range};
use picogan::safetensors::{Dtype, File};
use picogan::{noise, Layer};
use std::path::{Path, PathBuf};

/// Noise vectors calibration draws by default.
pub const DEFAULT_CALIBRATION: usize = 10_000;
/// Noise vectors the error figures are measured on by default.
pub const DEFAULT_EVAL: usize = 1_000;

/// What `picogan quantize` is asked to do.
#[derive(Clone, Debug)]
pub struct QuantizeOptions {
    /// A Generator file or a checkpoint.
    pub from: PathBuf,
    /// The int8 file to write.
    pub out: PathBuf,
    /// Noise vectors to calibrate on.
    pub calibration: usize,
    /// Seed of the calibration noise (its `Noise` stream) and of the noise the error is
    /// measured on (its `Sample` stream, as `picogan sample --seed` draws it).
    pub seed: u64,
    /// Noise vectors to measure the error on.
    pub eval: usize,
}

/// How far the int8 Generator's outputs, dequantized, lie from the f32 Generator's on the
/// same noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Errors {
    /// Noise vectors.
    pub samples: usize,
    /// Mean of `|int8 − f32|` over every output value.
    pub mean_abs: f64,
    /// Largest `|int8 − f32|`.
    pub max_abs: f64,
    /// Root mean square of `int8 − f32`.
    pub rms: f64,
    /// The real value of one step of the int8 output.
    pub output_step: f32,
}

/// Sample-quality scores of the f32 and the int8 Generator on the same noise.
#[derive(Clone, Debug, PartialEq)]
pub enum Quality {
    /// Digits, scored by the classifier of [`metrics`].
    Digits {
        /// The f32 Generator's samples.
        f32: ImageReport,
        /// The int8 Generator's samples.
        int8: ImageReport,
        /// Mean probability the classifier gives its chosen class, f32 and int8.
        confidence: (f64, f64),
        /// Share of noise vectors whose f32 and int8 samples get the same class.
        agreement: f64,
        /// The classifier's accuracy on the held-out real digits.
        classifier_accuracy: f64,
    },
    /// 2-D points, by the mixture protocol.
    Points {
        /// The f32 Generator's samples.
        f32: PointsReport,
        /// The int8 Generator's samples.
        int8: PointsReport,
    },
}

/// What `picogan quantize` wrote and measured.
#[derive(Clone, Debug)]
pub struct Quantized {
    /// The model description.
    pub info: ModelInfo,
    /// Bytes of the int8 file.
    pub bytes: usize,
    /// Bytes of the f32 Generator file (as `picogan export` writes it).
    pub f32_bytes: usize,
    /// The CRC-32 of the int8 file's data.
    pub crc32: u32,
    /// Per fully connected layer, the real range its int8 output covers.
    pub ranges: Vec<(usize, Range)>,
    /// The error against the f32 Generator.
    pub errors: Errors,
    /// Sample quality of both, where the data set has a protocol (digits, 2-D points).
    pub quality: Option<Quality>,
}

/// Evaluates `$body` with `$G` the f32 Generator type, `$Q` its int8 counterpart and `$X`
/// the data width, for data `$x` values wide and architecture `$arch`.
macro_rules! with_int8_models {
    ($x:expr, $arch:expr, |$G:ident, $Q:ident, $X:ident| $body:expr) => {{
        use picogan::models as m;
        use picogan::quant as q;
        use $crate::train::Arch;
        match ($x, $arch) {
            (2, Arch::Small) => {
                #[allow(dead_code)]
                type $G = m::PointsGenerator;
                #[allow(dead_code)]
                type $Q = q::QPointsGenerator;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (2, Arch::Tiny) => {
                #[allow(dead_code)]
                type $G = m::TinyPointsGenerator;
                #[allow(dead_code)]
                type $Q = q::QTinyPointsGenerator;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (64, Arch::Small) => {
                #[allow(dead_code)]
                type $G = m::SmallGenerator<64>;
                #[allow(dead_code)]
                type $Q = q::QSmallGenerator<64>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (64, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = m::SeedShapedGenerator<64>;
                #[allow(dead_code)]
                type $Q = q::QSeedShapedGenerator<64>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (784, Arch::Small) => {
                #[allow(dead_code)]
                type $G = m::SmallGenerator<784>;
                #[allow(dead_code)]
                type $Q = q::QSmallGenerator<784>;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (784, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = m::SeedGenerator;
                #[allow(dead_code)]
                type $Q = q::QSeedGenerator;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (2, Arch::Micro) => anyhow::bail!(
                "int8 Generators are made from the small and tiny point pairs, not the micro \
                 pair, whose f32 Generator the Cortex-M0 samples at 1.4 KiB"
            ),
            (x, arch) => anyhow::bail!("no {} Generator for data {x} values wide", arch.name()),
        }
    }};
}
pub(crate) use with_int8_models;

/// Quantizes the Generator in `opts.from`, measures it, and writes it to `opts.out`
/// atomically, after reading the file back and checking that it runs as the network it was
/// written from.
pub fn quantize(opts: &QuantizeOptions) -> Result<Quantized> {
    ensure!(
        (1..=1_000_000).contains(&opts.calibration),
        "--calibration must be from 1 to 1000000, got {}",
        opts.calibration
    );
    ensure!(
        (1..=100_000).contains(&opts.eval),
        "--eval must be from 1 to 100000, got {}",
        opts.eval
    );
    check_out(&opts.out)?;
    let shown = opts.from.display().to_string();
    let bytes = FileBytes::read(&opts.from)?;
    let file = weights::open(&bytes, &shown)?;
    let source = weights::generator_of(&file, &shown)?;
    ensure!(
        !same_file(&opts.out, &opts.from),
        "--out {} would overwrite the Generator being quantized",
        opts.out.display()
    );
    let (image, q) = with_int8_models!(source.width, source.arch, |G, Q, X| {
        quantize_from::<G, Q, X>(&file, &source, opts, &shown)
    })?;
    if let Some(parent) = opts.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let _lock = crate::import::claim_target(&opts.out)?;
    weights::write_atomic(&opts.out, &image)?;
    Ok(q)
}

#[inline(never)] // see `train::run`: the seed-sized networks are large
fn quantize_from<G, Q, const X: usize>(
    file: &File<'_>,
    source: &weights::GeneratorSource,
    opts: &QuantizeOptions,
    shown: &str,
) -> Result<(Vec<u8>, Quantized)>
where
    G: Layer<Output = [f32; X]>,
    Q: FromF32<F32 = G>,
{
    let mut g = Box::new(G::ZEROED);
    weights::load_with(&mut *g, file, &source.options(), shown)?;
    let q = calibrate::<G, Q>(&g, opts.calibration, opts.seed)?;

    // the f32 Generator as `picogan export` writes it: the size to compare with, and the
    // checksum the int8 file records of its source
    let f32_image = weights::to_bytes(&*g, &source.info)?;
    let f32_crc =
        weights::open(&FileBytes::new(&f32_image), "the f32 Generator")?.require_checksum()?;
    let extra = [
        ("calibration", opts.calibration.to_string()),
        ("calibration_seed", opts.seed.to_string()),
        ("source_crc32", format!("{f32_crc:08x}")),
    ];
    let image = to_bytes(&*q, &source.info, &extra)?;

    // read back as `picogan sample` and the firmware read it: it must compute, bit for bit,
    // what the network it was written from computes
    let placed = FileBytes::new(&image);
    let written = weights::open(&placed, "the int8 file")?;
    let net = open_int8::<Q>(&written, "the int8 file")?;
    let own = QNet::of(&*q).map_err(|f| anyhow!("the int8 Generator: {f}"))?;
    let (samples, raw) = generate_int8(&net, opts.eval, opts.seed);
    ensure!(
        generate_int8(&own, opts.eval, opts.seed).1 == raw,
        "the int8 file does not compute what the network it was written from computes"
    );

    let reference = generate(&*g, opts.eval, opts.seed);
    let errors = errors(&reference, &samples, opts.eval, net.output().scale);
    let quality = quality::<X>(&source.info, &reference, &samples, opts.seed)?;
    let quantized = Quantized {
        info: source.info.clone(),
        bytes: image.len(),
        f32_bytes: f32_image.len(),
        crc32: written.require_checksum()?,
        ranges: layer_ranges(&*q),
        errors,
        quality,
    };
    Ok((image, quantized))
}

/// `g` in int8, calibrated on `n` noise vectors of `seed`'s `Noise` stream: the range of
/// every activation, then every layer quantized for them (see [`picogan::quant::calibrate`]).
pub fn calibrate<G, Q>(g: &G, n: usize, seed: u64) -> Result<Box<Q>>
where
    Q: FromF32<F32 = G>,
{
    let mut rng = rng_stream(seed, Stream::Noise);
    let mut z = <Q::Input as QVector>::REAL_ZERO;
    let mut y = <Q::Output as QVector>::REAL_ZERO;
    let mut ranges = vec![Range::EMPTY; Q::RANGES];
    for _ in 0..n {
        noise::gaussian(&mut rng, z.as_mut());
        Q::observe(g, z.as_ref(), y.as_mut(), &mut ranges);
    }
    let q = quant::quantize::<Q>(g, quant::noise_input(), &ranges)
        .map_err(|e| anyhow!("cannot quantize the Generator: {e}"))?;
    Ok(Box::new(q))
}

/// The name of tensor `info` in an int8 file: `fc.{layer}.{kind}`.
pub fn tensor_name(info: &quant::QTensorInfo) -> String {
    format!("fc.{}.{}", info.layer, info.kind.name())
}

/// The int8 file of `q`: its tensors, `info` and `extra` in the metadata, and the two
/// checksums. Refuses a network whose parameters do not fit together.
pub fn to_bytes<Q: QLayer>(q: &Q, info: &ModelInfo, extra: &[(&str, String)]) -> Result<Vec<u8>> {
    QNet::of(q).map_err(|f| anyhow!("the int8 Generator: {f}"))?;
    let view = q.as_view();
    let mut b = Builder::new();
    for i in 0..Q::TENSORS {
        let t = Q::tensor_info(i).context("a tensor the network does not describe")?;
        let mut bytes = Vec::new();
        Q::tensor_bytes(&view, i, &mut |piece| bytes.extend_from_slice(piece));
        let dtype = match t.kind.dtype() {
            Dtype::I8 => safetensors::Dtype::I8,
            Dtype::I32 => safetensors::Dtype::I32,
            _ => safetensors::Dtype::F32,
        };
        b.raw(&tensor_name(&t), dtype, t.shape(), bytes);
    }
    b.metadata("format", FORMAT_INT8)
        .metadata("dataset", info.dataset.as_str())
        .metadata("arch", info.arch.as_str())
        .metadata("role", "generator");
    for (k, v) in extra {
        b.metadata(k, v.as_str());
    }
    b.to_bytes()
}

/// The int8 Generator of type `Q` in `file`, run in place: both checksums required, every
/// tensor checked ([`File::view_quantized`]). Errors start with `shown`.
pub fn open_int8<'a, Q: QLayer>(file: &File<'a>, shown: &str) -> Result<QNet<'a, Q>> {
    let fail = |e: picogan::safetensors::Error| anyhow!("{shown}: {e}");
    file.require_checksum().map_err(fail)?;
    file.require_header_checksum().map_err(fail)?;
    let format = weights::required(file, "format", shown)?;
    ensure!(
        format == FORMAT_INT8,
        "{shown}: format {format:?}, not an int8 Generator"
    );
    file.view_quantized::<Q>().map_err(fail)
}

/// `n` samples of `net` on `seed`'s `Sample` stream, the noise `picogan sample --seed`
/// gives an f32 Generator: the dequantized values, `[n][X]` flat, and the int8 ones.
pub fn generate_int8<Q: QLayer>(net: &QNet<'_, Q>, n: usize, seed: u64) -> (Vec<f32>, Vec<i8>) {
    let mut rng = rng_stream(seed, Stream::Sample);
    let mut z = <Q::Input as QVector>::REAL_ZERO;
    let mut y = Q::Output::ZERO;
    let mut real = <Q::Output as QVector>::REAL_ZERO;
    let mut scratch = Q::SCRATCH;
    let mut samples = Vec::with_capacity(n * Q::Output::LEN);
    let mut raw = Vec::with_capacity(n * Q::Output::LEN);
    for _ in 0..n {
        noise::gaussian(&mut rng, z.as_mut());
        net.sample(z.as_ref(), &mut y, real.as_mut(), &mut scratch);
        samples.extend_from_slice(real.as_ref());
        raw.extend_from_slice(y.as_slice());
    }
    (samples, raw)
}

/// The error of `got` against `want`, `n` samples of equal width.
pub fn errors(want: &[f32], got: &[f32], n: usize, output_step: f32) -> Errors {
    let (mut sum, mut sq, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for (&w, &g) in want.iter().zip(got) {
        let d = (f64::from(g) - f64::from(w)).abs();
        sum += d;
        sq += d * d;
        max = max.max(d);
    }
    let values = want.len().min(got.len()).max(1) as f64;
    Errors {
        samples: n,
        mean_abs: sum / values,
        max_abs: max,
        rms: (sq / values).sqrt(),
        output_step,
    }
}

/// Scores both sets of samples where the data set has a protocol.
pub fn quality<const X: usize>(
    info: &ModelInfo,
    f32_samples: &[f32],
    int8_samples: &[f32],
    seed: u64,
) -> Result<Option<Quality>> {
    Ok(match info.dataset.as_str() {
        "digits" => {
            let (train, heldout) = data::digits()?.train_heldout(0);
            let clf = Classifier::<X>::train(&train, seed)?;
            let report = |s: &[f32]| metrics::image_report(&clf, &train, s);
            let confidence = |s: &[f32]| metrics::mean_confidence(&clf, s);
            Some(Quality::Digits {
                f32: report(f32_samples),
                int8: report(int8_samples),
                confidence: (confidence(f32_samples), confidence(int8_samples)),
                agreement: metrics::class_agreement(&clf, f32_samples, int8_samples),
                classifier_accuracy: clf.accuracy(&heldout),
            })
        }
        "ring8" | "grid25" => {
            let mix = if info.dataset == "ring8" {
                Mixture::ring8()
            } else {
                Mixture::grid25()
            };
            Some(Quality::Points {
                f32: metrics::points_report(&mix, &as_points(f32_samples)),
                int8: metrics::points_report(&mix, &as_points(int8_samples)),
            })
        }
        _ => None,
    })
}

/// Per fully connected layer of `q`, the real range its int8 output covers.
pub fn layer_ranges<Q: QLayer>(q: &Q) -> Vec<(usize, Range)> {
    let view = q.as_view();
    let mut out = Vec::new();
    let mut scale = None;
    for i in 0..Q::TENSORS {
        let Some(t) = Q::tensor_info(i) else { continue };
        let mut bytes = Vec::new();
        Q::tensor_bytes(&view, i, &mut |piece| bytes.extend_from_slice(piece));
        // the output's entry of `scales`, then of `zero_points`
        let second = bytes.get(4..8).and_then(|b| b.try_into().ok());
        match (t.kind, second) {
            (QKind::Scales, Some(b)) => scale = Some(f32::from_le_bytes(b)),
            (QKind::ZeroPoints, Some(b)) => {
                let zp = i32::from_le_bytes(b);
                if let Some(s) = scale.take() {
                    let at = |q: i32| s * (q - zp) as f32;
                    let range = Range {
                        min: at(-128),
                        max: at(127),
                    };
                    out.push((t.layer, range));
                }
            }
            _ => {}
        }
    }
    out
}

/// True when `file` holds an int8 Generator.
pub fn is_int8(file: &File<'_>) -> bool {
    file.metadata("format") == Some(FORMAT_INT8)
}

/// Refuses `path` unless it names a regular file or nothing yet.
pub fn check_out(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "--out {} is a directory; name the file to write",
            path.display()
        );
    }
    Ok(())
}
