"Every lesson is a test: each notebook in `nbs/` executes top to bottom in quick mode, one case per notebook."
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from lesson_times import run_lesson   # the one way to run a lesson, as bench/lesson_times.py times it

NBS = sorted((ROOT/'nbs').glob('*.ipynb')) + sorted((ROOT/'nbs'/'api').glob('*.ipynb'))   # the lessons, then the reference chapters

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs').with_suffix('')) for p in NBS])
def test_lesson_runs(nb):
    "A fresh process per lesson, as a learner's kernel is: no state, threads or memory carried over from the lesson before"
    r = run_lesson(nb, quick=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, f'{nb.name} failed in quick mode:\n{r.stderr[-6000:]}'
