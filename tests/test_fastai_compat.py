"fastai code keeps working beside the kit: its own pet-breeds recipe after `from fastai_tl.all import *`, normalisation that follows the backbone, and no fastai method replaced"
import subprocess, sys, warnings
import pytest, torch
from fastai.vision.all import ImageDataLoaders, Normalize, Resize, error_rate, imagenet_stats, resnet18, set_seed, vision_learner
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.models import load_backbone

@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    "A tiny folder of three classes, one folder per class, as in fastai's `from_folder` examples"
    root = tmp_path_factory.mktemp('shapes')
    return root, make_shapes(root, n_per_class=16, size=32)

def _norm(dls):
    "The mean and std of the one `Normalize` in `dls`' batch transforms, as lists (None when there is none)"
    ns = [t for t in dls.after_batch.fs if isinstance(t, Normalize)]
    assert len(ns) <= 1, ns
    return [[round(v, 3) for v in t.flatten().tolist()] for t in (ns[0].mean, ns[0].std)] if ns else None

_imagenet = [[round(v, 3) for v in s] for s in imagenet_stats]

FASTAI_PETS = '''
from fastai_tl.all import *
set_seed(0)
dls = ImageDataLoaders.from_folder(Path(sys.argv[1]), valid_pct=0.25, seed=42, item_tfms=Resize(32), bs=8)
for make in (vision_learner, cnn_learner):
    learn = make(dls, resnet18, pretrained=False, metrics=error_rate)
    before = learn.model[1][-1].weight.detach().clone()
    with learn.no_bar(): learn.fine_tune(1, 1e-3)
    err = learn.recorder.values[-1][-1]
    assert learn.recorder.metric_names[-2:] == ['error_rate', 'time'], learn.recorder.metric_names
    assert 0 <= err <= 1 and not torch.equal(before, learn.model[1][-1].weight), make
    assert learn.predict(dls.valid_ds.items[0])[0] in dls.vocab
    print(make.__module__, type(learn.loss_func).__name__, f'{err:.3f}')
'''

