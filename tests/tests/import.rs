//! picogan's safetensors reader against PyTorch: networks that `tools/export_torch.py` wrote
//! from PyTorch modules, loaded with `picogan::safetensors::File` alone, and their forward
//! passes compared with PyTorch's.
//!
//! The fixtures come from `golden/make_import.py` (its docstring lists them): the seed pair
//! (`SeedGenerator`, `SeedDiscriminator`) in F32, and the tiny 2-D pair
//! (`TinyPointsGenerator`, `TinyPointsDiscriminator`) in F16, BF16 and in F64 values that
//! f32 cannot hold exactly. Each file's metadata carries the CRC-32 of its data, which
//! `File::parse` verifies. `golden/import_expected.safetensors` holds the noise, PyTorch's
//! outputs, and for the tiny pair the weights as f32 holds them.
//!
//! Dimensions: `B` samples, `Z` noise values, `X` data values.
//!
//! # How a difference is measured
//!
//! Per output, `e = max_i |a_i - b_i| / max_i |b_i|` over the batch, picogan's `a` against
//! PyTorch's `b`, as in `golden.rs`. PyTorch computed `b` in f64 from the weights as f32
//! holds them (read back from the network file), so `e` is picogan's own f32 arithmetic.
//! The Generator is compared on the noise; the Discriminator on PyTorch's Generator output
//! rounded to f32, so that each network is checked on its own.
//!
//! # Tolerance
//!
//! [`TOL`] = 1e-5, the forward tolerance of `golden.rs`, for the same reason: each output
//! is a few nested dot products of at most 784 terms rounded in f32 (u = 2⁻²⁴ ≈ 6e-8), and
//! the 8-lane kernel adds about 100 terms in sequence per lane, a worst case near
//! 100·u ≈ 6e-6 relative to the sum of the terms' magnitudes. Measured (Generator,
//! Discriminator): seed F32 1.5e-7, 1.1e-7; tiny F16 9.7e-8, 1.2e-7; tiny BF16 6.6e-8,
//! 9.6e-8; tiny F64 rounded 1.2e-7, 1.1e-7; a margin of 60 or more. A tensor read in the
//! wrong layout, from the wrong name or in the wrong dtype moves `e` past 1e-2 (the tiny
//! Generator with its middle weight transposed: 2.8).
//!
//! A conversion off by one unit in the last place of a weight moves the outputs by about
//! 1e-7, which `e` cannot see; so the weights of the converted files are also compared, bit
//! for bit, with the f32 values PyTorch converted them to.

use picogan::models::{
    SeedDiscriminator, SeedGenerator, TinyPointsDiscriminator, TinyPointsGenerator,
};
use picogan::safetensors::{Dtype, Error, File, LoadOptions};
use picogan::Layer;
use picogan_tests::diff;

/// Largest `e` for forward values (see the module documentation).
const TOL: f64 = 1e-5;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/golden");

/// A fixture's bytes at an address aligned to 8, as `File::parse` needs to view every
/// tensor in place.
struct Aligned {
    buf: Vec<u8>,
    at: usize,
    len: usize,
}

impl Aligned {
    fn read(name: &str) -> Aligned {
        let path = format!("{DIR}/{name}");
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run golden/make_import.py"));
        let mut buf = vec![0; bytes.len() + 7];
        let at = buf.as_ptr().align_offset(8);
        buf[at..at + bytes.len()].copy_from_slice(&bytes);
        Aligned {
            buf,
            at,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.at..self.at + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.at..self.at + self.len]
    }
}

/// Tensor `name` of the references, as f64 values (F32 widened, F64 as stored).
fn values(file: &File<'_>, name: &str) -> Vec<f64> {
    let t = file
        .tensor(name)
        .unwrap_or_else(|| panic!("no tensor {name} in the references"));
    match t.dtype {
        Dtype::F64 => t
            .data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::F32 => (0..t.len())
            .map(|k| f64::from(t.value(k).unwrap()))
            .collect(),
        d => panic!("{name} is {d:?}"),
    }
}

/// Options for the network under `prefix`; F64 values rounded when `round_f64`.
fn opts(prefix: &str, round_f64: bool) -> LoadOptions<'_> {
    LoadOptions {
        prefix,
        round_f64,
        ..LoadOptions::STRICT
    }
}

