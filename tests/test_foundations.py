"""The hand-written operations of lessons 02 and 03 against PyTorch, beyond what the lessons show:
a wider random sweep, float64, gradients, edge cases of softmax and cross-entropy, and the lessons' plotting helpers."""
import random
from functools import partial
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import fastcore.test as fct
from fastai_tl.foundations import gradient_descent, plot_losses, softmax, cross_entropy
from fastai_tl.convolutions import conv_out_size, conv2d, avg_pool2d, max_pool2d, max_unpool2d, show_maps

def _configs(n, seed):
    "Random (batch, channels, filters, h, w, k, stride, padding) with padding <= k//2, as PyTorch's pooling requires"
    rng = random.Random(seed)
    for _ in range(n):
        k = rng.randint(1, 6)
        yield (rng.randint(1, 3), rng.randint(1, 6), rng.randint(1, 6), rng.randint(k, 20), rng.randint(k, 20),
               k, rng.randint(1, 4), rng.randint(0, k//2))

CONFIGS = list(_configs(200, seed=1))

@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_conv2d_matches_torch(dtype):
    torch.manual_seed(0)
    for bs, c, f, h, w, k, s, p in CONFIGS:
        x, wt = torch.randn(bs, c, h, w, dtype=dtype), torch.randn(f, c, k, k, dtype=dtype)
        out, expected = conv2d(x, wt, s, p), F.conv2d(x, wt, stride=s, padding=p)
        fct.test_eq((out.shape, out.dtype), (expected.shape, dtype))
        fct.test_close(out, expected, eps=1e-4)
        fct.test_eq(expected.shape[2:], (conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)))

def test_conv2d_gradients_match_torch():
    "Training backpropagates through `conv2d`: its gradients must be PyTorch's"
    torch.manual_seed(0)
    for bs, c, f, h, w, k, s, p in CONFIGS[:40]:
        x, wt = torch.randn(bs, c, h, w, requires_grad=True), torch.randn(f, c, k, k, requires_grad=True)
        g = torch.randn_like(F.conv2d(x, wt, stride=s, padding=p))
        ours = torch.autograd.grad((conv2d(x, wt, s, p) * g).sum(), (x, wt))
        theirs = torch.autograd.grad((F.conv2d(x, wt, stride=s, padding=p) * g).sum(), (x, wt))
        for a, b in zip(ours, theirs): fct.test_close(a, b, eps=1e-3)

def _max_pool_and_unpool_match_torch(x, k, s, p):
    "Our max pooling's values and indices, and the unpooling of them, equal PyTorch's for `x`"
    h, w = x.shape[2:]
    vals, idx = max_pool2d(x, k, s, p, return_indices=True)
    tvals, tidx = F.max_pool2d(x, k, s, p, return_indices=True)
    same = partial(torch.testing.assert_close, rtol=0, atol=0, equal_nan=True)   # exact, and NaN where PyTorch has NaN
    same(vals, tvals)
    fct.test_eq(idx, tidx)
    same(max_unpool2d(vals, idx, (h, w)), F.max_unpool2d(tvals, tidx, k, s, p, output_size=(h, w)))

def test_pooling_and_unpooling_match_torch():
    torch.manual_seed(0)
    for bs, c, _, h, w, k, s, p in CONFIGS:
        x = torch.randn(bs, c, h, w)
        fct.test_close(avg_pool2d(x, k, s, p), F.avg_pool2d(x, k, s, p))
        fct.test_eq(max_pool2d(x, k, s, p), F.max_pool2d(x, k, s, p))
        _max_pool_and_unpool_match_torch(x, k, s, p)

@pytest.mark.parametrize('fill,share', [(float('-inf'), 0.7), (float('nan'), 0.3)], ids=['inf', 'nan'])
def test_max_pool_indices_match_torch_with(fill, share):
    "As PyTorch's: all--inf windows point at their first real pixel, not the padding; NaN windows at their last NaN"
    torch.manual_seed(0)
    for bs, c, _, h, w, k, s, p in CONFIGS:
        x = torch.randn(bs, c, h, w)
        x[torch.rand_like(x) < share] = fill
        _max_pool_and_unpool_match_torch(x, k, s, p)

def test_pooling_and_conv_shape_errors():
    "Pooling refuses padding over half the window, as PyTorch does; convolution allows it, as PyTorch does; wrong shapes say so"
    x = torch.randn(1, 2, 6, 6)
    for k, p in [(1, 1), (2, 2), (3, 2), (5, 3)]:
        for pool in (max_pool2d, avg_pool2d):
            fct.test_fail(lambda: pool(x, k, 1, p), contains=f'use padding <= {k//2}')
        fct.test_fail(lambda: F.max_pool2d(x, k, 1, p), contains='at most half')
        wt = torch.randn(3, 2, k, k)
        fct.test_close(conv2d(x, wt, 1, p), F.conv2d(x, wt, padding=p), eps=1e-4)
    fct.test_fail(lambda: conv2d(x, torch.randn(3, 1, 3, 3)), contains='(filters, 2, k, k)')
    fct.test_fail(lambda: conv2d(x, torch.randn(3, 2, 3)), contains='(filters, 2, k, k)')
    for f in (lambda t: conv2d(t, torch.randn(3, 2, 3, 3)), lambda t: max_pool2d(t, 2), lambda t: avg_pool2d(t, 2)):
        fct.test_fail(lambda: f(x[0]), contains='(N, C, H, W)')

def test_pooling_stride_defaults_to_window():
    x = torch.randn(2, 3, 8, 6)
    fct.test_eq(max_pool2d(x, 2), F.max_pool2d(x, 2))
    fct.test_close(avg_pool2d(x, 3), F.avg_pool2d(x, 3))
    fct.test_eq(max_pool2d(x, 2).shape, (2, 3, 4, 3))

def test_max_pool_gradient_flows_to_the_maximum():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 6, 6, requires_grad=True)
    (g,) = torch.autograd.grad(max_pool2d(x, 2).sum(), x)
    (tg,) = torch.autograd.grad(F.max_pool2d(x, 2).sum(), x)
    fct.test_eq(g, tg)

