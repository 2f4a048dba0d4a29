"""Wall time of each lesson notebook, in quick mode and in full, each in a fresh process as a learner's kernel is.

Prints one line per lesson and writes bench/results/lesson_times.json. `--save` keeps the full run's outputs in the notebooks
(then run `nbdev-clean`): that is how the committed notebooks get their outputs.
Usage: python bench/lesson_times.py [--modes quick full] [--save] [nbs/05_learner.ipynb ...]"""
import argparse, json, os, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).parents[1]
RUN = ("import sys; from nbdev.test import test_nb; from nbdev.config import get_config; from pathlib import Path; "
       "sys.exit(0 if test_nb(sys.argv[1], skip_flags=get_config(Path(sys.argv[1]).parent).tst_flags.split(), save=sys.argv[2] == '1', "
       "cell_timeout=None, cell_timing_min=10)[0] else 1)")   # as nbdev-test runs it: `#| notest` cells skipped; the cells over 10 s named

def run_lesson(nb, quick:bool, save:bool=False, timeout=None) -> subprocess.CompletedProcess:
    "Execute notebook `nb` top to bottom in a fresh process, as a learner's kernel is, in quick mode or in full; `save` keeps its outputs"
    env = {**os.environ, 'FASTAI_TL_QUICK': '1' if quick else '0'}
    return subprocess.run([sys.executable, '-c', RUN, str(nb), '1' if save else '0'], env=env, capture_output=True, text=True, timeout=timeout)

BAR = re.compile(r'^\s*█?\s*(\|[█-]*\|\s*[\d.]+% \[.*)?$')
LEAD = re.compile(r'^█+(?=[^\s█|])')   # what is left of a bar printed before a line of text, e.g. '█epoch  train_loss'

def drop_console_bars(nb):
    "Remove the text progress bars that a run outside Jupyter leaves in stream outputs (Jupyter shows them as passing widgets)"
    d = json.loads(Path(nb).read_text())
    for c in d['cells']:
        outs = []
        for o in c.get('outputs', []):
            if o['output_type'] == 'stream':
                raw = [l.rstrip('\r') for l in ''.join(o['text']).split('\n')]   # `!` commands run in a terminal: '\r\n'
                lines = ['' if not l.strip() else LEAD.sub('', l.split('\r')[-1]) for l in raw]
                text = '\n'.join(l for r, l in zip(raw, lines) if not r.strip() or not BAR.match(l))   # blank lines printed as such stay
                text = re.sub(r'\n{3,}', '\n\n', text).strip('\n')
                if not text.strip(): continue
                o['text'] = (text + '\n').splitlines(keepends=True)
            outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    Path(nb).write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')

def time_lesson(nb, quick:bool, save:bool=False) -> tuple:
    "Seconds to run notebook `nb` with `run_lesson`, and whether it passed"
    start = time.time()
    r = run_lesson(nb, quick, save and not quick)
    if r.returncode: print(r.stderr[-3000:], file=sys.stderr)
    elif save and not quick: drop_console_bars(nb)
    return time.time() - start, r.returncode == 0

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('nbs', nargs='*', type=Path, help='lessons to time (default: all)')
    p.add_argument('--modes', nargs='+', choices=('quick', 'full'), default=['quick', 'full'])
    p.add_argument('--save', action='store_true', help="write the full run's outputs into the notebooks")
    args = p.parse_args()
    out = ROOT/'bench'/'results'/'lesson_times.json'
    times = json.loads(out.read_text()) if out.exists() else {}
    for nb in args.nbs or sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        for mode in args.modes:
            secs, ok = time_lesson(nb.absolute(), mode == 'quick', args.save)
            print(f'{nb.stem:20s} {mode:5s} {secs:7.1f} s  {"ok" if ok else "FAILED"}', flush=True)
            if ok: times.setdefault(nb.stem, {})[mode] = round(secs, 1)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(times, indent=1, sort_keys=True) + '\n')

if __name__ == '__main__': main()
