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
    /// A value that is not a number in range (`--n` takes 1 or more); holds the option.
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
                "--n" => {
                    let n = value.parse().ok().filter(|&n| n >= 1);
                    args.n = Some(n.ok_or(ArgsError::BadValue(opt))?);
                }
                _ => args.seed = Some(value.parse().map_err(|_| ArgsError::BadValue(opt))?),
            }
        }
        Ok(args)
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
                seed: Some(7)
            }
        );
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
            Args::parse(["--seed", "18446744073709551616"]),
            Err(ArgsError::BadValue("--seed"))
        );
    }
}
