"""Regenerate the README's results section from bench/results/*.json: the one command after running any benchmark.

Writes the tables into the marked cell of nbs/index.ipynb, then renders README.md from it (as `python tests/test_sync.py` does),
and the lesson times into the time table of nbs/workshops.ipynb.
Usage: python bench/report.py"""
import argparse, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
RESULTS = ROOT/'bench'/'results'
MARK = '<!-- results: written by `python bench/report.py` -->'

def _load(name):
    f = RESULTS/f'{name}.json'
    return json.loads(f.read_text()) if f.exists() else None

def _sd(sd, n) -> str:
    "' ± sd', or nothing when there are fewer than two runs (`n`): one run has no spread"
    return f' ± {sd:.1f}' if n > 1 else ''

def _pm(res, key):
    "'mean ± sd' of `key` as a percentage, in a result with 'mean' and 'sd' dicts and its 'runs'"
    return f"{100*res['mean'][key]:.1f}{_sd(100*(res['sd'].get(key) or 0), len(res['runs']))}%"

def _span(res) -> str:
    "The fastest and slowest run's wall time, in minutes"
    secs = [r['seconds'] for r in res['runs']]
    return f'{min(secs)/60:.1f} to {max(secs)/60:.1f} min' if len(secs) > 1 else f'{secs[0]/60:.1f} min'

VARIANTS = {'cpu-fast': 'CPU, fast: Lite0 at 224 px, lr 3e-3', 'cpu-lite2': 'CPU: Lite2 at 260 px, lr 3e-3',
            'gpu': 'GPU: Lite2 at 300 px, 12 epochs, lr 3e-3', 'gpu-finetune': 'GPU: fastai `fine_tune` of the whole network, Lite0 at 300 px'}

def elpv_table() -> list:
    b, g = _load('elpv_binary_cpu'), _load('elpv_grade_cpu')
    if not b: return []
    seeds = f"{len(b['runs'])} binary" + (f", {len(g['runs'])} 4-class" if g else '')
    lines = ['### ELPV, the paper\'s protocol', '',
             f"75/25 split stratified by defect probability and cell type (1,968 / 656 cells), mean ± SD over split seeds ({seeds}); "
             f"`fastai-tl train` with its defaults ({b['machine']}). Reproduce: `python bench/elpv.py` and `python bench/elpv.py --task grade`; the other rows: `python bench/elpv.py --recipe NAME`.", '',
             '| model | binary accuracy | mono | poly | defective precision / recall / F1 | 4-class accuracy | 4-class macro-F1 | wall time |',
             '|---|---|---|---|---|---|---|---|']
    grade = (_pm(g, 'accuracy'), _pm(g, 'macro_f1')) if g else ('not run', 'not run')
    lines.append(f"| **fastai_tl, CPU recipe** (EfficientNet-Lite0) | **{_pm(b, 'accuracy')}** | {_pm(b, 'mono')} | {_pm(b, 'poly')} | "
                 f"{100*b['mean']['precision']:.1f} / {100*b['mean']['recall']:.1f} / {100*b['mean']['f1']:.1f}% | {grade[0]} | {grade[1]} | {_span(b)} |")
    variants = {r: v for r in VARIANTS if (v := _load(f'elpv_binary_{r}'))}
    for r, v in variants.items():
        lines.append(f"| fastai_tl, {VARIANTS[r]} (`--recipe {r}`; {v['machine'].split(',')[0]}) | {_pm(v, 'accuracy')} | {_pm(v, 'mono')} | {_pm(v, 'poly')} | "
                     f"{100*v['mean']['precision']:.1f} / {100*v['mean']['recall']:.1f} / {100*v['mean']['f1']:.1f}% | | | {_span(v)} |")
    lines += ['| VGG-19 fine-tuned, Deitsch et al. 2019 (GPU) | 88.42% (average accuracy, as published) | | | | | | |',
              '| SVM on hand-made features, Deitsch et al. 2019 | 82.44% (average accuracy, as published) | | | | | | |',
              '| ResNet-152, later work (2025; reported, protocol not checked here) | 90.13% | | | | | | |',
              '| a transformer\'s model card (binary; reported, protocol not checked here) | 91.7% | | | | | | |',
              f"| always \"functional\" / always grade 0 (same splits) | {_pm(b, 'majority')} | | | 0 / 0 / 0 | "
              f"{_pm(g, 'majority') if g else ''} | | |", '']
    lines += [f'- Wall time, {name}: {r["note"]}' for name, r in (('binary', b), ('4-class', g)) if r and r.get('note')]
    lines += [f"- `--recipe {r}`: `fastai-tl train {' '.join(v['options'])}`" + (f"; {v['note']}" if v.get('note') else '') + '.' for r, v in variants.items()]
    return lines + ['']

