//! Structured random rule documents and viewers (`arbitrary`).
//!
//! Checks, for every generated document (≤ 5 rules, both address families,
//! /0, /32, /128, IPv4-mapped entries, host bits, assigned and pseudo
//! country codes; written as a bare array, a token request body, a token
//! payload or a JWT):
//!
//! * validation reports no error for a document generated as valid, and
//!   reads exactly the rules that were written;
//! * for every viewer (network boundaries and their neighbours, mapped and
//!   IPv4-compatible forms, `::1`, given or unknown country), the compiled
//!   matcher decides as the reference evaluator and as the rule-space
//!   partition, and `decide_resolving` / `needs_country` agree with it;
//! * the interval tables are canonical (sorted, disjoint, merged).
//!
//! `cargo fuzz fmt differential ARTIFACT` prints the document and viewers
//! (the `Debug` form below) as a reproducer.

#![no_main]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::country::{is_assigned, pseudo_code};
use accessrules::internals::space::RuleSpace;
use accessrules::{
    check, reference, Action, CountryCode, Limits, Matcher, Options, Rule, RuleSet, Viewer,
};
use arbitrary::{Arbitrary, Unstructured};
use base64::Engine;
use ipnet::IpNet;
use libfuzzer_sys::{fuzz_target, Corpus};

const NOW: i64 = 1_700_000_000;
const MAX_RULES: usize = 5;
const MAX_ENTRIES: usize = 12;
const MAX_VIEWERS: usize = 16;

/// Addresses at the edges of the families and of the special ranges.
const SPECIAL: &[&str] = &[
    "0.0.0.0",
    "0.0.0.1",
    "127.255.255.255",
    "128.0.0.0",
    "255.255.255.255",
    "::",
    "::1",
    "::2",
    "::ffff:0:0",
    "::ffff:ffff:ffff",
    "::fffe:ffff:ffff",
    "::1:0:0:0",
    "::5db8:d822",
    "64:ff9b::808:808",
    "2001:db8::",
    "fe80::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "8000::",
];

#[derive(Arbitrary, Clone, Copy)]
enum Form {
    Array,
    Body,
    Payload,
    Jwt,
}

#[derive(Arbitrary, Clone)]
enum GenAddr {
    V4(u32),
    V6(u128),
    /// `::ffff:a.b.c.d` (an IPv6 entry or viewer in mapped form).
    Mapped(u32),
    Special(u8),
}

impl GenAddr {
    fn ip(&self) -> IpAddr {
        match *self {
            GenAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(a)),
            GenAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(a)),
            GenAddr::Mapped(a) => IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()),
            GenAddr::Special(i) => SPECIAL[usize::from(i) % SPECIAL.len()].parse().unwrap(),
        }
    }
}

#[derive(Arbitrary, Clone)]
struct GenNet {
    addr: GenAddr,
    /// Reduced modulo the family's length + 1; `0xff` is a host entry.
    prefix: u8,
}

impl GenNet {
    fn net(&self) -> IpNet {
        let ip = self.addr.ip();
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = if self.prefix == 0xff { max } else { self.prefix % (max + 1) };
        IpNet::new(ip, len).unwrap()
    }
}

#[derive(Arbitrary, Clone)]
enum GenKind {
    Any,
    Ip(Vec<GenNet>),
    Country(Vec<u16>),
}

#[derive(Arbitrary, Clone)]
struct GenRule {
    kind: GenKind,
    block: bool,
}

#[derive(Arbitrary, Clone)]
enum ViewerAddr {
    Any(GenAddr),
    /// A boundary of a generated network: (rule, entry, which) where
    /// `which` picks first, last, first − 1, last + 1, and the mapped
    /// forms of IPv4 ones.
    Edge(u8, u8, u8),
}

#[derive(Arbitrary, Clone)]
enum ViewerCountry {
    Unknown,
    Index(u16),
    /// A code listed by a generated country rule: (rule, entry).
    FromRule(u8, u8),
}

