//! The typed rule model: what a valid `accessRules` array means (SPEC §1, §2).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Most rules the service accepts in one token (SPEC §1).
pub const MAX_RULES: usize = 5;

/// What a rule does to a viewer it matches: the wire values `allow` / `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `"allow"`: the token is valid for the viewer.
    Allow,
    /// `"block"`: the token is refused for the viewer.
    Block,
}

impl Action {
    /// The wire spelling: `"allow"` or `"block"`.
    #[inline]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters.
///
/// Construction checks the shape only (`[A-Z]{2}`); whether the code is
/// assigned is the validator's business ([`crate::country::is_assigned`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The code from an upper-case ASCII letter and an upper-case letter or
    /// digit (`US`; the digit admits the pseudo-codes `T1`, `A1`, `A2`,
    /// `O1` that appear in the wild); `None` for anything else.
    pub fn new(code: &str) -> Option<CountryCode> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && (b.is_ascii_uppercase() || b.is_ascii_digit()) => {
                Some(CountryCode([a, b]))
            }
            _ => None,
        }
    }

    /// The code from two ASCII letters of either case (`us` → `US`), as a
    /// viewer's country is given on the command line (SPEC §4).
    pub fn new_case_insensitive(code: &str) -> Option<CountryCode> {
        CountryCode::new(&code.to_ascii_uppercase())
    }

    /// The two letters as bytes.
    #[inline]
    pub fn as_bytes(&self) -> [u8; 2] {
        self.0
    }

    /// The code as a `&str` (`"US"`).
    #[inline]
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A dense index in `0..COUNTRY_CODE_COUNT` for per-code tables: the
    /// letter times 36 plus the second character (`0`–`9` = 0–9, `A`–`Z` =
    /// 10–35); `A0` = 0, `ZZ` = 935.
    #[inline]
    pub fn index(&self) -> usize {
        Self::index_of(self.0)
    }

    /// [`CountryCode::index`] of a code's two bytes (checked upper-case
    /// letter, then upper-case letter or digit), usable in constants.
    pub(crate) const fn index_of([first, second]: [u8; 2]) -> usize {
        let second = match second {
            d @ b'0'..=b'9' => d - b'0',
            l => l - b'A' + 10,
        };
        (first - b'A') as usize * 36 + second as usize
    }

    /// The code at a dense index (the inverse of [`CountryCode::index`]);
    /// `None` when `index >= COUNTRY_CODE_COUNT`.
    #[inline]
    pub fn from_index(index: usize) -> Option<CountryCode> {
        (index < COUNTRY_CODE_COUNT).then(|| {
            let second = (index % 36) as u8;
            let second = if second < 10 { b'0' + second } else { b'A' + second - 10 };
            CountryCode([b'A' + (index / 36) as u8, second])
        })
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = InvalidCountryCode;

    /// Strict: two upper-case letters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryCode::new(s).ok_or_else(|| InvalidCountryCode(s.to_owned()))
    }
}

/// How many codes [`CountryCode`] can hold (26 letters × 36 letters and
/// digits), the size of per-code tables.
pub const COUNTRY_CODE_COUNT: usize = 26 * 36;

/// A string that is not two upper-case ASCII letters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a two-letter upper-case country code")]
pub struct InvalidCountryCode(pub String);

/// What a rule matches (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `"any"`: every viewer.
    Any,
    /// `"ip.src"`: viewers whose address lies in one of the networks, each
    /// matching only its own family. Entries are kept as written (host bits
    /// and IPv4-mapped IPv6 networks included).
    IpSrc(Vec<IpNet>),
    /// `"ip.geoip.country"`: viewers whose known country is in the list.
    Country(Vec<CountryCode>),
}

impl RuleKind {
    /// The wire name of the type: `any`, `ip.src` or `ip.geoip.country`.
    pub fn type_name(&self) -> &'static str {
        match self {
            RuleKind::Any => "any",
            RuleKind::IpSrc(_) => "ip.src",
            RuleKind::Country(_) => "ip.geoip.country",
        }
    }
}

/// One rule: a kind and an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// What the rule matches.
    pub kind: RuleKind,
    /// What it does to a viewer it matches.
    pub action: Action,
}

impl Rule {
    /// `{"type":"any","action":...}`.
    pub fn any(action: Action) -> Rule {
        Rule { kind: RuleKind::Any, action }
    }

    /// `{"type":"ip.src","ip":[...],"action":...}`.
    pub fn ip_src(networks: Vec<IpNet>, action: Action) -> Rule {
        Rule { kind: RuleKind::IpSrc(networks), action }
    }

    /// `{"type":"ip.geoip.country","country":[...],"action":...}`.
    pub fn country(codes: Vec<CountryCode>, action: Action) -> Rule {
        Rule { kind: RuleKind::Country(codes), action }
    }

