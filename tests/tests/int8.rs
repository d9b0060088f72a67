//! The int8 Generator against the f32 one it was quantized from: the error of its samples
//! and their digit scores on the same noise, the size of its file, a file run in place
//! computing what the network it was written from computes, and mangled files refused
//! without a panic.
//!
//! The figures are printed (`cargo test -p picogan-tests --release --test int8 --
//! --nocapture`).

use picogan::models::{SmallGenerator, TinyPointsGenerator};
use picogan::quant::network::QVector;
use picogan::quant::{QLayer, QNet, QSeedGenerator, QSmallGenerator, QTinyPointsGenerator};
use picogan::safetensors::File;
use picogan::{noise, Init, Layer};
use picogan_host::quantize::{self, Errors, Quality, QuantizeOptions, Quantized};
use picogan_host::weights::{self, FileBytes, ModelInfo};
use picogan_host::{rng_stream, Stream};
use proptest::prelude::*;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro128PlusPlus;
use std::sync::OnceLock;

/// The reference model the firmware embeds.
const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firmware/models/digits-small.safetensors"
);

/// The reference model in int8, as the firmware's `sample-int8` embeds it.
const FIRMWARE_INT8: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firmware/models/digits-small-int8.safetensors"
);

/// Seed of the calibration noise and of the 1,000 noise vectors measured on.
const SEED: u64 = 1;
/// Noise vectors measured on.
const EVAL: usize = 1_000;

/// The reference model quantized by `picogan quantize` with its defaults: what it reported,
/// and the file it wrote.
fn reference() -> &'static (Quantized, Vec<u8>) {
    static ONCE: OnceLock<(Quantized, Vec<u8>)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("digits-int8.safetensors");
        let opts = QuantizeOptions {
            from: REFERENCE.into(),
            out: out.clone(),
            calibration: quantize::DEFAULT_CALIBRATION,
            seed: SEED,
            eval: EVAL,
        };
        let q = quantize::quantize(&opts).unwrap();
        (q, std::fs::read(&out).unwrap())
    })
}

fn reference_f32() -> Box<SmallGenerator<64>> {
    let mut g = Box::new(SmallGenerator::<64>::ZEROED);
    weights::load_into(&mut *g, &std::fs::read(REFERENCE).unwrap(), "reference").unwrap();
    g
}

fn show(what: &str, e: &Errors) {
    println!(
        "{what}: mean |error| {:.4}, max {:.4}, rms {:.4} ({} vectors × 64 values)",
        e.mean_abs, e.max_abs, e.rms, e.samples
    );
}

/// The int8 file's samples against the f32 Generator's on the same 1,000 noise vectors,
/// and the same error split in two: the f32 Generator's response to rounding its noise to
/// the int8 input's grid, and the int8 network's own error on that rounded noise (by the
/// triangle inequality the first figure is at most their sum, value by value).
#[test]
fn reference_model_error() {
    let (q, bytes) = reference();
    let e = q.errors;
    show("int8 against f32", &e);

    let g = reference_f32();
    let placed = FileBytes::new(bytes);
    let file = File::parse(&placed).unwrap();
    let net = quantize::open_int8::<QSmallGenerator<64>>(&file, "int8").unwrap();
    let (int8, _) = quantize::generate_int8(&net, EVAL, SEED);
    let f32_samples = picogan_host::train::generate(&*g, EVAL, SEED);
    let mut rounded = Vec::with_capacity(EVAL * 64);
    let mut rng = rng_stream(SEED, Stream::Sample);
    for _ in 0..EVAL {
        let mut z = [0.0f32; 16];
        noise::gaussian(&mut rng, &mut z);
        let zq = z.map(|v| net.input().dequantize(net.input().quantize(v)));
        let mut y = [0.0f32; 64];
        g.infer(&zq, &mut y);
        rounded.extend_from_slice(&y);
    }
    let step = net.output().scale;
    let input_only = quantize::errors(&f32_samples, &rounded, EVAL, step);
    let network_only = quantize::errors(&rounded, &int8, EVAL, step);
    show("  f32 on the noise rounded to the int8 input", &input_only);
    show("  int8 against f32 on that rounded noise", &network_only);
    let mut sorted: Vec<f32> = int8
        .iter()
        .zip(&f32_samples)
        .map(|(a, b)| (a - b).abs())
        .collect();
    sorted.sort_by(f32::total_cmp);
    let quantile = |q: usize| sorted[sorted.len() * q / 1000];
    let (p990, p999) = (quantile(990), quantile(999));
    println!("  99th and 99.9th percentiles of |error|: {p990:.4}, {p999:.4}");

    // the goal: outputs in [-1, 1] within 0.02 on average
    assert_eq!(e.samples, EVAL);
    assert!(e.mean_abs < 0.02, "mean |error| {}", e.mean_abs);
    // The largest errors sit on the few pixels where this Generator is steepest in its
    // noise. Rounding the noise alone (step 0.045, so up to 0.023 per value) moves such a
    // pixel by up to 0.22 on these vectors; the int8 network's own rounding moves pixels by
    // up to 0.14 (64 hidden values, each up to half a step of 0.036 off, through weights
    // whose magnitudes sum to about 10 per pixel, could move one by 0.18 at worst). Each part
    // is held to 0.25, an eighth of the output range. Their sum, 0.5, bounds the whole value
    // by value; it is held to 0.35, 0.1 (13 output steps) above the 0.24 these vectors give.
    assert!(input_only.max_abs < 0.25, "{}", input_only.max_abs);
    assert!(network_only.max_abs < 0.25, "{}", network_only.max_abs);
    assert!(e.max_abs < 0.35, "max |error| {}", e.max_abs);
    // and large errors are rare: 99 % of the values within 0.1 (13 output steps; 0.065 on
    // these vectors), 99.9 % within 0.15 (0.11)
    assert!(p990 < 0.1 && p999 < 0.15, "{p990} {p999}");
    // the error quantize reports is the one of the file it wrote
    let again = quantize::errors(&f32_samples, &int8, EVAL, step);
    assert_eq!(again, e);
}

