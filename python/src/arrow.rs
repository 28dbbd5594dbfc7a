//! Arrow in and out by the Arrow PyCapsule interface: `__arrow_c_array__`
//! gives the C Data Interface structs of an array (pyarrow ≥ 14, polars,
//! DuckDB, nanoarrow all speak it), and [`ExportedArray`] hands ours back
//! the same way, so no Python object is made per row.

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr};

use accessrules::country::viewer_country;
use accessrules::{Action, CountryCode, CountryNeed, Decision, GeoDatabase, Matcher, Viewer};
use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{
    make_array, Array, ArrayRef, BinaryArray, BinaryViewArray, FixedSizeBinaryArray, Int32Array,
    LargeBinaryArray, LargeStringArray, StringArray, StringViewArray, UInt32Array,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::Row;

const SCHEMA_NAME: &CStr = c"arrow_schema";
const ARRAY_NAME: &CStr = c"arrow_array";

/// Rows decided per batch (the matcher's and the GeoIP table's batch calls
/// work best on a few thousand).
const BATCH: usize = 4096;

/// Imports an object that implements `__arrow_c_array__`.
pub(crate) fn import(obj: &Bound<'_, PyAny>) -> PyResult<ArrayRef> {
    if !obj.hasattr("__arrow_c_array__")? {
        return Err(PyTypeError::new_err(format!(
            "expected an Arrow array (an object with __arrow_c_array__), got {}",
            obj.get_type().name()?
        )));
    }
    let pair = obj.call_method0("__arrow_c_array__")?;
    let pair = pair.cast::<PyTuple>()?;
    if pair.len() != 2 {
        return Err(PyTypeError::new_err("__arrow_c_array__ must return (schema, array)"));
    }
    let schema = pair.get_item(0)?;
    let array = pair.get_item(1)?;
    let schema = schema.cast::<PyCapsule>()?;
    let array = array.cast::<PyCapsule>()?;
    check_name(schema, SCHEMA_NAME)?;
    check_name(array, ARRAY_NAME)?;
    let schema_ptr = schema.pointer_checked(Some(SCHEMA_NAME))?.cast::<FFI_ArrowSchema>();
    let array_ptr = array.pointer_checked(Some(ARRAY_NAME))?.cast::<FFI_ArrowArray>();
    // SAFETY: the capsules are named as the Arrow PyCapsule interface
    // requires, so they point at a live `ArrowSchema` and `ArrowArray`. The
    // schema is borrowed (its capsule keeps ownership); the array is moved
    // out and its slot left released (release = NULL), as the interface
    // prescribes for a consumer, so the capsule's destructor does nothing.
    let data = unsafe {
        if (*array_ptr.as_ptr()).is_released() {
            return Err(PyValueError::new_err(
                "cannot import the Arrow array: its capsule was already read (a capsule \
                 from __arrow_c_array__ can be read once)",
            ));
        }
        let array = std::ptr::replace(array_ptr.as_ptr(), FFI_ArrowArray::empty());
        from_ffi(array, &*schema_ptr.as_ptr())
    }
    .and_then(|data| data.validate().map(|()| data))
    .map_err(|e| PyValueError::new_err(format!("cannot import the Arrow array: {e}")))?;
    Ok(make_array(data))
}

fn check_name(capsule: &Bound<'_, PyCapsule>, expected: &CStr) -> PyResult<()> {
    match capsule.name()? {
        // SAFETY: a capsule's name is a NUL-terminated string it owns.
        Some(name) if unsafe { name.as_cstr() } == expected => Ok(()),
        _ => Err(PyTypeError::new_err(format!(
            "expected a capsule named {:?}",
            expected.to_string_lossy()
        ))),
    }
}

/// An Arrow array made here, exported by `__arrow_c_array__` (pass it to
/// `pyarrow.array`, `polars.Series` or anything that speaks the interface).
#[pyclass(frozen, module = "accessrules._accessrules")]
pub(crate) struct ExportedArray {
    array: ArrayRef,
}

#[pymethods]
impl ExportedArray {
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        // The requested schema is a hint; we always give our own type.
        let _ = requested_schema;
        let (array, schema) = to_ffi(&self.array.to_data())
            .map_err(|e| PyValueError::new_err(format!("cannot export the Arrow array: {e}")))?;
        let schema = PyCapsule::new(py, schema, Some(SCHEMA_NAME.to_owned()))?;
        let array = PyCapsule::new(py, array, Some(ARRAY_NAME.to_owned()))?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }

    fn __len__(&self) -> usize {
        self.array.len()
    }

    fn __repr__(&self) -> String {
        format!("<ExportedArray {} of {}>", self.array.data_type(), self.array.len())
    }
}

