"""Every Galaxy wrapper test, run without a Galaxy server against the current tools (issue 29).

``make galaxy-test`` runs the wrappers' <tests> in a real Galaxy (about 15 minutes), so it is not
part of ``make test``, and wrapper tests drifted unseen while the tools changed. This file does
the part of it that concerns the tools, in seconds per test:

* the wrapper is read as Galaxy reads it (galaxy-tool-util: macros and tokens expanded, the
  tests parsed into Galaxy's own test description);
* each test's parameters are laid over the tool's inputs (defaults for what the test leaves out,
  the conditional branch its selector picks, sections, multiple data inputs); a parameter the
  tool lacks, a select value that is not an option, a value its validator or range refuses, a
  required dataset the test does not give is a failure, as in Galaxy;
* the <command> is rendered with Cheetah, as Galaxy renders it: datasets as ``dataset_N.dat``
  files (links to galaxy/test-data: no telling name or extension), outputs as such files in the
  job's outputs folder, booleans as their true/false values, optional empty values as ''; lines
  joined with spaces, run by bash (pipefail) in a fresh working folder with GALAXY_SLOTS=1 and
  the suite's executables first on PATH;
* the run is judged by Galaxy's own verifier (galaxy.tool_util.verify): exit code against
  expect_failure / expect_exit_code, stdout/stderr assertions, every output against its expected
  file (compare, lines_diff, sort, ...) and its assertions, the number of outputs the output
  filters let through (expect_num_outputs), each output's format (change_format rules), and the
  collections found by discover_datasets (count, element names, element assertions).

What only a real Galaxy shows (uploads, datatype sniffing and metadata, the job runner, the
tool form) stays with ``make galaxy-test``, which is run before each release.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import BIN, ROOT

pytest.importorskip("Cheetah.Template", reason="Cheetah3 comes with planemo (make install: the ci extras)")
pytest.importorskip("galaxy.tool_util.verify", reason="galaxy-tool-util comes with planemo")

from Cheetah.Template import Template  # noqa: E402
from galaxy.tool_util.parser import get_tool_source  # noqa: E402
from galaxy.tool_util.verify import verify  # noqa: E402
from galaxy.tool_util.verify.asserts import verify_assertions  # noqa: E402

GALAXY = ROOT / "galaxy"
TEST_DATA = GALAXY / "test-data"
WRAPPERS = sorted(GALAXY.glob("dt_*.xml"))


# --------------------------------------------------------------------------- values as Galaxy's wrappers show them


class Dataset:
    """A dataset as the command sees it: its path; ``element_identifier`` its name."""

    def __init__(self, path: Path, name: str, ext: str | None = None):
        self.path, self.element_identifier, self.name, self.ext = path, name, name, ext
        self.files_path = self.extra_files_path = str(path.with_name(path.stem + "_files"))

    def __str__(self) -> str:
        return str(self.path)

    def __bool__(self) -> bool:
        return True


class NoDataset:
    """An optional dataset left empty: false; 'None' as text, as Galaxy's NoneDataset."""

    element_identifier = name = ext = None

    def __str__(self) -> str:
        return "None"

    def __bool__(self) -> bool:
        return False


class Boolean:
    """A boolean parameter: its truevalue/falsevalue as text, its truth as a bool."""

    def __init__(self, value: bool, truevalue: str, falsevalue: str):
        self.value, self.text = value, truevalue if value else falsevalue

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other) -> bool:
        return self.text == str(other) or self.value is other

    __hash__ = None


