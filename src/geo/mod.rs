//! Viewer countries from IP addresses: the [`CountryResolver`] trait, the
//! MaxMind-format [`GeoDatabase`] and the embedded default (docs/semantics.md, docs/performance.md).
//!
//! # Semantics (docs/semantics.md)
//!
//! * A record's country is `country.iso_code` (GeoIP2 / GeoLite2 Country
//!   and City, DB-IP), falling back to `registered_country.iso_code`, or the
//!   top-level `country_code` (ip-location-db, IPinfo), or a top-level
//!   `country` string (the older IPinfo layout; a `country` map is the
//!   GeoIP2 one). The first of these fields present in a record decides.
//!   `represented_country.iso_code` is reported by
//!   [`GeoDatabase::lookup_detail`] but never matched.
//! * "No country" values (`""`, `"-"`, `"--"`, common in community
//!   databases) count as an absent field: a record holding only those has
//!   no country. Such networks are counted
//!   ([`GeoDatabase::networks_without_country`]), never an error.
//! * Codes that are not assigned ISO 3166-1 codes (`UK`, `ZZ`, `A1`) are
//!   matched as written and listed by [`GeoDatabase::unassigned_codes`].
//! * Unknown (`Ok(None)`): an address with no record, a record without a
//!   country, an IPv6 address in an IPv4-only database. No country
//!   rule matches an unknown country, so the viewer falls through to the
//!   next rule and, at the end, to the default allow.
//! * Because "unknown" lets viewers through, nothing that goes wrong is ever
//!   reported as unknown: a missing, unreadable or corrupt file, a database
//!   with none of the country fields, and a damaged record are all
//!   [`GeoError`]s. [`GeoDatabase`] reads *every* record of the database
//!   when it is opened, so a database that opens cannot fail a lookup later.
//! * Country values must be a letter and a letter or digit; lower case is
//!   upper-cased (`"nl"` → `NL`). Any other value (`"USA"`, `"Netherlands"`,
//!   a number) makes the database fail to open with
//!   [`GeoError::InvalidCountry`], naming the value, the field and the
//!   network: matching it cannot be done right, and treating it as unknown
//!   would silently allow the viewer.
//!
//! # Speed (docs/performance.md)
//!
//! Opening a database walks its search tree once and turns it into a sorted
//! range table per address family (range starts and 16-bit country codes,
//! adjacent equal ranges merged), with a directory on the top 16 address
//! bits. For the embedded database the table is computed by `build.rs` at
//! compile time and embedded beside the database. When a table is read, its
//! ranges are laid out in 64-byte-aligned blocks of 16 starts and their 16
//! codes, with the first start of every block (and of every 16th block)
//! copied into small arrays that stay in cache: about 2.5 ms and 6 MB for the
//! embedded database. A lookup reads the directory entry of the address's
//! /16 (which answers alone when the /16 lies in one range), narrows its
//! window to one block with branch-free searches of the small arrays, then
//! counts the block's starts `<=` the address: one read that misses the
//! cache brings both the start and the code. No tree walk and no record
//! decoding.
//!
//! The table agrees with `maxminddb::Reader::lookup` for every address: IPv4
//! addresses in an IPv6 database are looked up in the `::/96` subtree, and
//! every other IPv6 prefix that points at that subtree (the aliases MaxMind
//! writes at `::ffff:0:0/96`, `2001::/32`, `2002::/16`) resolves through the
//! IPv4 table exactly as the reader does.

mod build;
mod format;
mod records;
mod table;

use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use maxminddb::Reader;

use crate::rules::{canonical_ip, CountryCode};
use build::BuildError;
use format::UNKNOWN;
use records::DataSection;
use table::{TableView, Window};

