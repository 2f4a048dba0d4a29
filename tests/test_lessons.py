"Every numbered lesson has the shape of ../shared/LESSONS.md: Colab's install line first, a badge, visible imports, the budget."
import ast, builtins, importlib, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).parents[1]
LESSONS = sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))
BUDGET_TOOL = ROOT.parent/'shared'/'tools'/'lesson_stats.py'

def cells(nb, kind='code'): return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == kind]
def is_hidden(src): return bool(re.search(r'^#\|\s*hide\b', src, re.M)) and not re.search(r'^#\|\s*export', src, re.M)

def colab_line():
    "The README's Colab install line, without its leading `!`"
    lines = re.findall(r'^!(pip install .*fastai_tl.*)$', (ROOT/'README.md').read_text(), re.M)
    assert len(lines) == 1, f'the README should have one Colab install line, found {lines}'
    return lines[0]

def install_cell(nb):
    "The first cell a lesson needs: the README's line, with the extras the lesson uses, run only where /content exists"
    extras = '[onnx]' if any(re.search('onnx|int8|quantize', s) for s in cells(nb)[1:]) else ''
    return '#| hide\n! [ -e /content ] && ' + colab_line().replace('"fastai_tl @', f'"fastai_tl{extras} @')

@pytest.mark.parametrize('nb', LESSONS, ids=[p.stem for p in LESSONS])
def test_first_cell_installs_in_colab(nb):
    assert cells(nb)[0] == install_cell(nb)

@pytest.mark.parametrize('nb', LESSONS, ids=[p.stem for p in LESSONS])
def test_title_has_colab_badge(nb):
    badge = f'(https://colab.research.google.com/github/fastai-tl/fastai_tl/blob/main/nbs/{nb.name})'
    title = next(s for s in cells(nb, 'markdown') if s.startswith('# '))
    assert 'colab-badge.svg' in title and badge in title

_star = {}
def star_names(mod):
    "The names `from mod import *` binds"
    if mod not in _star:
        m = importlib.import_module(mod)
        _star[mod] = set(getattr(m, '__all__', [n for n in dir(m) if not n.startswith('_')]))
    return _star[mod]

def parse(src):
    "The cell as Python, without IPython's `!` and `%` lines"
    return ast.parse('\n'.join('' if l.lstrip().startswith(('!', '%')) else l for l in src.splitlines()))

def bound(tree):
    "Names a cell defines, assigns or imports"
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)): names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name)
        elif isinstance(n, ast.arg): names.add(n.arg)
        elif isinstance(n, ast.ExceptHandler) and n.name: names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                if a.name == '*': names |= star_names(n.module)
                else: names.add((a.asname or a.name).split('.')[0])
    return names

def used(tree): return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

@pytest.mark.parametrize('nb', LESSONS, ids=[p.stem for p in LESSONS])
def test_visible_cells_import_what_they_use(nb):
    "Code copied from the rendered page runs: no name that a visible cell uses comes from a hidden cell"
    trees = [(is_hidden(s), parse(s)) for s in cells(nb)]
    visible_bound = set().union(*(bound(t) for h, t in trees if not h))
    visible_used = set().union(*(used(t) for h, t in trees if not h))
    hidden_defs = set().union(*(bound(t) for h, t in trees if h))
    known = visible_bound | set(dir(builtins)) | {'get_ipython', 'display'}
    missing = sorted(visible_used - known)
    assert not missing, f'{nb.name}: visible cells use {missing}, which no visible cell defines or imports'
    hidden = sorted(hidden_defs & visible_used - visible_bound)
    assert not hidden, f'{nb.name}: visible cells use {hidden}, which only a hidden cell defines or imports'

@pytest.mark.skipif(not BUDGET_TOOL.exists(), reason='../shared/tools/lesson_stats.py is not beside this clone')
def test_lessons_within_budget():
    r = subprocess.run([sys.executable, str(BUDGET_TOOL), '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

def test_lesson_05_trains_the_fastai_way_visibly():
    "ML101's two stages in visible cells of lesson 05, then a table that compares them with the kit's cached stages"
    visible = '\n'.join(s for s in cells(ROOT/'nbs'/'05_learner.ipynb') if not is_hidden(s) and not s.startswith('#| export'))
    for call in ('vision_learner(', '.lr_find(', '.unfreeze()', '.fit_one_cycle(', 'lr_max=slice(', '.plot_loss()',
                 '.show_results(', '.cached_learner(', 'pd.DataFrame'):
        assert call in visible, f'lesson 05 has no visible {call}'