def grade_table() -> list:
    "Binary accuracy on the cells of each defect probability (bench/elpv.py's 'p=...' keys), for the recipes whose results have it"
    runs = {r: v for r in ('cpu', *VARIANTS) if (v := _load(f'elpv_binary_{r}')) and 'p=0' in v['mean']}
    if not runs: return []
    n = next(iter(runs.values()))['mean']
    grades = [k for k in n if k.startswith('p=')]
    lines = ['#### Which cells are wrong', '',
             "Binary accuracy on the validation cells that the experts rated 0, 1/3, 2/3 and 1 (the task calls the last two defective), "
             "mean ± SD over the same split seeds as above. Lesson 06 shows how to make this table for any model.", '',
             '| model | ' + ' | '.join(f"{g.replace('p=', 'p = ')} ({n['n_' + g]:.0f} cells)" for g in grades) + ' |', '|---' * (len(grades) + 1) + '|']
    lines += [f"| {'CPU recipe' if r == 'cpu' else f'`--recipe {r}`'} | " + ' | '.join(_pm(v, g) for g in grades) + ' |' for r, v in runs.items()]
    return lines + ['']

def speed_table() -> list:
    s = _load('speed_levers')
    if not s: return []
    import pandas as pd
    df = pd.DataFrame(s['runs'])
    frac = f" --frac {s['frac']}" if s.get('frac', 1) < 1 else ''
    lines = ['### Speed levers: the kit against plain fastai', '',
             f"Same backbone (Lite0), data (ELPV at {s['size']} px, {s.get('cells', 2624)} cells, split 75/25), epochs and seed in one process, over {df.seed.nunique()} seeds. "
             f"Reproduce: `python bench/speed_levers.py{frac}`.", '',
             '| phase | fastai | accuracy | time | fastai_tl | accuracy | time | speed-up |', '|---|---|---|---|---|---|---|---|']
    for name, d in df.groupby('compare', sort=False):
        lines.append(f"| {name} ({d.epochs.iloc[0]} epochs) | {d.fastai.iloc[0]} | {100*d.fastai_acc.mean():.1f}{_sd(100*d.fastai_acc.std(), len(d))}% | "
                     f"{d.fastai_s.mean():.0f} s | {d.kit.iloc[0]} | {100*d.kit_acc.mean():.1f}{_sd(100*d.kit_acc.std(), len(d))}% | {d.kit_s.mean():.0f} s | "
                     f"**{d.ratio.mean():.1f}×{_sd(d.ratio.std(), len(d))}** |")
    return lines + ['']

def backbone_table() -> list:
    b = _load('backbones')
    if not b: return []
    lines = ['### The embedded backbones', '',
             f"ELPV, one split (seed {b['seed']}) and one run each, so no spread, {str(b['size']) + ' px' if b['size'] else 'each backbone at its own image size (224, 240, 260 px)'}, {b['epochs']} epochs of cached partial fine-tuning from `{b['cut']}`. "
             "Reproduce: `python bench/backbones.py`.", '',
             '| backbone | accuracy | precision | recall | F1 | time | parameters |', '|---|---|---|---|---|---|---|']
    for r in b['table']:
        lines.append(f"| {r['backbone']} | {100*r['accuracy']:.1f}% | {100*r['precision']:.1f}% | {100*r['recall']:.1f}% | {100*r['f1']:.1f}% | "
                     f"{r['seconds']:.0f} s | {r['parameters']/1e6:.1f} M |")
    return lines + ['']

def inference_table() -> list:
    p, s = _load('predict_speed'), _load('service_load')
    lines = []
    if p:
        lines += ['### Inference on the CPU', '', f"{p.get('machine', '')}. Reproduce: `python bench/predict_speed.py`.", '',
                  '| predictor | images/s (± SD over runs) | × the `learn.predict` loop |', '|---|---|---|']
        base, sd = next(iter(p['images_per_s'].values())), p.get('sd', {})
        lines += [f"| {k} | {v:.1f}" + (f" ± {sd[k]:.1f}" if k in sd else '') + f" | {v / base:.1f}× |" for k, v in p['images_per_s'].items()]
        if q := p.get('int8'):
            lines += ['', f"Accuracy of the model that `fastai-tl train` writes with its defaults, on its {q['n_valid']} validation cells: "
                          f"fp32 {100*q['accuracy_fp32']:.2f}%, int8 {100*q['accuracy_int8']:.2f}%; model.onnx {q['mb_fp32']:.1f} MB, "
                          f"model.int8.onnx {q['mb_int8']:.1f} MB (`fastai-tl quantize`)."]
        lines += ['', *[f'- {line}' for line in p.get('notes', [])], '']
    if s:
        avg = s.get('machine', '').split('load average ')[-1].split(';')[0]
        load = f" on a shared CPU (load average {avg})" if 'load average' in s.get('machine', '') and float(avg) > 2 else ''   # above the 2 cores
        lines += [f"Service (`fastai-tl serve`, one worker{load}): one image p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms; "
                  f"{s['rps']:.1f}" + (f" ± {s['rps_sd']:.1f}" if 'rps_sd' in s else '') + f" requests/s with {s['clients']} concurrent clients. Reproduce: `python bench/service_load.py`.", '']
        if m := s.get('mixed'):
            rss = [r['rss_mb'] for r in m['rounds']]
            lines[-1:-1] = [f"A mix of good uploads and {len(m['kinds']) - 1} kinds of bad ones (every other request bad), {len(rss)} rounds of "
                            f"{m['requests_per_round']} from 8 clients: {m['server_errors']} × 5xx; the server's memory (RSS) "
                            f"{rss[1]:.0f} MB after the warm-up round, {rss[-1]:.0f} MB after the last (largest {max(rss[1:]):.0f} MB)."]
    return lines

