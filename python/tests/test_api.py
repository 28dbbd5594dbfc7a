import ipaddress
import random
import subprocess

import pyarrow as pa
import pytest

import accessrules
from accessrules import Decision

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_check_reports_every_finding_with_position():
    v = accessrules.check(
        '[{"type":"ip.geoip.country","country":["UK","us"],"action":"Block"}]', now=NOW
    )
    assert not v.valid and not v
    found = {(d.code, d.path) for d in v.diagnostics}
    assert ("country-unassigned", "/0/country/0") in found
    assert ("country-lowercase", "/0/country/1") in found or any(
        d.path == "/0/country/1" for d in v.diagnostics
    )
    assert ("unknown-action", "/0/action") in found
    uk = next(d for d in v.diagnostics if d.path == "/0/country/0")
    assert (uk.severity, uk.help, uk.line, uk.column) == ("error", 'write "GB"', 1, 40)
    assert uk.is_error() and "UK" in uk.message and "country-unassigned" in str(uk)


def test_check_takes_str_bytes_dict_and_list():
    doc = [{"type": "any", "action": "block"}]
    forms = [doc, {"accessRules": doc}, '[{"type":"any","action":"block"}]',
             b'[{"type":"any","action":"block"}]']
    for form in forms:
        v = accessrules.check(form, now=NOW)
        assert v.valid, form
        assert [d.code for d in v.diagnostics] == ["blocks-everyone"], form
    with pytest.raises(TypeError):
        accessrules.check(42)  # type: ignore[arg-type]


def test_the_clock_is_explicit():
    body = {"exp": NOW - 60, "accessRules": [{"type": "any", "action": "block"}]}
    assert "expired" in [d.code for d in accessrules.check(body, now=NOW).diagnostics]
    assert "expired" not in [d.code for d in accessrules.check(body, now=NOW - 3600).diagnostics]


def test_invalid_rules_is_a_value_error_with_diagnostics():
    with pytest.raises(accessrules.InvalidRules) as e:
        accessrules.Matcher([{"type": "ip.src", "ip": ["10.0.0.0/33"], "action": "block"}])
    assert isinstance(e.value, ValueError)
    assert "ip-prefix-too-long" in str(e.value)
    assert [d.code for d in e.value.diagnostics if d.is_error()] == ["ip-prefix-too-long"]


def test_decide_with_given_and_geoip_countries(docs_example):
    m = accessrules.Matcher(docs_example)
    assert m.decide("8.8.8.8") == Decision("allow", 0)  # US by GeoIP
    assert m.decide("81.2.69.142") == Decision("block", 2)  # GB by GeoIP
    assert m.decide("81.2.69.142", "mx") == Decision("allow", 0)  # the caller's country
    assert m.decide("::ffff:93.184.216.34", "GB") == Decision("allow", 1)  # mapped = IPv4
    d = m.decide("2606:2800:220:1::1")
    assert (d.action, d.rule, d.allowed, str(d)) == ("allow", 0, True, "allow by rule 0")
    assert accessrules.Matcher([]).decide("1.2.3.4").rule is None


def test_bad_viewers_are_value_errors(docs_example):
    m = accessrules.Matcher(docs_example)
    with pytest.raises(ValueError, match="not-an-ip"):
        m.decide("not-an-ip")
    with pytest.raises(ValueError, match="did you mean US"):
        m.decide("8.8.8.8", "USA")


def test_geoip_path_and_bad_database(tmp_path, docs_example):
    from conftest import REPO

    db = REPO / "tests" / "data" / "geoip" / "location-v4.mmdb"
    m = accessrules.Matcher(docs_example, geoip=str(db))
    assert m.decide("2606:2800:220:1::1").action in ("allow", "block")
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"\0" * 1000)
    with pytest.raises(accessrules.GeoIPError):
        accessrules.Matcher(docs_example, geoip=str(junk))
    with pytest.raises(accessrules.GeoIPError):
        accessrules.Matcher(docs_example, geoip=str(tmp_path / "missing.mmdb"))


def test_decide_batch_on_sequences_and_arrow(docs_example):
    m = accessrules.Matcher(docs_example)
    ips = ["8.8.8.8", "81.2.69.142", None, "2606:2800:220:1::1"]
    assert m.decide_batch(ips) == (["allow", "block", None, "allow"], [0, 2, None, 0])
    assert m.decide_batch(ips, ["gb", None, None, "gb"]) == (
        ["block", "block", None, "block"], [2, 2, None, 2])
    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        actions, rules = m.decide_batch(pa.array(ips, type=typ))
        assert actions.type == pa.string() and rules.type == pa.int32()
        assert actions.to_pylist() == ["allow", "block", None, "allow"]
        assert rules.to_pylist() == [0, 2, None, 0]
    chunked = pa.chunked_array([ips[:1], ips[1:]])
    actions, rules = m.decide_batch(chunked, pa.chunked_array([["gb", None], [None, None]]))
    assert isinstance(actions, pa.ChunkedArray)
    assert actions.to_pylist() == ["block", "block", None, "allow"]


