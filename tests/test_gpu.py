"The paths that move a model between devices, on a CUDA GPU; skipped where there is none (CI never has one)"
import pytest, torch
import matplotlib; matplotlib.use('Agg')
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
import fastai_tl.interpret

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

@pytest.fixture(scope='module')
def learn(tmp_path_factory):
    df = make_shapes(tmp_path_factory.mktemp('shapes'), n_per_class=12, size=64)
    return cnn_learner(image_dls(df, size=64, bs=8), 'efficientnet_lite0')

def test_cached_learner_moves_the_frozen_layers_to_the_gpu(learn):
    assert learn.dls.device.type == 'cuda' and next(learn.model.parameters()).device.type == 'cpu'   # not fit yet
    cached = learn.fit_cached(1, 1e-3, cut='blocks.5')
    assert all(p.device.type == 'cuda' for p in learn.model.parameters())
    preds, targs = learn.get_preds()
    assert preds.shape == (len(learn.dls.valid_ds), 3) and cached.recorder.values

def test_cam_and_feature_maps_on_the_gpu(learn):
    learn.model.cpu()   # as after load_learner(cpu=True): the batches still come on the GPU
    items = learn.dls.valid.items.iloc[:2]
    maps = learn.cam(learn.dls.test_dl(items).one_batch()[0])
    assert maps.shape == (2, 64, 64) and 0 <= maps.min() and maps.max() <= 1
    learn.model.cpu(); learn.show_cam(items)
    learn.model.cpu(); learn.show_feature_maps(items.iloc[0], 'blocks.5')
