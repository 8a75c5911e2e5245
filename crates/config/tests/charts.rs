//! The chart settings (SPEC 14) and the API's public URL: defaults, file < environment, and a
//! clear error for each bad value.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use coach_plans_config::{ApiConfig, Config, ConfigError};

fn load(file: Option<&str>, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([("DISCORD_BOT_TOKEN".to_owned(), "MTIz.token".to_owned())]);
    Config::from_sources(file.map(|text| ("test.yaml", text)), env, false)
}

fn error(file: Option<&str>, pairs: &[(&str, &str)]) -> String {
    load(file, pairs).unwrap_err().to_string()
}

fn hosts(config: &Config) -> Vec<String> {
    config
        .charts
        .allowed_hosts
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_chart_defaults_are_those_of_spec_14() {
    let config = load(None, &[]).unwrap();
    assert_eq!(
        hosts(&config),
        ["cdn.discordapp.com", "media.discordapp.net"]
    );
    assert_eq!(config.charts.max_bytes, 26_214_400);
    assert_eq!(config.charts.store.to_str(), Some("./data/charts"));
    assert_eq!(config.api.public_url, None);
}

#[test]
fn allowed_hosts_come_from_a_list_a_comma_separated_text_or_the_environment() {
    let file = "charts:\n  allowed_hosts: [Cdn.DiscordApp.com, '127.0.0.1:9002']\n";
    assert_eq!(
        hosts(&load(Some(file), &[]).unwrap()),
        ["cdn.discordapp.com", "127.0.0.1:9002"]
    );
    let text = "charts:\n  allowed_hosts: 'a.example, b.example:8443'\n";
    assert_eq!(
        hosts(&load(Some(text), &[]).unwrap()),
        ["a.example", "b.example:8443"]
    );
    let config = load(
        Some(file),
        &[("CHART_ALLOWED_HOSTS", " localhost:9 ,[::1]:10")],
    )
    .unwrap();
    assert_eq!(hosts(&config), ["localhost:9", "[::1]:10"]);
    let host = &config.charts.allowed_hosts[0];
    assert_eq!((host.host(), host.port()), ("localhost", Some(9)));
}

#[test]
fn a_bad_allowed_host_names_the_entry_the_setting_and_the_variable() {
    let message = error(
        None,
        &[(
            "CHART_ALLOWED_HOSTS",
            "cdn.discordapp.com,https://evil.example/x",
        )],
    );
    assert!(
        message.starts_with("invalid charts.allowed_hosts (CHART_ALLOWED_HOSTS): "),
        "{message}"
    );
    assert!(message.contains("'https://evil.example/x'"), "{message}");
    assert!(message.contains("no scheme"), "{message}");

    let message = error(
        Some("charts:\n  allowed_hosts: [a.example, 'b.example:70000']\n"),
        &[],
    );
    assert!(message.contains("charts.allowed_hosts"), "{message}");
    assert!(message.contains("'b.example:70000'"), "{message}");
    assert!(message.contains("1 to 65535"), "{message}");

    let message = error(None, &[("CHART_ALLOWED_HOSTS", "a.example,,b.example")]);
    assert!(message.contains("empty"), "{message}");
    let message = error(Some("charts:\n  allowed_hosts: []\n"), &[]);
    assert!(message.contains("at least one host"), "{message}");
    let message = error(Some("charts:\n  allowed_hosts: [80]\n"), &[]);
    assert!(message.contains("host[:port]"), "{message}");
}

#[test]
fn max_bytes_and_the_store_come_from_the_file_and_the_environment_wins() {
    let file = "charts:\n  max_bytes: 1000\n  store: /srv/charts\n";
    let config = load(Some(file), &[]).unwrap();
    assert_eq!(config.charts.max_bytes, 1000);
    assert_eq!(config.charts.store.to_str(), Some("/srv/charts"));
    let config = load(
        Some(file),
        &[
            ("CHART_MAX_BYTES", "2000"),
            ("CHART_STORE", "/var/lib/charts"),
        ],
    )
    .unwrap();
    assert_eq!(config.charts.max_bytes, 2000);
    assert_eq!(config.charts.store.to_str(), Some("/var/lib/charts"));
}

#[test]
fn bad_sizes_and_stores_are_clear_errors() {
    assert_eq!(
        error(None, &[("CHART_MAX_BYTES", "0")]),
        "invalid charts.max_bytes (CHART_MAX_BYTES): must be at least 1"
    );
    assert_eq!(
        error(None, &[("CHART_MAX_BYTES", "lots")]),
        "invalid charts.max_bytes (CHART_MAX_BYTES): 'lots' is not a whole number"
    );
    assert_eq!(
        error(Some("charts:\n  store: ''\n"), &[]),
        "invalid charts.store (CHART_STORE): must not be empty"
    );
}

#[test]
fn the_public_url_is_an_absolute_http_url_without_query_and_trailing_slash() {
    let config = load(
        Some("api:\n  public_url: https://plans.example.com/coach/\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        config.api.public_url.as_deref(),
        Some("https://plans.example.com/coach")
    );
    let config = load(None, &[("API_PUBLIC_URL", "http://10.0.0.5:8080")]).unwrap();
    assert_eq!(
        config.api.public_url.as_deref(),
        Some("http://10.0.0.5:8080")
    );
    for bad in [
        "plans.example.com",
        "ftp://plans.example.com",
        "https://",
        "https://plans.example.com/?a=1",
        "https://plans.example.com/#top",
    ] {
        let message = error(None, &[("API_PUBLIC_URL", bad)]);
        assert!(
            message.starts_with("invalid api.public_url (API_PUBLIC_URL): "),
            "{bad}: {message}"
        );
        assert!(message.contains("http:// or https://"), "{bad}: {message}");
    }
}

#[test]
fn without_a_public_url_the_bound_address_is_used_and_never_an_unspecified_one() {
    let bound = |text: &str| text.parse::<SocketAddr>().unwrap();
    let api = |host: &str| ApiConfig {
        host: host.to_owned(),
        ..ApiConfig::default()
    };
    assert_eq!(
        api("127.0.0.1").public_url_or(bound("127.0.0.1:41234")),
        "http://127.0.0.1:41234"
    );
    assert_eq!(
        api("0.0.0.0").public_url_or(bound("0.0.0.0:5000")),
        "http://127.0.0.1:5000"
    );
    assert_eq!(
        api("::").public_url_or(bound("[::]:5000")),
        "http://[::1]:5000"
    );
    assert_eq!(
        api("localhost").public_url_or(bound("127.0.0.1:5001")),
        "http://localhost:5001"
    );
    let configured = ApiConfig {
        public_url: Some("https://plans.example.com".to_owned()),
        ..api("0.0.0.0")
    };
    assert_eq!(
        configured.public_url_or(bound("0.0.0.0:5000")),
        "https://plans.example.com"
    );
}

#[test]
fn the_chart_backend_follows_the_database_unless_chosen() {
    use coach_plans_config::ChartBackend;
    let url = ("DATABASE_URL", "postgres://coach:pw@db/plans");
    let in_use = |pairs: &[(&str, &str)]| {
        let config = load(None, pairs).unwrap();
        config.charts.backend_in_use(&config.database)
    };
    assert_eq!(load(None, &[]).unwrap().charts.backend, ChartBackend::Auto);
    assert_eq!(
        in_use(&[]),
        ChartBackend::Directory,
        "SQLite: the directory"
    );
    assert_eq!(in_use(&[url]), ChartBackend::Database, "PostgreSQL: in it");
    assert_eq!(
        in_use(&[url, ("CHART_BACKEND", "Directory")]),
        ChartBackend::Directory,
        "chosen: kept"
    );
    let file = "charts:\n  backend: database\n";
    let config = load(Some(file), &[url]).unwrap();
    assert_eq!(config.charts.backend, ChartBackend::Database);
}

#[test]
fn the_database_chart_backend_without_a_database_url_is_a_configuration_error() {
    for (file, pairs) in [
        (None, &[("CHART_BACKEND", "database")][..]),
        (Some("charts:\n  backend: DATABASE\n"), &[][..]),
    ] {
        let message = error(file, pairs);
        assert!(
            message.starts_with("invalid charts.backend (CHART_BACKEND): "),
            "{message}"
        );
        assert!(message.contains("database.url (DATABASE_URL)"), "{message}");
    }
    let message = error(None, &[("CHART_BACKEND", "s3")]);
    assert_eq!(
        message,
        "invalid charts.backend (CHART_BACKEND): 's3' is not auto, directory or database"
    );
}
