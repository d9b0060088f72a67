//! Images as shaded text, for a log that has no pictures.

/// Shades from background to ink, for pixel values in `[-1, 1]` (a Tanh output, and the
/// scale of the training digits: -1 blank paper, 1 full ink).
const RAMP: &[u8; 10] = b" .:-=+*#%@";

/// Longest line [`row`] writes: eight 8×8 images, or one 28×28 image, with room to spare.
pub const LINE: usize = 160;

/// The shade of one pixel: `[-1, 1]` cut into ten equal steps; values outside the range
/// (and NaN) take the nearest end.
pub fn shade(v: f32) -> u8 {
    let t = (v + 1.0) * 5.0; // [-1, 1] → [0, 10]
    let i = if t >= 9.0 {
        9
    } else if t > 0.0 {
        t as usize
    } else {
        0
    };
    RAMP[i]
}

/// Row `r` of each `side`×`side` image in `images` (row-major), side by side, two
/// characters per pixel so that the pixels look square, two spaces between images.
/// Whatever does not fit in `LINE` characters is cut off.
pub fn row<'a>(images: &[&[f32]], side: usize, r: usize, line: &'a mut [u8; LINE]) -> &'a str {
    let mut len = 0;
    for (k, img) in images.iter().enumerate() {
        if k > 0 {
            len = push(line, len, b' ', 2);
        }
        let pixels = img.get(r * side..(r + 1) * side).unwrap_or(&[]);
        for &v in pixels {
            len = push(line, len, shade(v), 2);
        }
    }
    // only bytes from RAMP and spaces were written: always ASCII
    core::str::from_utf8(&line[..len]).unwrap_or("")
}

/// Writes `c` `times` times at `at` if there is room; returns the new length.
fn push(line: &mut [u8; LINE], at: usize, c: u8, times: usize) -> usize {
    let end = (at + times).min(LINE);
    line[at..end].fill(c);
    end
}
