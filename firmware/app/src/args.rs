//! Command-line options of the programs, where the board has a command line (QEMU's
//! semihosting passes the runner's arguments; a real board has none and uses defaults).

/// Options `--n N`, `--seed S` and `--steps N`, each optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Number of samples to draw (`sample`).
    pub n: Option<u32>,
    /// Seed of the run.
    pub seed: Option<u64>,
    /// Training steps, to shorten or lengthen the recipe's run (`train`).
    pub steps: Option<u32>,
}

/// What was wrong with the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum ArgsError<'a> {
    /// An option this program does not know.
    Unknown(&'a str),
    /// An option without its value.
    MissingValue(&'a str),
    /// A value that is not a number in range (`--n` and `--steps` take 1 or more); holds
    /// the option.
    BadValue(&'a str),
}

impl Args {
    /// Parses `--n N`, `--seed S` and `--steps N` from `words` (the program name already
    /// removed).
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self, ArgsError<'a>> {
        let mut args = Args::default();
        let mut words = words.into_iter().filter(|w| !w.is_empty());
        while let Some(opt) = words.next() {
            let value = match opt {
                "--n" | "--seed" | "--steps" => words.next().ok_or(ArgsError::MissingValue(opt))?,
                _ => return Err(ArgsError::Unknown(opt)),
            };
            let count = || {
                let n = value.parse().ok().filter(|&n| n >= 1);
                n.ok_or(ArgsError::BadValue(opt))
            };
            match opt {
                "--n" => args.n = Some(count()?),
                "--steps" => args.steps = Some(count()?),
                _ => args.seed = Some(value.parse().map_err(|_| ArgsError::BadValue(opt))?),
            }
        }
        Ok(args)
    }
}

impl ArgsError<'_> {
    /// Logs what was wrong and the options the programs take.
    pub fn log(&self) {
        let options = "options are --n N (1 or more), --seed S and --steps N (1 or more)";
        match *self {
            ArgsError::Unknown(o) => defmt::error!("unknown option {=str}; {=str}", o, options),
            ArgsError::MissingValue(o) => defmt::error!("{=str} needs a value; {=str}", o, options),
            ArgsError::BadValue(o) => defmt::error!("bad value for {=str}; {=str}", o, options),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_in_any_order() {
        let a = Args::parse(["--seed", "7", "--n", "16"]).unwrap();
        assert_eq!(
            a,
            Args {
                n: Some(16),
                seed: Some(7),
                steps: None
            }
        );
        assert_eq!(Args::parse(["--steps", "500"]).unwrap().steps, Some(500));
        // QEMU's command line may carry empty words between options
        assert_eq!(Args::parse(["", "--n", "", "3"]).unwrap().n, Some(3));
        assert_eq!(Args::parse([]), Ok(Args::default()));
    }

    #[test]
    fn bad_options_name_the_culprit() {
        assert_eq!(Args::parse(["--m", "1"]), Err(ArgsError::Unknown("--m")));
        assert_eq!(Args::parse(["--n"]), Err(ArgsError::MissingValue("--n")));
        assert_eq!(Args::parse(["--n", "-1"]), Err(ArgsError::BadValue("--n")));
        assert_eq!(Args::parse(["--n", "0"]), Err(ArgsError::BadValue("--n")));
        assert_eq!(
            Args::parse(["--steps", "0"]),
            Err(ArgsError::BadValue("--steps"))
        );
        assert_eq!(
            Args::parse(["--seed", "18446744073709551616"]),
            Err(ArgsError::BadValue("--seed"))
        );
    }
}
