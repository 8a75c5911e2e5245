//! Defaults < file < environment, validation, and secrets kept out of every output.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use coach_plans_config::{Config, ConfigError, LoadOptions, LogFormat, LogLevel, parse_env_file};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load(file: Option<&str>, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(file.map(|text| ("test.yaml", text)), env(pairs), false)
}

fn error(file: Option<&str>, pairs: &[(&str, &str)]) -> String {
    load(file, pairs).unwrap_err().to_string()
}

const TOKEN: (&str, &str) = ("DISCORD_BOT_TOKEN", "MTIz.secret-token.value");

#[test]
fn the_defaults_are_those_of_spec_9() {
    let c = Config::from_sources(None, env(&[]), true).unwrap();
    assert_eq!(c.discord.bot_token, None);
    assert_eq!(c.discord.command_prefix, "!");
    assert_eq!(c.discord.reconnect_attempts, 5);
    assert_eq!(c.discord.reconnect_delay, Duration::from_secs(5));
    assert!(
        c.discord.channels.is_empty()
            && c.discord.admin_user_ids.is_empty()
            && c.discord.admin_role_ids.is_empty()
    );
    assert_eq!(
        (c.discord.gateway_url.clone(), c.discord.api_url.clone()),
        (None, None)
    );
    assert_eq!(c.database.path.to_str(), Some("./data/coach_plans.db"));
    assert_eq!(c.database.connection_timeout, Duration::from_secs(10));
    assert_eq!(c.database.pool_size, 8);
    assert_eq!((c.api.host.as_str(), c.api.port), ("127.0.0.1", 5000));
    assert!(c.api.cors_origins.is_empty());
    assert_eq!(c.api.auth_token, None);
    assert_eq!(c.logging.level, LogLevel::Info);
    assert_eq!(c.logging.file.to_str(), Some("./logs/discord_bot.log"));
    assert_eq!(
        (
            c.logging.max_size_mb,
            c.logging.backup_count,
            c.logging.format
        ),
        (10.0, 5, LogFormat::Text)
    );
    assert_eq!(
        (c.cache.ttl, c.cache.max_size),
        (Duration::from_secs(3600), 100)
    );
    assert_eq!((c.mock.enabled, c.mock.seed_days), (true, 5));
    assert_eq!(c.plans.timezone, "America/New_York");
    assert_eq!(c.plans.max_chart_attachments, 10);
    assert_eq!(c.roster().valid_ids(), "d, i, s, n");
}

#[test]
fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
    let file = "api:\n  port: 6000\n  host: 0.0.0.0\nlogging:\n  level: debug\n  format: json\ndatabase:\n  connection_timeout: 0.5\n";
    let from_file = load(Some(file), &[TOKEN]).unwrap();
    assert_eq!(
        (from_file.api.port, from_file.api.host.as_str()),
        (6000, "0.0.0.0")
    );
    assert_eq!(
        (from_file.logging.level, from_file.logging.format),
        (LogLevel::Debug, LogFormat::Json)
    );
    assert_eq!(
        from_file.database.connection_timeout,
        Duration::from_millis(500)
    );
    let from_env = load(
        Some(file),
        &[
            TOKEN,
            ("API_PORT", "7000"),
            ("LOG_LEVEL", "WARNING"),
            ("LOG_FORMAT", "text"),
        ],
    )
    .unwrap();
    assert_eq!(
        (from_env.api.port, from_env.api.host.as_str()),
        (7000, "0.0.0.0")
    );
    assert_eq!(
        (from_env.logging.level, from_env.logging.format),
        (LogLevel::Warn, LogFormat::Text)
    );
}