#[derive(Arbitrary, Clone)]
struct GenViewer {
    addr: ViewerAddr,
    country: ViewerCountry,
}

struct Input {
    form: Form,
    rules: Vec<GenRule>,
    viewers: Vec<GenViewer>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Input> {
        Ok(Input { form: u.arbitrary()?, rules: u.arbitrary()?, viewers: u.arbitrary()? })
    }
}

/// A valid country code for a rule: an assigned code or a pseudo-code.
fn rule_country(i: u16) -> CountryCode {
    let start = usize::from(i) % 676;
    (0..676)
        .map(|k| CountryCode::from_index((start + k) % 676).unwrap())
        .find(|c| is_assigned(*c) || pseudo_code(c.as_str()).is_some())
        .unwrap()
}

impl Input {
    /// The rules as generated (empty lists get one entry: a generated
    /// document is always valid).
    fn rule_set(&self) -> RuleSet {
        let rules = self
            .rules
            .iter()
            .map(|r| {
                let action = if r.block { Action::Block } else { Action::Allow };
                match &r.kind {
                    GenKind::Any => Rule::any(action),
                    GenKind::Ip(nets) if nets.is_empty() => {
                        Rule::ip_src(vec!["198.51.100.0/24".parse().unwrap()], action)
                    }
                    GenKind::Ip(nets) => {
                        Rule::ip_src(nets.iter().map(GenNet::net).collect(), action)
                    }
                    GenKind::Country(cs) if cs.is_empty() => {
                        Rule::country(vec![CountryCode::new("US").unwrap()], action)
                    }
                    GenKind::Country(cs) => {
                        Rule::country(cs.iter().map(|&c| rule_country(c)).collect(), action)
                    }
                }
            })
            .collect();
        RuleSet::new(rules)
    }

    /// The document text in the chosen form.
    fn document(&self, rules: &RuleSet) -> String {
        let array = rules.to_json();
        let exp = NOW + 3600;
        match self.form {
            Form::Array => serde_json::to_string_pretty(&array).unwrap(),
            Form::Body => serde_json::json!({ "exp": exp, "accessRules": array }).to_string(),
            Form::Payload => serde_json::json!({
                "sub": "ea95132c15732412d22c1476fa83f27a",
                "kid": "f9b4b0c1e1ab4a8e9a2b1e8c2d0e7c61",
                "exp": exp,
                "accessRules": array,
            })
            .to_string(),
            Form::Jwt => {
                let b64 = |v: serde_json::Value| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
                };
                let header = serde_json::json!({ "alg": "RS256", "kid": "f9b4" });
                let payload = serde_json::json!({
                    "sub": "ea95132c15732412d22c1476fa83f27a",
                    "kid": "f9b4",
                    "exp": exp,
                    "accessRules": array,
                });
                format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(payload))
            }
        }
    }

    fn viewer(&self, rules: &RuleSet, v: &GenViewer) -> Viewer {
        let nets: Vec<Vec<IpNet>> = rules
            .rules
            .iter()
            .map(|r| match &r.kind {
                accessrules::RuleKind::IpSrc(n) => n.clone(),
                _ => vec![],
            })
            .collect();
        let ip = match &v.addr {
            ViewerAddr::Any(a) => a.ip(),
            ViewerAddr::Edge(r, e, which) => {
                let all: Vec<&IpNet> = nets.iter().flatten().collect();
                match all.get(usize::from(*r) * 7 + usize::from(*e)).or(all.first()) {
                    None => SPECIAL[usize::from(*which) % SPECIAL.len()].parse().unwrap(),
                    Some(net) => edge(net, *which),
                }
            }
        };
        let country = match v.country {
            ViewerCountry::Unknown => None,
            ViewerCountry::Index(i) => CountryCode::from_index(usize::from(i) % 676),
            ViewerCountry::FromRule(r, e) => {
                let codes: Vec<CountryCode> = rules
                    .rules
                    .iter()
                    .skip(usize::from(r) % rules.rules.len().max(1))
                    .flat_map(|r| match &r.kind {
                        accessrules::RuleKind::Country(c) => c.clone(),
                        _ => vec![],
                    })
                    .collect();
                codes.get(usize::from(e) % codes.len().max(1)).copied()
            }
        };
        Viewer::new(ip, country)
    }
}

