//! The wire vocabulary of Stream token documents: field names of each
//! object, rule types, actions, and the synonyms and misspellings people
//! write for them. Validation, `--fix` and (later) signing all read it
//! from here. Source: Cloudflare Stream, "Secure your Stream" and the
//! `POST /accounts/{account_id}/stream/{identifier}/token` API reference.

/// `type` of a rule.
pub const FIELD_TYPE: &str = "type";
/// `action` of a rule.
pub const FIELD_ACTION: &str = "action";
/// `ip` of an `ip.src` rule.
pub const FIELD_IP: &str = "ip";
/// `country` of an `ip.geoip.country` rule.
pub const FIELD_COUNTRY: &str = "country";
/// The rule list of a request body or token payload.
pub const FIELD_ACCESS_RULES: &str = "accessRules";
/// Signing-key id of a request body (goes with `pem`).
pub const FIELD_ID: &str = "id";
/// Base64 of a PEM RSA private key in a request body (goes with `id`).
pub const FIELD_PEM: &str = "pem";
/// Expiry, Unix seconds.
pub const FIELD_EXP: &str = "exp";
/// Not before, Unix seconds.
pub const FIELD_NBF: &str = "nbf";
/// Issued at, Unix seconds (signed tokens).
pub const FIELD_IAT: &str = "iat";
/// Whether the video may be downloaded.
pub const FIELD_DOWNLOADABLE: &str = "downloadable";
/// Video uid of a signed-token payload.
pub const FIELD_SUB: &str = "sub";
/// Signing-key id of a signed-token payload.
pub const FIELD_KID: &str = "kid";
/// Options of a request body, such as `{"original": true}` (the Workers
/// Stream binding writes it); an object. Not part of the rules.
pub const FIELD_FLAGS: &str = "flags";

/// The expiry the service gives a request body without `exp`: one hour
/// after issuing (`POST .../stream/{identifier}/token` reference).
pub const SERVICE_DEFAULT_EXP_SECS: i64 = 60 * 60;
/// How long before issuing the service sets `nbf` when the request has
/// none: one hour (`POST .../stream/{identifier}/token` reference). The
/// service writes no `iat`, so a token without `iat` is taken as issued
/// at `nbf` + this (docs/semantics.md, "Token times").
pub const SERVICE_NBF_BEFORE_ISSUE_SECS: i64 = 60 * 60;

/// The `type` that matches every viewer.
pub const TYPE_ANY: &str = "any";
/// The `type` that matches by viewer address.
pub const TYPE_IP_SRC: &str = "ip.src";
/// The `type` that matches by viewer country.
pub const TYPE_COUNTRY: &str = "ip.geoip.country";

/// Most rules the service accepts in one token.
pub const MAX_RULES: usize = 5;

/// How long a token may live: `exp` at most 24 hours after the issue time
/// (Cloudflare Stream, "Signing tokens": tokens expire within 24 hours).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;

pub(crate) const TOP_FIELDS: &[&str] = &[
    FIELD_ID,
    FIELD_PEM,
    FIELD_EXP,
    FIELD_NBF,
    FIELD_DOWNLOADABLE,
    FIELD_ACCESS_RULES,
    FIELD_SUB,
    FIELD_KID,
    FIELD_IAT,
    FIELD_FLAGS,
];
pub(crate) const RULE_FIELDS: &[&str] = &[FIELD_TYPE, FIELD_ACTION, FIELD_IP, FIELD_COUNTRY];
pub(crate) const RULE_TYPES: &[&str] = &[TYPE_ANY, TYPE_IP_SRC, TYPE_COUNTRY];
pub(crate) const ACTIONS: &[&str] = &["allow", "block"];

/// Names people write for a known field; the value is the right name.
const FIELD_SYNONYMS: &[(&str, &str)] = &[
    ("countries", "country"),
    ("country_code", "country"),
    ("countrycode", "country"),
    ("ips", "ip"),
    ("ip_src", "ip"),
    ("cidr", "ip"),
    ("cidrs", "ip"),
    ("addresses", "ip"),
    ("networks", "ip"),
    ("ranges", "ip"),
    ("access_rules", "accessRules"),
    ("accessrule", "accessRules"),
    ("rules", "accessRules"),
    ("expires", "exp"),
    ("expiry", "exp"),
    ("expiration", "exp"),
    ("notbefore", "nbf"),
    ("not_before", "nbf"),
    ("actions", "action"),
    ("types", "type"),
    ("keyid", "id"),
    ("key_id", "id"),
];

/// The known field `key` most likely stands for, if it is a misspelling,
/// a wrong case or a synonym of one.
pub(crate) fn misspelt_field(key: &str, known: &[&str]) -> Option<&'static str> {
    let norm = |s: &str| {
        s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase()
    };
    let k = norm(key);
    if let Some((_, to)) = FIELD_SYNONYMS.iter().find(|(from, _)| norm(from) == k) {
        return known.iter().find(|f| *f == to).map(|_| *to).and_then(|to| static_field(to));
    }
    known
        .iter()
        .find(|f| norm(f) == k || (k.len() >= 4 && edit_distance(&norm(f), &k) <= 1))
        .and_then(|f| static_field(f))
}

fn static_field(f: &str) -> Option<&'static str> {
    TOP_FIELDS.iter().chain(RULE_FIELDS).find(|k| **k == f).copied()
}

/// Levenshtein distance, for short field names only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(crate) fn suggest_type(t: &str) -> Option<&'static str> {
    let l = t.trim().to_ascii_lowercase();
    if let Some(exact) = RULE_TYPES.iter().find(|k| **k == l) {
        return Some(exact);
    }
    if l.contains("country") || l.contains("geo") {
        Some("ip.geoip.country")
    } else if l.contains("ip") || l.contains("cidr") || l.contains("src") {
        Some("ip.src")
    } else if ["all", "*", "everyone", "everything", "default"].contains(&l.as_str()) {
        Some("any")
    } else {
        None
    }
}

pub(crate) fn suggest_action(a: &str) -> Option<&'static str> {
    match a.trim().to_ascii_lowercase().as_str() {
        "allow" | "permit" | "accept" | "allowed" => Some("allow"),
        "block" | "deny" | "reject" | "drop" | "blocked" | "denied" => Some("block"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("country", "contry"), 1);
        assert_eq!(misspelt_field("contry", RULE_FIELDS), Some("country"));
        assert_eq!(misspelt_field("note", RULE_FIELDS), None);
    }
}
