"Hub backbones offline: a fast, clear failure, without touching the network."
import time
import pytest
from fastai_tl import models
from fastai_tl.models import load_backbone, OfflineError

@pytest.fixture
def offline(monkeypatch):
    "Every hub host is unreachable, as on a machine with no internet; nothing is sent anywhere"
    monkeypatch.setattr(models, '_reachable', lambda host, timeout=3.: False)

@pytest.mark.parametrize('arch', ['convnext_tiny', 'resnet34', 'vgg16_bn'])
def test_hub_backbone_fails_fast_with_a_way_out(offline, arch, tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))          # an empty torch hub cache
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path/'hf'))   # and an empty Hugging Face cache
    start = time.time()
    with pytest.raises(OfflineError) as e: load_backbone(arch)
    assert time.time() - start < 10
    msg = str(e.value)
    assert 'efficientnet_lite0' in msg and "weights='path/to/weights.pth'" in msg and arch in msg

def test_embedded_backbone_needs_no_network(offline):
    assert load_backbone('efficientnet_lite0').classifier.out_features == 1000

def test_unknown_name_says_what_exists():
    with pytest.raises(ValueError, match='Unknown backbone.*efficientnet_lite0.*resnet34'): load_backbone('resnet35')
