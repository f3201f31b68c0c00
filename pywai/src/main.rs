//! pywai: the demo's header-echo workload. See README.md for the CLI, the JSON shape and the
//! access-log fields.

mod config;
mod echo;
mod handler;
mod log;
mod server;
mod tap;

use std::process::ExitCode;

use clap::Parser as _;

use config::{Cli, Command, Config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Validate(args)) => validate(&args),
        None => serve(&cli.args),
    }
}

fn validate(args: &config::ServerArgs) -> ExitCode {
    match Config::from_args(args).and_then(|cfg| cfg.probe_bind().map(|()| cfg)) {
        Ok(cfg) => {
            let listen: Vec<String> = cfg.listen.iter().map(ToString::to_string).collect();
            println!(
                "configuration OK: listen {}, access log {}, max body {} bytes, max header size {} \
                 bytes, max connections {}, header read timeout {:?}, body read timeout {:?}, \
                 shutdown timeout {:?}, {} worker threads",
                listen.join(","),
                if cfg.access_log { "json" } else { "off" },
                cfg.max_body,
                cfg.max_header_size,
                cfg.max_connections,
                cfg.header_read_timeout,
                cfg.body_read_timeout,
                cfg.shutdown_timeout,
                cfg.threads,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pywai: invalid configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &config::ServerArgs) -> ExitCode {
    let cfg = match Config::from_args(args) {
        Ok(cfg) => cfg,
        Err(e) => {
            log::event(
                log::Level::Error,
                "invalid configuration",
                &[("error", e.to_string().into())],
            );
            return ExitCode::FAILURE;
        }
    };
    match server::run(cfg) {
        Ok(()) => {
            // Workers still stuck past the shutdown deadline must not keep the process alive.
            std::process::exit(0)
        }
        Err(e) => {
            log::event(
                log::Level::Error,
                "cannot start",
                &[("error", e.to_string().into())],
            );
            ExitCode::FAILURE
        }
    }
}
