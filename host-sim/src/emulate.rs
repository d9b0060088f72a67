//! `picogan emulate`: builds a firmware program and runs it on an emulated board, QEMU's
//! `mps2-an386` (Cortex-M4F) or `microbit` (Cortex-M0), for users without a board;
//! `--report` measures the programs on both.
//!
//! The firmware is built with cargo in the board's workspace (`firmware/` for the
//! mps2-an386, `firmware/microbit/`) and run through the cargo runner of both,
//! `firmware/tools/qemu-run`, which starts QEMU with `-icount shift=0` and decodes the
//! defmt log with `defmt-print`. The programs' exit status is QEMU's.

use crate::resources::{self, Sections};
use crate::train::Arch;
use anyhow::{bail, ensure, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A firmware program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Program {
    /// Draws samples from the f32 Generator embedded in flash (`PICOGAN_MODEL`).
    Sample,
    /// Draws samples from the int8 Generator embedded in flash (`PICOGAN_INT8_MODEL`).
    SampleInt8,
    /// Trains a GAN on ring8 from scratch in f32 and scores it with the PacGAN protocol.
    Train,
    /// The same in Q16.16 fixed point, integers only in its inner loops.
    #[value(name = "train-q16")]
    TrainQ16,
    /// Checks that the work counter counts executed instructions, on a loop of known length.
    Calibrate,
}

impl Program {
    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Program::Sample => "sample",
            Program::SampleInt8 => "sample-int8",
            Program::Train => "train",
            Program::TrainQ16 => "train-q16",
            Program::Calibrate => "calibrate",
        }
    }
}

/// An emulated board: a QEMU machine and the firmware package built for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Board {
    /// QEMU's mps2-an386: a Cortex-M4 with single-precision FPU; the firmware takes 1 MiB
    /// of its flash and 256 KiB of its RAM, as an nRF52840 has.
    #[default]
    #[value(name = "mps2-an386")]
    Mps2An386,
    /// QEMU's microbit: an nRF51822, a Cortex-M0 without FPU (f32 in software), 256 KiB of
    /// flash and 16 KiB of RAM.
    Microbit,
}

impl Board {
    /// Every emulated board.
    pub const ALL: [Board; 2] = [Board::Mps2An386, Board::Microbit];

    /// QEMU's name for the machine, as `-machine` takes it.
    pub fn machine(self) -> &'static str {
        match self {
            Board::Mps2An386 => "mps2-an386",
            Board::Microbit => "microbit",
        }
    }

    /// The board's firmware package.
    pub fn package(self) -> &'static str {
        match self {
            Board::Mps2An386 => "picogan-qemu",
            Board::Microbit => "picogan-microbit",
        }
    }

    /// The package's workspace: the firmware's own, or one of its own beneath it.
    pub fn workspace(self, firmware: &Path) -> PathBuf {
        match self {
            Board::Mps2An386 => firmware.to_path_buf(),
            Board::Microbit => firmware.join("microbit"),
        }
    }

    /// The pair the board's `train` program trains, for `picogan train --device-config`.
    pub fn train_arch(self) -> Arch {
        match self {
            Board::Mps2An386 => Arch::Tiny,
            Board::Microbit => Arch::Micro,
        }
    }
}

/// The package of the nRF52840-DK's programs, a workspace of its own in this directory
/// under the firmware's.
pub const BOARD_PACKAGE: &str = "picogan-nrf52840-dk";
/// Directory of the nRF52840-DK's workspace, under the firmware's.
pub const BOARD_DIR: &str = "nrf52840-dk";

/// The firmware workspace: `given`, or `firmware/` beside this crate in the source tree.
pub fn firmware_dir(given: Option<&Path>) -> Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware"),
    };
    ensure!(
        dir.join("Cargo.toml").is_file() && dir.join("tools/qemu-run").is_file(),
        "no firmware workspace at {}; pass --firmware DIR (the firmware/ directory of a \
         picogan checkout)",
        dir.display()
    );
    Ok(dir.canonicalize()?)
}

/// Builds `bins` of `package` in release mode; returns each one's ELF path, in order.
pub fn build(firmware: &Path, package: &str, bins: &[&str]) -> Result<Vec<PathBuf>> {
    let mut cmd = Command::new("cargo");
    // the firmware's compiler flags come from its own configuration; flags meant for the
    // desktop (say, -C target-cpu=native) would break a Cortex-M build
    cmd.env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .current_dir(firmware)
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package]);
    // a weights file named relative to where `picogan` runs, not to the firmware directory
    for var in ["PICOGAN_MODEL", "PICOGAN_INT8_MODEL"] {
        if let Some(model) = std::env::var_os(var).map(PathBuf::from) {
            if model.is_relative() {
                cmd.env(var, std::path::absolute(&model)?);
            }
        }
    }
    for b in bins {
        cmd.args(["--bin", b]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    ensure!(
        out.status.success(),
        "building the firmware ({package}) failed"
    );

    // the JSON messages name each binary's executable
    let mut elves = vec![None; bins.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str())
        else {
            continue;
        };
        if let Some(i) = bins.iter().position(|b| *b == name) {
            elves[i] = Some(PathBuf::from(exe));
        }
    }
    elves
        .into_iter()
        .zip(bins)
        .map(|(e, b)| e.with_context(|| format!("cargo built no `{b}` executable")))
        .collect()
}

/// A finished run of a firmware program on QEMU.
#[derive(Clone, Debug)]
pub struct Run {
    /// The firmware's exit status.
    pub status: i32,
    /// The decoded log, one line per entry.
    pub log: Vec<String>,
    /// Wall-clock time of the run, seconds (QEMU's speed; not a measure of the firmware).
    pub seconds: f64,
}

