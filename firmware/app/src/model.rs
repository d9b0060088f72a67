//! The Generators embedded at build time (see `build.rs`): an f32 one, which `sample` runs,
//! and an int8 one, which `sample-int8` runs.
//!
//! Flash holds each weights file itself, as `picogan export` or `picogan quantize` wrote
//! it. At run time the core's reader checks it again (layout, names, shapes, values and the
//! CRC-32s of its data and of its header, which catch a corrupted flash image), and the
//! Generator then runs straight from the file's bytes in flash: its weights take no RAM.
//!
//! `PICOGAN_MODEL` chooses the f32 file and `PICOGAN_INT8_MODEL` the int8 one when the
//! firmware is built; by default they are the reference model
//! `models/digits-small.safetensors` and its quantization
//! `models/digits-small-int8.safetensors`.
//!
//! Two programs, each embedding one file, rather than one program that runs whichever file
//! it was built with: both formats are built, run and measured side by side from one
//! build, so the tests and `picogan emulate --report` compare them without rebuilding the
//! application for each, and a board can carry both. Each program links only its own file.

use picogan::quant::network::QVector;
use picogan::quant::{QLayer, QNet};
use picogan::safetensors::{Borrowed, Error, File, LoadOptions};
use picogan::{Layer, Vector};

/// Bytes aligned to 8, so that every tensor in the file is aligned for its dtype.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

/// The f32 file's constants and type, written by `build.rs`.
mod f32_file {
    use super::Aligned;
    include!(concat!(env!("OUT_DIR"), "/model_f32.rs"));
}

/// The int8 file's constants and type, written by `build.rs`.
mod int8_file {
    use super::Aligned;
    include!(concat!(env!("OUT_DIR"), "/model_int8.rs"));
}

/// The f32 Generator's type, from `PICOGAN_MODEL`'s metadata.
pub type Generator = f32_file::Generator;
/// The int8 Generator's type, from `PICOGAN_INT8_MODEL`'s metadata.
pub type QGenerator = int8_file::Generator;

/// What the log says of an embedded Generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// How its weights are stored: `f32` or `int8`.
    pub format: &'static str,
    /// File name of the embedded weights.
    pub file: &'static str,
    /// Data set it was trained on.
    pub dataset: &'static str,
    /// Architecture name, as in `picogan train --arch`.
    pub arch: &'static str,
    /// Side of the square images it draws, in pixels; 0 for 2-D points.
    pub image_side: usize,
    /// Weights and biases.
    pub params: usize,
}

/// Samples shown side by side for images `side` pixels wide: eight 8×8 digits fit on a
/// line; larger images and points go one by one.
const fn per_row(side: usize) -> usize {
    if side == 8 {
        crate::show::MOST_PER_LINE
    } else {
        1
    }
}

/// A Generator that `sample` and `sample-int8` run from flash, `X` values per sample: an
/// f32 one borrowed from its file ([`Borrowed`]) or an int8 one ([`QNet`]). Both take f32
/// noise, drawn the same way, so that both programs draw the desktop's samples for a seed.
pub trait Sampler<const X: usize> {
    /// The noise input, `[f32; Z]`.
    type Noise: Copy + AsMut<[f32]>;
    /// Noise to start from.
    const NOISE: Self::Noise;
    /// What the network computes before its real outputs: `[i8; X]` for an int8 network,
    /// nothing (`[i8; 0]`) for an f32 one.
    type Raw: QVector;
    /// Activations between layers.
    type Scratch;
    /// Scratch to start from.
    const SCRATCH: Self::Scratch;

    /// One sample from noise `z`: the network's own outputs in `raw`, the real values in
    /// `out`.
    fn sample(
        &self,
        z: &Self::Noise,
        raw: &mut Self::Raw,
        out: &mut [f32; X],
        s: &mut Self::Scratch,
    );
}