/// First, last, and the neighbours of a network; IPv4 ones also mapped.
fn edge(net: &IpNet, which: u8) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
            let a = match which % 4 {
                0 => lo,
                1 => hi,
                2 => lo.wrapping_sub(1),
                _ => hi.wrapping_add(1),
            };
            let v4 = Ipv4Addr::from(a);
            match (which / 4) % 3 {
                0 => IpAddr::V4(v4),
                1 => IpAddr::V6(v4.to_ipv6_mapped()),
                _ => IpAddr::V6(v4.to_ipv6_compatible()),
            }
        }
        IpNet::V6(n) => {
            let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
            let a = match which % 4 {
                0 => lo,
                1 => hi,
                2 => lo.wrapping_sub(1),
                _ => hi.wrapping_add(1),
            };
            IpAddr::V6(Ipv6Addr::from(a))
        }
    }
}

impl fmt::Debug for Input {
    /// A reproducer: the document and the viewers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules = self.rule_set();
        writeln!(f, "document:\n{}", self.document(&rules))?;
        writeln!(f, "viewers:")?;
        for v in &self.viewers {
            let viewer = self.viewer(&rules, v);
            match viewer.country() {
                Some(c) => writeln!(f, "  {},{c}", viewer.ip())?,
                None => writeln!(f, "  {}", viewer.ip())?,
            }
        }
        Ok(())
    }
}

fuzz_target!(|input: Input| -> Corpus {
    let too_many_entries = input.rules.iter().any(|r| match &r.kind {
        GenKind::Any => false,
        GenKind::Ip(n) => n.len() > MAX_ENTRIES,
        GenKind::Country(c) => c.len() > MAX_ENTRIES,
    });
    if input.rules.len() > MAX_RULES || input.viewers.len() > MAX_VIEWERS || too_many_entries {
        return Corpus::Reject;
    }
    let rules = input.rule_set();
    let text = input.document(&rules);
    let options = Options::at(NOW).with_limits(Limits::default());
    let v = check(text.as_bytes(), &options);
    let errors: Vec<String> =
        v.diagnostics().iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "a generated valid document has errors: {errors:#?}\n{text}");
    assert_eq!(v.rule_set(), Some(&rules), "validation read other rules than written:\n{text}");

    let matcher = Matcher::new(&rules).unwrap();
    assert!(matcher.tables_are_canonical());
    let space = RuleSpace::new(&rules);

    let mut viewers: Vec<Viewer> = input.viewers.iter().map(|g| input.viewer(&rules, g)).collect();
    // Always include the families' corners.
    for s in ["0.0.0.0", "255.255.255.255", "::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
    {
        viewers.push(Viewer::without_country(s.parse().unwrap()));
    }
    for viewer in &viewers {
        assert!(!matches!(viewer.ip(), IpAddr::V6(a) if a.to_ipv4_mapped().is_some()));
        let compiled = matcher.decide(viewer);
        let expected = reference::evaluate(&rules, viewer);
        assert_eq!(compiled, expected, "matcher vs reference for {viewer:?}");
        assert_eq!(
            space.decide(space.matching(viewer)),
            expected,
            "space vs reference for {viewer:?}"
        );
        let resolved =
            matcher.decide_resolving::<()>(viewer.ip(), |_| Ok(viewer.country())).unwrap();
        assert_eq!(resolved, expected, "decide_resolving for {viewer:?}");
        if !matcher.needs_country(viewer.ip()) {
            let unknown = Viewer::without_country(viewer.ip());
            assert_eq!(matcher.decide(&unknown), expected, "needs_country for {viewer:?}");
        }
    }
    Corpus::Keep
});
