"Lesson 06's heat maps and thresholds on the edges: classes by name, counts that do not fit, other backbones, panels that match their images"
import numpy as np, pandas as pd, pytest, torch
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from fastai.vision.all import ClassificationInterpretation, set_seed
from fastai_tl.shapes import make_shapes
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.scores import binary_scores
from fastai_tl.errors import KitError
import fastai_tl.interpret

@pytest.fixture(scope='module')
def binary(tmp_path_factory):
    "An untrained binary learner on circles and squares, *square* positive: the functions read scores and layers, not skill"
    df = make_shapes(tmp_path_factory.mktemp('shapes'), n_per_class=8, size=64, shapes=('circle', 'square'))
    set_seed(0)
    return cnn_learner(image_dls(df, size=64, bs=8), pretrained=False, pos_class='square')

@pytest.fixture(scope='module')
def items(binary): return binary.dls.valid.items.iloc[:3]

def test_cam_maps_are_scaled_and_classes_can_be_named(binary, items):
    xb = binary.dls.test_dl(items).one_batch()[0]
    maps = binary.cam(xb)
    assert maps.shape == (3, 64, 64) and maps.min() >= 0
    assert np.isin(maps.max((1, 2)).round(3), [0, 1]).all()   # each scaled to [0, 1]; an untrained model's map can be all zero
    assert (binary.cam(xb[:1], classes='circle') == binary.cam(xb[:1], classes=[0])).all()   # a class by name or by index
    assert (binary.cam(xb) == binary.cam(xb, layer='blocks.5')).all()   # blocks.5 is the default for an EfficientNet
    with pytest.raises(ValueError, match="No class 'cracked': the classes are circle, square"): binary.cam(xb[:1], classes=['cracked'])
    with pytest.raises(KitError, match="No layer 'block5_conv1'"): binary.cam(xb, layer='block5_conv1')

def test_show_cam_titles_each_panel_with_the_class_it_explains(binary, items):
    with pytest.raises(ValueError, match='4 classes for 3 images'): binary.show_cam(items, classes=[0] * 4)
    binary.show_cam(items.iloc[:2], classes='circle')
    panels = [ax for ax in plt.gcf().axes if ax.images]
    assert [ax.get_title().split(' (')[0] for ax in panels] == ['circle'] * 2
    assert [len(ax.images) for ax in panels] == [2, 2]   # each image with its heat map over it
    plt.close('all')

def test_top_losses_cam_draws_the_rows_of_the_top_loss_table(binary):
    interp = ClassificationInterpretation.from_learner(binary)
    interp.show_top_losses_cam(3)
    panels, top3 = [ax for ax in plt.gcf().axes if ax.images], interp.top_loss_table(3)
    assert [ax.get_title() for ax in panels] == [f'{r.prediction}/{r.actual}\n{r.loss:.2f} / {r.probability:.2f}' for r in top3.itertuples()]
    for ax, i in zip(panels, top3.index):   # the image of that row of the table, give or take rounding
        shown, img = np.asarray(ax.images[0].get_array(), dtype=float), interp.dl.do_item(i)[0].permute(1, 2, 0).float().numpy()
        assert np.abs(shown - img).max() <= 1.01
    plt.close('all')

def test_threshold_for_recall_is_the_highest_that_reaches_it(binary):
    interp = ClassificationInterpretation.from_learner(binary)
    score, y = binary_scores(interp)
    for target in (0.5, 0.75, 1.0):
        at = interp.threshold_for_recall(target)
        assert at['recall'] >= target
        above = score[score > at['threshold']]
        if len(above): assert interp.metrics_at(above.min())['recall'] < target
    binary.loss_func.thresh = interp.threshold_for_recall(1.0)['threshold']
    try: assert interp.per_class().loc['square', 'recall'] == 1   # the tables follow the threshold set on the loss
    finally: binary.loss_func.thresh = 0.5

@pytest.mark.parametrize('arch', ['resnet10t', 'convnext_atto'])
def test_cam_on_other_backbones(binary, items, arch):
    other = cnn_learner(binary.dls, arch, pretrained=False)
    xb = binary.dls.test_dl(items).one_batch()[0]
    assert other.cam(xb).shape == (3, 64, 64)   # the default: the body's output
    if arch == 'resnet10t': assert other.cam(xb, layer='0.model.layer3').shape == (3, 64, 64)
    else:
        with pytest.raises(KitError, match='none known for this backbone'): other.cam(xb, layer='blocks.5')

def test_fastais_confusion_matrix_follows_the_threshold_as_the_kits_tables_do(binary):
    "fastai's own `confusion_matrix` (the kit replaces it no more) decodes with `BinaryLoss`: it agrees with `predictions` at any threshold"
    interp = ClassificationInterpretation.from_learner(binary)
    assert ClassificationInterpretation.confusion_matrix.__module__ == 'fastai.interpret'
    score, _ = binary_scores(interp)
    try:
        for t in np.quantile(score, [0.25, 0.5, 0.75]):
            binary.loss_func.thresh = float(t)
            p = interp.predictions()
            cm = pd.crosstab(p.actual, p.predicted).reindex(index=list(interp.vocab), columns=list(interp.vocab), fill_value=0).values
            assert (interp.confusion_matrix() == cm).all(), t
    finally: binary.loss_func.thresh = 0.5