#[test]
fn every_environment_name_of_spec_9_is_read() {
    let c = load(
        None,
        &[
            TOKEN,
            ("COMMAND_PREFIX", "?"),
            ("RECONNECT_ATTEMPTS", "2"),
            ("RECONNECT_DELAY_SECONDS", "0.01"),
            ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9001"),
            ("DISCORD_API_URL", "http://127.0.0.1:9002"),
            ("DATABASE_PATH", "/tmp/x.db"),
            ("CONNECTION_TIMEOUT", "3"),
            ("DATABASE_POOL_SIZE", "2"),
            ("API_HOST", "0.0.0.0"),
            ("API_PORT", "0"),
            ("API_AUTH_TOKEN", "api-secret"),
            ("LOG_LEVEL", "error"),
            ("LOG_FILE", "/tmp/x.log"),
            ("LOG_MAX_SIZE_MB", "1"),
            ("LOG_BACKUP_COUNT", "0"),
            ("LOG_FORMAT", "JSON"),
            ("CACHE_TTL_SECONDS", "60"),
            ("MAX_CACHE_SIZE", "7"),
            ("MOCK_MODE", "no"),
            ("MOCK_SEED_DAYS", "0"),
            ("PLANS_TIMEZONE", "Europe/Berlin"),
            ("MAX_CHART_ATTACHMENTS", "3"),
            ("UNRELATED", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(
        c.discord.bot_token.as_ref().unwrap().expose(),
        "MTIz.secret-token.value"
    );
    assert_eq!(
        (
            c.discord.command_prefix.as_str(),
            c.discord.reconnect_attempts
        ),
        ("?", 2)
    );
    assert_eq!(c.discord.reconnect_delay, Duration::from_millis(10));
    assert_eq!(
        c.discord.gateway_url.as_deref(),
        Some("ws://127.0.0.1:9001")
    );
    assert_eq!(c.discord.api_url.as_deref(), Some("http://127.0.0.1:9002"));
    assert_eq!(
        (
            c.database.path.to_str(),
            c.database.connection_timeout,
            c.database.pool_size
        ),
        (Some("/tmp/x.db"), Duration::from_secs(3), 2)
    );
    assert_eq!(
        (
            c.api.host.as_str(),
            c.api.port,
            c.api.auth_token.as_ref().unwrap().expose()
        ),
        ("0.0.0.0", 0, "api-secret")
    );
    assert_eq!(
        (
            c.logging.level,
            c.logging.file.to_str(),
            c.logging.max_size_mb,
            c.logging.backup_count,
            c.logging.format
        ),
        (LogLevel::Error, Some("/tmp/x.log"), 1.0, 0, LogFormat::Json)
    );
    assert_eq!(
        (c.cache.ttl, c.cache.max_size),
        (Duration::from_secs(60), 7)
    );
    assert_eq!((c.mock.enabled, c.mock.seed_days), (false, 0));
    assert_eq!(
        (c.plans.timezone.as_str(), c.plans.max_chart_attachments),
        ("Europe/Berlin", 3)
    );
}

#[test]
fn empty_environment_values_count_as_unset() {
    let c = load(
        Some("api:\n  port: 6000\n"),
        &[TOKEN, ("API_PORT", ""), ("LOG_LEVEL", " ")],
    )
    .unwrap();
    assert_eq!(c.api.port, 6000);
    assert_eq!(
        error(None, &[("DISCORD_BOT_TOKEN", "")]),
        ConfigError::MissingToken {
            unset_reference: None
        }
        .to_string()
    );
}

#[test]
fn the_file_can_reference_the_environment() {
    let file = "discord:\n  bot_token: \"${DISCORD_TOKEN_FROM_VAULT}\"\napi:\n  cors_origins: [\"$${NOT_A_VAR}\"]\n";
    let c = load(Some(file), &[("DISCORD_TOKEN_FROM_VAULT", "abc.def")]).unwrap();
    assert_eq!(c.discord.bot_token.unwrap().expose(), "abc.def");
    assert_eq!(c.api.cors_origins, ["${NOT_A_VAR}"]);
    let typed = load(
        Some("api:\n  port: ${PORT}\n# a comment may say ${ANYTHING}\n"),
        &[TOKEN, ("PORT", "6100")],
    )
    .unwrap();
    assert_eq!(
        typed.api.port, 6100,
        "a reference is read as the number it holds"
    );
    let structural = load(
        Some("logging:\n  file: \"${LOGS}\"\n"),
        &[TOKEN, ("LOGS", "a: b\n- c")],
    )
    .unwrap();
    assert_eq!(
        structural.logging.file.to_str(),
        Some("a: b\n- c"),
        "a value cannot change the document's structure"
    );
}

#[test]
fn an_unknown_key_is_named_with_its_path() {
    assert_eq!(
        error(Some("api:\n  prot: 5000\n"), &[TOKEN])
            .split(':')
            .take(2)
            .collect::<Vec<_>>(),
        ["test.yaml", " api.prot"]
    );
    assert!(error(Some("api:\n  prot: 5000\n"), &[TOKEN]).contains("unknown field `prot`"));
    assert!(error(Some("databse:\n  path: x\n"), &[TOKEN]).contains("unknown field `databse`"));
    assert!(
        error(
            Some("coaches:\n  - id: d\n    display_name: D\n    colour: red\n"),
            &[TOKEN]
        )
        .contains("coaches[0].colour")
    );
}

#[test]
fn a_wrong_type_names_the_setting_and_the_variable() {
    assert_eq!(
        error(None, &[TOKEN, ("API_PORT", "abc")]),
        "invalid api.port (API_PORT): 'abc' is not a whole number from 0 to 65535"
    );
    assert!(
        error(None, &[TOKEN, ("API_PORT", "70000")]).starts_with("invalid api.port (API_PORT)")
    );
    assert!(error(None, &[TOKEN, ("API_PORT", "-1")]).starts_with("invalid api.port (API_PORT)"));
    assert!(
        error(None, &[TOKEN, ("MOCK_MODE", "maybe")])
            .starts_with("invalid mock.enabled (MOCK_MODE)")
    );
    assert!(
        error(None, &[TOKEN, ("DATABASE_POOL_SIZE", "eight")])
            .starts_with("invalid database.pool_size (DATABASE_POOL_SIZE)")
    );
    assert!(error(None, &[TOKEN, ("CONNECTION_TIMEOUT", "NaN")]).contains("CONNECTION_TIMEOUT"));
    let in_file = error(Some("api:\n  port: 70000\n"), &[TOKEN]);
    assert!(
        in_file.starts_with("test.yaml: api.port (API_PORT): invalid value"),
        "{in_file}"
    );
    let string_port = error(Some("api:\n  port: abc\n"), &[TOKEN]);
    assert!(
        string_port.starts_with("test.yaml: api.port (API_PORT): invalid type"),
        "{string_port}"
    );
}

#[test]
fn a_token_is_required_outside_mock_mode() {
    assert_eq!(
        error(None, &[]),
        ConfigError::MissingToken {
            unset_reference: None
        }
        .to_string()
    );
    assert!(error(None, &[]).contains("DISCORD_BOT_TOKEN") && error(None, &[]).contains("--mock"));
    assert!(load(None, &[("MOCK_MODE", "yes")]).unwrap().mock.enabled);
    assert!(load(None, &[("MOCK_MODE", "1")]).unwrap().mock.enabled);
    assert!(
        load(Some("mock:\n  enabled: true\n"), &[])
            .unwrap()
            .mock
            .enabled
    );
    assert!(
        Config::from_sources(None, env(&[]), true)
            .unwrap()
            .mock
            .enabled,
        "the --mock flag"
    );
    assert!(
        Config::from_sources(None, env(&[("MOCK_MODE", "false")]), true)
            .unwrap()
            .mock
            .enabled,
        "--mock wins"
    );
}

#[test]
fn validation_names_the_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("PLANS_TIMEZONE", "Mars/Olympus_Mons")],
            "invalid plans.timezone (PLANS_TIMEZONE): 'Mars/Olympus_Mons' is not a known time zone",
        ),
        (
            &[("LOG_LEVEL", "LOUD")],
            "invalid logging.level (LOG_LEVEL): 'LOUD' is not DEBUG, INFO, WARNING (or WARN) or ERROR",
        ),
        (
            &[("LOG_FORMAT", "xml")],
            "invalid logging.format (LOG_FORMAT)",
        ),
        (
            &[("DATABASE_POOL_SIZE", "0")],
            "invalid database.pool_size (DATABASE_POOL_SIZE): must be at least 1",
        ),
        (&[("LOG_MAX_SIZE_MB", "0")], "invalid logging.max_size_mb"),
        (&[("MAX_CACHE_SIZE", "0")], "invalid cache.max_size"),
        (
            &[("MAX_CHART_ATTACHMENTS", "11")],
            "invalid plans.max_chart_attachments",
        ),
        (
            &[("COMMAND_PREFIX", "two words")],
            "invalid discord.command_prefix",
        ),
        (
            &[("DISCORD_GATEWAY_URL", "http://x")],
            "invalid discord.gateway_url",
        ),
        (&[("DISCORD_API_URL", "ws://x")], "invalid discord.api_url"),
        (
            &[("CONNECTION_TIMEOUT", "0")],
            "invalid database.connection_timeout",
        ),
        (
            &[("RECONNECT_ATTEMPTS", "0")],
            "invalid discord.reconnect_attempts",
        ),
    ];
    for (pairs, expected) in cases {
        let mut all = vec![TOKEN];
        all.extend_from_slice(pairs);
        let message = error(None, &all);
        assert!(message.starts_with(expected), "{pairs:?}: {message}");
    }
}