/// `country.iso_code`: the GeoIP2 / GeoLite2 / DB-IP layout
/// (a [`GeoRecord::source_field`] value).
pub const FIELD_COUNTRY: &str = format::FIELD_COUNTRY;
/// `registered_country.iso_code`: the GeoIP2 fallback when a record has no
/// `country` (a [`GeoRecord::source_field`] value).
pub const FIELD_REGISTERED_COUNTRY: &str = format::FIELD_REGISTERED;
/// `country_code`: the ip-location-db / IPinfo layout, at the top level of
/// the record (a [`GeoRecord::source_field`] value).
pub const FIELD_COUNTRY_CODE: &str = format::FIELD_COUNTRY_CODE;
/// `country` as a top-level string: the older IPinfo layout, read like
/// [`FIELD_COUNTRY_CODE`] (a [`GeoRecord::source_field`] value).
pub const FIELD_COUNTRY_STRING: &str = format::FIELD_COUNTRY_STRING;
/// The values read as "no country" for a network: `""`, `"-"` and `"--"`
/// (docs/semantics.md).
pub const NO_COUNTRY_VALUES: [&str; 3] = records::NO_COUNTRY;

/// Resolves a viewer's country from its address (docs/semantics.md).
///
/// Implementations must be cheap to share between threads. The address is
/// expected in canonical form ([`canonical_ip`]), but implementations accept
/// an IPv4-mapped address (`::ffff:a.b.c.d`) and look up its IPv4 form.
pub trait CountryResolver: Send + Sync {
    /// The country of `ip`: `Ok(Some(code))`, `Ok(None)` when unknown (no
    /// record, a record without a country, an IPv6 address in an IPv4-only
    /// database), or an error when the answer cannot be known (a damaged
    /// database); an error must never be turned into "unknown".
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError>;
}

impl<T: CountryResolver + ?Sized> CountryResolver for &T {
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        (**self).country(ip)
    }
}

impl<T: CountryResolver + ?Sized> CountryResolver for Box<T> {
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        (**self).country(ip)
    }
}

impl<T: CountryResolver + ?Sized> CountryResolver for Arc<T> {
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        (**self).country(ip)
    }
}

/// What can go wrong with a GeoIP database. Every variant means "the country
/// cannot be known" and must stop the run (the CLI exits with status 2), never fall back to "unknown".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file does not exist ([`GeoDatabase::open`]).
    #[error("GeoIP database {} not found", .path.display())]
    NotFound {
        /// The path that was tried.
        path: PathBuf,
    },
    /// The file exists but cannot be read (permissions, a directory, ...).
    #[error("cannot read GeoIP database {}: {source}", .path.display())]
    Io {
        /// The path that was tried.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not a MaxMind DB, or its search tree or a record is
    /// damaged (truncated, zero-filled, garbage, dangling pointers).
    #[error("{origin} is corrupt or not a MaxMind DB: {message}")]
    Corrupt {
        /// Which database: `GeoIP database PATH`, `GeoIP database` (bytes)
        /// or `embedded GeoIP database`.
        origin: String,
        /// What the reader found wrong.
        message: String,
    },
    /// No record has any country field: the database has neither the GeoIP2
    /// layout nor the ip-location-db layout (an ASN database, for example).
    #[error(
        "{origin} has no country field: expected country.iso_code, \
         registered_country.iso_code or country_code"
    )]
    NoCountryField {
        /// Which database (see [`GeoError::Corrupt`]).
        origin: String,
    },
    /// A record's country value is not a code (`"USA"`, `"Netherlands"`,
    /// a number); the "no country" values [`NO_COUNTRY_VALUES`] are not
    /// errors.
    #[error("{origin} has an invalid country code {value:?} in {field} for {network}")]
    InvalidCountry {
        /// Which database (see [`GeoError::Corrupt`]).
        origin: String,
        /// The network of the record (the first one met that uses it).
        network: IpNet,
        /// The field: one of the `FIELD_*` constants.
        field: &'static str,
        /// The value as found (a non-string is shown as `<a number>` etc.).
        value: String,
    },
    /// A per-address lookup failed on a damaged database
    /// ([`GeoDatabase::lookup_detail`]).
    #[error("GeoIP lookup of {ip} failed: {message}")]
    Lookup {
        /// The address looked up.
        ip: IpAddr,
        /// The reader's error.
        message: String,
    },
}

/// The kind of a [`GeoError`], for matching without the details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GeoErrorKind {
    /// [`GeoError::NotFound`].
    NotFound,
    /// [`GeoError::Io`].
    Io,
    /// [`GeoError::Corrupt`].
    Corrupt,
    /// [`GeoError::NoCountryField`].
    NoCountryField,
    /// [`GeoError::InvalidCountry`].
    InvalidCountry,
    /// [`GeoError::Lookup`].
    Lookup,
}

