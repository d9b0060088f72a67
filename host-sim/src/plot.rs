//! PNG pictures: grids of images, training curves and 2-D scatter plots.

use anyhow::{anyhow, ensure, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans Mono (see `assets/DejaVu-LICENSE`), built in so that text renders the same
/// on every machine without a font look-up.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; a failure here leaves text blank.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Largest magnitude plotted. Beyond it the axes' arithmetic overflows f32 (plotters then
/// never finishes placing its ticks), and no training curve or sample worth reading lies
/// there; such values are left out.
const PLOT_LIMIT: f32 = 1e30;

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// A panel of images for [`image_panels`].
pub struct Panel<'a> {
    /// Caption drawn above the panel.
    pub caption: &'a str,
    /// Images, `[n][rows·cols]`, values in [-1, 1].
    pub images: &'a [f32],
}

/// Draws panels of `rows`×`cols` grayscale images side by side, each panel a square-ish
/// grid, every pixel a `scale`×`scale` block.
pub fn image_panels(
    path: &Path,
    panels: &[Panel<'_>],
    rows: usize,
    cols: usize,
    scale: usize,
) -> Result<()> {
    register_font();
    ensure!(
        rows > 0 && cols > 0 && scale > 0,
        "images of {rows}×{cols} pixels at scale {scale}"
    );
    let dim = rows * cols;
    let per_panel = panels
        .iter()
        .map(|p| p.images.len() / dim)
        .max()
        .unwrap_or(0);
    let grid = (per_panel as f64).sqrt().ceil().max(1.0) as usize;
    let cell = cols * scale + 2;
    let (pw, ph) = (grid * cell, per_panel.div_ceil(grid) * (rows * scale + 2));
    let (gap, top) = (16, 28);
    let width = panels.len() * (pw + gap) + gap;
    let height = ph + top + gap;
    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    for (k, panel) in panels.iter().enumerate() {
        let x0 = gap + k * (pw + gap);
        root.draw(&Text::new(
            panel.caption,
            (x0 as i32, 6),
            (FAMILY, 16).into_font(),
        ))
        .map_err(err)?;
        for (i, img) in panel.images.chunks_exact(dim).enumerate() {
            let (gx, gy) = (
                x0 + (i % grid) * cell,
                top + (i / grid) * (rows * scale + 2),
            );
            for (p, &v) in img.iter().enumerate() {
                // -1 is white paper, +1 black ink, as the digits were written
                let shade = (255.0 * (1.0 - (v.clamp(-1.0, 1.0) + 1.0) / 2.0)).round() as u8;
                let (px, py) = (gx + (p % cols) * scale, gy + (p / cols) * scale);
                root.draw(&Rectangle::new(
                    [
                        (px as i32, py as i32),
                        ((px + scale) as i32, (py + scale) as i32),
                    ],
                    RGBColor(shade, shade, shade).filled(),
                ))
                .map_err(err)?;
            }
        }
    }
    root.present().map_err(err)
}

/// One named series of a curve plot.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// y values, one per x.
    pub ys: &'a [f32],
}

/// Draws curves over a shared x axis in a chart of its own, one chart per group, stacked.
pub fn curves(
    path: &Path,
    xs: &[f32],
    x_label: &str,
    groups: &[(&str, Vec<Series<'_>>)],
) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (900, 360 * groups.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((groups.len(), 1));
    let x_max = xs.last().copied().unwrap_or(1.0).max(1.0);
    for (area, (title, series)) in areas.iter().zip(groups) {
        let finite = series
            .iter()
            .flat_map(|s| s.ys.iter().copied())
            .filter(|v| v.abs() <= PLOT_LIMIT);
        let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        let (lo, hi) = if lo < hi {
            (lo, hi)
        } else {
            (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0)
        };
        let pad = 0.05 * (hi - lo);
        let mut chart = ChartBuilder::on(area)
            .caption(*title, (FAMILY, 18))
            .margin(10)
            .margin_right(30) // room for the last step number under the axis end
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f32..x_max, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FAMILY, 13))
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    xs.iter()
                        .copied()
                        .zip(s.ys.iter().copied())
                        .filter(|(_, y)| y.abs() <= PLOT_LIMIT),
                    color,
                ))
                .map_err(err)?
                .label(s.label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// Scatter plot of generated points over real ones, with the mixture's means marked.
pub fn scatter(
    path: &Path,
    title: &str,
    real: &[[f32; 2]],
    fake: &[[f32; 2]],
    means: &[[f32; 2]],
) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    // The axes cover the data, and generated points up to a hundred times further out;
    // points beyond that are left out of the picture (the CSV keeps them).
    let extent = |pts: &mut dyn Iterator<Item = &[f32; 2]>| {
        pts.fold(0.0f32, |m, p| m.max(p[0].abs()).max(p[1].abs()))
    };
    let data_r = extent(&mut real.iter().chain(means)).max(1e-3);
    let within = |p: &&[f32; 2]| p[0].abs() <= 100.0 * data_r && p[1].abs() <= 100.0 * data_r;
    let fake: Vec<[f32; 2]> = fake.iter().filter(within).copied().collect();
    // a margin of half the data's extent leaves the upper-left corner free for the legend
    let r = data_r.max(extent(&mut fake.iter())) * 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-r..r, -r..r)
        .map_err(err)?;
    chart
        .configure_mesh()
        .label_style((FAMILY, 13))
        .draw()
        .map_err(err)?;
    let dots = |pts: &[[f32; 2]], color: RGBAColor| {
        pts.iter()
            .map(move |p| Circle::new((p[0], p[1]), 2, color.filled()))
            .collect::<Vec<_>>()
    };
    // generated points first, so that the sparser real ones stay visible on top
    chart
        .draw_series(dots(&fake, RED.mix(0.4)))
        .map_err(err)?
        .label("generated")
        .legend(|(x, y)| Circle::new((x, y), 4, RED.filled()));
    if !real.is_empty() {
        chart
            .draw_series(dots(real, BLUE.mix(0.4)))
            .map_err(err)?
            .label("real")
            .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()));
    }
    chart
        .draw_series(
            means
                .iter()
                .map(|m| Cross::new((m[0], m[1]), 6, BLACK.stroke_width(2))),
        )
        .map_err(err)?
        .label("mode means")
        .legend(|(x, y)| Cross::new((x, y), 5, BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