/// The digit classifier's scores of int8 samples beside f32 samples of the same noise.
#[test]
fn reference_model_digits_scores() {
    let (q, _) = reference();
    let Some(Quality::Digits {
        f32: f,
        int8: i,
        confidence: (cf, ci),
        agreement,
        classifier_accuracy,
    }) = &q.quality
    else {
        panic!("no digit scores: {:?}", q.quality);
    };
    println!(
        "digits, f32 / int8 on {EVAL} noise vectors: classes {} / {}, class KL {:.3} / {:.3}, \
         confidence {cf:.3} / {ci:.3}, precision {:.3} / {:.3}, recall {:.3} / {:.3}, same \
         class {:.1} % (classifier accuracy {:.1} %)",
        f.classes_covered,
        i.classes_covered,
        f.class_kl,
        i.class_kl,
        f.precision,
        i.precision,
        f.recall,
        i.recall,
        100.0 * agreement,
        100.0 * classifier_accuracy
    );
    println!("  class histogram f32  {:.3?}", f.class_histogram);
    println!("  class histogram int8 {:.3?}", i.class_histogram);
    // every class the f32 samples cover, the int8 samples cover
    assert_eq!(f.classes_covered, 10);
    assert_eq!(i.classes_covered, f.classes_covered);
    // A sample changes class only where the f32 sample lies near a boundary between two
    // classes, which the mean error of 0.008 per pixel rarely crosses: 97 % of the pairs
    // agree on these vectors. At 95 % a systematic shift (a saturated layer, a wrong zero
    // point) fails it; an agreement of 95 % moves each class's share by at most 5 points.
    assert!(*agreement >= 0.95, "same class {agreement}");
    // The scores move by about their own sampling noise on 1,000 samples: a standard error
    // of √(p(1−p)/1000) ≈ 0.016 for precision and recall, here bounded at 0.03.
    assert!((cf - ci).abs() < 0.02, "confidence {cf} / {ci}");
    assert!((f.precision - i.precision).abs() < 0.03);
    assert!((f.recall - i.recall).abs() < 0.03);
    assert!((f.class_kl - i.class_kl).abs() < 0.03);
}

