"""`make run` retrains only when what the model is made of changed."""

from scripts import stack


def test_fingerprint_is_stable_and_tracks_inputs(tmp_path, monkeypatch):
    first = stack.model_fingerprint()
    assert first == stack.model_fingerprint()
    root = tmp_path / "repo"
    for entry in stack.MODEL_INPUTS:
        src = stack.ROOT / entry
        dst = root / entry
        if src.is_dir():
            import shutil

            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    monkeypatch.setattr(stack, "ROOT", root)
    assert stack.model_fingerprint() == first
    (root / "nlu" / "data" / "greet.yml").write_text((root / "nlu" / "data" / "greet.yml").read_text() + "\n")
    assert stack.model_fingerprint() != first
