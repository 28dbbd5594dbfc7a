//! The native module `accessrules._accessrules`: the Rust library behind the
//! Python package `accessrules` (the typed API is `accessrules/__init__.py`
//! and its `.pyi` stub).
//!
//! Rust panics become Python `PanicException`s (pyo3), never an abort of
//! the interpreter. Arrow data crosses by the Arrow PyCapsule interface
//! (`__arrow_c_array__`), so no Python object is made per row.

mod analysis;
mod arrow;
mod token;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use accessrules::country::viewer_country;
use accessrules::{
    check as check_rules, CountryCode, Decision as RustDecision, Diagnostic as RustDiagnostic,
    GeoDatabase, Matcher as RustMatcher, Options, Severity, Validation as RustValidation, Viewer,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

create_exception!(
    _accessrules,
    InvalidRules,
    PyValueError,
    "A rule document with at least one error; `.diagnostics` lists every finding."
);
create_exception!(
    _accessrules,
    GeoIPError,
    PyOSError,
    "A GeoIP database that cannot be read, or a lookup that failed on it."
);

/// The embedded GeoIP database, converted once per process.
fn embedded_geoip() -> PyResult<Arc<GeoDatabase>> {
    static EMBEDDED: OnceLock<Result<Arc<GeoDatabase>, String>> = OnceLock::new();
    EMBEDDED
        .get_or_init(|| GeoDatabase::embedded().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(GeoIPError::new_err)
}

fn options(now: Option<i64>) -> Options {
    match now {
        Some(now) => Options::at(now),
        None => Options::now(),
    }
}

/// One finding of validation.
#[pyclass(frozen, module = "accessrules._accessrules")]
#[derive(Clone)]
struct Diagnostic {
    #[pyo3(get)]
    severity: &'static str,
    #[pyo3(get)]
    code: &'static str,
    #[pyo3(get)]
    path: String,
    #[pyo3(get)]
    message: String,
    #[pyo3(get)]
    help: Option<String>,
    #[pyo3(get)]
    line: Option<usize>,
    #[pyo3(get)]
    column: Option<usize>,
    display: String,
}

impl From<&RustDiagnostic> for Diagnostic {
    fn from(d: &RustDiagnostic) -> Diagnostic {
        Diagnostic {
            severity: d.severity.as_str(),
            code: d.code.as_str(),
            path: d.path().to_owned(),
            message: d.message.clone(),
            help: d.help.clone(),
            line: d.location.line,
            column: d.location.column,
            display: d.to_string(),
        }
    }
}

#[pymethods]
impl Diagnostic {
    fn is_error(&self) -> bool {
        self.severity == Severity::Error.as_str()
    }

    fn __str__(&self) -> &str {
        &self.display
    }

    fn __repr__(&self) -> String {
        format!("<Diagnostic {} {} at {:?}>", self.severity, self.code, self.path)
    }
}

fn diagnostics(v: &RustValidation) -> Vec<Diagnostic> {
    v.diagnostics().iter().map(Diagnostic::from).collect()
}

/// Every finding of one document.
#[pyclass(frozen, module = "accessrules._accessrules")]
struct Validation {
    #[pyo3(get)]
    valid: bool,
    #[pyo3(get)]
    errors: usize,
    #[pyo3(get)]
    warnings: usize,
    diagnostics: Vec<Diagnostic>,
}

#[pymethods]
impl Validation {
    #[getter]
    fn diagnostics(&self) -> Vec<Diagnostic> {
        self.diagnostics.clone()
    }

    fn __bool__(&self) -> bool {
        self.valid
    }

    fn __repr__(&self) -> String {
        format!(
            "<Validation valid={} errors={} warnings={}>",
            if self.valid { "True" } else { "False" },
            self.errors,
            self.warnings
        )
    }
}

/// `check(rules: bytes, now: int | None) -> Validation`.
#[pyfunction]
#[pyo3(signature = (rules, now=None))]
fn check(py: Python<'_>, rules: &[u8], now: Option<i64>) -> Validation {
    let v = py.detach(|| check_rules(rules, &options(now)));
    Validation {
        valid: v.is_valid(),
        errors: v.error_count(),
        warnings: v.warning_count(),
        diagnostics: diagnostics(&v),
    }
}

/// The outcome for one viewer.
#[pyclass(frozen, eq, module = "accessrules._accessrules")]
#[derive(Clone, PartialEq)]
struct Decision {
    #[pyo3(get)]
    action: &'static str,
    #[pyo3(get)]
    rule: Option<usize>,
}

impl From<RustDecision> for Decision {
    fn from(d: RustDecision) -> Decision {
        Decision { action: d.action.as_str(), rule: d.rule.map(|r| r.index()) }
    }
}

#[pymethods]
impl Decision {
    #[new]
    #[pyo3(signature = (action, rule=None))]
    fn new(action: &str, rule: Option<usize>) -> PyResult<Decision> {
        let action = match action {
            "allow" => "allow",
            "block" => "block",
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid action {other:?}: expected \"allow\" or \"block\""
                )))
            }
        };
        Ok(Decision { action, rule })
    }

    #[getter]
    fn allowed(&self) -> bool {
        self.action == "allow"
    }

    fn __str__(&self) -> String {
        match self.rule {
            Some(r) => format!("{} by rule {r}", self.action),
            None => format!("{} (no rule matched; the default is allow)", self.action),
        }
    }

    fn __repr__(&self) -> String {
        match self.rule {
            Some(r) => format!("Decision({:?}, rule={r})", self.action),
            None => format!("Decision({:?}, rule=None)", self.action),
        }
    }
}