impl Run {
    /// The value of the log's `measured NAME VALUE UNIT` line.
    pub fn measured(&self, name: &str) -> Option<u64> {
        self.log.iter().find_map(|l| {
            let rest = l.split("measured ").nth(1)?;
            let mut words = rest.split_whitespace();
            (words.next()? == name).then_some(())?;
            words.next()?.parse().ok()
        })
    }

    /// The text after `marker` on the first log line containing it.
    pub fn after(&self, marker: &str) -> Option<&str> {
        self.log
            .iter()
            .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim()))
    }

    /// The hexadecimal `0x…` checksum that follows `marker` in the log.
    pub fn checksum_after(&self, marker: &str) -> Option<u32> {
        let rest = self.after(marker)?;
        let hex = rest.strip_prefix("0x")?;
        let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        u32::from_str_radix(&digits, 16).ok()
    }
}

/// Runs the firmware ELF on `board` with `args` as its command line; with `echo`, shows
/// the log as it arrives.
pub fn run(firmware: &Path, board: Board, elf: &Path, args: &[String], echo: bool) -> Result<Run> {
    let started = Instant::now();
    let mut child = Command::new(firmware.join("tools/qemu-run"))
        .arg(board.machine())
        .arg(elf)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run firmware/tools/qemu-run")?;
    let mut log = Vec::new();
    if let Some(out) = child.stdout.take() {
        let stdout = std::io::stdout();
        for line in BufReader::new(out).lines() {
            let line = line.context("reading the firmware log")?;
            if echo {
                let mut s = stdout.lock();
                writeln!(s, "{line}")?;
                s.flush()?;
            }
            log.push(line);
        }
    }
    let status = child.wait()?;
    Ok(Run {
        status: status.code().unwrap_or(1),
        log,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Builds `program` for `board` and runs it there.
pub fn build_and_run(
    firmware: &Path,
    board: Board,
    program: Program,
    args: &[String],
    echo: bool,
) -> Result<Run> {
    let elf = build(
        &board.workspace(firmware),
        board.package(),
        &[program.name()],
    )?;
    run(firmware, board, &elf[0], args, echo)
}

/// One program's figures for the report.
struct Measured {
    label: String,
    sections: Sections,
    run: Option<Run>,
}

/// Builds and runs the programs (`sample`, `sample-int8`, `train` and `train-q16`) on both
/// emulated boards, builds them for the nRF52840-DK, and returns the resources table and
/// the table of what fits which parts, in Markdown.
pub fn report(firmware: &Path) -> Result<String> {
    let programs = [
        Program::Sample,
        Program::SampleInt8,
        Program::Train,
        Program::TrainQ16,
    ];
    let names = programs.map(Program::name);
    let mut rows = Vec::new();
    for board in Board::ALL {
        let elves = build(&board.workspace(firmware), board.package(), &names)?;
        for (program, elf) in programs.into_iter().zip(&elves) {
            let (name, machine) = (program.name(), board.machine());
            eprintln!("running {name} on QEMU {machine}…");
            let r = run(firmware, board, elf, &[], false)?;
            if r.status != 0 {
                bail!(
                    "{name} exited with status {} on QEMU {machine}; its log:\n{}",
                    r.status,
                    r.log.join("\n")
                );
            }
            rows.push(Measured {
                label: format!("`{name}`, QEMU {machine}"),
                sections: resources::sections(elf)?,
                run: Some(r),
            });
        }
    }
    let board = build(&firmware.join(BOARD_DIR), BOARD_PACKAGE, &names)?;
    for (name, elf) in names.into_iter().zip(&board) {
        rows.push(Measured {
            label: format!("`{name}`, nRF52840-DK"),
            sections: resources::sections(elf)?,
            run: None,
        });
    }
    Ok(format!(
        "{}\n{}",
        resources_table(&rows),
        resources::fit_table()
    ))
}

fn resources_table(rows: &[Measured]) -> String {
    let mut t = String::from(
        "| program | flash | static RAM | peak stack | work (QEMU `-icount shift=0`) | QEMU run |\n\
         |---|---:|---:|---:|---|---:|\n",
    );
    for m in rows {
        let s = &m.sections;
        let (stack, work, wall) = match &m.run {
            Some(r) => {
                let stack = r
                    .measured("stack_peak")
                    .map_or("?".into(), |b| format!("{b} B"));
                let work = match (r.measured("per_sample"), r.measured("per_step")) {
                    (Some(n), _) => format!("{} instructions per sample", group(n)),
                    (_, Some(n)) => format!("{} instructions per training step", group(n)),
                    _ => "?".into(),
                };
                (stack, work, format!("{:.1} s", r.seconds))
            }
            None => ("not run".into(), "—".into(), "—".into()),
        };
        t.push_str(&format!(
            "| {} | {} B | {} B | {stack} | {work} | {wall} |\n",
            m.label,
            group(s.flash),
            group(s.ram)
        ));
    }
    t
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(log: &[&str]) -> Run {
        Run {
            status: 0,
            log: log.iter().map(|s| s.to_string()).collect(),
            seconds: 0.0,
        }
    }

    #[test]
    fn log_lines_are_read_back() {
        let r = run_with(&[
            "INFO  samples: 8 × 64 values, crc32 0x0badcafe",
            "INFO  measured per_sample 41240 instructions",
            "INFO  measured stack_peak 2312 B",
        ]);
        assert_eq!(r.measured("per_sample"), Some(41_240));
        assert_eq!(r.measured("stack_peak"), Some(2_312));
        assert_eq!(r.measured("per_step"), None);
        assert_eq!(r.checksum_after("crc32 "), Some(0x0bad_cafe));
        assert_eq!(r.after("samples:"), Some("8 × 64 values, crc32 0x0badcafe"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(21_345_678), "21,345,678");
    }
}
