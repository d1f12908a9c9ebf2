//! Telegram DC addresses (pure): the production defaults and `TELEGRAM_DC_ADDRESS` overrides
//! (`2=host:port,4=host:port`), e.g. to point the bot at a fake DC in tests.

/// Production DC addresses, IPv4, port 443, as pyrogram 2.0.106 lists them
/// (`session/internals/data_center.py`, `DataCenter.PROD`; Telethon 1.45 has DC 2's only).
/// TDLib's built-in list differs for DC 1 (.50) and DC 5 (149.154.171.5); `help.getConfig`
/// gives the current ones.
pub(crate) const PRODUCTION: [(i32, &str); 5] =
    [(1, "149.154.175.53"), (2, "149.154.167.51"), (3, "149.154.175.100"), (4, "149.154.167.91"), (5, "91.108.56.130")];
/// The port of the production addresses.
pub(crate) const PRODUCTION_PORT: u16 = 443;
/// At most this many overrides (Telegram has five DCs; a few spare for test setups).
pub(crate) const MAX_OVERRIDES: usize = 16;

/// Where to connect for one DC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DcAddress {
    /// The DC id (1-5 in production).
    pub(crate) dc: i32,
    /// Host name or IP address.
    pub(crate) host: String,
    /// TCP port.
    pub(crate) port: u16,
}

/// The addresses in use: overrides first, then the production defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DcTable {
    overrides: Vec<DcAddress>,
}

impl DcTable {
    /// A table from a parsed `TELEGRAM_DC_ADDRESS` value.
    pub(crate) fn new(overrides: Vec<DcAddress>) -> DcTable {
        DcTable { overrides }
    }

    /// The address of `dc`: its override, else its production default, else `None`.
    pub(crate) fn address(&self, dc: i32) -> Option<DcAddress> {
        if let Some(found) = self.overrides.iter().find(|a| a.dc == dc) {
            return Some(found.clone());
        }
        PRODUCTION.iter().find(|(id, _)| *id == dc).map(|(id, host)| DcAddress {
            dc: *id,
            host: (*host).to_string(),
            port: PRODUCTION_PORT,
        })
    }
}

/// A `TELEGRAM_DC_ADDRESS` entry that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverrideError {
    /// The entry as written.
    pub entry: String,
    pub why: OverrideFault,
}

/// What is wrong with one override entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OverrideFault {
    /// The entry does not read as `DC=host:port`; the text says which part.
    Malformed(&'static str),
    /// A second entry for this DC.
    Twice(i32),
    /// More than [`MAX_OVERRIDES`] entries.
    TooMany,
}

impl std::fmt::Display for OverrideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entry = &self.entry;
        match self.why {
            OverrideFault::Malformed(why) => write!(f, "`{entry}`: {why}"),
            OverrideFault::Twice(dc) => write!(f, "`{entry}`: DC {dc} given twice"),
            OverrideFault::TooMany => write!(f, "`{entry}`: more than {MAX_OVERRIDES} entries"),
        }
    }
}

impl std::error::Error for OverrideError {}

/// `2=host:port,4=[::1]:443` into overrides; the error names the bad entry.
pub(crate) fn parse_overrides(value: &str) -> Result<Vec<DcAddress>, OverrideError> {
    let mut out: Vec<DcAddress> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let fault = |why| OverrideError { entry: entry.to_owned(), why };
        let parsed = parse_entry(entry).map_err(|why| fault(OverrideFault::Malformed(why)))?;
        if out.iter().any(|a| a.dc == parsed.dc) {
            return Err(fault(OverrideFault::Twice(parsed.dc)));
        }
        if out.len() == MAX_OVERRIDES {
            return Err(fault(OverrideFault::TooMany));
        }
        out.push(parsed);
    }
    Ok(out)
}

fn parse_entry(entry: &str) -> Result<DcAddress, &'static str> {
    let (dc, address) = entry.split_once('=').ok_or("expected DC=host:port")?;
    let dc: i32 = dc.trim().parse().map_err(|_| "the DC id is not a number")?;
    if !(1..=1000).contains(&dc) {
        return Err("the DC id is not in 1..=1000");
    }
    let (host, port) = address.trim().rsplit_once(':').ok_or("expected host:port")?;
    let port: u16 = port.parse().map_err(|_| "the port is not a number in 1..=65535")?;
    // `[::1]` for IPv6, as in URLs; the brackets go, async-net resolves the bare address.
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if port == 0 || host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err("expected host:port with a non-empty host and a port in 1..=65535");
    }
    Ok(DcAddress { dc, host: host.to_string(), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(dc: i32, host: &str, port: u16) -> DcAddress {
        DcAddress { dc, host: host.into(), port }
    }

    #[test]
    fn overrides_parse_with_spaces_and_ipv6() {
        let parsed = parse_overrides(" 2=127.0.0.1:4430, 4=[::1]:443,5=dc5.example:80 ,").unwrap();
        assert_eq!(parsed, vec![addr(2, "127.0.0.1", 4430), addr(4, "::1", 443), addr(5, "dc5.example", 80)]);
        assert_eq!(parse_overrides(""), Ok(vec![]));
    }

    #[test]
    fn a_bad_entry_is_named_in_the_error() {
        for (value, bad) in [
            ("2=127.0.0.1", "`2=127.0.0.1`"),
            ("2=a:1,x=b:2", "`x=b:2`"),
            ("2=a:0", "`2=a:0`"),
            ("2=:443", "`2=:443`"),
            ("2=a:1,2=b:2", "`2=b:2`"),
            ("0=a:1", "`0=a:1`"),
            ("2=a:99999", "`2=a:99999`"),
        ] {
            let error = parse_overrides(value).unwrap_err().to_string();
            assert!(error.starts_with(bad), "{value}: {error}");
        }
    }

    #[test]
    fn more_than_the_bound_of_entries_is_refused() {
        let value: Vec<String> = (1..=17).map(|dc| format!("{dc}=h:1")).collect();
        let error = parse_overrides(&value.join(",")).unwrap_err();
        assert_eq!(error.why, OverrideFault::TooMany);
        assert!(error.to_string().contains("more than 16"), "{error}");
    }

    #[test]
    fn an_override_wins_over_the_production_default() {
        let table = DcTable::new(vec![addr(2, "127.0.0.1", 4430)]);
        assert_eq!(table.address(2), Some(addr(2, "127.0.0.1", 4430)));
        assert_eq!(table.address(4), Some(addr(4, "149.154.167.91", 443)));
        assert_eq!(table.address(1), Some(addr(1, "149.154.175.53", 443)));
        assert_eq!(table.address(5), Some(addr(5, "91.108.56.130", 443)));
        assert_eq!(table.address(6), None);
    }
}
