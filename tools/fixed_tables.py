#!/usr/bin/env python3
"""Write core/src/fixed/tables.rs: the tables and thresholds behind picogan::fixed's tanh,
sigmoid, softplus, exp and ln.

    python3 tools/fixed_tables.py            # writes core/src/fixed/tables.rs
    python3 tools/fixed_tables.py OUT.rs     # writes OUT.rs instead

Standard library only. Every value is computed in decimal arithmetic at 60 significant
digits and rounded once, half to even, so the output does not depend on the platform's
libm. The largest interpolation error of each piecewise cubic, evaluated the way the Rust
code evaluates it (integer Horner steps, each shifted right with rounding down), is printed
to stderr; the Rust tests measure the functions themselves.

What is written:

- TANH_HALF: tanh(v/2) for v in [0, 12.5), 50 cubic pieces of width 1/4. sigmoid(x) is
  (1 + tanh(x/2)) / 2 and tanh(x) is tanh(2x/2), so one table serves both; v reaches 12.5
  because tanh is within half an LSB of 1 only from x = 6.24 on (v = 12.48).
- LN_1P: ln(1 + t) for t in [0, 1), 16 cubic pieces of width 1/16: the mantissa's log in
  ln, and ln(1 + tanh(u/2)) in softplus.
- EXP_FRAC: e^(a/64) for a in 0..45, the table step of e^r for r in [0, ln 2).
- ln 2 in the formats the functions need, and the raw inputs at which each function
  comes within half an LSB of its asymptote (or leaves Q16's range).

Each piece is the cubic through the function at tau = 0, 1/4, 3/4 and 1 of the piece (the
Chebyshev-Lobatto points for degree 3), so neighbouring pieces meet at their common end
and the first piece of each table starts at the function's exact value at 0. The cubic is
held as Q30 coefficients of c0 + c1*tau + c2*tau^2 + c3*tau^3, tau in [0, 1).
"""

import math
import sys
from decimal import Decimal, getcontext, ROUND_CEILING, ROUND_FLOOR
from fractions import Fraction
from pathlib import Path

getcontext().prec = 60

Q30 = 1 << 30
LSB = Fraction(1, 1 << 16)
HALF_LSB = Fraction(1, 1 << 17)

# tau at which each cubic interpolates its piece
NODES = [Fraction(0), Fraction(1, 4), Fraction(3, 4), Fraction(1)]


def dec(q):
    """A Fraction as a Decimal at the context's precision."""
    return Decimal(q.numerator) / Decimal(q.denominator)


def frac(d):
    """A Decimal as an exact Fraction."""
    return Fraction(d)


def tanh_half(v):
    """tanh(v/2) = (e^v - 1) / (e^v + 1), v a Fraction."""
    e = dec(v).exp()
    return frac((e - 1) / (e + 1))


def ln_1p(t):
    return frac((1 + dec(t)).ln())


def cubic_through(ys):
    """Monomial coefficients of the cubic through (NODES[i], ys[i]), exact."""
    n = len(NODES)
    rows = [[x**j for j in range(n)] + [y] for x, y in zip(NODES, ys)]
    for c in range(n):
        p = next(r for r in range(c, n) if rows[r][c] != 0)
        rows[c], rows[p] = rows[p], rows[c]
        for r in range(n):
            if r != c and rows[r][c] != 0:
                f = rows[r][c] / rows[c][c]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[c])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def pieces(f, start, width, count):
    """Q30 coefficients of the cubics through f on [start + i*width, start + (i+1)*width)."""
    table = []
    for i in range(count):
        x0 = start + i * width
        ys = [f(x0 + width * t) for t in NODES]
        table.append([round(c * Q30) for c in cubic_through(ys)])
    return table


def horner(c, t, bits):
    """The Rust evaluation: Horner in integers, each product shifted right (rounding
    down), tau = t / 2^bits; the result in Q30."""
    acc = c[3]
    for k in (2, 1, 0):
        acc = c[k] + ((acc * t) >> bits)
    return acc


