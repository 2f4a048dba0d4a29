"Cleaning on bad input: empty and broken folders, manifests that are missing, used up or contradicted by the disk, and apply/undo checked byte for byte."
import io, builtins, contextlib, json, shutil
from pathlib import Path
import pandas as pd
import pytest
from PIL import Image
from cleanvision import Imagelab
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls, elpv_df
from fastai_tl.learner import cnn_learner
from fastai_tl.clean import clean_report, screen_files, run_imagelab, near_duplicate_sets, plant_problems
from fastai_tl.fix import quarantine, relabel, undo, read_manifest, tree_md5, image_cleaner, apply_cleaner
from fastai_tl.cli import clean_command
from fastai_tl.errors import KitError

def _broken_folder(path):
    "A class folder holding only files that do not open: empty, text, and a PNG cut short"
    (path/'cat').mkdir(parents=True)
    (path/'cat'/'empty.png').write_bytes(b'')
    (path/'cat'/'notes.jpg').write_text('not an image')
    buf = io.BytesIO(); Image.new('RGB', (64, 64), 'red').save(buf, 'PNG')
    (path/'cat'/'half.png').write_bytes(buf.getvalue()[:60])
    return path

def _shapes(path, n=8):
    make_shapes(path, n_per_class=n, size=32, shapes=('circle', 'square'))
    (path/'labels.csv').unlink()
    return path

def test_empty_folder_is_an_error_that_says_so(tmp_path):
    with pytest.raises(ValueError, match='No images found'): clean_report(tmp_path)
    with pytest.raises(ValueError, match='No images found'): clean_command(tmp_path, out=tmp_path.parent/'out')

def test_folder_of_only_broken_files_is_reported_not_fatal(tmp_path):
    rep = clean_report(_broken_folder(tmp_path/'data'))
    assert dict(zip(rep.path.map(lambda p: p.split('/')[-1]), rep.kind.astype(str))) == {
        'empty.png': 'zero-byte', 'notes.jpg': 'unreadable', 'half.png': 'truncated'}
    assert (rep.action == 'quarantine').all()

def test_screening_keeps_cleanvision_from_dying_on_broken_files(tmp_path):
    data = _broken_folder(tmp_path/'data')
    for i in range(3): Image.new('RGB', (64, 64), (60*i, 0, 0)).save(data/'cat'/f'ok{i}.png')
    files = sorted(map(str, (data/'cat').iterdir()))
    good = [f for f in files if Path(f).name.startswith('ok')]
    for bad in ('empty.png', 'notes.jpg', 'half.png'):   # each one alone stops cleanvision (0.3.7): why the kit screens first
        with contextlib.redirect_stderr(io.StringIO()), pytest.raises(OSError, match='cannot identify|truncated'):
            Imagelab(filepaths=good + [str(data/'cat'/bad)], verbose=False).find_issues(verbose=False)
    screen = screen_files(files)
    lab = run_imagelab(screen.path[screen.problem.isna()])
    assert len(lab.issues) == 3
    rep = clean_report(data)   # one class: no label check, and no crash
    assert set(rep.kind.astype(str)) >= {'zero-byte', 'unreadable', 'truncated'}

def test_missing_file_in_a_csv_is_a_finding(tmp_path):
    data = _shapes(tmp_path/'data')
    csv = tmp_path/'labels.csv'
    pd.DataFrame({'path': [str(p) for p in sorted(data.rglob('*.png'))] + [str(data/'gone.png')],
                  'label': [p.parent.name for p in sorted(data.rglob('*.png'))] + ['circle']}).to_csv(csv, index=False)
    rep = clean_report(csv, size=32)
    missing = rep[rep.kind == 'missing']
    assert list(missing.path) == [str(data/'gone.png')] and list(missing.action) == ['none']

def test_undo_without_a_manifest_or_twice_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match='No manifest'): undo(tmp_path/'manifest.json')
    (tmp_path/'bad.json').write_text('{not json')
    with pytest.raises(ValueError, match='is not JSON'): undo(tmp_path/'bad.json')
    data = _shapes(tmp_path/'data', n=2)
    quarantine([next((data/'circle').iterdir())], tmp_path/'out'/'manifest.json')
    undo(tmp_path/'out'/'manifest.json')
    with pytest.raises(ValueError, match='undone already'): undo(tmp_path/'out'/'manifest.json')

