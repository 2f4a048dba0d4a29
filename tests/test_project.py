"nbdev's project files: the configuration nbdev reads, the docs site's sidebar, the licence, and CI. `python tests/test_project.py` rewrites the sidebar."
import io, shutil, tomllib, yaml
from contextlib import redirect_stdout
from pathlib import Path
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.quarto import IndentDumper, nbdev_sidebar, refresh_quarto_yml

ROOT = Path(__file__).parents[1]
NBS = ROOT/'nbs'

def sidebar(nbs=NBS):
    "`nbs/sidebar.yml` as `nbdev-sidebar` writes it, with the reference chapters of `nbs/api/` in a section named Reference"
    with working_directory(ROOT), redirect_stdout(io.StringIO()) as out:
        nbdev_sidebar.__wrapped__(path=nbs, printit=True, force=True)   # `force`: pyproject sets custom_sidebar, so nbdev-docs keeps ours
    d = yaml.safe_load(out.getvalue())
    for o in d['website']['sidebar']['contents']:
        if isinstance(o, dict) and o['section'] == 'api': o['section'] = 'Reference'
    return yaml.dump(d, Dumper=IndentDumper, sort_keys=False)

def _pyproject(): return tomllib.loads((ROOT/'pyproject.toml').read_text())

def test_nbdev_reads_the_project():
    cfg = get_config(ROOT)
    assert cfg.config_file == ROOT/'pyproject.toml' and cfg.lib_name == 'fastai_tl' and cfg.nbs_path == NBS
    assert (cfg.git_url, cfg.branch) == ('https://github.com/fastai-tl/fastai_tl', 'main')
    assert (cfg.doc_host, cfg.doc_baseurl) == ('https://fastai-tl.github.io', '/fastai_tl')
    assert cfg.custom_sidebar is True, "without custom_sidebar, nbdev-docs would rewrite the sidebar and name the section `api`"

def _listed(contents):
    for o in contents:
        if isinstance(o, str): yield o
        else: yield from _listed(o['contents'])

def test_sidebar_lists_every_notebook():
    side = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    nbs = [p.relative_to(NBS).as_posix() for p in (*NBS.glob('*.ipynb'), *NBS.glob('api/*.ipynb')) if not p.name.startswith('_')]
    assert sorted(_listed(side)) == sorted(nbs), "nbs/sidebar.yml is out of date: run `python tests/test_project.py`"
    lessons = [o for o in side if isinstance(o, str)]
    assert lessons[0] == 'index.ipynb' and lessons[1:] == sorted(lessons[1:]), lessons
    if (NBS/'api').is_dir(): assert side[-1]['section'] == 'Reference'
    assert (NBS/'sidebar.yml').read_text() == sidebar(), "nbs/sidebar.yml is out of date: run `python tests/test_project.py`"

def test_quarto_files_are_nbdevs(tmp_path):
    shutil.copy(ROOT/'pyproject.toml', tmp_path); (tmp_path/'nbs').mkdir()
    with working_directory(tmp_path): refresh_quarto_yml()   # what nbdev-docs writes before it renders
    assert (NBS/'nbdev.yml').read_text() == (tmp_path/'nbs'/'nbdev.yml').read_text(), \
        "nbs/nbdev.yml differs from pyproject.toml: run `python tests/test_project.py`"
    quarto = yaml.safe_load((NBS/'_quarto.yml').read_text())
    assert quarto['metadata-files'] == ['nbdev.yml', 'sidebar.yml'] and (NBS/quarto['format']['html']['css']).exists()

def test_licence_is_apache_2():
    text, proj = (ROOT/'LICENSE').read_text(), _pyproject()['project']
    assert text.lstrip().startswith('Apache License\n                           Version 2.0, January 2004')
    assert 'END OF TERMS AND CONDITIONS' in text and 'Copyright 2026 fastai_tl contributors' in text
    assert (proj['license'], proj['license-files']) == ('Apache-2.0', ['LICENSE'])
    assert not any(c.startswith('License ::') for c in proj['classifiers']), "setuptools refuses a licence classifier beside an SPDX string"
    assert _pyproject()['build-system']['requires'] == ['setuptools>=77'], "SPDX licence strings need setuptools 77"

def test_ci_runs_the_project_script():
    test = yaml.safe_load((ROOT/'.github'/'workflows'/'test.yaml').read_text())
    assert {'push', 'pull_request'} <= set(test[True])   # YAML 1.1 reads the key `on` as True
    steps = test['jobs']['test']['steps']
    assert any(s.get('run') == 'bash .ci/run' for s in steps) and (ROOT/'.ci'/'run').exists()
    assert any(s.get('with', {}).get('python-version') == '3.11' for s in steps)
    deploy = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
    assert deploy['jobs']['deploy']['steps'][0]['uses'].startswith('answerdotai/workflows/quarto-ghp3@')

if __name__ == '__main__':
    (NBS/'sidebar.yml').write_text(sidebar())
    with working_directory(ROOT): refresh_quarto_yml()
