"Safe export and loading without pickle, the batch predictor against fastai's own predictions, and ONNX."
import contextlib, json, os, pickle, signal, subprocess, sys, warnings
import numpy as np, pandas as pd, pytest, torch
from torch import nn
from PIL import Image, ImageOps
from fastcore.test import test_close as assert_close
from fastai.vision.all import AdaptiveConcatPool2d, CropPad, Flatten, ImageDataLoaders, Normalize, Resize, imagenet_stats
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.export import *
from fastai_tl.predict import *
from fastai_tl.serve import create_app

warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')

@pytest.fixture(scope='module')
def odd(shapes, tmp_path_factory):
    "Odd images: other sizes and aspect ratios (crops), smaller than the model's input (upscaling), other colour modes and formats"
    odd, src = tmp_path_factory.mktemp('odd'), Image.open(shapes/'circle'/'circle_000.png')
    src.resize((100, 40)).save(odd/'wide.png')
    src.resize((30, 50)).save(odd/'small_tall.png')
    src.convert('L').save(odd/'grey.png')
    src.convert('RGBA').save(odd/'rgba.png')
    src.convert('P').save(odd/'palette.bmp')
    src.resize((80, 61)).save(odd/'photo.jpg', quality=90)
    return odd

@pytest.fixture(scope='module')
def learn(shapes):
    "An untrained head: its probabilities are spread out, so that small differences in the input would show"
    return cnn_learner(image_dls(shapes, size=48, bs=8))

@pytest.fixture(scope='module')
def exported(learn, tmp_path_factory): return learn.export_safe(tmp_path_factory.mktemp('export')/'model')

def _probs(records, classes): return torch.tensor([[r['probabilities'][c] for c in classes] for r in records])

def _fastai_probs(learn, files):
    with learn.no_bar(): return learn.get_preds(dl=learn.dls.test_dl(files, num_workers=0))[0]

def test_export_writes_weights_and_a_description(learn, exported):
    assert sorted(p.name for p in exported.iterdir()) == ['model.json', 'model.safetensors']
    meta = json.loads((exported/'model.json').read_text())
    assert (meta['backbone'], meta['problem'], meta['classes']) == ('efficientnet_lite0', 'multiclass', ['circle', 'square', 'triangle'])
    assert (meta['size'], meta['resize'], meta['mean'], meta['std']) == ([48, 48], 'crop', [0.5]*3, [0.5]*3)
    assert meta['head'] == dict(n_out=3, pool=True, concat_pool=True, lin_ftrs=[512], ps=[0.25, 0.5], first_bn=True, bn_final=False, y_range=None)
    model, _ = load_safe(exported)
    for a, b in zip(model.state_dict().values(), learn.model.state_dict().values()): assert torch.equal(a, b)

def _kit_imports(module:str, seen=None) -> set:
    "The modules that fastai_tl's `module` imports, following the kit's own modules through"
    import ast, importlib.util
    seen = set() if seen is None else seen
    tree = ast.parse(open(importlib.util.find_spec(module).origin).read())
    for n in ast.walk(tree):
        names = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module] if isinstance(n, ast.ImportFrom) and n.module else []
        for m in names:
            m = f'fastai_tl.{m}' if isinstance(n, ast.ImportFrom) and n.level else m
            if m not in seen:
                seen.add(m)
                if m.startswith('fastai_tl.'): _kit_imports(m, seen)
    return seen