#[test]
fn coaches_come_from_the_file() {
    let file = "coaches:\n  - id: Coach_A\n    display_name: Coach A\n    description: Options\n    poster_user_ids: [\"111\", 222]\n  - id: b\n    display_name: Coach B\n";
    let c = load(Some(file), &[TOKEN]).unwrap();
    let roster = c.roster();
    assert_eq!(roster.valid_ids(), "a, b");
    assert_eq!(roster.resolve("a").unwrap().poster_user_ids.len(), 2);
    assert!(error(Some("coaches: []\n"), &[TOKEN]).contains("roster is empty"));
    assert!(
        error(
            Some("coaches:\n  - {id: d, display_name: D}\n  - {id: D, display_name: E}\n"),
            &[TOKEN]
        )
        .contains("configured twice")
    );
    assert!(
        error(
            Some("coaches:\n  - {id: \"d!\", display_name: D}\n"),
            &[TOKEN]
        )
        .contains("not a coach id")
    );
    assert!(
        error(Some("discord:\n  admin_user_ids: [0]\n"), &[TOKEN])
            .contains("discord.admin_user_ids")
    );
}

#[test]
fn a_missing_file_names_its_path() {
    let options = LoadOptions {
        file: Some("/nonexistent/coach-plans.yaml".into()),
        mock: true,
        offline: false,
        env_files: Vec::new(),
    };
    let message = Config::load(&options).unwrap_err().to_string();
    assert!(
        message.starts_with("cannot read the configuration file /nonexistent/coach-plans.yaml"),
        "{message}"
    );
}

