"The package, the README and the notebooks must agree: one source, two products."
import importlib.util, json, shutil, subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]

def _copy_project(dst):
    shutil.copy(ROOT/'pyproject.toml', dst)
    skip = shutil.ignore_patterns('__pycache__', '_data', 'models', '.ipynb_checkpoints')
    for d in ('nbs', 'fastai_tl'): shutil.copytree(ROOT/d, dst/d, ignore=skip)
    return dst

def _files(d, pattern): return {p.relative_to(d): p.read_bytes() for p in sorted(d.rglob(pattern))}

def test_export_leaves_package_unchanged(tmp_path):
    proj = _copy_project(tmp_path)
    for f in (proj/'fastai_tl').glob('*.py'): f.unlink()
    subprocess.run(['nbdev-export'], cwd=proj, check=True)
    assert _files(proj/'fastai_tl', '*.py') == _files(ROOT/'fastai_tl', '*.py'), \
        "fastai_tl/ differs from what the notebooks export: run `nbdev-export` and commit"

def test_notebooks_are_clean(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run(['nbdev-clean'], cwd=proj, check=True)
    assert _files(proj/'nbs', '*.ipynb') == _files(ROOT/'nbs', '*.ipynb'), \
        "some notebooks are not clean: run `nbdev-clean` and commit"

def render_readme(index=ROOT/'nbs'/'index.ipynb'):
    "README.md as rendered from `nbs/index.ipynb` (nbconvert's markdown, since quarto cannot be installed offline)"
    return subprocess.run(['jupyter', 'nbconvert', '--to', 'markdown', '--stdout', str(index)],
                          check=True, capture_output=True, text=True).stdout

def test_readme_is_rendered_from_index():
    assert (ROOT/'README.md').read_text() == render_readme(), \
        "README.md is out of date: run `python tests/test_sync.py`, which renders it from nbs/index.ipynb"

def _report():
    spec = importlib.util.spec_from_file_location('report', ROOT/'bench'/'report.py')
    report = importlib.util.module_from_spec(spec); spec.loader.exec_module(report)
    return report

def test_readme_results_come_from_the_benchmarks():
    assert _report().results_markdown() in (ROOT/'README.md').read_text(), \
        "README's results differ from bench/results/*.json: run `python bench/report.py`"

def test_workshop_times_come_from_the_benchmarks():
    report = _report()
    nb = json.loads((ROOT/'nbs'/'workshops.ipynb').read_text())
    table = next(''.join(c['source']) for c in nb['cells'] if report.WORKSHOP_TABLE in ''.join(c['source']))
    assert table.count('.ipynb)') >= 10 and report.workshop_times(table) == table, \
        "the workshop time table differs from bench/results/lesson_times.json: run `python bench/report.py`"

if __name__ == '__main__': (ROOT/'README.md').write_text(render_readme())