impl GeoError {
    /// The kind of error.
    pub fn kind(&self) -> GeoErrorKind {
        match self {
            GeoError::NotFound { .. } => GeoErrorKind::NotFound,
            GeoError::Io { .. } => GeoErrorKind::Io,
            GeoError::Corrupt { .. } => GeoErrorKind::Corrupt,
            GeoError::NoCountryField { .. } => GeoErrorKind::NoCountryField,
            GeoError::InvalidCountry { .. } => GeoErrorKind::InvalidCountry,
            GeoError::Lookup { .. } => GeoErrorKind::Lookup,
        }
    }

    fn from_build(origin: &str, e: BuildError) -> GeoError {
        let origin = origin.to_owned();
        match e {
            BuildError::Corrupt(message) => GeoError::Corrupt { origin, message },
            BuildError::NoCountryField => GeoError::NoCountryField { origin },
            BuildError::InvalidCountry { network: (ip, len), field, value } => {
                let network = IpNet::new(ip, len).unwrap_or_else(|_| IpNet::from(ip));
                GeoError::InvalidCountry { origin, network, field, value }
            }
        }
    }
}

/// Addresses whose table reads [`GeoDatabase::resolve_batch`] issues
/// together.
pub const RESOLVE_WAVE: usize = 32;

/// What the database says about one address, for explanations
/// ([`GeoDatabase::lookup_detail`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GeoRecord {
    /// The matched country, `None` when unknown. Always equal to
    /// [`CountryResolver::country`] for the same address.
    pub country: Option<CountryCode>,
    /// The field the country came from: [`FIELD_COUNTRY`],
    /// [`FIELD_REGISTERED_COUNTRY`], [`FIELD_COUNTRY_CODE`] or
    /// [`FIELD_COUNTRY_STRING`].
    pub source_field: Option<&'static str>,
    /// The first field of the record holding a "no country" value, and that
    /// value (one of [`NO_COUNTRY_VALUES`]); when `country` is `None`, this
    /// is why.
    pub no_country: Option<(&'static str, &'static str)>,
    /// `represented_country.iso_code` (e.g. the country a military base or
    /// embassy network serves). Shown, never matched; `None` when absent or
    /// not two letters.
    pub represented_country: Option<CountryCode>,
    /// The database network holding the address (with or without a record),
    /// as `maxminddb` reports it: IPv4 for an IPv4 address (IPv6 only in the
    /// odd IPv6 database without an IPv4 subtree); `None` for an IPv6
    /// address in an IPv4-only database.
    pub network: Option<IpNet>,
    /// Whether the database has a record for the network at all ("no record"
    /// versus "a record without a country").
    pub has_record: bool,
}

/// A MaxMind-format country database (GeoLite2 / GeoIP2 Country or City,
/// DB-IP, ip-location-db, IPinfo; docs/semantics.md), converted to range tables when
/// opened.
///
/// Immutable, `Send + Sync`; share it by reference or in an `Arc`. Memory:
/// the database bytes (kept for [`GeoDatabase::lookup_detail`]) plus the
/// table: 6 bytes per IPv4 range, 18 bytes per IPv6 range and a directory
/// of up to 512 KiB per family (8.05 MB for the embedded database, which is
/// embedded in the binary rather than allocated), plus its lookup blocks:
/// 8 bytes per IPv4 range and 12 per IPv6 range, rounded up to 64-byte
/// blocks of 16 (6.0 MB for the embedded database).
pub struct GeoDatabase {
    reader: Reader<Bytes>,
    /// The same bytes as the reader's (which does not expose them).
    bytes: Bytes,
    /// Where the data section lies in `bytes`.
    data: std::ops::Range<usize>,
    table: TableView,
    origin: String,
    /// Codes of the table that are not assigned, with their networks.
    unassigned: Vec<(CountryCode, u64)>,
}

/// Database bytes: the embedded `'static` file, or an owned one shared
/// between the reader and [`GeoDatabase::lookup_detail`].
#[derive(Clone)]
enum Bytes {
    Static(&'static [u8]),
    Shared(Arc<Vec<u8>>),
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Shared(b) => b,
        }
    }
}