/// The int8 file's bytes against the f32 file's. The goal is 30 %: int8 weights are a
/// quarter of f32 ones, and everything else must stay small. It holds for the image
/// Generators of 50,000 parameters and more; the 5,248-parameter reference model misses
/// it, as per output channel (128 of them) it keeps an int32 bias, an int32 multiplier and
/// an int8 shift (1,152 B, 5.4 % of the f32 file) and its header lists 13 tensors (1 KiB).
#[test]
fn int8_file_size() {
    let (q, bytes) = reference();
    assert_eq!(q.bytes, bytes.len());
    assert_eq!(q.f32_bytes, std::fs::read(REFERENCE).unwrap().len());
    let ratio = q.bytes as f64 / q.f32_bytes as f64;
    println!(
        "digits small: int8 {} B, f32 {} B: {:.1} %",
        q.bytes,
        q.f32_bytes,
        100.0 * ratio
    );
    // weights 5,120 B + per channel 1,152 B + tanh table 256 B + layer parameters 64 B,
    // and a header of at most 1,100 B: 7,692 B, 35.9 %
    assert!(q.bytes <= 7_692, "{} B", q.bytes);

    // the larger image Generators, freshly initialised: the goal
    fn size_ratio<G: Layer, Q: picogan::quant::FromF32<F32 = G>>(arch: &str, dataset: &str) -> f64 {
        let mut g = Box::new(G::ZEROED);
        g.init(
            Init::PyTorchDefault,
            &mut Xoshiro128PlusPlus::seed_from_u64(1),
        );
        let info = ModelInfo {
            dataset: dataset.into(),
            arch: arch.into(),
            role: "generator".into(),
        };
        let q = quantize::calibrate::<G, Q>(&g, 100, 1).unwrap();
        let int8 = quantize::to_bytes(&*q, &info, &[]).unwrap().len();
        let f32 = weights::to_bytes(&*g, &info).unwrap().len();
        println!(
            "{dataset} {arch}: int8 {int8} B, f32 {f32} B: {:.1} %",
            100.0 * int8 as f64 / f32 as f64
        );
        int8 as f64 / f32 as f64
    }
    let small = size_ratio::<SmallGenerator<784>, QSmallGenerator<784>>("small", "idx");
    let seed = size_ratio::<picogan::models::SeedGenerator, QSeedGenerator>("seed", "idx");
    assert!(small <= 0.30 && seed <= 0.30, "{small} {seed}");
}

/// The int8 Generator the firmware embeds is the reference model quantized by `picogan
/// quantize` with its defaults, byte for byte: the command firmware/README.md records
/// still makes it.
#[test]
fn firmware_int8_model_is_the_reference_quantized() {
    let (_, bytes) = reference();
    let embedded = std::fs::read(FIRMWARE_INT8).unwrap();
    assert!(
        embedded == *bytes,
        "{FIRMWARE_INT8} is not what `picogan quantize --from \
         firmware/models/digits-small.safetensors --out \
         firmware/models/digits-small-int8.safetensors` writes ({} B against {} B)",
        embedded.len(),
        bytes.len()
    );
}

/// Every single-bit flip of the reference int8 file is refused, without a panic. The one
/// kind that reads is a hex letter of a checksum turned to upper case: the same checksum,
/// and so the same file.
#[test]
fn every_bit_flip_is_refused() {
    let (_, bytes) = reference();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    // where the two checksums' hex digits sit in the file
    let digits_of = |key: &str| {
        let at = header.find(&format!("\"{key}\":\"")).unwrap() + key.len() + 4;
        8 + at..8 + at + 8
    };
    let (crc, header_crc) = (digits_of("crc32"), digits_of("header_crc32"));
    let mut refused = 0;
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut mangled = bytes.clone();
            mangled[at] ^= 1 << bit;
            let placed = FileBytes::new(&mangled);
            let opened = File::parse(&placed)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    quantize::open_int8::<QSmallGenerator<64>>(&f, "mangled")
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
            match opened {
                Err(_) => refused += 1,
                Ok(()) => {
                    let case = bit == 5 && bytes[at].is_ascii_alphabetic();
                    assert!(
                        case && (crc.contains(&at) || header_crc.contains(&at)),
                        "flipping bit {bit} of byte {at} is not noticed"
                    );
                }
            }
        }
    }
    println!("{refused} of {} single-bit flips refused", 8 * bytes.len());
    assert!(refused >= 8 * bytes.len() - 16);
}

/// An f32 Generator file is not an int8 one, and the other way round: both are refused
/// with the reason.
#[test]
fn formats_are_not_mixed_up() {
    let (_, bytes) = reference();
    let f32_bytes = FileBytes::new(&std::fs::read(REFERENCE).unwrap());
    let f32_file = File::parse(&f32_bytes).unwrap();
    let err = quantize::open_int8::<QSmallGenerator<64>>(&f32_file, "f32")
        .err()
        .unwrap();
    assert!(err.to_string().contains("not an int8 Generator"), "{err}");
    let err = f32_file
        .view_quantized::<QSmallGenerator<64>>()
        .err()
        .unwrap();
    assert!(err.to_string().contains("is F32, expected I8"), "{err}");
    let mut g = Box::new(SmallGenerator::<64>::ZEROED);
    let err = weights::load_into(&mut *g, bytes, "int8").unwrap_err();
    assert!(err.to_string().contains("is I8"), "{err}");
    assert!(g.tensor(0).iter().all(|&w| w == 0.0));
}