def scale_table() -> list:
    r = _load('scale')
    if not r: return []
    lines = ['### Scale: more images, more processes', '',
             f"`fastai-tl train` with the cached strategy on synthetic class folders of {r['size']}-px images, {r['epochs']} epochs, "
             f"in one process and in two (`torchrun`, gloo, {r['cpus']} cores shared); {r['machine']}. "
             "Reproduce: `python bench/scale.py`.", '',
             '| images | processes | cached activations | wall time | peak memory, all processes (PSS) | largest process (RSS) | accuracy |',
             '|---|---|---|---|---|---|---|']
    cache = lambda mb: 'on disk' if mb == 0 else f'RAM up to {mb} MB'
    lines += [f"| {x['images']:,} | {x['processes']} | {cache(x['cache_mb'])} | {x['seconds']:.0f} s | {x['peak_pss_mb']:,} MB | "
              f"{x['peak_rss_mb']:,} MB | {100 * x['accuracy']:.1f}% |" for x in r['rows']]
    one = [x for x in r['rows'] if x['processes'] == 1 and x['cache_mb']]
    per_k = (one[-1]['seconds'] - one[0]['seconds']) / (one[-1]['images'] - one[0]['images']) * 1000
    return lines + ['', f"Peak memory of one process grows {r['pss_ratio_largest_to_smallest']:.2f}× from the smallest folder to the "
                        "largest: activations beyond `--cache-mb` (512 MB by default) go to a temporary file, batch by batch. "
                        f"Wall time grows linearly past start-up, {per_k:.1f} s per 1,000 more images. Two processes are no "
                        "faster on two cores, where one process already uses both; on N GPUs each process has its own.", '']

def lesson_table() -> list:
    t = _load('lesson_times')
    if not t: return []
    lines = ['### Lessons', '', 'Wall time of each notebook in a fresh process. Reproduce: `python bench/lesson_times.py`.', '',
             '| lesson | quick mode (tests) | full run |', '|---|---|---|']
    fmt = lambda v: f'{v/60:.1f} min' if v else ''
    lines += [f"| {nb} | {fmt(v.get('quick'))} | {fmt(v.get('full'))} |" for nb, v in sorted(t.items())]
    return lines + ['']

def results_markdown() -> str:
    body = [*elpv_table(), *grade_table(), *speed_table(), *backbone_table(), *inference_table(), *scale_table(), *lesson_table()]
    return '\n'.join([MARK, '## Results', '', *body]).rstrip() + '\n'

def _workshop_time(secs) -> str: return f'{secs:.0f} s' if secs < 90 else f'{secs/60:.0f} min'

def workshop_times(text:str) -> str:
    "`text` (the workshops page's time table) with each lesson row's quick and full columns from bench/results/lesson_times.json"
    times, rows = _load('lesson_times') or {}, []
    for line in text.split('\n'):
        nb = line.split('](')[1].split('.ipynb')[0] if line.startswith('| [') and '](' in line else None
        if nb in times:
            cols = line.split(' | ')
            cols[1], cols[2] = _workshop_time(times[nb]['quick']), _workshop_time(times[nb]['full'])
            line = ' | '.join(cols)
        rows.append(line)
    return '\n'.join(rows)

WORKSHOP_TABLE = 'Measured on a 2-core CPU, each notebook in a fresh process'

def _update_workshops():
    "Write the lesson times into the time table of nbs/workshops.ipynb"
    path = ROOT/'nbs'/'workshops.ipynb'
    nb = json.loads(path.read_text())
    cell = next(c for c in nb['cells'] if WORKSHOP_TABLE in ''.join(c['source']))
    text = workshop_times(''.join(cell['source'])).split('\n')
    cell['source'] = [l + '\n' for l in text[:-1]] + [text[-1]]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    nb_path = ROOT/'nbs'/'index.ipynb'
    nb = json.loads(nb_path.read_text())
    cell = next((c for c in nb['cells'] if ''.join(c['source']).startswith(MARK)), None)
    if cell is None: sys.exit(f"No cell starting with {MARK!r} in {nb_path}: add a markdown cell holding just that line where the results belong")
    text = results_markdown().rstrip('\n').split('\n')
    cell['source'] = [l + '\n' for l in text[:-1]] + [text[-1]]
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    _update_workshops()
    subprocess.run([sys.executable, str(ROOT/'tests'/'test_sync.py')], check=True)
    print(f'Wrote the results into {nb_path} and README.md')

if __name__ == '__main__': main()