/// Parses a network file, checks its checksum and metadata, and loads both networks.
fn load_pair<G: Layer<Scalar = f32>, D: Layer<Scalar = f32>>(
    file: &File<'_>,
    arch: &str,
    dataset: &str,
    round_f64: bool,
) -> (Box<G>, Box<D>) {
    assert!(file.checksum().is_some(), "no crc32 in the metadata");
    assert_eq!(file.metadata("format"), Some("picogan"));
    assert_eq!(file.metadata("arch"), Some(arch));
    assert_eq!(file.metadata("dataset"), Some(dataset));
    let mut g = Box::new(G::ZEROED);
    let mut d = Box::new(D::ZEROED);
    file.load_into(&mut *g, &opts("generator.", round_f64))
        .unwrap();
    file.load_into(&mut *d, &opts("discriminator.", round_f64))
        .unwrap();
    (g, d)
}

/// Runs `g` on `<case>.z` and `d` on `<case>.g_out` rounded to f32, and returns `e` for
/// each against PyTorch's `<case>.g_out` and `<case>.d_out`.
fn forward_errors<G, D, const Z: usize, const X: usize>(
    refs: &File<'_>,
    case: &str,
    g: &G,
    d: &D,
) -> (f64, f64)
where
    G: Layer<Input = [f32; Z], Output = [f32; X]>,
    D: Layer<Scalar = f32, Input = [f32; X], Output = [f32; 1]>,
{
    let z = values(refs, &format!("{case}.z"));
    let g_want = values(refs, &format!("{case}.g_out"));
    let d_want = values(refs, &format!("{case}.d_out"));
    let b = z.len() / Z;
    assert_eq!((z.len(), g_want.len(), d_want.len()), (b * Z, b * X, b));

    let (mut g_got, mut d_got) = (Vec::new(), Vec::new());
    for i in 0..b {
        // the noise was f32 before it was widened, so this narrowing is exact
        let zi: [f32; Z] = core::array::from_fn(|j| z[i * Z + j] as f32);
        let mut y = [0.0f32; X];
        g.infer(&zi, &mut y);
        g_got.extend(y.iter().map(|&v| f64::from(v)));

        // PyTorch's image rounded to nearest, as PyTorch rounded it for its Discriminator
        let x: [f32; X] = core::array::from_fn(|j| g_want[i * X + j] as f32);
        let mut logit = [0.0f32];
        d.infer(&x, &mut logit);
        d_got.push(f64::from(logit[0]));
    }
    (diff(&g_got, &g_want).e, diff(&d_got, &d_want).e)
}

/// Asserts that every tensor of `net` is, bit for bit, the f32 weights PyTorch converted
/// the file's values to, stored under `<case>.<prefix>` in the references.
fn assert_weights<L: Layer<Scalar = f32>>(refs: &File<'_>, case: &str, prefix: &str, net: &L) {
    let mut want = Box::new(L::ZEROED);
    let at = format!("{case}.{prefix}");
    refs.load_into(&mut *want, &opts(&at, false)).unwrap();
    for t in 0..L::TENSORS {
        let (got, want) = (net.tensor(t), want.tensor(t));
        let bad = got
            .iter()
            .zip(want)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert!(
            bad.is_none(),
            "{at} tensor {t} element {bad:?}: picogan {:?}, PyTorch {:?}",
            bad.map(|k| got[k]),
            bad.map(|k| want[k])
        );
    }
}

fn assert_within(case: &str, (g_e, d_e): (f64, f64)) {
    assert!(g_e <= TOL, "{case}: Generator e = {g_e:.3e} > {TOL:e}");
    assert!(d_e <= TOL, "{case}: Discriminator e = {d_e:.3e} > {TOL:e}");
}

/// Loads a tiny-pair fixture, checks its converted weights and its forward passes.
fn check_tiny(case: &str, round_f64: bool) {
    let refs_bytes = Aligned::read("import_expected.safetensors");
    let refs = File::parse(refs_bytes.bytes()).unwrap();
    let bytes = Aligned::read(&format!("import_{case}.safetensors"));
    let file = File::parse(bytes.bytes()).unwrap();
    let (g, d) = load_pair::<TinyPointsGenerator, TinyPointsDiscriminator>(
        &file, "tiny", "ring8", round_f64,
    );
    assert_weights(&refs, case, "generator.", &*g);
    assert_weights(&refs, case, "discriminator.", &*d);
    assert_within(case, forward_errors(&refs, case, &*g, &*d));
}

