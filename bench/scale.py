"""Scale: `fastai-tl train` (the default cached strategy) on synthetic class folders of 2,000, 8,000 and 32,000
small images, in one process and in two (`torchrun`, gloo on this CPU): wall time, peak memory and accuracy.

Memory is the peak over the run of the training processes' proportional set size (PSS: a page shared by the two
processes, or with a data-loading worker, counts half to each), sampled every 0.2 s, and the peak resident set size
(RSS) of the largest single process. The last row trains on 32,000 images with `--cache-mb 0`: every cached activation
on disk. Writes bench/results/scale.json.
Usage: python bench/scale.py [--sizes 2000 8000 32000] [--epochs 2] [--size 64]"""
import argparse, json, os, subprocess, sys, tempfile, threading, time
from pathlib import Path
import pandas as pd, psutil
from common import write_results
from fastai_tl.shapes import make_shapes

class PeakMemory(threading.Thread):
    "Samples the memory of process `pid` and its children until `stop` is set"
    def __init__(self, pid:int):
        super().__init__(daemon=True)
        self.proc, self.stop, self.pss, self.rss = psutil.Process(pid), threading.Event(), 0, 0
    def run(self):
        while not self.stop.is_set():
            try: procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.NoSuchProcess: break
            pss, rss = 0, 0
            for p in procs:
                try:
                    if 'torchrun' in ' '.join(p.cmdline()[:2]): continue   # the launcher's own memory
                    m = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied): continue   # ended meanwhile
                pss, rss = pss + m.pss, max(rss, m.rss)
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            time.sleep(0.2)

def train(data:Path, out:Path, processes:int, *args) -> dict:
    "Metrics, wall time and peak memory of one `fastai-tl train` run"
    launch = ['torchrun', '--nproc_per_node', str(processes), '--no-python'] if processes > 1 else []
    env = {**os.environ, 'OMP_NUM_THREADS': str(max(os.cpu_count() // processes, 1))}
    start = time.perf_counter()
    proc = subprocess.Popen([*launch, 'fastai-tl', 'train', str(data), '--out', str(out), '--json', *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    mem = PeakMemory(proc.pid)
    mem.start()
    stdout, _ = proc.communicate()
    mem.stop.set()
    mem.join()
    if proc.returncode: sys.exit(f'fastai-tl train failed on {data} with {processes} process(es)')
    m = json.loads(stdout)
    return dict(seconds=round(time.perf_counter() - start, 1), peak_pss_mb=round(mem.pss / 2**20),
                peak_rss_mb=round(mem.rss / 2**20), accuracy=round(m['accuracy'], 4), train_images=m['train_images'])

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[2000, 8000, 32000], help='images in each folder')
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--size', type=int, default=64, help='pixels of the images and of training')
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    rows = []
    opts = ['--size', str(args.size), '--epochs', str(args.epochs), '--lr', '3e-3', '--bs', '64']
    runs = [(n, k, []) for n in args.sizes for k in (1, 2)] + [(max(args.sizes), 1, ['--cache-mb', '0'])]
    for n, k, extra in runs:
        data = tmp/f'shapes_{n}'
        if not data.exists(): make_shapes(data, n_per_class=n // 3, size=args.size, seed=0)
        r = dict(images=n, processes=k, cache_mb=int(extra[1]) if extra else 512,
                 **train(data, tmp/f'model_{n}_{k}_{len(extra)}', k, *opts, *extra))
        rows.append(r)
        print(r, flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    one = df[(df.processes == 1) & (df.cache_mb == 512)].set_index('images')
    ratio = one.peak_pss_mb.iloc[-1] / one.peak_pss_mb.iloc[0]
    print(f'peak PSS, one process: {ratio:.2f}x from {one.index[0]:,} to {one.index[-1]:,} images')
    out = write_results('scale', dict(epochs=args.epochs, size=args.size, cpus=os.cpu_count(), rows=rows,
                                      pss_ratio_largest_to_smallest=round(ratio, 2)))
    print(f'Wrote {out}')

if __name__ == '__main__': main()
