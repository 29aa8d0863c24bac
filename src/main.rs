//! The `odata-feed` binary: parses the command line, sets up logging, runs the command and
//! turns any failure into one `error: ...` line and a non-zero exit status.

use clap::Parser;
use odata_feed::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    odata_feed::telemetry::init(cli.log_format);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let line = format!("{error:#}").replace('\n', "; ");
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
