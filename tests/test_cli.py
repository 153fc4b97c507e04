"""The command line: the run contract and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml

from survsim import cli, cli_output
from survsim.cli import main


def test_run_writes_timeseries_manifest_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "epstein_outbursts", "--steps", "30", "--seed", "4", "--out", str(out),
                 "--set", "width=20", "--set", "height=20"])  # fmt: skip
    assert code == 0
    table = pq.read_table(out / "timeseries.parquet")
    assert table.column_names == ["step", "active", "quiet", "jailed"]
    assert table.column("step").to_pylist() == list(range(31))
    first = table.slice(0, 1).to_pylist()[0]
    assert first["active"] == 0 and first["jailed"] == 0  # step 0: everyone quiet
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "civil_violence" and manifest["scenario"] == "epstein_outbursts"
    assert manifest["seed"] == 4 and manifest["steps"] == 30
    assert manifest["parameters"]["width"] == 20 and manifest["parameters"]["legitimacy"] == 0.7
    assert manifest["environment"]["survsim"]
    assert {"build_s", "jit_s", "run_s"} <= set(manifest["timings"])
    assert (out / "active_jailed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "mean active share" in printed and str(out) in printed


def test_same_seed_gives_identical_data_files(tmp_path):
    for name in ("a", "b", "c"):
        seed = "7" if name != "c" else "8"
        assert main(["run", "epstein_run2", "--steps", "40", "--seed", seed,
                     "--out", str(tmp_path / name)]) == 0  # fmt: skip
    a = (tmp_path / "a" / "timeseries.parquet").read_bytes()
    assert a == (tmp_path / "b" / "timeseries.parquet").read_bytes()
    assert a != (tmp_path / "c" / "timeseries.parquet").read_bytes()


def test_default_output_folder_is_new_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--steps", "3", "--agents", "300"]) == 0
    assert main(["run", "--steps", "3", "--agents", "300"]) == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all((r / "manifest.json").exists() for r in runs)
    assert all(r.name.startswith("dprk-") for r in runs)  # the main job is the default


REQUIRED = [
    "day",
    "population",
    "free",
    "detained",
    "imprisoned",
    "dead_in_prison_total",
    "dissenters",
    "spoke_openly",
    "reports_informant",
    "reports_defensive",
    "reports_ordinary",
    "reports_wiretap",
    "reports_microphone",
    "reports_cctv",
    "reports_computer",
    "reports_correspondence",
    "reports_fabricated",
    "queue_checks_ssd",
    "queue_investigations_ssd",
    "checks",
    "warnings",
    "investigations",
    "detentions",
    "prison_sentences",
    "convictions_true",
    "convictions_false",
    "convictions_family",
    "convictions_failure_to_report",
    "admissions",
    "releases",
    "deaths_in_prison",
    "informants",
    "mean_perceived_risk",
]


def test_the_main_job_writes_every_output(tmp_path, capsys):
    out = tmp_path / "dprk"
    assert main(["run", "--agents", "3000", "--steps", "40", "--out", str(out)]) == 0
    table = pq.read_table(out / "timeseries.parquet")
    assert set(REQUIRED) <= set(table.column_names)
    assert table.column("day").to_pylist() == list(range(41))
    speech = pq.read_table(out / "open_speech.parquet")
    assert speech.column_names[:5] == ["context", "group_size", "present", "spoke",
                                       "open_speech_rate"]  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    national = summary["national"]
    scale = 25_700_000 / 3000
    assert national["prisoners"] == pytest.approx(summary["prisoners"] * scale, rel=1e-5)
    if summary["prisoners_steady_state_simulated"] is None:  # too few admissions
        assert national["prisoners_steady_state"] is None
        assert national["prisoners_steady_state_note"]
    else:
        assert national["prisoners_steady_state"] == pytest.approx(
            summary["prisoners_steady_state_simulated"] * scale, rel=1e-5
        )
    for png in ("daily_story", "open_speech", "reports_by_channel", "prisoners"):
        assert (out / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 4
    assert "http://" not in report and "https://" not in report and "<script" not in report
    assert "seed article" in report  # the sources travel with the run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["agents"] == 3000 and manifest["scenario"] == "dprk"
    printed = capsys.readouterr().out
    assert "national-scale estimates" in printed and "prisoners steady state" in printed


def test_agents_is_checked(tmp_path, capsys):
    assert main(["run", "epstein", "--agents", "500", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("survsim: error: ")
    assert "--agents: model civil_violence has no agents parameter" in err
    assert "surveillance_state" in err  # says where --agents applies
    assert main(["run", "--agents", "50", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "params.agents = 50" in err
    assert list(tmp_path.iterdir()) == []


BAD = [
    (["run", "epstein", "--set", "legitimacy=2"], "params.legitimacy = 2"),
    (["run", "epstein", "--set", "citizen_density=0.95"], "citizen_density + cop_density"),
    (["run", "epstein", "--set", "nonsense=1"], "unknown key 'params.nonsense'"),
    (["run", "epstein", "--set", "oops"], "expected key=value"),
    (["run", "no_such_scenario"], "neither a built-in scenario"),
    (["run", "epstein", "--steps", "-5"], "steps = -5"),
    (["run", "epstein", "--steps", "many"], "--steps"),
    (["run", "epstein", "--seed", "-1"], "seed = -1"),
    (["run", "epstein", "--stepz", "3"], "No such option: --stepz"),
    (["fly"], "No such command 'fly'"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, argv, expected):
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)] if argv[0] == "run" else argv)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("survsim: error: ") and expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", "epstein", "--steps", "2", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_scenario_list_and_show(capsys):
    assert main(["scenario", "list"]) == 0
    assert "epstein_run2" in capsys.readouterr().out
    assert main(["scenario", "show", "epstein_run2"]) == 0
    shown = capsys.readouterr().out
    assert "legitimacy: 0.82" in shown and "Run 2" in shown
    assert main(["scenario", "show", "dprk"]) == 0
    shown = capsys.readouterr().out
    assert "personnel: 50000" in shown and "at least 50,000" in shown


def test_installed_command_reports_errors_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    result = subprocess.run(
        [sys.executable, "-m", "survsim", "run", "epstein", "--set", "legitimacy=abc",
         "--out", str(tmp_path / "x")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "params.legitimacy = 'abc'" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_run_too_big_for_memory_is_refused_up_front(tmp_path, capsys):
    out = tmp_path / "big"
    code = main(["run", "epstein", "--set", "width=20000", "--set", "height=20000",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "needs about" in err and "GB available" in err
    assert err.count("\n") == 1 and not out.exists()


def test_a_national_run_is_refused_with_its_estimate_where_memory_is_short(
    tmp_path, capsys, monkeypatch
):
    import survsim.engine.memory as memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 2_000_000_000)
    out = tmp_path / "national"
    code = main(["run", "dprk", "--agents", "25700000", "--steps", "365", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not out.exists()
    # 300 MB + 25.7 million x (140 + 34 bytes a spin-up hands on)
    assert "needs about 4.8 GB, 2.0 GB available" in err, err


def test_the_memory_estimate_covers_the_arrays_a_run_holds():
    from survsim.models import MEMORY_ESTIMATES, SurveillanceState, SurveillanceStateParams

    p = SurveillanceStateParams(agents=200_000)
    sim = SurveillanceState(p, seed=1, steps=2)
    held = sim.pop.nbytes
    per_agent = (MEMORY_ESTIMATES["surveillance_state"](p, 2) - 300_000_000) / p.agents
    assert held / p.agents <= per_agent <= 1.5 * held / p.agents


def test_unwritable_output_is_refused_before_the_run(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["run", "epstein", "--out", str(blocker / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and err.count("\n") == 1


def test_agents_wins_over_set_like_steps(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--agents", "300", "--set", "agents=50", "--steps", "1", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["parameters"]["agents"] == 300


def test_default_scenario_is_the_main_job_once_installed(tmp_path, monkeypatch):
    assert cli.default_scenario() == "dprk"
    monkeypatch.setattr(cli_output, "builtin_scenarios", lambda: {"epstein": "Epstein (2002)"})
    assert cli.default_scenario() == "epstein"
    assert main(["run", "--steps", "2", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["scenario"] == "epstein"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (25_700_000, "25,700,000"),
        (3000, "3,000"),
        (94_233.37, "94,230"),  # four significant digits, thousands separated
        (8567.12, "8,567"),
        (0.0085471, "0.008547"),
        (0.5, "0.5"),
        (-123_456.0, "-123,500"),
        (0.0, "0"),
        (float("nan"), "nan"),
        (True, "true"),
        ("civil_violence", "civil_violence"),
    ],
)
def test_summary_values_are_readable(value, shown):
    from survsim.cli_output import shown as show

    assert show(value) == shown


def test_summary_prints_nested_sections_after_the_top_level(tmp_path, capsys, monkeypatch):
    facts = {"model": "civil_violence", "prisoners": 11, "national": {"prisoners": 94_233.4,
             "informants": 197_033}, "queues": {"ssd": 41, "longest": {"day": 3}}}  # fmt: skip
    monkeypatch.setattr(cli, "summary", lambda sim: facts)
    assert main(["run", "epstein", "--steps", "2", "--out", str(tmp_path / "run")]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    labels = [line.split("  ")[0] for line in lines if line]
    at = -1
    for label in ["run", "model", "prisoners", "national-scale estimates", "prisoners",
                  "informants", "queues", "ssd", "longest: day", "time", "build"]:  # fmt: skip
        at = labels.index(label, at + 1)  # each after the one before, or ValueError
    assert any(line.startswith("prisoners") and line.endswith("94,230") for line in lines)
    assert any(line.startswith("informants") and line.endswith("197,033") for line in lines)
    assert any(line.startswith("longest: day") and line.endswith("3") for line in lines)


def test_scenario_list_shows_each_model(capsys):
    assert main(["scenario", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    for name, model in [("dprk", "surveillance_state"), ("epstein_run2", "civil_violence")]:
        row = next(r for r in rows if f" {name} " in r)
        assert model in row


def test_scenario_show_prints_nested_parameters_and_dotted_sources(capsys):
    argv = ["scenario", "show", "dprk", "--set", "agencies.ssd.personnel=60000"]
    assert main(argv) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["params"]["agencies"]["ssd"] == {"personnel": 60000, "political_share": 0.5}
    assert shown["params"]["agencies"]["mps"]["personnel"] == 175_000
    assert "at least 50,000" in shown["sources"]["agencies.ssd.personnel"]
    assert main(["scenario", "show", "dprk", "--set", "agencies.ssd.rank=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(allowed: personnel, political_share)" in err


def _flags_mentioned(text: str) -> set[str]:
    """Every ``--flag`` a text mentions."""
    import re

    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))


def test_no_message_suggests_a_flag_that_does_not_exist():
    """Every --flag written anywhere in survsim's sources is an option of some command."""
    from pathlib import Path

    import typer.main

    from survsim.cli import app

    flags = {"--help"}  # every command has it

    def walk(command) -> None:
        for param in command.params:
            flags.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    assert {"--resume", "--scheduler-file", "--checkpoint-every", "--agents"} <= flags
    sources = Path(__file__).resolve().parents[1] / "src" / "survsim"
    unknown = {
        flag: path.name
        for path in sources.rglob("*.py")
        for flag in _flags_mentioned(path.read_text(encoding="utf-8"))
        if flag not in flags
    }
    assert not unknown, unknown
    # Negative control: a suggestion of a flag no command has is caught.
    assert _flags_mentioned("run it again with --resume-all to finish") - flags == {"--resume-all"}
