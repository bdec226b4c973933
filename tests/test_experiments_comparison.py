"""Lesson 06's experiment, figure and exercise-check functions on tiny synthetic data (fast, except one test
that trains a Keras model for an epoch)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect
from ncf_helpers.data import leave_last_one_out, random_split
from ncf_helpers.evaluate import evaluate
from ncf_helpers.lessons.l06_comparison import exercises as ex
from ncf_helpers.lessons.l06_comparison import experiments as cmp

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def split(synthetic):
    return leave_last_one_out(synthetic, num_negatives=49, seed=0, threshold=3.5)


# ---------------------------------------------------------------------------------------------- compare_models
def test_compare_models_same_negatives_and_seeds(split):
    comp = cmp.compare_models(
        split,
        ["Popularity", "UserCF", "iALS"],
        seeds=(0, 1),
        verbose=False,
        options={"iALS": {"iterations": 3, "embedding_dim": 8}},
    )
    res = comp.results
    assert list(res.columns[:3]) == ["model", "family", "seed"]
    assert len(res) == 3 * 2 and set(res["seed"]) == {0, 1}
    # Deterministic models are fitted once and their row repeated: spread 0.
    pop = res[res["model"] == "Popularity"]
    assert pop["deterministic"].all() and pop["hr@10"].nunique() == 1
    # The numbers are the shared harness' numbers on the split's stored negatives.
    direct = evaluate(comp.models["Popularity"], split)
    assert pop["hr@10"].iloc[0] == pytest.approx(direct.hr)
    assert pop["ndcg@10"].iloc[0] == pytest.approx(direct.ndcg)
    # iALS is seeded: two different fits, and each seed's fit is reproducible.
    als = res[res["model"] == "iALS"].set_index("seed")
    again = cmp.make_model("iALS", split, 1, iterations=3, embedding_dim=8)
    assert evaluate(again, split).hr == pytest.approx(als.loc[1, "hr@10"])
    assert comp.models["iALS"].seed == 0 and comp.models["iALS"].name == "iALS"
    # per-user results cover the test users, averaged over seeds
    assert set(comp.per_user) == {"Popularity", "UserCF", "iALS"}
    assert len(comp.per_user["iALS"]) == len(split.test)
    # a user's hit (0 or 1) averaged over the 2 seeds: 0, 0.5 or 1, and the mean is the seeds' mean HR@10
    assert comp.per_user["iALS"]["hr"].isin([0.0, 0.5, 1.0]).all()
    assert comp.per_user["iALS"]["hr"].mean() == pytest.approx(als["hr@10"].mean())
    assert comp.seconds > 0 and comp.seeds == (0, 1)
    # everything beats random on planted structure
    assert (res["hr@10"] > 10 / 50).all()


def test_merge(split):
    a = cmp.compare_models(split, ["Popularity"], seeds=(0, 1), verbose=False)
    b = cmp.compare_models(split, ["UserCF", "Popularity"], seeds=(0, 1), verbose=False)
    m = a.merge(b)
    assert list(dict.fromkeys(m.results["model"])) == ["Popularity", "UserCF"]
    assert len(m.results) == 4 and m.models["Popularity"] is a.models["Popularity"]
    assert set(m.per_user) == {"Popularity", "UserCF"} and m.seconds == pytest.approx(a.seconds + b.seconds)
    with pytest.raises(ValueError, match="different seeds"):
        a.merge(cmp.compare_models(split, ["UserCF"], seeds=(0,), verbose=False))


def test_recorded_run_round_trip_and_guards(split, synthetic, tmp_path, capsys):
    from ncf_helpers.evaluate import protocol_curve

    comp = cmp.compare_models(
        split,
        ["Popularity", "iALS"],
        seeds=(0, 1),
        verbose=False,
        options={"iALS": {"iterations": 3, "embedding_dim": 8}},
    )
    curve = protocol_curve(comp.models, split, negatives=(1, 9, 49, "all"))
    path = cmp.save_recorded(
        comp, split, "toy", curve, info={"date": "2026-11-29", "machine": "test"}, path=tmp_path / "rec.json"
    )
    assert path.exists() and not list(tmp_path.glob(".*"))  # no temp file left behind
    rec = cmp.find_recorded(split, "toy", ["iALS"], (0, 1), path=path)
    assert rec is not None and rec.models == {} and rec.seeds == (0, 1) and rec.epochs is None and comp.epochs is None
    pd.testing.assert_frame_equal(
        rec.results.reset_index(drop=True),
        comp.results[comp.results["model"] == "iALS"].reset_index(drop=True),
        check_dtype=False,
    )
    assert list(rec.per_user) == ["iALS"]
    np.testing.assert_allclose(
        rec.per_user["iALS"].sort_values("user_idx")["hr"], comp.per_user["iALS"].sort_values("user_idx")["hr"]
    )
    assert set(rec.curve["model"]) == {"iALS"} and set(rec.curve["num_negatives"]) == {"1", "9", "49", "all"}
    assert "2026-11-29" in rec.note and "test" in rec.note
    # merged with a live comparison: one table, one curve, live models kept
    live = cmp.compare_models(split, ["Popularity"], seeds=(0, 1), verbose=False)
    live.curve = curve[curve["model"] == "Popularity"]
    both = live.merge(rec)
    assert list(dict.fromkeys(both.results["model"])) == ["Popularity", "iALS"]
    assert set(both.curve["model"]) == {"Popularity", "iALS"} and "Popularity" in both.models
    # Anything that would make the recorded numbers not this run's numbers: None, with the reason printed.
    capsys.readouterr()
    other = leave_last_one_out(synthetic, num_negatives=49, seed=1, threshold=3.5)
    assert cmp.find_recorded(other, "toy", ["iALS"], (0, 1), path=path) is None
    assert "split differs" in capsys.readouterr().out
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1, 2), path=path) is None
    assert "seeds" in capsys.readouterr().out
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), epochs=3, path=path) is None
    assert "epochs" in capsys.readouterr().out
    # a tuple lists the acceptable values (lesson 06: the default run, or FAST's own): recorded with None here
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), epochs=(3, None), path=path) is not None
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), epochs=(3, 2), path=path) is None
    assert "asks for epochs=2 or epochs=3" in capsys.readouterr().out
    assert cmp.find_recorded(split, "toy", ["iALS", "MLP"], (0, 1), path=path) is None
    assert "lacks" in capsys.readouterr().out
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), path=tmp_path / "none.json") is None
    assert "there is none" in capsys.readouterr().out
    import json

    doc = json.loads(path.read_text())
    doc["settings"]["keras"]["mlp"]["epochs"] += 1  # someone retuned a model after recording
    (tmp_path / "stale.json").write_text(json.dumps(doc))
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), path=tmp_path / "stale.json") is None
    assert "settings changed" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("{not json")
    assert cmp.find_recorded(split, "toy", ["iALS"], (0, 1), path=tmp_path / "bad.json") is None
    assert "unreadable" in capsys.readouterr().out


def test_recorded_run_gzipped(split, tmp_path, monkeypatch):
    """The larger records (the synthetic set at ML-1M's shape) are stored gzipped: found under the same data set
    name, byte for byte reproducible (no time stamp in the gzip header), no temp file left behind."""
    comp = cmp.compare_models(split, ["Popularity"], seeds=(0, 1), verbose=False)
    monkeypatch.setattr(cmp, "RECORDED_DIR", tmp_path)
    path = cmp.save_recorded(comp, split, "toy-big", compress=True)
    assert path == tmp_path / "comparison_toy-big.json.gz" and sorted(tmp_path.iterdir()) == [path]
    first = path.read_bytes()
    assert first[:2] == b"\x1f\x8b" and cmp.save_recorded(comp, split, "toy-big", compress=True).read_bytes() == first
    rec = cmp.find_recorded(split, "toy-big", ["Popularity"], (0, 1), verbose=False)
    assert rec is not None and list(rec.per_user) == ["Popularity"]
    path.write_bytes(first[: len(first) // 2])  # a truncated download or copy: unreadable, so train live
    assert cmp.find_recorded(split, "toy-big", ["Popularity"], (0, 1), verbose=False) is None


def test_split_fingerprint_sees_every_input(split):
    import copy

    base = cmp.split_fingerprint(split)
    assert len(base) == 16 and base == cmp.split_fingerprint(copy.deepcopy(split))
    changed = copy.deepcopy(split)
    negatives = np.array(changed.test_negatives)
    negatives[0, 0] = (negatives[0, 0] + 1) % split.num_items
    changed.test_negatives = negatives
    assert cmp.split_fingerprint(changed) != base
    changed = copy.deepcopy(split)
    changed.train = changed.train.iloc[1:]
    assert cmp.split_fingerprint(changed) != base


def test_shipped_recorded_run_is_complete():
    """The file lesson 06 reads by default: every model, 3 seeds, per-user and per-seed hits, the protocol curve,
    on leave-last-one-out and the time split, and the original course's protocol for four Keras models."""
    import json

    path = cmp.RECORDED_DIR / "comparison_ml-latest-small.json"
    assert path.exists(), "run benchmarks/comparison.py to record the comparison"
    doc = json.loads(path.read_text())
    assert doc["format"] == 2 and doc["seeds"] == [0, 1, 2] and doc["epochs"] is None
    assert doc["settings"] == cmp.model_settings(), "models' defaults changed: re-run benchmarks/comparison.py"
    runs = {r["protocol"]: r for r in doc["runs"]}
    assert set(runs) == {"leave_last_one_out", "temporal", "random"}
    assert len({r["fingerprint"] for r in doc["runs"]}) == 3 and all(len(r["fingerprint"]) == 16 for r in doc["runs"])
    for protocol in ("leave_last_one_out", "temporal"):
        run = runs[protocol]
        results = pd.DataFrame(run["results"])
        assert set(results["model"]) == set(cmp.MODELS) and len(results) == 3 * len(cmp.MODELS)
        assert results["hr@10"].between(0.1, 1.0).all(), protocol
        assert (results["full hr@10"] < results["hr@10"]).all(), protocol  # ~9,700 candidates instead of 100
        assert set(run["per_user"]["models"]) == set(cmp.MODELS)
        for stored in run["per_user"]["models"].values():
            assert set(stored) == {"hr", "ndcg", "full_hr", "full_ndcg"}
            assert all(
                len(per_seed) == run["test_users"] == len(run["per_user"]["user_idx"])
                for values in stored.values()
                for per_seed in values
            )
            assert all(len(values) == 3 for values in stored.values())
    curve = pd.DataFrame(runs["leave_last_one_out"]["curve"])
    assert set(curve["model"]) == set(cmp.MODELS) and {"1", "99", "all"} <= set(curve["num_negatives"].astype(str))
    labels = pd.DataFrame(runs["random"]["results"])
    assert set(labels["model"]) == {"MF (dot)", "GMF", "MLP", "NeuMF"} and len(labels) == 12
    assert labels["roc_auc"].between(0.6, 1.0).all()


def _fast_synthetic_splits():
    """The three splits lesson 06 makes with FAST = True offline (MovieLens absent: the small synthetic set)."""
    from ncf_helpers import lesson
    from ncf_helpers.data import temporal_split

    ds = lesson.load_data("synthetic", True, seed=0, verbose=False)
    return ds, {
        "loo": leave_last_one_out(ds, threshold=3.5, num_negatives=99, seed=0),
        "time": temporal_split(ds, test_fraction=0.2, threshold=3.5, num_negatives=99, seed=0),
        "labels": random_split(ds, test_fraction=0.2, seed=0, threshold=3.5),
    }


def test_shipped_fast_synthetic_run_is_found():
    """recorded/comparison_synthetic.json is lesson 06's FAST run offline (what nbgrader's autograde and the offline
    notebook tests execute): it applies to exactly the splits, seeds and settings that run asks for, with every
    model, and not to the default (EPOCHS = None) run."""
    ds, splits = _fast_synthetic_splits()
    assert ds.name == "synthetic"
    seeds, asked = (0, 1, 2), (None, cmp.FAST_EPOCHS)  # the lesson's (EPOCHS, epochs) with FAST = True
    trained = ["iALS", *[n for n in cmp.MODELS if n in cmp.KERAS_INTERACTION]]
    missing = "re-run benchmarks/comparison.py --fast-synthetic"
    found = cmp.find_recorded(splits["loo"], ds.name, trained, seeds, epochs=asked, verbose=False)
    assert found, missing
    assert found.epochs == cmp.FAST_EPOCHS  # lesson 06 then compares its retrained MF (dot) with the record
    assert cmp.find_recorded(splits["time"], ds.name, cmp.MODELS, seeds, epochs=asked, verbose=False), missing
    labels = ["MF (dot)", "GMF", "MLP", "NeuMF"]
    assert cmp.find_recorded(splits["labels"], ds.name, labels, seeds, epochs=asked, verbose=False), missing
    assert cmp.find_recorded(splits["loo"], ds.name, trained, seeds, verbose=False) is None  # not a default run


def test_shipped_ml_1m_synthetic_run_is_found():
    """recorded/comparison_synthetic-ml-1m.json.gz is lesson 06's default run on the synthetic set of ML-1M's shape
    (``DATASET = "synthetic"``, ``SYNTHETIC_SIZE = "ml-1m"``; issue #15): it applies to the three splits the lesson
    makes there, with every model, under the name the lesson looks for, and only to the default epochs."""
    from ncf_helpers import lesson
    from ncf_helpers.data import temporal_split

    ds = lesson.load_data("synthetic", False, seed=0, verbose=False, synthetic_size="ml-1m")
    name = "synthetic-ml-1m"  # lesson 06's recorded_as for this size
    path = cmp.RECORDED_DIR / f"comparison_{name}.json.gz"
    missing = "re-run benchmarks/comparison.py --synthetic-size ml-1m"
    assert path.exists() and not path.with_suffix("").exists(), missing
    assert path.stat().st_size < 1_000_000  # 6,000 users' per-seed hits, gzipped
    seeds = (0, 1, 2)
    trained = ["iALS", *[n for n in cmp.MODELS if n in cmp.KERAS_INTERACTION]]
    loo = leave_last_one_out(ds, threshold=3.5, num_negatives=99, seed=0)
    found = cmp.find_recorded(loo, name, trained, seeds, epochs=(None,), verbose=False)
    assert found and found.epochs is None, missing
    assert len(found.per_user_seed["MLP"]) == 3 * len(loo.test)
    tsplit = temporal_split(ds, test_fraction=0.2, threshold=3.5, num_negatives=99, seed=0)
    assert cmp.find_recorded(tsplit, name, cmp.MODELS, seeds, epochs=(None,), verbose=False), missing
    rsplit = random_split(ds, test_fraction=0.2, seed=0, threshold=3.5)
    labels = ["MF (dot)", "GMF", "MLP", "NeuMF"]
    assert cmp.find_recorded(rsplit, name, labels, seeds, epochs=(None,), verbose=False), missing
    assert cmp.find_recorded(loo, name, trained, seeds, epochs=(cmp.FAST_EPOCHS,), verbose=False) is None


def test_recorded_files_ship_with_the_package():
    """Every recorded run is package data (pyproject's globs), so an installed course finds it too."""
    import fnmatch
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package in ("ncf_helpers.lessons.l06_comparison", "ncf_helpers.lessons.l07_retrieval"):
        folder = root / package.replace(".", "/")
        files = [f.relative_to(folder).as_posix() for f in (folder / "recorded").iterdir() if f.is_file()]
        assert files, package
        for f in files:
            assert any(fnmatch.fnmatch(f, g) for g in globs[package]), (package, f, globs[package])


@pytest.mark.slow
def test_fast_synthetic_run_is_reproduced_by_retraining():
    """Trust, but verify (lesson 06's own check, here for the FAST record): MF (dot) and iALS with the first seed,
    retrained exactly as FAST trains them, score the recorded HR@10 (equal on the recording machine; another
    CPU or TensorFlow build sums in another order, so allow 0.03, about 12 of the 400 test users)."""
    ds, splits = _fast_synthetic_splits()
    rec = cmp.find_recorded(splits["loo"], ds.name, ["iALS", "MF (dot)"], (0, 1, 2), epochs=(None, 2), verbose=False)
    for name in ("iALS", "MF (dot)"):
        model = cmp.make_model(name, splits["loo"], 0, epochs=cmp.FAST_EPOCHS, **cmp.FAST_OPTIONS.get(name, {}))
        live = evaluate(model, splits["loo"]).hr
        recorded = float(rec.results.query("model == @name and seed == 0")["hr@10"].iloc[0])
        assert abs(live - recorded) <= 0.03, (name, live, recorded)


def test_compare_models_errors(split, synthetic):
    with pytest.raises(ValueError, match="Unknown model"):
        cmp.compare_models(split, ["Popularity", "SVD++"], verbose=False)
    with pytest.raises(ValueError, match="distinct"):
        cmp.compare_models(split, ["Popularity"], seeds=(1, 1), verbose=False)
    with pytest.raises(ValueError, match="at least one"):
        cmp.compare_models(split, [], verbose=False)
    with pytest.raises(ValueError, match="no stored sampled negatives"):
        cmp.compare_models(random_split(synthetic, seed=0), ["Popularity"], verbose=False)
    with pytest.raises(ValueError, match="Unknown model"):
        cmp.make_model("BPR", split)


def test_compare_models_prints_one_line_per_model(split, capsys):
    cmp.compare_models(split, ["Popularity", "ItemCF"], seeds=(0, 1, 2))
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[0].startswith("Popularity") and "(no seed)" in out[0]


@pytest.mark.slow
def test_compare_models_keras(split):
    comp = cmp.compare_models(
        split,
        ["MF (dot)"],
        seeds=(0,),
        epochs=3,
        verbose=False,
        options={"MF (dot)": {"embedding_dim": 8, "jit_compile": False}},
    )
    row = comp.results.iloc[0]
    assert row["model"] == "MF (dot)" and row["family"] == "dot product" and not row["deterministic"]
    assert 10 / 50 < row["hr@10"] <= 1  # the item biases alone learn popularity
    assert comp.models["MF (dot)"].name == "MF (dot)"
    assert comp.models["MF (dot)"].history.epochs == 3


# ---------------------------------------------------------------------------------------------- summaries
@pytest.fixture
def toy_results():
    return pd.DataFrame(
        {
            "model": ["A", "A", "A", "B", "B", "B"],
            "family": ["dot product"] * 3 + ["baseline"] * 3,
            "seed": [0, 1, 2] * 2,
            "hr@10": [0.60, 0.62, 0.64, 0.70, 0.70, 0.70],
            "ndcg@10": [0.40, 0.40, 0.43, 0.50, 0.50, 0.50],
            "fit_seconds": [1.0, 2.0, 3.0, 0.1, 0.1, 0.1],
        }
    )


def test_summarise_by_hand(toy_results):
    s = cmp.summarise(toy_results)
    assert list(s.index) == ["A", "B"]  # order of first appearance
    # A: mean 0.62; deviations -0.02, 0, +0.02 -> sum of squares 0.0008 / (3 - 1) = 0.0004 -> std 0.02
    assert s.loc["A", "hr@10_mean"] == pytest.approx(0.62)
    assert s.loc["A", "hr@10_std"] == pytest.approx(0.02)
    # ndcg A: mean 0.41; deviations -0.01, -0.01, +0.02 -> 0.0006 / 2 = 0.0003 -> std 0.017321
    assert s.loc["A", "ndcg@10_std"] == pytest.approx(np.sqrt(0.0003))
    assert s.loc["B", "hr@10_std"] == 0.0 and s.loc["A", "seeds"] == 3
    assert s.loc["A", "fit_seconds"] == pytest.approx(2.0)
    assert s.loc["B", "family"] == "baseline"
    with pytest.raises(ValueError, match="tidy DataFrame"):
        cmp.summarise(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="No metric"):
        cmp.summarise(pd.DataFrame({"model": ["A"], "seed": [0]}))


def test_comparison_table_sorted_and_formatted(toy_results):
    t = cmp.comparison_table(toy_results)
    assert list(t.index) == ["B", "A"]  # best HR@10 first
    assert t.loc["A", "HR@10"] == "0.620 ± 0.020"
    assert t.loc["B", "NDCG@10"] == "0.500 ± 0.000"
    assert list(t.columns) == ["family", "HR@10", "NDCG@10", "seeds", "fit s"]
    one = cmp.comparison_table(toy_results[toy_results["seed"] == 0])
    assert one.loc["A", "HR@10"] == "0.600 ± 0.000"  # a single seed has no spread to show


def test_paired_difference():
    users = np.arange(4)
    a = pd.DataFrame({"user_idx": users, "hr": [1.0, 1.0, 0.0, 1.0], "ndcg": [1.0, 0.5, 0.0, 0.5]})
    b = pd.DataFrame({"user_idx": users, "hr": [0.0, 1.0, 0.0, 0.0], "ndcg": [0.0, 0.5, 0.0, 0.5]})
    d = cmp.paired_difference({"A": a, "B": b}, "A", "B", n_boot=500)
    # per-user differences 1, 0, 0, 1 -> mean 0.5. A resample of 4 users has mean k / 4, k ~ Binomial(4, 1/2):
    # P(0) = P(1) = 1/16 > 2.5 %, so the 95 % interval is exactly [0, 1]
    assert d["difference"] == pytest.approx(0.5) and d["users"] == 4
    assert (d["low"], d["high"]) == (0.0, 1.0)
    # 400 users, half with difference 1: resampled means ~ N(0.5, sqrt(0.25 / 400) = 0.025) -> 0.5 +- 1.96 * 0.025
    many = {
        "A": pd.DataFrame({"user_idx": np.arange(400), "hr": np.tile([1.0, 0.0], 200)}),
        "B": pd.DataFrame({"user_idx": np.arange(400), "hr": np.zeros(400)}),
    }
    wide = cmp.paired_difference(many, "A", "B", n_boot=4000)
    assert wide["low"] == pytest.approx(0.5 - 1.96 * 0.025, abs=0.004)  # a 90 % interval: 0.5 +- 0.041
    assert wide["high"] == pytest.approx(0.5 + 1.96 * 0.025, abs=0.004)
    same = cmp.paired_difference({"A": a, "B": a}, "A", "B")
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "users": 4}
    nd = cmp.paired_difference({"A": a, "B": b}, "A", "B", metric="ndcg")
    assert nd["difference"] == pytest.approx(0.25)  # (1 + 0 + 0 + 0) / 4
    # only common users are paired
    c = pd.DataFrame({"user_idx": [10, 11], "hr": [1.0, 0.0], "ndcg": [1.0, 0.0]})
    with pytest.raises(ValueError, match="different users"):
        cmp.paired_difference({"A": a, "C": c}, "A", "C")
    with pytest.raises(ValueError, match="No per-user results"):
        cmp.paired_difference({"A": a}, "A", "Z")