def test_relabel_into_a_new_class_folder_and_back(tmp_path):
    data = _shapes(tmp_path/'data', n=3)
    before, m = tree_md5(data), tmp_path/'out'/'manifest.json'
    f = sorted((data/'circle').iterdir())[0]
    done = relabel([f], 'ellipse', m)
    assert (data/'ellipse'/f.name).exists() and not f.exists()
    assert list(done['to']) == ['ellipse']
    undo(m)
    assert tree_md5(data) == before   # the folder made for the new class is gone again

def test_relabel_onto_a_taken_name_keeps_both_files(tmp_path):
    data = _shapes(tmp_path/'data', n=2)
    a, b = sorted((data/'circle').iterdir())[0], sorted((data/'square').iterdir())[0]
    twin = data/'square'/a.name
    shutil.copy(b, twin)   # the same name is already in the target class
    before, m = tree_md5(data), tmp_path/'manifest.json'
    done = relabel([a], 'square', m)
    assert done.dst[0].endswith('-1.png') and twin.exists()
    undo(m)
    assert tree_md5(data) == before

def test_undo_stops_when_a_moved_file_was_changed(tmp_path):
    data = _shapes(tmp_path/'data', n=2)
    m = tmp_path/'out'/'manifest.json'
    files = sorted((data/'circle').iterdir())
    moved = quarantine(files, m)
    (tmp_path/'out'/'quarantine'/'circle'/files[-1].name).write_bytes(b'edited')   # the last move, undone first
    with pytest.raises(KitError, match='has changed'): undo(m)
    assert all(Path(p).exists() for p in moved.dst)   # nothing overwritten, nothing lost
    assert all(a['undone'] is None for a in read_manifest(m)['actions'])

def test_csv_relabel_and_undo_restore_the_table_byte_for_byte(tmp_path):
    data = _shapes(tmp_path/'data', n=3)
    csv = data.parent/'labels.csv'
    csv.write_text('path,label,note\n' + ''.join(f'data/{p.parent.name}/{p.name},{p.parent.name},x\n' for p in sorted(data.rglob('*.png'))))
    raw, m = csv.read_bytes(), tmp_path/'out'/'manifest.json'
    f = sorted((data/'circle').iterdir())[0]
    relabel([f], 'square', m, table=csv)
    edited = pd.read_csv(csv)
    assert edited.set_index('path').label[f'data/circle/{f.name}'] == 'square' and f.exists()   # the table changes, the file stays
    undo(m)
    assert csv.read_bytes() == raw

def test_apply_then_undo_gives_a_byte_identical_tree(tmp_path):
    data = tmp_path/'data'
    make_shapes(data/'train', n_per_class=12, size=32, seed=0)
    make_shapes(data/'valid', n_per_class=4, size=32, seed=1)
    for f in data.rglob('labels.csv'): f.unlink()
    planted = plant_problems(data, n_flips=2)
    before, out = tree_md5(data), tmp_path/'out'
    dry = clean_command(data, out=out, size=32)
    assert 'Dry run' in dry and tree_md5(data) == before
    done = clean_command(data, out=out, report=out/'report.csv', apply=True)
    assert tree_md5(data) != before and 'clean --undo' in done
    for kind in ('zero-byte', 'unreadable', 'truncated'): assert not Path(planted[kind][0][0]).exists()   # quarantined
    for copy, original in planted['exact duplicate']: assert Path(copy).exists() != Path(original).exists()   # one of each pair kept
    assert not Path(planted['cross-split duplicate'][0][0]).exists()   # the validation copy left
    moves = [a for a in json.loads((out/'manifest.json').read_text())['actions']]
    assert all(a['md5'] and a['undone'] is None for a in moves)
    assert 'Would restore' in clean_command(undo_manifest=out/'manifest.json') and tree_md5(data) != before   # dry run
    clean_command(undo_manifest=out/'manifest.json', apply=True)
    assert tree_md5(data) == before

def test_command_refuses_an_out_folder_inside_the_data_and_applying_to_elpv(tmp_path):
    data = _shapes(tmp_path/'data', n=2)
    with pytest.raises(ValueError, match='inside the data folder'): clean_command(data, out=data/'clean')
    with pytest.raises(ValueError, match='read-only'): clean_command(apply=True)

def test_near_duplicates_link_altered_copies_only(tmp_path):
    data = _shapes(tmp_path/'data', n=6)
    a = sorted((data/'circle').iterdir())[0]
    with Image.open(a) as im: im.resize((40, 40)).save(data/'circle'/'bigger.png')
    sets = near_duplicate_sets(sorted(data.rglob('*.png')))
    assert [sorted(p.split('/')[-1] for p in s) for s in sets] == [sorted(['bigger.png', a.name])]
    assert near_duplicate_sets([a]) == []