#[test]
fn odd_files_get_clear_errors_and_never_panic() {
    assert!(
        load(Some(""), &[TOKEN]).is_ok(),
        "an empty file means all defaults"
    );
    assert!(load(Some("# only a comment\n"), &[TOKEN]).is_ok());
    assert!(
        error(Some("- a\n- list\n"), &[TOKEN])
            .starts_with("test.yaml: the top level must be a mapping")
    );
    assert!(error(Some("api: [unclosed"), &[TOKEN]).starts_with("test.yaml: not valid YAML"));
    assert!(error(Some("api:\n  port: 99999999999999999999999\n"), &[TOKEN]).contains("api.port"));
    let huge = format!("logging:\n  file: {}\n", "h".repeat(1_000_000));
    assert_eq!(
        load(Some(&huge), &[TOKEN])
            .unwrap()
            .logging
            .file
            .as_os_str()
            .len(),
        1_000_000
    );
    let unicode = load(Some("plans:\n  timezone: \"Asia/Tōkyō\"\n"), &[TOKEN])
        .unwrap_err()
        .to_string();
    assert!(unicode.contains("Asia/Tōkyō"), "{unicode}");
    assert!(
        load(Some("\u{feff}api:\n  port: 1\n"), &[TOKEN]).is_ok(),
        "a byte order mark"
    );
}

#[test]
fn secrets_never_show_in_debug_display_errors_or_the_printed_config() {
    let file = "api:\n  auth_token: api-secret-value\n";
    let c = load(Some(file), &[TOKEN]).unwrap();
    for text in [
        format!("{c:?}"),
        c.to_masked_yaml(),
        format!("{}", c.discord.bot_token.clone().unwrap()),
    ] {
        assert!(
            !text.contains("secret-token.value") && !text.contains("api-secret-value"),
            "{text}"
        );
    }
    let printed = c.to_masked_yaml();
    assert!(
        printed.contains("bot_token: '***'") && printed.contains("auth_token: '***'"),
        "{printed}"
    );
    let wrong_type = error(Some("discord:\n  bot_token: [1234567]\n"), &[]);
    assert!(!wrong_type.contains("1234567"), "{wrong_type}");
}

#[test]
fn the_printed_configuration_loads_back_to_the_same_settings() {
    let c = load(
        Some("api:\n  port: 6001\nmock:\n  seed_days: 2\n"),
        &[TOKEN],
    )
    .unwrap();
    let printed = c
        .to_masked_yaml()
        .replace("'***'", "\"${DISCORD_BOT_TOKEN}\"");
    let again = load(Some(&printed), &[TOKEN]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn the_example_configuration_loads() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config.example.yaml"
    ))
    .unwrap();
    let c = load(Some(&text), &[TOKEN]).unwrap();
    assert_eq!(c.discord.bot_token.as_ref().unwrap().expose(), TOKEN.1);
    assert_eq!(c.roster().valid_ids(), "d, i, s, n");
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