def test_fastai_pets_recipe_trains_after_the_kits_import(shapes):
    "fastai's lesson-1 code, unchanged, with a function as the architecture and fastai's metric, in a fresh process"
    root, _ = shapes
    r = subprocess.run([sys.executable, '-c', 'import sys\n' + FASTAI_PETS, str(root)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [l.split()[:2] for l in r.stdout.split('\n') if l.startswith('fastai')]   # after fastai's logged epochs
    assert lines == [['fastai.vision.learner', 'CrossEntropyLossFlat'], ['fastai_tl.heads', 'CrossEntropyLossFlat']], r.stdout

def test_kit_names_replace_no_fastai_name_but_cnn_learner():
    "`from fastai_tl.all import *` leaves every name of `fastai.vision.all` as fastai defines it, but the kit's `cnn_learner`"
    import fastai.vision.all as fva, fastai_tl.all as kit
    fastai_names = {n for n in dir(fva) if not n.startswith('_')}
    replaced = sorted(n for n in kit.__dict__ if n in fastai_names and kit.__dict__[n] is not getattr(fva, n))
    assert replaced == ['cnn_learner'], replaced

def test_cnn_learner_takes_what_fastais_takes(shapes):
    _, df = shapes
    dls = image_dls(df, size=32, bs=8)
    fn = cnn_learner(dls, resnet18, pretrained=False, metrics=error_rate)   # a torchvision function, fastai's way
    named = cnn_learner(dls, 'resnet18', pretrained=False)
    assert [p.shape for p in fn.model.parameters()] == [p.shape for p in named.model.parameters()]
    assert fn.backbone == 'resnet18' and [m.__name__ for m in fn.metrics.attrgot('func')] == ['error_rate']
    assert cnn_learner(dls, resnet18, False, 3, pretrained=False).model[1][-1].out_features == 3   # fastai's positions: normalize, n_out
    assert cnn_learner(dls, 'resnet10t', pretrained=False).backbone == 'resnet10t'   # a timm name
    assert cnn_learner(dls, 'efficientnet_lite0', n_out=5).model[1][-1].out_features == 5   # an embedded name, n_out honoured

SEE_FASTAI = '''
from fastai.vision.all import *
before = {c: dict(vars(c)) for c in (ClassificationInterpretation, Interpretation, Learner, DataLoaders, TfmdDL, Recorder, PILImage, TensorImage)}
cm, fl = ClassificationInterpretation.confusion_matrix, ClassificationInterpretation.from_learner.__func__   # fastai's own
import pkgutil, importlib, fastai_tl
for m in pkgutil.iter_modules(fastai_tl.__path__): importlib.import_module('fastai_tl.' + m.name)
assert ClassificationInterpretation.confusion_matrix is cm and ClassificationInterpretation.from_learner.__func__ is fl
changed = [f'{c.__name__}.{k}' for c, d in before.items() for k, v in d.items() if vars(c).get(k) is not v]
print(changed)
'''

def test_the_kit_replaces_no_fastai_method():
    "Every module of the kit imported into a fresh process: fastai's own `confusion_matrix`, `from_learner` and every other attribute stay"
    r = subprocess.run([sys.executable, '-c', SEE_FASTAI], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == '[]', r.stdout

@pytest.mark.parametrize('arch, stats', [('resnet18', _imagenet), (resnet18, _imagenet), ('efficientnet_lite0', [[0.5]*3]*2),
                                         ('tf_mobilenetv3_small_minimal_100', [[0.5]*3]*2), ('convnext_atto', _imagenet)])
def test_normalisation_follows_the_backbone(shapes, arch, stats):
    "Data built without statistics gets the backbone's: ImageNet's for a torchvision ResNet, timm's table for a timm name, 0.5 for the Lite family"
    _, df = shapes
    dls = image_dls(df, size=32, bs=8)
    assert _norm(dls) is None   # the learner adds it, as fastai's vision_learner does
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        learn = cnn_learner(dls, arch, pretrained=arch == 'efficientnet_lite0')
    assert _norm(dls) == stats and all(_norm(dl) == stats for dl in learn.dls.loaders)

def test_explicit_stats_that_differ_from_the_backbones_warn(shapes, tmp_path):
    _, df = shapes
    with pytest.warns(UserWarning, match=r"normalise with mean \[0.485, 0.456, 0.406\].*'efficientnet_lite0' was pretrained with mean \[0.5, 0.5, 0.5\]"):
        cnn_learner(image_dls(df, size=32, bs=8, stats=imagenet_stats))
    r18 = tmp_path/'r18.pth'
    torch.save(load_backbone('resnet18', pretrained=False).state_dict(), r18)
    lite = image_dls(df, size=32, bs=8, stats='efficientnet_lite0')
    with pytest.warns(UserWarning, match=r"'resnet18' was pretrained with mean \[0.485.*image_dls\(\.\.\., stats='resnet18'\)"):
        learn = cnn_learner(lite, 'resnet18', weights=r18)
    assert _norm(learn.dls) == [[0.5]*3]*2   # warned, not changed
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        cnn_learner(image_dls(df, size=32, bs=8, stats='resnet18'), 'resnet18', weights=r18)   # matching: silent
        cnn_learner(lite, 'resnet18', pretrained=False)   # an untrained backbone has no statistics of its own to miss

def test_a_lite_model_exports_its_normalisation(shapes, tmp_path):
    from fastai_tl.export import read_meta
    _, df = shapes
    meta = read_meta(cnn_learner(image_dls(df, size=32, bs=8)).export_safe(tmp_path/'lite'))
    assert (meta['mean'], meta['std']) == ([0.5]*3, [0.5]*3)

def test_a_torchvision_function_offline_fails_with_the_kits_message(shapes, tmp_path, monkeypatch):
    "fastai's `cnn_learner(dls, resnet18)` on a machine with no internet: the kit's fast message, as for the name 'resnet18'"
    from fastai_tl import hub
    monkeypatch.setattr(hub, 'reachable', lambda host, timeout=3.: False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))   # an empty torch hub cache
    _, df = shapes
    with pytest.raises(hub.OfflineError, match="weights='path/to/weights.pth'"): cnn_learner(image_dls(df, size=32, bs=8), resnet18)
