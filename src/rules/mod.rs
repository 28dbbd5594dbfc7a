//! The typed rule model: what a valid `accessRules` array means (docs/semantics.md).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::schema;

pub mod country;
pub(crate) mod network;

pub use country::{CountryCode, InvalidCountryCode, COUNTRY_CODE_COUNT};

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

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule matches (the `type` of a rule, see `docs/semantics.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
            RuleKind::Any => schema::TYPE_ANY,
            RuleKind::IpSrc(_) => schema::TYPE_IP_SRC,
            RuleKind::Country(_) => schema::TYPE_COUNTRY,
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

    /// The rule as the service's JSON (see the [`Serialize`] impl).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Rule {
    /// The service's JSON, keys in the order `type`, `ip`/`country`,
    /// `action`; `ip` entries in CIDR form, a /32 or /128 as a bare address.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Rule", 3)?;
        st.serialize_field(schema::FIELD_TYPE, self.kind.type_name())?;
        match &self.kind {
            RuleKind::Any => {}
            RuleKind::IpSrc(nets) => {
                let ips: Vec<String> = nets.iter().map(network_to_string).collect();
                st.serialize_field(schema::FIELD_IP, &ips)?;
            }
            RuleKind::Country(codes) => {
                let cs: Vec<&str> = codes.iter().map(CountryCode::as_str).collect();
                st.serialize_field(schema::FIELD_COUNTRY, &cs)?;
            }
        }
        st.serialize_field(schema::FIELD_ACTION, self.action.as_str())?;
        st.end()
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

/// A typed rule list, in evaluation order (index = [`RuleId`]).
///
/// Build one with [`RuleSet::from_json`] (validated) or [`RuleSet::new`]
/// (taken as given, e.g. generated rules).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RuleSet {
    /// The rules, first to last.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// A rule set from rules in evaluation order, taken as given (no
    /// validation, no limit on the count).
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        RuleSet { rules }
    }

    /// The rules as the service's JSON array (see [`Rule::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.rules.iter().map(Rule::to_json).collect())
    }

    /// The rule with this id, `None` past the end.
    pub fn get(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    /// The rules with their ids, first to last.
    pub fn iter(&self) -> impl Iterator<Item = (RuleId, &Rule)> + '_ {
        self.rules.iter().enumerate().map(|(i, r)| (RuleId::new(i), r))
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule (every viewer is allowed).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The identity of a rule: its 0-based position in the document's rule
/// list, the order in which the service tries rules.
///
/// Displays and serialises as the bare number (`2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RuleId(usize);

impl RuleId {
    /// The rule at 0-based position `index`.
    #[inline]
    pub const fn new(index: usize) -> RuleId {
        RuleId(index)
    }

    /// The 0-based position.
    #[inline]
    pub const fn index(self) -> usize {
        self.0
    }
}

impl From<RuleId> for usize {
    fn from(id: RuleId) -> usize {
        id.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A viewer: an address in canonical form plus an optional country (docs/semantics.md).
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
    /// A viewer at `ip` (canonicalised) in `country`; `None` says the
    /// country is unknown, which no country rule matches.
    #[inline]
    pub fn new(ip: IpAddr, country: Option<CountryCode>) -> Viewer {
        Viewer { ip: canonical_ip(ip), country }
    }

    /// A viewer at `ip` whose country is unknown: no country rule matches
    /// it. Resolve the country instead with [`crate::Matcher::decide_with`].
    #[inline]
    pub fn without_country(ip: IpAddr) -> Viewer {
        Viewer::new(ip, None)
    }

    /// The same viewer in another country (`None`: unknown).
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

/// Serialises as `{"ip": "192.0.2.1", "country": "US"|null}` (the witness
/// shape of `diff` and `report`).
impl Serialize for Viewer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Viewer", 2)?;
        st.serialize_field("ip", &self.ip)?;
        st.serialize_field("country", &self.country)?;
        st.end()
    }
}

/// The address a viewer is evaluated as: IPv4-mapped IPv6 (`::ffff:0:0/96`)
/// becomes IPv4; everything else is unchanged (`IpAddr::to_canonical`).
/// Never `Ipv6Addr::to_ipv4`, which would turn `::1` into `0.0.0.1`
/// (docs/semantics.md).
#[inline]
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The outcome for one viewer: the action and the rule that decided, `None`
/// when no rule matched (the default, [`DEFAULT_ACTION`]).
///
/// Displays as the CLI prints it: `block by rule 2`, `allow (no rule
/// matched; the default is allow)`. Serialises as
/// `{"decision": "allow"|"block", "rule": 0|null}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Decision {
    /// Allow or block.
    pub action: Action,
    /// The deciding rule; `None` for the default.
    pub rule: Option<RuleId>,
}

impl Decision {
    /// The decision of `rule` (or of no rule) with `action`.
    #[inline]
    pub const fn new(action: Action, rule: Option<RuleId>) -> Decision {
        Decision { action, rule }
    }

    /// The decision for a viewer no rule matches: allowed.
    pub const DEFAULT: Decision = Decision::new(DEFAULT_ACTION, None);

    /// Whether the viewer is allowed (the token is valid for it).
    #[inline]
    pub fn is_allow(&self) -> bool {
        self.action == Action::Allow
    }

    /// Whether the viewer is blocked.
    #[inline]
    pub fn is_block(&self) -> bool {
        self.action == Action::Block
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(r) => write!(f, "{} by rule {r}", self.action),
            None => write!(f, "{} (no rule matched; the default is {DEFAULT_ACTION})", self.action),
        }
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Decision", 2)?;
        st.serialize_field("decision", self.action.as_str())?;
        st.serialize_field("rule", &self.rule)?;
        st.end()
    }
}

/// What happens to a viewer no rule matches: allowed.
pub const DEFAULT_ACTION: Action = Action::Allow;

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
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"ip.src","ip":["203.0.113.7","2001:db8::/32"],"action":"block"}"#
        );
    }
}
