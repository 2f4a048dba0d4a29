"The `fastai-tl` console command, run as a user runs it: a real process, its output and its exit status."
import json, re, subprocess, sys
import pytest
from fastai_tl.shapes import make_shapes
from fastai_tl.errors import KitError

def fastai_tl(*args, timeout=300):
    return subprocess.run(['fastai-tl', *map(str, args)], capture_output=True, text=True, timeout=timeout)

def test_data_names_unreadable_files_and_leaves_them(tmp_path):
    make_shapes(tmp_path, n_per_class=5, shapes=('circle', 'square'))
    bad = tmp_path/'square'/'half.png'
    bad.write_bytes((tmp_path/'square'/'square_000.png').read_bytes()[:100])
    r = fastai_tl('data', tmp_path)
    assert r.returncode == 0, r.stderr
    assert '11 image files, 2 classes' in r.stdout and '█' not in r.stdout   # piped: the report only, no progress bar
    assert '1 file(s) cannot be read' in r.stdout and str(bad) in r.stdout
    assert bad.exists()
    r = fastai_tl('data', tmp_path/'labels.csv')   # a CSV too, as train and clean take it
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f'{tmp_path}/labels.csv: 10 image files, 2 classes') and 'Every file opens' in r.stdout, r.stdout

def test_data_counts_an_unlabelled_test_folder(tmp_path):
    make_shapes(tmp_path/'train', n_per_class=4, shapes=('circle', 'square'))
    (tmp_path/'test').mkdir()
    for f in sorted((tmp_path/'train'/'circle').iterdir())[:3]: (tmp_path/'test'/f.name).write_bytes(f.read_bytes())   # the Kaggle layout
    from fastai_tl.tasks import describe_data
    text = describe_data(tmp_path)
    assert '11 image files' in text and '(no label)' in text, text
    row = next(l for l in text.splitlines() if l.startswith('total')).split()
    assert row[-1] == '11', text   # every file counted, the unlabelled ones too

def test_data_on_embedded_elpv():
    r = fastai_tl('data')
    assert r.returncode == 0, r.stderr
    assert '2624 image files, 2 classes' in r.stdout
    assert '300     300    L    2624' in r.stdout

def test_bad_input_ends_with_a_message_not_a_traceback(tmp_path):
    for args, expected in [(('data', tmp_path/'missing'), 'is not a folder'),
                           (('data', tmp_path), 'No images found'),
                           (('frobnicate',), 'invalid choice')]:
        r = fastai_tl(*args)
        assert r.returncode != 0
        assert expected in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_a_missing_folder_is_one_line_and_status_1(tmp_path):
    "A user's mistake: one line on stderr, no traceback, exit status 1"
    r = fastai_tl('data', tmp_path/'missing')
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith('fastai-tl data: error:') and 'is not a folder' in r.stderr, r.stderr

def test_a_bug_shows_its_traceback_and_how_to_report_it(tiny, tmp_path, monkeypatch, capsys):
    "A bug is no mistake of the user's: it is not caught, and its traceback ends with how to report it"
    import traceback, fastai_tl.tasks as tasks
    from fastai_tl.cli import main
    monkeypatch.setattr(tasks, 'image_dls', lambda *args, **kwargs: 1 / 0)   # a bug inside training
    with pytest.raises(ZeroDivisionError) as e: main(['train', str(tiny), '--out', str(tmp_path/'out')])
    assert 'error:' not in capsys.readouterr().err   # not shown as the user's mistake
    report = ''.join(traceback.format_exception(e.value)).rstrip().splitlines()[-1]
    assert report.startswith('fastai-tl train: this is a bug'), report
    assert all(w in report for w in ('https://github.com/fastai-tl/fastai_tl/issues', 'command line', '--version')), report
    code = ("import fastai_tl.tasks as tasks\nfrom fastai_tl.cli import main\n"
            "tasks.image_dls = lambda *args, **kwargs: 1 / 0\n"
            f"main(['train', {str(tiny)!r}, '--out', {str(tmp_path/'out')!r}])")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)   # as a console shows it
    lines = r.stderr.rstrip().splitlines()
    assert r.returncode == 1 and 'Traceback' in r.stderr and 'ZeroDivisionError' in lines[-2], r.stderr
    assert lines[-1].startswith('fastai-tl train: this is a bug') and 'fastai_tl/issues' in lines[-1], r.stderr

