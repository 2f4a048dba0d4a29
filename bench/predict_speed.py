"""Images per second on the CPU: a loop of fastai's `learn.predict`, the kit's batch `Predictor` on PyTorch, on onnxruntime
in fp32 and on onnxruntime in int8; and the accuracy of a trained model in fp32 and int8.

Speed: exports the ELPV classifier (EfficientNet-Lite0, its head untrained: speed does not depend on the weights) with
`export_safe`, `export_onnx` and `export_int8` (calibrated on 64 training cells), then times each way of predicting the same
validation cells, from the PNG files to the decisions, several times. Prints images/s (mean and SD over the repeats) and each
way's speed relative to the `learn.predict` loop.
Accuracy: quantizes the model that `fastai-tl train` writes with its defaults (`--model DIR`, trained first when the folder
has no model) and scores fp32 and int8 on all of its validation cells; file sizes of both.
Usage: python bench/predict_speed.py [--n 64] [--repeats 5] [--size 224] [--bs 16] [--model DIR]"""
import argparse, os, subprocess, tempfile, time, warnings
from pathlib import Path
import pandas as pd, torch
warnings.filterwarnings('ignore')
from fastai_tl.data import elpv_df, image_dls
from fastai_tl.tasks import elpv_split
from fastai_tl.learner import cnn_learner
from fastai_tl.export import export_onnx
from fastai_tl.predict import Predictor
from fastai_tl.quantize import export_int8
from common import machine, write_results

def elpv_model(size:int, folder) -> tuple:
    "The ELPV learner at `size` px, its safe export in `folder` (with model.onnx and model.int8.onnx), and the validation cells"
    df = elpv_split()
    learn = cnn_learner(image_dls(df, size=size, bs=32), pos_class='defective')
    path = learn.export_safe(Path(folder)/'elpv')
    export_onnx(path)
    valid = list(df[df.split == 'valid'].path)
    export_int8(path, valid[-128:], calib=df[df.split == 'train'].path.sample(64, random_state=0))
    return learn, path, valid

def images_per_second(predict, files, repeats:int) -> list:
    "Images/s of `predict(files)` in each of `repeats` timed runs, after one untimed warm-up"
    predict(files[:2])
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(files)
        out.append(len(files) / (time.perf_counter() - start))
    return out

def speed(args) -> pd.DataFrame:
    "Images/s of each way of predicting the same `args.n` validation cells"
    learn, path, valid = elpv_model(args.size, tempfile.mkdtemp())
    files = valid[:args.n]
    def loop(fs):
        with learn.no_bar(): return [learn.predict(f) for f in fs]
    ways = {'learn.predict loop': loop, **{f'Predictor, {name}, bs={args.bs}': Predictor(path, runtime=rt, bs=args.bs).predict
                                          for name, rt in [('PyTorch', 'torch'), ('onnxruntime fp32', 'onnx'), ('onnxruntime int8', 'int8')]}}
    rows = []
    for name, predict in ways.items():
        ips = pd.Series(images_per_second(predict, files, args.repeats))
        rows.append({'way': name, 'images/s': ips.mean(), 'sd': ips.std(), 'min': ips.min(), 'max': ips.max()})
        print(f'{name}: {ips.mean():.1f} ± {ips.std():.1f} images/s', flush=True)
    df = pd.DataFrame(rows).set_index('way')
    df['× learn.predict'] = df['images/s'] / df['images/s'].iloc[0]
    return df

def trained_model(folder:Path) -> Path:
    "The model folder that `fastai-tl train` writes with its defaults, trained into `folder` unless it is there"
    if not (folder/'model.json').exists(): subprocess.run(['fastai-tl', 'train', '--out', str(folder)], check=True)
    return folder

def accuracy(folder:Path) -> dict:
    "Accuracy of the trained model in `folder` in fp32 and int8 on all its validation cells, and the files' sizes"
    valid = pd.read_csv(folder/'predictions.csv')
    train = elpv_df().path[~elpv_df().path.isin(valid.path)]
    export_onnx(folder)
    export_int8(folder, list(valid.path), calib=train.sample(64, random_state=0))
    out = dict(n_valid=len(valid))
    for name, rt, fn in [('fp32', 'onnx', 'model.onnx'), ('int8', 'int8', 'model.int8.onnx')]:
        got = [r['prediction'] for r in Predictor(folder, runtime=rt).predict(list(valid.path))]
        out[f'accuracy_{name}'] = float((pd.Series(got) == valid.actual.astype(str)).mean())
        out[f'mb_{name}'] = (folder/fn).stat().st_size / 1e6
        print(f"{name}: accuracy {out[f'accuracy_{name}']:.2%} on {len(valid)} validation cells, {fn} {out[f'mb_{name}']:.1f} MB", flush=True)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=64, help='validation cells predicted per run')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--bs', type=int, default=16, help="the Predictor's batch size")
    p.add_argument('--model', type=Path, default=Path(tempfile.gettempdir())/'fastai_tl_elpv_default',
                   help='folder of the model `fastai-tl train` writes with its defaults (trained there if missing)')
    args = p.parse_args()
    df = speed(args)
    print(f"\n{machine()} ({torch.get_num_threads()} threads, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'not set')}), load average {os.getloadavg()[0]:.1f}; "
          f"{args.n} ELPV cells at {args.size} px, {args.repeats} repeats")
    print(df.round(2).to_string())
    acc = accuracy(trained_model(args.model))
    write_results('predict_speed', dict(images_per_s=df['images/s'].round(1).to_dict(), sd=df['sd'].round(1).to_dict(),
        times_loop=df['× learn.predict'].round(2).to_dict(), int8=acc,
        notes=[f"{args.n} ELPV cells at {args.size} px, from the PNG files to the decisions, mean of {args.repeats} runs",
               f"accuracy: the model `fastai-tl train` writes with its defaults, on its {acc['n_valid']} validation cells"]))

if __name__ == '__main__': main()
