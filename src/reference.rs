//! The reference evaluator: the plain first-to-last loop of docs/semantics.md.
//!
//! It is the oracle the compiled [`crate::Matcher`] is held to by property
//! tests and the differential fuzz target; it is kept simple on purpose.
//! With `maxminddb_country` (feature `internals`) it is also the plain evaluator of docs/performance.md,
//! the baseline of the benchmarks.

use crate::rules::{Decision, Rule, RuleId, RuleKind, RuleSet, Viewer};

/// Whether `rule` matches `viewer` (docs/semantics.md): `any` always; `ip.src` when
/// the viewer's canonical address lies in a listed network of its own
/// family; a country rule when the viewer's country is known and listed.
pub fn rule_matches(rule: &Rule, viewer: &Viewer) -> bool {
    match &rule.kind {
        RuleKind::Any => true,
        // `IpNet::contains` is false across families, as docs/semantics.md requires.
        RuleKind::IpSrc(nets) => nets.iter().any(|n| n.contains(&viewer.ip())),
        RuleKind::Country(codes) => viewer.country().is_some_and(|c| codes.contains(&c)),
    }
}

/// The decision for `viewer`: the first matching rule's action and index,
/// or the default allow with no index.
pub fn evaluate(rules: &RuleSet, viewer: &Viewer) -> Decision {
    rules
        .rules
        .iter()
        .position(|r| rule_matches(r, viewer))
        .map_or(Decision::DEFAULT, |i| Decision::new(rules.rules[i].action, Some(RuleId::new(i))))
}

#[cfg(feature = "internals")]
#[doc(hidden)]
pub use plain_geo::maxminddb_country;

/// The plain GeoIP lookup of the benchmarks' baseline.
#[cfg(feature = "internals")]
mod plain_geo {
    use std::net::IpAddr;

    use crate::rules::CountryCode;

    /// The record fields a country can come from (docs/semantics.md layouts).
    #[derive(serde::Deserialize)]
    struct CountryFields<'a> {
        #[serde(borrow)]
        country: Option<IsoCode<'a>>,
        #[serde(borrow)]
        registered_country: Option<IsoCode<'a>>,
        #[serde(borrow)]
        country_code: Option<&'a str>,
    }

    #[derive(serde::Deserialize)]
    struct IsoCode<'a> {
        #[serde(borrow)]
        iso_code: Option<&'a str>,
    }

    /// The plain country lookup of docs/performance.md: `reader`'s lookup and decode of
    /// the record of `ip`, on every call; the country from `country.iso_code`,
    /// else `registered_country.iso_code`, else `country_code` (docs/semantics.md), in
    /// either case. `None` for no record, no country field, a value that is not
    /// a country code, or an IPv6 address in an IPv4-only database.
    ///
    /// # Errors
    ///
    /// The reader's, on a damaged database.
    pub fn maxminddb_country<S: AsRef<[u8]>>(
        reader: &maxminddb::Reader<S>,
        ip: IpAddr,
    ) -> Result<Option<CountryCode>, maxminddb::MaxMindDbError> {
        if ip.is_ipv6() && reader.metadata().ip_version == 4 {
            return Ok(None);
        }
        let Some(record) = reader.lookup(ip)?.decode::<CountryFields<'_>>()? else {
            return Ok(None);
        };
        let code = record
            .country
            .and_then(|c| c.iso_code)
            .or_else(|| record.registered_country.and_then(|c| c.iso_code))
            .or(record.country_code);
        Ok(code.and_then(CountryCode::new_case_insensitive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Action, CountryCode};

    fn v(ip: &str) -> Viewer {
        Viewer::without_country(ip.parse().unwrap())
    }

    #[test]
    fn issue_cases() {
        let allow_only = RuleSet::new(vec![Rule::ip_src(
            vec!["203.0.113.7/32".parse().unwrap()],
            Action::Allow,
        )]);
        assert_eq!(evaluate(&allow_only, &v("198.51.100.9")), Decision::DEFAULT);

        let v4_then_block = RuleSet::new(vec![
            Rule::ip_src(vec!["93.184.216.0/24".parse().unwrap()], Action::Allow),
            Rule::any(Action::Block),
        ]);
        let d = evaluate(&v4_then_block, &v("2606:2800:220:1::1"));
        assert_eq!(d, Decision::new(Action::Block, Some(RuleId::new(1))));

        let mapped = RuleSet::new(vec![Rule::ip_src(
            vec!["93.184.216.0/24".parse().unwrap()],
            Action::Block,
        )]);
        assert_eq!(evaluate(&mapped, &v("::ffff:93.184.216.34")).rule, Some(RuleId::new(0)));

        let host = RuleSet::new(vec![Rule::ip_src(
            vec!["2001:db8::2/128".parse().unwrap(), "203.0.113.7/32".parse().unwrap()],
            Action::Block,
        )]);
        assert_eq!(evaluate(&host, &v("2001:db8::1")), Decision::DEFAULT);
        assert_eq!(evaluate(&host, &v("2001:db8::2")).rule, Some(RuleId::new(0)));

        let country =
            RuleSet::new(vec![Rule::country(vec![CountryCode::new("US").unwrap()], Action::Block)]);
        assert_eq!(evaluate(&country, &v("10.0.0.1")), Decision::DEFAULT);
        let us = v("8.8.8.8").with_country(CountryCode::new("US"));
        assert_eq!(evaluate(&country, &us).action, Action::Block);
    }
}
