//! Embeds two Generators trained on the desktop into the firmware's flash: an f32 one for
//! `sample` and an int8 one for `sample-int8`.
//!
//! - `PICOGAN_MODEL` names the f32 file, as `picogan export` (or `picogan train`) wrote it;
//!   by default the reference model `models/digits-small.safetensors`.
//! - `PICOGAN_INT8_MODEL` names the int8 file, as `picogan quantize` wrote it; by default
//!   `models/digits-small-int8.safetensors`, the reference model quantized.
//!
//! Both are absolute or relative to the firmware directory. The core's own reader checks
//! each here exactly as the firmware will at run time (layout, both CRC-32s, every tensor's
//! name, dtype, shape and value against the network type its metadata names: `File::view`
//! for f32, `File::view_quantized` for int8), so a bad file stops the build with the reason.
//! `model_f32.rs` and `model_int8.rs`, written into `OUT_DIR`, name each network type and
//! embed each file byte for byte. A program links only the file it runs.

use picogan::models::{
    MicroPointsGenerator, PointsGenerator, SeedGenerator, SeedShapedGenerator, SmallGenerator,
    TinyPointsGenerator,
};
use picogan::quant::{
    QKind, QLayer, QPointsGenerator, QSeedGenerator, QSeedShapedGenerator, QSmallGenerator,
    QTinyPointsGenerator,
};
use picogan::safetensors::{File, LoadOptions};
use picogan::Layer;
use std::path::{Path, PathBuf};

/// The `format` metadata of an int8 Generator file, as `picogan quantize` writes it.
const FORMAT_INT8: &str = "picogan-int8";

/// How the weights of an embedded file are stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    F32,
    Int8,
}

impl Format {
    /// The variable naming the file, its default relative to the firmware directory, and
    /// the file `OUT_DIR` gets.
    fn setting(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Format::F32 => (
                "PICOGAN_MODEL",
                "models/digits-small.safetensors",
                "model_f32.rs",
            ),
            Format::Int8 => (
                "PICOGAN_INT8_MODEL",
                "models/digits-small-int8.safetensors",
                "model_int8.rs",
            ),
        }
    }
}

/// What the build found in a file: the network type (a path under `picogan::`), the side of
/// its images and its parameter count.
struct Found {
    ty: String,
    side: usize,
    params: usize,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let firmware_dir = manifest.parent().ok_or("no firmware directory")?;
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    for format in [Format::F32, Format::Int8] {
        embed(format, firmware_dir, &out)?;
    }
    Ok(())
}

/// Checks the file `format`'s variable names and writes the Rust source that embeds it.
fn embed(format: Format, firmware_dir: &Path, out: &Path) -> Result<(), String> {
    let (var, default, generated) = format.setting();
    println!("cargo:rerun-if-env-changed={var}");
    let chosen = std::env::var(var).unwrap_or_else(|_| default.into());
    let path = firmware_dir.join(&chosen);
    println!("cargo:rerun-if-changed={}", path.display());

    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| format!("{var}: cannot read {shown}: {e}"))?;
    let file = File::parse(&bytes).map_err(|e| format!("{shown}: {e}"))?;
    let is_int8 = file.metadata("format") == Some(FORMAT_INT8);
    let rewrite = if is_int8 {
        "picogan quantize --from F32_GENERATOR --out FILE"
    } else {
        "picogan export --from FILE --out FILE"
    };
    file.require_checksum()
        .and_then(|_| file.require_header_checksum())
        .map_err(|e| format!("{shown}: {e}; write the file with `{rewrite}`"))?;
    match (format, is_int8) {
        (Format::F32, true) => {
            return Err(format!(
                "PICOGAN_MODEL names {shown}, an int8 Generator: name it with \
                 PICOGAN_INT8_MODEL and run `sample-int8`"
            ))
        }
        (Format::Int8, false) => {
            return Err(format!(
                "PICOGAN_INT8_MODEL names {shown}, which is not an int8 Generator: make one \
                 with `picogan quantize --from {chosen} --out FILE`"
            ))
        }
        _ => {}
    }
    let meta = |k: &str| {
        file.metadata(k)
            .ok_or_else(|| format!("{shown}: no `{k}` in its metadata; write it with `{rewrite}`"))
    };
    if meta("role")? != "generator" {
        return Err(format!(
            "{shown} holds a {}, not a generator",
            meta("role")?
        ));
    }
    let (dataset, arch) = (meta("dataset")?, meta("arch")?);
    let found = match format {
        Format::F32 => f32_type(&file, dataset, arch),
        Format::Int8 => int8_type(&file, dataset, arch),
    }
    .map_err(|e| format!("{shown}: {e}"))?;

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let absolute = std::path::absolute(&path).map_err(|e| e.to_string())?;
    let Found { ty, side, params } = found;
    let src = format!(
        "// Written by build.rs from {name}; do not edit.\n\n\
         /// File name of the embedded weights.\n\
         pub const FILE: &str = {name:?};\n\
         /// Data set the Generator was trained on.\n\
         pub const DATASET: &str = {dataset:?};\n\
         /// Architecture name, as in `picogan train --arch`.\n\
         pub const ARCH: &str = {arch:?};\n\
         /// Side of the square images it draws, in pixels; 0 for 2-D points.\n\
         pub const IMAGE_SIDE: usize = {side};\n\
         /// Weights and biases.\n\
         pub const PARAMS: usize = {params};\n\
         /// The Generator's type.\n\
         pub type Generator = picogan::{ty};\n\
         /// The weights file, byte for byte, aligned for reading in place.\n\
         pub static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!({absolute:?}));\n"
    );
    std::fs::write(out.join(generated), src).map_err(|e| format!("cannot write {generated}: {e}"))
}