def test_decide_batch_errors_name_the_row(docs_example):
    m = accessrules.Matcher(docs_example)
    bad = pa.array(["8.8.8.8", "300.1.1.1"])
    with pytest.raises(ValueError, match=r"row 1: invalid IP address \"300.1.1.1\""):
        m.decide_batch(bad)
    actions, _ = m.decide_batch(bad, errors="null")
    assert actions.to_pylist() == ["allow", None]
    with pytest.raises(ValueError, match="same length"):
        m.decide_batch(pa.array(["8.8.8.8"]), pa.array(["us", "gb"]))
    with pytest.raises(TypeError, match="array of addresses: strings .* not Int64"):
        m.decide_batch(pa.array([1, 2]))
    with pytest.raises(ValueError, match="row 1: a binary address must be 4 or 16 bytes, not 3"):
        m.decide_batch(pa.array([bytes(4), b"abc"]))
    with pytest.raises(ValueError, match="row 0"):
        m.decide_batch(["8.8.8.8"], ["zz top"])


RULE_SETS = {
    # No country rule: countries never looked up.
    "never": [{"type": "ip.src", "ip": ["93.184.216.0/24", "2400:cb00::/32"], "action": "allow"},
              {"type": "any", "action": "block"}],
    # A country rule first: every row's country looked up.
    "always": [{"type": "ip.geoip.country", "country": ["US", "MX"], "action": "allow"},
               {"type": "ip.src", "ip": ["93.184.216.0/24"], "action": "block"}],
    # An address rule first: only the rows it does not match looked up.
    "by_address": [{"type": "ip.src", "ip": ["93.184.216.0/24"], "action": "block"},
                   {"type": "ip.geoip.country", "country": ["GB", "DE"], "action": "block"},
                   {"type": "ip.src", "ip": ["2400:cb00::/32"], "action": "allow"}],
}


@pytest.mark.parametrize("rules", sorted(RULE_SETS))
def test_arrow_batches_equal_decide_row_by_row(rules):
    """Every path of the Arrow batch (countries looked up for no row, every
    row, some rows; given or not; null and unreadable rows; batches larger
    than one internal batch) equals `decide` row by row."""
    m = accessrules.Matcher(RULE_SETS[rules])
    viewers = generated_viewers(10_000, seed=len(rules))
    rng = random.Random(3)
    ips = [ip if rng.random() > 0.02 else rng.choice([None, "not an address", "1.2.3.256"])
           for ip, _ in viewers]
    countries = [c for _, c in viewers]

    def expected(with_countries):
        out = []
        for ip, country in zip(ips, countries if with_countries else [None] * len(ips)):
            try:
                d = m.decide(ip, country) if ip is not None else None
            except ValueError:
                d = None
            out.append(d)
        return [d and d.action for d in out], [d and d.rule for d in out]

    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        actions, rule_ids = m.decide_batch(pa.array(ips, type=typ), errors="null")
        assert (actions.to_pylist(), rule_ids.to_pylist()) == expected(False)
        actions, rule_ids = m.decide_batch(pa.array(ips, type=typ), pa.array(countries),
                                           errors="null")
        assert (actions.to_pylist(), rule_ids.to_pylist()) == expected(True)


def test_decide_batch_on_binary_and_integer_addresses(docs_example):
    """Addresses already parsed (`ipaddress` `.packed`, `inet_pton`, IPv4 as
    a number) decide as their text does."""
    m = accessrules.Matcher(docs_example)
    texts = [ip for ip, _ in generated_viewers(2_000, seed=5)] + [None]
    addresses = [ipaddress.ip_address(t) if t else None for t in texts]
    packed = [a.packed if a else None for a in addresses]
    expected = m.decide_batch(pa.array(texts))
    for typ in (pa.binary(), pa.large_binary(), pa.binary_view()):
        assert m.decide_batch(pa.array(packed, type=typ)) == expected
    # 16 bytes per address: IPv4 as IPv4-mapped IPv6.
    sixteen = [(a.packed if a.version == 6 else ipaddress.IPv6Address(
        "::ffff:" + str(a)).packed) if a else None for a in addresses]
    assert m.decide_batch(pa.array(sixteen, type=pa.binary(16))) == expected
    v4 = [(t, a) for t, a in zip(texts, addresses) if a is None or a.version == 4]
    expected_v4 = m.decide_batch(pa.array([t for t, _ in v4]))
    assert m.decide_batch(pa.array([a.packed if a else None for _, a in v4],
                                   type=pa.binary(4))) == expected_v4
    assert m.decide_batch(pa.array([int(a) if a else None for _, a in v4],
                                   type=pa.uint32())) == expected_v4