impl<G, const X: usize> Sampler<X> for Borrowed<'_, G>
where
    G: Layer<Scalar = f32, Output = [f32; X]>,
    G::Input: AsMut<[f32]>,
{
    type Noise = G::Input;
    const NOISE: G::Input = <G::Input as Vector>::ZERO;
    type Raw = [i8; 0];
    type Scratch = G::Cache;
    const SCRATCH: G::Cache = G::CACHE;

    fn sample(&self, z: &G::Input, _: &mut [i8; 0], out: &mut [f32; X], s: &mut G::Cache) {
        self.forward(z, out, s);
    }
}

impl<Q, const X: usize> Sampler<X> for QNet<'_, Q>
where
    Q: QLayer<Output = [i8; X]>,
{
    type Noise = <Q::Input as QVector>::Real;
    const NOISE: Self::Noise = <Q::Input as QVector>::REAL_ZERO;
    type Raw = [i8; X];
    type Scratch = Q::Scratch;
    const SCRATCH: Q::Scratch = Q::SCRATCH;

    /// The noise quantized, the network run in integers, its output dequantized: as
    /// `picogan sample` runs an int8 file.
    fn sample(&self, z: &Self::Noise, raw: &mut [i8; X], out: &mut [f32; X], s: &mut Q::Scratch) {
        QNet::sample(self, z.as_ref(), raw, out, s);
    }
}

/// A Generator embedded in flash: [`F32`] or [`Int8`], the value a program hands
/// [`crate::sample::run_and_signal`] (which infers `X` and `PER_ROW` from it). `X` is its
/// values per sample and `PER_ROW` how many samples the log shows side by side.
pub trait Embedded<const X: usize, const PER_ROW: usize> {
    /// What the log says of it.
    const INFO: Info;
    /// The network, running on the file's bytes.
    type Net<'a>: Sampler<X>;

    /// The weights file as it sits in flash.
    fn image() -> &'static [u8];

    /// Checks the weights file in `image` and returns its Generator, running on the
    /// file's bytes in place, with the verified CRC-32 of the file's data.
    fn open(image: &[u8]) -> Result<(Self::Net<'_>, u32), Error>;
}

/// The f32 Generator of `PICOGAN_MODEL`, which `sample` runs.
#[derive(Clone, Copy, Debug)]
pub struct F32;

/// The int8 Generator of `PICOGAN_INT8_MODEL`, which `sample-int8` runs.
#[derive(Clone, Copy, Debug)]
pub struct Int8;

/// Values per sample of the f32 Generator.
const F32_X: usize = <<Generator as Layer>::Output as Vector>::LEN;
/// Values per sample of the int8 Generator.
const INT8_X: usize = <<QGenerator as QLayer>::Output as QVector>::LEN;

impl Embedded<F32_X, { per_row(f32_file::IMAGE_SIDE) }> for F32 {
    const INFO: Info = Info {
        format: "f32",
        file: f32_file::FILE,
        dataset: f32_file::DATASET,
        arch: f32_file::ARCH,
        image_side: f32_file::IMAGE_SIDE,
        params: f32_file::PARAMS,
    };
    type Net<'a> = Borrowed<'a, Generator>;

    fn image() -> &'static [u8] {
        &f32_file::ALIGNED.0
    }

    fn open(image: &[u8]) -> Result<(Self::Net<'_>, u32), Error> {
        // a table for the Generator's tensors only: the file holds nothing else
        let file = File::<'_, { <Generator as Layer>::TENSORS }>::parse_with_capacity(image)?;
        let crc = file.require_checksum()?;
        file.require_header_checksum()?;
        Ok((file.view::<Generator>(&LoadOptions::STRICT)?, crc))
    }
}

impl Embedded<INT8_X, { per_row(int8_file::IMAGE_SIDE) }> for Int8 {
    const INFO: Info = Info {
        format: "int8",
        file: int8_file::FILE,
        dataset: int8_file::DATASET,
        arch: int8_file::ARCH,
        image_side: int8_file::IMAGE_SIDE,
        params: int8_file::PARAMS,
    };
    type Net<'a> = QNet<'a, QGenerator>;

