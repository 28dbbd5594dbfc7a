//! Lints: the warnings that need the whole valid rule set (rules that
//! never decide, redundant rules, lists that restrict nobody or everybody),
//! computed exactly over the viewer space.

use ipnet::IpNet;

use crate::analysis::space::RuleSpace;
use crate::diagnostic::{Code, Diagnostic, Location, Related};
use crate::interval::IntervalSet;
use crate::rules::{network_to_string, Action, RuleKind, RuleSet};

/// Where the parts of one valid rule are in the document, for findings
/// that point into it. Filled by validation, read by the lints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RuleSource {
    /// The rule object.
    pub location: Location,
    /// Its `ip` or `country` entries, in order.
    pub entries: Vec<Location>,
}

fn warning(code: Code, source: &RuleSource, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: code.default_severity(),
        code,
        location: source.location.clone(),
        message,
        help,
        related: vec![],
    }
}

fn related(sources: &[RuleSource], rules: &[usize], label: &str) -> Vec<Related> {
    rules
        .iter()
        .map(|&j| Related {
            location: sources[j].location.clone(),
            label: format!("{label} (rule {j})"),
        })
        .collect()
}

/// The warnings that need the whole rule set (never deciding, redundant,
/// never blocks, blocks everyone, trailing allow, single-family and
/// single-host allow-lists). `sources[i]` locates rule `i`.
pub(crate) fn rule_warnings(rule_set: &RuleSet, sources: &[RuleSource]) -> Vec<Diagnostic> {
    let rules = &rule_set.rules;
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let last = rules.len() - 1;
    let trailing_allow =
        matches!(rules[last].kind, RuleKind::Any) && rules[last].action == Action::Allow;
    if trailing_allow && last > 0 {
        out.push(warning(
            Code::TrailingAllowAny,
            &sources[last],
            format!(
                "rule {last} is `any`/`allow`, which is what happens anyway when no rule matches"
            ),
            Some(format!("remove rule {last}")),
        ));
    }
    // Exact set reasoning over (address, country) pairs (docs/diagnostics.md).
    let Some(space) = RuleSpace::try_new(rule_set) else { return out };
    let never_blocks = space.blocks_someone().is_none();
    let never_deciding: Vec<Option<Vec<usize>>> =
        (0..rules.len()).map(|i| space.never_decides(i)).collect();
    for i in 0..rules.len() {
        if let Some(earlier) = &never_deciding[i] {
            let earlier = earlier.clone();
            let (message, help) = if earlier.is_empty() {
                (
                    format!("rule {i} matches no viewer, so it never decides"),
                    format!("remove rule {i}"),
                )
            } else {
                (
                    format!(
                        "rule {i} never decides: every viewer it matches is matched first by {}",
                        rule_list(&earlier)
                    ),
                    format!("remove rule {i}, or move it before {}", rule_list(&earlier)),
                )
            };
            let mut d = warning(Code::NeverDecides, &sources[i], message, Some(help));
            d.related = related(sources, &earlier, "matches first");
            out.push(d);
        } else if let Some(takeover) = space.redundant(i) {
            // Reported otherwise: the trailing allow and the allow rules of a
            // document that never blocks have their own codes; and when the
            // rule that takes over never decides itself, that rule is the
            // one to remove (removing both would change decisions).
            let takes_over_never_deciding =
                takeover.rules.iter().any(|&j| never_deciding[j].is_some());
            if (trailing_allow && i == last)
                || (never_blocks && rules[i].action == Action::Allow)
                || takes_over_never_deciding
            {
                continue;
            }
            let mut who: Vec<String> = Vec::new();
            if !takeover.rules.is_empty() {
                who.push(rule_list(&takeover.rules));
            }
            if takeover.default {
                who.push(format!("the default ({})", crate::rules::DEFAULT_ACTION));
            }
            let mut d = warning(
                Code::RedundantRule,
                &sources[i],
                format!(
                    "rule {i} is redundant: without it {} decides the same ({}) for every viewer it matches",
                    who.join(" and "),
                    rules[i].action
                ),
                Some(format!("remove rule {i}")),
            );
            d.related = related(sources, &takeover.rules, "decides the same");
            out.push(d);
        }
    }
    if never_blocks {
        let blocks: Vec<usize> =
            (0..rules.len()).filter(|&i| rules[i].action == Action::Block).collect();
        let (message, help) = if blocks.is_empty() {
            (
                "no viewer is ever blocked: no rule blocks, and viewers no rule matches are allowed".to_owned(),
                r#"append {"type": "any", "action": "block"} to allow only the viewers listed"#.to_owned(),
            )
        } else {
            (
                format!(
                    "no viewer is ever blocked: earlier allow rules match everyone {} would block",
                    rule_list(&blocks)
                ),
                "put the allow rules that should win before the block, and narrow the others"
                    .to_owned(),
            )
        };
        out.push(warning(Code::NeverBlocks, &sources[0], message, Some(help)));
    } else if space.allows_someone().is_none() {
        out.push(warning(
            Code::BlocksEveryone,
            &sources[0],
            "every viewer is blocked: the token can never be used".into(),
            Some("allow the intended viewers before the block".into()),
        ));
    }
    out.extend(allow_list_warnings(rule_set, &space, sources));
    out
}

