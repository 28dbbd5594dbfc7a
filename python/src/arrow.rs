//! Arrow in and out by the Arrow PyCapsule interface: `__arrow_c_array__`
//! gives the C Data Interface structs of an array (pyarrow ≥ 14, polars,
//! DuckDB, nanoarrow all speak it), and [`ExportedArray`] hands ours back
//! the same way, so no Python object is made per row.

use std::ffi::CStr;
use std::net::IpAddr;

use accessrules::country::viewer_country;
use accessrules::{CountryCode, Decision, GeoDatabase, GeoError, Matcher, Viewer};
use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{
    make_array, Array, ArrayRef, Int32Array, LargeStringArray, StringArray, StringViewArray,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::{GeoIPError, Row};

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
        let array = std::ptr::replace(array_ptr.as_ptr(), FFI_ArrowArray::empty());
        from_ffi(array, &*schema_ptr.as_ptr())
    }
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
    Geo(GeoError),
}

impl DecideError {
    pub(crate) fn into_py_err(self) -> PyErr {
        match self {
            DecideError::Type(m) => PyTypeError::new_err(m),
            DecideError::Shape(m) => PyValueError::new_err(m),
            DecideError::Value { row, message } => {
                PyValueError::new_err(format!("row {row}: {message}"))
            }
            DecideError::Geo(e) => GeoIPError::new_err(e.to_string()),
        }
    }
}

/// Text values of a string array of any of Arrow's three layouts.
enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(array: &'a dyn Array, what: &str) -> Result<Strings<'a>, DecideError> {
        let any = array.as_any();
        match array.data_type() {
            DataType::Utf8 => any.downcast_ref().map(Strings::Utf8),
            DataType::LargeUtf8 => any.downcast_ref().map(Strings::Large),
            DataType::Utf8View => any.downcast_ref().map(Strings::View),
            _ => None,
        }
        .ok_or_else(|| {
            DecideError::Type(format!(
                "{what} must be an Arrow string array (utf8, large_utf8 or string_view), not {}",
                array.data_type()
            ))
        })
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strings::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// Decides rows (address and given country; `None` rows stay `None`):
/// countries not given are resolved in one GeoIP batch, and only for the
/// addresses whose decision depends on them.
pub(crate) fn decide_rows(
    matcher: &Matcher,
    geo: &GeoDatabase,
    rows: &[Row],
) -> Result<Vec<Option<Decision>>, GeoError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut scratch = Scratch::default();
    for chunk in rows.chunks(BATCH) {
        scratch.decide(matcher, geo, chunk, &mut out)?;
    }
    Ok(out)
}

#[derive(Default)]
struct Scratch {
    needs: Vec<bool>,
    lookups: Vec<IpAddr>,
    resolved: Vec<Option<CountryCode>>,
    viewers: Vec<Viewer>,
    decisions: Vec<Decision>,
}

impl Scratch {
    fn decide(
        &mut self,
        matcher: &Matcher,
        geo: &GeoDatabase,
        rows: &[Row],
        out: &mut Vec<Option<Decision>>,
    ) -> Result<(), GeoError> {
        // Whether each row's country is looked up, decided once per row.
        self.needs.clear();
        self.needs.extend(
            rows.iter().flatten().map(|&(ip, given)| given.is_none() && matcher.needs_country(ip)),
        );
        self.lookups.clear();
        self.lookups
            .extend(rows.iter().flatten().zip(&self.needs).filter(|(_, &n)| n).map(|(r, _)| r.0));
        self.resolved.clear();
        geo.resolve_batch(&self.lookups, &mut self.resolved);
        let mut resolved = self.resolved.iter();
        self.viewers.clear();
        for (&(ip, given), &needs) in rows.iter().flatten().zip(&self.needs) {
            let country = if needs { resolved.next().copied().flatten() } else { given };
            self.viewers.push(Viewer::new(ip, country));
        }
        self.decisions.clear();
        matcher.decide_batch(&self.viewers, &mut self.decisions);
        let mut decisions = self.decisions.iter();
        out.extend(rows.iter().map(|r| r.and_then(|_| decisions.next().copied())));
        Ok(())
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
    null_on_error: bool,
) -> Result<(ExportedArray, ExportedArray), DecideError> {
    let ip_text = Strings::of(ips, "ips")?;
    let country_text = countries.map(|c| Strings::of(c, "countries")).transpose()?;
    if let Some(c) = countries {
        if c.len() != ips.len() {
            return Err(DecideError::Shape(format!(
                "{} addresses but {} countries: the arrays must have the same length",
                ips.len(),
                c.len()
            )));
        }
    }
    let n = ips.len();
    // "allow" and "block" are both five bytes: offsets are 5 × (rows with
    // an action so far), written directly.
    let mut offsets: Vec<i32> = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut values: Vec<u8> = Vec::with_capacity(n * 5);
    let mut valid = arrow_buffer::BooleanBufferBuilder::new(n);
    let mut rules: Vec<i32> = Vec::with_capacity(n);
    let mut rule_valid = arrow_buffer::BooleanBufferBuilder::new(n);
    let mut scratch = Scratch::default();
    let mut rows: Vec<Row> = Vec::with_capacity(BATCH);
    let mut decided = Vec::with_capacity(BATCH);
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        rows.clear();
        for i in start..end {
            let row = match ip_text.get(i) {
                None => None,
                Some(text) => {
                    let parsed = parse_row(text, country_text.as_ref().and_then(|c| c.get(i)));
                    match parsed {
                        Ok(row) => Some(row),
                        Err(_) if null_on_error => None,
                        Err(message) => return Err(DecideError::Value { row: i, message }),
                    }
                }
            };
            rows.push(row);
        }
        decided.clear();
        scratch.decide(matcher, geo, &rows, &mut decided).map_err(DecideError::Geo)?;
        for d in &decided {
            match d {
                Some(d) => {
                    values.extend_from_slice(d.action.as_str().as_bytes());
                    valid.append(true);
                    rules.push(d.rule.map_or(0, |r| r.index() as i32));
                    rule_valid.append(d.rule.is_some());
                }
                None => {
                    valid.append(false);
                    rules.push(0);
                    rule_valid.append(false);
                }
            }
            offsets.push(values.len() as i32);
        }
        start = end;
    }
    let actions = StringArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(values),
        Some(NullBuffer::new(valid.finish())),
    )
    .map_err(|e| DecideError::Type(e.to_string()))?;
    let rules =
        Int32Array::new(ScalarBuffer::from(rules), Some(NullBuffer::new(rule_valid.finish())));
    Ok((
        ExportedArray { array: std::sync::Arc::new(actions) },
        ExportedArray { array: std::sync::Arc::new(rules) },
    ))
}

fn parse_row(ip: &str, country: Option<&str>) -> Result<(IpAddr, Option<CountryCode>), String> {
    let addr = accessrules::input::plain::parse_ip(ip.trim().as_bytes()).map_err(|_| {
        let shown: String = ip.chars().take(64).collect();
        format!("invalid IP address {shown:?}")
    })?;
    let country = country.map(viewer_country).transpose()?;
    Ok((addr, country))
}