    fn image() -> &'static [u8] {
        &int8_file::ALIGNED.0
    }

    fn open(image: &[u8]) -> Result<(Self::Net<'_>, u32), Error> {
        // the build checked the file's `format`; an f32 file is refused here by its dtypes
        let file = File::<'_, { <QGenerator as QLayer>::TENSORS }>::parse_with_capacity(image)?;
        let crc = file.require_checksum()?;
        file.require_header_checksum()?;
        Ok((file.view_quantized::<QGenerator>()?, crc))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use picogan::Vector;
    use std::boxed::Box;
    use std::vec::Vec;

    fn bits(y: &<Generator as Layer>::Output) -> Vec<u32> {
        y.as_slice().iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn embedded_generator_runs_in_place_as_it_runs_loaded() {
        let (g, crc) = F32::open(F32::image()).unwrap();
        let file = File::parse(F32::image()).unwrap();
        assert_eq!(crc, picogan::safetensors::checksum(file.data()));
        let mut loaded = Box::new(Generator::ZEROED);
        file.load_into(&mut *loaded, &LoadOptions::STRICT).unwrap();
        assert!(loaded.tensor(0).iter().any(|&w| w != 0.0));

        let mut z = <Generator as Layer>::Input::ZERO;
        for (k, v) in z.as_mut_slice().iter_mut().enumerate() {
            *v = (k as f32 * 0.37).sin();
        }
        let mut in_place = <Generator as Layer>::Output::ZERO;
        let mut copied = <Generator as Layer>::Output::ZERO;
        g.infer(&z, &mut in_place);
        loaded.infer(&z, &mut copied);
        assert_eq!(bits(&in_place), bits(&copied));
        if F32::INFO.image_side > 0 {
            // images end in Tanh
            assert!(in_place.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn embedded_int8_generator_runs_in_place_as_its_copy_runs() {
        let (net, crc) = Int8::open(Int8::image()).unwrap();
        let file = File::parse(Int8::image()).unwrap();
        assert_eq!(crc, picogan::safetensors::checksum(file.data()));
        assert_eq!(file.metadata("format"), Some("picogan-int8"));
        let copy = Box::new(QGenerator::from_view(net.view()));
        let own = QNet::of(&*copy).unwrap();

        let mut z = <<QGenerator as QLayer>::Input as QVector>::REAL_ZERO;
        for (k, v) in z.as_mut().iter_mut().enumerate() {
            *v = (k as f32 * 0.37).sin() * 2.0;
        }
        let (mut raw, mut copied_raw) = ([0i8; INT8_X], [0i8; INT8_X]);
        let (mut out, mut copied) = ([0.0f32; INT8_X], [0.0f32; INT8_X]);
        let mut s = QGenerator::SCRATCH;
        Sampler::sample(&net, &z, &mut raw, &mut out, &mut s);
        Sampler::sample(&own, &z, &mut copied_raw, &mut copied, &mut s);
        assert_eq!(raw, copied_raw);
        assert_eq!(out.map(f32::to_bits), copied.map(f32::to_bits));
        // the real outputs are what the int8 ones stand for
        for (&r, &o) in raw.iter().zip(&out) {
            assert_eq!(o.to_bits(), net.output().dequantize(r).to_bits());
        }
        assert!(
            raw.iter().any(|&r| r != raw[0]),
            "a constant output: {raw:?}"
        );
    }

    #[test]
    fn a_corrupted_image_is_refused() {
        // one bit flipped in the last weight, as a worn flash cell would; the copy is as
        // aligned as the allocator's blocks (16 bytes on the test hosts)
        let flipped = |image: &[u8]| {
            let mut bad = image.to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 0x10;
            bad
        };
        let errors = [
            F32::open(&flipped(F32::image())).map(|_| ()).unwrap_err(),
            Int8::open(&flipped(Int8::image())).map(|_| ()).unwrap_err(),
        ];
        for err in errors {
            assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
        }
    }

    #[test]
    fn the_two_files_cannot_stand_in_for_each_other() {
        assert!(Int8::open(F32::image()).is_err());
        assert!(F32::open(Int8::image()).is_err());
    }
}
