//! `charts.allowed_hosts`: the hosts chart images may be downloaded from, as `host[:port]`.

use std::fmt;
use std::net::Ipv6Addr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::settings::{is_host_name, shorten};

/// One entry of `charts.allowed_hosts`: a lowercase host name or IP address and an optional
/// port (`cdn.discordapp.com`, `127.0.0.1:9002`, `[::1]:9002`). Once held, it is valid.
///
/// An entry without a port allows only the URL scheme's default port (443 for https, 80 for
/// http): a fake Discord on another port must be listed with its port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChartHost {
    /// Lowercase; an IPv6 address without its brackets.
    host: String,
    port: Option<u16>,
}

impl ChartHost {
    /// Reads `host[:port]` (surrounding spaces ignored, the host lowercased), or says what is
    /// wrong with it, quoting the entry.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let text = entry.trim();
        let bad = |why: &str| {
            format!(
                "'{}' is not host[:port] ({why}; examples: cdn.discordapp.com, 127.0.0.1:9002)",
                shorten(text)
            )
        };
        if text.is_empty() {
            return Err("an entry is empty (write host names separated by commas)".to_owned());
        }
        if text.contains("://") {
            return Err(bad("no scheme"));
        }
        if text.contains(['/', '?', '#', '@']) || text.contains(char::is_whitespace) {
            return Err(bad("no path, query, user or spaces"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let address: Ipv6Addr = address
                .parse()
                .map_err(|_| bad("not an IPv6 address in brackets"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
            };
            (address.to_string(), port)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
                None => (text.to_ascii_lowercase(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host.parse::<Ipv6Addr>().is_err() && !is_host_name(&host) {
            return Err(bad("not a host name or an IP address"));
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port >= 1 => Some(port),
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        Ok(Self { host, port })
    }

    /// The host: lowercase, an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when the entry names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether a URL's `host` (any case, IPv6 with or without brackets) on `port` is this
    /// entry; `default_port` is the URL scheme's, which an entry without a port stands for.
    pub fn allows(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let same_host = match (host.parse::<Ipv6Addr>(), self.host.parse::<Ipv6Addr>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => host.eq_ignore_ascii_case(&self.host),
        };
        same_host && self.port.unwrap_or(default_port) == port
    }

    /// The default list: Discord's two CDN hosts.
    pub(crate) fn discord_cdn() -> Vec<Self> {
        ["cdn.discordapp.com", "media.discordapp.net"]
            .into_iter()
            .map(|host| Self {
                host: host.to_owned(),
                port: None,
            })
            .collect()
    }
}

impl fmt::Display for ChartHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl Serialize for ChartHost {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChartHost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::ChartHost;

    #[test]
    fn entries_are_read_lowercased_with_an_optional_port() {
        let host = ChartHost::parse(" CDN.DiscordApp.com ").unwrap();
        assert_eq!((host.host(), host.port()), ("cdn.discordapp.com", None));
        let host = ChartHost::parse("127.0.0.1:9002").unwrap();
        assert_eq!((host.host(), host.port()), ("127.0.0.1", Some(9002)));
        let host = ChartHost::parse("[::1]:8080").unwrap();
        assert_eq!((host.host(), host.port()), ("::1", Some(8080)));
        assert_eq!(host.to_string(), "[::1]:8080");
        assert_eq!(
            ChartHost::parse("Localhost").unwrap().to_string(),
            "localhost"
        );
    }

    #[test]
    fn a_bad_entry_is_refused_naming_it() {
        for (entry, says) in [
            ("https://cdn.discordapp.com", "no scheme"),
            ("cdn.discordapp.com/attachments", "no path"),
            ("cdn.discordapp.com:0", "from 1 to 65535"),
            ("cdn.discordapp.com:99999", "from 1 to 65535"),
            ("cdn.discordapp.com:", "from 1 to 65535"),
            (":443", "the host is empty"),
            ("bad_host!", "not a host name"),
            ("[::1", "unclosed"),
        ] {
            let error = ChartHost::parse(entry).unwrap_err();
            assert!(error.contains(&format!("'{entry}'")), "{entry}: {error}");
            assert!(error.contains(says), "{entry}: {error}");
        }
        assert!(ChartHost::parse("  ").unwrap_err().contains("empty"));
    }

    #[test]
    fn an_entry_without_a_port_allows_only_the_default_port() {
        let cdn = ChartHost::parse("cdn.discordapp.com").unwrap();
        assert!(cdn.allows("CDN.discordapp.com", 443, 443));
        assert!(!cdn.allows("cdn.discordapp.com", 8443, 443));
        assert!(!cdn.allows("media.discordapp.net", 443, 443));
        let fake = ChartHost::parse("127.0.0.1:9002").unwrap();
        assert!(fake.allows("127.0.0.1", 9002, 80));
        assert!(!fake.allows("127.0.0.1", 9003, 80));
        assert!(
            ChartHost::parse("[::1]:1")
                .unwrap()
                .allows("[0:0::1]", 1, 80)
        );
    }
}