/// `rule 0`, `rules 0 and 1`, `rules 0, 1 and 3`.
fn rule_list(rules: &[usize]) -> String {
    match rules {
        [] => "no rule".into(),
        [one] => format!("rule {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(usize::to_string).collect();
            format!("rules {} and {last}", init.join(", "))
        }
    }
}

/// Single-family allow-lists and single-host allow entries followed by a
/// block (docs/diagnostics.md).
fn allow_list_warnings(
    rule_set: &RuleSet,
    space: &RuleSpace,
    sources: &[RuleSource],
) -> Vec<Diagnostic> {
    let rules = &rule_set.rules;
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let RuleKind::IpSrc(nets) = &rule.kind else { continue };
        if rule.action != Action::Allow {
            continue;
        }
        let Some(block) = (i + 1..rules.len()).find(|&j| rules[j].action == Action::Block) else {
            continue;
        };
        let blocks_all = (i + 1..rules.len())
            .find(|&j| matches!(rules[j].kind, RuleKind::Any) && rules[j].action == Action::Block);
        let has_v4 = nets.iter().any(|n| matches!(n, IpNet::V4(_)));
        // NAT64, 6to4 and Teredo entries carry IPv4: no IPv6 coverage.
        let native_v6 = |n: &IpNet| {
            matches!(n, IpNet::V6(_)) && crate::rules::network::ipv4_embedding(n).is_none()
        };
        let has_v6 = nets.iter().any(native_v6);
        // Only the first allow rule of a family-only list speaks for the
        // list; other allow rules may name the other family.
        let other_allowed = rules[..i].iter().chain(&rules[i + 1..]).any(|r| {
            r.action == Action::Allow
                && matches!(&r.kind, RuleKind::IpSrc(n) if n.iter().any(|n| if has_v4 { native_v6(n) } else { matches!(n, IpNet::V4(_)) }))
        });
        let embedding = IntervalSet::from_ranges(
            crate::rules::network::IPV4_EMBEDDING_BLOCKS.iter().filter_map(|(b, _)| {
                match b.parse::<IpNet>().ok()? {
                    IpNet::V6(v6) => Some((u128::from(v6.network()), u128::from(v6.broadcast()))),
                    IpNet::V4(_) => None,
                }
            }),
        );
        let other_family_all_blocked = {
            space
                .atoms()
                .filter(|a| {
                    let addresses = a.ip_class().addresses();
                    if has_v4 {
                        !addresses.v6.difference(&embedding).is_empty()
                    } else {
                        !addresses.v4.is_empty()
                    }
                })
                .all(|a| space.decide(a.matching()).action == Action::Block)
        };
        if let (Some(b), false, true, true) =
            (blocks_all, has_v4 && has_v6, !other_allowed, other_family_all_blocked)
        {
            let (named, other) = if has_v4 { ("IPv4", "IPv6") } else { ("IPv6", "IPv4") };
            let mut d = warning(
                Code::SingleFamilyAllowList,
                &sources[i],
                format!("rule {i} allows {named} networks only and rule {b} blocks the rest: every {other} viewer is blocked"),
                Some(format!("add the {other} networks of the same viewers to rule {i}")),
            );
            d.related = related(sources, &[b], "blocks the other family");
            out.push(d);
        }
        for (j, net) in nets.iter().enumerate() {
            // Non-routable hosts get their own warning; no viewer has them.
            let mapped = matches!(net, IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some());
            if net.prefix_len() != net.max_prefix_len()
                || mapped
                || crate::rules::network::non_routable(net).is_some()
            {
                continue;
            }
            let wider = match net {
                IpNet::V4(_) => IpNet::new(net.addr(), 24),
                IpNet::V6(_) => IpNet::new(net.addr(), 64),
            }
            .map(|n| n.trunc())
            .unwrap_or(*net);
            let mut d = warning(
                Code::SingleHostAllow,
                &sources[i],
                format!(
                    "{} is a single host in allow rule {i}, and rule {block} blocks: the service re-checks during playback, so a viewer whose address changes is cut off",
                    network_to_string(net)
                ),
                Some(format!("allow the viewer's network, e.g. {:?}", wider.to_string())),
            );
            if let Some(loc) = sources[i].entries.get(j) {
                d.location = loc.clone();
            }
            d.related = related(sources, &[block], "blocks");
            out.push(d);
        }
    }
    out
}
