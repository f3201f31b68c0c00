//! The real binary's command line: `version`, and configuration errors that exit 2 without
//! printing credentials.

use std::process::Command;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgio-ingress"));
    cmd.env_clear();
    cmd
}

#[test]
fn version_prints_the_crate_version() {
    let out = bin().arg("version").output().expect("runs");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("edgio-ingress {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn invalid_owner_id_exits_2_and_never_prints_the_credentials() {
    let out = bin()
        .arg("plan")
        .envs([
            ("OWNER_ID", "not/valid"),
            ("ORIGIN_HOSTNAME", "origin.example.com"),
            ("DNS_ZONE", "example.com"),
            ("EDGIO_SHORTNAME", "demo"),
            ("EDGIO_USERNAME", "demo"),
            ("EDGIO_SHARED_KEY", "00112233445566778899aabbccddeeff"),
            ("VULTR_API_KEY", "demo-vultr-key"),
            ("LOG_FORMAT", "json"),
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("owner id"), "{all}");
    assert!(
        all.contains("\"level\":\"ERROR\""),
        "not a JSON log line: {all}"
    );
    assert!(
        !all.contains("00112233445566778899aabbccddeeff"),
        "shared key printed: {all}"
    );
    assert!(!all.contains("demo-vultr-key"), "API key printed: {all}");
}

#[test]
fn missing_required_settings_exit_2_naming_the_env_var() {
    let out = bin().arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--origin-hostname"), "{err}");
}

#[test]
fn help_lists_every_flag_with_its_env_var_and_hides_secret_values() {
    let out = bin()
        .args(["run", "--help"])
        .env("EDGIO_SHARED_KEY", "00112233445566778899aabbccddeeff")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "INGRESS_CLASS",
        "CONTROLLER_NAME",
        "WATCH_NAMESPACES",
        "OWNER_ID",
        "ORIGIN_HOSTNAME",
        "DNS_ZONE",
        "NODE_ADDRESS_TYPES",
        "RESYNC_INTERVAL",
        "EDGIO_BASE_URL",
        "EDGIO_SHORTNAME",
        "EDGIO_USERNAME",
        "EDGIO_SHARED_KEY",
        "VULTR_BASE_URL",
        "VULTR_API_KEY",
        "HTTP_ADDR",
        "LEADER_ELECT",
        "LEASE_NAME",
        "POD_NAMESPACE",
        "POD_NAME",
        "LOG_FORMAT",
        "DNS_TTL",
    ] {
        assert!(
            help.contains(&format!("env: {env}")),
            "{env} missing from --help:\n{help}"
        );
    }
    assert!(
        !help.contains("00112233445566778899aabbccddeeff"),
        "secret shown in --help"
    );
}
