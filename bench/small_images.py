"""Small images, the backbone's size: `fastai-tl train` on a folder of 32×32-pixel images at its default size (the
backbone's, 224 px for EfficientNet-Lite0) and at the images' own size, against a logistic regression on the raw pixels.

The folder: scikit-learn's handwritten digits (1,797 images, ten classes, shipped with scikit-learn, so offline), each
8×8 image scaled up to 32×32 PNGs in class folders. The logistic regression is fitted on the same training files that
`train` used and scored on its validation files (from its predictions.csv).
Usage: python bench/small_images.py [--epochs 8]"""
import argparse, json, subprocess, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from common import write_results

def digits_folder(path:Path, size:int=32) -> Path:
    "scikit-learn's digits as `size`-px PNGs in one folder per class"
    d = load_digits()
    for i, (img, y) in enumerate(zip(d.images, d.target)):
        (path/str(y)).mkdir(parents=True, exist_ok=True)
        px = (img * 255 / 16).astype(np.uint8)
        Image.fromarray(px).resize((size, size), Image.NEAREST).save(path/str(y)/f'{i:04d}.png')
    return path

def train(data:Path, out:Path, *args) -> dict:
    "The metrics `fastai-tl train` prints with --json, and its wall time"
    start = time.perf_counter()
    res = subprocess.run(['fastai-tl', 'train', str(data), '--out', str(out), '--json', *args],
                         capture_output=True, text=True, check=True)
    return dict(json.loads(res.stdout), seconds=time.perf_counter() - start)

def pixels(files) -> np.ndarray: return np.stack([np.asarray(Image.open(f).convert('L'), dtype=np.float32).ravel() for f in files])

def logistic(data:Path, valid:pd.DataFrame) -> float:
    "Accuracy of a logistic regression on raw pixels, trained on the files not in `valid`"
    files = sorted(data.glob('*/*.png'))
    trn = [f for f in files if str(f.absolute()) not in set(valid.path)]
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    lr.fit(pixels(trn), [f.parent.name for f in trn])
    return float((lr.predict(pixels(valid.path)) == valid.actual.astype(str)).mean())

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=8)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    data = digits_folder(tmp/'digits')
    rows = {}
    for name, extra in [('fastai-tl train, default size', []), ('fastai-tl train, --size 32', ['--size', '32'])]:
        m = train(data, tmp/name.replace(' ', '_'), '--epochs', str(args.epochs), *extra)
        rows[name] = dict(accuracy=m['accuracy'], size=m.get('size'), seconds=round(m['seconds']))
        print(name, rows[name], flush=True)
    valid = pd.read_csv(tmp/'fastai-tl_train,_default_size'/'predictions.csv')
    start = time.perf_counter()
    rows['logistic regression, raw pixels'] = dict(accuracy=logistic(data, valid), size=32, seconds=round(time.perf_counter() - start))
    print(pd.DataFrame(rows).T.to_string())
    write_results('small_images', dict(results=rows, n_valid=len(valid),
        notes=['scikit-learn digits (1,797 images, 10 classes) scaled to 32 px PNGs; one validation split for all three',
               f'{args.epochs} epochs, the cached strategy (default)']))

if __name__ == '__main__': main()
