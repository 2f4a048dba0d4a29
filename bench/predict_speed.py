"""Images per second on the CPU: a loop of fastai's `learn.predict`, the kit's batch `Predictor` on PyTorch, and on onnxruntime.

Exports the ELPV classifier (EfficientNet-Lite0, its head untrained: speed does not depend on the weights) with `export_safe` and
`export_onnx`, then times each way of predicting the same validation cells, from the PNG files to the decisions, several times.
Prints images/s as mean and standard deviation over the repeats, and each way's speed relative to the `learn.predict` loop.
Usage: python bench/predict_speed.py [--n 64] [--repeats 5] [--size 224] [--bs 16]"""
import argparse, json, os, platform, tempfile, time, warnings
from pathlib import Path
import pandas as pd, torch
warnings.filterwarnings('ignore')
from fastai_tl.data import elpv_df, split_df, image_dls
from fastai_tl.learner import cnn_learner
from fastai_tl.export import export_onnx
from fastai_tl.predict import Predictor
from elpv import machine

def elpv_model(size:int, folder) -> tuple:
    "The ELPV learner at `size` px, its safe export in `folder` (with model.onnx), and the validation cells' files"
    df = split_df(elpv_df(), valid_pct=0.25, stratify=['proba', 'type'])
    learn = cnn_learner(image_dls(df, size=size, bs=32), pos_class='defective')
    path = learn.export_safe(Path(folder)/'elpv')
    export_onnx(path)
    return learn, path, list(df[df.split == 'valid'].path)

def images_per_second(predict, files, repeats:int) -> list:
    "Images/s of `predict(files)` in each of `repeats` timed runs, after one untimed warm-up"
    predict(files[:2])
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(files)
        out.append(len(files) / (time.perf_counter() - start))
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=64, help='validation cells predicted per run')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--bs', type=int, default=16, help="the Predictor's batch size")
    args = p.parse_args()
    learn, path, valid = elpv_model(args.size, tempfile.mkdtemp())
    files = valid[:args.n]
    def loop(fs):
        with learn.no_bar(): return [learn.predict(f) for f in fs]
    ways = {'learn.predict loop': loop,
            f'Predictor, PyTorch, bs={args.bs}': Predictor(path, bs=args.bs).predict,
            f'Predictor, onnxruntime, bs={args.bs}': Predictor(path, runtime='onnx', bs=args.bs).predict}
    rows = []
    for name, predict in ways.items():
        ips = pd.Series(images_per_second(predict, files, args.repeats))
        rows.append({'way': name, 'images/s': ips.mean(), 'sd': ips.std(), 'min': ips.min(), 'max': ips.max()})
        print(f'{name}: {ips.mean():.1f} ± {ips.std():.1f} images/s', flush=True)
    df = pd.DataFrame(rows).set_index('way')
    df['× learn.predict'] = df['images/s'] / df['images/s'].iloc[0]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'not set')}), load average {os.getloadavg()[0]:.1f}; {args.n} ELPV cells at {args.size} px, {args.repeats} repeats")
    print(df.round(2).to_string())
    out = Path(__file__).parent/'results'/'predict_speed.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(machine=machine(), images_per_s=df['images/s'].round(1).to_dict(), sd=df['sd'].round(1).to_dict(),
        notes=[f"{args.n} ELPV cells at {args.size} px, from the PNG files to the decisions, mean of {args.repeats} runs"]), indent=1) + '\n')

if __name__ == '__main__': main()
