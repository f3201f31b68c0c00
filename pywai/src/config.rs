//! Command line and environment: parsed by clap, then checked into a [`Config`]. Pure apart from
//! the optional bind probe used by `pywai validate`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const DEFAULT_PORT: u16 = 8080;

#[derive(Debug, Parser)]
#[command(
    name = "pywai",
    version,
    about = "Header-echo HTTP workload: answers every request with the headers, client address, \
             request line and HTTP version it received",
    long_about = "Header-echo HTTP workload: answers every request with the headers (in arrival \
order, names as sent), the client address, the request line and the HTTP version it received, as \
HTML <pre> blocks, or as JSON with `Accept: application/json` or `?format=json`. Every method \
echoes; HEAD gets headers only; a request body is read (up to --max-body) and its length \
reported. GET /healthz answers 200.

Logs: one JSON access-log line per request on stdout, JSON events and errors on stderr.
Stops on SIGTERM/SIGINT: stops accepting, lets in-flight requests finish within \
--shutdown-timeout, exits 0.",
    args_conflicts_with_subcommands = true,
    after_help = "Listen address precedence: --listen, then PORT (argument or env var), then \
0.0.0.0:8080.\nSizes take B, KiB, MiB suffixes (1MiB = 1048576); durations take ms or s \
(plain numbers are seconds)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub args: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration (same options as the server, including the listen address being
    /// bindable) and exit 0, or explain what is wrong and exit 1.
    Validate(ServerArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessLog {
    /// No access log.
    Off,
    /// One JSON object per request on stdout.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// TCP port to listen on, on all IPv4 interfaces (as the original `server.py [<port>]`).
    #[arg(env = "PORT", value_name = "PORT")]
    pub port: Option<u16>,

    /// Address to listen on, IPv4 (`0.0.0.0:8000`) or IPv6 (`[::]:8000`, which also accepts
    /// IPv4 on Linux by default). Repeat or comma-separate for several. Port 0 picks a free port
    /// (the chosen one is logged).
    #[arg(
        long,
        env = "PYWAI_LISTEN",
        value_name = "ADDR:PORT",
        value_delimiter = ','
    )]
    pub listen: Vec<String>,

    /// Access log on stdout.
    #[arg(long, env = "PYWAI_ACCESS_LOG", value_enum, default_value = "json")]
    pub access_log: AccessLog,

    /// Largest request body accepted; larger bodies get 413. The body is counted, not stored.
    #[arg(
        long,
        env = "PYWAI_MAX_BODY",
        value_name = "SIZE",
        default_value = "1MiB"
    )]
    pub max_body: String,

    /// Largest request head (request line + headers); larger heads get 431.
    #[arg(
        long,
        env = "PYWAI_MAX_HEADER_SIZE",
        value_name = "SIZE",
        default_value = "16KiB"
    )]
    pub max_header_size: String,

    /// Most open connections; above it new connections get 503 and are closed.
    #[arg(
        long,
        env = "PYWAI_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 4096
    )]
    pub max_connections: usize,

    /// Time allowed for a whole request head, counted from when the server starts waiting for it
    /// (so it is also the keep-alive idle timeout). Stops slow-loris senders.
    #[arg(
        long,
        env = "PYWAI_HEADER_READ_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub header_read_timeout: String,

    /// Time allowed for reading a request body; slower bodies get 408.
    #[arg(
        long,
        env = "PYWAI_BODY_READ_TIMEOUT",
        value_name = "DURATION",
        default_value = "30s"
    )]
    pub body_read_timeout: String,

    /// After SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.
    #[arg(
        long,
        env = "PYWAI_SHUTDOWN_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub shutdown_timeout: String,

    /// Worker threads, each running its own event loop [default: number of CPUs available].
    #[arg(long, env = "PYWAI_THREADS", value_name = "N")]
    pub threads: Option<usize>,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Vec<SocketAddr>,
    pub access_log: bool,
    pub max_body: u64,
    pub max_header_size: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub threads: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--listen {value:?} is not ADDR:PORT (e.g. 0.0.0.0:8000 or [::]:8000)")]
    Listen { value: String },
    #[error("{option} {value:?}: {reason}")]
    Value {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

const MIN_HEADER_SIZE: u64 = 1024;
const MAX_HEADER_SIZE: u64 = 1024 * 1024;
const MAX_THREADS: usize = 256;

impl Config {
    pub fn from_args(args: &ServerArgs) -> Result<Self, ConfigError> {
        let listen = if args.listen.is_empty() {
            let port = args.port.unwrap_or(DEFAULT_PORT);
            vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)]
        } else {
            args.listen
                .iter()
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|_| ConfigError::Listen { value: s.clone() })
                })
                .collect::<Result<Vec<_>, _>>()?
        };

        let max_body = parse_size("--max-body", &args.max_body)?;
        let max_header_size = parse_size("--max-header-size", &args.max_header_size)?;
        if !(MIN_HEADER_SIZE..=MAX_HEADER_SIZE).contains(&max_header_size) {
            return Err(value_err(
                "--max-header-size",
                &args.max_header_size,
                "must be between 1KiB and 1MiB",
            ));
        }
        if args.max_connections == 0 {
            return Err(value_err(
                "--max-connections",
                &args.max_connections.to_string(),
                "must be at least 1",
            ));
        }
        let header_read_timeout =
            parse_duration("--header-read-timeout", &args.header_read_timeout)?;
        let body_read_timeout = parse_duration("--body-read-timeout", &args.body_read_timeout)?;
        for (option, raw, d) in [
            (
                "--header-read-timeout",
                &args.header_read_timeout,
                header_read_timeout,
            ),
            (
                "--body-read-timeout",
                &args.body_read_timeout,
                body_read_timeout,
            ),
        ] {
            if d.is_zero() {
                return Err(value_err(option, raw, "must be greater than zero"));
            }
        }
        let shutdown_timeout = parse_duration("--shutdown-timeout", &args.shutdown_timeout)?;

        let threads = match args.threads {
            Some(n) if n == 0 || n > MAX_THREADS => {
                return Err(value_err(
                    "--threads",
                    &n.to_string(),
                    "must be between 1 and 256",
                ));
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };

        Ok(Self {
            listen,
            access_log: args.access_log == AccessLog::Json,
            max_body,
            // Bounded to 1 MiB just above, so it fits.
            max_header_size: max_header_size as usize,
            max_connections: args.max_connections,
            header_read_timeout,
            body_read_timeout,
            shutdown_timeout,
            threads,
        })
    }

    /// Checks each listen address can be bound now, then releases it.
    pub fn probe_bind(&self) -> Result<(), ConfigError> {
        for &addr in &self.listen {
            crate::server::bind(addr).map_err(|e| ConfigError::Bind {
                addr,
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

fn value_err(option: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Value {
        option,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `1048576`, `512B`, `64KiB`, `1MiB` (also `K`, `KB`, `M`, `MB` as binary units).
pub fn parse_size(option: &'static str, raw: &str) -> Result<u64, ConfigError> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let bad = |reason: &str| value_err(option, raw, reason);
    let n: u64 = digits
        .parse()
        .map_err(|_| bad("expected a size like 1048576, 64KiB or 1MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err(bad("unknown unit (use B, KiB, MiB or GiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| bad("too large"))
}

/// `10`, `10s`, `2.5s`, `500ms`.
pub fn parse_duration(option: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    let s = raw.trim();
    let bad = || value_err(option, raw, "expected a duration like 10s, 2.5s or 500ms");
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(v * scale).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> ServerArgs {
        let mut full = vec!["pywai"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full).unwrap().args
    }

    #[test]
    fn bare_port_argument_listens_on_all_ipv4_interfaces() {
        let cfg = Config::from_args(&args(&["8000"])).unwrap();
        assert_eq!(cfg.listen, vec!["0.0.0.0:8000".parse().unwrap()]);
    }

    #[test]
    fn listen_flag_wins_over_port_and_accepts_ipv6() {
        let cfg =
            Config::from_args(&args(&["8000", "--listen", "[::1]:9000,127.0.0.1:9001"])).unwrap();
        assert_eq!(
            cfg.listen,
            vec![
                "[::1]:9000".parse().unwrap(),
                "127.0.0.1:9001".parse().unwrap()
            ]
        );
    }

    #[test]
    fn defaults_match_the_documented_limits() {
        let cfg = Config::from_args(&args(&[])).unwrap();
        assert_eq!(cfg.listen, vec!["0.0.0.0:8080".parse().unwrap()]);
        assert_eq!(cfg.max_body, 1024 * 1024);
        assert_eq!(cfg.max_header_size, 16 * 1024);
        assert!(cfg.access_log);
    }

    #[test]
    fn bad_values_are_explained() {
        let err = Config::from_args(&args(&["--listen", "localhost"])).unwrap_err();
        assert!(err.to_string().contains("not ADDR:PORT"), "{err}");
        let err = Config::from_args(&args(&["--max-body", "1TB"])).unwrap_err();
        assert!(err.to_string().contains("unknown unit"), "{err}");
        let err = Config::from_args(&args(&["--max-header-size", "10"])).unwrap_err();
        assert!(err.to_string().contains("between 1KiB and 1MiB"), "{err}");
        let err = Config::from_args(&args(&["--header-read-timeout", "0"])).unwrap_err();
        assert!(err.to_string().contains("greater than zero"), "{err}");
    }

    #[test]
    fn sizes_and_durations_parse_with_units() {
        assert_eq!(parse_size("x", "64KiB").unwrap(), 65536);
        assert_eq!(parse_size("x", "2 MiB").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_size("x", "17").unwrap(), 17);
        assert_eq!(
            parse_duration("x", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration("x", "2.5s").unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(parse_duration("x", "3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("x", "-1s").is_err());
    }

    #[test]
    fn validate_subcommand_takes_the_server_options() {
        let cli = Cli::try_parse_from(["pywai", "validate", "--listen", "127.0.0.1:0"]).unwrap();
        let Some(Command::Validate(a)) = cli.command else {
            panic!("expected validate");
        };
        assert_eq!(a.listen, vec!["127.0.0.1:0".to_owned()]);
    }
}
