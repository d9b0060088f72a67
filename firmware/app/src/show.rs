//! Images as shaded text, for a log that has no pictures.

/// Shades from background to ink, for pixel values in `[-1, 1]` (a Tanh output, and the
/// scale of the training digits: -1 blank paper, 1 full ink).
const RAMP: &[u8; 10] = b" .:-=+*#%@";

/// Most images one line shows: eight 8×8 digits.
pub const MOST_PER_LINE: usize = 8;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_span_the_ramp() {
        // (pixel, shade): the ends, the middle, out of range and NaN
        let table = [
            (-1.0, b' '),
            (-0.75, b'.'),
            (0.0, b'+'),
            (0.95, b'@'),
            (1.0, b'@'),
            (3.0, b'@'),
            (-3.0, b' '),
            (f32::NAN, b' '),
        ];
        for (v, want) in table {
            assert_eq!(shade(v), want, "shade({v})");
        }
    }

    #[test]
    fn rows_put_images_side_by_side() {
        let a = [-1.0, 1.0, 1.0, -1.0];
        let b = [0.0, 0.0, 1.0, 1.0];
        let mut line = [0; LINE];
        assert_eq!(row(&[&a, &b], 2, 0, &mut line), "  @@  ++++");
        assert_eq!(row(&[&a, &b], 2, 1, &mut line), "@@    @@@@");
        // a row past the images' end is blank, and a line never outgrows LINE
        assert_eq!(row(&[&a], 2, 5, &mut line), "");
        let wide = [1.0; 100];
        assert_eq!(row(&[&wide], 100, 0, &mut line).len(), LINE);
    }
}