/// The f32 network type for the file's data set and architecture, as `picogan sample` picks
/// it, checked against the file.
fn f32_type(file: &File<'_>, dataset: &str, arch: &str) -> Result<Found, String> {
    match (dataset, arch) {
        ("digits", "small") => check::<SmallGenerator<64>>(file, "SmallGenerator<64>", 8),
        ("digits", "seed") => check::<SeedShapedGenerator<64>>(file, "SeedShapedGenerator<64>", 8),
        ("idx", "small") => check::<SmallGenerator<784>>(file, "SmallGenerator<784>", 28),
        ("idx", "seed") => check::<SeedGenerator>(file, "SeedGenerator", 28),
        ("ring8" | "grid25", "small") => check::<PointsGenerator>(file, "PointsGenerator", 0),
        ("ring8" | "grid25", "tiny") => {
            check::<TinyPointsGenerator>(file, "TinyPointsGenerator", 0)
        }
        ("ring8" | "grid25", "micro") => {
            check::<MicroPointsGenerator>(file, "MicroPointsGenerator", 0)
        }
        (d, a) => Err(format!("no firmware model for {d}/{a}")),
    }
}

/// The int8 network type for the file's data set and architecture, as `picogan sample`
/// picks it, checked against the file.
fn int8_type(file: &File<'_>, dataset: &str, arch: &str) -> Result<Found, String> {
    match (dataset, arch) {
        ("digits", "small") => check_int8::<QSmallGenerator<64>>(file, "QSmallGenerator<64>", 8),
        ("digits", "seed") => {
            check_int8::<QSeedShapedGenerator<64>>(file, "QSeedShapedGenerator<64>", 8)
        }
        ("idx", "small") => check_int8::<QSmallGenerator<784>>(file, "QSmallGenerator<784>", 28),
        ("idx", "seed") => check_int8::<QSeedGenerator>(file, "QSeedGenerator", 28),
        ("ring8" | "grid25", "small") => {
            check_int8::<QPointsGenerator>(file, "QPointsGenerator", 0)
        }
        ("ring8" | "grid25", "tiny") => {
            check_int8::<QTinyPointsGenerator>(file, "QTinyPointsGenerator", 0)
        }
        (d, a) => Err(format!("no int8 firmware model for {d}/{a}")),
    }
}

/// Checks that `file` holds exactly `L`'s tensors, as `sample` does at reset: every tensor
/// checked and used in place, so F32 only.
fn check<L: Layer<Scalar = f32>>(file: &File<'_>, ty: &str, side: usize) -> Result<Found, String> {
    file.view::<L>(&LoadOptions::STRICT)
        .map_err(|e| e.to_string())?;
    Ok(Found {
        ty: format!("models::{ty}"),
        side,
        params: L::PARAMS,
    })
}

/// Checks that `file` holds exactly `Q`'s tensors, with values in range and layers whose
/// parameters join up, as `sample-int8` does at reset.
fn check_int8<Q: QLayer>(file: &File<'_>, ty: &str, side: usize) -> Result<Found, String> {
    file.view_quantized::<Q>().map_err(|e| e.to_string())?;
    // weights and biases, as the f32 network counts its parameters
    let params = (0..Q::TENSORS)
        .filter_map(Q::tensor_info)
        .filter(|t| matches!(t.kind, QKind::Weight | QKind::Bias))
        .map(|t| t.shape().iter().product::<usize>())
        .sum();
    Ok(Found {
        ty: format!("quant::{ty}"),
        side,
        params,
    })
}
