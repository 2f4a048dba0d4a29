"The int8 model: the three runtimes agree on a trained model's decisions, and a broken calibration is refused."
import warnings
import pytest
from PIL import Image
from fastai.vision.all import get_image_files, set_seed
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.predict import Predictor
from fastai_tl.quantize import export_int8, int8_agreement

warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A shapes classifier at 48 px trained for four epochs (confident decisions), its export, and train/held-out files"
    d = tmp_path_factory.mktemp('quantize')
    make_shapes(d/'shapes', n_per_class=16, size=64)
    set_seed(0)
    learn = cnn_learner(image_dls(d/'shapes', size=48, bs=8))
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(4)
    files = get_image_files(d/'shapes')
    return learn.export_safe(d/'model'), files[::2], files[1::2]

def test_int8_onnx_and_pytorch_predictors_agree(trained):
    path, train, valid = trained
    fn = export_int8(path, valid, calib=train)
    assert fn.exists() and fn.stat().st_size < (path/'model.onnx').stat().st_size / 3
    assert len(list((path/'calibration').iterdir())) == len(train)   # the sample is kept beside the model
    preds = {rt: [r['prediction'] for r in Predictor(path, runtime=rt).predict(valid)] for rt in ('torch', 'onnx', 'int8')}
    assert preds['torch'] == preds['onnx']
    assert sum(a == b for a, b in zip(preds['onnx'], preds['int8'])) / len(valid) >= 0.95
    assert int8_agreement(path, valid) >= 0.95

def test_a_constant_calibration_is_refused_and_nothing_is_kept(trained, tmp_path):
    path, _, valid = trained
    Image.new('RGB', (64, 64), (128, 128, 128)).save(tmp_path/'grey.png')
    (path/'model.int8.onnx').unlink(missing_ok=True)
    with pytest.raises(ValueError, match='it was not kept'): export_int8(path, valid, calib=[tmp_path/'grey.png']*16)
    assert not (path/'model.int8.onnx').exists()
    with pytest.raises(FileNotFoundError): Predictor(path, runtime='int8')

def test_a_new_export_removes_the_int8_model_of_the_old_weights(trained):
    path, train, valid = trained
    export_int8(path, valid, calib=train)
    learn = cnn_learner(image_dls(path.parent/'shapes', size=48, bs=8))
    learn.export_safe(path)
    assert not (path/'model.int8.onnx').exists() and not (path/'model.onnx').exists()
