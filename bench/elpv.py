"""ELPV on the paper's protocol (Deitsch et al., Solar Energy 2019): a 75/25 split stratified by defect probability and cell type,
over several split seeds, mean ± SD.

Runs `fastai-tl train` once per seed, as a user would, and reads what it writes: accuracy overall and per cell type (mono/poly),
accuracy on the cells the experts rated 0, 1/3, 2/3 and 1, precision, recall and F1 of the defective class (binary task) or macro-F1
(4-class task), the always-majority baseline of the same split, and wall time. Writes bench/results/elpv_<task>_<recipe>.json (or NAME.json, --out NAME); with --keep, each seed's predictions too (for bench/ensemble.py).
Usage: python bench/elpv.py [--task binary|grade] [--recipe cpu|cpu-fast|cpu-lite2|gpu|gpu-finetune] [--seeds 1 2 3] [--out NAME] [--keep DIR] [any other `fastai-tl train` option, with --out]"""
import argparse, json, shutil, subprocess, tempfile, time
from pathlib import Path
import pandas as pd
import sklearn.metrics as skm
from fastai_tl.data import elpv_df, elpv_grades
from common import RESULTS, machine, write_results

# cpu: `fastai-tl train`'s defaults. cpu-fast: 224 pixels and a fixed learning rate, half the time. cpu-lite2: the largest embedded backbone.
# gpu: the cached recipe with the largest backbone at the cells' own 300 pixels, for longer. gpu-finetune: fastai's fine_tune of the whole network.
RECIPES = {'cpu': [], 'cpu-fast': ['--size', '224', '--lr', '3e-3'], 'cpu-lite2': ['--backbone', 'efficientnet_lite2', '--size', '260', '--lr', '3e-3'],
           'gpu': ['--backbone', 'efficientnet_lite2', '--size', '300', '--epochs', '12', '--lr', '3e-3'],
           'gpu-finetune': ['--strategy', 'finetune', '--size', '300', '--epochs', '12', '--bs', '64']}

def run_seed(seed, task, extra, keep=None) -> dict:
    "Train once with `fastai-tl train` on split `seed` and score its validation predictions"
    out = Path(tempfile.mkdtemp())/'model'
    start = time.time()
    label = [] if task == 'binary' else ['--label', 'grade']
    subprocess.run(['fastai-tl', 'train', '--seed', str(seed), '--out', str(out), *label, *extra], check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - start
    m = json.loads((out/'metrics.json').read_text())
    if keep: Path(keep).mkdir(parents=True, exist_ok=True); shutil.copy(out/'predictions.csv', Path(keep)/f'seed{seed}.csv')
    p = pd.read_csv(out/'predictions.csv').merge(elpv_df()[['path', 'type', 'grade']], on='path')
    right = p.actual == p.predicted
    row = dict(seed=seed, accuracy=right.mean(), mono=right[p.type == 'mono'].mean(), poly=right[p.type == 'poly'].mean(),
               majority=p.actual.value_counts(normalize=True).iloc[0], seconds=wall, train_seconds=m['seconds'])
    for g in elpv_grades:   # accuracy on the cells the experts rated g, and how many there are
        at = p.grade == g
        row[f'p={g}'], row[f'n_p={g}'] = right[at].mean(), int(at.sum())
    if task == 'binary': row.update({k: m[k] for k in ('precision', 'recall', 'f1')})
    else: row['macro_f1'] = skm.f1_score(p.actual.astype(str), p.predicted.astype(str), average='macro')
    return row

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].replace('\n', ' '),
                                epilog='Any other option is passed on to `fastai-tl train`; with one, name its results with --out.')
    p.add_argument('--task', choices=('binary', 'grade'), default='binary', help='binary: defective at p >= 0.5; grade: round(3p), 4 classes')
    p.add_argument('--recipe', choices=tuple(RECIPES), default='cpu')
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    p.add_argument('--out', help='results name, written to bench/results/NAME.json (default: elpv_<task>_<recipe>; needed with any other option)')
    p.add_argument('--keep', help="folder for each seed's predictions, seed<N>.csv")
    args, extra = p.parse_known_args()
    if extra and not args.out:   # the default file holds the recipe as it is: the README reports it
        p.error(f"the options {' '.join(extra)} change recipe {args.recipe}, whose results are bench/results/elpv_{args.task}_{args.recipe}.json: "
                f"name results of their own with --out, e.g. --out elpv_{args.task}_lite0-384")
    name = args.out or f'elpv_{args.task}_{args.recipe}'
    old = RESULTS/f'{name}.json'
    note = json.loads(old.read_text()).get('note') if old.exists() else None   # written by hand: a rerun keeps it
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, args.task, RECIPES[args.recipe] + extra, args.keep))
        print(' '.join(f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}' for k, v in rows[-1].items()), flush=True)
        df = pd.DataFrame(rows).set_index('seed')
        write_results(name, dict(task=args.task, recipe=args.recipe, options=RECIPES[args.recipe] + extra, runs=rows, mean=df.mean().to_dict(),
                                 sd=df.std().to_dict(), **({'note': note} if note else {})))   # after every seed: an interrupted run keeps what it finished
    print(f"\n{machine()}; recipe {args.recipe}: fastai-tl train {' '.join(RECIPES[args.recipe] + extra) or '(defaults)'}")
    print(pd.DataFrame({'mean': df.mean(), 'sd': df.std()}).round(4).to_string())

if __name__ == '__main__': main()
