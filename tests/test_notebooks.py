"Every lesson is a test: each notebook in `nbs/` executes top to bottom in quick mode, one case per notebook."
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).parents[1]
NBS = sorted((ROOT/'nbs').glob('*.ipynb')) + sorted((ROOT/'nbs'/'api').glob('*.ipynb'))   # the lessons, then the reference chapters
RUN = ("import sys; from nbdev.test import test_nb; from nbdev.config import get_config; from pathlib import Path; "
       "sys.exit(0 if test_nb(sys.argv[1], skip_flags=get_config(Path(sys.argv[1]).parent).tst_flags.split(), cell_timing_min=10)[0] else 1)")   # as nbdev-test: `#| notest` cells skipped

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs').with_suffix('')) for p in NBS])
def test_lesson_runs(nb):
    "A fresh process per lesson, as a learner's kernel is: no state, threads or memory carried over from the lesson before"
    r = subprocess.run([sys.executable, '-c', RUN, str(nb)], capture_output=True, text=True, env={**os.environ, 'FASTAI_TL_QUICK': '1'}, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, f'{nb.name} failed in quick mode:\n{r.stderr[-6000:]}'