/// Why a batch could not be decided.
pub(crate) enum DecideError {
    Type(String),
    Shape(String),
    Value { row: usize, message: String },
}

impl DecideError {
    pub(crate) fn into_py_err(self) -> PyErr {
        match self {
            DecideError::Type(m) => PyTypeError::new_err(m),
            DecideError::Shape(m) => PyValueError::new_err(m),
            DecideError::Value { row, message } => {
                PyValueError::new_err(format!("row {row}: {message}"))
            }
        }
    }
}

/// The countries column: text of any of Arrow's three string layouts,
/// read as bytes (an Arrow producer's UTF-8 is not trusted).
enum Countries<'a> {
    Utf8(Offsets<'a, i32>),
    Large(Offsets<'a, i64>),
    View(BinaryViewArray),
}

impl Countries<'_> {
    fn of(array: &dyn Array) -> Result<Countries<'_>, DecideError> {
        let any = array.as_any();
        match array.data_type() {
            DataType::Utf8 => {
                any.downcast_ref::<StringArray>().map(|a| Countries::Utf8(Offsets::of(a)))
            }
            DataType::LargeUtf8 => {
                any.downcast_ref::<LargeStringArray>().map(|a| Countries::Large(Offsets::of(a)))
            }
            DataType::Utf8View => any
                .downcast_ref::<StringViewArray>()
                .map(|a| Countries::View(a.clone().to_binary_view())),
            _ => None,
        }
        .ok_or_else(|| {
            DecideError::Type(format!(
                "countries must be an Arrow string array (utf8, large_utf8 or string_view), not {}",
                array.data_type()
            ))
        })
    }

    /// Row `i`'s country: `None` when null (looked up), an error naming a
    /// value that is not a country code.
    #[inline]
    fn get(&self, i: usize) -> Result<Option<CountryCode>, String> {
        let bytes = match self {
            Countries::Utf8(c) => c.bytes(i),
            Countries::Large(c) => c.bytes(i),
            Countries::View(c) => c.is_valid(i).then(|| c.value(i)),
        };
        let Some(bytes) = bytes else { return Ok(None) };
        let text = std::str::from_utf8(bytes).map_err(|_| {
            format!("invalid country {:?}: not UTF-8", String::from_utf8_lossy(bytes))
        })?;
        viewer_country(text).map(Some)
    }
}

/// Row-by-row access to the values of one Arrow layout, so that the
/// address loop is compiled once per layout (and [`form`]) instead of
/// matching the layout on every row.
trait Values: Copy {
    /// The bytes of row `i`, `None` when it is null.
    fn bytes(&self, i: usize) -> Option<&[u8]>;
}

/// `utf8`, `large_utf8`, `binary` and `large_binary`: offsets into one
/// value buffer.
#[derive(Clone, Copy)]
struct Offsets<'a, O> {
    offsets: &'a [O],
    values: &'a [u8],
    nulls: Option<&'a NullBuffer>,
}

