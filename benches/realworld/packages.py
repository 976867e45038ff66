"""The packages of the real-world upgrade suite: release N, release N+1, and how to test N+1.

Each pair is two consecutive releases with 100+ changed lines whose N+1 supports Python 3.11;
`deps` are installed into the run's environment at versions both releases accept.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Package:
    """One upgrade N -> N+1 of one distribution."""

    dist: str
    old: str
    new: str
    tests: tuple = ("tests",)  # test paths inside N+1's sdist
    deps: tuple = ()
    test_deps: tuple = ()  # what N+1's tests import beyond pytest
    quick: bool = False  # small and fast: part of --quick and of CI
    exercise: str = ""  # statements run after the imports of release N (names: the modules)
    pytest_args: tuple = field(default=())


PACKAGES = [
    Package(
        "sqlparse",
        "0.4.4",
        "0.5.0",
        quick=True,
        exercise="sqlparse.format('select * from t where a=1', reindent=True)",
    ),
    Package(
        "toolz",
        "0.11.2",
        "0.12.0",
        tests=("toolz/tests",),
        exercise="toolz.pipe(3, toolz.curry(lambda a, b: a + b)(1))",
    ),
    Package(
        "tabulate",
        "0.8.10",
        "0.9.0",
        tests=("test",),
        quick=True,
        exercise="tabulate.tabulate([[1, 2]], headers=['a', 'b'])",
    ),
    Package("h11", "0.12.0", "0.13.0", tests=("h11/tests",)),
    Package(
        "packaging",
        "23.2",
        "24.0",
        test_deps=("pretend",),
        exercise="packaging.version.Version('1.2.3') < packaging.version.Version('2')",
    ),
    Package("boltons", "23.1.1", "24.0.0"),
    Package(
        "marshmallow",
        "3.20.2",
        "3.21.0",
        deps=("packaging>=17.0",),
        test_deps=("simplejson", "pytz"),
        # Its ids hold the time of collection, so a fresh and a live run never share them.
        pytest_args=("-k", "not test_invalid_datetime_deserialization"),
    ),
    Package("pygments", "2.17.2", "2.18.0", test_deps=("wcag-contrast-ratio",)),
    Package("docutils", "0.20.1", "0.21.1", tests=("test",)),
    Package(
        "arrow",
        "1.2.3",
        "1.3.0",
        deps=("python-dateutil>=2.7.0",),
        test_deps=("pytz", "simplejson", "dateparser", "pytest-mock"),
        exercise="arrow.get('2020-01-01').shift(days=1)",
    ),
    Package(
        "urllib3",
        "2.1.0",
        "2.2.0",
        tests=("test",),
        test_deps=(
            "trustme",
            "tornado",
            "pytest-socket",
            "trio",
            "quart",
            "quart-trio",
            "hypercorn",
            "pysocks",
            "h2",
            "cryptography",
        ),
    ),
    Package(
        "requests",
        "2.31.0",
        "2.32.0",
        deps=("urllib3>=1.21.1,<3", "idna", "charset_normalizer", "certifi"),
        test_deps=("pytest-httpbin", "pytest-mock", "trustme"),
    ),
    Package(
        "httpx",
        "0.26.0",
        "0.27.0",
        deps=("anyio", "certifi", "httpcore==1.*", "idna", "sniffio"),
        # trio: its pyproject's warning filters name trio's warnings (collection fails without).
        test_deps=("trustme", "uvicorn", "chardet", "h2", "socksio", "trio"),
    ),
]
