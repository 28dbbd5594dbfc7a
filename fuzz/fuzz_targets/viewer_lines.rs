//! Arbitrary bytes as `simulate --input` content.
//!
//! The input is the viewer file. Checks: every line is exactly one of a viewer, a blank/comment line or
//! a bad line, and the counts add up to the number of lines (`\n`-split,
//! no line after a final `\n`); a line over `MAX_LINE` bytes is bad; bad
//! lines carry a short message (never the whole line echoed back); a
//! viewer's address is canonical (an IPv4-mapped address becomes IPv4,
//! nothing else changes family) and its country is two upper-case letters
//! (or a letter and a digit: `T1`);
//! feeding the file in chunks through `LineSplitter` (bounded buffer) gives
//! the same lines as splitting it whole, for chunks of 1 byte, of a size
//! derived from the input, and of `MAX_LINE + 1` bytes.
//!
//! Then every format (`accessrules::input`): the reader detected from the
//! input, and each fixed reader (NDJSON, CSV with a header, accessrules'
//! TSV, access log), read record by record: every record is exactly one
//! of viewer / skipped / not a viewer / bad, the counts add up, messages
//! stay short, records over `MAX_LINE` are bad, and the records cover the
//! input (their lines add up to the input's), with the record split
//! found on any prefix (as the stream finds it, `eof` false) agreeing
//! with the split of the whole input.

#![no_main]

use std::net::IpAddr;

use accessrules::input::{detect, Columns, Format, Hints, Keys, Reader, Record};
use accessrules::viewer_line::{lines, read_line, tally, LineSplitter, Tally, MAX_LINE};
use accessrules::{canonical_ip, Viewer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = data;

    let mut t = Tally::default();
    let mut whole = Vec::new();
    for (n, line) in lines(input) {
        assert!(!line.contains(&b'\n'));
        let outcome = read_line(line);
        match &outcome {
            Ok(Some((ip, country))) => {
                assert!(line.len() <= MAX_LINE);
                let v = Viewer::without_country(*ip);
                assert_eq!(v.ip(), canonical_ip(*ip));
                match (ip, v.ip()) {
                    (IpAddr::V6(a), IpAddr::V4(b)) => assert_eq!(a.to_ipv4_mapped(), Some(b)),
                    (a, b) => assert_eq!(*a, b),
                }
                if let Some(c) = country {
                    // Upper case, or a digit (pseudo-codes: `T1`, `A1`, …).
                    assert!(c.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                }
            }
            Ok(None) => assert!(line.len() <= MAX_LINE),
            Err(message) => {
                assert!(!message.is_empty());
                // At most 64 characters of the line are quoted (escaped: up to 10
                // bytes each), plus the reason.
                assert!(message.len() <= 1024, "message of {} bytes", message.len());
            }
        }
        if line.len() > MAX_LINE {
            assert!(outcome.is_err());
        }
        t.add(&outcome);
        whole.push((n, (line.len() <= MAX_LINE).then_some(line)));
    }
    assert_eq!(t, tally(input));
    assert_eq!(t.lines, t.viewers + t.skipped + t.bad);
    let newlines = input.iter().filter(|&&b| b == b'\n').count() as u64;
    let unterminated = u64::from(!input.is_empty() && !input.ends_with(b"\n"));
    assert_eq!(t.lines, newlines + unterminated);

    let whole: Vec<_> = whole.into_iter().map(|(n, l)| (n, l.map(<[u8]>::to_vec))).collect();
    let derived =
        input.iter().fold(input.len(), |h, &b| h.rotate_left(5) ^ usize::from(b)) % 300 + 1;
    for chunk in [1, derived, MAX_LINE + 1] {
        let mut chunked = Vec::new();
        let mut splitter = LineSplitter::new();
        for piece in input.chunks(chunk) {
            splitter.push(piece, |n, l| chunked.push((n, l.ok().map(<[u8]>::to_vec))));
            assert!(splitter.buffered() <= MAX_LINE);
        }
        splitter.finish(|n, l| chunked.push((n, l.ok().map(<[u8]>::to_vec))));
        assert_eq!(chunked, whole, "chunks of {chunk} bytes");
    }

    let mut readers = vec![
        Reader::new(Format::Ndjson(Keys::default())),
        Reader::new(Format::AccessLog),
        Reader::new(Format::Delimited(Columns {
            delimiter: b',',
            names: vec!["ip".into(), "country".into()],
            ip: 0,
            country: Some(1),
            source: None,
            header: Some(b"ip,country".to_vec()),
        })),
    ];
    if let Ok(r) = detect(input, &Hints::default()) {
        readers.push(r);
    }
    for reader in &readers {
        let mut t = accessrules::input::Tally::default();
        let mut lines_seen = 0u64;
        let mut ends = Vec::new();
        for (n, record) in reader.records(input) {
            assert_eq!(n, lines_seen + 1);
            lines_seen += 1 + record.iter().filter(|&&b| b == b'\n').count() as u64;
            let outcome = reader.read(record);
            match &outcome {
                Ok(Record::Viewer { country, .. }) => {
                    assert!(record.len() <= MAX_LINE);
                    if let accessrules::input::LineCountry::Code(c) = country {
                        assert!(c.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
                    }
                }
                Ok(Record::Skipped | Record::NotViewer) => assert!(record.len() <= MAX_LINE),
                Err(message) => assert!(message.len() <= 1024, "{} bytes", message.len()),
            }
            t.add_record(&outcome);
            let at = record.as_ptr() as usize - input.as_ptr() as usize;
            ends.push(at + record.len());
        }
        assert_eq!(t, reader.tally(input));
        assert_eq!(t.lines, t.viewers + t.skipped + t.not_viewers + t.bad);
        if !reader.multiline() {
            assert_eq!(lines_seen, newlines + unterminated);
        }
        // The split the stream finds on a prefix (more bytes to come)
        // agrees with the split of the whole input.
        let cut = derived * 7 % (input.len() + 1);
        let prefix = &input[..cut];
        let mut at = 0;
        while let Some((end, next)) = reader.record_end(&prefix[at..], false) {
            assert!(ends.contains(&(at + end)), "record end {} not in {:?}", at + end, ends);
            at += next;
            if at == prefix.len() {
                break;
            }
        }
    }
});