def test_an_edited_report_with_a_relabel_but_no_class_is_refused(tmp_path):
    data = _shapes(tmp_path/'data', n=2)
    f = str(sorted((data/'circle').iterdir())[0])
    report = tmp_path/'report.csv'
    pd.DataFrame({'path': [f], 'kind': ['label issue'], 'action': ['relabel'], 'suggested': [None]}).to_csv(report, index=False)
    before = tree_md5(data)
    with pytest.raises(ValueError, match='no suggested label'): clean_command(data, out=tmp_path/'out', report=report, apply=True)
    pd.DataFrame({'path': [f], 'do': ['relabel']}).to_csv(report, index=False)
    with pytest.raises(KitError, match='no action, suggested column'): clean_command(data, out=tmp_path/'out', report=report, apply=True)
    assert tree_md5(data) == before

def test_plant_problems_plants_what_it_says(tmp_path):
    data = tmp_path/'data'
    make_shapes(data/'train', n_per_class=8, size=32, seed=0)
    make_shapes(data/'valid', n_per_class=2, size=32, seed=1)
    for f in data.rglob('labels.csv'): f.unlink()
    planted = plant_problems(data, n_flips=3, seed=1)
    assert {k: len(v) for k, v in planted.items()} == {'label flip': 3, 'exact duplicate': 3, 'cross-split duplicate': 1, 'near duplicate': 3,
                                                       'zero-byte': 1, 'truncated': 1, 'unreadable': 1, 'format mismatch': 1}
    for flip, original in planted['label flip']: assert Path(flip).parent.name != Path(original).parent.name and not Path(original).exists()
    for copy, original in planted['exact duplicate'] + planted['cross-split duplicate']: assert Path(copy).read_bytes() == Path(original).read_bytes()
    assert Path(planted['cross-split duplicate'][0][0]).parts[-3] == 'valid'
    for copy, original in planted['near duplicate']:
        assert Path(copy).read_bytes() != Path(original).read_bytes() and Image.open(copy).format == 'PNG'
    assert [Image.open(c).size for c, _ in planted['near duplicate']] == [(40, 40), (32, 32), (32, 32)]   # only the first is enlarged
    screen = screen_files([planted[k][0][0] for k in ('zero-byte', 'truncated', 'unreadable', 'format mismatch')])
    assert list(screen.problem) == ['zero-byte', 'truncated', 'unreadable', 'format mismatch']
    used = [p for v in planted.values() for pair in v for p in pair if p]
    assert len(used) == len(set(used)), 'each planted problem has its own image'

@pytest.mark.parametrize('moved', [True, False], ids=['after the move', 'before the move'])
def test_a_quarantine_cut_short_by_a_crash_can_be_undone(tmp_path, monkeypatch, moved):
    data = _shapes(tmp_path/'data', n=2)
    before, m = tree_md5(data), tmp_path/'out'/'manifest.json'
    real, calls = shutil.move, []
    def crash_on_second(src, dst):
        calls.append(src)
        if len(calls) == 2:
            if moved: real(src, dst)
            raise KeyboardInterrupt   # the process dies between the manifest and the move
        return real(src, dst)
    monkeypatch.setattr(shutil, 'move', crash_on_second)
    with pytest.raises(KeyboardInterrupt): quarantine(sorted((data/'circle').iterdir()), m)
    monkeypatch.undo()
    assert len(read_manifest(m)['actions']) == 2   # both moves are on record, whether or not the second happened
    undo(m)
    assert tree_md5(data) == before

@pytest.mark.parametrize('copied', [0.5, 1.0], ids=['half copied', 'copied, not yet unlinked'])
def test_a_move_across_file_systems_cut_short_can_be_undone(tmp_path, monkeypatch, copied):
    "shutil.move between file systems copies, then unlinks the source: a crash in between leaves the source intact and a copy behind"
    data = _shapes(tmp_path/'data', n=2)
    before, m = tree_md5(data), tmp_path/'out'/'manifest.json'
    f = sorted((data/'circle').iterdir())[0]
    def crash(src, dst):
        b = Path(src).read_bytes()
        Path(dst).write_bytes(b[:int(len(b)*copied)])
        raise KeyboardInterrupt
    monkeypatch.setattr(shutil, 'move', crash)
    with pytest.raises(KeyboardInterrupt): quarantine([f], m)
    monkeypatch.undo()
    undo(m)
    assert tree_md5(data) == before and read_manifest(m)['actions'][0]['undone']
    assert (tmp_path/'out'/'quarantine'/'circle'/f.name).exists()   # the partial copy is left, not deleted

