//! Embeds a Generator trained on the desktop into the firmware's flash.
//!
//! Reads the safetensors file that `picogan train` wrote (`PICOGAN_MODEL`, absolute or
//! relative to the firmware directory; by default the reference model
//! `models/digits-small.safetensors`), checks its metadata and every tensor's name, dtype
//! and shape against the core's network type, and writes `model.rs` into `OUT_DIR`: the
//! weights as a `static` of that type, every value written as `f32::from_bits` so that
//! flash holds exactly the bits of the file.

use picogan::activation::{LeakyReluFn, Map, ReluFn, SigmoidFn, TanhFn};
use picogan::models::{
    PointsGenerator, SeedGenerator, SeedShapedGenerator, SmallGenerator, TinyPointsGenerator,
};
use picogan::{Chain, Layer, Linear};
use safetensors::{Dtype, SafeTensors};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{shown}: {e}"))?;
    let meta = Meta::read(&bytes, &shown)?;
    if meta.role != "generator" {
        return Err(format!("{shown} holds a {}, not a generator", meta.role));
    }

    // the network type for the file's data set and architecture, as `picogan sample` picks it
    let st = &st;
    let s = &shown;
    let (ty, side, value) = match (meta.dataset.as_str(), meta.arch.as_str()) {
        ("digits", "small") => model::<SmallGenerator<64>>("models::SmallGenerator<64>", 8, st, s),
        ("digits", "seed") => {
            model::<SeedShapedGenerator<64>>("models::SeedShapedGenerator<64>", 8, st, s)
        }
        ("idx", "small") => model::<SmallGenerator<784>>("models::SmallGenerator<784>", 28, st, s),
        ("idx", "seed") => model::<SeedGenerator>("models::SeedGenerator", 28, st, s),
        ("ring8" | "grid25", "small") => {
            model::<PointsGenerator>("models::PointsGenerator", 0, st, s)
        }
        ("ring8" | "grid25", "tiny") => {
            model::<TinyPointsGenerator>("models::TinyPointsGenerator", 0, st, s)
        }
        (d, a) => Err(format!("{shown}: no firmware model for {d}/{a}")),
    }?;

    let file = Path::new(&chosen)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut src = String::new();
    let _ = write!(
        src,
        "// Written by build.rs from {file}; do not edit.\n\n\
         /// File name of the embedded weights.\n\
         pub const FILE: &str = {file:?};\n\
         /// Data set the Generator was trained on.\n\
         pub const DATASET: &str = {:?};\n\
         /// Architecture name, as in `picogan train --arch`.\n\
         pub const ARCH: &str = {:?};\n\
         /// Side of the square images it draws, in pixels; 0 for 2-D points.\n\
         pub const IMAGE_SIDE: usize = {side};\n\
         /// The Generator's type.\n\
         pub type Generator = picogan::{ty};\n\
         /// The Generator, in flash.\n\
         pub static GENERATOR: Generator = {value};\n",
        meta.dataset, meta.arch
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    std::fs::write(out.join("model.rs"), src).map_err(|e| format!("cannot write model.rs: {e}"))
}

/// The metadata `picogan train` writes.
struct Meta {
    dataset: String,
    arch: String,
    role: String,
}

impl Meta {
    fn read(bytes: &[u8], shown: &str) -> Result<Self, String> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("{shown}: {e}"))?;
        let m = header.metadata().as_ref();
        let get = |k: &str| {
            m.and_then(|m| m.get(k)).cloned().ok_or_else(|| {
                format!("{shown}: no `{k}` in its metadata; was it written by picogan?")
            })
        };
        Ok(Meta {
            dataset: get("dataset")?,
            arch: get("arch")?,
            role: get("role")?,
        })
    }
}

/// The type path `ty` (under `picogan::`), the image side and the value source of `L`'s
/// weights in `st`.
fn model<L: Emit>(
    ty: &'static str,
    side: usize,
    st: &SafeTensors<'_>,
    shown: &str,
) -> Result<(&'static str, usize, String), String> {
    Ok((ty, side, emit_checked::<L>(st, shown)?))
}

