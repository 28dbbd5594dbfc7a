//! `diff` and `report`: the library's typed results, handed to Python as
//! the same JSON the CLI's `--format json` prints (parsed into dicts).

use accessrules::{check, diff as diff_rules, report as report_rules, RuleSet};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::{diagnostics, embedded_geoip, options, InvalidRules};

fn rule_set(py: Python<'_>, rules: &[u8], now: Option<i64>) -> PyResult<RuleSet> {
    let validation = check(rules, &options(now));
    let diags = diagnostics(&validation);
    validation.into_result().map_err(|invalid| {
        let err = InvalidRules::new_err(invalid.to_string());
        if let Ok(list) = PyList::new(py, diags) {
            let _ = err.value(py).setattr("diagnostics", list);
        }
        err
    })
}

fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// `diff(old, new) -> dict`: every region of viewers the two documents
/// decide differently, with sizes and a witness.
#[pyfunction]
#[pyo3(signature = (old, new, now=None))]
pub(crate) fn diff<'py>(
    py: Python<'py>,
    old: &[u8],
    new: &[u8],
    now: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let (a, b) = (rule_set(py, old, now)?, rule_set(py, new, now)?);
    let d = py.detach(|| diff_rules(&a, &b)).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_python(py, &d)
}

/// `report(rules) -> dict`: per rule, the addresses and countries it
/// decides, with the embedded GeoIP database (or none).
#[pyfunction]
#[pyo3(signature = (rules, geoip=true, path=None, now=None))]
pub(crate) fn report<'py>(
    py: Python<'py>,
    rules: &[u8],
    geoip: bool,
    path: Option<std::path::PathBuf>,
    now: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = rule_set(py, rules, now)?;
    let geo = match (geoip, path) {
        (false, _) => None,
        (true, None) => Some(embedded_geoip()?),
        (true, Some(path)) => Some(std::sync::Arc::new(
            py.detach(|| accessrules::GeoDatabase::open(&path))
                .map_err(|e| crate::GeoIPError::new_err(e.to_string()))?,
        )),
    };
    let rep = py
        .detach(|| report_rules(&r, geo.as_deref()))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_python(py, &rep)
}