def test_unpool_after_pool_keeps_only_the_maxima():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    vals, idx = max_pool2d(x, 2, return_indices=True)
    up = max_unpool2d(vals, idx, (8, 8))
    fct.test_eq(max_pool2d(up.masked_fill(up == 0, float('-inf')), 2), vals)
    fct.test_eq((up != 0).sum().item(), vals.numel())

def test_softmax_and_cross_entropy_match_torch():
    torch.manual_seed(0)
    for shape in [(1, 2), (16, 10), (3, 4, 7)]:
        z = 10 * torch.randn(shape)
        fct.test_close(softmax(z), F.softmax(z, dim=-1))
    for n, c in [(1, 2), (64, 10), (5, 1000)]:
        z, t = 10 * torch.randn(n, c, requires_grad=True), torch.randint(0, c, (n,))
        fct.test_close(cross_entropy(z, t), F.cross_entropy(z, t))
        (g,) = torch.autograd.grad(cross_entropy(z, t), z)
        (tg,) = torch.autograd.grad(F.cross_entropy(z, t), z)
        fct.test_close(g, tg)

def test_softmax_edge_cases():
    "Huge logits do not overflow; a masked (-inf) class gets probability 0; outputs lie in [0, 1] and sum to 1"
    z = torch.tensor([[1e4, 1e4 - 1, -1e4], [0., float('-inf'), 1.]])
    p = softmax(z)
    fct.test_close(p, F.softmax(z, dim=-1))
    fct.test_eq(p[1, 1].item(), 0.)
    assert ((p >= 0) & (p <= 1)).all() and not p.isnan().any()
    fct.test_close(p.sum(-1), torch.ones(2))
    fct.test_close(cross_entropy(torch.tensor([[1e4, -1e4]]), torch.tensor([1])), 2e4)

