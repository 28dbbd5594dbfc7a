import os
from typing import Any, List, Optional, Sequence, Tuple, Union

Rules = Union[str, bytes, bytearray, memoryview, dict, list]

__version__: str

class Diagnostic:
    """One finding: ``severity`` ("error" | "warning"), a stable ``code``,
    the JSON Pointer ``path``, ``message``, ``help`` and 1-based
    ``line``/``column`` of the value in the source text."""

    @property
    def severity(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def help(self) -> Optional[str]: ...
    @property
    def line(self) -> Optional[int]: ...
    @property
    def column(self) -> Optional[int]: ...
    def is_error(self) -> bool: ...

class Validation:
    @property
    def valid(self) -> bool: ...
    @property
    def errors(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    @property
    def diagnostics(self) -> List[Diagnostic]: ...
    def __bool__(self) -> bool: ...

class Decision:
    """``action`` ("allow" | "block") and the 0-based ``rule`` that decided
    (None: no rule matched, the default allow)."""

    def __init__(self, action: str, rule: Optional[int] = None) -> None: ...
    @property
    def action(self) -> str: ...
    @property
    def rule(self) -> Optional[int]: ...
    @property
    def allowed(self) -> bool: ...

class ExportedArray:
    def __arrow_c_array__(self, requested_schema: Any = None) -> Tuple[Any, Any]: ...
    def __len__(self) -> int: ...

class InvalidRules(ValueError):
    diagnostics: List[Diagnostic]

class GeoIPError(OSError): ...

def check(rules: Rules, *, now: Optional[int] = None) -> Validation: ...

class Matcher:
    def __init__(
        self,
        rules: Rules,
        *,
        geoip: Optional[Union[str, os.PathLike[str]]] = None,
        now: Optional[int] = None,
    ) -> None: ...
    def decide(self, ip: str, country: Optional[str] = None) -> Decision: ...
    def decide_batch(
        self, ips: Any, countries: Any = None, *, errors: str = "raise"
    ) -> Tuple[Any, Any]: ...

class InvalidKey(ValueError): ...

class InvalidToken(ValueError):
    failures: List[str]

class VerifiedToken:
    @property
    def video(self) -> Optional[str]: ...
    @property
    def expires(self) -> int: ...
    @property
    def not_before(self) -> Optional[int]: ...
    @property
    def rules(self) -> str: ...
    @property
    def diagnostics(self) -> List[Diagnostic]: ...

Key = Union[str, bytes, Any]

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
) -> str: ...
def verify(
    token: str,
    key: Key,
    *,
    key_id: Optional[str] = None,
    now: Optional[int] = None,
    leeway: int = 0,
    video: Optional[str] = None,
) -> VerifiedToken: ...
def decode(token: str) -> dict: ...

def diff(old: Rules, new: Rules, *, now: Optional[int] = None) -> dict: ...
def report(
    rules: Rules, *, geoip: Union[bool, str, os.PathLike[str]] = True, now: Optional[int] = None
) -> dict: ...
