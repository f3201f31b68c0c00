//! `edgio-ingress run | plan | version`.

use std::process::ExitCode;

use clap::Parser;
use edgio_ingress::app;
use edgio_ingress::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("edgio-ingress {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Run(args) => app::run(args).await,
        Command::Plan(args) => app::plan(args).await.map(|plan| print!("{plan}")),
        Command::Version => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, reason = e.reason(), "edgio-ingress failed");
            ExitCode::from(e.exit_code())
        }
    }
}
