//! Embeds a Generator trained on the desktop into the firmware's flash.
//!
//! Reads the file that `picogan export` (or `picogan train`) wrote: `PICOGAN_MODEL`,
//! absolute or relative to the firmware directory; by default the reference model
//! `models/digits-small.safetensors`. The core's own reader checks it here exactly as the
//! firmware will at run time (layout, CRC-32, every tensor's name, dtype, shape and value
//! against the network type its metadata names), so a bad file stops the build with the
//! reason. `model.rs`, written into `OUT_DIR`, names the network type and embeds the file
//! byte for byte.

use picogan::models::{
    MicroPointsGenerator, PointsGenerator, SeedGenerator, SeedShapedGenerator, SmallGenerator,
    TinyPointsGenerator,
};
use picogan::safetensors::{File, LoadOptions};
use picogan::Layer;
use std::path::PathBuf;

/// The reference model, relative to the firmware directory.
const DEFAULT_MODEL: &str = "models/digits-small.safetensors";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=PICOGAN_MODEL");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let firmware_dir = manifest.parent().ok_or("no firmware directory")?;
    let chosen = std::env::var("PICOGAN_MODEL").unwrap_or_else(|_| DEFAULT_MODEL.into());
    let path = firmware_dir.join(&chosen);
    println!("cargo:rerun-if-changed={}", path.display());

    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let file = File::parse(&bytes).map_err(|e| format!("{shown}: {e}"))?;
    file.require_checksum()
        .and_then(|_| file.require_header_checksum())
        .map_err(|e| {
            format!("{shown}: {e}; write the file with `picogan export --from {chosen} --out FILE`")
        })?;
    let meta = |k: &str| {
        file.metadata(k).ok_or_else(|| {
            format!("{shown}: no `{k}` in its metadata; write it with `picogan export`")
        })
    };
    if meta("role")? != "generator" {
        return Err(format!(
            "{shown} holds a {}, not a generator",
            meta("role")?
        ));
    }
    let (dataset, arch) = (meta("dataset")?, meta("arch")?);

    // the network type for the file's data set and architecture, as `picogan sample` picks it
    let (ty, side) = match (dataset, arch) {
        ("digits", "small") => check::<SmallGenerator<64>>(&file, "SmallGenerator<64>", 8),
        ("digits", "seed") => check::<SeedShapedGenerator<64>>(&file, "SeedShapedGenerator<64>", 8),
        ("idx", "small") => check::<SmallGenerator<784>>(&file, "SmallGenerator<784>", 28),
        ("idx", "seed") => check::<SeedGenerator>(&file, "SeedGenerator", 28),
        ("ring8" | "grid25", "small") => check::<PointsGenerator>(&file, "PointsGenerator", 0),
        ("ring8" | "grid25", "tiny") => {
            check::<TinyPointsGenerator>(&file, "TinyPointsGenerator", 0)
        }
        ("ring8" | "grid25", "micro") => {
            check::<MicroPointsGenerator>(&file, "MicroPointsGenerator", 0)
        }
        (d, a) => return Err(format!("{shown}: no firmware model for {d}/{a}")),
    }
    .map_err(|e| format!("{shown}: {e}"))?;

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let absolute = std::path::absolute(&path).map_err(|e| e.to_string())?;
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
         /// The Generator's type.\n\
         pub type Generator = picogan::models::{ty};\n\
         /// The weights file, byte for byte, aligned for reading in place.\n\
         static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!({absolute:?}));\n"
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    std::fs::write(out.join("model.rs"), src).map_err(|e| format!("cannot write model.rs: {e}"))
}

/// Checks that `file` holds exactly `L`'s tensors; returns the type's name under
/// `picogan::models` and the image side.
fn check<L: Layer<Scalar = f32>>(
    file: &File<'_>,
    ty: &'static str,
    side: usize,
) -> Result<(&'static str, usize), picogan::safetensors::Error> {
    // what `sample` does at reset: every tensor checked and used in place, so F32 only
    file.view::<L>(&LoadOptions::STRICT)?;
    Ok((ty, side))
}
