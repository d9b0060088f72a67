//! `picogan sample`: draws samples from a trained Generator.

use crate::train::{as_points, generate};
use crate::weights::{self, ModelInfo};
use crate::{hash, plot, quantize, same_file, write_points_csv};
use anyhow::{ensure, Context, Result};
use picogan::quant::QLayer;
use picogan::safetensors::{File, LoadOptions};
use picogan::Layer;
use std::path::{Path, PathBuf};

/// What `picogan sample` wrote.
pub struct Written {
    /// Files, pictures first.
    pub files: Vec<PathBuf>,
    /// The samples, `[n][X]` flat; an int8 Generator's dequantized.
    pub samples: Vec<f32>,
    /// An int8 Generator's samples as it computed them.
    pub int8: Option<Vec<i8>>,
}

impl Written {
    /// What `picogan sample --hash` prints of `n` samples, and the firmware's `sample` and
    /// `sample-int8` log in the same words: the CRC-32 of the samples' f32 values (an int8
    /// Generator's dequantized), and for an int8 Generator that of its int8 outputs.
    pub fn checksum_lines(&self, n: usize) -> Vec<String> {
        let mut lines = vec![format!(
            "samples: {} × {} values, crc32 {}",
            n,
            self.samples.len() / n.max(1),
            hash::show(hash::crc32_f32(&self.samples))
        )];
        if let Some(raw) = &self.int8 {
            lines.push(format!(
                "int8 outputs: {} values, crc32 {}",
                raw.len(),
                hash::show(hash::crc32_i8(raw))
            ));
        }
        lines
    }
}

/// Loads the Generator in `weights_path` (a Generator file, a checkpoint or an int8
/// Generator from `picogan quantize`, which runs in place as the firmware runs it), draws `n`
/// samples with noise from `seed` and writes them next to `out`: a PNG grid for images; a
/// CSV file and a scatter plot for 2-D points (`out` with extensions `.csv` and `.png`).
pub fn sample(weights_path: &Path, n: usize, seed: u64, out: &Path) -> Result<Written> {
    ensure!(
        (1..=MAX_SAMPLES).contains(&n),
        "--n must be from 1 to {MAX_SAMPLES}, got {n}"
    );
    // a directory, named or implied by a trailing separator, gets the default file name
    let out = &if out.is_dir() || out.as_os_str().to_string_lossy().ends_with(['/', '\\']) {
        out.join("samples.png")
    } else {
        out.to_path_buf()
    };
    for ext in ["png", "csv"] {
        ensure!(
            !same_file(&out.with_extension(ext), weights_path),
            "--out {} would overwrite the weights",
            out.display()
        );
    }
    let shown = weights_path.display().to_string();
    let bytes = weights::FileBytes::read(weights_path)?;
    let file = weights::open(&bytes, &shown)?;
    if quantize::is_int8(&file) {
        let info = weights::read_info(&file, &shown)?;
        ensure!(
            info.role == "generator",
            "{shown} holds a {}, not a generator",
            info.role
        );
        let (arch, width) = weights::arch_and_width(&info, &shown)?;
        return quantize::with_int8_models!(width, arch, |G, Q, X| draw_int8::<Q>(
            &file, &shown, &info, n, seed, out
        ));
    }
    let source = weights::generator_of(&file, &shown)?;
    let (opts, info) = (source.options(), &source.info);
    crate::with_models!(source.width, source.arch, |G, D, X| draw::<G>(
        &file, &opts, &shown, info, n, seed, out
    ))
}

/// Most samples one call draws: a picture of 10,000 28×28 images is already about 6,000
/// pixels square.
pub const MAX_SAMPLES: usize = 10_000;

#[inline(never)] // see `train::run`
fn draw<G: Layer<Scalar = f32>>(
    file: &File<'_>,
    opts: &LoadOptions<'_>,
    shown: &str,
    info: &ModelInfo,
    n: usize,
    seed: u64,
    out: &Path,
) -> Result<Written> {
    let mut g = Box::new(G::ZEROED);
    weights::load_with(&mut *g, file, opts, shown)?;
    let samples = generate(&*g, n, seed);
    let files = write(info, &samples, n, seed, out)?;
    Ok(Written {
        files,
        samples,
        int8: None,
    })
}

/// [`draw`] for an int8 Generator, run in place from the file's bytes.
fn draw_int8<Q: QLayer>(
    file: &File<'_>,
    shown: &str,
    info: &ModelInfo,
    n: usize,
    seed: u64,
    out: &Path,
) -> Result<Written> {
    let net = quantize::open_int8::<Q>(file, shown)?;
    let (samples, raw) = quantize::generate_int8(&net, n, seed);
    let files = write(info, &samples, n, seed, out)?;
    Ok(Written {
        files,
        samples,
        int8: Some(raw),
    })
}

/// Writes `n` samples (`[n][X]` flat): a PNG grid for images, a scatter plot and CSV file
/// for 2-D points. Returns the files, the picture first.
fn write(
    info: &ModelInfo,
    samples: &[f32],
    n: usize,
    seed: u64,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let png = out.with_extension("png");
    let mut files = vec![png.clone()];
    match info.dataset.as_str() {
        "ring8" | "grid25" => {
            let points = as_points(samples);
            let mix = if info.dataset == "ring8" {
                crate::data::Mixture::ring8()
            } else {
                crate::data::Mixture::grid25()
            };
            let title = format!("{} samples, seed {seed}", info.dataset);
            plot::scatter(&png, &title, &[], &points, mix.means())?;
            let csv = out.with_extension("csv");
            write_points_csv(&csv, &points)?;
            files.push(csv);
        }
        _ => {
            let side = if samples.len() / n == 64 { 8 } else { 28 };
            let caption = format!("{n} samples, seed {seed}");
            let panels = [plot::Panel {
                caption: &caption,
                images: samples,
            }];
            plot::image_panels(&png, &panels, side, side, if side == 8 { 4 } else { 2 })?;
        }
    }
    Ok(files)
}