    /// The rule as the service's JSON (`ip` entries in CIDR form; a /32 or
    /// /128 as a bare address).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), self.kind.type_name().into());
        match &self.kind {
            RuleKind::Any => {}
            RuleKind::IpSrc(nets) => {
                let ips =
                    nets.iter().map(|n| serde_json::Value::from(network_to_string(n))).collect();
                map.insert("ip".into(), serde_json::Value::Array(ips));
            }
            RuleKind::Country(codes) => {
                let cs = codes.iter().map(|c| serde_json::Value::from(c.as_str())).collect();
                map.insert("country".into(), serde_json::Value::Array(cs));
            }
        }
        map.insert("action".into(), self.action.as_str().into());
        serde_json::Value::Object(map)
    }
}

/// A network as users write it: a bare address for a single host
/// (`203.0.113.7`, `2001:db8::1`), CIDR otherwise (`198.51.100.0/24`).
pub fn network_to_string(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// A parsed, typed rule list, in evaluation order (index = rule number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// The rules, first to last.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// A rule set from rules in evaluation order.
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        RuleSet { rules }
    }

    /// The rules as the service's JSON array (see [`Rule::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.rules.iter().map(Rule::to_json).collect())
    }
}

/// A viewer: an address in canonical form plus an optional country (SPEC §2).
///
/// The address is canonical: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
/// is stored as its IPv4 address; every other IPv6 address, `::1` and the
/// IPv4-compatible `::a.b.c.d` included, stays IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Viewer {
    ip: IpAddr,
    country: Option<CountryCode>,
}

impl Viewer {
    /// A viewer at `ip` (canonicalised) with no known country.
    #[inline]
    pub fn new(ip: IpAddr) -> Viewer {
        Viewer { ip: canonical_ip(ip), country: None }
    }

    /// The same viewer with a known country.
    #[inline]
    pub fn with_country(self, country: Option<CountryCode>) -> Viewer {
        Viewer { country, ..self }
    }

    /// The canonical address.
    #[inline]
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The country, `None` when unknown.
    #[inline]
    pub fn country(&self) -> Option<CountryCode> {
        self.country
    }
}

/// The address a viewer is evaluated as: IPv4-mapped IPv6 (`::ffff:0:0/96`)
/// becomes IPv4; everything else is unchanged. Never `Ipv6Addr::to_ipv4`,
/// which would turn `::1` into `0.0.0.1` (SPEC §2).
#[inline]
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The outcome for one viewer: the action and the 0-based index of the rule
/// that decided, `None` when no rule matched (the default, [`DEFAULT_ACTION`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Allow or block.
    pub action: Action,
    /// The deciding rule; `None` for the default.
    pub rule: Option<usize>,
}

/// What happens to a viewer no rule matches: allowed (SPEC §2).
pub const DEFAULT_ACTION: Action = Action::Allow;

impl Decision {
    /// The decision when no rule matched.
    pub const DEFAULT: Decision = Decision { action: DEFAULT_ACTION, rule: None };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ip_converts_only_mapped() {
        let c = |s: &str| canonical_ip(s.parse().unwrap()).to_string();
        assert_eq!(c("::ffff:93.184.216.34"), "93.184.216.34");
        assert_eq!(c("::1"), "::1");
        assert_eq!(c("::5db8:d822"), "::5db8:d822");
        assert_eq!(c("2001:db8::1"), "2001:db8::1");
        assert_eq!(c("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn country_code_shapes() {
        assert!(CountryCode::new("US").is_some());
        assert!(CountryCode::new("us").is_none());
        assert!(CountryCode::new("USA").is_none());
        assert_eq!(CountryCode::new_case_insensitive("gb").unwrap().as_str(), "GB");
        let zz = CountryCode::new("ZZ").unwrap();
        assert_eq!(zz.index(), COUNTRY_CODE_COUNT - 1);
        assert_eq!(CountryCode::from_index(COUNTRY_CODE_COUNT - 1), Some(zz));
        assert_eq!(CountryCode::from_index(COUNTRY_CODE_COUNT), None);
        assert!(CountryCode::new("T1").is_some());
        assert!(CountryCode::new("1T").is_none());
        for i in 0..COUNTRY_CODE_COUNT {
            assert_eq!(CountryCode::from_index(i).unwrap().index(), i);
        }
    }

    #[test]
    fn rule_json_uses_bare_addresses_for_hosts() {
        let r = Rule::ip_src(
            vec!["203.0.113.7/32".parse().unwrap(), "2001:db8::/32".parse().unwrap()],
            Action::Block,
        );
        assert_eq!(
            r.to_json().to_string(),
            r#"{"type":"ip.src","ip":["203.0.113.7","2001:db8::/32"],"action":"block"}"#
        );
    }
}
