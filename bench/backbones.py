"""The three embedded backbones on ELPV (the paper's split), same split, image size, epochs and recipe: the table a workshop shows.

Runs `compare_backbones` (cached partial fine-tuning from `--cut`) and prints accuracy, precision, recall and F1 of the defective
class, training time and parameters; writes bench/results/backbones.json.
Usage: python bench/backbones.py [--seed 1] [--size PX] [--epochs 8] [--cut blocks.5]"""
import argparse, os, warnings
from fastai_tl.tasks import elpv_split
from fastai_tl.strategy import compare_backbones
from fastai_tl.models import embedded_backbones
from common import write_results

warnings.filterwarnings('ignore')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--size', type=int, default=None, help="image size (default: each backbone's own)")
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--cut', default='blocks.5')
    p.add_argument('--archs', nargs='+', default=list(embedded_backbones))
    args = p.parse_args()
    df = elpv_split(seed=args.seed)
    table = compare_backbones(df, args.archs, pos_class='defective', n_epoch=args.epochs, cut=args.cut, seed=args.seed, size=args.size)
    print(f"{os.cpu_count()} cores, {args.size or 'native'} px, {args.epochs} epochs from {args.cut}, split seed {args.seed}\n{table.round(4).to_string()}")
    write_results('backbones', dict(vars(args), table=table.reset_index().to_dict('records')))

if __name__ == '__main__': main()
