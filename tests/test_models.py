"Hub backbones offline: a fast, clear failure, without touching the network."
import importlib, socket, time
import huggingface_hub, pytest, timm, torch
from safetensors.torch import load_file
from fastai_tl import models
from fastai_tl.models import load_backbone, embedded_backbones, embedded_weights, OfflineError

@pytest.fixture
def offline(monkeypatch):
    "Every hub host is unreachable, as on a machine with no internet; nothing is sent anywhere"
    monkeypatch.setattr(models, '_reachable', lambda host, timeout=3.: False)

@pytest.mark.parametrize('arch', ['convnext_tiny', 'resnet34', 'vgg16_bn'])
def test_hub_backbone_fails_fast_with_a_way_out(offline, arch, tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))          # an empty torch hub cache
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf'))   # and an empty Hugging Face cache (read when called; the variable only at import)
    start = time.time()
    with pytest.raises(OfflineError) as e: load_backbone(arch)
    assert time.time() - start < 10
    msg = str(e.value)
    assert 'efficientnet_lite0' in msg and "weights='path/to/weights.pth'" in msg and arch in msg

@pytest.fixture
def no_sockets(monkeypatch):
    "Any attempt to open a connection fails the test"
    def refuse(*args, **kwargs): raise AssertionError('a network connection was attempted')
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)

def test_embedded_backbone_needs_no_network(no_sockets):
    m = load_backbone('efficientnet_lite0')
    w = load_file(str(embedded_weights('efficientnet_lite0')))
    assert torch.equal(m.conv_stem.weight, w['conv_stem.weight']) and torch.equal(m.classifier.weight, w['classifier.weight'])

def test_embedded_weights_convert_position_by_position(tmp_path, monkeypatch):
    monkeypatch.setenv('FASTAI_TL_HOME', str(tmp_path))   # an empty cache: convert from the package
    dest = embedded_weights('efficientnet_lite0')
    assert dest.parent == tmp_path
    e = embedded_backbones['efficientnet_lite0']
    src = torch.load(getattr(importlib.import_module(e['package']), e['cls']).get_model_file_path(), map_location='cpu', weights_only=True)
    got, names = load_file(str(dest)), timm.create_model(e['timm']).state_dict()   # safetensors sorts its keys: follow timm's order
    assert len(got) == len(src) == len(names)
    for k, b in zip(names, src.values()): assert torch.equal(got[k], b), k   # the package's tensors, in order, under timm's names
    assert embedded_weights('efficientnet_lite0') == dest   # cached: the second call converts nothing

def test_the_probe_bounds_a_hanging_lookup_and_trusts_a_proxy(monkeypatch):
    monkeypatch.delenv('https_proxy', raising=False); monkeypatch.delenv('HTTPS_PROXY', raising=False)
    def hang(*args, **kwargs): time.sleep(30); raise socket.gaierror('no answer')   # a DNS server that never answers (then gives up, as DNS does)
    monkeypatch.setattr(socket, 'create_connection', hang)
    start = time.time()
    assert not models._reachable('huggingface.co', timeout=0.5)
    assert time.time() - start < 5
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example:3128')
    assert models._reachable('huggingface.co')   # only the proxy knows: the hub is left to try

def test_a_mirror_is_probed_and_named(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(models, '_reachable', lambda host, timeout=3.: asked.append(host) and False)
    monkeypatch.setattr(huggingface_hub.constants, 'ENDPOINT', 'https://hf-mirror.example')
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf'))
    with pytest.raises(OfflineError, match='hf-mirror.example'): load_backbone('convnext_tiny')
    assert asked == ['hf-mirror.example']

def test_a_bad_argument_offline_is_not_called_offline(offline, tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf'))
    with pytest.raises(TypeError, match='bogus'): load_backbone('convnext_tiny', bogus=1)

def test_unknown_name_says_what_exists():
    with pytest.raises(ValueError, match='Unknown backbone.*efficientnet_lite0.*resnet34'): load_backbone('resnet35')
