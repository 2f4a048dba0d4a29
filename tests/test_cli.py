"The `fastai-tl` console command, run as a user runs it: a real process, its output and its exit status."
import json, subprocess
from fastai_tl.data import make_shapes

def fastai_tl(*args):
    return subprocess.run(['fastai-tl', *map(str, args)], capture_output=True, text=True, timeout=300)

def test_data_names_unreadable_files_and_leaves_them(tmp_path):
    make_shapes(tmp_path, n_per_class=5, shapes=('circle', 'square'))
    bad = tmp_path/'square'/'half.png'
    bad.write_bytes((tmp_path/'square'/'square_000.png').read_bytes()[:100])
    r = fastai_tl('data', tmp_path)
    assert r.returncode == 0, r.stderr
    assert '11 image files, 2 classes' in r.stdout
    assert '1 file(s) cannot be read' in r.stdout and str(bad) in r.stdout
    assert bad.exists()

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

def test_help_lists_the_commands():
    r = fastai_tl('--help')
    assert r.returncode == 0 and 'data' in r.stdout

def test_train_writes_model_metrics_and_plots(tmp_path):
    make_shapes(tmp_path/'data', n_per_class=8, size=48)
    r = fastai_tl('train', tmp_path/'data', '--size', 48, '--epochs', 1, '--bs', 8, '--strategy', 'head', '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path/'out').iterdir()} == {'model.pkl', 'model.json', 'model.safetensors', 'metrics.json', 'history.csv', 'predictions.csv', 'lr_find.png', 'confusion_matrix.png'}
    assert 'accuracy' in r.stdout and 'Written to' in r.stdout
    r = fastai_tl('predict', tmp_path/'out', tmp_path/'data'/'circle', tmp_path/'data'/'square'/'square_000.png', '--json')
    assert r.returncode == 0, r.stderr
    preds = json.loads(r.stdout)
    assert len(preds) == 9 and {p['prediction'] for p in preds} <= {'circle', 'square', 'triangle'}
    assert all(abs(sum(p['probabilities'].values()) - 1) < 1e-4 for p in preds)

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
    for args, expected in [(('train', tmp_path/'missing'), 'is not a folder'),
                           (('train', csv), "has no 'path' column"),
                           (('train', '--strategy', 'fast'), 'invalid choice'),
                           (('train', '--label', 'species'), 'ELPV has two tasks')]:
        r = fastai_tl(*args)
        assert r.returncode != 0
        assert expected in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_clean_is_a_dry_run_until_apply_and_undo_restores_the_tree(tmp_path):
    from fastai_tl.clean import tree_md5
    data = tmp_path/'data'
    make_shapes(data, n_per_class=12, size=48, shapes=('circle', 'square'))
    (data/'labels.csv').unlink()
    (data/'circle'/'empty.png').write_bytes(b'')
    before = tree_md5(data)
    r = fastai_tl('clean', data, '--out', tmp_path/'out', '--size', 64, '--folds', 3)
    assert r.returncode == 0, r.stderr
    assert 'Dry run: nothing was changed' in r.stdout and 'empty.png' in r.stdout
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