def test_a_csv_relabel_cut_short_before_the_edit_can_be_undone(tmp_path, monkeypatch):
    data = _shapes(tmp_path/'data', n=2)
    csv = data/'labels.csv'
    csv.write_text('path,label\n' + ''.join(f'{p.parent.name}/{p.name},{p.parent.name}\n' for p in sorted(data.rglob('*.png'))))
    raw, m = csv.read_bytes(), tmp_path/'out'/'manifest.json'
    real = Path.write_bytes
    def crash(self, *args, **kwargs):
        if self == csv: raise KeyboardInterrupt   # the process dies between the manifest and the edit
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, 'write_bytes', crash)
    with pytest.raises(KeyboardInterrupt): relabel([sorted((data/'circle').iterdir())[0]], 'square', m, table=csv)
    monkeypatch.undo()
    assert csv.read_bytes() == raw and len(read_manifest(m)['actions']) == 1
    undo(m)
    assert csv.read_bytes() == raw and read_manifest(m)['actions'][0]['undone']

def test_an_unlabelled_test_folder_is_screened_not_label_checked(tmp_path):
    data = tmp_path/'data'
    make_shapes(data/'train', n_per_class=6, size=32, shapes=('circle', 'square'))
    (data/'train'/'labels.csv').unlink()
    (data/'test').mkdir()
    for f in sorted((data/'train'/'circle').iterdir())[:2]: shutil.copy(f, data/'test'/f'unlabelled_{f.name}')   # the Kaggle layout
    (data/'test'/'broken.png').write_bytes(b'')
    rep = clean_report(data, size=32)
    assert set(rep.path[rep.kind == 'zero-byte']) == {str((data/'test'/'broken.png').absolute())}   # screened like the rest
    assert not rep.path[rep.kind == 'label issue'].str.contains('unlabelled_').any()

def _cleaner(path, monkeypatch):
    "A tiny shapes folder, a learner on it (DataLoaders from a DataFrame, as `image_dls` always makes them) and its `image_cleaner`"
    pytest.importorskip('ipywidgets')   # the widget comes with the dev extra
    from IPython.display import display
    data = _shapes(path, n=6)
    learn = cnn_learner(image_dls(data, size=32, bs=4, aug='none'))
    monkeypatch.setattr(builtins, 'display', display, raising=False)   # fastai's widget calls `display` unimported: Jupyter makes it a builtin
    return data, learn, image_cleaner(learn)

def test_image_cleaner_lists_the_files_not_the_column_names(tmp_path, monkeypatch):
    _, learn, cleaner = _cleaner(tmp_path, monkeypatch)
    for (train_or_valid, items), ds in zip(enumerate(cleaner.iwis), (learn.dls.train_ds, learn.dls.valid_ds)):
        assert sorted(str(p) for p, _, _ in items) == sorted(ds.items.path), train_or_valid   # fastai issue #3538: 'path', 'label', ...
        assert all(Path(p).parent.name == c for p, c, _ in items)
    dl = learn.dls.train.new(shuffle=False, drop_last=False)
    loss = dict(zip(dl.items.path, learn.get_preds(dl=dl, with_loss=True)[2].tolist()))
    assert all(abs(float(l) - loss[str(p)]) < 1e-5 for p, _, l in cleaner.iwis[0])   # each file's own loss
    by_loss = sorted(cleaner.iwis[0], key=lambda o: -float(o[2]))
    assert list(cleaner.fns) == [p for p, c, _ in by_loss if c == 'circle']   # the first class of the training set, largest loss first
    cleaner.dd_ds.value = 'Valid'
    assert {str(p) for p in cleaner.fns} == {p for p in learn.dls.valid_ds.items.path if Path(p).parent.name == 'circle'}
    with pytest.raises(TypeError): image_cleaner(learn, no_such_option=1)

def test_apply_cleaner_moves_what_was_picked_in_the_widget_and_undo_restores_the_tree(tmp_path, monkeypatch):
    data, _, cleaner = _cleaner(tmp_path/'d', monkeypatch)
    fns, menus = list(cleaner.fns), [box.children[1] for box in cleaner.iw.widget.children]
    assert len(menus) == len(fns) >= 3
    menus[0].value, menus[1].value = '<Delete>', 'square'   # what a person picks under the first two images
    before, out = tree_md5(data), tmp_path/'out'
    dry = apply_cleaner(cleaner, out/'manifest.json', dry_run=True)
    assert tree_md5(data) == before and not out.exists()
    done = apply_cleaner(cleaner, out/'manifest.json')
    cols = ['action', 'src', 'dst']
    assert done[cols].values.tolist() == dry[cols].values.tolist() == [
        ['quarantine', str(fns[0]), str(out/'quarantine'/'circle'/fns[0].name)], ['relabel', str(fns[1]), str(data/'square'/fns[1].name)]]
    assert not fns[0].exists() and not fns[1].exists() and all(Path(p).exists() for p in done.dst)
    assert all(f.exists() for f in fns[2:])   # kept
    assert [a['action'] for a in read_manifest(out/'manifest.json')['actions']] == ['quarantine', 'relabel']
    undo(out/'manifest.json')
    assert tree_md5(data) == before and not (out/'quarantine').exists()