def test_chunked_and_stream_input_is_checked_as_a_whole(docs_example):
    """Lengths compare whole columns, rows are numbered in the whole column,
    and countries of any form go with addresses of any form."""
    m = accessrules.Matcher(docs_example)
    ch = pa.chunked_array([pa.array(["8.8.8.8"] * 2), pa.array(["8.8.8.8"] * 2)])
    for countries in (pa.array(["US"] * 7), pa.array(["US"] * 3), ["US"] * 5):
        with pytest.raises(ValueError, match=f"4 addresses but {len(countries)} countries"):
            m.decide_batch(ch, countries)
    bad = pa.chunked_array([pa.array(["8.8.8.8"] * 5), pa.array(["8.8.8.8", "bad"])])
    with pytest.raises(ValueError, match='row 6: invalid IP address "bad"'):
        m.decide_batch(bad)
    with pytest.raises(ValueError, match="row 5: invalid country"):
        m.decide_batch(bad, ["US"] * 5 + ["zz top", "US"])
    two = pa.chunked_array([pa.array(["8.8.8.8"]), pa.array(["81.2.69.142"])])
    expected = (["allow", "allow"], [0, 0])
    for countries in (["US", "MX"], ("US", "MX"), pa.chunked_array([["US"], ["MX"]])):
        actions, rules = m.decide_batch(two, countries)
        assert (actions.to_pylist(), rules.to_pylist()) == expected
        actions, rules = m.decide_batch(pa.array(["8.8.8.8", "81.2.69.142"]), countries)
        assert (actions.to_pylist(), rules.to_pylist()) == expected
    actions, _ = m.decide_batch(two, [None, "gb"])
    assert actions.to_pylist() == ["allow", "block"]
    # No chunk at all: the types are still checked.
    with pytest.raises(TypeError, match="not Int64"):
        m.decide_batch(pa.chunked_array([], pa.int64()))
    actions, rules = m.decide_batch(pa.chunked_array([], pa.string()))
    assert len(actions) == 0 and actions.type == pa.string() and rules.type == pa.int32()


def test_hostile_arrow_input_is_an_error_not_a_crash(docs_example):
    m = accessrules.Matcher(docs_example)
    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        raw = pa.array([b"\xff", b"\xe2\x80", b"US\xff"], pa.binary()).cast(pa.binary())
        countries = raw.view(pa.string()).cast(typ) if typ != pa.string() else raw.view(typ)
        with pytest.raises(ValueError, match="row 0: invalid country .*not UTF-8"):
            m.decide_batch(pa.array(["8.8.8.8"] * 3), countries)
        actions, _ = m.decide_batch(pa.array(["8.8.8.8"] * 3), countries, errors="null")
        assert actions.to_pylist() == [None, None, None]
    # A capsule can be read once.
    schema, array = pa.array(["8.8.8.8"]).__arrow_c_array__()

    class Once:
        def __arrow_c_array__(self, requested_schema=None):
            return schema, array

    m.decide_batch(Once())
    with pytest.raises((TypeError, ValueError), match="released|already read"):
        m.decide_batch(Once())
    # The native import refuses a consumed capsule itself, too.
    with pytest.raises(ValueError, match="already read"):
        m._native._decide_arrow(Once())


def test_text_whitespace_is_read_as_decide_reads_it(docs_example):
    m = accessrules.Matcher(docs_example)
    texts = [" 8.8.8.8\t", "8.8.8.8\x0b", "8.8.8.8\u00a0", "\u30002606:2800:220:1::1"]
    actions, rules = m.decide_batch(pa.array(texts))
    assert actions.to_pylist() == [m.decide(t).action for t in texts]