def worst_error(table, bits, f, start, width, stride):
    """Largest |cubic - f| in units of 2^-30 over tau = t / 2^bits, every stride-th t, and
    the last t of each piece."""
    worst = 0.0
    last = (1 << bits) - 1
    for i, c in enumerate(table):
        for t in list(range(0, 1 << bits, stride)) + [last]:
            x = start + (i + t / (1 << bits)) * width
            worst = max(worst, abs(horner(c, t, bits) - f(x) * Q30))
    return worst


def raw_ceil(x):
    """The smallest raw Q16 value at or above the Decimal x."""
    return int((x * 65536).to_integral_value(rounding=ROUND_CEILING))


def raw_floor(x):
    return int((x * 65536).to_integral_value(rounding=ROUND_FLOOR))


def rows(table, label):
    """One row per piece, the trailing comments aligned as rustfmt aligns them."""
    items = [f"    [{c[0]}, {c[1]}, {c[2]}, {c[3]}]," for c in table]
    width = max(len(item) for item in items)
    return "".join(f"{item.ljust(width)} // {label(i)}\n" for i, item in enumerate(items))


def main():
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "core/src/fixed/tables.rs"

    # the pieces
    tanh_half_table = pieces(tanh_half, Fraction(0), Fraction(1, 4), 50)
    ln_1p_table = pieces(ln_1p, Fraction(0), Fraction(1, 16), 16)
    exp_frac = [round(frac(dec(Fraction(a, 64)).exp()) * (1 << 31)) for a in range(45)]
    assert all((1 << 31) <= m < (1 << 32) for m in exp_frac)

    # ln 2 in each format used
    ln2 = frac(Decimal(2).ln())
    ln2_q30 = round(ln2 * (1 << 30))
    ln2_q40 = round(ln2 * (1 << 40))
    ln2_q48 = round(ln2 * (1 << 48))
    inv_ln2_q16 = round((1 << 16) / ln2)
    # e^(a/64) for a = 0..44 covers r in [0, 45/64), which holds [0, ln 2)
    assert 44 < ln2 * 64 < 45

    # thresholds: where the exact value comes within half an LSB of the asymptote
    d = Decimal
    # tanh(x) >= 1 - 2^-17  <=>  x >= ln(2^18 - 1) / 2
    tanh_one = raw_ceil((d(2**18) - 1).ln() / 2)
    # sigmoid(x) >= 1 - 2^-17  <=>  x >= ln(2^17 - 1)
    sigmoid_one = raw_ceil((d(2**17) - 1).ln())
    # ln(1 + e^-u) <= 2^-17  <=>  u >= -ln(e^(2^-17) - 1)
    softplus_zero = raw_ceil(-((d(1) / d(2**17)).exp() - 1).ln())
    # e^x * 2^16 >= 2^31 - 1/2 rounds past MAX  <=>  x >= ln(2^15 - 2^-17)
    exp_max = raw_ceil((d(2**15) - d(1) / d(2**17)).ln())
    # e^x <= 2^-17 rounds to 0  <=>  x <= -17 ln 2
    exp_zero = raw_floor(-17 * Decimal(2).ln())
    # each piecewise table covers the inputs that reach it
    assert 2 * (tanh_one - 1) < 50 << 14
    assert sigmoid_one < 50 << 14 and softplus_zero < 50 << 14

    # the cubics' own error, as the Rust code evaluates them
    e_tanh = worst_error(
        tanh_half_table, 14, lambda v: math.tanh(v / 2), 0.0, 0.25, 7
    )
    e_ln = worst_error(ln_1p_table, 22, math.log1p, 0.0, 1 / 16, 1 << 5)
    print(f"TANH_HALF: largest error {e_tanh:.1f} x 2^-30 ({e_tanh / Q30:.2e})", file=sys.stderr)
    print(f"LN_1P:     largest error {e_ln:.1f} x 2^-30 ({e_ln / Q30:.2e})", file=sys.stderr)

    size = 16 * len(tanh_half_table) + 16 * len(ln_1p_table) + 4 * len(exp_frac)
    text = f"""//! Tables and thresholds of the elementary functions in [`super`].
//!
//! Generated by `python3 tools/fixed_tables.py`, which writes this file; edit the script,
//! not this file. {size} bytes of tables in all.
//!
//! Each piecewise cubic holds, per piece, Q30 coefficients `[c0, c1, c2, c3]` of
//! `c0 + c1·τ + c2·τ² + c3·τ³` for `τ` in `[0, 1)` across the piece: the cubic through the
//! function at `τ = 0, 1/4, 3/4, 1`.

/// `tanh(v/2)` for `v` in `[0, 12.5)`, pieces of width 1/4, so piece `v_raw >> 14` with
/// `τ = (v_raw & 0x3fff) / 2¹⁴` for `v` in Q16. Largest error of the cubics as evaluated:
/// {e_tanh:.0f}·2⁻³⁰ ({e_tanh / Q30:.1e}).
pub(super) const TANH_HALF: [[i32; 4]; 50] = [
{rows(tanh_half_table, lambda i: f"v in [{i / 4}, {(i + 1) / 4})")}];

/// `ln(1 + t)` for `t` in `[0, 1)`, pieces of width 1/16, so piece `t_raw >> 22` with
/// `τ = (t_raw & 0x3f_ffff) / 2²²` for `t` in Q26. Largest error of the cubics as
/// evaluated: {e_ln:.0f}·2⁻³⁰ ({e_ln / Q30:.1e}).
pub(super) const LN_1P: [[i32; 4]; 16] = [
{rows(ln_1p_table, lambda i: f"t in [{i}/16, {i + 1}/16)")}];

/// `e^(a/64)` in Q31 for `a` in `0..45`, each in `[2³¹, 2³²)`.
pub(super) const EXP_FRAC: [u32; 45] = [
{"".join(f"    {m}, // a = {a}{chr(10)}" for a, m in enumerate(exp_frac))}];

/// ln 2 in Q30.
pub(super) const LN2_Q30: i32 = {ln2_q30};
/// ln 2 in Q40.
pub(super) const LN2_Q40: i64 = {ln2_q40};
/// ln 2 in Q48.
pub(super) const LN2_Q48: i64 = {ln2_q48};
/// 1 / ln 2 in Q16.
pub(super) const INV_LN2_Q16: i64 = {inv_ln2_q16};

/// The smallest raw `x` with `tanh(x) ≥ 1 − 2⁻¹⁷`: `⌈ln(2¹⁸ − 1)/2 · 2¹⁶⌉`.
pub(super) const TANH_ONE: i32 = {tanh_one};
/// The smallest raw `x` with `σ(x) ≥ 1 − 2⁻¹⁷`: `⌈ln(2¹⁷ − 1) · 2¹⁶⌉`.
pub(super) const SIGMOID_ONE: i32 = {sigmoid_one};
/// The smallest raw `u` with `ln(1 + e^−u) ≤ 2⁻¹⁷`: `⌈−ln(e^(2⁻¹⁷) − 1) · 2¹⁶⌉`.
pub(super) const SOFTPLUS_ZERO: i32 = {softplus_zero};
/// The smallest raw `x` with `e^x ≥ 2¹⁵ − 2⁻¹⁷`, whose nearest Q16 is past `MAX`:
/// `⌈ln(2¹⁵ − 2⁻¹⁷) · 2¹⁶⌉`.
pub(super) const EXP_MAX: i32 = {exp_max};
/// The largest raw `x` with `e^x ≤ 2⁻¹⁷`, whose nearest Q16 is 0: `⌊−17·ln 2 · 2¹⁶⌋`.
pub(super) const EXP_ZERO: i32 = {exp_zero};
"""
    out.write_text(text)
    print(f"wrote {out} ({size} bytes of tables)", file=sys.stderr)


if __name__ == "__main__":
    main()