def _cli(argv, capsys) -> str:
    "What `fastai-tl clean ARGV` prints, run in this process"
    from fastai_tl.cli import main
    main(['clean', *map(str, argv)])
    return capsys.readouterr().out

@pytest.mark.parametrize('copies', [1, 2], ids=['one image', 'two copies of one'])
def test_a_class_too_small_to_check_skips_its_label_check_and_keeps_the_other_findings(tmp_path, capsys, copies):
    data = _shapes(tmp_path/'data', n=6)
    (data/'circle'/'empty.png').write_bytes(b'')
    (data/'star').mkdir()
    buf = io.BytesIO(); Image.new('RGB', (32, 32), 'yellow').save(buf, 'PNG')
    for i in range(copies): (data/'star'/f'star{i}.png').write_bytes(buf.getvalue())
    text = _cli([data, '--out', tmp_path/'out', '--size', 32], capsys)
    assert "Label check skipped for class 'star'" in text and 'Add images to it or fix its label' in text
    rep = pd.read_csv(tmp_path/'out'/'report.csv')
    assert str(data/'circle'/'empty.png') in set(rep.path[rep.kind == 'zero-byte'])
    assert "Label check skipped for class &#x27;star&#x27;" in (tmp_path/'out'/'report.html').read_text()
    assert 'cross-validation + cleanlab' in clean_report(data, size=32).attrs['seconds']   # circle and square are still checked

def test_one_class_says_the_label_check_was_skipped_and_offers_nothing_to_apply(tmp_path, capsys):
    data = tmp_path/'data'
    make_shapes(data, n_per_class=6, size=32, shapes=('circle',))
    (data/'labels.csv').unlink()
    text = _cli([data, '--out', tmp_path/'out', '--size', 32], capsys)
    assert 'no findings' in text and "only one class ('circle')" in text
    assert 'Series' not in text and '--apply' not in text

def test_the_command_a_dry_run_prints_for_a_report_alone_works(tmp_path, capsys):
    data = _shapes(tmp_path/'data', n=6)
    (data/'circle'/'empty.png').write_bytes(b'')
    out = tmp_path/'out'
    clean_command(data, out=out, size=32)
    text = _cli(['--out', out, '--report', out/'report.csv'], capsys)   # no DATA: the report names the files
    command = text.strip().splitlines()[-1]
    assert command.startswith('fastai-tl clean ') and command.endswith(f'--out {out} --report {out/"report.csv"} --apply')
    _cli(command.split()[2:], capsys)   # exactly as printed, after `fastai-tl clean`
    assert not (data/'circle'/'empty.png').exists() and (out/'manifest.json').is_file()   # quarantined, and recorded beside the report
    elpv = tmp_path/'elpv.csv'
    pd.DataFrame({'path': [elpv_df().path[0]], 'kind': ['dark'], 'action': ['quarantine'], 'suggested': [None]}).to_csv(elpv, index=False)
    assert 'read-only' in clean_command(report=elpv, out=out)
    with pytest.raises(ValueError, match='read-only'): clean_command(report=elpv, out=out, apply=True)

def _apply_half(files, manifest, go):
    "Quarantine `files` one by one into `manifest` once both processes are ready (run in a process of its own)"
    go.wait()
    for f in files: quarantine([f], manifest)

def test_two_applies_at_once_record_every_move_and_undo_restores_the_tree(tmp_path):
    import multiprocessing as mp
    data, manifest = _shapes(tmp_path/'data', n=40), tmp_path/'out'/'manifest.json'
    before, files = tree_md5(data), sorted(str(f) for f in data.rglob('*.png'))
    ctx = mp.get_context('spawn')
    go = ctx.Barrier(2)
    procs = [ctx.Process(target=_apply_half, args=(files[i::2], manifest, go)) for i in (0, 1)]
    for p in procs: p.start()   # both start moving at once, at the barrier
    for p in procs: p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(read_manifest(manifest)['actions']) == len(files)   # lost records before the lock: 13 of 308 in the issue
    undo(manifest)
    assert tree_md5(data) == before
