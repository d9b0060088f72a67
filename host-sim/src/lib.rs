//! The host side of picogan: data sets, metrics, plots and the `picogan` command.
