//! The entries of a rule: `ip` networks and `country` codes, one by one
//! and as a list (duplicates, nesting).

use ipnet::IpNet;

use crate::diagnostic::{pointer_push, Code, Diagnostic, Related};
use crate::lint::RuleSource;
use crate::rules::country;
use crate::rules::network as ip;
use crate::rules::{network_to_string, CountryCode};
use crate::schema::{FIELD_COUNTRY, FIELD_IP};

use super::quoted;
use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;
use crate::syntax::json::Span;

pub(super) fn family(net: &IpNet) -> &'static str {
    if net.addr().is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

impl<'a> Cx<'a> {
    /// The string entries of a list field, or `None` after reporting why not.
    pub(super) fn string_list<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        field: &str,
    ) -> Option<Vec<(&'n str, Span)>> {
        let NodeKind::Array(items) = &node.kind else {
            let help = match &node.kind {
                NodeKind::String(s) if s.len() <= 100 => Some(format!("write [{s:?}]")),
                _ => None,
            };
            self.push(
                Code::WrongType,
                path,
                node.span,
                format!("`{field}` is {}; it must be an array of strings", node.kind.type_name()),
                help,
            );
            return None;
        };
        let (code, example) = if field == FIELD_IP {
            (Code::MissingIp, "203.0.113.0/24")
        } else {
            (Code::MissingCountry, "US")
        };
        if items.is_empty() {
            self.push(
                code,
                path,
                node.span,
                format!("`{field}` is empty, so the rule can match nobody"),
                Some(format!("list at least one entry, e.g. [{example:?}]")),
            );
            return None;
        }
        let max = self.options.limits().max_entries_per_rule;
        if items.len() > max {
            self.push(
                Code::TooManyEntries,
                path,
                node.span,
                format!("`{field}` has {} entries, over the limit of {max}", items.len()),
                Some("shorten the list (the library's `Limits::max_entries_per_rule` sets the limit)".into()),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (j, item) in items.iter().enumerate() {
            match &item.kind {
                NodeKind::String(s) => out.push((s.as_str(), item.span)),
                _ => {
                    ok = false;
                    let p = pointer_push(path, &j.to_string());
                    self.push(
                        Code::WrongType,
                        &p,
                        item.span,
                        format!(
                            "`{field}` entry {j} is {}; it must be a string",
                            item.kind.type_name()
                        ),
                        None,
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// The span of `part` (a byte range inside the string value) when the
    /// string is written without escapes; the whole value otherwise.
    pub(super) fn sub_span(&self, value: &str, span: Span, part: Option<(usize, usize)>) -> Span {
        match part {
            Some((a, b)) if span.end - span.start == value.len() + 2 && b > a => {
                Span::new(span.start + 1 + a, span.start + 1 + b)
            }
            _ => span,
        }
    }

    pub(super) fn ip_list(
        &mut self,
        node: &Node,
        path: &str,
        source: &mut RuleSource,
    ) -> Option<Vec<IpNet>> {
        let entries = self.string_list(node, path, FIELD_IP)?;
        let mut nets = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (j, (s, span)) in entries.iter().enumerate() {
            let p = pointer_push(path, &j.to_string());
            source.entries.push(self.doc.location(p.clone(), *span));
            match ip::parse_entry(s) {
                Ok(net) => {
                    self.entry_warnings(&net, s, &p, *span);
                    nets.push(net);
                }
                Err(e) => {
                    ok = false;
                    // Line and column of the value (docs/diagnostics.md); the underline
                    // narrows to the bad part (octet, prefix, zone id).
                    let sub = self.sub_span(s, *span, e.part);
                    self.push(e.code, &p, *span, e.message, e.help).location.span = Some(sub);
                }
            }
        }
        self.duplicate_networks(&nets, source);
        ok.then_some(nets)
    }

    pub(super) fn entry_warnings(&mut self, net: &IpNet, written: &str, path: &str, span: Span) {
        if net.prefix_len() == 0 {
            let other = if net.addr().is_ipv4() { "::/0" } else { "0.0.0.0/0" };
            self.push(
                Code::ZeroPrefix,
                path,
                span,
                format!("{written:?} matches every {} viewer", family(net)),
                Some(format!(
                    "use a rule of type \"any\" to match everyone; {written:?} does not cover {other}"
                )),
            );
        } else if *net != net.trunc() {
            self.push(
                Code::HostBitsSet,
                path,
                span,
                format!("{written:?} has host bits set; it means the network {}", net.trunc()),
                Some(format!("write {:?}", net.trunc().to_string())),
            );
        }
        if let IpNet::V6(v6) = net {
            if let Some(v4) = v6.addr().to_ipv4_mapped() {
                let v4_text = if v6.prefix_len() >= 96 {
                    network_to_string(&IpNet::new(v4.into(), v6.prefix_len() - 96).unwrap_or(*net))
                } else {
                    v4.to_string()
                };
                self.push(
                    Code::Ipv4MappedEntry,
                    path,
                    span,
                    format!(
                        "{written:?} is an IPv4-mapped IPv6 entry; viewers arrive as IPv4, so it never matches"
                    ),
                    Some(format!("write {v4_text:?}")),
                );
                return;
            }
        }
        if let Some(what) = ip::ipv4_embedding(net) {
            self.push(
                Code::Ipv4EmbeddingEntry,
                path,
                span,
                format!(
                    "{written:?} is in {what}, which carries IPv4 addresses as IPv6: it does not cover native IPv6 viewers"
                ),
                Some("list the IPv4 networks as IPv4 and the viewers' native IPv6 networks as IPv6".into()),
            );
            return;
        }
        if let Some(what) = ip::non_routable(net) {
            self.push(
                Code::NonRoutableEntry,
                path,
                span,
                format!("{written:?} is {what}; no viewer at the edge has such an address"),
                Some("use the public addresses your viewers have".into()),
            );
        }
    }

    /// Duplicate and nested entries within one rule's `ip` list.
    pub(super) fn duplicate_networks(&mut self, nets: &[IpNet], source: &RuleSource) {
        if nets.len() < 2 {
            return;
        }
        let key = |n: &IpNet| match n {
            IpNet::V4(v4) => {
                (0u8, u128::from(u32::from(v4.network())), u128::from(u32::from(v4.broadcast())))
            }
            IpNet::V6(v6) => (1u8, u128::from(v6.network()), u128::from(v6.broadcast())),
        };
        let mut order: Vec<usize> = (0..nets.len()).collect();
        order.sort_by_key(|&i| {
            let (f, lo, hi) = key(&nets[i]);
            (f, lo, std::cmp::Reverse(hi), i)
        });
        let mut redundant: Vec<(usize, usize)> = Vec::new(); // (entry, covering entry)
        let mut cover: Option<usize> = None;
        for &i in &order {
            let (f, _, hi) = key(&nets[i]);
            match cover {
                Some(c) if key(&nets[c]).0 == f && key(&nets[c]).2 >= hi => redundant.push((i, c)),
                _ => cover = Some(i),
            }
        }
        if redundant.is_empty() {
            return;
        }
        redundant.sort_unstable();
        // Linear in the list: a mark per entry (not a search per entry).
        let mut dropped = vec![false; nets.len()];
        for (i, _) in &redundant {
            dropped[*i] = true;
        }
        let kept = dropped.iter().filter(|d| !**d).count();
        let help = if kept <= 16 {
            let merged: Vec<String> = (0..nets.len())
                .filter(|i| !dropped[*i])
                .map(|i| format!("{:?}", network_to_string(&nets[i].trunc())))
                .collect();
            format!("write [{}]", merged.join(", "))
        } else {
            "remove the repeated entries".into()
        };
        for (i, c) in redundant {
            let (code, message) = if key(&nets[i]) == key(&nets[c]) {
                (Code::DuplicateEntry, format!("{} repeats entry {c} of the same rule", nets[i]))
            } else {
                (
                    Code::NestedEntry,
                    format!("{} lies inside entry {c} ({}) of the same rule", nets[i], nets[c]),
                )
            };
            let loc = source.entries[i].clone();
            let related =
                Related { location: source.entries[c].clone(), label: "covering entry".into() };
            self.diags.push(Diagnostic {
                severity: code.default_severity(),
                code,
                location: loc,
                message,
                help: Some(help.clone()),
                related: vec![related],
            });
        }
    }

    pub(super) fn country_list(
        &mut self,
        node: &Node,
        path: &str,
        source: &mut RuleSource,
    ) -> Option<Vec<CountryCode>> {
        let entries = self.string_list(node, path, FIELD_COUNTRY)?;
        let mut codes: Vec<CountryCode> = Vec::with_capacity(entries.len());
        let mut ok = true;
        let mut first_at: std::collections::HashMap<CountryCode, usize> = Default::default();
        for (j, (s, span)) in entries.iter().enumerate() {
            let p = pointer_push(path, &j.to_string());
            source.entries.push(self.doc.location(p.clone(), *span));
            let help = country::suggestion(s).map(|c| format!("write \"{c}\""));
            let qs = quoted(s);
            match CountryCode::new(s) {
                Some(code) if country::is_assigned(code) => {
                    if let Some(&first) = first_at.get(&code) {
                        let rel = Related {
                            location: source.entries[first].clone(),
                            label: "first entry".into(),
                        };
                        let d = self.push(
                            Code::DuplicateEntry,
                            &p,
                            *span,
                            format!("{qs} repeats entry {first} of the same rule"),
                            Some("remove the repeated entry".into()),
                        );
                        d.related.push(rel);
                    } else {
                        first_at.insert(code, j);
                    }
                    codes.push(code);
                }
                Some(code) if country::pseudo_code(s).is_some() => {
                    let what = country::pseudo_code(s).unwrap_or_default();
                    self.push(
                        Code::PseudoCountry,
                        &p,
                        *span,
                        format!("{qs} is {what}; country databases rarely give it, so it matches only viewers whose country is given or looked up as {s}"),
                        Some("list the ISO 3166-1 codes of the countries meant".into()),
                    );
                    codes.push(code);
                }
                Some(_) => {
                    ok = false;
                    self.push(
                        Code::CountryUnassigned,
                        &p,
                        *span,
                        format!("{qs} is not an assigned ISO 3166-1 alpha-2 country code"),
                        help,
                    );
                }
                None if CountryCode::new_case_insensitive(s).is_some() => {
                    ok = false;
                    self.push(
                        Code::CountryCase,
                        &p,
                        *span,
                        format!("{qs} is not upper case; country codes are two upper-case letters"),
                        help,
                    );
                }
                None => {
                    ok = false;
                    self.push(
                        Code::InvalidCountry,
                        &p,
                        *span,
                        format!("{qs} is not a two-letter ISO 3166-1 alpha-2 country code"),
                        help,
                    );
                }
            }
        }
        ok.then_some(codes)
    }
}
