"""Mutation-test the safety core with mutmut, one module at a time, each against the fast tests that judge it.

Run through ``./scripts/mutation`` (which installs mutmut into .venv). Each module gets a scratch directory
``var/mutation/<module>/`` (src and tests linked, pyproject copied with a ``[tool.mutmut]`` table appended), so
the working tree and its pyproject stay untouched; every run starts from scratch there, so no cached verdict
outlives a change to the code or the tests. mutmut runs each mutant only against the selected tests that execute
the mutated function.

Score = (killed + timed out) / mutants. A surviving mutant is listed with its diff and saved to
``var/mutation/<module>/survivors.txt``; docs/mutation.md says why each accepted survivor is equivalent.

mutmut leaves decorated functions alone (properties, pydantic validators), so ``named`` adds hand-written
mutants there and for the regressions issue 11 named: each is applied to a copy of src/ and must fail its tests.

Usage: ./scripts/mutation [--jobs N] [--min-score PCT] [module ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    source: str  # relative to src/
    tests: tuple[str, ...]  # unit-level only: a mutant runs every selected test that reaches its function


# The safety core (issue 11 §6) and the tests that judge each part. Keep these lists to fast, pure tests:
# mutmut runs them once per mutant.
TARGETS: dict[str, Target] = {
    "arming": Target("btcbot/arming.py", ("tests/unit/test_arming.py",)),
    "settings": Target("btcbot/settings.py", ("tests/unit/test_settings.py", "tests/unit/test_account_scope.py")),
    "risk_gate": Target(
        "btcbot/runtime/risk_gate.py",
        (
            "tests/runtime/test_risk_gate_limits.py",
            "tests/strategy/test_risk_gate.py",
            "tests/runtime/test_decisions.py",
        ),
    ),
    "freshness": Target(
        "btcbot/runtime/freshness.py", ("tests/runtime/test_freshness_boundaries.py", "tests/runtime/test_decisions.py")
    ),
    "reconcile": Target(
        "btcbot/runtime/reconcile.py", ("tests/runtime/test_reconcile_rules.py", "tests/runtime/test_decisions.py")
    ),
    "lifecycle": Target(
        "btcbot/runtime/lifecycle.py", ("tests/runtime/test_lifecycle_rules.py", "tests/runtime/test_decisions.py")
    ),
    "kill_switch": Target("btcbot/runtime/kill_switch.py", ("tests/runtime/test_kill_switch_record.py",)),
    "lock": Target("btcbot/lock.py", ("tests/unit/test_lock.py",)),
    "redact": Target("btcbot/telemetry/redact.py", ("tests/telemetry/test_redaction.py",)),
    "intent_journal": Target("btcbot/storage/intent_journal.py", ("tests/storage/test_intent_journal_file.py",)),
    "signing": Target("btcbot/exchange/btcturk/signing.py", ("tests/exchange/test_signing.py",)),
    "translate": Target("btcbot/exchange/btcturk/translate.py", ("tests/exchange/test_translate.py",)),
}


@dataclass(frozen=True)
class Named:
    source: str  # relative to src/
    old: str  # must occur exactly once in the source
    new: str
    tests: tuple[str, ...]


_ARMING_TESTS = ("tests/unit/test_arming.py",)
_SETTINGS_TESTS = ("tests/unit/test_settings.py", "tests/unit/test_account_scope.py")
NAMED: dict[str, Named] = {
    "ack upper-cased at load": Named(
        "btcbot/settings.py",
        "def _strip_ack(cls, value: object) -> object:\n        return value.strip() if",
        "def _strip_ack(cls, value: object) -> object:\n        return value.strip().upper() if",
        _SETTINGS_TESTS,
    ),
    "credentials present with only one of key and secret": Named(
        "btcbot/settings.py",
        "and self.btcturk_api_key.get_secret_value()\n            and self.btcturk_api_secret",
        "and self.btcturk_api_key.get_secret_value()\n            or self.btcturk_api_secret",
        _SETTINGS_TESTS + _ARMING_TESTS,
    ),
    "secret not checked as base64": Named(
        "btcbot/settings.py",
        "base64_secret=is_secret)",
        "base64_secret=False)",
        _SETTINGS_TESTS,
    ),
    "venue URL scheme not checked": Named(
        "btcbot/settings.py",
        "problem = venue_url_problem(value, secure=secure, plain=plain)\n        if problem:",
        "problem = venue_url_problem(value, secure=secure, plain=plain)\n        if problem and False:",
        _SETTINGS_TESTS,
    ),
    "per-order cap equal to the cycle cap refused": Named(
        "btcbot/settings.py",
        "if self.max_notional_per_order_try > self.notional_cap_try_per_cycle:",
        "if self.max_notional_per_order_try >= self.notional_cap_try_per_cycle:",
        _SETTINGS_TESTS,
    ),
    "per-order cap above the cycle cap accepted": Named(
        "btcbot/settings.py",
        "if self.max_notional_per_order_try > self.notional_cap_try_per_cycle:",
        "if self.max_notional_per_order_try > self.notional_cap_try_per_cycle * 2:",
        _SETTINGS_TESTS,
    ),
    "minimum notional above the per-order cap accepted": Named(
        "btcbot/settings.py",
        "if self.min_order_notional_try > self.max_notional_per_order_try:",
        "if self.min_order_notional_try > self.max_notional_per_order_try * 2:",
        _SETTINGS_TESTS,
    ),
    "two spellings of one account scope": Named(
        "btcbot/settings.py", "if key != value:", "if key != value.lower():", _SETTINGS_TESTS
    ),
    "relative LOCK_DIR accepted": Named(
        "btcbot/settings.py", "if not path.is_absolute():", "if not path.expanduser():", _SETTINGS_TESTS
    ),
    "key-derived legacy prefix for an explicit scope": Named(
        "btcbot/settings.py",
        "if self.account_scope != DEFAULT_ACCOUNT_SCOPE or self.btcturk_api_key is None:",
        "if self.btcturk_api_key is None:",
        _SETTINGS_TESTS,
    ),
    "orphans adopted by the bare btcbot- prefix": Named(
        "btcbot/domain/orders.py",
        "return tuple(owned_prefix(s) for s in (account_scope, legacy_scope) if s)",
        'return (*(owned_prefix(s) for s in (account_scope, legacy_scope) if s), f"{BOT_PREFIX}-")',
        ("tests/runtime/test_reconcile_rules.py", "tests/unit/test_account_scope.py"),
    ),
    "safe-mode latch ignored by the live gate": Named(
        "btcbot/arming.py",
        "return self._decision.live and self._latched_cause is None",
        "return self._decision.live",
        _ARMING_TESTS,
    ),
    "invalid book not told from a stale one": Named(
        "btcbot/runtime/freshness.py",
        "return self.reason_code == rc.MARKET_DATA_INVALID_BOOK",
        "return self.reason_code in BLIND_CODES",
        ("tests/runtime/test_freshness_boundaries.py",),
    ),
    "an unanswered submit no longer counts as live": Named(
        "btcbot/runtime/lifecycle.py",
        "return self.status in LIVE_STATUSES",
        "return self.status.is_open",
        ("tests/runtime/test_lifecycle_rules.py",),
    ),
    "orders that became UNKNOWN not counted": Named(
        "btcbot/runtime/reconcile.py",
        'return sum(1 for u in self.updates if u.event == "unknown")',
        'return sum(1 for u in self.updates if u.event == "resolved")',
        ("tests/runtime/test_reconcile_rules.py",),
    ),
    "a released lock still reported held": Named(
        "btcbot/lock.py", "return self._fd is not None", "return self.path.exists()", ("tests/unit/test_lock.py",)
    ),
}

KILLED = frozenset({"killed", "timeout"})


@dataclass(frozen=True)
class Score:
    module: str
    counts: dict[str, int]
    survivors: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in KILLED)


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(name: str, target: Target) -> Path:
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "src").symlink_to(ROOT / "src")
    (work / "tests").symlink_to(ROOT / "tests")
    config = (
        "\n\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {_toml_list(['src/' + target.source])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(target.tests)}\n"
        # One process per mutant already; xdist workers inside it would only add start-up cost.
        'pytest_add_cli_args = ["-p", "no:xdist"]\n'
    )
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8") + config, "utf-8")
    return work


def run_module(name: str, target: Target, jobs: int) -> Score:
    work = prepare(name, target)
    missing = [t for t in target.tests if not (ROOT / t).exists()]
    if missing:
        raise SystemExit(f"{name}: test file(s) missing: {', '.join(missing)}")
    log = work / "mutmut.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(jobs)], cwd=work, stdout=out, stderr=subprocess.STDOUT
        )
    meta_path = work / "mutants" / "src" / (target.source + ".meta")
    if proc.returncode != 0 or not meta_path.exists():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{name}: mutmut failed (exit {proc.returncode}); end of {log}:\n{tail}")
    exit_codes: dict[str, int | None] = json.loads(meta_path.read_text(encoding="utf-8"))["exit_code_by_key"]
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for mutant, code in sorted(exit_codes.items()):
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status not in KILLED:
            survivors.append(mutant)
    report = []
    for mutant in survivors:
        diff = subprocess.run(
            [str(MUTMUT), "show", mutant], cwd=work, capture_output=True, text=True, check=False
        ).stdout
        changed = [line for line in diff.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
        report.append(f"{mutant} ({status_by_exit_code[exit_codes[mutant]]})\n" + "\n".join(changed) + "\n")
    (work / "survivors.txt").write_text("\n".join(report), encoding="utf-8")
    return Score(name, counts, tuple(report))


def _pytest(src: Path, tests: tuple[str, ...]) -> int:
    env = {**os.environ, "PYTHONPATH": str(src)}  # ahead of the editable install's path to ROOT/src
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:xdist", "-p", "no:randomly", *tests]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False).returncode


def run_named() -> Score:
    """Each named mutant on its own copy of src/; killed iff its tests fail. The untouched copy must pass first."""
    work = WORK / "named"
    shutil.rmtree(work, ignore_errors=True)
    clean = work / "clean" / "src"
    shutil.copytree(ROOT / "src", clean, ignore=shutil.ignore_patterns("__pycache__"))
    every_test = tuple(sorted({t for m in NAMED.values() for t in m.tests}))
    if _pytest(clean, every_test) != 0:
        raise SystemExit(f"named: the tests fail without any mutant: {' '.join(every_test)}")
    counts: dict[str, int] = {}
    survivors = []
    for i, (name, m) in enumerate(NAMED.items()):
        text = (clean / m.source).read_text(encoding="utf-8")
        if text.count(m.old) != 1:
            raise SystemExit(f"named mutant {name!r}: its pattern is not exactly once in src/{m.source}; update it")
        src = work / str(i) / "src"
        shutil.copytree(clean, src)
        (src / m.source).write_text(text.replace(m.old, m.new), encoding="utf-8")
        code = _pytest(src, m.tests)
        # pytest exits 1 when tests failed; anything else (a collection error, no tests) proves nothing.
        status = {0: "survived", 1: "killed"}.get(code, f"error (pytest exit {code})")
        counts[status] = counts.get(status, 0) + 1
        if status != "killed":
            survivors.append(f"{name} ({status})\n- {m.old}\n+ {m.new}\n")
    (work / "survivors.txt").write_text("\n".join(survivors), encoding="utf-8")
    return Score("named", counts, tuple(survivors))


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(TARGETS)}, named")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested in parallel")
    parser.add_argument("--min-score", type=float, default=90.0, help="exit 1 below this total score (percent)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests, then exit")
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name:15} src/{target.source}\n{'':15} {' '.join(target.tests)}")
        print(f"{'named':15} {len(NAMED)} hand-written mutants: " + "; ".join(NAMED))
        return 0
    unknown = [m for m in args.modules if m not in TARGETS and m != "named"]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    dirty = " (uncommitted changes)" if _git("status", "--porcelain", "--", "src", "tests") else ""
    print(f"mutation run at {_git('rev-parse', '--short', 'HEAD')}{dirty}, {time.strftime('%Y-%m-%d')}")
    chosen = args.modules or [*TARGETS, "named"]
    scores = []
    named = None
    for name in chosen:
        started = time.monotonic()
        score = run_named() if name == "named" else run_module(name, TARGETS[name], args.jobs)
        if name == "named":
            named = score
        else:
            scores.append(score)
        pct = 100.0 * score.killed / score.total if score.total else 100.0
        print(f"{name:15} {score.killed:4}/{score.total:<4} killed  {pct:5.1f} %  ({time.monotonic() - started:.0f} s)")
        for survivor in score.survivors:
            print("    " + survivor.replace("\n", "\n    ").rstrip())
    killed = sum(s.killed for s in scores)
    total = sum(s.total for s in scores)
    pct = 100.0 * killed / total if total else 100.0
    if scores:
        print(f"{'total (mutmut)':15} {killed:4}/{total:<4} killed  {pct:5.1f} %")
    ok = pct >= args.min_score and (named is None or named.killed == named.total)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
