"""Validate, compile and simulate the ``accessRules`` of Cloudflare Stream
signed-URL tokens, at Rust speed.

The rules are tried first to last, the first match decides, and a viewer no
rule matches is allowed. ``check`` reports every mistake with a JSON
Pointer, line and column; ``Matcher`` compiles valid rules and decides for
one viewer (``decide``) or for whole columns (``decide_batch``, on Python
sequences or Arrow arrays: pyarrow, DuckDB, Polars, Spark's ``mapInArrow``).

Countries come from the caller (a Worker knows ``request.cf.country``; a
Logpush log has ``ClientCountry``) or, when not given, from a MaxMind-format
GeoIP database: the one embedded in the package by default, or
``Matcher(rules, geoip="path/to/country.mmdb")``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, List, Optional, Sequence, Tuple, Union

from accessrules._accessrules import (
    Decision,
    Diagnostic,
    ExportedArray,
    GeoIPError,
    InvalidKey,
    InvalidRules,
    InvalidToken,
    Validation,
    VerifiedToken,
    __version__,
)
from accessrules import _accessrules as _native

__all__ = [
    "check",
    "Matcher",
    "Decision",
    "Diagnostic",
    "Validation",
    "InvalidRules",
    "GeoIPError",
    "ExportedArray",
    "diff",
    "report",
    "sign",
    "verify",
    "decode",
    "InvalidKey",
    "InvalidToken",
    "VerifiedToken",
    "__version__",
]

Rules = Union[str, bytes, bytearray, memoryview, dict, list]


def _rule_bytes(rules: Rules) -> bytes:
    """The rule document as bytes. A ``dict`` or ``list`` is written as JSON
    first (so line and column refer to that text)."""
    if isinstance(rules, (bytes, bytearray, memoryview)):
        return bytes(rules)
    if isinstance(rules, str):
        return rules.encode("utf-8")
    if isinstance(rules, (dict, list)):
        return json.dumps(rules).encode("utf-8")
    raise TypeError(
        "rules must be str, bytes, dict or list (a rule document), not "
        + type(rules).__name__
    )


def check(rules: Rules, *, now: Optional[int] = None) -> Validation:
    """Every finding of a rule document (a rule array, a token request body,
    a token payload or a JWT), errors and warnings, as the CLI's
    ``validate`` reports them. ``now`` is the issue time in Unix seconds
    (default: the system clock)."""
    return _native.check(_rule_bytes(rules), now)


def _is_arrow(obj: Any) -> bool:
    return any(
        hasattr(obj, a) for a in ("__arrow_c_array__", "__arrow_c_stream__", "chunks")
    )


def _is_numpy(obj: Any) -> bool:
    return type(obj).__module__ == "numpy" and hasattr(obj, "dtype")


def _arrow_column(obj: Any, what: str, strings: bool = False) -> Any:
    """``obj`` as a ``pyarrow.Array`` or ``ChunkedArray``: Arrow arrays as
    they are (zero copy), streams (a Polars Series, ...) as chunked arrays,
    NumPy arrays and (for ``strings``) sequences converted."""
    import pyarrow as pa

    if isinstance(obj, (pa.Array, pa.ChunkedArray)):
        return obj
    try:
        if hasattr(obj, "__arrow_c_array__"):
            return pa.array(obj)
        if hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "chunks"):
            return pa.chunked_array(obj)
        if _is_numpy(obj):
            return pa.array(obj)
        if strings and not isinstance(obj, (str, bytes, Mapping)):
            return pa.array(list(obj), type=pa.string())
    except (pa.ArrowException, TypeError) as e:
        raise TypeError(f"{what}: cannot be read as an Arrow array: {e}") from None
    raise TypeError(f"{what} must be an Arrow array (or, for countries, a sequence of str), "
                    f"not {type(obj).__name__}")


def _to_pyarrow(exported: ExportedArray) -> Any:
    import pyarrow as pa  # an Arrow input means pyarrow (or a peer) is here

    return pa.array(exported)


class Matcher:
    """A compiled, valid rule set. Raises ``InvalidRules`` (a
    ``ValueError`` carrying ``.diagnostics``) when the document has an
    error, and ``GeoIPError`` when ``geoip`` cannot be read."""

    def __init__(
        self,
        rules: Rules,
        *,
        geoip: Optional[Union[str, "os.PathLike[str]"]] = None,
        now: Optional[int] = None,
    ) -> None:
        path = None if geoip is None else os.fspath(geoip)
        self._native = _native.Matcher(_rule_bytes(rules), path, now)

    def decide(self, ip: str, country: Optional[str] = None) -> Decision:
        """The decision for one viewer. ``country`` (two letters, any case)
        as the caller knows it; looked up in the GeoIP database when
        omitted. Raises ``ValueError`` for a bad address or country."""
        return self._native.decide(ip, country)

    def decide_batch(
        self,
        ips: Any,
        countries: Any = None,
        *,
        errors: str = "raise",
    ) -> Tuple[Any, Any]:
        """Decisions for a column of viewers: ``(actions, rules)``.

        With Arrow input (a ``pyarrow.Array`` or ``ChunkedArray``, or
        anything with ``__arrow_c_array__``) of addresses as strings, as
        4/16-byte network-order binary (``ipaddress`` ``.packed``) or as
        ``uint32`` IPv4 numbers, the results are
        pyarrow arrays (``ChunkedArray`` for chunked input) of ``"allow"`` /
        ``"block"`` and of rule indexes (null: no rule matched), with no
        Python object per row. With Python sequences they are lists.
        A null (``None``) address gives null results. A bad address or
        country raises ``ValueError`` naming the row, or, with
        ``errors="null"`` (Arrow input), gives null results."""
        if errors not in ("raise", "null"):
            raise ValueError(f'errors={errors!r}: expected "raise" or "null"')
        if isinstance(ips, (str, bytes, bytearray, memoryview)):
            raise TypeError("ips must be a sequence or an Arrow array of addresses, not one "
                            + type(ips).__name__ + "; use decide() for one viewer")
        if isinstance(ips, Mapping):
            raise TypeError("ips must be a sequence or an Arrow array of addresses, not a "
                            + type(ips).__name__)
        if _is_arrow(ips) or _is_numpy(ips):
            return self._decide_arrow(ips, countries, errors)
        if errors == "null":
            raise ValueError('errors="null" needs Arrow input; sequences raise on a bad row')
        try:
            ip_list = list(ips)
        except TypeError:
            raise TypeError("ips must be a sequence or an Arrow array of addresses, not "
                            + type(ips).__name__) from None
        country_list = None if countries is None else list(countries)
        try:
            return self._native._decide_lists(ip_list, country_list)
        except TypeError:
            # Name the first value that is not a str (the native message
            # does not say which).
            for what, values in (("ips", ip_list), ("countries", country_list or ())):
                for row, value in enumerate(values):
                    if value is not None and not isinstance(value, str):
                        raise TypeError(f"{what}: row {row} is {type(value).__name__}; "
                                        "expected str or None") from None
            raise

    def _decide_arrow(self, ips: Any, countries: Any, errors: str) -> Tuple[Any, Any]:
        import pyarrow as pa  # Arrow input: the results are pyarrow arrays

        ips = _arrow_column(ips, "ips")
        if countries is not None:
            countries = _arrow_column(countries, "countries", strings=True)
            if isinstance(countries, pa.ChunkedArray):
                countries = countries.combine_chunks()
            if len(countries) != len(ips):
                raise ValueError(f"{len(ips)} addresses but {len(countries)} countries: the "
                                 "arrays must have the same length")
        if isinstance(ips, pa.ChunkedArray):
            # Chunk by chunk (the output keeps the chunks); rows are
            # numbered in the whole array. No chunk: the types are still
            # checked, on empty arrays.
            chunks = ips.chunks or [pa.array([], type=ips.type)]
            parts, offset = [], 0
            for chunk in chunks:
                part = None if countries is None else countries.slice(offset, len(chunk))
                parts.append(self._native._decide_arrow(chunk, part, errors, offset))
                offset += len(chunk)
            if not ips.chunks:
                parts = []
            actions = pa.chunked_array([_to_pyarrow(p[0]) for p in parts], type=pa.string())
            rules = pa.chunked_array([_to_pyarrow(p[1]) for p in parts], type=pa.int32())
            return actions, rules
        actions, rules = self._native._decide_arrow(ips, countries, errors)
        return _to_pyarrow(actions), _to_pyarrow(rules)

    def __repr__(self) -> str:
        return repr(self._native)


Key = Union[str, bytes, "os.PathLike[str]"]


def _key_bytes(key: Key) -> bytes:
    """Key material: a path (``os.PathLike``) is read; ``str``/``bytes`` are
    the key itself (PEM, JWK, or the JSON of ``POST .../stream/keys``)."""
    if isinstance(key, os.PathLike):
        with open(key, "rb") as f:
            return f.read()
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError("key must be str, bytes or a path, not " + type(key).__name__)


def sign(
    rules: Rules,
    key: Key,
    video: str,
    *,
    key_id: Optional[str] = None,
    exp: Optional[int] = None,
    ttl: Optional[int] = None,
    nbf: Optional[int] = None,
    downloadable: Optional[bool] = None,
    now: Optional[int] = None,
) -> str:
    """An RS256 Stream token for ``video`` carrying the checked ``rules``.
    A request body's ``exp``, ``nbf`` and ``downloadable`` are used unless
    given here; ``exp`` defaults to one hour after ``now`` and may be at
    most 24 hours after it. Raises ``InvalidRules`` (rules with errors),
    ``InvalidKey`` and ``ValueError`` (claims the service would refuse)."""
    return _native.sign(
        _rule_bytes(rules), _key_bytes(key), video, key_id=key_id, exp=exp, ttl=ttl,
        nbf=nbf, downloadable=downloadable, now=now,
    )


def verify(
    token: str,
    key: Key,
    *,
    key_id: Optional[str] = None,
    now: Optional[int] = None,
    leeway: int = 0,
    video: Optional[str] = None,
) -> VerifiedToken:
    """Checks an RS256 Stream token: shape, algorithm (exactly RS256), key
    id, signature over the bytes as received, ``exp``/``nbf`` (with
    ``leeway`` seconds), ``sub`` when ``video`` is given, and the rules.
    Raises ``InvalidToken`` (``.failures`` names each failed check) or
    ``InvalidKey``."""
    return _native.verify(
        token, _key_bytes(key), key_id=key_id, now=now, leeway=leeway, video=video
    )


def decode(token: str) -> dict:
    """``{"header": ..., "payload": ...}`` of a token; the signature is NOT
    checked. Raises ``InvalidToken`` for a malformed token."""
    return _native.decode(token)


def diff(old: Rules, new: Rules, *, now: Optional[int] = None) -> dict:
    """The exact difference of two rule documents, as ``accessrules diff
    --format json`` prints it: ``{"equivalent": bool, "changes": [...]}``,
    each change with its transition, sizes (IPv6 as a decimal string), the
    countries, and a witness viewer. Raises ``InvalidRules``."""
    return _native.diff(_rule_bytes(old), _rule_bytes(new), now)


def report(
    rules: Rules,
    *,
    geoip: Union[bool, str, "os.PathLike[str]"] = True,
    now: Optional[int] = None,
) -> dict:
    """What a rule document does, as ``accessrules report --format json``
    prints it: per rule, the share of each address family it decides, the
    countries (from the embedded GeoIP database, from the database at the
    path ``geoip`` names, or none with ``geoip=False``) and a witness.
    Raises ``InvalidRules`` and ``GeoIPError``."""
    if isinstance(geoip, bool):
        return _native.report(_rule_bytes(rules), geoip, None, now)
    return _native.report(_rule_bytes(rules), True, os.fspath(geoip), now)
