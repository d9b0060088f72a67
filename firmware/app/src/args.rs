//! Command-line options of the programs, where the board has a command line (QEMU's
//! semihosting passes the runner's arguments; a real board has none and uses defaults).

/// Options `--n N` and `--seed S`, each optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Number of samples to draw.
    pub n: Option<u32>,
    /// Seed of the run.
    pub seed: Option<u64>,
}

/// What was wrong with the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum ArgsError<'a> {
    /// An option this program does not know.
    Unknown(&'a str),
    /// An option without its value.
    MissingValue(&'a str),
    /// A value that is not a number in range; holds the option.
    BadValue(&'a str),
}

impl Args {
    /// Parses `--n N` and `--seed S` from `words` (the program name already removed).
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self, ArgsError<'a>> {
        let mut args = Args::default();
        let mut words = words.into_iter().filter(|w| !w.is_empty());
        while let Some(opt) = words.next() {
            let value = match opt {
                "--n" | "--seed" => words.next().ok_or(ArgsError::MissingValue(opt))?,
                _ => return Err(ArgsError::Unknown(opt)),
            };
            match opt {
                "--n" => args.n = Some(value.parse().map_err(|_| ArgsError::BadValue(opt))?),
                _ => args.seed = Some(value.parse().map_err(|_| ArgsError::BadValue(opt))?),
            }
        }
        Ok(args)
    }
}