fn parse_ip(text: &str) -> PyResult<IpAddr> {
    accessrules::input::plain::parse_ip(text.trim().as_bytes()).map_err(|_| {
        let shown: String = text.chars().take(64).collect();
        PyValueError::new_err(format!("invalid IP address {shown:?}"))
    })
}

fn parse_country(text: &str) -> PyResult<CountryCode> {
    viewer_country(text).map_err(PyValueError::new_err)
}

/// A compiled rule set with its GeoIP database.
#[pyclass(frozen, module = "accessrules._accessrules")]
struct Matcher {
    matcher: RustMatcher,
    geo: Arc<GeoDatabase>,
}

#[pymethods]
impl Matcher {
    #[new]
    #[pyo3(signature = (rules, geoip=None, now=None))]
    fn new(
        py: Python<'_>,
        rules: &[u8],
        geoip: Option<std::path::PathBuf>,
        now: Option<i64>,
    ) -> PyResult<Matcher> {
        let validation = py.detach(|| check_rules(rules, &options(now)));
        let diags = diagnostics(&validation);
        let rule_set = match validation.into_result() {
            Ok(rules) => rules,
            Err(invalid) => {
                let err = InvalidRules::new_err(invalid.to_string());
                err.value(py).setattr("diagnostics", PyList::new(py, diags)?)?;
                return Err(err);
            }
        };
        // A valid document has at most 5 rules.
        let matcher =
            RustMatcher::new(&rule_set).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let geo = match geoip {
            Some(path) => Arc::new(
                py.detach(|| GeoDatabase::open(&path))
                    .map_err(|e| GeoIPError::new_err(e.to_string()))?,
            ),
            None => embedded_geoip()?,
        };
        Ok(Matcher { matcher, geo })
    }

    /// The decision for one viewer; the country from GeoIP when not given.
    #[pyo3(signature = (ip, country=None))]
    fn decide(&self, ip: &str, country: Option<&str>) -> PyResult<Decision> {
        let ip = parse_ip(ip)?;
        let decision = match country {
            Some(c) => self.matcher.decide(&Viewer::new(ip, Some(parse_country(c)?))),
            None => self
                .matcher
                .decide_with(ip, self.geo.as_ref())
                .map_err(|e| GeoIPError::new_err(e.to_string()))?,
        };
        Ok(decision.into())
    }

    /// Decisions for sequences: `(actions, rules)` as lists.
    #[pyo3(signature = (ips, countries=None))]
    fn _decide_lists(
        &self,
        py: Python<'_>,
        ips: Vec<Option<String>>,
        countries: Option<Vec<Option<String>>>,
    ) -> PyResult<ListDecisions> {
        if let Some(c) = &countries {
            if c.len() != ips.len() {
                return Err(PyValueError::new_err(format!(
                    "{} addresses but {} countries: the sequences must have the same length",
                    ips.len(),
                    c.len()
                )));
            }
        }
        let mut rows = Vec::with_capacity(ips.len());
        for (i, ip) in ips.iter().enumerate() {
            let country = countries.as_ref().and_then(|c| c[i].as_deref());
            rows.push(match ip {
                None => None,
                Some(text) => Some((
                    parse_ip(text).map_err(|e| at_row(py, e, i))?,
                    country.map(parse_country).transpose().map_err(|e| at_row(py, e, i))?,
                )),
            });
        }
        let decided = py.detach(|| arrow::decide_rows(&self.matcher, &self.geo, &rows));
        Ok(decided
            .into_iter()
            .map(|d| (d.map(|d| d.action.as_str()), d.and_then(|d| d.rule.map(|r| r.index()))))
            .unzip())
    }

    /// Decisions for one Arrow array of addresses (and optionally one of
    /// countries), as `(actions, rules)` Arrow arrays exported by the
    /// PyCapsule interface.
    #[pyo3(signature = (ips, countries=None, errors="raise", first_row=0))]
    fn _decide_arrow(
        &self,
        py: Python<'_>,
        ips: &Bound<'_, PyAny>,
        countries: Option<&Bound<'_, PyAny>>,
        errors: &str,
        first_row: usize,
    ) -> PyResult<(arrow::ExportedArray, arrow::ExportedArray)> {
        let null_on_error = match errors {
            "raise" => false,
            "null" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors={other:?}: expected \"raise\" or \"null\""
                )))
            }
        };
        let ips = arrow::import(ips)?;
        let countries = countries.map(arrow::import).transpose()?;
        let options = arrow::BatchOptions { null_on_error, first_row };
        let out = py.detach(|| {
            arrow::decide_arrow(
                &self.matcher,
                &self.geo,
                ips.as_ref(),
                countries.as_deref(),
                options,
            )
        });
        out.map_err(|e| e.into_py_err())
    }

    fn __repr__(&self) -> String {
        format!("<Matcher {} rules>", self.matcher.rule_count())
    }
}

fn at_row(py: Python<'_>, e: PyErr, row: usize) -> PyErr {
    PyValueError::new_err(format!("row {row}: {}", e.value(py)))
}

#[pymodule]
fn _accessrules(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<Validation>()?;
    m.add_class::<Decision>()?;
    m.add_class::<Matcher>()?;
    m.add_class::<arrow::ExportedArray>()?;
    m.add("InvalidRules", m.py().get_type::<InvalidRules>())?;
    m.add("GeoIPError", m.py().get_type::<GeoIPError>())?;
    token::register(m)?;
    m.add_function(wrap_pyfunction!(analysis::diff, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::report, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// `(actions, rules)` for sequence input: `None` for a null address.
type ListDecisions = (Vec<Option<&'static str>>, Vec<Option<usize>>);

/// Helpers shared with `arrow.rs`.
pub(crate) type Row = Option<(IpAddr, Option<CountryCode>)>;