/// A tiny points Generator of random weights, quantized on `calibration` noise vectors.
fn tiny(seed: u64, calibration: usize) -> (Box<TinyPointsGenerator>, Box<QTinyPointsGenerator>) {
    let mut g = Box::new(TinyPointsGenerator::ZEROED);
    g.init(
        Init::PyTorchDefault,
        &mut Xoshiro128PlusPlus::seed_from_u64(seed),
    );
    let q = quantize::calibrate::<_, QTinyPointsGenerator>(&*g, calibration, seed).unwrap();
    (g, q)
}

fn tiny_file(q: &QTinyPointsGenerator) -> Vec<u8> {
    let info = ModelInfo {
        dataset: "ring8".into(),
        arch: "tiny".into(),
        role: "generator".into(),
    };
    quantize::to_bytes(q, &info, &[]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Run in place from its file, an int8 Generator computes what it computes from its
    /// own weights, bit for bit, on any input; and a copy of the file's network is the
    /// network written.
    #[test]
    fn in_place_equals_owned(seed in 0u64..1_000, calibration in 1usize..300, inputs in
        proptest::collection::vec(any::<[i8; 2]>(), 1..50), noise_seed in any::<u64>()) {
        let (_, q) = tiny(seed, calibration);
        let placed = FileBytes::new(&tiny_file(&q));
        let file = File::parse(&placed).unwrap();
        let in_place = quantize::open_int8::<QTinyPointsGenerator>(&file, "tiny").unwrap();
        let own = QNet::of(&*q).unwrap();
        prop_assert_eq!(&QTinyPointsGenerator::from_view(in_place.view()), &*q);
        let mut s = QTinyPointsGenerator::SCRATCH;
        for x in &inputs {
            let (mut a, mut b) = ([0i8; 2], [0i8; 2]);
            in_place.forward(x, &mut a, &mut s);
            own.forward(x, &mut b, &mut s);
            prop_assert_eq!(a, b);
        }
        // and through the f32 edges, on noise
        let (a, ra) = quantize::generate_int8(&in_place, 20, noise_seed);
        let (b, rb) = quantize::generate_int8(&own, 20, noise_seed);
        prop_assert_eq!(ra, rb);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&a), bits(&b));
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Mangled int8 files (cut short, overwritten, with bytes inserted or removed) never
    /// make the reader panic, and are refused unless the mangling left the file as it was.
    #[test]
    fn mangled_files_are_refused(seed in 0u64..50, cut in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6)) {
        let (_, q) = tiny(seed, 50);
        let good = tiny_file(&q);
        let mut bytes = good.clone();
        for (at, value, how) in &edits {
            let i = at.index(bytes.len() + 1);
            match how {
                0 if i < bytes.len() => bytes[i] = *value,
                1 => bytes.insert(i, *value),
                2 if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.truncate(cut.index(bytes.len() + 1)),
            }
        }
        let placed = FileBytes::new(&bytes);
        let opened = File::parse(&placed).ok().and_then(|f| {
            quantize::open_int8::<QTinyPointsGenerator>(&f, "mangled")
                .ok()
                .map(|net| QTinyPointsGenerator::from_view(net.view()))
        });
        if let Some(read) = opened {
            // accepted: the same network (the edit rewrote a byte with its own value, or
            // the case of a checksum's hex letter)
            prop_assert_eq!(&read, &*q);
        }
    }
}

/// The f32 edges of an int8 Generator: noise beyond the input's range saturates, NaN and
/// infinities quantize to an int8 value, and nothing panics.
#[test]
fn extreme_noise_saturates() {
    let (_, q) = tiny(7, 100);
    let net = QNet::of(&*q).unwrap();
    let mut y = [0i8; 2];
    let mut out = [0.0f32; 2];
    let mut s = QTinyPointsGenerator::SCRATCH;
    for z in [
        [f32::NAN, 0.0],
        [f32::INFINITY, f32::NEG_INFINITY],
        [1e30, -1e30],
    ] {
        net.sample(&z, &mut y, &mut out, &mut s);
        assert!(out.iter().all(|v| v.is_finite()), "{z:?}: {out:?}");
    }
    let mut x = <QTinyPointsGenerator as QLayer>::Input::ZERO;
    net.quantize_input(&[100.0, -100.0], &mut x);
    assert_eq!(x, [127, -128]);
}