def test_compare_models_full_ranking_and_per_seed(split):
    comp = cmp.compare_models(
        split,
        ["Popularity", "iALS"],
        seeds=(0, 1),
        verbose=False,
        full=True,
        options={"iALS": {"iterations": 3, "embedding_dim": 8}},
    )
    res = comp.results.set_index(["model", "seed"])
    direct = evaluate(comp.models["Popularity"], split, protocol="full")
    assert res.loc[("Popularity", 0), "full hr@10"] == pytest.approx(direct.hr)
    assert res.loc[("Popularity", 1), "full ndcg@10"] == pytest.approx(direct.ndcg)
    tidy = comp.per_user_seed["iALS"]
    assert list(tidy.columns[:2]) == ["seed", "user_idx"] and len(tidy) == 2 * len(split.test)
    for seed in (0, 1):  # the per-seed hits average to that seed's HR@10, sampled and full
        one = tidy[tidy["seed"] == seed]
        assert one["hr"].mean() == pytest.approx(res.loc[("iALS", seed), "hr@10"])
        assert one["full_hr"].mean() == pytest.approx(res.loc[("iALS", seed), "full hr@10"])
    # a deterministic model's row is repeated for every seed
    pop = comp.per_user_seed["Popularity"]
    np.testing.assert_array_equal(pop[pop["seed"] == 0]["hr"].to_numpy(), pop[pop["seed"] == 1]["hr"].to_numpy())
    assert "full HR@10" in comp.table().columns and comp.protocol == "leave_last_one_out"