#[test]
fn seed_pair_f32() {
    let refs_bytes = Aligned::read("import_expected.safetensors");
    let refs = File::parse(refs_bytes.bytes()).unwrap();
    let bytes = Aligned::read("import_seed.safetensors");
    let file = File::parse(bytes.bytes()).unwrap();
    let (g, d) = load_pair::<SeedGenerator, SeedDiscriminator>(&file, "seed", "idx", false);
    assert_within("seed", forward_errors(&refs, "seed", &*g, &*d));
}

#[test]
fn tiny_pair_f16_widens_exactly() {
    check_tiny("tiny_f16", false);
}

#[test]
fn tiny_pair_bf16_widens_exactly() {
    check_tiny("tiny_bf16", false);
}

#[test]
fn tiny_pair_f64_is_refused_unless_rounding_is_allowed() {
    let bytes = Aligned::read("import_tiny_f64.safetensors");
    let file = File::parse(bytes.bytes()).unwrap();
    let mut g = TinyPointsGenerator::ZEROED;
    let err = file
        .load_into(&mut g, &opts("generator.", false))
        .unwrap_err();
    assert!(
        matches!(err, Error::Inexact { index: 0, .. }),
        "expected Inexact at element 0, got {err:?}"
    );
    assert_eq!(
        g,
        TinyPointsGenerator::ZEROED,
        "a refused load wrote weights"
    );

    // rounded to nearest, ties to even, as PyTorch rounds
    check_tiny("tiny_f64", true);
}

#[test]
fn corrupted_data_fails_the_checksum() {
    let mut bytes = Aligned::read("import_tiny_f16.safetensors");
    let last = bytes.len - 1;
    bytes.bytes_mut()[last] ^= 0x01;
    let err = File::parse(bytes.bytes()).unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { .. }),
        "expected a checksum mismatch, got {err:?}"
    );
}

/// The whole way in, as a user takes it: `picogan import` writes a checkpoint, and the
/// networks the host program loads from it give PyTorch's outputs.
#[test]
fn seed_pair_through_the_importer() {
    use picogan_host::import::{import, ImportOptions};
    use picogan_host::train::Arch;
    use picogan_host::weights::{self, FileBytes};

    let out = std::env::temp_dir().join(format!(
        "picogan-import-test-{}/checkpoint.safetensors",
        std::process::id()
    ));
    let imported = import(&ImportOptions {
        from: format!("{DIR}/import_seed.safetensors").into(),
        arch: Arch::Seed,
        dataset: None,
        role: None,
        renames: Vec::new(),
        allow_extra: false,
        round_f64: false,
        out: out.clone(),
    })
    .unwrap();
    assert_eq!(imported.dataset, "idx");
    assert!(imported.had_checksum);

    let bytes = FileBytes::read(&out).unwrap();
    let file = weights::open(&bytes, "checkpoint").unwrap();
    assert_eq!(file.metadata("format"), Some(weights::FORMAT_CHECKPOINT));
    let mut g = Box::new(SeedGenerator::ZEROED);
    let mut d = Box::new(SeedDiscriminator::ZEROED);
    weights::load_with(&mut *g, &file, &opts("generator.", false), "checkpoint").unwrap();
    weights::load_with(&mut *d, &file, &opts("discriminator.", false), "checkpoint").unwrap();
    let refs_bytes = Aligned::read("import_expected.safetensors");
    let refs = File::parse(refs_bytes.bytes()).unwrap();
    assert_within("seed via import", forward_errors(&refs, "seed", &*g, &*d));
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

/// Only F32 tensors run in place; a file in another dtype must be loaded (converted).
#[test]
fn converted_dtypes_do_not_run_in_place() {
    let bytes = Aligned::read("import_tiny_f16.safetensors");
    let file = File::parse(bytes.bytes()).unwrap();
    let err = file
        .view::<TinyPointsGenerator>(&opts("generator.", false))
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotInPlace {
                dtype: Dtype::F16,
                ..
            }
        ),
        "{err}"
    );
}
