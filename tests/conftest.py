"The environment of every test, and what several test files share: generated shapes, a model trained on them, its safe export, bad images"
import io, os
import pytest

# Lessons shrink subsets and epochs in quick mode; the committed notebooks keep a full run's outputs.
os.environ['FASTAI_TL_QUICK'] = '1'
# PyTorch's OpenMP threads spin while they wait for a core; on a shared 2-core machine that made torch 5-40 times slower.
# Set before torch is imported here, and inherited by the lessons' processes.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

@pytest.fixture(scope='session')
def png():
    "A function: PIL image `img` as the bytes of a PNG file"
    def encode(img) -> bytes:
        b = io.BytesIO()
        img.save(b, 'PNG')
        return b.getvalue()
    return encode

@pytest.fixture(scope='session')
def shapes(tmp_path_factory):
    "Ten generated 48-pixel images of each shape in class folders circle/, square/ and triangle/ (and labels.csv)"
    from fastai_tl.shapes import make_shapes
    d = tmp_path_factory.mktemp('shapes')
    make_shapes(d, n_per_class=10, size=48)
    return d

@pytest.fixture(scope='session')
def trained(shapes):
    "A classifier of `shapes` trained for two epochs (head only, on cached features)"
    from fastai_tl.data import image_dls
    from fastai_tl.learner import cnn_learner
    learn = cnn_learner(image_dls(shapes, size=48, bs=8))
    with learn.no_bar(), learn.no_logging(): learn.fit_cached(2, 1e-2)
    return learn

@pytest.fixture(scope='session')
def model(trained, tmp_path_factory):
    "`trained` exported without pickle: a folder to read; a test that writes into it works on a copy"
    import fastai_tl.export   # patches export_safe onto Learner
    return trained.export_safe(tmp_path_factory.mktemp('export')/'model')

@pytest.fixture(scope='session')
def other_dls(shapes):
    "DataLoaders of `shapes` for the other two problems: multi-label (round/corners, pointy/flat) and regression (0 to 10)"
    import numpy as np, pandas as pd
    from fastai.vision.all import ColReader, DataBlock, ImageBlock, MultiCategoryBlock, Normalize, RegressionBlock, Resize
    df = pd.DataFrame({'path': [str(p) for p in sorted(shapes.glob('*/*.png'))]})
    df['labels'] = [('round ' if 'circle' in p else 'corners ') + ('pointy' if 'triangle' in p else 'flat') for p in df.path]
    df['value'] = np.linspace(0, 10, len(df))
    common = dict(get_x=ColReader('path'), item_tfms=Resize(40), batch_tfms=Normalize.from_stats([0.5]*3, [0.5]*3))
    block = lambda y, get_y: DataBlock((ImageBlock, y), get_y=get_y, **common).dataloaders(df, bs=8, num_workers=0)
    return {'multilabel': block(MultiCategoryBlock, ColReader('labels', label_delim=' ')),
            'regression': block(RegressionBlock, ColReader('value'))}

@pytest.fixture(scope='session')
def bad_images(shapes, png) -> dict:
    "Name: the bytes, the HTTP status and a key phrase of the error, of each kind of file that is not a usable image"
    from PIL import Image
    gif = io.BytesIO()
    Image.new('RGB', (8, 8)).save(gif, 'GIF')
    return {'empty': (b'', 422, 'is empty'),
            'text': (b'just some text', 415, 'is not a JPEG, PNG, BMP, TIFF or WebP image'),
            'truncated': ((shapes/'circle'/'circle_000.png').read_bytes()[:300], 422, 'cannot be decoded'),
            'bomb': (png(Image.new('P', (20000, 20000))), 422, 'more pixels than the limit of 40 million'),
            '48 MP': (png(Image.new('L', (8000, 6000))), 422, '8000×6000 = 48 million pixels'),
            'GIF': (gif.getvalue(), 415, 'is not a JPEG')}