def test_seed_user_difference_and_round_trip(split, tmp_path):
    from ncf_helpers.data import temporal_split

    # hand-made per-seed hits: A hits every user with seed 0 and none with seed 1; B never hits
    users = split.test["user_idx"].to_numpy()[:2]
    a = pd.DataFrame(
        {"seed": [0, 0, 1, 1], "user_idx": np.tile(users, 2), "hr": [1.0, 1.0, 0.0, 0.0], "ndcg": [1.0, 0.5, 0.0, 0.0]}
    )
    b = pd.DataFrame({"seed": [0, 0, 1, 1], "user_idx": np.tile(users, 2), "hr": 0.0, "ndcg": 0.0})
    comp = cmp.Comparison(pd.DataFrame({"model": ["A"], "hr@10": [0.5]}), seeds=(0, 1), per_user_seed={"A": a, "B": b})
    d = cmp.seed_user_difference(comp, "A", "B", n_boot=4000)
    # A's drawn seeds: (0,0) -> 1, (0,1) or (1,0) -> 0.5, (1,1) -> 0; B has no spread: interval [0, 1]
    assert d["difference"] == pytest.approx(0.5) and (d["low"], d["high"]) == (0.0, 1.0)
    assert d["a"] == "A" and d["seeds_a"] == 2 and d["users"] == 2 and not d["excludes_zero"]
    with pytest.raises(ValueError, match="No per-user, per-seed"):
        cmp.seed_user_difference(comp, "A", "Z")
    with pytest.raises(ValueError, match="no per-user 'full_hr'"):
        cmp.seed_user_difference(comp, "A", "B", metric="full_hr")
    # recorded with a second split: each run found again by its own fingerprint, per-seed hits included
    live = cmp.compare_models(
        split,
        ["Popularity", "iALS"],
        seeds=(0, 1),
        verbose=False,
        full=True,
        options={"iALS": {"iterations": 3, "embedding_dim": 8}},
    )
    tsplit = temporal_split(
        split.train.assign(label=1), num_negatives=20, num_users=split.num_users, num_items=split.num_items
    )
    timed = cmp.compare_models(tsplit, ["Popularity"], seeds=(0, 1), verbose=False)
    path = cmp.save_recorded(live, split, "toy", None, path=tmp_path / "r.json", more=[(timed, tsplit, None)])
    back = cmp.find_recorded(split, "toy", ["iALS"], (0, 1), path=path)
    pd.testing.assert_frame_equal(
        back.per_user_seed["iALS"].sort_values(["seed", "user_idx"]).reset_index(drop=True),
        live.per_user_seed["iALS"].sort_values(["seed", "user_idx"]).reset_index(drop=True),
        check_dtype=False,
        atol=1e-5,
    )
    assert cmp.seed_user_difference(back, "iALS", "iALS")["difference"] == 0.0
    t = cmp.find_recorded(tsplit, "toy", ["Popularity"], (0, 1), path=path)
    assert t.protocol == "temporal" and len(t.per_user_seed["Popularity"]) == 2 * len(tsplit.test)
    assert t.results["hr@10"].iloc[0] == pytest.approx(timed.results["hr@10"].iloc[0])
    with pytest.raises(ValueError, match="same seeds"):
        cmp.save_recorded(
            live,
            split,
            "toy",
            path=tmp_path / "x.json",
            more=[(cmp.compare_models(tsplit, ["Popularity"], seeds=(0,), verbose=False), tsplit, None)],
        )


