"`fastai-tl train` across processes: two CPU processes over gloo, started by `torchrun`, as on N GPUs"
import json, os, shutil, subprocess, sys
import pytest
from fastai_tl.shapes import make_shapes
from fastai_tl.predict import Predictor

TRAIN = ['--size', '48', '--epochs', '4', '--json']

def train(data, out, *args, processes=1, timeout=400):
    "Run `fastai-tl train` in `processes` processes; its metrics and stdout"
    launch = ['torchrun', '--nproc_per_node', str(processes), '--no-python'] if processes > 1 else []
    cmd = [*launch, 'fastai-tl', 'train', str(data), '--out', str(out), *TRAIN, *args]
    env = {**os.environ, 'OMP_NUM_THREADS': '1' if processes > 1 else os.environ.get('OMP_NUM_THREADS', '2')}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout), r.stdout

@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    path = tmp_path_factory.mktemp('dist')/'shapes'
    make_shapes(path, n_per_class=40, size=48)
    return path

@pytest.mark.skipif(shutil.which('torchrun') is None, reason="PyTorch's torchrun is not on the PATH")
def test_two_processes_train_one_model_as_one_process_does(shapes, tmp_path):
    one, _ = train(shapes, tmp_path/'one', '--bs', '16', '--lr', '3e-3')
    two, stdout = train(shapes, tmp_path/'two', '--bs', '8', '--lr', '3e-3', processes=2)   # 2 x 8: the same 16 images a step
    assert stdout.count('"valid_loss"') == 1   # one report, from the main process
    assert (one['processes'], two['processes']) == (1, 2)
    assert two['valid_images'] == one['valid_images'] == 30   # each process validates on the whole set
    assert abs(two['accuracy'] - one['accuracy']) <= 0.1, (one, two)
    files = sorted(p.name for p in (tmp_path/'two').iterdir())
    assert files == sorted(p.name for p in (tmp_path/'one').iterdir()), files
    records = Predictor(tmp_path/'two').predict(sorted(shapes.glob('*/*.png')))
    assert sum(r['prediction'] == r['file'].split('/')[-2] for r in records) / len(records) >= 0.6

@pytest.mark.skipif(shutil.which('torchrun') is None, reason="PyTorch's torchrun is not on the PATH")
@pytest.mark.parametrize('args', [['--strategy', 'finetune', '--lr', '1e-3'], ['--early-stop', '1']],
                         ids=['finetune', 'finder-and-early-stop'])
def test_other_paths_across_two_processes(shapes, tmp_path, args):
    m, _ = train(shapes, tmp_path/'m', '--bs', '8', *args, processes=2)
    assert m['processes'] == 2 and (tmp_path/'m'/'model.safetensors').is_file()
    assert ('--lr' in args) != (tmp_path/'m'/'lr_find.png').is_file()
    assert Predictor(tmp_path/'m').predict([next(shapes.glob('*/*.png'))])[0]['prediction'] in ('circle', 'square', 'triangle')