// --- issue 9 (8, 12) and issue 10 (3, 8) ---

#[test]
fn a_bot_token_a_header_cannot_carry_is_a_configuration_error_that_never_shows_it() {
    for token in [
        "MTIz.secret\npart.value",
        "MTIz.secret\rpart",
        "MTIz.secret\u{0}part",
        "MTIz.secret part",
        "MTIz.secrét-part",
    ] {
        let from_env = error(None, &[("DISCORD_BOT_TOKEN", token)]);
        assert!(
            from_env.starts_with("invalid discord.bot_token (DISCORD_BOT_TOKEN): "),
            "{token:?}: {from_env}"
        );
        assert!(!from_env.contains("secret"), "{from_env}");
        let file = format!("discord:\n  bot_token: {}\n", serde_quote(token));
        let from_file = error(Some(&file), &[]);
        assert!(
            from_file.starts_with("invalid discord.bot_token (DISCORD_BOT_TOKEN): "),
            "{token:?}: {from_file}"
        );
        assert!(!from_file.contains("secret"), "{from_file}");
    }
    let with_prefix = load(None, &[("DISCORD_BOT_TOKEN", "Bot MTIz.abc-DEF_ghi")]).unwrap();
    assert!(
        with_prefix.discord.bot_token.is_some(),
        "twilight's Bot prefix is allowed"
    );
    let trailing = load(None, &[("DISCORD_BOT_TOKEN", "MTIz.abc\n")]).unwrap();
    assert_eq!(
        trailing.discord.bot_token.unwrap().expose(),
        "MTIz.abc",
        "a trailing newline (echo > file) is trimmed, not an error"
    );
    let api = error(None, &[TOKEN, ("API_AUTH_TOKEN", "api\nsecret")]);
    assert!(
        api.starts_with("invalid api.auth_token (API_AUTH_TOKEN): ") && !api.contains("secret"),
        "{api}"
    );
}

/// A YAML double-quoted scalar holding `text`.
fn serde_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '"' => out.push_str("\\\""),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

#[test]
fn a_wrong_type_in_the_file_names_the_setting_and_its_variable() {
    let port = error(Some("api:\n  port: abc\n"), &[TOKEN]);
    assert!(
        port.starts_with("test.yaml: api.port (API_PORT): invalid type"),
        "{port}"
    );
    let timeout = error(Some("database:\n  connection_timeout: [1]\n"), &[TOKEN]);
    assert!(
        timeout.starts_with("test.yaml: database.connection_timeout (CONNECTION_TIMEOUT): "),
        "{timeout}"
    );
    let secret = error(Some("discord:\n  bot_token: [1234567]\n"), &[]);
    assert!(
        secret.starts_with("test.yaml: discord.bot_token (DISCORD_BOT_TOKEN): expected a string")
            && !secret.contains("1234567"),
        "{secret}"
    );
    let file_only = error(Some("discord:\n  channels: [0]\n"), &[TOKEN]);
    assert!(
        file_only.starts_with("test.yaml: discord.channels[0]: "),
        "a file-only key has no variable to name: {file_only}"
    );
}

#[test]
fn every_invalid_setting_is_worded_the_same_way() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "API_PORT",
            "abc",
            "invalid api.port (API_PORT): 'abc' is not a whole number from 0 to 65535",
        ),
        ("MOCK_MODE", "maybe", "invalid mock.enabled (MOCK_MODE): "),
        (
            "LOG_LEVEL",
            "LOUD",
            "invalid logging.level (LOG_LEVEL): 'LOUD' is not DEBUG",
        ),
        ("LOG_FORMAT", "xml", "invalid logging.format (LOG_FORMAT): "),
        (
            "CONNECTION_TIMEOUT",
            "NaN",
            "invalid database.connection_timeout (CONNECTION_TIMEOUT): ",
        ),
        (
            "PLANS_TIMEZONE",
            "Mars/Base",
            "invalid plans.timezone (PLANS_TIMEZONE): ",
        ),
    ];
    for (var, value, expected) in cases {
        let message = error(None, &[TOKEN, (var, value)]);
        assert!(message.starts_with(expected), "{var}: {message}");
    }
    let in_file = error(Some("logging:\n  level: LOUD\n"), &[TOKEN]);
    assert!(
        in_file.starts_with("invalid logging.level (LOG_LEVEL): 'LOUD'"),
        "{in_file}"
    );
}

