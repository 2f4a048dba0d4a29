"""The kit's training speed levers against plain fastai on ELPV, same backbone, data, epochs and seed, over several seeds.

- frozen phase: fastai's `freeze()` + `fit_one_cycle(n)` against the kit's cached feature extraction (`fit_cached(n)`, the head
  on features computed once);
- fine-tuning: fastai's two-stage `fine_tune(n - 1, freeze_epochs=1)` against the kit's cached partial fine-tuning
  (`fit_cached(n, cut=...)`).
Each pair runs in one process, one after the other, so that the time ratio compares like with like on a shared machine.
Prints accuracy and seconds of each and the ratio, and writes bench/results/speed_levers.json.
Usage: python bench/speed_levers.py [--seeds 1 2] [--size 224] [--epochs 5 4] [--cut blocks.5] [--frac 1] [--compare frozen finetune]"""
import argparse, os, time, warnings
import pandas as pd
from fastai.vision.all import set_seed
from fastai_tl.data import image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.tasks import elpv_split
from common import write_results

warnings.filterwarnings('ignore')

def _accuracy(learn): return float(learn.recorder.values[-1][2])

def timed(fit):
    "Seconds to run `fit()` and the accuracy of the learner it returns"
    start = time.time()
    learn = fit()
    return time.time() - start, _accuracy(learn)

def frozen_pair(dls, seed, epochs, cut):
    "(fastai frozen fit, kit cached head) as (seconds, accuracy) each"
    def fastai_fit():
        set_seed(seed); learn = cnn_learner(dls, pos_class='defective')
        with learn.no_bar(): learn.fit_one_cycle(epochs, 3e-3)
        return learn
    def kit_fit():
        set_seed(seed); learn = cnn_learner(dls, pos_class='defective')
        with learn.no_bar(): return learn.fit_cached(epochs, 3e-3)
    return timed(fastai_fit), timed(kit_fit)

def finetune_pair(dls, seed, epochs, cut):
    "(fastai fine_tune, kit cached partial fine-tuning) as (seconds, accuracy) each"
    def fastai_fit():
        set_seed(seed); learn = cnn_learner(dls, pos_class='defective')
        with learn.no_bar(): learn.fine_tune(epochs - 1, 3e-3, freeze_epochs=1)
        return learn
    def kit_fit():
        set_seed(seed); learn = cnn_learner(dls, pos_class='defective')
        with learn.no_bar(): return learn.fit_cached(epochs, 3e-3, cut=cut)
    return timed(fastai_fit), timed(kit_fit)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2])
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--epochs', type=int, nargs=2, default=[5, 4], metavar=('FROZEN', 'FINETUNE'))
    p.add_argument('--cut', default='blocks.5')
    p.add_argument('--frac', type=float, default=1., help='share of the cells of each split to use (the ratios hold on a subset)')
    p.add_argument('--compare', nargs='+', choices=('frozen', 'finetune'), default=['frozen', 'finetune'])
    args = p.parse_args()
    pairs = dict(frozen=(frozen_pair, args.epochs[0], 'fastai freeze + fit_one_cycle', 'kit fit_cached (head)'),
                 finetune=(finetune_pair, args.epochs[1], 'fastai fine_tune', f'kit fit_cached(cut={args.cut!r})'))
    rows = []
    for seed in args.seeds:
        df = elpv_split(seed=seed)
        if args.frac < 1: df = df.groupby('split').sample(frac=args.frac, random_state=seed)
        dls, cells = image_dls(df, size=args.size, bs=32), len(df)
        for name in args.compare:
            fn, epochs, fastai_name, kit_name = pairs[name]
            (fs, fa), (ks, ka) = fn(dls, seed, epochs, args.cut)
            rows.append(dict(compare=name, seed=seed, epochs=epochs, fastai=fastai_name, fastai_s=fs, fastai_acc=fa, kit=kit_name,
                             kit_s=ks, kit_acc=ka, ratio=fs / ks))
            print(f"{name} seed {seed}: {fastai_name} {fa:.4f} in {fs:.0f} s; {kit_name} {ka:.4f} in {ks:.0f} s; {fs / ks:.1f}x faster", flush=True)
    df = pd.DataFrame(rows)
    summary = df.groupby('compare')[['fastai_acc', 'kit_acc', 'fastai_s', 'kit_s', 'ratio']].agg(['mean', 'std'])
    print(f'\n{os.cpu_count()} cores, {args.size} px, {cells} cells, seeds {args.seeds}\n{summary.round(3).to_string()}')
    write_results('speed_levers', dict(size=args.size, cut=args.cut, frac=args.frac, cells=cells, runs=rows))

if __name__ == '__main__': main()
