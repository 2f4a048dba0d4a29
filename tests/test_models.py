"Backbones: hub backbones offline (a fast, clear failure, without touching the network), and what the embedded ones load."
import importlib, socket, time
import huggingface_hub, pytest, timm, torch
from PIL import Image
from safetensors.torch import load_file
from sklearn.datasets import load_sample_image
from fastai_tl import hub
from fastai_tl.hub import OfflineError
from fastai_tl.models import load_backbone, embedded_backbones, embedded_weights, imagenet_top

@pytest.fixture
def offline(monkeypatch):
    "Every hub host is unreachable, as on a machine with no internet; nothing is sent anywhere"
    monkeypatch.setattr(hub, 'reachable', lambda host, timeout=3.: False)

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
    assert not hub.reachable('huggingface.co', timeout=0.5)
    assert time.time() - start < 5
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example:3128')
    assert hub.reachable('huggingface.co')   # only the proxy knows: the hub is left to try

def test_a_mirror_is_probed_and_named(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(hub, 'reachable', lambda host, timeout=3.: asked.append(host) and False)
    monkeypatch.setattr(huggingface_hub.constants, 'ENDPOINT', 'https://hf-mirror.example')
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf'))
    with pytest.raises(OfflineError, match='hf-mirror.example'): load_backbone('convnext_tiny')
    assert asked == ['hf-mirror.example']

def test_a_bad_argument_offline_is_not_called_offline(offline, tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf'))
    with pytest.raises(TypeError, match='bogus'): load_backbone('convnext_tiny', bogus=1)

def test_unknown_name_says_what_exists():
    with pytest.raises(ValueError, match='Unknown backbone.*efficientnet_lite0.*resnet34'): load_backbone('resnet35')

@pytest.fixture(scope='module')
def china(): return Image.fromarray(load_sample_image('china.jpg'))

def _names(model, img, **kwargs): return [n for n, _ in imagenet_top(model, img, **kwargs)]

def test_embedded_backbones_know_imagenet(china):
    "Each embedded backbone names the temple's kind of building; Lite0 sees the daisy; an untrained network has no idea"
    buildings = ('church', 'bell cote', 'palace', 'monastery', 'castle', 'stupa')
    for arch, e in embedded_backbones.items():
        top = _names(load_backbone(arch), china, size=e['size'])
        assert any(b in n for n in top for b in buildings), (arch, top)
    assert 'daisy' in _names(load_backbone(), Image.fromarray(load_sample_image('flower.jpg')))[0]
    torch.manual_seed(0)
    untrained = _names(load_backbone(pretrained=False), china)
    assert not any(b in n for n in untrained for b in buildings[:4]), untrained

def test_imagenet_top_needs_the_classifier(china):
    with pytest.raises(AssertionError, match='1280 outputs, not 1,000'): imagenet_top(load_backbone(num_classes=0), china)

def test_a_weights_file_loads_under_timms_name(tmp_path, china):
    lite0 = load_backbone()
    torch.save(lite0.state_dict(), tmp_path/'lite0.pth')
    again = load_backbone('tf_efficientnet_lite0', weights=tmp_path/'lite0.pth')
    assert imagenet_top(again, china) == imagenet_top(lite0, china)
    r18 = load_backbone('resnet18', pretrained=False)
    torch.save(r18.state_dict(), tmp_path/'r18.pth')
    assert torch.equal(load_backbone('resnet18', weights=tmp_path/'r18.pth').fc.weight, r18.fc.weight)

@pytest.mark.parametrize('arch, n', [('efficientnet_lite0', 1280), ('resnet18', 512), ('vgg16_bn', 512)])
def test_features_whatever_the_family(arch, n):
    "num_classes=0 gives the pooled features, as timm means it, for torchvision's backbones too"
    assert load_backbone(arch, pretrained=False, num_classes=0).eval()(torch.randn(1, 3, 64, 64)).shape == (1, n)

def test_torchvision_refuses_timm_arguments():
    with pytest.raises(TypeError, match='takes no drop_rate'): load_backbone('resnet18', pretrained=False, drop_rate=0.2)
    with pytest.raises(ValueError, match='num_classes=2'): load_backbone('resnet18', pretrained=False, num_classes=2)
    with pytest.raises(ValueError, match='Unknown backbone'): load_backbone('efficientnet_lite9')