def test_help_lists_the_commands():
    r = fastai_tl('--help')
    assert r.returncode == 0 and re.findall(r'^ {4}(\w+)\s', r.stdout, re.M) == ['data', 'train', 'clean', 'predict', 'quantize', 'serve'], r.stdout

def test_the_command_line_is_parsed_before_fastai_is_imported():
    "--help and a bad option answer at once: the seconds of importing fastai and torch come after parsing"
    code = ("import sys\nfrom fastai_tl.cli import main\n"
            "try: main(['train', '--epochs', '0'])\nexcept SystemExit as e: print(e.code, 'torch' in sys.modules, 'fastai' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ['2', 'False', 'False'], (r.stdout, r.stderr)
    from fastai_tl.models import embedded_backbones
    r = fastai_tl('train', '--help')
    assert all(name in r.stdout for name in embedded_backbones), r.stdout   # the help names every embedded backbone

def test_training_does_not_import_the_web_service():
    "`train` saves the model with fastai_tl.export: FastAPI and uvicorn are for `serve` only"
    code = "import sys, fastai_tl.tasks; print(sorted({'fastapi', 'uvicorn'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == '[]', (r.stdout, r.stderr)

def test_train_writes_model_metrics_and_plots(tmp_path):
    make_shapes(tmp_path/'data', n_per_class=8, size=48)
    (tmp_path/'data'/'triangle'/'broken.png').write_bytes(b'\x89PNG not really')
    r = fastai_tl('train', tmp_path/'data', '--size', 48, '--epochs', 1, '--bs', 8, '--strategy', 'head', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    assert f"fastai-tl train: warning: Skipped 1 file(s) that cannot be read as images (left in place): {tmp_path/'data'/'triangle'/'broken.png'}" in r.stderr
    assert 'warnings.warn' not in r.stderr, r.stderr   # one line per warning, without Python's source line
    assert {p.name for p in (tmp_path/'out').iterdir()} == {'model.pkl', 'model.json', 'model.safetensors', 'metrics.json', 'history.csv', 'predictions.csv', 'lr_find.png', 'confusion_matrix.png', 'calibration'}
    assert 'accuracy' in r.stdout and 'Written to' in r.stdout
    assert r.stdout.startswith('epoch') and '█' not in r.stdout and '\r' not in r.stdout, r.stdout[:100]   # piped: no progress bar
    r = fastai_tl('predict', tmp_path/'out', tmp_path/'data'/'circle', tmp_path/'data'/'square'/'square_000.png', '--json')
    assert r.returncode == 0, r.stderr
    preds = json.loads(r.stdout)
    assert len(preds) == 9 and {p['prediction'] for p in preds} <= {'circle', 'square', 'triangle'}
    assert all(abs(sum(p['probabilities'].values()) - 1) < 1e-4 for p in preds)
    (tmp_path/'notes.txt').write_text('not an image')
    r = fastai_tl('predict', tmp_path/'out', tmp_path/'data'/'circle', tmp_path/'notes.txt')
    assert r.returncode == 1 and 'notes.txt' in r.stdout and 'circle_007.png' in r.stdout, (r.stdout, r.stderr)   # every row printed
    assert 'fastai-tl predict: 1 of 9 files could not be predicted' in r.stderr, r.stderr

def test_quantize_writes_an_int8_model_that_predict_runs(tmp_path):
    make_shapes(tmp_path/'data', n_per_class=16, size=64)
    r = fastai_tl('train', tmp_path/'data', '--size', 48, '--epochs', 4, '--bs', 8, '--strategy', 'finetune', '--lr', '3e-3', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    r = fastai_tl('quantize', tmp_path/'out', '--min-agree', '0.8', '--json')   # the default check is tested in test_quantize.py
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert facts['held_out_images'] == 12 and facts['calibration_images'] == 36 and facts['int8_mb'] < facts['fp32_mb'] / 3, facts
    r = fastai_tl('predict', tmp_path/'out', tmp_path/'data'/'circle', '--runtime', 'int8', '--json')
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 16, r.stderr
    r = fastai_tl('quantize', tmp_path/'data')
    assert r.returncode == 1 and 'has no predictions.csv (fastai-tl train writes it): pass held-out images with --check' in r.stderr, r.stderr

def test_predict_refuses_a_pickle_and_reports_bad_files(tmp_path):
    import pickle
    marker = tmp_path/'pwned'
    class Payload:
        def __reduce__(self): return (open, (str(marker), 'w'))
    (tmp_path/'model').mkdir()
    (tmp_path/'model'/'model.pkl').write_bytes(pickle.dumps(Payload()))
    r = fastai_tl('predict', tmp_path/'model', tmp_path)
    assert r.returncode != 0 and 'Traceback' not in r.stderr and 'pickle' in r.stderr.lower(), r.stderr
    assert not marker.exists()
    r = fastai_tl('predict', tmp_path/'no_model', tmp_path)
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr

def test_train_bad_input_ends_with_a_message(tmp_path):
    csv = tmp_path/'labels.csv'
    csv.write_text('file,label\na.png,cat\n')
    make_shapes(tmp_path/'small', n_per_class=4, size=32)   # 9 training images, fewer than one batch of 32
    make_shapes(tmp_path/'single', n_per_class=1, size=32)
    for args, expected in [(('train', tmp_path/'missing'), 'is not a folder'),
                           (('train', csv), "has no 'path' column"),
                           (('train', '--strategy', 'fast'), 'invalid choice'),
                           (('train', '--label', 'species'), 'ELPV has two tasks'),
                           (('train', tmp_path/'small', '--size', 32, '--epochs', 1, '--strategy', 'head', '--out', tmp_path/'out'),
                            'The training set has 9 images, fewer than the batch size 32'),
                           (('train', tmp_path/'single', '--size', 32, '--bs', 2, '--out', tmp_path/'out'), 'has 1 image(s)')]:   # not scikit-learn's message
        r = fastai_tl(*args)
        assert r.returncode != 0
        assert expected in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_clean_is_a_dry_run_until_apply_and_undo_restores_the_tree(tmp_path):
    from fastai_tl.fix import tree_md5
    data = tmp_path/'data'
    make_shapes(data, n_per_class=12, size=48, shapes=('circle', 'square'))
    (data/'labels.csv').unlink()
    (data/'circle'/'empty.png').write_bytes(b'')
    before = tree_md5(data)
    r = fastai_tl('clean', data, '--out', tmp_path/'out', '--size', 64, '--folds', 3)
    assert r.returncode == 0, r.stderr
    assert 'Dry run: nothing was changed' in r.stdout and 'empty.png' in r.stdout
    assert '█' not in r.stdout and '\r' not in r.stdout, r.stdout[:100]   # piped: no progress bar
    assert tree_md5(data) == before and {'report.csv', 'report.html'} <= {p.name for p in (tmp_path/'out').iterdir()}
    r = fastai_tl('clean', data, '--out', tmp_path/'out', '--report', tmp_path/'out'/'report.csv', '--apply')
    assert r.returncode == 0, r.stderr
    assert not (data/'circle'/'empty.png').exists() and tree_md5(data) != before
    r = fastai_tl('clean', '--undo', tmp_path/'out'/'manifest.json', '--apply')
    assert r.returncode == 0, r.stderr
    assert tree_md5(data) == before

def test_clean_bad_input_ends_with_a_message(tmp_path):
    for args, expected in [(('clean', tmp_path/'missing'), 'is not a folder'),
                           (('clean', '--undo', tmp_path/'none.json', '--apply'), 'none.json'),
                           (('clean', '--apply'), 'read-only')]:
        r = fastai_tl(*args)
        assert r.returncode != 0
        assert expected in r.stderr and 'Traceback' not in r.stderr, r.stderr

def exit_of(argv):
    "The exit status (or message) of `fastai-tl argv`, run in this process"
    from fastai_tl.cli import main
    with pytest.raises(SystemExit) as e: main(list(map(str, argv)))
    return e.value.code

def test_numbers_are_checked_before_anything_runs(tmp_path, capsys):
    for args, words in [(('predict', tmp_path, tmp_path, '--bs', '-1'), "argument --bs: '-1' is not a whole number of at least 1"),
                        (('predict', tmp_path, tmp_path, '--bs', '0'), "argument --bs: '0' is not a whole number of at least 1"),
                        (('train', tmp_path/'missing', '--epochs', '0'), "argument --epochs: '0' is not a whole number of at least 1"),
                        (('train', tmp_path/'missing', '--bs', 'eight'), "argument --bs: 'eight' is not a whole number of at least 1"),
                        (('train', tmp_path/'missing', '--valid-pct', '1.5'), "argument --valid-pct: '1.5' is not a number between 0 and 1"),
                        (('train', tmp_path/'missing', '--lr', '-0.01'), "argument --lr: '-0.01' is not a number above 0"),
                        (('clean', tmp_path/'missing', '--folds', '1'), "argument --folds: '1' is not a whole number of at least 2"),
                        (('serve', tmp_path, '--port', '70000'), "argument --port: '70000' is not a whole number from 1 to 65535"),
                        (('serve', tmp_path, '--max-files', '0'), "argument --max-files: '0' is not a whole number of at least 1"),
                        (('serve', tmp_path, '--max-mb', 'nan'), "argument --max-mb: 'nan' is not a number above 0"),
                        (('serve', tmp_path, '--timeout-head', '0'), "argument --timeout-head: '0' is not a number above 0"),
                        (('serve', tmp_path, '--max-connections', '0'), "argument --max-connections: '0' is not a whole number of at least 1")]:
        assert exit_of(args) == 2, args   # argparse's status for a bad command line
        assert words in capsys.readouterr().err, args

def _copy(model, folder, **changes):
    folder.mkdir()
    (folder/'model.safetensors').write_bytes((model/'model.safetensors').read_bytes())
    (folder/'model.json').write_text(json.dumps({**json.loads((model/'model.json').read_text()), **changes}))
    return folder

def test_predict_command_prints_a_table_or_json(model, shapes, tmp_path):
    "One predict path: the text `fastai-tl predict` prints, from Predictor's records"
    from fastai_tl.cli import predict_command
    (tmp_path/'text.png').write_text('not an image')
    out, failed = predict_command(model, [shapes/'circle', tmp_path/'text.png'])
    lines = out.splitlines()
    assert lines[0].split() == ['file', 'prediction', 'circle', 'square', 'triangle', 'error'] and len(lines) == 1 + 10 + 1
    assert 'circle_003.png' in out and 'is not a JPEG' in lines[-1] and failed.startswith('1 of 11 files could not be predicted')
    out, failed = predict_command(model, [shapes/'square'/'square_000.png'], as_json=True, tta=True)
    records = json.loads(out)
    assert failed is None and records[0]['file'].endswith('square_000.png') and set(records[0]['probabilities']) == {'circle', 'square', 'triangle'}
    out, failed = predict_command(model, [tmp_path/'nothing_here'])
    assert 'No such file' in out and failed   # a missing path is an error row, not a crash
    (tmp_path/'none').mkdir()
    with pytest.raises(KitError, match='No images found in'): predict_command(model, [tmp_path/'none'])

def test_a_damaged_model_ends_with_a_message_not_a_traceback(model, shapes, tmp_path):
    cut = _copy(model, tmp_path/'cut')
    (cut/'model.safetensors').write_bytes((model/'model.safetensors').read_bytes()[:200_000])
    for args in (('predict', cut, shapes/'circle'), ('serve', cut, '--port', 1)):
        r = fastai_tl(*args, timeout=120)
        assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
        assert r.stderr.startswith(f'fastai-tl {args[0]}: error: {cut}/model.safetensors is damaged'), r.stderr
        assert 'learn.export_safe' in r.stderr

def test_serve_on_a_taken_port_says_so_before_serving(model):
    import socket
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0)); taken.listen()
        port = taken.getsockname()[1]
        r = fastai_tl('serve', model, '--port', port, timeout=120)
    assert r.returncode == 1 and 'Serving' not in r.stdout, (r.stdout, r.stderr)
    assert r.stderr.startswith(f'fastai-tl serve: error: Cannot serve on 127.0.0.1:{port}: Address already in use'), r.stderr

def test_a_model_json_with_wrong_fields_ends_with_a_message(model, shapes, tmp_path):
    for name, changes, words in [('short', dict(classes=['circle', 'square']), 'classes must be 3 different names'),
                                 ('unknown', dict(problem='multi-class'), 'problem must be one of'),
                                 ('string', dict(size='48'), 'size must be two whole numbers')]:
        folder = _copy(model, tmp_path/name, **changes)
        assert exit_of(['predict', folder, shapes/'circle']).startswith(f'fastai-tl predict: error: {folder}/model.json: {words}')

def test_pos_class_needs_two_classes(shapes, tmp_path):
    msg = exit_of(['train', shapes, '--pos-class', 'circle', '--size', 48, '--epochs', 1, '--bs', 4, '--strategy', 'head', '--out', tmp_path/'out'])
    assert msg.startswith('fastai-tl train: error:') and 'is for a binary problem' in msg, msg
    assert not (tmp_path/'out').exists()

def test_a_missing_column_is_named_without_extra_quotes(tmp_path):
    (tmp_path/'labels.csv').write_text('path,label\na.png,cat\n')
    assert exit_of(['train', tmp_path/'labels.csv', '--label', 'species']).startswith("fastai-tl train: error: No label column 'species'; the columns are: path, label")

def test_elpv_trains_at_lesson_05s_rate_without_the_finder(tmp_path, monkeypatch):
    "On both ELPV tasks the default learning rate is 3e-3, with no finder (other data runs the finder: nbs/api/10_tasks.ipynb)"
    import fastai_tl.tasks as tasks
    from fastai_tl.data import elpv_df, split_df
    small = split_df(elpv_df().groupby('grade').head(8), valid_pct=0.25, stratify=['grade'], seed=0)   # a few real cells of each grade: seconds, not minutes
    monkeypatch.setattr(tasks, 'elpv_split', lambda label, valid_pct, seed: small)
    for label in ('label', 'grade'):
        m = tasks.train(label=label, size=64, epochs=1, bs=8, strategy='head', out=tmp_path/label)
        assert m['lr'] == 3e-3 and not (tmp_path/label/'lr_find.png').exists(), label

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "Three classes of eight generated 32-pixel shapes: smaller than every backbone's input"
    data = tmp_path_factory.mktemp('tiny')/'data'
    make_shapes(data, n_per_class=8, size=32)
    return data

def test_train_refuses_to_export_a_diverged_model(tiny, tmp_path):
    "issue 24: `--lr 1e8` ended with exit 0, valid_loss NaN and a model that predicts nothing useful"
    r = fastai_tl('train', tiny, '--size', 32, '--epochs', 2, '--bs', 8, '--strategy', 'head', '--lr', '1e8', '--out', tmp_path/'out')
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.startswith('fastai-tl train: error: Training diverged') and 'lower --lr' in r.stderr, r.stderr
    assert not any((tmp_path/'out'/f).exists() for f in ('model.safetensors', 'model.pkl', 'metrics.json')), list((tmp_path/'out').iterdir())

def test_size_is_bounded(tmp_path, capsys):
    "issue 24: --size 1 ended in fastai's ZeroDivisionError, --size 100000 was killed at 23.5 GB"
    for size in ('1', '31', '2049', '100000'):
        for command in ('train', 'clean'):
            assert exit_of([command, tmp_path, '--size', size]) == 2, (command, size)
            assert f"argument --size: '{size}' is not a whole number from 32 to 2048" in capsys.readouterr().err

def test_train_refuses_an_out_folder_inside_the_data(tiny):
    "issue 24: `train DATA --out DATA/model` wrote plots that the next run read as a class `model`"
    for out in (tiny/'model', tiny/'circle'/'model', tiny):
        msg = exit_of(['train', tiny, '--out', out, '--size', 32, '--epochs', 1, '--bs', 8, '--strategy', 'head', '--lr', '1e-3'])
        assert msg == f'fastai-tl train: error: --out {out} is inside the data folder {tiny}: its plots would be read as images. Choose a folder outside it', msg
    assert sorted(p.name for p in tiny.iterdir()) == ['circle', 'labels.csv', 'square', 'triangle']

def test_version():
    from importlib.metadata import version
    r = fastai_tl('--version')
    assert r.returncode == 0 and r.stdout.startswith(f"fastai-tl {version('fastai_tl')} (fastai {version('fastai')}, torch {version('torch')}, Python 3."), r.stdout

def test_train_options_and_the_backbones_size(tmp_path):
    "issue 21: 32-pixel images train at Lite0's 224 pixels by default; --early-stop, --class-weights, --workers, --device and --json"
    import pandas as pd, torch
    from fastai.learner import load_learner
    make_shapes(tmp_path/'data', n_per_class=8, size=32)
    for f in sorted((tmp_path/'data'/'circle').iterdir())[:4]: f.unlink()   # 4 circles, 8 squares, 8 triangles
    r = fastai_tl('train', tmp_path/'data', '--epochs', 3, '--bs', 4, '--strategy', 'head', '--lr', '3e-2', '--early-stop', 1, '--class-weights', 'balanced',
                  '--workers', 0, '--device', 'cpu', '--json', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)   # the JSON only: the table of epochs went to stderr
    assert 'valid_loss' in r.stderr and m['out'] == str(tmp_path/'out')
    assert (m['size'], m['device'], json.loads((tmp_path/'out'/'model.json').read_text())['size']) == (224, 'cpu', [224, 224])
    history = pd.read_csv(tmp_path/'out'/'history.csv')
    assert (m['kept_epoch'], m['valid_loss'], m['epochs_trained']) == (history.valid_loss.idxmin(), history.valid_loss.min(), len(history))
    valid = pd.read_csv(tmp_path/'out'/'predictions.csv').actual.value_counts()
    train = pd.Series(dict(circle=4, square=8, triangle=8)) - valid
    assert m['class_weights'] == pytest.approx((train.sum() / (3 * train)).to_dict()), (m['class_weights'], train)   # balanced: n / (classes × count)
    learn = load_learner(tmp_path/'out'/'model.pkl')
    assert torch.allclose(learn.loss_func.func.weight, torch.tensor(list(m['class_weights'].values())))

def test_device_and_workers_reach_the_data_loaders(tiny, tmp_path, monkeypatch):
    import fastai_tl.tasks as tasks
    seen = {}
    def image_dls(*args, **kwargs):
        seen.update(kwargs)
        raise KitError('stop here')
    monkeypatch.setattr(tasks, 'image_dls', image_dls)
    assert exit_of(['train', tiny, '--workers', 0, '--device', 'cpu', '--out', tmp_path/'out']) == 'fastai-tl train: error: stop here'
    assert (seen['num_workers'], str(seen['device'])) == (0, 'cpu')

def test_device_and_class_weights_are_checked(tiny, tmp_path):
    for args, msg in [(('--device', 'tpu'), "Unknown device 'tpu': use cpu, cuda, cuda:N (the N-th GPU) or mps"),
                      (('--device', 'cuda:99'), "device='cuda:99': this machine has"),
                      (('--class-weights', '1,2'), 'give 3 positive numbers, one per class in this order: circle, square, triangle')]:
        assert msg in exit_of(['train', tiny, *args, '--size', 32, '--bs', 4, '--out', tmp_path/'out']), args
    assert exit_of(['train', tiny, '--class-weights', '1,-2']) == 2 and exit_of(['train', tiny, '--workers', '-1']) == 2
    assert 'Unknown device' in exit_of(['clean', tiny, '--device', 'tpu', '--out', tmp_path/'clean'])   # reaches the features

def test_json_on_data_and_clean(tiny, tmp_path, capsys):
    r = fastai_tl('data', tiny, '--json')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == dict(data=str(tiny), images=24, classes=3, counts={c: {'images': 8} for c in ('circle', 'square', 'triangle')},
                                        sizes=[dict(width=32, height=32, mode='RGB', images=24)], unreadable=[])
    from fastai_tl.fix import tree_md5
    data = tmp_path/'data'
    make_shapes(data, n_per_class=2, size=32)
    (data/'circle'/'empty.png').write_bytes(b'')
    before = tree_md5(data)
    pd_report = f"path,kind,action,suggested\n{data/'circle'/'empty.png'},zero-byte,quarantine,\n"
    (tmp_path/'report.csv').write_text(pd_report)   # a report as save_report writes it, cut to one row: no checks to run
    out = tmp_path/'clean'
    def clean(*args):
        from fastai_tl.cli import main
        main(list(map(str, ['clean', data, '--json', '--out', out, *args])))
        return json.loads(capsys.readouterr().out)   # stdout holds the JSON only
    facts = clean('--report', tmp_path/'report.csv')
    assert facts['applied'] is False and facts['next'] == f"fastai-tl clean {data} --out {out} --report {tmp_path/'report.csv'} --apply", facts
    assert facts['actions'] == [dict(action='quarantine', src=str(data/'circle'/'empty.png'), dst=str(out/'quarantine'/'circle'/'empty.png'))]
    facts = clean('--report', tmp_path/'report.csv', '--apply')
    assert facts['applied'] is True and not (data/'circle'/'empty.png').exists()
    facts = clean('--undo', out/'manifest.json', '--apply')
    assert facts['restored'] == [dict(src=str(out/'quarantine'/'circle'/'empty.png'), dst=str(data/'circle'/'empty.png'))]
    assert tree_md5(data) == before

def test_serve_passes_its_limits_on(tmp_path, monkeypatch):
    "The service's timeouts and connection limit (issue 24), from the command line to `serve`"
    import fastai_tl.serve
    seen = {}
    monkeypatch.setattr(fastai_tl.serve, 'serve', lambda *args, **kwargs: seen.update(kwargs))
    from fastai_tl.cli import main
    main(['serve', str(tmp_path), '--timeout-head', '2.5', '--timeout-body', '7', '--max-connections', '20'])
    assert {k: seen[k] for k in ('timeout_head', 'timeout_body', 'max_connections')} == dict(timeout_head=2.5, timeout_body=7., max_connections=20)