impl<'a, O: arrow_array::OffsetSizeTrait> Offsets<'a, O> {
    fn of<T: arrow_array::types::ByteArrayType<Offset = O>>(
        a: &'a arrow_array::GenericByteArray<T>,
    ) -> Offsets<'a, O> {
        Offsets { offsets: a.value_offsets(), values: a.value_data(), nulls: a.nulls() }
    }
}

impl<O: Copy + TryInto<usize>> Values for Offsets<'_, O> {
    #[inline(always)]
    fn bytes(&self, i: usize) -> Option<&[u8]> {
        if self.nulls.is_some_and(|n| n.is_null(i)) {
            return None;
        }
        // Offsets out of order or past the values (a broken producer) read
        // as an empty value, which is then refused naming the row.
        let start = self.offsets[i].try_into().unwrap_or(0);
        let end = self.offsets[i + 1].try_into().unwrap_or(0);
        Some(self.values.get(start..end).unwrap_or_default())
    }
}

/// An address as text, surrounding whitespace allowed (ASCII on the fast
/// path; any Unicode whitespace, as `Matcher.decide` allows, otherwise).
#[inline(always)]
fn read_text(value: &[u8]) -> Result<IpAddr, String> {
    accessrules::input::plain::parse_ip(value.trim_ascii()).or_else(|_| {
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| accessrules::input::plain::parse_ip(text.trim().as_bytes()).ok())
            .ok_or_else(|| {
                let shown: String = String::from_utf8_lossy(value).chars().take(64).collect();
                format!("invalid IP address {shown:?}")
            })
    })
}

impl Values for &BinaryViewArray {
    #[inline(always)]
    fn bytes(&self, i: usize) -> Option<&[u8]> {
        self.is_valid(i).then(|| self.value(i))
    }
}

impl Values for &FixedSizeBinaryArray {
    #[inline(always)]
    fn bytes(&self, i: usize) -> Option<&[u8]> {
        self.is_valid(i).then(|| self.value(i))
    }
}

/// A `uint32` array's values as their four native-endian bytes.
impl Values for &UInt32Array {
    #[inline(always)]
    fn bytes(&self, i: usize) -> Option<&[u8]> {
        let bytes = self.values().inner().as_slice();
        self.is_valid(i).then(|| &bytes[4 * i..4 * i + 4])
    }
}

/// How a column writes its addresses ([`Job::run`]'s `FORM`).
mod form {
    /// `1.2.3.4`, `2001:db8::1` (surrounding spaces allowed).
    pub(super) const TEXT: u8 = 0;
    /// 4 (IPv4) or 16 (IPv6; IPv4-mapped decides as IPv4) bytes in network
    /// order, as `ipaddress`' `.packed` and `inet_pton` give them.
    pub(super) const PACKED: u8 = 1;
    /// IPv4 as a number (`1.2.3.4` is 0x01020304), four native-endian bytes.
    pub(super) const NUMBER: u8 = 2;
}

/// Decides rows (address and given country; `None` rows stay `None`):
/// countries not given are resolved in one GeoIP batch, and only for the
/// addresses whose decision depends on them.
pub(crate) fn decide_rows(
    matcher: &Matcher,
    geo: &GeoDatabase,
    rows: &[Row],
) -> Vec<Option<Decision>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut scratch = Scratch::new(matcher, true);
    for chunk in rows.chunks(BATCH) {
        scratch.clear();
        for &(ip, country) in chunk.iter().flatten() {
            scratch.push(ip, country);
        }
        scratch.decide(matcher, geo);
        let mut decisions = scratch.decisions.iter();
        out.extend(chunk.iter().map(|r| r.and_then(|_| decisions.next().copied())));
    }
    out
}

