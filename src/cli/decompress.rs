//! Compressed viewer logs: gzip (every member, as Logpush writes several
//! into one file) and zstd (every frame, skippable frames skipped),
//! recognised by their first bytes whatever the file is called, and
//! decompressed as they are read (on a thread of their own, one chunk
//! ahead of the reader). A file that ends inside a member or frame is an
//! error. Memory stays bounded whatever the ratio: the reader takes fixed
//! chunks and the line limit holds on the decompressed bytes.
//!
//! Self-contained (std, flate2, zstd) so that the fuzz target
//! `fuzz/fuzz_targets/decompress.rs` compiles this very file.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver};

/// How the input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognises gzip (`1f 8b`) and zstd (a frame `28 b5 2f fd`, or a
    /// skippable frame `5? 2a 4d 18`) from the first bytes.
    pub fn sniff(prefix: &[u8]) -> Compression {
        match prefix {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [b0, 0x2a, 0x4d, 0x18, ..] if b0 & 0xf0 == 0x50 => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// `gzip`, `zstd`, or empty.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Reads up to four bytes (fewer only at the end of the input).
fn prefix(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(4);
    reader.take(4).read_to_end(&mut head)?;
    Ok(head)
}

/// The decompressed content of `reader` (the input itself when it is not
/// compressed), and how it was compressed.
///
/// # Errors
///
/// Reading the first bytes failed, or the zstd decoder could not start.
pub fn open(mut reader: Box<dyn Read + Send>) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let head = prefix(&mut reader)?;
    let kind = Compression::sniff(&head);
    let whole = io::Cursor::new(head).chain(reader);
    Ok(match kind {
        Compression::None => (Box::new(whole), kind),
        Compression::Gzip => (Box::new(flate2::read::MultiGzDecoder::new(whole)), kind),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(io::BufReader::new(whole))?;
            (Box::new(decoder), kind)
        }
    })
}

/// Reads `inner` on a thread of its own, `chunk` bytes ahead.
pub struct ReadAhead {
    rx: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl ReadAhead {
    pub fn new(mut inner: Box<dyn Read + Send>, chunk: usize) -> ReadAhead {
        let (tx, rx) = sync_channel(1);
        std::thread::spawn(move || loop {
            let mut buf = Vec::with_capacity(chunk);
            match (&mut inner).take(chunk as u64).read_to_end(&mut buf) {
                Ok(0) => break,
                Ok(_) => {
                    if tx.send(Ok(buf)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        });
        ReadAhead { rx, current: Vec::new(), at: 0, done: false }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.current.len() {
                let n = out.len().min(self.current.len() - self.at);
                out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.done || out.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(buf)) => {
                    self.current = buf;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}