impl fmt::Debug for GeoDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v4, v6) = self.table.range_counts();
        f.debug_struct("GeoDatabase")
            .field("origin", &self.origin)
            .field("database_type", &self.database_type())
            .field("build_epoch", &self.build_epoch())
            .field("ip_version", &self.ip_version())
            .field("node_count", &self.table.node_count())
            .field("network_count", &self.network_count())
            .field("networks_without_country", &self.networks_without_country())
            .field("ranges_v4", &v4)
            .field("ranges_v6", &v6)
            .finish()
    }
}

/// Largest database file [`GeoDatabase::open`] reads (MaxMind's largest
/// databases are well under 1 GiB).
const MAX_FILE_BYTES: u64 = 4 << 30;

#[cfg(feature = "embedded-geoip")]
static EMBEDDED_MMDB: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo-whois-asn-country.mmdb"));

#[cfg(feature = "embedded-geoip")]
static EMBEDDED_TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/geo-country-table.bin"));

impl GeoDatabase {
    /// Opens the MaxMind DB file at `path`, reading it whole and checking
    /// every record (see [`GeoDatabase::from_bytes`]).
    ///
    /// Errors: [`GeoError::NotFound`] (naming the path), [`GeoError::Io`]
    /// (unreadable; also a path that is not a regular file, such as a
    /// directory, a FIFO or `/dev/zero`, and a file over 4 GiB, which are
    /// refused rather than read without bound or waited on),
    /// [`GeoError::Corrupt`] for a file without the MaxMind DB metadata
    /// marker in its last 128 KiB (checked before the file is read whole),
    /// and those of [`GeoDatabase::from_bytes`].
    pub fn open(path: impl AsRef<Path>) -> Result<GeoDatabase, GeoError> {
        let path = path.as_ref();
        let io = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::NotFound {
                GeoError::NotFound { path: path.to_owned() }
            } else {
                GeoError::Io { path: path.to_owned(), source }
            }
        };
        let refuse = |what: &str| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
        // Never read a device, a pipe or a directory without bound, nor
        // open a FIFO (which would wait for a writer): checked by path
        // first, then again on the opened file.
        let check = |meta: std::fs::Metadata| {
            if !meta.is_file() {
                return Err(refuse("not a regular file"));
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(refuse("larger than 4 GiB"));
            }
            Ok(meta.len())
        };
        check(std::fs::metadata(path).map_err(io)?)?;
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = check(file.metadata().map_err(io)?)?;
        // The metadata lies in the last 128 KiB (MaxMind DB spec): a file
        // without its marker there is refused before it is read whole.
        let tail_start = len.saturating_sub(records::METADATA_MAX_BYTES);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(tail_start)).map_err(io)?;
        file.by_ref().take(records::METADATA_MAX_BYTES).read_to_end(&mut tail).map_err(io)?;
        if !records::has_metadata_marker(&tail) {
            return Err(GeoError::Corrupt {
                origin: format!("GeoIP database {}", path.display()),
                message: "no MaxMind DB metadata in the last 128 KiB of the file".into(),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.by_ref().take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(refuse("larger than 4 GiB"));
        }
        Self::from_cow(Cow::Owned(bytes), format!("GeoIP database {}", path.display()))
    }

    /// A database from the bytes of a MaxMind DB file (a `Vec<u8>` or a
    /// `&'static [u8]`).
    ///
    /// Walks the whole search tree and decodes every distinct record once to
    /// build the range tables: 55–110 ms for the embedded database's million
    /// networks in an optimised build (about 1 s unoptimised). Never panics,
    /// whatever the bytes; work is bounded by the size of the file.
    ///
    /// Errors: [`GeoError::Corrupt`] (not a MaxMind DB, damaged tree or
    /// record), [`GeoError::NoCountryField`] (no record has a country field
    /// of either layout), [`GeoError::InvalidCountry`].
    pub fn from_bytes(bytes: impl Into<Cow<'static, [u8]>>) -> Result<GeoDatabase, GeoError> {
        Self::from_cow(bytes.into(), "GeoIP database".to_owned())
    }

    fn from_cow(bytes: Cow<'static, [u8]>, origin: String) -> Result<GeoDatabase, GeoError> {
        let corrupt = |e: &dyn fmt::Display| GeoError::Corrupt {
            origin: origin.clone(),
            message: e.to_string(),
        };
        let bytes = match bytes {
            Cow::Borrowed(b) => Bytes::Static(b),
            Cow::Owned(v) => Bytes::Shared(Arc::new(v)),
        };
        let reader = Reader::from_source(bytes.clone()).map_err(|e| corrupt(&e))?;
        let built =
            build::build(&reader, bytes.as_ref()).map_err(|e| GeoError::from_build(&origin, e))?;
        let table = TableView::parse(Cow::Owned(built.to_bytes())).map_err(|e| corrupt(&e))?;
        Self::assemble(reader, bytes, table, origin)
    }

    fn assemble(
        reader: Reader<Bytes>,
        bytes: Bytes,
        table: TableView,
        origin: String,
    ) -> Result<GeoDatabase, GeoError> {
        let md = reader.metadata();
        let data = records::data_section(bytes.as_ref(), md.node_count as usize, md.record_size)
            .map_err(|message| GeoError::Corrupt { origin: origin.clone(), message })?;
        let unassigned = table
            .code_counts()
            .iter()
            .filter_map(|&(code, n)| code_to_country(code).map(|c| (c, n)))
            .filter(|&(c, _)| !crate::rules::country::is_assigned(c))
            .collect();
        Ok(GeoDatabase { reader, bytes, data, table, origin, unassigned })
    }

    /// The database embedded in the library: `data/geo-whois-asn-country.mmdb`
    /// (ip-location-db geo-whois-asn-country, CC BY 4.0, NRO; see
    /// `data/README.md`), with the range table computed by `build.rs` at
    /// compile time. No tree walk and no decoding: about 2.5 ms to lay the
    /// ranges out in lookup blocks (6 MB); call it once and share the
    /// result.
    ///
    /// Errors: [`GeoError::Corrupt`] only if the embedded data were damaged
    /// after the build checked them (which cannot happen in practice).
    #[cfg(feature = "embedded-geoip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "embedded-geoip")))]
    pub fn embedded() -> Result<GeoDatabase, GeoError> {
        let origin = "embedded GeoIP database".to_owned();
        let corrupt = |e: &dyn fmt::Display| GeoError::Corrupt {
            origin: origin.clone(),
            message: e.to_string(),
        };
        let bytes = Bytes::Static(EMBEDDED_MMDB);
        let reader = Reader::from_source(bytes.clone()).map_err(|e| corrupt(&e))?;
        let table = TableView::parse(Cow::Borrowed(EMBEDDED_TABLE)).map_err(|e| corrupt(&e))?;
        if table.node_count() != reader.metadata().node_count {
            return Err(corrupt(&"the embedded table does not belong to the embedded database"));
        }
        Self::assemble(reader, bytes, table, origin)
    }

    /// The raw bytes of the embedded MaxMind DB file, for callers that want
    /// their own `maxminddb::Reader` (benchmarks, the reference evaluator).
    #[cfg(feature = "embedded-geoip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "embedded-geoip")))]
    pub fn embedded_bytes() -> &'static [u8] {
        EMBEDDED_MMDB
    }

    /// The country of `ip` from the range table: a directory read, short
    /// searches of cached samples and one block read, no decoding. Infallible: every record was
    /// checked when the database was opened. IPv4-mapped addresses are
    /// looked up as IPv4; every other address gives what
    /// `maxminddb::Reader::lookup` gives.
    #[inline]
    pub fn resolve(&self, ip: IpAddr) -> Option<CountryCode> {
        // `canonical_ip`, inlined: IPv4-mapped addresses are looked up as IPv4.
        let code = match ip {
            IpAddr::V4(v4) => self.table.v4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.table.v4(u32::from(v4)),
                None => self.table.v6(u128::from(v6)).unwrap_or(UNKNOWN),
            },
        };
        code_to_country(code)
    }

    /// The countries of many addresses, appended to `out` in order: the
    /// same as [`GeoDatabase::resolve`] on each, faster on large batches.
    /// A lookup waits mostly for memory (the tables are megabytes). Here
    /// each wave of [`RESOLVE_WAVE`] addresses is split by family and each
    /// family looked up in three passes: the directory and sample searches
    /// of all its addresses, then one read of each one's block with no
    /// branch in between, so that those cache misses overlap, then the
    /// counts in the blocks, on cached data.
    pub fn resolve_batch(&self, ips: &[IpAddr], out: &mut Vec<Option<CountryCode>>) {
        out.reserve(ips.len());
        let mut v4 = [(0u32, 0usize); RESOLVE_WAVE];
        let mut v6 = [(0u128, 0usize); RESOLVE_WAVE];
        let mut windows = [Window::default(); RESOLVE_WAVE];
        let mut codes = [UNKNOWN; RESOLVE_WAVE];
        for wave in ips.chunks(RESOLVE_WAVE) {
            // Split by family: both lists get every address, only its own
            // family's count advances (no branch on the family).
            let (mut n4, mut n6) = (0, 0);
            for (i, &ip) in wave.iter().enumerate() {
                let (a4, a6, is_v4) = match canonical_ip(ip) {
                    IpAddr::V4(a) => (u32::from(a), 0, true),
                    IpAddr::V6(a) => (0, u128::from(a), false),
                };
                v4[n4] = (a4, i);
                v6[n6] = (a6, i);
                n4 += usize::from(is_v4);
                n6 += usize::from(!is_v4);
            }
            let mut touched = 0u64;
            for (w, &(ip, _)) in windows.iter_mut().zip(&v4[..n4]) {
                *w = self.table.locate_v4(ip);
            }
            for &w in &windows[..n4] {
                touched ^= self.table.touch_v4(w);
            }
            std::hint::black_box(touched);
            for (&w, &(ip, i)) in windows.iter().zip(&v4[..n4]) {
                codes[i] = self.table.finish_v4(ip, w);
            }
            let mut found = 0;
            for (w, &(ip, _)) in windows.iter_mut().zip(&v6[..n6]) {
                // None: no IPv6 tree, every IPv6 address is unknown.
                if let Some(located) = self.table.locate_v6(ip) {
                    *w = located;
                    found += 1;
                }
            }
            if found == n6 {
                for &w in &windows[..n6] {
                    touched ^= self.table.touch_v6(w);
                }
                std::hint::black_box(touched);
                for (&w, &(ip, i)) in windows.iter().zip(&v6[..n6]) {
                    codes[i] = self.table.finish_v6(ip, w);
                }
            } else {
                for &(_, i) in &v6[..n6] {
                    codes[i] = UNKNOWN;
                }
            }
            out.extend(codes[..wave.len()].iter().map(|&c| code_to_country(c)));
        }
    }

    /// Everything the database says about `ip` (canonicalised first), read
    /// with the MaxMind reader: the matched country and its field,
    /// `represented_country`, the network and whether it has a record.
    ///
    /// Errors: [`GeoError::Lookup`] when the reader fails on a damaged
    /// database (not expected after a successful open).
    pub fn lookup_detail(&self, ip: IpAddr) -> Result<GeoRecord, GeoError> {
        let ip = canonical_ip(ip);
        let fail = |e: &dyn fmt::Display| GeoError::Lookup { ip, message: e.to_string() };
        if ip.is_ipv6() && self.ip_version() == 4 {
            return Ok(GeoRecord {
                country: None,
                source_field: None,
                no_country: None,
                represented_country: None,
                network: None,
                has_record: false,
            });
        }
        let result = self.reader.lookup(ip).map_err(|e| fail(&e))?;
        let network = result.network().map_err(|e| fail(&e))?;
        let network = IpNet::new(network.network(), network.prefix()).map_err(|e| fail(&e))?;
        // The same record reader as the table's, so the answers agree.
        let data = self.bytes.as_ref().get(self.data.clone()).unwrap_or_default();
        let fields = match result.offset() {
            Some(offset) => Some(DataSection::new(data).record(offset).map_err(|e| fail(&e))?),
            None => None,
        };
        let has_record = fields.is_some();
        let fields = fields.unwrap_or_default();
        let (country, source_field) = match fields.country() {
            Ok(Some((code, field))) => (code_to_country(code), Some(field)),
            Ok(None) => (None, None),
            Err(bad) => {
                return Err(GeoError::InvalidCountry {
                    origin: self.origin.clone(),
                    network,
                    field: bad.field,
                    value: bad.value,
                })
            }
        };
        let represented_country = fields.represented().and_then(code_to_country);
        Ok(GeoRecord {
            country,
            source_field,
            no_country: fields.no_country(),
            represented_country,
            network: Some(network),
            has_record,
        })
    }

    /// The metadata `database_type` (e.g. `GeoLite2-Country`,
    /// `country ipvAll` for the embedded database).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The metadata `build_epoch`: when the database was built, in Unix
    /// seconds (UTC).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// The build date as `YYYY-MM-DD` (UTC), from [`GeoDatabase::build_epoch`].
    pub fn build_date(&self) -> String {
        let (y, m, d) = civil_from_days((self.build_epoch() / 86_400) as i64);
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// The metadata `ip_version`: 4 (IPv4 only; every IPv6 address is
    /// unknown) or 6 (IPv4 and IPv6).
    pub fn ip_version(&self) -> u16 {
        self.reader.metadata().ip_version
    }

    /// The English metadata description, if the database has one.
    pub fn description(&self) -> Option<&str> {
        self.reader.metadata().description.get("en").map(String::as_str)
    }

    /// Networks with a record (as counted by `maxminddb`'s `networks()`
    /// iterator: aliases of the IPv4 subtree are not counted twice).
    pub fn network_count(&self) -> u64 {
        self.table.network_count()
    }

    /// Networks whose record has no country: none of the country fields, or
    /// only "no country" values ([`NO_COUNTRY_VALUES`]). Their addresses
    /// are unknown; counted like [`GeoDatabase::network_count`].
    pub fn networks_without_country(&self) -> u64 {
        self.table.no_country()
    }

    /// The codes of the data that are not assigned ISO 3166-1 alpha-2 codes
    /// (`UK`, `ZZ`, `EU`, `A1`; `XK` counts as assigned), each with its
    /// number of networks, by code. They are matched as written: a rule
    /// listing `UK` matches them, one listing `GB` does not.
    pub fn unassigned_codes(&self) -> &[(CountryCode, u64)] {
        &self.unassigned
    }

    /// Ranges in the lookup tables: (IPv4, IPv6). IPv6 ranges that alias the
    /// IPv4 subtree (`::/96` and the like) count as one range each.
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn range_counts(&self) -> (usize, usize) {
        self.table.range_counts()
    }

    /// Size of the lookup tables in bytes (header included).
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn table_bytes(&self) -> usize {
        self.table.byte_len()
    }
}