#[test]
fn a_reference_may_give_a_default_and_an_unset_one_leaves_the_setting_unset() {
    let file = "api:\n  port: ${PORT:-6200}\n  host: \"${HOST:-0.0.0.0}\"\nlogging:\n  file: \"${LOGS:-/var/log/x}/coach.log\"\n";
    let defaulted = load(Some(file), &[TOKEN]).unwrap();
    assert_eq!(
        (defaulted.api.port, defaulted.api.host.as_str()),
        (6200, "0.0.0.0"),
        "the default is read as the number it holds"
    );
    assert_eq!(
        defaulted.logging.file.to_str(),
        Some("/var/log/x/coach.log")
    );
    let set = load(Some(file), &[TOKEN, ("PORT", "6300"), ("LOGS", "/srv")]).unwrap();
    assert_eq!(set.api.port, 6300);
    assert_eq!(set.logging.file.to_str(), Some("/srv/coach.log"));
    let empty = load(Some(file), &[TOKEN, ("PORT", "")]).unwrap();
    assert_eq!(
        empty.api.port, 6200,
        "an empty variable takes the default, as in sh"
    );

    // A whole value that is an unset ${VAR} leaves the setting unset: its default applies, and
    // a required one (the bot token outside mock mode) is reported by validation.
    let unset = load(Some("api:\n  host: ${MISSING_HOST}\n"), &[TOKEN]).unwrap();
    assert_eq!(unset.api.host, "127.0.0.1");
    let token = error(Some("discord:\n  bot_token: ${VAULT_TOKEN}\n"), &[]);
    assert!(
        token.starts_with("discord.bot_token is required") && token.contains("VAULT_TOKEN"),
        "{token}"
    );
    // Inside longer text there is nothing sensible to leave out: an error naming both.
    assert_eq!(
        error(Some("logging:\n  file: \"${NO_DIR}/x.log\"\n"), &[TOKEN]),
        "test.yaml: logging.file: ${NO_DIR} is not set in the environment (write ${NO_DIR:-default} to give a default)"
    );
    assert!(
        error(
            Some("discord:\n  channels: [\"${NO_CHANNEL}\"]\n"),
            &[TOKEN]
        )
        .contains("discord.channels[0]: ${NO_CHANNEL} is not set")
    );
    assert!(
        error(Some("api:\n  host: \"${not a name}\"\n"), &[TOKEN])
            .starts_with("test.yaml: api.host: ")
    );
}

#[test]
fn the_example_configuration_loads_in_mock_mode_with_an_empty_environment() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config.example.yaml"
    ))
    .unwrap();
    let c = Config::from_sources(Some(("config.example.yaml", &text)), env(&[]), true).unwrap();
    assert_eq!(c.discord.bot_token, None);
    assert_eq!(
        Config::from_sources(Some(("config.example.yaml", &text)), env(&[]), false)
            .unwrap_err()
            .to_string(),
        Config::from_sources(None, env(&[]), false)
            .unwrap_err()
            .to_string(),
        "outside mock mode the missing token is the one error"
    );
}

#[test]
fn an_environment_file_is_read_the_way_systemd_reads_it() {
    let text = concat!(
        "# comments and blank lines are skipped\n",
        "; so are these\n",
        "\n",
        "DISCORD_BOT_TOKEN=MTIz.abc\n",
        "  API_HOST = 0.0.0.0  \n",
        "QUOTED=\"a \\\"b\\\" $c\"\n",
        "SINGLE='x # not a comment'\n",
        "HASH=a#b\n",
        "JOINED=\"one\" 'two'\n",
        "CONTINUED=first\\\n",
        "second\n",
        "MULTI=\"line1\n",
        "line2\"\n",
        "EMPTY=\n",
        "API_HOST=127.0.0.2\n",
    );
    let pairs = parse_env_file("env", text).unwrap();
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("DISCORD_BOT_TOKEN"), Some("MTIz.abc"));
    assert_eq!(
        get("API_HOST"),
        Some("127.0.0.2"),
        "the last assignment wins"
    );
    assert_eq!(get("QUOTED"), Some("a \"b\" $c"));
    assert_eq!(get("SINGLE"), Some("x # not a comment"));
    assert_eq!(get("HASH"), Some("a#b"));
    assert_eq!(get("JOINED"), Some("onetwo"));
    assert_eq!(get("CONTINUED"), Some("firstsecond"));
    assert_eq!(get("MULTI"), Some("line1\nline2"));
    assert_eq!(get("EMPTY"), Some(""));

    for (bad, named) in [
        ("JUST_A_NAME\n", "env:1"),
        ("OK=1\nBAD NAME=2\n", "env:2"),
        ("1ABC=x\n", "env:1"),
        ("OPEN=\"never closed\n", "env:1"),
    ] {
        let message = parse_env_file("env", bad).unwrap_err().to_string();
        assert!(message.starts_with(named), "{bad:?}: {message}");
    }
    let secret = parse_env_file("env", "TOKEN=\"top-secret-value\n")
        .unwrap_err()
        .to_string();
    assert!(!secret.contains("top-secret-value"), "{secret}");
}