def test_gradient_descent_solves_multivariate_least_squares():
    "Not just a line: five features and a bias, checked against numpy's least squares"
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(200, 5)), np.ones(200)].astype(np.float32)
    y = (X @ rng.normal(size=6) + 0.1 * rng.normal(size=200)).astype(np.float32)
    best = np.linalg.lstsq(X, y, rcond=None)[0]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    start = torch.zeros(6)
    params, losses = gradient_descent(lambda w: ((Xt @ w - yt)**2).mean(), start, lr=0.1, steps=500)
    fct.test_close(params, torch.from_numpy(best), eps=1e-3)
    fct.test_eq(len(losses), 500)
    assert all(a >= b - 1e-6 for a, b in zip(losses, losses[1:])), 'loss should not rise with a stable learning rate'
    assert losses[-1] < 0.02 < losses[0]
    fct.test_eq(start, torch.zeros(6))
    assert not params.requires_grad

def test_gradient_descent_takes_exact_steps():
    "Each step multiplies p by 1 - 2*lr on the loss p**2; the losses are those before each step"
    p, losses = gradient_descent(lambda p: (p**2).sum(), torch.tensor([1.]), lr=0.25, steps=2)
    fct.test_close(p, torch.tensor([0.25]))
    fct.test_close(losses, [1., 0.25])

def test_cross_entropy_gradient_and_no_overflow():
    "The gradient of the mean cross-entropy is (softmax - one-hot) / n; a logit of 100 costs 100, not inf"
    torch.manual_seed(2)
    z, t = torch.randn(4, 3, requires_grad=True), torch.tensor([0, 2, 1, 1])
    cross_entropy(z, t).backward()
    fct.test_close(z.grad, (F.softmax(z, dim=-1) - F.one_hot(t, 3)).detach() / 4)
    fct.test_close(cross_entropy(torch.tensor([[0., 100.]]), torch.tensor([0])), 100.)
    logits = torch.tensor([[2., 1., 0.1], [1000., 1001., 999.]])
    assert (logits.exp() / logits.exp().sum(-1, keepdim=True)).isnan().any() and not softmax(logits).isnan().any()   # why we subtract the max

def test_plot_losses():
    ax = plot_losses({'a': [3., 2., 1.], 'b': [4., 1.]}, 'test', xlabel='epoch', figsize=(3, 2))
    fct.test_eq([l.get_label() for l in ax.lines], ['a', 'b'])
    fct.test_eq((ax.get_title(), ax.get_xlabel(), ax.get_yscale()), ('test', 'epoch', 'log'))
    fct.test_eq(tuple(ax.figure.get_size_inches()), (3., 2.))
    plt.close('all')

def test_show_maps():
    "Titles, size and a blank last panel; one scale for all with shared_scale, else each map from its own 1st to 99th percentile"
    fig = show_maps([torch.rand(5, 6)]*3, ['a', 'b', 'c'], 'test', ncols=2, figsize=(4, 4))
    fct.test_eq([ax.get_title() for ax in fig.axes], ['a', 'b', 'c', ''])
    fct.test_eq((fig._suptitle.get_text(), tuple(fig.get_size_inches())), ('test', (4., 4.)))
    fig = show_maps([torch.zeros(4, 4), torch.ones(4, 4)], ['dark', 'bright'], 'test', ncols=2, shared_scale=True)
    fct.test_eq([ax.images[0].get_clim() for ax in fig.axes], [(0., 1.), (0., 1.)])
    m = torch.arange(100.).view(10, 10)
    fig = show_maps([m, 2*m], ['m', '2m'], 't', ncols=2)
    fct.test_close([ax.images[0].get_clim() for ax in fig.axes], [(0.99, 98.01), (1.98, 196.02)])
    plt.close('all')