def test_sequences_and_numpy_name_what_is_wrong(docs_example):
    np = pytest.importorskip("numpy")
    m = accessrules.Matcher(docs_example)
    with pytest.raises(TypeError, match="not one bytearray"):
        m.decide_batch(bytearray(b"8.8.8.8"))
    with pytest.raises(TypeError, match="not a dict"):
        m.decide_batch({"8.8.8.8": 1})
    with pytest.raises(TypeError, match="ips: row 1 is int"):
        m.decide_batch(["8.8.8.8", 5])
    with pytest.raises(TypeError, match="not int"):
        m.decide_batch(5)
    numbers = np.array([0x08080808, 0x5102458E], dtype=np.uint32)
    actions, _ = m.decide_batch(numbers)
    assert actions.to_pylist() == [m.decide("8.8.8.8").action, m.decide("81.2.69.142").action]
    actions, _ = m.decide_batch(np.array(["8.8.8.8"]), np.array(["gb"]))
    assert actions.to_pylist() == ["block"]


def generated_viewers(n: int, seed: int = 11):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.45:
            ip = "%d.%d.%d.%d" % tuple(rng.randrange(256) for _ in range(4))
        elif r < 0.5:
            ip = "::ffff:%d.%d.%d.%d" % tuple(rng.randrange(256) for _ in range(4))
        elif r < 0.55:
            ip = "93.184.216.%d" % rng.randrange(256)
        else:
            ip = "%x:%x:%x::%x" % (rng.randrange(0x2000, 0x2c00), rng.randrange(0x10000),
                                   rng.randrange(0x10000), rng.randrange(0x10000))
        country = rng.choice([None, None, None, "US", "mx", "GB", "DE"])
        out.append((ip, country))
    return out


def test_python_equals_the_cli_on_100k_viewers(tmp_path, cli, docs_example):
    viewers = generated_viewers(100_000)
    log = tmp_path / "viewers.txt"
    log.write_text("".join(ip + ("," + c if c else "") + "\n" for ip, c in viewers))
    rules = tmp_path / "rules.json"
    rules.write_text(docs_example)
    out = subprocess.run(
        [str(cli), "simulate", str(rules), "--input", str(log), "--format", "tsv"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert len(out) == len(viewers)
    m = accessrules.Matcher(docs_example)
    actions, rule_ids = m.decide_batch(
        pa.array([ip for ip, _ in viewers]), pa.array([c for _, c in viewers])
    )
    lists = m.decide_batch([ip for ip, _ in viewers], [c for _, c in viewers])
    for i, line in enumerate(out):
        _ip, _country, decision, rule = line.split("\t")
        expected = (decision, None if rule == "-" else int(rule))
        assert (actions[i].as_py(), rule_ids[i].as_py()) == expected, (viewers[i], line)
        assert (lists[0][i], lists[1][i]) == expected
    # And one by one, on a sample.
    for i in range(0, len(viewers), 997):
        ip, c = viewers[i]
        d = m.decide(ip, c)
        assert (d.action, d.rule) == (actions[i].as_py(), rule_ids[i].as_py())


def test_diff_and_report_as_the_cli_prints_them(tmp_path, cli, docs_example):
    import json
    from conftest import REPO

    edit = (REPO / "examples" / "docs-example-edit.json").read_text()
    d = accessrules.diff(docs_example, edit)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(docs_example)
    new.write_text(edit)
    r = subprocess.run([str(cli), "diff", str(old), str(new), "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert d == json.loads(r.stdout)
    assert not d["equivalent"] and d["changes"]
    m_old, m_new = accessrules.Matcher(docs_example), accessrules.Matcher(edit)
    for change in d["changes"]:
        w = change["witness"]
        assert m_old.decide(w["ip"], w["country"]) != m_new.decide(w["ip"], w["country"]) or \
            w["country"] is None
    assert accessrules.diff(docs_example, docs_example)["equivalent"]
    rep = accessrules.report(docs_example)
    r = subprocess.run([str(cli), "report", str(old), "--format", "json"],
                       capture_output=True, text=True, check=True)
    assert rep == json.loads(r.stdout)


def test_decide_batch_argument_errors(docs_example, tmp_path):
    m = accessrules.Matcher(docs_example)
    with pytest.raises(ValueError, match="errors="):
        m.decide_batch(["8.8.8.8"], errors="bogus")
    with pytest.raises(ValueError, match="needs Arrow input"):
        m.decide_batch(["8.8.8.8"], errors="null")
    with pytest.raises(TypeError, match="decide\\(\\) for one viewer"):
        m.decide_batch("8.8.8.8")
    from conftest import REPO

    db = REPO / "tests" / "data" / "geoip" / "location-v4.mmdb"
    assert accessrules.Matcher(docs_example, geoip=db).decide("81.2.69.142").action == "block"
    rep = accessrules.report(docs_example, geoip=db)
    assert rep == accessrules.report(docs_example, geoip=str(db))
    assert rep != accessrules.report(docs_example)
    assert accessrules.report(docs_example, geoip=False)
