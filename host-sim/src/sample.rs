//! `picogan sample`: draws samples from a trained Generator.

use crate::train::{as_points, generate};
use crate::weights::{self, ModelInfo};
use crate::{plot, same_file, write_points_csv};
use anyhow::{ensure, Context, Result};
use picogan::safetensors::{File, LoadOptions};
use picogan::Layer;
use std::path::{Path, PathBuf};

/// What `picogan sample` wrote.
pub struct Written {
    /// Files, pictures first.
    pub files: Vec<PathBuf>,
    /// The samples, `[n][X]` flat.
    pub samples: Vec<f32>,
}

/// Loads the Generator in `weights_path` (a Generator file or a checkpoint), draws `n`
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
fn draw<G: Layer>(
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
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let png = out.with_extension("png");
    let mut files = vec![png.clone()];
    match info.dataset.as_str() {
        "ring8" | "grid25" => {
            let points = as_points(&samples);
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
                images: &samples,
            }];
            plot::image_panels(&png, &panels, side, side, if side == 8 { 4 } else { 2 })?;
        }
    }
    Ok(Written { files, samples })
}
