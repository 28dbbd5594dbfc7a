//! Arbitrary bytes as a compressed `simulate --input` file, through the
//! CLI's own decompression (`src/cli/decompress.rs`, compiled here).
//!
//! Checks: whatever the bytes, opening and reading (capped at 64 MiB of
//! output) never panics and ends; a gzip stream of two members and a zstd
//! stream of a skippable frame and two frames, both made from the input,
//! decompress to the input twice; cut short, they give an error, never
//! a silent short read.

#![no_main]

use std::io::{Cursor, Read, Write};

use libfuzzer_sys::fuzz_target;

#[path = "../../src/cli/decompress.rs"]
#[allow(dead_code)]
mod decompress;

fn read_all(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let (reader, kind) = decompress::open(Box::new(Cursor::new(bytes)))?;
    let mut reader: Box<dyn Read + Send> = if kind == decompress::Compression::None {
        reader
    } else {
        Box::new(decompress::ReadAhead::new(reader, 1 << 16))
    };
    let mut out = Vec::new();
    (&mut reader).take(64 << 20).read_to_end(&mut out)?;
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let _ = read_all(data.to_vec());

    let gz = |d: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    };
    let two = [gz(data), gz(data)].concat();
    assert_eq!(read_all(two.clone()).unwrap(), [data, data].concat());
    assert!(read_all(two[..two.len() - 1].to_vec()).is_err());

    let z = zstd::stream::encode_all(Cursor::new(data), 1).unwrap();
    let skippable = [0x5a, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7];
    let frames = [&skippable[..], &z, &z].concat();
    assert_eq!(read_all(frames.clone()).unwrap(), [data, data].concat());
    assert!(read_all(frames[..frames.len() - 1].to_vec()).is_err());
});
