//! Secrets that never reach a log line.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret value (a bot token, an API token). `Debug`, `Display` and `Serialize` print `***` so
/// a secret cannot leak through a log line, an error message or a printed configuration;
/// [`Secret::expose`] is the one way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// A PostgreSQL connection URL (`database.url`), which may carry a password. `Debug`,
/// `Display` and `Serialize` show it with the password (in the user part, or a `password=`
/// parameter) replaced by `***`, so the host and database stay visible in `check-config` and
/// in log lines while the password never reaches them; [`DatabaseUrl::expose`] is the one way
/// to the whole URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The URL itself, password included, for the driver that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password masked: `postgres://coach:***@db.example/plans`.
    pub fn masked(&self) -> String {
        mask_url_password(&self.0)
    }
}

/// `url` with any password it carries replaced by `***`: the one in `user:password@` and the
/// value of a `password=` query parameter. Text that is not a URL comes back masked whole
/// when it has an `@` (it may hold a password we cannot find), unchanged otherwise.
///
/// A password written without percent-encoding may hold `/`, `?`, `#` or `@`, so the user info
/// is taken to end at the *last* `@` of the URL, wherever the first `/` is: the password is
/// never shown, at the price of masking too much when only a query value holds an `@`.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            "***".to_owned()
        } else {
            url.to_owned()
        };
    };
    let (authority, tail) = match rest.rsplit_once('@') {
        Some((user_info, after)) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let (host, tail) = after.split_at(end);
            let shown = match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:***@{host}"),
                None if user_info.contains(['/', '?', '#']) => format!("***@{host}"),
                None => format!("{user_info}@{host}"),
            };
            (shown, tail)
        }
        None => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (host, tail) = rest.split_at(end);
            (host.to_owned(), tail)
        }
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod database_url_tests {
    use super::*;

    #[test]
    fn a_database_urls_password_is_masked_wherever_it_is_written() {
        for (url, shown) in [
            (
                "postgres://coach:s3cret@db.example:5432/plans",
                "postgres://coach:***@db.example:5432/plans",
            ),
            (
                "postgresql://coach:p%40ss@w@db/plans?sslmode=require",
                "postgresql://coach:***@db/plans?sslmode=require",
            ),
            (
                "postgres://coach@db/plans?sslmode=verify-full&password=s3cret",
                "postgres://coach@db/plans?sslmode=verify-full&password=***",
            ),
            ("postgres://db.example/plans", "postgres://db.example/plans"),
            // Passwords written raw, with the characters that end an authority.
            (
                "postgres://coach:s3cret/x@db:5432/plans",
                "postgres://coach:***@db:5432/plans",
            ),
            (
                "postgres://coach:s3cret?x@db/plans?sslmode=require",
                "postgres://coach:***@db/plans?sslmode=require",
            ),
            (
                "postgres://coach:s3cret#x@db/plans",
                "postgres://coach:***@db/plans",
            ),
            (
                "postgres://coach:s3c@ret/@db/plans",
                "postgres://coach:***@db/plans",
            ),
        ] {
            let url = DatabaseUrl::new(url);
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), format!("DatabaseUrl({shown})"));
            let yaml = serde_yaml::to_string(&url).unwrap();
            assert!(yaml.contains(shown), "{yaml}");
            assert!(
                !yaml.contains("s3cret") && !yaml.contains("p%40ss"),
                "{yaml}"
            );
        }
    }
}