/// Alias blocks expanded one by one at most (an alias is a whole `/d`
/// subtree, one block; more never comes from the table builder).
const MAX_ALIAS_BLOCKS: u128 = 1 << 16;

impl GeoDatabase {
    /// The country of every IPv4 address: sorted ranges `(first, last,
    /// country)` covering the whole line, as [`GeoDatabase::resolve`] gives.
    pub(crate) fn country_ranges_v4(&self) -> Vec<(u32, u32, Option<CountryCode>)> {
        let starts: Vec<(u32, u16)> = self.table.v4_entries().collect();
        let mut out = Vec::with_capacity(starts.len() + 1);
        if starts.first().is_none_or(|s| s.0 != 0) {
            let end = starts.first().map_or(u32::MAX, |s| s.0 - 1);
            out.push((0, end, None));
        }
        for (k, &(start, code)) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(u32::MAX, |n| n.0.saturating_sub(1));
            if end >= start {
                out.push((start, end, code_to_country(code)));
            }
        }
        out
    }

    /// [`GeoDatabase::country_ranges_v4`] for IPv6: the whole line (the
    /// IPv4-mapped block included), ranges aliasing the IPv4 table expanded
    /// into the IPv4 ranges they read (`v4`: the IPv4 ranges).
    pub(crate) fn country_ranges_v6(
        &self,
        v4: &[(u32, u32, Option<CountryCode>)],
    ) -> Vec<(u128, u128, Option<CountryCode>)> {
        let starts: Vec<(u128, u16)> = self.table.v6_entries().collect();
        if starts.is_empty() {
            return vec![(0, u128::MAX, None)];
        }
        let mut out = Vec::with_capacity(starts.len());
        if starts[0].0 != 0 {
            out.push((0, starts[0].0 - 1, None));
        }
        for (k, &(lo, code)) in starts.iter().enumerate() {
            let hi = starts.get(k + 1).map_or(u128::MAX, |n| n.0.saturating_sub(1));
            if hi < lo {
                continue;
            }
            if code & format::ALIAS == 0 {
                out.push((lo, hi, code_to_country(code)));
                continue;
            }
            // country(ip) = v4 table at bits d..d+32 of ip (docs of TableView::finish_v6).
            let d = u32::from(code & !format::ALIAS).min(96);
            let low = 96 - d; // free bits below the IPv4 field
            let block_bits = 128 - d; // bits below the top d
            let top = |ip: u128| ip.checked_shr(block_bits).unwrap_or(0);
            let (first, last) = (top(lo), top(hi));
            let blocks = last - first;
            for b in 0..=blocks.min(MAX_ALIAS_BLOCKS) {
                let base = (first + b).checked_shl(block_bits).unwrap_or(0);
                let block_hi = base | u128::MAX.checked_shr(d).unwrap_or(0);
                let (from, to) = (lo.max(base), hi.min(block_hi));
                let field = |ip: u128| (ip >> low) as u32;
                let (fa, fb) = (field(from), field(to));
                let i = v4.partition_point(|r| r.1 < fa);
                for &(a, z, country) in v4[i..].iter().take_while(|r| r.0 <= fb) {
                    let s = (base | (u128::from(a) << low)).max(from);
                    let e = (base | (u128::from(z) << low) | ((1u128 << low) - 1)).min(to);
                    out.push((s, e, country));
                }
            }
            if blocks > MAX_ALIAS_BLOCKS {
                let rest = (first + MAX_ALIAS_BLOCKS + 1).checked_shl(block_bits).unwrap_or(hi);
                out.push((rest, hi, None));
            }
        }
        out
    }
}

