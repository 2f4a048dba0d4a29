"""The mean of several models' probabilities on ELPV (binary task): folders of predictions that `bench/elpv.py --keep DIR` wrote, one per model.

Averages the defective class's probability over the models, seed by seed, and prints each model's accuracy and the average's, mean ± SD over seeds.
Usage: python bench/elpv.py --recipe gpu --keep runs/gpu; python bench/elpv.py --size 384 --epochs 12 --lr 3e-3 --keep runs/lite0-384 --out elpv_binary_lite0-384; python bench/ensemble.py runs/gpu runs/lite0-384"""
import argparse
from pathlib import Path
import pandas as pd

def load(folder) -> dict:
    "Each seed's predictions in `folder`, indexed by file name (where the cells live differs between machines)"
    return {int(f.stem[4:]): pd.read_csv(f).assign(cell=lambda d: d.path.map(lambda p: Path(p).name)).set_index('cell').sort_index()
            for f in Path(folder).glob('seed*.csv')}

def accuracy(p, actual) -> float: return ((p >= 0.5) == (actual == 'defective')).mean()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('folders', nargs='+', help='one folder of seed<N>.csv per model')
    models = {f: load(f) for f in ap.parse_args().folders}
    if empty := [f"{f} {'holds no seed<N>.csv' if Path(f).is_dir() else 'does not exist'}" for f, m in models.items() if not m]:
        raise SystemExit(f"{'; '.join(empty)}: name the folders that `bench/elpv.py --keep DIR` wrote")
    seeds = sorted(set.intersection(*(set(m) for m in models.values())))
    if not seeds: raise SystemExit('No split seed is in every folder: run each model on the same --seeds')
    rows = []
    for s in seeds:
        preds = [m[s] for m in models.values()]
        if any(not p.index.equals(preds[0].index) for p in preds): raise SystemExit(f'Seed {s}: the models were scored on different cells')
        row = {name: accuracy(m[s].p_defective, m[s].actual) for name, m in models.items()}
        row['mean of the models'] = accuracy(sum(p.p_defective for p in preds) / len(preds), preds[0].actual)
        rows.append(pd.Series(row, name=s))
    df = pd.DataFrame(rows).rename_axis('seed')
    print((100 * df).round(2).to_string(), '\n')
    print((100 * pd.DataFrame({'mean': df.mean(), 'sd': df.std()})).round(2).to_string())

if __name__ == '__main__': main()