/// One batch of viewers and the buffers reused from batch to batch.
struct Scratch {
    /// Whether every row's country is looked up (a country rule decides
    /// before any address rule, and no countries are given): the batch is
    /// then read into `ips`, otherwise into `viewers`.
    resolve_all: bool,
    /// Whether some rows may need their country looked up.
    resolve_some: bool,
    ips: Vec<IpAddr>,
    /// Viewers, countries as given (`None`: not given, so looked up when
    /// the decision needs it).
    viewers: Vec<Viewer>,
    lookups: Vec<IpAddr>,
    looked_up: Vec<usize>,
    resolved: Vec<Option<CountryCode>>,
    decisions: Vec<Decision>,
}

impl Scratch {
    fn new(matcher: &Matcher, countries_given: bool) -> Scratch {
        let need = matcher.country_need();
        Scratch {
            resolve_all: need == CountryNeed::Always && !countries_given,
            resolve_some: need != CountryNeed::Never,
            ips: Vec::with_capacity(BATCH),
            viewers: Vec::with_capacity(BATCH),
            lookups: Vec::new(),
            looked_up: Vec::new(),
            resolved: Vec::new(),
            decisions: Vec::with_capacity(BATCH),
        }
    }

    fn clear(&mut self) {
        self.ips.clear();
        self.viewers.clear();
    }

    /// Adds a viewer to the batch.
    #[inline(always)]
    fn push(&mut self, ip: IpAddr, country: Option<CountryCode>) {
        if self.resolve_all {
            self.ips.push(ip);
        } else {
            self.viewers.push(Viewer::new(ip, country));
        }
    }

    /// Resolves the countries the decisions need (of viewers without a
    /// given country) and decides the batch into `self.decisions`.
    fn decide(&mut self, matcher: &Matcher, geo: &GeoDatabase) {
        self.resolved.clear();
        if self.resolve_all {
            geo.resolve_batch(&self.ips, &mut self.resolved);
            let resolved = self.ips.iter().zip(&self.resolved);
            self.viewers.extend(resolved.map(|(&ip, &country)| Viewer::new(ip, country)));
        } else if self.resolve_some {
            self.lookups.clear();
            self.looked_up.clear();
            for (k, v) in self.viewers.iter().enumerate() {
                if v.country().is_none() && matcher.needs_country(v.ip()) {
                    self.lookups.push(v.ip());
                    self.looked_up.push(k);
                }
            }
            geo.resolve_batch(&self.lookups, &mut self.resolved);
            for (&k, &country) in self.looked_up.iter().zip(&self.resolved) {
                self.viewers[k] = self.viewers[k].with_country(country);
            }
        }
        self.decisions.clear();
        matcher.decide_batch(&self.viewers, &mut self.decisions);
    }
}

/// The two output arrays under construction: actions (utf8, every value
/// five bytes) and rule indexes (int32), each with its validity bits.
/// Every buffer is allocated at full size up front and written by index.
struct Columns {
    /// `allow`/`block` bytes of the non-null rows, back to back.
    values: Vec<u8>,
    offsets: Vec<i32>,
    action_bits: Vec<u64>,
    rules: Vec<i32>,
    rule_bits: Vec<u64>,
    /// Validity bits of the rows since the last multiple of 64.
    action_word: u64,
    rule_word: u64,
    rows: usize,
    /// Rows with an action so far.
    decided: usize,
}