impl CountryResolver for GeoDatabase {
    /// [`GeoDatabase::resolve`]; never fails.
    #[inline]
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        Ok(self.resolve(ip))
    }
}

#[inline]
fn code_to_country(code: u16) -> Option<CountryCode> {
    match code {
        1.. => CountryCode::from_index(usize::from(code) - 1),
        _ => None,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A fixed table of networks and countries, for tests and for callers that
/// know their viewers' countries by network.
///
/// The most specific network containing the address wins (the longest
/// prefix; between equal networks, the one added first). Lookups scan the
/// entries linearly: meant for a handful of networks. Entries are matched as
/// written: an IPv4-mapped IPv6 network never matches, since addresses are
/// looked up in canonical form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticCountries {
    /// Entries, kept sorted by decreasing prefix length (stable).
    entries: Vec<(IpNet, CountryCode)>,
}

impl StaticCountries {
    /// An empty table: every address is unknown.
    pub fn new() -> StaticCountries {
        StaticCountries::default()
    }

    /// Adds `network` → `country`.
    pub fn insert(&mut self, network: IpNet, country: CountryCode) {
        let at = self.entries.partition_point(|(n, _)| n.prefix_len() >= network.prefix_len());
        self.entries.insert(at, (network, country));
    }

    /// The table with `network` → `country` added (builder style).
    pub fn with(mut self, network: IpNet, country: CountryCode) -> StaticCountries {
        self.insert(network, country);
        self
    }

    /// The country of `ip` (canonicalised), `None` when no network holds it.
    pub fn resolve(&self, ip: IpAddr) -> Option<CountryCode> {
        let ip = canonical_ip(ip);
        self.entries.iter().find(|(n, _)| n.contains(&ip)).map(|&(_, c)| c)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(IpNet, CountryCode)> for StaticCountries {
    fn from_iter<I: IntoIterator<Item = (IpNet, CountryCode)>>(iter: I) -> Self {
        let mut table = StaticCountries::new();
        for (n, c) in iter {
            table.insert(n, c);
        }
        table
    }
}

impl CountryResolver for StaticCountries {
    /// [`StaticCountries::resolve`]; never fails.
    fn country(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        Ok(self.resolve(ip))
    }
}