#[test]
fn environment_files_override_the_process_environment() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.env");
    let second = dir.path().join("second.env");
    std::fs::write(&first, "API_PORT=6401\nPLANS_TIMEZONE='Europe/Paris'\n").unwrap();
    std::fs::write(&second, "API_PORT=6402\n").unwrap();
    let config = Config::load(&LoadOptions {
        mock: true,
        env_files: vec![first, second],
        ..LoadOptions::default()
    })
    .unwrap();
    assert_eq!(config.api.port, 6402, "later files win");
    assert_eq!(config.plans.timezone, "Europe/Paris");
    let missing = Config::load(&LoadOptions {
        mock: true,
        env_files: vec![dir.path().join("nope.env")],
        ..LoadOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        missing.starts_with("cannot read the environment file ") && missing.contains("nope.env"),
        "{missing}"
    );
}

#[test]
fn the_api_host_must_be_an_address_or_a_host_name() {
    for good in [
        "0.0.0.0",
        "127.0.0.1",
        "::",
        "::1",
        "localhost",
        "plans.example.com",
        "db_1",
    ] {
        assert_eq!(
            load(None, &[TOKEN, ("API_HOST", good)]).unwrap().api.host,
            good
        );
    }
    for bad in [
        "not a host",
        "http://example.com",
        "[::1]",
        "-leading.dash",
        "a..b",
        "host:5000",
    ] {
        let message = error(None, &[TOKEN, ("API_HOST", bad)]);
        assert!(
            message.starts_with("invalid api.host (API_HOST): ") && message.contains(bad),
            "{bad}: {message}"
        );
    }
}

#[test]
fn the_api_address_is_resolved_as_serve_will_bind_it() {
    let resolved = load(
        None,
        &[TOKEN, ("API_HOST", "127.0.0.1"), ("API_PORT", "6500")],
    )
    .unwrap()
    .api
    .socket_addrs()
    .unwrap();
    assert_eq!(
        resolved,
        [std::net::SocketAddr::from(([127, 0, 0, 1], 6500))]
    );
}

// --- issue 11 (4) ---

#[test]
fn deprecated_cache_settings_are_accepted_with_one_warning_each_naming_what_to_use() {
    let quiet = load(Some("api:\n  port: 6000\n"), &[TOKEN]).unwrap();
    assert!(quiet.warnings().is_empty(), "{:?}", quiet.warnings());

    let c = load(
        Some("cache:\n  ttl_seconds: 60\n"),
        &[TOKEN, ("MAX_CACHE_SIZE", "7")],
    )
    .unwrap();
    assert_eq!(
        (c.cache.ttl, c.cache.max_size),
        (Duration::from_secs(60), 7),
        "still read, as before"
    );
    let lines: Vec<String> = c.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "cache.ttl_seconds (CACHE_TTL_SECONDS) is deprecated and has no effect; a client \
             sets how long it keeps plans with coach_plans_client::ClientBuilder::cache_ttl",
            "cache.max_size (MAX_CACHE_SIZE) is deprecated and has no effect; a client sets how \
             many plans it keeps with coach_plans_client::ClientBuilder::cache_capacity",
        ]
    );
    assert!(
        !c.to_masked_yaml().contains("\ncache:"),
        "check-config prints what is used: {}",
        c.to_masked_yaml()
    );
    assert!(
        error(Some("cache:\n  max_size: 0\n"), &[TOKEN]).starts_with("invalid cache.max_size"),
        "checked as before"
    );
}
