//! Signing, verifying and decoding Stream tokens (RS256), as the CLI's
//! `sign`, `verify` and `decode` do.

use accessrules::token::{
    decode as decode_token, sign as sign_token, verify as verify_token, Claims, SigningKey,
    VerifyError, VerifyOptions, VerifyingKey,
};
use accessrules::{check, Limits};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::{diagnostics, options, InvalidRules};

create_exception!(
    _accessrules,
    InvalidKey,
    PyValueError,
    "A signing or verifying key that cannot be used (never echoes key material)."
);
create_exception!(
    _accessrules,
    InvalidToken,
    PyValueError,
    "A token that failed verification; `.failures` names every failed check."
);

/// `sign(rules, key, video, ...) -> str`: validates the rules (errors
/// raise `InvalidRules`), then signs an RS256 token.
#[pyfunction]
#[pyo3(signature = (rules, key, video, *, key_id=None, exp=None, ttl=None, nbf=None, downloadable=None, now=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign(
    py: Python<'_>,
    rules: &[u8],
    key: &[u8],
    video: &str,
    key_id: Option<&str>,
    exp: Option<i64>,
    ttl: Option<i64>,
    nbf: Option<i64>,
    downloadable: Option<bool>,
    now: Option<i64>,
) -> PyResult<String> {
    let opts = options(now);
    let issued = opts.clock().unwrap_or_default();
    let validation = check(rules, &opts);
    let diags = diagnostics(&validation);
    let document = validation.document().cloned();
    let rule_set = match validation.into_result() {
        Ok(r) => r,
        Err(invalid) => {
            let err = InvalidRules::new_err(invalid.to_string());
            err.value(py).setattr("diagnostics", PyList::new(py, diags)?)?;
            return Err(err);
        }
    };
    let (key, _notes) =
        SigningKey::read(key, key_id).map_err(|e| InvalidKey::new_err(e.to_string()))?;
    let mut claims = Claims::new(video, issued);
    if let Some(doc) = &document {
        claims = claims.with_document(doc);
    }
    if exp.is_some() && ttl.is_some() {
        return Err(PyValueError::new_err("give exp or ttl, not both"));
    }
    if let Some(exp) = exp {
        claims.expires = exp;
    }
    if let Some(ttl) = ttl {
        claims.expires = issued.saturating_add(ttl);
    }
    if nbf.is_some() {
        claims.not_before = nbf;
    }
    if downloadable.is_some() {
        claims.downloadable = downloadable;
    }
    sign_token(&rule_set, &claims, &key).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A token that passed every check.
#[pyclass(frozen, module = "accessrules._accessrules")]
pub(crate) struct VerifiedToken {
    #[pyo3(get)]
    video: Option<String>,
    #[pyo3(get)]
    expires: i64,
    #[pyo3(get)]
    not_before: Option<i64>,
    #[pyo3(get)]
    rules: String,
    diagnostics: Vec<crate::Diagnostic>,
}

#[pymethods]
impl VerifiedToken {
    #[getter]
    fn diagnostics(&self) -> Vec<crate::Diagnostic> {
        self.diagnostics.clone()
    }

    fn __repr__(&self) -> String {
        match &self.video {
            Some(v) => format!("<VerifiedToken video={v:?} expires={}>", self.expires),
            None => format!("<VerifiedToken video=None expires={}>", self.expires),
        }
    }
}

/// `verify(token, key, ...) -> VerifiedToken`; raises `InvalidToken`
/// naming every failed check (malformed, refused algorithm, key id,
/// signature, times, video, rules).
#[pyfunction]
#[pyo3(signature = (token, key, *, key_id=None, now=None, leeway=0, video=None))]
pub(crate) fn verify(
    py: Python<'_>,
    token: &str,
    key: &[u8],
    key_id: Option<&str>,
    now: Option<i64>,
    leeway: u64,
    video: Option<String>,
) -> PyResult<VerifiedToken> {
    let (key, _notes) =
        VerifyingKey::read(key, key_id).map_err(|e| InvalidKey::new_err(e.to_string()))?;
    let mut opts = match now {
        Some(now) => VerifyOptions::at(now),
        None => VerifyOptions::now(),
    }
    .with_leeway(leeway);
    if let Some(video) = video {
        opts = opts.for_video(video);
    }
    let token = token.trim();
    match verify_token(token, &key, &opts) {
        Ok(v) => Ok(VerifiedToken {
            video: v.video().map(str::to_owned),
            expires: v.expires(),
            not_before: v.not_before(),
            rules: serde_json::to_string(v.rules()).unwrap_or_default(),
            diagnostics: diagnostics(v.validation()),
        }),
        Err(e) => {
            let failures: Vec<String> = match &e {
                VerifyError::Failed { failed, .. } => {
                    failed.iter().map(ToString::to_string).collect()
                }
                other => vec![other.to_string()],
            };
            let err = InvalidToken::new_err(e.to_string());
            err.value(py).setattr("failures", PyList::new(py, failures)?)?;
            Err(err)
        }
    }
}

/// `decode(token) -> {"header": {...}, "payload": {...}}`, the signature
/// not checked.
#[pyfunction]
pub(crate) fn decode<'py>(py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyDict>> {
    let decoded = decode_token(token.trim(), &Limits::default())
        .map_err(|e| InvalidToken::new_err(format!("malformed token: {e}")))?;
    let json = py.import("json")?;
    let out = PyDict::new(py);
    for (name, map) in [("header", decoded.header()), ("payload", decoded.payload())] {
        let text = serde_json::to_string(map).unwrap_or_default();
        out.set_item(name, json.call_method1("loads", (text,))?)?;
    }
    Ok(out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_class::<VerifiedToken>()?;
    m.add("InvalidKey", m.py().get_type::<InvalidKey>())?;
    m.add("InvalidToken", m.py().get_type::<InvalidToken>())?;
    Ok(())
}