/// Checks that `st` holds exactly `L`'s tensors, by `state_dict` name, dtype and shape, and
/// returns Rust source for the value of type `L` holding them.
fn emit_checked<L: Emit>(st: &SafeTensors<'_>, shown: &str) -> Result<String, String> {
    let mut tensors = Vec::with_capacity(L::TENSORS);
    for i in 0..L::TENSORS {
        let info = L::tensor_info(i).ok_or("network type describes its tensors inconsistently")?;
        let name = format!("fc.{}.{}", info.layer, info.kind.name());
        let view = st
            .tensor(&name)
            .map_err(|_| format!("{shown}: missing tensor `{name}`"))?;
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "{shown}: `{name}` is {:?}, expected F32",
                view.dtype()
            ));
        }
        if view.shape() != info.shape() {
            return Err(format!(
                "{shown}: `{name}` has shape {:?}, expected {:?}",
                view.shape(),
                info.shape()
            ));
        }
        let values: Vec<u32> = view
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.push(values);
    }
    if st.len() != L::TENSORS {
        return Err(format!(
            "{shown}: {} tensors, expected {}",
            st.len(),
            L::TENSORS
        ));
    }
    let mut out = String::new();
    L::emit(&mut tensors.iter(), &mut out);
    Ok(out)
}

/// A layer type that can write Rust source for a value of itself.
trait Emit: Layer {
    /// Appends the source of a value of `Self` whose tensors are the next ones of
    /// `tensors` (f32 bit patterns, row-major), taking as many as `Self::TENSORS`.
    fn emit(tensors: &mut std::slice::Iter<'_, Vec<u32>>, out: &mut String);
}

impl<const IN: usize, const OUT: usize> Emit for Linear<IN, OUT> {
    fn emit(tensors: &mut std::slice::Iter<'_, Vec<u32>>, out: &mut String) {
        let (w, b) = (tensors.next(), tensors.next());
        out.push_str("picogan::Linear { w: [");
        for row in w.map(|w| &w[..]).unwrap_or(&[]).chunks(IN) {
            out.push('[');
            push_values(row, out);
            out.push_str("],");
        }
        out.push_str("], b: [");
        push_values(b.map(|b| &b[..]).unwrap_or(&[]), out);
        out.push_str("] }");
    }
}

fn push_values(bits: &[u32], out: &mut String) {
    for v in bits {
        let _ = write!(out, "f32::from_bits({v:#010x}),");
    }
}

/// Element-wise layers have no parameters: their value is the type's `ZEROED`.
macro_rules! emit_map {
    ($f:ty, $alias:literal) => {
        impl<const N: usize> Emit for Map<$f, N> {
            fn emit(_: &mut std::slice::Iter<'_, Vec<u32>>, out: &mut String) {
                let _ = write!(out, "<picogan::{}<{N}> as picogan::Layer>::ZEROED", $alias);
            }
        }
    };
}
emit_map!(ReluFn, "Relu");
emit_map!(TanhFn, "Tanh");
emit_map!(SigmoidFn, "Sigmoid");

impl<const N: usize, const S: i32> Emit for Map<LeakyReluFn<S>, N> {
    fn emit(_: &mut std::slice::Iter<'_, Vec<u32>>, out: &mut String) {
        let _ = write!(
            out,
            "<picogan::LeakyRelu<{N}, {S}> as picogan::Layer>::ZEROED"
        );
    }
}

impl<A: Emit, B: Emit + Layer<Input = A::Output>> Emit for Chain<A, B> {
    fn emit(tensors: &mut std::slice::Iter<'_, Vec<u32>>, out: &mut String) {
        out.push_str("picogan::Chain(");
        A::emit(tensors, out);
        out.push_str(", ");
        B::emit(tensors, out);
        out.push(')');
    }
}
