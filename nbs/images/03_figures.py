"""The figures of lesson 03 (How a CNN sees). Run from the repository root: python nbs/images/03_figures.py"""
from pathlib import Path
import numpy as np
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

HERE = Path(__file__).parent
IMG = np.array([[1, 1, 1, 0, 0],
                [0, 1, 1, 1, 0],
                [0, 0, 1, 1, 1],
                [0, 0, 1, 1, 0],
                [0, 1, 1, 0, 0]])
KERNEL = np.array([[1, 0, 1],
                   [0, 1, 0],
                   [1, 0, 1]])

def _grid(ax, values, shade, title, fmt='{:d}'):
    "Draw `values` as a grid of numbered cells, each filled with the colour `shade` gives it"
    n, m = values.shape
    for i in range(n):
        for j in range(m):
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=shade(i, j), edgecolor='grey', lw=1))
            if not np.isnan(values[i, j]): ax.text(j + 0.5, i + 0.5, fmt.format(int(values[i, j])), ha='center', va='center', fontsize=14)
    ax.set(xlim=(-0.1, m + 0.1), ylim=(n + 0.1, -0.1), aspect='equal', title=title)
    ax.axis('off')

def kernel_slide(positions=((0, 0), (0, 1), (2, 2)), fname='03_kernel_slide.png', figsize=(11, 7)):
    "A 3×3 kernel at three of its positions over a 5×5 image (top), and the feature map filling in (bottom)"
    out = np.array([[(IMG[i:i+3, j:j+3] * KERNEL).sum() for j in range(3)] for i in range(3)], dtype=float)
    order = [(i, j) for i in range(3) for j in range(3)]
    fig, axs = plt.subplots(2, len(positions), figsize=figsize, gridspec_kw=dict(height_ratios=(5, 3.4)))
    for col, (r, c) in enumerate(positions):
        step = order.index((r, c)) + 1
        inside = lambda i, j: r <= i < r + 3 and c <= j < c + 3
        _grid(axs[0, col], IMG.astype(float), lambda i, j: ('#ffd966' if inside(i, j) else '#f2f2f2'),
              f'position {step} of 9\nrows {r} to {r+2}, columns {c} to {c+2}')
        for i in range(3):
            for j in range(3):   # the kernel's weight under each pixel it covers
                axs[0, col].text(c + j + 0.93, r + i + 0.9, f'×{KERNEL[i, j]}', ha='right', va='bottom', fontsize=9, color='#b45f06')
        axs[0, col].add_patch(Rectangle((c, r), 3, 3, fill=False, edgecolor='#b45f06', lw=3))
        done = np.full((3, 3), np.nan)
        for i, j in order[:step]: done[i, j] = out[i, j]
        products = ' + '.join(str(v) for v in (IMG[r:r+3, c:c+3] * KERNEL).flatten())
        _grid(axs[1, col], done, lambda i, j: '#ffd966' if (i, j) == (r, c) else ('#f2f2f2' if not np.isnan(done[i, j]) else 'white'),
              f'{products} = {int(out[r, c])}')
        axs[1, col].title.set_fontsize(10)
    axs[0, 0].text(-0.5, 2.5, 'image 5×5\nkernel 3×3', ha='right', va='center', fontsize=12)
    axs[1, 0].text(-0.5, 1.5, 'feature map\n3×3', ha='right', va='center', fontsize=12)
    fig.suptitle('The kernel slides over the image; each position gives one value of the feature map', fontsize=14)
    fig.tight_layout()
    fig.savefig(HERE/fname, dpi=100)
    plt.close(fig)
    return HERE/fname

if __name__ == '__main__':
    print(kernel_slide())