impl Columns {
    fn with_capacity(n: usize) -> Columns {
        let words = n.div_ceil(64);
        Columns {
            values: vec![0; 5 * n],
            offsets: vec![0; n + 1],
            action_bits: vec![0; words],
            rules: vec![0; n],
            rule_bits: vec![0; words],
            action_word: 0,
            rule_word: 0,
            rows: 0,
            decided: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, d: Option<&Decision>) {
        let i = self.rows;
        let bit = 1 << (i % 64);
        if let Some(d) = d {
            let word = match d.action {
                Action::Allow => b"allow",
                Action::Block => b"block",
            };
            let at = 5 * self.decided;
            self.values[at..at + 5].copy_from_slice(word);
            self.decided += 1;
            self.action_word |= bit;
            self.rules[i] = d.rule.map_or(0, |r| r.index() as i32);
            self.rule_word |= if d.rule.is_some() { bit } else { 0 };
        }
        self.offsets[i + 1] = (5 * self.decided) as i32;
        self.rows += 1;
        if self.rows.is_multiple_of(64) {
            self.flush_bits();
        }
    }

    /// Stores the validity bits of the current 64 rows (kept in registers
    /// until then: no read-modify-write of memory per row).
    fn flush_bits(&mut self) {
        let k = (self.rows - 1) / 64;
        self.action_bits[k] = std::mem::take(&mut self.action_word);
        self.rule_bits[k] = std::mem::take(&mut self.rule_word);
    }

    fn finish(mut self) -> Result<(ExportedArray, ExportedArray), DecideError> {
        if !self.rows.is_multiple_of(64) {
            self.flush_bits();
        }
        self.values.truncate(5 * self.decided);
        let bits = |words: Vec<u64>| {
            let buffer = Buffer::from_vec(words);
            NullBuffer::new(arrow_buffer::BooleanBuffer::new(buffer, 0, self.rows))
        };
        let actions = StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(self.offsets)),
            Buffer::from_vec(self.values),
            Some(bits(self.action_bits)),
        )
        .map_err(|e| DecideError::Type(e.to_string()))?;
        let rules = Int32Array::new(ScalarBuffer::from(self.rules), Some(bits(self.rule_bits)));
        Ok((
            ExportedArray { array: std::sync::Arc::new(actions) },
            ExportedArray { array: std::sync::Arc::new(rules) },
        ))
    }
}

/// Decides every row of `ips` (with `countries` when given) and returns
/// `(actions, rules)`: utf8 `allow`/`block` and int32 rule indexes, null
/// for the default decision's rule and for null (or, with
/// `null_on_error`, unreadable) rows.
pub(crate) fn decide_arrow(
    matcher: &Matcher,
    geo: &GeoDatabase,
    ips: &dyn Array,
    countries: Option<&dyn Array>,
    options: BatchOptions,
) -> Result<(ExportedArray, ExportedArray), DecideError> {
    let countries_read = countries.map(Countries::of).transpose()?;
    if let Some(c) = countries {
        if c.len() != ips.len() {
            return Err(DecideError::Shape(format!(
                "{} addresses but {} countries: the arrays must have the same length",
                ips.len(),
                c.len()
            )));
        }
    }
    if ips.len() > MAX_ROWS {
        return Err(DecideError::Shape(format!(
            "{} rows in one array; at most {MAX_ROWS} (the utf8 actions' 32-bit offsets): \
             pass a ChunkedArray",
            ips.len()
        )));
    }
    let job = Job { matcher, geo, countries: countries_read, options, rows: ips.len() };
    let any = ips.as_any();
    use form::{NUMBER, PACKED, TEXT};
    match ips.data_type() {
        DataType::Utf8 => {
            any.downcast_ref::<StringArray>().map(|a| job.run::<_, TEXT>(Offsets::of(a)))
        }
        DataType::LargeUtf8 => {
            any.downcast_ref::<LargeStringArray>().map(|a| job.run::<_, TEXT>(Offsets::of(a)))
        }
        DataType::Utf8View => any
            .downcast_ref::<StringViewArray>()
            .map(|a| job.run::<_, TEXT>(&a.clone().to_binary_view())),
        DataType::Binary => {
            any.downcast_ref::<BinaryArray>().map(|a| job.run::<_, PACKED>(Offsets::of(a)))
        }
        DataType::LargeBinary => {
            any.downcast_ref::<LargeBinaryArray>().map(|a| job.run::<_, PACKED>(Offsets::of(a)))
        }
        DataType::BinaryView => {
            any.downcast_ref::<BinaryViewArray>().map(|a| job.run::<_, PACKED>(a))
        }
        DataType::FixedSizeBinary(4 | 16) => {
            any.downcast_ref::<FixedSizeBinaryArray>().map(|a| job.run::<_, PACKED>(a))
        }
        DataType::UInt32 => any.downcast_ref::<UInt32Array>().map(|a| job.run::<_, NUMBER>(a)),
        _ => None,
    }
    .unwrap_or_else(|| {
        Err(DecideError::Type(format!(
            "ips must be an Arrow array of addresses: strings (utf8, large_utf8, string_view), \
             4- or 16-byte binary (binary, large_binary, binary_view, fixed_size_binary) or \
             uint32 IPv4, not {}",
            ips.data_type()
        )))
    })
}

