"The int8 model: the three runtimes agree on a trained model's decisions, and a broken calibration is refused."
import shutil, warnings
import pytest
from PIL import Image
from fastai.vision.all import get_image_files
from fastai_tl.predict import Predictor
from fastai_tl.quantize import export_int8, int8_agreement

warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')

@pytest.fixture(scope='module')
def exported(model, shapes, tmp_path_factory):
    "A copy of the trained shapes model (these tests write into its folder), and the shapes halved: calibration and held-out files"
    files = get_image_files(shapes)
    return shutil.copytree(model, tmp_path_factory.mktemp('quantize')/'model'), files[::2], files[1::2]

def test_int8_onnx_and_pytorch_predictors_agree(exported):
    path, train, valid = exported
    fn = export_int8(path, valid, calib=train)
    assert fn.exists() and fn.stat().st_size < (path/'model.onnx').stat().st_size / 3
    assert len(list((path/'calibration').iterdir())) == len(train)   # the sample is kept beside the model
    preds = {rt: [r['prediction'] for r in Predictor(path, runtime=rt).predict(valid)] for rt in ('torch', 'onnx', 'int8')}
    assert preds['torch'] == preds['onnx']
    assert sum(a == b for a, b in zip(preds['onnx'], preds['int8'])) / len(valid) >= 0.95
    assert int8_agreement(path, valid) >= 0.95

def test_a_constant_calibration_is_refused_and_nothing_is_kept(exported, tmp_path):
    path, _, valid = exported
    Image.new('RGB', (64, 64), (128, 128, 128)).save(tmp_path/'grey.png')
    (path/'model.int8.onnx').unlink(missing_ok=True)
    with pytest.raises(ValueError, match='it was not kept'): export_int8(path, valid, calib=[tmp_path/'grey.png']*16)
    assert not (path/'model.int8.onnx').exists()
    with pytest.raises(FileNotFoundError): Predictor(path, runtime='int8')

def test_a_new_export_removes_the_int8_model_of_the_old_weights(exported, trained):
    path, train, valid = exported
    export_int8(path, valid, calib=train)
    trained.export_safe(path)
    assert not (path/'model.int8.onnx').exists() and not (path/'model.onnx').exists()