class Group(dict):
    """A conditional or a section: ``$group.param`` in the command, ``group['param']`` in filters."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


# --------------------------------------------------------------------------- a test's parameters over the tool's inputs


def param_name(el) -> str:
    return el.get("name") or el.get("argument").lstrip("-").replace("-", "_")


class Job:
    """One wrapper test turned into a command line and a working folder."""

    def __init__(self, tool_source, test: dict, workdir: Path):
        self.tool_source, self.test, self.workdir = tool_source, test, workdir
        self.given = {i["name"]: i for i in test["inputs"]}
        self.used: set[str] = set()
        self.n_datasets = 0
        (workdir / "inputs").mkdir(parents=True)
        (workdir / "outputs").mkdir()
        (workdir / "working").mkdir()
        self.params = self.walk(tool_source.root.find("inputs"), "")
        unknown = sorted(set(self.given) - self.used)
        assert not unknown, f"the test sets parameters the tool does not have: {unknown}"

    def dataset(self, name: str, ftype: str | None) -> Dataset:
        src = TEST_DATA / name
        assert src.is_file(), f"test data galaxy/test-data/{name} is missing"
        self.n_datasets += 1
        link = self.workdir / "inputs" / f"dataset_{self.n_datasets}.dat"
        link.symlink_to(src)
        return Dataset(link, name, ftype)

    def value(self, el, key: str):
        given = self.given.get(key)
        if given is not None:
            self.used.add(key)
        text = given["value"] if given is not None else None
        kind = el.get("type")
        if kind == "data":
            if text is None:
                assert el.get("optional") == "true", f"required dataset {key} not given by the test"
                return [] if el.get("multiple") == "true" else NoDataset()
            ftype = given["attributes"].get("ftype")
            sets = [self.dataset(n.strip(), ftype) for n in text.split(",")]
            if el.get("multiple") == "true":
                return sets
            assert len(sets) == 1, f"{key}: several datasets for a single input"
            return sets[0]
        if kind == "boolean":
            truevalue, falsevalue = el.get("truevalue", "true"), el.get("falsevalue", "false")
            if text is None:
                on = el.get("checked", "false").lower() in ("true", "yes", "on")
            else:
                assert text.lower() in ("true", "false", truevalue.lower(), falsevalue.lower()), (
                    f"{key}: {text!r} is not a boolean"
                )
                on = text.lower() in ("true", truevalue.lower())
            return Boolean(on, truevalue, falsevalue)
        if kind == "select":
            options = [o.get("value") for o in el.findall("option")]
            default = next(
                (o.get("value") for o in el.findall("option") if o.get("selected") == "true"), options[0] if options else ""
            )
            value = default if text is None else text
            assert value in options, f"{key}: {value!r} is not one of its options {options}"
            return value
        value = el.get("value", "") if text is None else text
        if value and kind in ("integer", "float"):
            number = (int if kind == "integer" else float)(value)
            for bound, ok in (("min", lambda b: number >= b), ("max", lambda b: number <= b)):
                if el.get(bound) is not None:
                    assert ok(float(el.get(bound))), f"{key}: {value} is out of the range {bound}={el.get(bound)}"
        if text is not None:
            for validator in el.findall("validator"):
                if validator.get("type") == "regex":
                    assert re.match(validator.text, value), f"{key}: {value!r} refused by its validator {validator.text!r}"
        return value

    def walk(self, parent, prefix: str) -> Group:
        values = Group()
        for el in parent:
            if el.tag == "param":
                values[param_name(el)] = self.value(el, prefix + param_name(el))
            elif el.tag == "conditional":
                name = el.get("name")
                selector = el.find("param")
                group = Group({param_name(selector): self.value(selector, f"{prefix}{name}|{param_name(selector)}")})
                case = str(group[param_name(selector)])
                when = next((w for w in el.findall("when") if w.get("value") == case), None)
                assert when is not None, f"{name}: no <when> for {case!r}"
                group.update(self.walk(when, f"{prefix}{name}|"))
                values[name] = group
            elif el.tag == "section":
                values[el.get("name")] = self.walk(el, f"{prefix}{el.get('name')}|")
            elif el.tag == "repeat":
                raise NotImplementedError("<repeat> inputs: extend this check")
        return values

    def outputs(self) -> dict[str, Any]:
        """The outputs the filters let through: name -> (element, Dataset or the collection's element)."""
        made = {}
        for el in self.tool_source.root.find("outputs"):
            filters = [f.text for f in el.findall("filter")]
            if all(eval(f, {}, dict(self.params)) for f in filters):  # noqa: S307 - the wrapper's own expressions
                name = el.get("name")
                made[name] = (el, Dataset(self.workdir / "outputs" / f"dataset_{name}.dat", name) if el.tag == "data" else None)
        return made

    def command(self, outputs: dict) -> str:
        namespace = dict(self.params)
        namespace.update({name: ds for name, (el, ds) in outputs.items() if ds is not None})
        namespace["__tool_directory__"] = str(GALAXY)
        rendered = str(Template(source=self.tool_source.parse_command(), searchList=[namespace]))
        return rendered.replace("\n", " ").replace("\r", " ").strip()  # as Galaxy does

    def output_format(self, el) -> str:
        fmt = el.get("format")
        for when in el.findall("change_format/when"):
            value: Any = self.params
            for part in when.get("input").split("."):
                value = value[part]
            if str(value) == when.get("value"):
                fmt = when.get("format")
        return fmt


def cases():
    for path in WRAPPERS:
        tool_source = get_tool_source(str(path))
        for i, _ in enumerate(tool_source.parse_tests_to_dict()["tests"], 1):
            yield pytest.param(path, i, id=f"{tool_source.parse_id()}-{i}")


CASES = list(cases())


def test_every_wrapper_has_tests():
    assert {p.values[0] for p in CASES} == set(WRAPPERS)
    assert len(CASES) >= 40


@pytest.mark.parametrize(("path", "number"), CASES)
def test_wrapper_test_passes_without_galaxy(path: Path, number: int, tmp_path):
    run_wrapper_test(path, number, tmp_path / "job")


def run_wrapper_test(path: Path, number: int, workdir: Path) -> None:
    """Wrapper test ``number`` (1-based) of ``path``: an AssertionError says what differs."""
    tool_source = get_tool_source(str(path))
    test = tool_source.parse_tests_to_dict()["tests"][number - 1]
    job = Job(tool_source, test, workdir)
    outputs = job.outputs()
    command = job.command(outputs)
    env = dict(os.environ, GALAXY_SLOTS="1", HOME=str(job.workdir), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"], cwd=job.workdir / "working", env=env, capture_output=True, timeout=600
    )
    where = f"{path.name} test {number}\ncommand: {command}\nstderr:\n{proc.stderr.decode(errors='replace')[-3000:]}"

    # the exit code: Galaxy's detect_errors="exit_code"
    if test["expect_failure"]:
        assert proc.returncode != 0, f"expected a failure, exit 0: {where}"
        if test["expect_exit_code"] is not None:
            assert proc.returncode == int(test["expect_exit_code"]), where
    else:
        assert proc.returncode == 0, f"exit {proc.returncode}: {where}"
    for stream, content in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if test.get(stream):
            try:
                verify_assertions(content, test[stream])
            except AssertionError as err:
                raise AssertionError(f"{stream}: {err}\n{where}") from None
    if test["expect_failure"]:
        return

    if test["expect_num_outputs"] is not None:
        assert len(outputs) == int(test["expect_num_outputs"]), f"outputs made: {sorted(outputs)}; {where}"
    for out in test["outputs"]:
        name, expected, attrs = out["name"], out["value"], out["attributes"]
        assert name in outputs, f"the test checks {name}, which its parameters filter out: {where}"
        el, ds = outputs[name]
        assert ds.path.is_file(), f"{name} was not written: {where}"
        if attrs.get("ftype"):
            assert attrs["ftype"] == job.output_format(el), (
                f"{name}: format {job.output_format(el)}, the test says {attrs['ftype']}"
            )
        verify(name, ds.path.read_bytes(), attrs, filename=expected, get_filename=lambda f: str(TEST_DATA / f))
    for coll in test["output_collections"]:
        name = coll["name"]
        assert name in outputs, f"the test checks collection {name}, which its parameters filter out: {where}"
        found = discovered(outputs[name][0], job.workdir / "working")
        count = coll.get("element_count") or coll["attributes"].get("count")
        if count is not None:
            assert len(found) == int(count), f"{name}: {len(found)} elements {sorted(found)}; {where}"
        for element, (expected, attrs) in coll["element_tests"].items():
            assert element in found, f"{name}: no element {element} among {sorted(found)}"
            fmt, file = found[element]
            if attrs.get("ftype"):
                assert attrs["ftype"] == fmt, f"{name}/{element}: format {fmt}, the test says {attrs['ftype']}"
            verify(f"{name}/{element}", file.read_bytes(), attrs, filename=expected, get_filename=lambda f: str(TEST_DATA / f))


def discovered(collection, working: Path) -> dict[str, tuple[str, Path]]:
    """The elements discover_datasets finds: designation -> (format, file)."""
    found = {}
    for rule in collection.iter("discover_datasets"):
        folder = working / rule.get("directory", "")
        pattern = re.compile(rule.get("pattern"))
        for file in sorted(folder.iterdir()) if folder.is_dir() else []:
            match = pattern.match(file.name)  # re.match, as Galaxy matches
            if match:
                found[match.group("designation")] = (rule.get("format") or rule.get("ext"), file)
    return found


# --------------------------------------------------------------------------- the check itself can fail


def drifted(tmp_path: Path, wrapper: str, old: str, new: str) -> Path:
    """A copy of a wrapper (beside macros.xml) with one piece of text changed."""
    copy = tmp_path / "galaxy"
    copy.mkdir(exist_ok=True)
    (copy / "macros.xml").write_text((GALAXY / "macros.xml").read_text())
    text = (GALAXY / wrapper).read_text()
    assert old in text, f"{wrapper} no longer holds {old!r}: pick another piece to change"
    (copy / wrapper).write_text(text.replace(old, new, 1))
    return copy / wrapper


@pytest.mark.parametrize(
    ("wrapper", "number", "old", "new", "message"),
    [
        # an assertion on a figure the tool does not write
        ("dt_eval.xml", 1, r"0\.5500\t1\.0000\t0\.1000", r"0\.5600\t1\.0000\t0\.1000", "line matching expression"),
        # an expected error message that is not the tool's
        ("dt_eval.xml", 4, '<has_text text="score"/>', '<has_text text="no such message"/>', "no such message"),
        # a test parameter the tool does not have
        ("dt_eval.xml", 2, '<param name="threshold" value="0.6"/>', '<param name="cutoff" value="0.6"/>', "does not have"),
        # a select value that is not an option
        (
            "dt_explain.xml",
            2,
            '<param name="method" value="gradxinput"/>',
            '<param name="method" value="gradient"/>',
            "not one of its options",
        ),
        # an output format the tool does not give
        ("dt_eval.xml", 1, '<output name="metrics" ftype="tabular">', '<output name="metrics" ftype="csv">', "the test says csv"),
    ],
    ids=["assertion", "stderr", "unknown-parameter", "not-an-option", "format"],
)
def test_the_check_catches_drift(tmp_path, wrapper, number, old, new, message):
    path = drifted(tmp_path, wrapper, old, new)
    with pytest.raises(AssertionError, match=re.escape(message)):
        run_wrapper_test(path, number, tmp_path / "job")