def test_paired_bootstrap_by_hand():
    from ncf_helpers.evaluate import paired_bootstrap

    # the docstring's example: only the seeds vary. A's two seeds give 1, 0.5, 0.5, 0 with probability 1/4 each
    d = paired_bootstrap([[1, 1], [0, 0]], [[0, 0]], n_boot=4000, seed=1)
    assert d["difference"] == 0.5 and (d["low"], d["high"]) == (0.0, 1.0)
    assert (d["seeds_a"], d["seeds_b"], d["users"]) == (2, 1, 2) and not d["excludes_zero"]
    # only the users vary (one seed each): per-user differences 1 and 0 -> resampled means 1, 0.5, 0.5, 0
    u = paired_bootstrap([[1, 0]], [[0, 0]], n_boot=4000, seed=1)
    assert u["difference"] == 0.5 and (u["low"], u["high"]) == (0.0, 1.0)
    # a constant difference for every user and seed: no noise, the interval is that number and excludes 0
    c = paired_bootstrap(np.full((3, 5), 0.75), np.full((2, 5), 0.25), n_boot=200)
    assert (c["difference"], c["low"], c["high"]) == (0.5, 0.5, 0.5) and c["excludes_zero"]
    # 400 users, 3 identical seeds, half the users with difference 1: ~N(0.5, 0.025) as for users alone
    a = np.tile(np.tile([1.0, 0.0], 200), (3, 1))
    wide = paired_bootstrap(a, np.zeros((3, 400)), n_boot=4000)
    assert wide["low"] == pytest.approx(0.5 - 1.96 * 0.025, abs=0.004)
    assert wide["high"] == pytest.approx(0.5 + 1.96 * 0.025, abs=0.004)
    # seed noise widens it: seed 0 hits those 200 users, seed 1 also the other 200 (mean 0.75)
    noisy = paired_bootstrap(np.stack([a[0], np.ones(400)]), np.zeros((1, 400)), n_boot=4000)
    assert noisy["difference"] == 0.75 and noisy["high"] - noisy["low"] > 0.4  # drawn seeds (0, 0) -> 0.5, (1, 1) -> 1
    with pytest.raises(ValueError, match="same users"):
        paired_bootstrap(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        paired_bootstrap([[np.nan, 1.0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap([[1.0]], [[0.0]], level=1.0)


def test_rank_table_by_hand():
    loo = pd.Series({"A": 0.8, "B": 0.7, "C": 0.6})
    timed = pd.Series({"A": 0.3, "B": 0.5, "C": 0.1})
    t = cmp.rank_table({"LOO": loo, "time": timed})
    assert list(t.index) == ["A", "B", "C"] and t["LOO"].tolist() == [1, 2, 3] and t["time"].tolist() == [2, 1, 3]
    # pairs (A,B) reversed, (A,C) and (B,C) kept: tau = (2 - 1) / 3
    assert t.attrs["tau"] == {"LOO": 1.0, "time": pytest.approx(1 / 3)}
    with pytest.raises(ValueError, match="no score for"):
        cmp.rank_table({"LOO": loo, "time": timed.drop("C")})


@pytest.mark.slow
def test_labels_comparison(synthetic):
    rsplit = random_split(synthetic, test_fraction=0.2, seed=0, threshold=3.5)
    comp = cmp.labels_comparison(
        rsplit, ["MF (dot)"], seeds=(0,), epochs=2, verbose=False, options={"MF (dot)": {"jit_compile": False}}
    )
    row = comp.results.iloc[0]
    assert row["model"] == "MF (dot)" and 0.5 < row["roc_auc"] <= 1.0 and 0.5 < row["accuracy"] <= 1.0
    assert "ROC-AUC" in comp.table().columns
    with pytest.raises(ValueError, match="random_split"):
        cmp.labels_comparison(leave_last_one_out(synthetic, num_negatives=5, threshold=3.5), ["MF (dot)"])
    with pytest.raises(ValueError, match="Keras models only"):
        cmp.labels_comparison(rsplit, ["iALS"])


# ---------------------------------------------------------------------------------------------- protocol
@pytest.fixture
def toy_curve():
    rows = []
    for model, s99, full in (("Pop", 0.62, 0.040), ("ALS", 0.77, 0.072), ("MLP", 0.61, 0.045)):
        rows += [
            {"model": model, "num_negatives": "99", "candidates": 100, "hr@10": s99},
            {"model": model, "num_negatives": "all", "candidates": 9000, "hr@10": full},
            {"model": model, "num_negatives": "1", "candidates": 2, "hr@10": 1.0},
        ]
    return pd.DataFrame(rows)


def test_sampled_vs_full_by_hand(toy_curve):
    t = cmp.sampled_vs_full(toy_curve)
    assert list(t.index) == ["ALS", "Pop", "MLP"]  # by sampled HR@10
    assert list(t["rank sampled"]) == [1, 2, 3]
    # full: ALS 0.072 > MLP 0.045 > Pop 0.040 -> Pop drops to 3rd, MLP rises to 2nd
    assert t.loc["Pop", "rank full"] == 3 and t.loc["MLP", "rank full"] == 2
    assert t.loc["ALS", "ratio"] == pytest.approx(0.072 / 0.77)
    with pytest.raises(ValueError, match="num_negatives='5'"):
        cmp.sampled_vs_full(toy_curve, sampled=5)
    with pytest.raises(ValueError, match="lacks column"):
        cmp.sampled_vs_full(toy_curve.drop(columns="hr@10"))


def test_kendall_tau_by_hand_and_brute_force():
    assert cmp.kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert cmp.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    # pairs (0,1) +, (0,2) +, (1,2) - -> (2 - 1) / 3
    assert cmp.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    # a tie in a counts 0: pairs (0,1) tie, (0,2) +, (1,2) + -> 2 / 3
    assert cmp.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    a, b = rng.random(12), rng.random(12)
    brute = np.mean([np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i in range(12) for j in range(i + 1, 12)])
    assert cmp.kendall_tau(a, b) == pytest.approx(brute)
    with pytest.raises(ValueError, match="same length"):
        cmp.kendall_tau([1, 2], [1, 2, 3])


def test_literature_table():
    lit = cmp.literature_table()
    assert list(lit.columns) == ["source", "data", "model", "hr@10", "ndcg@10", "note"]
    he = lit[lit["source"] == "He et al. 2017"].iloc[0]
    assert (he["hr@10"], he["ndcg@10"]) == (0.730, 0.447)
    rendle = lit[lit["source"] == "Rendle et al. 2020"].set_index("model")["hr@10"]
    assert rendle["MF (tuned dot product)"] == 0.729 and rendle["NeuMF"] == 0.709
    assert (lit["data"] == "ML-1M").all()
    assert lit["source"].str.startswith("Dacrema").any()


def test_registry_is_consistent():
    assert set(cmp.FAMILY) == set(cmp.MODELS)
    assert set(cmp.KERAS_INTERACTION) <= set(cmp.MODELS) and cmp.DETERMINISTIC <= set(cmp.MODELS)
    assert set(cmp.SAME_SIZE) <= set(cmp.KERAS_INTERACTION) and set(cmp.SAME_SIZE_MODELS) <= set(cmp.MODELS)
    assert all(a in cmp.MODELS and b in cmp.MODELS and a != b for a, b, _ in cmp.PLANNED_PAIRS)
    # like with like: every model of the same-size block has 32-dimensional user and item embeddings
    from ncf_helpers.models import DEFAULTS

    sizes = {
        name: {**DEFAULTS[cmp.KERAS_INTERACTION[name]], **cmp.SAME_SIZE.get(name, {})} for name in cmp.SAME_SIZE_MODELS
    }
    assert {cfg["embedding_dim"] for cfg in sizes.values()} == {32}
    assert sizes["NeuMF"]["mlp_embedding_dim"] == 32 and sizes["NeuMF"]["hidden"] == sizes["MLP"]["hidden"]
    assert sizes["MF-32"]["use_bias"] is False
    from ncf_helpers.lessons.l06_comparison.plots import FAMILY_COLORS

    assert set(cmp.FAMILY.values()) <= set(FAMILY_COLORS)


# ---------------------------------------------------------------------------------------------- figures
def test_plots(toy_results, toy_curve):
    from matplotlib.figure import Figure

    from ncf_helpers.lessons.l06_comparison import plots

    fig = plots.plot_comparison(toy_results)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["A", "B"]  # best (B) at the top = last tick
    assert fig.get_size_inches()[0] <= 9.5
    fig = plots.plot_sampled_vs_full(cmp.sampled_vs_full(toy_curve))
    assert isinstance(fig, Figure)
    ours = pd.DataFrame({"model": ["NeuMF"], "hr@10": [0.70], "hr@10_std": [0.01]})
    fig = plots.plot_literature(cmp.literature_table(), ours)
    assert len(fig.axes[0].get_yticklabels()) == 4  # 3 published numbers (Dacrema has none) + ours
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_comparison(toy_results.drop(columns="ndcg@10"))
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_sampled_vs_full(pd.DataFrame({"sampled": [0.5]}))


def test_new_plots():
    from matplotlib.figure import Figure

    from ncf_helpers.lessons.l06_comparison import plots

    d = pd.DataFrame(
        {
            "A": ["MF-32", "NeuMF"],
            "B": ["MLP", "GMF-32"],
            "difference": [0.03, 0.01],
            "low": [0.01, -0.01],
            "high": [0.05, 0.03],
        }
    )
    fig = plots.plot_differences(d)
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["MF-32 - MLP", "NeuMF - GMF-32"]
    colors = [line.get_color() for line in fig.axes[0].get_lines()[:2]]
    assert colors[0] == "black" and colors[1] != "black"  # the interval excluding 0 is drawn black
    t = pd.DataFrame(
        {"loo sampled": [0.7, 0.6], "time sampled": [0.5, 0.55], "loo full": [0.07, 0.05], "time full": [0.04, 0.06]},
        index=["A", "B"],
    )
    fig = plots.plot_splits(t, {"A": "dot product", "B": "baseline"})
    assert len(fig.axes) == 2 and [x.get_text() for x in fig.axes[0].get_yticklabels()] == ["B", "A"]
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_differences(d.drop(columns="low"))
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_splits(t.drop(columns="time full"))


# ---------------------------------------------------------------------------------------------- exercises
def test_exercise_6_1():
    assert ex.check_random_hit_rate(lambda n, k: min(1.0, k / (n + 1)))
    with pytest.raises(ExerciseIncorrect, match="99 \\+ 1 = 100"):
        ex.check_random_hit_rate(lambda n, k: k / n)
    with pytest.raises(ExerciseIncorrect, match="cannot exceed 1"):
        ex.check_random_hit_rate(lambda n, k: k / (n + 1))
    with pytest.raises(ExerciseIncomplete):
        ex.check_random_hit_rate(lambda n, k: (_ for _ in ()).throw(NotImplementedError()))


def _hr(target, negatives, n, k):
    return float(np.mean((negatives[:, :n] > target[:, None]).sum(axis=1) < k))


def test_exercise_6_2():
    assert ex.check_hr_with_negatives(_hr)
    with pytest.raises(ExerciseIncorrect, match="first n columns"):
        ex.check_hr_with_negatives(lambda t, neg, n, k: _hr(t, neg, neg.shape[1], k))
    with pytest.raises(ExerciseIncorrect, match="FEWER than k"):
        ex.check_hr_with_negatives(lambda t, neg, n, k: float(np.mean((neg[:, :n] > t[:, None]).sum(axis=1) <= k)))


def test_exercise_6_3():
    def good(results):
        return results.groupby("model")["hr@10"].agg(["mean", "std"]).sort_values("mean", ascending=False)

    assert ex.check_mean_and_spread(good)
    with pytest.raises(ExerciseIncorrect, match="ddof=1"):
        ex.check_mean_and_spread(
            lambda r: (
                r.groupby("model")["hr@10"]
                .agg(["mean", lambda x: x.std(ddof=0)])
                .set_axis(["mean", "std"], axis=1)
                .sort_values("mean", ascending=False)
            )
        )
    with pytest.raises(ExerciseIncorrect, match="best first"):
        ex.check_mean_and_spread(lambda r: good(r).sort_values("mean"))
    with pytest.raises(ExerciseIncorrect, match="must return a DataFrame"):
        ex.check_mean_and_spread(lambda r: None)


def test_exercise_6_4():
    def good(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        i, j = np.triu_indices(len(a), 1)
        return int(np.sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) < 0))

    assert ex.check_discordant_pairs(good)

    def ordered_pairs(a, b):  # counts (i, j) and (j, i)
        return 2 * good(a, b)

    with pytest.raises(ExerciseIncorrect, match="each unordered pair once"):
        ex.check_discordant_pairs(ordered_pairs)

    def ties_count(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        i, j = np.triu_indices(len(a), 1)
        return int(np.sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) <= 0))

    with pytest.raises(ExerciseIncorrect, match="tied"):
        ex.check_discordant_pairs(ties_count)
