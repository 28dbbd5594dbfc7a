//! Splitting a viewer log into lines under the length limit.

/// Longest viewer line accepted, in bytes, not counting the `\n` (an
/// address, a country and an ndjson wrapper fit in far less). A longer
/// line is reported as bad and skipped, never buffered whole.
pub const MAX_LINE: usize = 4096;

/// A line over [`MAX_LINE`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line longer than {MAX_LINE} bytes")
    }
}

/// The lines of a whole viewer file, numbered from 1, split at `\n` (the
/// `\n` is not part of the line; a `\r` before it is, and the readers
/// trim it). A final `\n` does not start another line.
pub fn lines(input: &[u8]) -> impl Iterator<Item = (u64, &[u8])> + '_ {
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    let mut parts = body.split(|&b| b == b'\n');
    if input.is_empty() {
        // `split` yields one empty piece for an empty slice: no lines.
        parts.next();
    }
    (1u64..).zip(parts)
}

/// Splits a viewer stream given in chunks of any size into the same lines
/// as [`lines`], keeping at most [`MAX_LINE`] bytes of a line that spans
/// chunks: an overlong line is reported as [`LineTooLong`] (once, with its
/// number) and its bytes are dropped as they arrive.
#[derive(Clone, Debug, Default)]
pub struct LineSplitter {
    /// The start of a line begun in an earlier chunk (at most `MAX_LINE`).
    carry: Vec<u8>,
    /// Inside a line already known to be too long.
    overlong: bool,
    /// Lines completed so far.
    done: u64,
}

impl LineSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Bytes held for a line spanning chunks (never over [`MAX_LINE`]).
    pub fn buffered(&self) -> usize {
        self.carry.len()
    }

    fn emit<'a>(
        &mut self,
        line: &'a [u8],
        on_line: &mut impl FnMut(u64, Result<&'a [u8], LineTooLong>),
    ) {
        self.done += 1;
        if self.overlong || line.len() > MAX_LINE {
            on_line(self.done, Err(LineTooLong));
        } else {
            on_line(self.done, Ok(line));
        }
    }

    /// Feeds the next chunk; calls `on_line(number, line)` for every line
    /// it completes, in order.
    pub fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(u64, Result<&[u8], LineTooLong>)) {
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, next) = (&rest[..i], &rest[i + 1..]);
            rest = next;
            if self.carry.is_empty() && !self.overlong {
                self.emit(line, &mut on_line);
            } else {
                let mut carry = std::mem::take(&mut self.carry);
                if !self.overlong && carry.len() + line.len() <= MAX_LINE {
                    carry.extend_from_slice(line);
                } else {
                    self.overlong = true;
                }
                self.emit(&carry, &mut on_line);
                self.overlong = false;
                carry.clear();
                self.carry = carry;
            }
        }
        if self.overlong || self.carry.len() + rest.len() > MAX_LINE {
            self.overlong = true;
            self.carry.clear();
        } else {
            self.carry.extend_from_slice(rest);
        }
    }

    /// Ends the stream: a last line without `\n` is completed.
    pub fn finish(mut self, mut on_line: impl FnMut(u64, Result<&[u8], LineTooLong>)) {
        if self.overlong || !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            self.emit(&carry, &mut on_line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines() {
        let split = |s: &[u8]| lines(s).map(|(n, l)| (n, l.to_vec())).collect::<Vec<_>>();
        assert!(split(b"").is_empty());
        assert_eq!(split(b"\n"), vec![(1, vec![])]);
        assert_eq!(split(b"a\nb"), vec![(1, b"a".to_vec()), (2, b"b".to_vec())]);
        assert_eq!(split(b"a\n\n"), vec![(1, b"a".to_vec()), (2, vec![])]);
    }

    /// Splits `input` in chunks of `size` bytes through [`LineSplitter`].
    fn chunked(input: &[u8], size: usize) -> Vec<(u64, Result<Vec<u8>, LineTooLong>)> {
        let mut out = Vec::new();
        let mut s = LineSplitter::new();
        for chunk in input.chunks(size) {
            s.push(chunk, |n, l| out.push((n, l.map(<[u8]>::to_vec))));
            assert!(s.buffered() <= MAX_LINE);
        }
        s.finish(|n, l| out.push((n, l.map(<[u8]>::to_vec))));
        out
    }

    #[test]
    fn splitter_agrees_with_lines_for_any_chunking() {
        let long = vec![b'x'; MAX_LINE + 1];
        let exact = vec![b'y'; MAX_LINE];
        let input =
            [b"1.1.1.1\n".as_slice(), &long, b"\n", &exact, b"\n\n::1", b"\n", &long].concat();
        let expected: Vec<_> = lines(&input)
            .map(|(n, l)| (n, if l.len() > MAX_LINE { Err(LineTooLong) } else { Ok(l.to_vec()) }))
            .collect();
        assert_eq!(expected.len(), 6);
        for size in [1, 2, 3, 7, 100, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 10_000, input.len()] {
            assert_eq!(chunked(&input, size), expected, "chunks of {size}");
        }
    }
}
