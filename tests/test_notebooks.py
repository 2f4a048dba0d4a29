"Every lesson is a test: each notebook in `nbs/` executes top to bottom in quick mode, one case per notebook."
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_nb

NBS = sorted((Path(__file__).parents[1]/'nbs').glob('*.ipynb'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_lesson_runs(nb):
    ok, secs = run_nb(nb)
    assert ok, f'{nb.name} failed in quick mode: the failing cell and its traceback are printed above'