def test_export_and_predict_do_not_import_fastapi():
    "A training script saves a model, and a batch job predicts, without the web service's dependencies"
    for module in ('fastai_tl.export', 'fastai_tl.predict'):
        found = {m for m in _kit_imports(module) if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette') or m == 'fastai_tl.serve'}
        assert not found, (module, found)

def test_predictions_equal_fastai_get_preds(learn, exported, odd):
    files = sorted(odd.iterdir()) + list(learn.dls.valid.items.path)
    records = Predictor(exported, bs=4).predict(files)
    assert [r['file'] for r in records] == [str(f) for f in files]
    want = _fastai_probs(learn, files)
    assert want.max(1).values.min() < 0.9, 'the untrained head should give spread-out probabilities'
    assert_close(_probs(records, learn.dls.vocab), want, eps=1e-4)
    assert [r['prediction'] for r in records] == [learn.dls.vocab[i] for i in want.argmax(1)]

def test_pil_images_and_bytes_give_the_same_predictions(exported, odd):
    fn = odd/'photo.jpg'
    pred = Predictor(exported)
    by_path, by_bytes, by_pil = pred.predict([fn, fn.read_bytes(), Image.open(fn)])
    assert by_bytes['file'] == 'image 1' and by_pil['file'] == 'image 2'
    assert by_path['probabilities'] == by_bytes['probabilities'] == by_pil['probabilities']

@pytest.mark.parametrize('method,pad_mode', [('squish', 'reflection'), ('pad', 'zeros')])
def test_other_resize_methods_and_a_torchvision_backbone(shapes, odd, tmp_path, method, pad_mode):
    dls = ImageDataLoaders.from_folder(shapes, valid_pct=0.25, seed=0, bs=8, item_tfms=Resize(40, method=method, pad_mode=pad_mode),
                                       batch_tfms=Normalize.from_stats(*imagenet_stats), num_workers=0)
    learn = cnn_learner(dls, 'resnet18', pretrained=False)
    pred = Predictor(learn.export_safe(tmp_path/'m'))
    files = sorted(odd.iterdir())
    assert_close(_probs(pred.predict(files), dls.vocab), _fastai_probs(learn, files), eps=1e-4)

def test_binary_keeps_positive_class_and_threshold(shapes, tmp_path):
    df = pd.DataFrame({'path': [str(p) for p in sorted(shapes.glob('[cs]*/*.png'))]})
    df['label'] = [p.split('/')[-2] for p in df.path]
    learn = cnn_learner(image_dls(df, size=48, bs=8), pos_class='square', thresh=0.3)
    meta = json.loads((learn.export_safe(tmp_path/'m')/'model.json').read_text())
    assert (meta['problem'], meta['pos_class'], meta['thresh'], meta['head']['n_out']) == ('binary', 'square', 0.3, 1)
    files = list(df.path)
    records = Predictor(tmp_path/'m').predict(files)
    want = _fastai_probs(learn, files)
    assert_close(_probs(records, ['circle', 'square']), want, eps=1e-4)
    assert [r['prediction'] == 'square' for r in records] == [bool(p >= 0.3) for p in want[:, 1]]

def test_multilabel_and_regression(other_dls, tmp_path):
    files = list(other_dls['multilabel'].train.items.path[:6])
    for name, dls in other_dls.items():
        learn = cnn_learner(dls)
        records = Predictor(learn.export_safe(tmp_path/name)).predict(files)
        want = _fastai_probs(learn, files)
        if name == 'multilabel':
            assert_close(_probs(records, dls.vocab), want, eps=1e-4)
            sure = lambda row: [(c, p >= 0.5) for c, p in zip(dls.vocab, row) if abs(p - 0.5) > 1e-3]   # at the threshold, rounding decides
            assert [[(c, c in r['prediction']) for c, _ in sure(row)] for r, row in zip(records, want)] == [sure(row) for row in want]
        else:
            assert_close(torch.tensor([r['prediction'] for r in records]), want[:, 0], eps=1e-4)
            assert all(r['probabilities'] == {} for r in records)

def test_models_it_cannot_describe_are_refused(shapes, tmp_path):
    dls = image_dls(shapes, size=48, bs=8)
    head = nn.Sequential(AdaptiveConcatPool2d(), Flatten(), nn.Linear(2560, 16), nn.Tanh(), nn.Linear(16, 3))
    with pytest.raises(ValueError, match='cannot describe this model'): cnn_learner(dls, custom_head=head).export_safe(tmp_path/'custom')
    crop = ImageDataLoaders.from_folder(shapes, valid_pct=0.25, bs=8, item_tfms=[Resize(48), CropPad(40)], num_workers=0)
    with pytest.raises(ValueError, match='cannot reproduce the transform'): cnn_learner(crop).export_safe(tmp_path/'crop')
    assert not (tmp_path/'custom').exists() and not (tmp_path/'crop').exists()

class Payload:
    "Unpickling this writes a marker file: a harmless stand-in for code that takes over the machine"
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return (exec, (f"open({self.marker!r}, 'w').write('this ran while loading')",))

def test_the_payload_runs_when_unpickled(tmp_path):
    "The check that makes the next test meaningful: the crafted files do run code when something unpickles them"
    marker, fn = tmp_path/'marker', tmp_path/'model.pkl'
    torch.save(Payload(marker), fn)
    subprocess.run([sys.executable, '-c', f"import torch; torch.load({str(fn)!r}, weights_only=False)"], check=True)
    assert marker.exists()

def _plant(kind, folder, exported, marker):
    "A folder (or file) holding a crafted pickle where a model should be"
    folder.mkdir()
    if kind == 'model.pkl (torch.save)': torch.save(Payload(marker), folder/'model.pkl')
    if kind == 'model.pkl (raw pickle)': (folder/'model.pkl').write_bytes(pickle.dumps(Payload(marker)))
    if kind.startswith('model.safetensors'):
        (folder/'model.json').write_text((exported/'model.json').read_text())
        if 'raw' in kind: (folder/'model.safetensors').write_bytes(pickle.dumps(Payload(marker)))
        else: torch.save(Payload(marker), folder/'model.safetensors')
    if kind == 'the .pkl file itself':
        torch.save(Payload(marker), folder/'export.pkl')
        return folder/'export.pkl'
    return folder

@pytest.mark.parametrize('kind', ['model.pkl (torch.save)', 'model.pkl (raw pickle)', 'model.safetensors (torch.save)',
                                  'model.safetensors (raw pickle)', 'the .pkl file itself'])
def test_crafted_pickle_is_refused_without_running(kind, exported, onnx_file, tmp_path):
    marker = tmp_path/'marker'
    path = _plant(kind, tmp_path/'model', exported, marker)
    for load in (load_safe, Predictor, create_app):
        with pytest.raises(UnsafeModelError) as e: load(path)
        assert 'pickle' in str(e.value) and 'it was not opened' in str(e.value)
    if kind.startswith('model.safetensors'):   # a valid model.json: the onnx runtime reads it and model.onnx, never the weights file
        (path/'model.onnx').write_bytes(onnx_file.read_bytes())
        assert Predictor(path, runtime='onnx').classes == ['circle', 'square', 'triangle']
    else:
        with pytest.raises(UnsafeModelError) as e: Predictor(path, runtime='onnx')
        assert 'pickle' in str(e.value) and 'it was not opened' in str(e.value)
    assert not marker.exists(), 'the payload ran'

def test_bad_folders_say_what_is_wrong(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a folder'): load_safe(tmp_path/'missing')
    (tmp_path/'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='has no model.json'): load_safe(tmp_path/'empty')
    (tmp_path/'bad').mkdir()
    (tmp_path/'bad'/'model.safetensors').write_bytes((exported/'model.safetensors').read_bytes())
    meta = json.loads((exported/'model.json').read_text())
    for text, msg in (('{"format"', 'is not valid JSON'), ('[]', 'is not a description written by learn.export_safe'),
                      (json.dumps({**meta, 'backbone': 'hf-hub:someone/model'}), 'Unknown backbone')):   # never fetched
        (tmp_path/'bad'/'model.json').write_text(text)
        with pytest.raises(ValueError, match=msg): load_safe(tmp_path/'bad')

def test_bad_files_are_reported_per_item(exported, shapes, bad_images, tmp_path):
    "Each bad item gets an error in its own row, in batches shared with good ones: files, a missing one, bytes, and something else"
    good = shapes/'square'/'square_001.png'
    for name, (data, _, _) in bad_images.items(): (tmp_path/f'{name}.png').write_bytes(data)
    bad = {tmp_path/f'{name}.png': words for name, (_, _, words) in bad_images.items()}
    bad.update({tmp_path/'missing.png': 'No such file', bad_images['GIF'][0]: 'is not a JPEG', 42: 'pass a file path, bytes or a PIL image'})
    records = Predictor(exported, bs=4).predict([good, *bad, good])
    assert records[0]['prediction'] and records[-1]['probabilities'] == records[0]['probabilities']
    for r, words in zip(records[1:-1], bad.values()): assert words in r.get('error', ''), (r, words)
    table = results_table(records)
    assert list(table.columns) == ['file', 'prediction', 'circle', 'square', 'triangle', 'error'] and table.error.astype(bool).sum() == len(bad)

def test_pixel_limit_is_checked_before_decoding(png):
    big = png(Image.new('L', (3000, 2000)))
    with pytest.raises(BadImage, match='more than the limit of 5 million') as e: open_image(big, max_pixels=5_000_000)
    assert e.value.status == 422
    assert open_image(big, max_pixels=6_000_000).mode == 'RGB'

def test_tta_averages_the_image_and_its_flips(exported):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8))   # the model's size: no resampling
    pred = Predictor(exported)
    views = pred.predict([img, ImageOps.mirror(img), ImageOps.flip(img)])
    tta = pred.predict(img, tta=True)[0]
    assert_close(_probs([tta], pred.classes)[0], _probs(views, pred.classes).mean(0), eps=1e-5)   # float32: a batch of three and three batches of one round differently
    assert tta['probabilities'] != views[0]['probabilities']

@pytest.fixture(scope='module')
def onnx_file(exported): return export_onnx(exported)

def test_onnx_matches_pytorch_with_any_batch_size(exported, onnx_file, odd):
    import onnx
    fn = onnx_file
    assert fn == exported/'model.onnx' and not (exported/'model.onnx.data').exists()
    assert onnx.load(str(fn)).graph.input[0].type.tensor_type.shape.dim[0].dim_param, 'the batch axis should be dynamic'
    files = sorted(odd.iterdir())[:5]
    on_torch, on_onnx = Predictor(exported).predict(files), Predictor(exported, runtime='onnx', bs=2).predict(files)   # batches of 2, 2 and 1
    assert_close(_probs(on_onnx, ['circle', 'square', 'triangle']), _probs(on_torch, ['circle', 'square', 'triangle']), eps=1e-4)
    assert [r['prediction'] for r in on_onnx] == [r['prediction'] for r in on_torch]

def _bad_copy(exported, folder, **changes):
    "A copy of the export in `folder` with model.json changed by `changes` (`head` entries are merged into the head)"
    folder.mkdir()
    meta = json.loads((exported/'model.json').read_text())
    meta.update({k: ({**meta['head'], **v} if k == 'head' else v) for k, v in changes.items()})
    (folder/'model.json').write_text(json.dumps(meta))
    (folder/'model.safetensors').write_bytes((exported/'model.safetensors').read_bytes())
    return folder

_binary = dict(problem='binary', head=dict(n_out=1), classes=['circle', 'square'], pos_class='square', thresh=0.5)

@pytest.mark.parametrize('changes,words', [
    (dict(classes=['circle', 'square']), 'classes must be 3 different names'),
    (dict(classes=['circle', 'circle', 'square']), 'classes must be 3 different names'),
    (dict(problem='multi-class'), 'problem must be one of'),
    (dict(problem='regression'), 'classes must be null for a regression model'),
    (dict(size='48'), 'size must be two whole numbers'),
    (dict(size=[48, 0]), 'size must be two whole numbers'),
    (dict(head=dict(n_out='3')), 'head.n_out must be a whole number'),
    (dict(head=dict(ps=[0.5])), 'head.ps must be 2 dropout probabilities'),
    (dict(mean=[0.5, 0.5]), 'mean must be three numbers'),
    (dict(std=[0.5, 0, 0.5]), 'std must be three positive numbers'),
    (dict(resize='stretch'), 'resize must be crop, pad or squish'),
    ({**_binary, 'classes': ['circle', 'square', 'triangle']}, 'classes must be 2 different names'),
    ({**_binary, 'head': dict(n_out=3)}, 'head.n_out must be 1 for a binary model'),
    ({**_binary, 'pos_class': 'star'}, 'pos_class must be one of the classes'),
    ({**_binary, 'thresh': 1.5}, 'thresh must be a number from 0 to 1'),
    ({**_binary, 'thresh': '0.5'}, 'thresh must be a number from 0 to 1')],
    ids=['classes short', 'classes repeated', 'problem unknown', 'regression with classes', 'size a string', 'size zero', 'n_out a string',
         'ps short', 'mean of two', 'std zero', 'resize unknown', 'binary of three classes', 'binary with three outputs', 'pos_class unknown',
         'thresh above 1', 'thresh a string'])
def test_a_model_json_that_export_safe_could_not_have_written_is_refused(exported, tmp_path, changes, words):
    path = _bad_copy(exported, tmp_path/'m', **changes)
    for load in (load_safe, Predictor):
        with pytest.raises(ValueError) as e: load(path)
        assert words in str(e.value) and str(path/'model.json') in str(e.value) and 'learn.export_safe' in str(e.value), str(e.value)

def test_damaged_or_mismatched_weights_name_the_file(exported, tmp_path):
    cut = _bad_copy(exported, tmp_path/'cut')
    (cut/'model.safetensors').write_bytes((exported/'model.safetensors').read_bytes()[:200_000])   # the header survives, the tensors do not
    with pytest.raises(ValueError, match='is damaged'): load_safe(cut)
    other = _bad_copy(exported, tmp_path/'other', head=dict(lin_ftrs=[256]))   # a valid description of another model
    with pytest.raises(ValueError) as e: load_safe(other)
    msg = str(e.value)
    assert f"{other/'model.safetensors'} does not hold the weights" in msg and 'size mismatch for' in msg and 'learn.export_safe' in msg and len(msg) < 800

def test_batch_size_and_names_are_checked(exported, shapes):
    for bs in (0, -1, 2.5):
        with pytest.raises(ValueError, match='pass a whole number of at least 1'): Predictor(exported, bs=bs)
    files = sorted((shapes/'circle').iterdir())[:3]
    with pytest.raises(ValueError, match=r'1 name\(s\) for 3 item\(s\)'): Predictor(exported).predict(files, names=['a'])
    assert [r['file'] for r in Predictor(exported).predict(files, names=['a', 'b', 'c'])] == ['a', 'b', 'c']
    assert [r['file'] for r in Predictor(exported).predict(files[0], names=['one'])] == ['one']
    assert Predictor(exported, bs=np.int64(2)).bs == 2   # a numpy integer is a whole number too

@pytest.mark.parametrize('thresh', [0.0, 1.0])
def test_a_threshold_at_either_end_loads(exported, tmp_path, thresh):
    "A threshold picked from saturated sigmoid scores can be exactly 0 or 1: export_safe writes it, and loading must accept it"
    path = _bad_copy(exported, tmp_path/'m', **{**_binary, 'thresh': thresh})   # the description is checked before the weights are read
    assert read_meta(path)['thresh'] == thresh

def test_image_tensors_are_checked_per_item(exported, shapes):
    pred = Predictor(exported)
    good = pred.image_tensor(open_image(shapes/'circle'/'circle_000.png'))
    recs = pred.predict([good, good.float(), good[:, :10]], names=['good', 'float', 'cropped'])
    assert 'prediction' in recs[0] and all('uint8 tensor of shape' in r['error'] for r in recs[1:]), recs

# Issue 24: thin images on a pad model, non-finite models, damaged ONNX, paths that are not files, file modes, nesting

@pytest.fixture(scope='module')
def padded(shapes, tmp_path_factory):
    "An export that pads (fastai's default reflection padding) rather than crops"
    dls = ImageDataLoaders.from_folder(shapes, valid_pct=0.25, seed=0, bs=8, item_tfms=Resize(40, method='pad'), num_workers=0)
    return cnn_learner(dls).export_safe(tmp_path_factory.mktemp('padded')/'model')

def test_a_thin_image_is_refused_before_a_pad_model_pads_it(padded, shapes, png):
    "fastai pads to a max(w, h)² canvas: 20,000×10 is 200,000 pixels but a 400-million-pixel canvas (2.6 GB, 6 s before the fix)"
    pred, good = Predictor(padded), shapes/'circle'/'circle_000.png'
    thin, line = png(Image.new('L', (20_000, 10))), png(Image.new('L', (39_000_000, 1)))
    recs = pred.predict([good, thin, line, good], names=['good', 'thin', 'line', 'again'])
    assert 'prediction' in recs[0] and recs[3]['probabilities'] == recs[0]['probabilities'], recs
    assert 'padded to 20000×20000' in recs[1]['error'], recs[1]
    assert 'padded to 39000000×39000000' in recs[2]['error'] and 'more than the limit' in recs[2]['error'], recs[2]
    with pytest.raises(BadImage, match='padded to') as e: pred.image_tensor(open_image(thin))
    assert e.value.status == 422
    small = Predictor(padded, max_pixels=1_000_000)   # the canvas counts against the same limit as the image
    assert 'padded to 1500×1500' in small.predict(png(Image.new('L', (1500, 600))))[0]['error']
    assert 'prediction' in small.predict(png(Image.new('L', (900, 800))))[0]

def test_a_crop_model_takes_a_thin_image(exported, png):
    "Cropping never needs more pixels than the image has: only padding is limited"
    assert 'prediction' in Predictor(exported).predict(png(Image.new('L', (20_000, 10))))[0]

@contextlib.contextmanager
def _poisoned(learn, value):
    "`learn` with the weights of the first output of its last layer set to `value`, restored afterwards"
    w = learn.model[1][-1].weight.data
    old = w[0].clone()
    w[0] = value
    try: yield
    finally: w[0] = old

@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_export_refuses_weights_that_are_not_finite(learn, tmp_path, value):
    "A model whose training diverged is not written: it would answer every image with NaN"
    with _poisoned(learn, value), pytest.raises(NonFiniteError) as e: learn.export_safe(tmp_path/'m')
    assert 'not finite' in str(e.value) and '1.8.weight' in str(e.value) and 'nothing was written' in str(e.value), str(e.value)
    assert not (tmp_path/'m').exists()

def test_loading_refuses_weights_that_are_not_finite(learn, exported, tmp_path):
    from safetensors.torch import save_model
    path = _bad_copy(exported, tmp_path/'m')
    with _poisoned(learn, float('nan')): save_model(learn.model, str(path/'model.safetensors'))
    for load in (load_safe, Predictor):
        with pytest.raises(NonFiniteError) as e: load(path)
        assert str(path/'model.safetensors') in str(e.value) and 'not finite' in str(e.value), str(e.value)

@pytest.mark.parametrize('text', ['"mean": [NaN, 0.5, 0.5]', '"std": [0.5, Infinity, 0.5]', '"mean": [-Infinity, 0.5, 0.5]',
                                  '"std": [0.5, 1e999, 0.5]', '"y_range": [0, 1e400]'])
def test_model_json_with_numbers_that_are_not_finite_is_refused(exported, tmp_path, text):
    "Python's json reads NaN, Infinity and 1e999 (which is inf); JSON has no such numbers, and a model fed them answers NaN"
    path = _bad_copy(exported, tmp_path/'m')
    meta = (path/'model.json').read_text()
    key = text.split(':')[0]
    meta = meta.replace(key + ':', f'{text}, "_was_{key[1:]}:', 1)   # the bad value first, the original renamed aside
    (path/'model.json').write_text(meta)
    for load in (read_meta, load_safe, Predictor):
        with pytest.raises(NonFiniteError) as e: load(path)
        assert str(path/'model.json') in str(e.value) and 'not a finite number' in str(e.value), str(e.value)

def test_outputs_that_are_not_finite_are_an_error_not_a_prediction(learn, shapes, tmp_path):
    "Finite weights so large that the logits overflow: the Predictor raises rather than returning NaN probabilities (which is not JSON)"
    with _poisoned(learn, 3e38): path = learn.export_safe(tmp_path/'m')
    with pytest.raises(NonFiniteError) as e: Predictor(path).predict(shapes/'circle')   # probs checks either runtime's logits
    assert 'not finite' in str(e.value) and 'for 10 of 10 image(s)' in str(e.value) and str(path) in str(e.value), str(e.value)

def test_a_damaged_onnx_file_is_named(exported, onnx_file, tmp_path):
    path, data = _bad_copy(exported, tmp_path/'m'), onnx_file.read_bytes()
    for bad in (data[:len(data) // 2], b'not a model at all'):
        (path/'model.onnx').write_bytes(bad)
        with pytest.raises(ValueError) as e: Predictor(path, runtime='onnx')
        msg = str(e.value)
        assert f"{path/'model.onnx'} is damaged" in msg and 'export_onnx' in msg and len(msg) < 600, msg

def test_paths_that_are_not_regular_files_are_refused_without_reading(exported, shapes, tmp_path):
    "A FIFO hung predict and /dev/zero grew it by 0.5 GB/s: only regular files are read, and never more than the pixel limit allows"
    good, folder = shapes/'circle'/'circle_000.png', tmp_path/'folder'
    folder.mkdir()
    os.mkfifo(tmp_path/'x.png'); os.mkfifo(folder/'y.png')
    (folder/'z.png').write_bytes(good.read_bytes())
    with open(tmp_path/'huge.png', 'wb') as f: f.truncate(9_000_001)   # sparse: costs nothing on disk
    def hung(*_): raise RuntimeError('predict hung on a path that is not a file')   # not an OSError, which predict reports per file
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try: recs = Predictor(exported, max_pixels=1_000_000).predict([tmp_path/'x.png', '/dev/zero', folder, tmp_path/'huge.png'])
    finally: signal.alarm(0); signal.signal(signal.SIGALRM, old)
    errs = {r['file']: r.get('error') for r in recs}
    assert 'is not a regular file' in errs[str(tmp_path/'x.png')] and 'is not a regular file' in errs['/dev/zero'], errs
    assert 'is not a regular file' in errs[str(folder/'y.png')] and errs[str(folder/'z.png')] is None, errs
    assert 'larger than the 8 MB' in errs[str(tmp_path/'huge.png')], errs

def test_the_weights_file_has_the_mode_of_its_sibling(learn, tmp_path):
    "safetensors writes through a temporary file made with mode 0600 (safetensors PR #764): a service run as another user could not read it"
    old = os.umask(0o022)
    try: path = learn.export_safe(tmp_path/'m')
    finally: os.umask(old)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in path.iterdir()}
    assert modes == {'model.json': '0o644', 'model.safetensors': '0o644'}, modes

def test_a_deeply_nested_model_json_is_named(exported, tmp_path):
    path = _bad_copy(exported, tmp_path/'m')
    (path/'model.json').write_text('[' * 100_000 + ']' * 100_000)
    with pytest.raises(ValueError) as e: read_meta(path)
    assert str(path/'model.json') in str(e.value) and 'nested too deeply' in str(e.value), str(e.value)
