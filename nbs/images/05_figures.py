"""The figures of lesson 05 (transfer learning). Run from the repository root: python nbs/images/05_figures.py"""
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch, Patch

HERE = Path(__file__).parent
FROZEN, TRAINS, HIGHLIGHT = '#c9d3de', '#f28e2b', '#4e79a7'

def scenarios(figsize=(10.5, 6.4), fn=HERE/'05_scenarios.png'):
    "cs231n's four transfer-learning scenarios as a 2x2 grid: how much data, and how similar to ImageNet; ELPV's cell marked"
    cells = {(0, 0): ('1', 'Fixed feature extractor', 'a linear classifier (or the head)\non the last layer\'s features;\nfine-tuning risks over-fitting'),
             (0, 1): ('3', 'Features from earlier layers', 'a linear classifier on more generic,\nearlier features, or fine-tune\nonly the top stages'),
             (1, 0): ('2', 'Fine-tune the whole network', 'enough data to adapt every layer\nwithout over-fitting'),
             (1, 1): ('4', 'Fine-tune the whole network', 'start from the pretrained weights\n(or train from scratch,\nwith enough compute)')}
    fig, ax = plt.subplots(figsize=figsize)
    for (r, c), (num, title, body) in cells.items():
        y = 1 - r
        elpv = (r, c) == (0, 1)
        ax.add_patch(FancyBboxPatch((c + .04, y + .04), .92, .92, boxstyle='round,pad=0,rounding_size=.05',
                                    fc='#fde9d5' if elpv else '#eef2f6', ec=TRAINS if elpv else '#9aa8b8', lw=3 if elpv else 1.5))
        ax.text(c + .1, y + .84, f'Scenario {num}', fontsize=11, color='#555', va='center')
        ax.text(c + .5, y + .68, title, fontsize=12, weight='bold', ha='center', va='center')
        ax.text(c + .5, y + .38, body, fontsize=11, ha='center', va='center', linespacing=1.4)
        if elpv: ax.text(c + .5, y + .12, 'here: the ELPV solar cells', fontsize=10, ha='center', color=TRAINS, weight='bold')
    for c, t in enumerate(['similar to ImageNet', 'different from ImageNet']): ax.text(c + .5, 2.06, t, ha='center', fontsize=13, weight='bold')
    for r, t in enumerate(['small dataset', 'large dataset']): ax.text(-.06, 1.5 - r, t, ha='right', va='center', rotation=90, fontsize=13, weight='bold')
    ax.set(xlim=(-.15, 2), ylim=(0, 2.15), title='When and how to transfer (cs231n): how much data, how similar to ImageNet')
    ax.title.set_fontsize(13)
    ax.axis('off')
    fig.savefig(fn, dpi=110, bbox_inches='tight')
    plt.close(fig)

STAGES = ['stem', 'blocks.0', 'blocks.1', 'blocks.2', 'blocks.3', 'blocks.4', 'blocks.5', 'blocks.6', 'conv_head', 'head']

def frozen_blocks(figsize=(10, 3.6), fn=HERE/'05_frozen.png'):
    "EfficientNet-Lite0's stages, frozen or trainable, for three strategies: the head only, fine-tuning from a cut, the whole network"
    rows = [('feature extraction\n(head only)', STAGES.index('head')),
            ("fine-tune from a cut\n(freeze_from('blocks.5'))", STAGES.index('blocks.5')),
            ('whole network\n(unfreeze())', 0)]
    fig, ax = plt.subplots(figsize=figsize)
    for r, (name, first) in enumerate(rows):
        y = len(rows) - 1 - r
        ax.text(-.2, y + .4, name, ha='right', va='center', fontsize=10.5)
        for i, s in enumerate(STAGES):
            ax.add_patch(FancyBboxPatch((i + .06, y + .1), .88, .6, boxstyle='round,pad=0,rounding_size=.08',
                                        fc=TRAINS if i >= first else FROZEN, ec='white', lw=1))
        if 0 < first: ax.annotate('', xy=(first - .02, y + .85), xytext=(.04, y + .85),
                                  arrowprops=dict(arrowstyle='<->', color=HIGHLIGHT, lw=1.3))
        if 0 < first: ax.text(first / 2, y + .92, 'frozen: the kit runs it once and caches its output', ha='center', fontsize=8.5, color=HIGHLIGHT)
    for i, s in enumerate(STAGES): ax.text(i + .5, .02, s.replace('blocks.', ''), ha='center', va='top', fontsize=9.5)
    b0, b6 = STAGES.index('blocks.0'), STAGES.index('blocks.6')
    ax.plot([b0 + .1, b0 + .1, b6 + .9, b6 + .9], [-.2, -.26, -.26, -.2], color='#555', lw=1)
    ax.text((b0 + b6 + 1) / 2, -.32, 'blocks (inverted-residual stages)', ha='center', va='top', fontsize=9.5)
    ax.legend(handles=[Patch(fc=FROZEN, label='frozen'), Patch(fc=TRAINS, label='trains')], loc='upper right',
              bbox_to_anchor=(1, 0.02), ncol=2, frameon=False, fontsize=10)
    ax.set(xlim=(-3.2, len(STAGES) + .1), ylim=(-.6, len(rows) + .15), title='EfficientNet-Lite0, input on the left: what is frozen and what trains')
    ax.axis('off')
    fig.savefig(fn, dpi=110, bbox_inches='tight')
    plt.close(fig)

if __name__ == '__main__':
    scenarios()
    frozen_blocks()
