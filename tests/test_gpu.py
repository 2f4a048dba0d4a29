"The paths that move a model between devices, on a CUDA GPU; skipped where there is none (CI never has one)"
import shutil
import numpy as np, pytest, torch
import matplotlib; matplotlib.use('Agg')
from fastai.vision.all import set_seed
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls, split_df
from fastai_tl.learner import cnn_learner
from fastai_tl.heatmaps import box_scores
from fastai_tl.predict import Predictor
from fastai_tl.clean import image_features
from fastai_tl.export import export_onnx, onnx_session
import fastai_tl.interpret

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

@pytest.fixture(scope='module')
def dls(tmp_path_factory):
    "Shapes at 128 px with each object's box, as lesson 06 checks its heat maps, on the GPU"
    df = make_shapes(tmp_path_factory.mktemp('shapes'), n_per_class=30, size=128)
    return image_dls(split_df(df, valid_pct=0.3, stratify='label'), size=128, bs=16)

def test_cached_learner_moves_the_frozen_layers_to_the_gpu(dls):
    learn = cnn_learner(dls)
    assert learn.dls.device.type == 'cuda' and next(learn.model.parameters()).device.type == 'cpu'   # not fit yet
    cached = learn.fit_cached(1, 1e-3, cut='blocks.5')
    assert all(p.device.type == 'cuda' for p in learn.model.parameters())
    preds, targs = learn.get_preds()
    assert preds.shape == (len(learn.dls.valid_ds), 3) and cached.recorder.values

def cam_checks(maps, items):
    "What heat maps of a trained shapes model show: one finite map in [0, 1] per image, peaking on the object"
    assert maps.shape == (len(items), 128, 128) and np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    found = box_scores(maps, items).mean()   # all-zero maps (NaN) left out, as lesson 06 does
    assert found['peak in box'] >= 0.75 and found['box heat ÷ map heat'] >= 2, found   # lesson 06: 92% and 4.3 at blocks.5

def test_cam_and_feature_maps_of_a_cpu_model_on_gpu_batches(dls):
    "As after load_learner(cpu=True): the model on the CPU, the batches on the GPU"
    set_seed(42)
    learn = cnn_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit_cached(3, 1e-2)
    items = dls.valid.items
    xb = torch.cat([b[0] for b in dls.test_dl(items)])
    learn.model.cpu()
    cam_checks(learn.cam(xb), items)
    learn.model.cpu(); learn.show_cam(items.iloc[:2])
    learn.model.cpu(); learn.show_feature_maps(items.iloc[0], 'blocks.5')

def test_predictor_runs_on_the_gpu_by_default_and_agrees_with_the_cpu(model, shapes):
    files = sorted(shapes.glob('*/*.png'))
    gpu, cpu = Predictor(model), Predictor(model, device='cpu')
    assert gpu.device.type == 'cuda' and next(gpu.model.parameters()).is_cuda
    a, b = gpu.predict(files), cpu.predict(files)
    assert [r['prediction'] for r in a] == [r['prediction'] for r in b]
    probs = lambda records: [list(r['probabilities'].values()) for r in records]
    assert np.allclose(probs(a), probs(b), atol=1e-3)

def test_onnx_runs_on_cudas_provider_when_onnxruntime_has_it(model, tmp_path):
    ort = pytest.importorskip('onnxruntime')
    if 'CUDAExecutionProvider' not in ort.get_available_providers(): pytest.skip('onnxruntime without CUDA (onnxruntime-gpu)')
    path = shutil.copytree(model, tmp_path/'model')
    sess = onnx_session(export_onnx(path), 'cuda')
    assert sess.get_providers()[0] == 'CUDAExecutionProvider'

def test_clean_features_on_the_gpu_match_the_cpu(shapes):
    files = sorted(shapes.glob('*/*.png'))[:8]
    gpu, cpu = image_features(files, size=64), image_features(files, size=64, device='cpu')
    assert np.allclose(gpu.values, cpu.values, atol=1e-2, rtol=1e-2)

@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs two CUDA GPUs')
def test_train_on_two_gpus(tmp_path):
    "`fastai-tl train` under torchrun on two GPUs: one model, validated on the whole set by each process"
    from test_distributed import train   # tests/ is on the path: pytest puts a test file's folder there
    data = tmp_path/'shapes'
    make_shapes(data, n_per_class=40, size=48)
    for name, args in {'cached': ['--lr', '3e-3'], 'finetune': ['--strategy', 'finetune', '--lr', '1e-3']}.items():
        m, stdout = train(data, tmp_path/name, '--bs', '8', *args, processes=2)
        assert m['processes'] == 2 and m['device'].startswith('cuda') and m['valid_images'] == 30
        assert stdout.count('"valid_loss"') == 1 and m['accuracy'] >= 0.6, m
        records = Predictor(tmp_path/name).predict(sorted(data.glob('*/*.png')))
        assert sum(r['prediction'] == r['file'].split('/')[-2] for r in records) / len(records) >= 0.6
