"""`fastai-tl train` on ELPV, the paper's protocol (75/25 stratified by probability and cell type), over several split seeds.

Prints one line per seed and the mean and standard deviation of accuracy, precision, recall, F1 and wall time.
Usage: python bench/train_elpv.py [--seeds 1 2 3] [any `fastai-tl train` option, e.g. --strategy head --size 300]"""
import argparse, json, platform, subprocess, sys, tempfile, os
from pathlib import Path
import pandas as pd

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    args, rest = p.parse_known_args()
    rows = []
    for seed in args.seeds:
        out = Path(tempfile.mkdtemp())/'model'
        subprocess.run(['fastai-tl', 'train', '--seed', str(seed), '--out', str(out), *rest], check=True, stdout=subprocess.DEVNULL)
        m = json.loads((out/'metrics.json').read_text())
        rows.append(m)
        print(f"seed {seed}: accuracy {m['accuracy']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  {m['seconds']:.0f} s", flush=True)
    df = pd.DataFrame(rows)[['accuracy', 'precision', 'recall', 'f1', 'seconds']]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores; options: {' '.join(rest) or '(defaults)'}")
    print(pd.DataFrame({'mean': df.mean(), 'sd': df.std()}).round(4).to_string())

if __name__ == '__main__': main()