/// Most rows of one array: five bytes of `allow`/`block` each must fit the
/// utf8 output's 32-bit offsets.
const MAX_ROWS: usize = i32::MAX as usize / 5;

/// How a batch treats bad rows and numbers them.
#[derive(Clone, Copy)]
pub(crate) struct BatchOptions {
    /// Unreadable rows give nulls instead of an error.
    pub(crate) null_on_error: bool,
    /// The number of the array's first row in error messages (a chunk of
    /// a chunked array counts from its offset in the whole).
    pub(crate) first_row: usize,
}

/// One `decide_arrow` call.
struct Job<'a> {
    matcher: &'a Matcher,
    geo: &'a GeoDatabase,
    countries: Option<Countries<'a>>,
    options: BatchOptions,
    rows: usize,
}

impl Job<'_> {
    /// Batch by batch: reads each row straight into the viewer batch
    /// (null and, with `null_on_error`, unreadable rows marked absent),
    /// resolves and decides the batch, and appends the decisions.
    fn run<T: Values, const FORM: u8>(
        &self,
        ips: T,
    ) -> Result<(ExportedArray, ExportedArray), DecideError> {
        let mut out = Columns::with_capacity(self.rows);
        let mut scratch = Scratch::new(self.matcher, self.countries.is_some());
        let null_on_error = self.options.null_on_error;
        // Whether each row of the batch has a viewer (all of them, mostly).
        let mut present = Vec::with_capacity(BATCH);
        let mut start = 0;
        while start < self.rows {
            let end = (start + BATCH).min(self.rows);
            scratch.clear();
            present.clear();
            for i in start..end {
                let read = match ips.bytes(i) {
                    None => false,
                    Some(value) => match self.viewer::<FORM>(value, i, &mut scratch) {
                        Ok(()) => true,
                        Err(_) if null_on_error => false,
                        Err(message) => {
                            let row = self.options.first_row + i;
                            return Err(DecideError::Value { row, message });
                        }
                    },
                };
                present.push(read);
            }
            scratch.decide(self.matcher, self.geo);
            if scratch.decisions.len() == end - start {
                for d in &scratch.decisions {
                    out.push(Some(d));
                }
            } else {
                let mut decisions = scratch.decisions.iter();
                for &p in &present {
                    out.push(if p { decisions.next() } else { None });
                }
            }
            start = end;
        }
        out.finish()
    }

    /// Reads row `i` into the batch: its address, and its country when a
    /// countries column is given (nothing is added when either is bad).
    #[inline(always)]
    fn viewer<const FORM: u8>(
        &self,
        value: &[u8],
        i: usize,
        batch: &mut Scratch,
    ) -> Result<(), String> {
        let addr = match FORM {
            form::PACKED => match value.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(value).unwrap_or_default()),
                16 => IpAddr::from(<[u8; 16]>::try_from(value).unwrap_or_default()),
                n => return Err(format!("a binary address must be 4 or 16 bytes, not {n}")),
            },
            form::NUMBER => {
                let number = u32::from_ne_bytes(value.try_into().unwrap_or_default());
                IpAddr::from(Ipv4Addr::from(number))
            }
            _ => read_text(value)?,
        };
        let country = match &self.countries {
            Some(countries) => countries.get(i)?,
            None => None,
        };
        batch.push(addr, country);
        Ok(())
    }
}
